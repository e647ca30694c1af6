// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke-admin: list the RDMA registrations (MRs) of the rxe devices
 * and revoke them without killing their owners, through /dev/rxe_revoke
 * (include/uapi/rdma/rxe_revoke_admin.h). See rxe-revoke-admin(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <rdma/rxe_revoke-abi.h>
#include <rdma/rxe_revoke_admin.h>

/* exit codes */
enum {
	EX_OK = 0,
	EX_FAIL = 1,		/* the operation failed (message says why) */
	EX_USAGE = 2,		/* bad command line */
	EX_NOMATCH = 3,		/* no MR matched (ENOENT) */
	EX_NOTREVOCABLE = 4,	/* the MRs that matched are not revocable */
};

static const char *prog = "rxe-revoke-admin";
static const char *node = "/dev/" RXE_ADMIN_DEVNAME;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--device NODE] list [--file PATH [--offset N] [--length N]] [--pid PID] [--json]\n"
		"       %s [--device NODE] revoke --mr IBDEV:LKEY\n"
		"       %s [--device NODE] revoke --file PATH [--offset N] [--length N]\n"
		"See rxe-revoke-admin(8).\n", prog, prog, prog);
}

static int open_node(void)
{
	int fd = open(node, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		fprintf(stderr, "%s: cannot open %s: %s%s\n", prog, node,
			strerror(e), e == ENOENT ?
			" (is the rxe-revoke rdma_rxe module loaded?)" :
			e == EACCES ? " (CAP_SYS_ADMIN and access to the node are required)" : "");
	}
	return fd;
}

static int ioctl_err(const char *what, int e)
{
	fprintf(stderr, "%s: %s: %s%s\n", prog, what, strerror(e),
		e == EPERM ? " (CAP_SYS_ADMIN is required)" :
		e == EINVAL ? " (interface version mismatch between tool and module?)" :
		e == ENOTTY ? " (the module has no admin interface)" : "");
	return EX_FAIL;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

static const char *kind_str(uint32_t k)
{
	switch (k) {
	case RXE_REVOKE_MR_PINNED: return "pinned";
	case RXE_REVOKE_MR_ODP: return "odp";
	case RXE_REVOKE_MR_REVOCABLE: return "revocable";
	}
	return "?";
}

static const char *status_str(uint32_t s)
{
	return s == RXE_REVOKE_MR_ACTIVE ? "active" :
	       s == RXE_REVOKE_MR_REVOKED ? "revoked" : "?";
}

static const char *reason_str(uint32_t r)
{
	switch (r) {
	case RXE_REVOKE_REASON_NONE: return "none";
	case RXE_REVOKE_REASON_TRUNCATE: return "truncate";
	case RXE_REVOKE_REASON_UNMAP: return "unmap";
	case RXE_REVOKE_REASON_EXPLICIT: return "owner";
	case RXE_REVOKE_REASON_ADMIN: return "admin";
	case RXE_REVOKE_REASON_EXIT: return "exit";
	}
	return "?";
}

/* All records; *n set. NULL on error (message printed, *err set). */
static struct rxe_admin_mr *list_all(int fd, uint32_t *n, int *err)
{
	struct rxe_admin_mr *recs = NULL;
	uint32_t room = 64;

	for (;;) {
		struct rxe_admin_list l = {
			.version = RXE_ADMIN_VERSION,
			.rec_size = sizeof(*recs),
			.count = room,
		};
		struct rxe_admin_mr *r = realloc(recs, room * sizeof(*recs));

		if (!r) {
			free(recs);
			*err = ioctl_err("list", ENOMEM);
			return NULL;
		}
		recs = r;
		l.recs = (uintptr_t)recs;
		if (ioctl(fd, RXE_ADMIN_IOC_LIST, &l)) {
			*err = ioctl_err("list", errno);
			free(recs);
			return NULL;
		}
		if (l.total <= l.count || room == RXE_ADMIN_LIST_MAX) {
			*n = l.count;
			return recs;
		}
		room = l.total + 16 > RXE_ADMIN_LIST_MAX ?
		       RXE_ADMIN_LIST_MAX : l.total + 16;
	}
}

struct filter {
	bool file;
	struct stat st;
	uint64_t offset, length;	/* length 0: to the end */
	long pid;			/* -1: any */
};

static bool seg_matches(const struct filter *f, const struct rxe_admin_seg *s)
{
	uint64_t fend = f->length ? f->offset + f->length : UINT64_MAX;

	return s->ino == f->st.st_ino &&
	       s->dev_major == major(f->st.st_dev) &&
	       s->dev_minor == minor(f->st.st_dev) &&
	       s->offset + (s->end - s->start) > f->offset && s->offset < fend;
}

static bool mr_matches(const struct filter *f, const struct rxe_admin_mr *m)
{
	uint32_t i;

	if (f->pid >= 0 && m->pid != f->pid)
		return false;
	if (!f->file)
		return true;
	for (i = 0; i < m->nsegs && i < RXE_ADMIN_MAX_SEGS; i++)
		if (seg_matches(f, &m->segs[i]))
			return true;
	return false;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(const struct rxe_admin_mr *m, bool first)
{
	uint32_t i;

	printf("%s\n  {\"id\": %" PRIu64 ", \"ibdev\": ", first ? "" : ",",
	       (uint64_t)m->id);
	json_str(m->ibdev);
	printf(", \"pid\": %d, \"comm\": ", m->pid);
	json_str(m->comm);
	printf(", \"mr_handle\": %u, \"lkey\": %u, \"rkey\": %u, "
	       "\"kind\": \"%s\", \"state\": \"%s\", \"reason\": \"%s\", "
	       "\"revoke_count\": %u, \"start\": %" PRIu64 ", \"length\": %"
	       PRIu64 ", \"iova\": %" PRIu64 ", \"access\": %u, "
	       "\"revoked_start\": %" PRIu64 ", \"revoked_end\": %" PRIu64
	       ", \"segments_truncated\": %s, \"files\": [",
	       m->mr_handle, m->lkey, m->rkey, kind_str(m->kind),
	       status_str(m->status), reason_str(m->reason), m->revoke_count,
	       (uint64_t)m->start, (uint64_t)m->length, (uint64_t)m->iova,
	       m->access, (uint64_t)m->revoked_start,
	       (uint64_t)m->revoked_end,
	       m->flags & RXE_ADMIN_MR_F_SEGS_TRUNC ? "true" : "false");
	for (i = 0; i < m->nsegs && i < RXE_ADMIN_MAX_SEGS; i++) {
		const struct rxe_admin_seg *s = &m->segs[i];

		printf("%s{\"path\": ", i ? ", " : "");
		json_str(s->path);
		printf(", \"path_truncated\": %s, \"dev\": \"%u:%u\", \"ino\": %"
		       PRIu64 ", \"offset\": %" PRIu64 ", \"length\": %" PRIu64
		       ", \"start\": %" PRIu64 "}",
		       s->flags & RXE_ADMIN_SEG_F_PATH_TRUNC ? "true" : "false",
		       s->dev_major, s->dev_minor, (uint64_t)s->ino,
		       (uint64_t)s->offset, (uint64_t)(s->end - s->start),
		       (uint64_t)s->start);
	}
	printf("]}");
}

static void print_text(const struct rxe_admin_mr *m)
{
	uint32_t i;

	printf("%-8s 0x%08x 0x%08x %-9s %-7s %-8s %7d %-16s 0x%" PRIx64
	       " %" PRIu64 "\n", m->ibdev, m->lkey, m->rkey, kind_str(m->kind),
	       status_str(m->status),
	       m->revoke_count ? reason_str(m->reason) : "-", m->pid, m->comm,
	       (uint64_t)m->start, (uint64_t)m->length);
	for (i = 0; i < m->nsegs && i < RXE_ADMIN_MAX_SEGS; i++) {
		const struct rxe_admin_seg *s = &m->segs[i];

		printf("    file %s dev %u:%u ino %" PRIu64 " offset %" PRIu64
		       "-%" PRIu64 " va 0x%" PRIx64 "\n", s->path, s->dev_major,
		       s->dev_minor, (uint64_t)s->ino, (uint64_t)s->offset,
		       (uint64_t)(s->offset + s->end - s->start),
		       (uint64_t)s->start);
	}
	if (m->flags & RXE_ADMIN_MR_F_SEGS_TRUNC)
		printf("    (more file segments than %d)\n", RXE_ADMIN_MAX_SEGS);
}

static int cmd_list(int fd, const struct filter *f, bool json)
{
	struct rxe_admin_mr *recs;
	uint32_t n, i, shown = 0;
	int err;

	recs = list_all(fd, &n, &err);
	if (!recs)
		return err;
	if (json)
		printf("[");
	else
		printf("%-8s %-10s %-10s %-9s %-7s %-8s %7s %-16s %s\n", "IBDEV",
		       "LKEY", "RKEY", "KIND", "STATE", "REVOKED", "PID", "COMM",
		       "VA LENGTH");
	for (i = 0; i < n; i++) {
		if (!mr_matches(f, &recs[i]))
			continue;
		if (json)
			print_json(&recs[i], !shown);
		else
			print_text(&recs[i]);
		shown++;
	}
	if (json)
		printf("%s]\n", shown ? "\n" : "");
	free(recs);
	return EX_OK;
}

static int revoke_result(int e, const struct rxe_admin_revoke *r)
{
	if (!e) {
		printf("revoked %u MR(s)", r->revoked);
		if (r->already)
			printf(", %u already revoked", r->already);
		if (r->pinned || r->odp)
			printf("; left alone: %u pinned, %u ODP (not revocable)",
			       r->pinned, r->odp);
		printf("\n");
		return EX_OK;
	}
	switch (e) {
	case ENOENT:
		fprintf(stderr, "%s: revoke: no MR matches\n", prog);
		return EX_NOMATCH;
	case EALREADY:
		fprintf(stderr, "%s: revoke: the MR is already revoked\n", prog);
		return EX_FAIL;
	case EOPNOTSUPP:
		fprintf(stderr, "%s: revoke: not revocable: %u pinned MR(s) (only their owner can release them), %u ODP MR(s) (they hold no pages)\n",
			prog, r->pinned, r->odp);
		return EX_NOTREVOCABLE;
	}
	return ioctl_err("revoke", e);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "file", required_argument, NULL, 'f' },
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ "pid", required_argument, NULL, 'p' },
		{ "mr", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct filter f = { .pid = -1 };
	const char *file = NULL, *mr = NULL, *cmd;
	bool json = false, have_off = false;
	struct rxe_admin_revoke r = { .version = RXE_ADMIN_VERSION };
	uint64_t v;
	int c, fd, ret;

	/* options may come before or after the subcommand */
	while ((c = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
		if (c == 'd') {
			node = optarg;
		} else if (c == 'h') {
			usage(stdout);
			return EX_OK;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "list") && strcmp(cmd, "revoke")) {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
		usage(stderr);
		return EX_USAGE;
	}
	/* the subcommand's options: argv[0] is the subcommand */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = getopt_long(argc, argv, "d:f:o:l:p:m:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			node = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'o':
		case 'l':
			if (!parse_u64(optarg, &v)) {
				fprintf(stderr, "%s: bad --%s '%s'\n", prog,
					c == 'o' ? "offset" : "length", optarg);
				return EX_USAGE;
			}
			if (c == 'o') {
				f.offset = v;
				have_off = true;
			} else {
				f.length = v;
				have_off = true;
			}
			break;
		case 'p':
			if (!parse_u64(optarg, &v) || v > INT32_MAX) {
				fprintf(stderr, "%s: bad --pid '%s'\n", prog, optarg);
				return EX_USAGE;
			}
			f.pid = (long)v;
			break;
		case 'm':
			mr = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		return EX_USAGE;
	}
	if (have_off && !file) {
		fprintf(stderr, "%s: --offset and --length need --file\n", prog);
		return EX_USAGE;
	}
	if (f.length && f.offset + f.length < f.offset) {
		fprintf(stderr, "%s: --offset + --length overflows\n", prog);
		return EX_USAGE;
	}
	if (file) {
		if (stat(file, &f.st)) {
			fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
			return EX_FAIL;
		}
		f.file = true;
	}

	if (!strcmp(cmd, "list")) {
		if (mr) {
			fprintf(stderr, "%s: list takes no --mr\n", prog);
			return EX_USAGE;
		}
		fd = open_node();
		if (fd < 0)
			return EX_FAIL;
		ret = cmd_list(fd, &f, json);
		close(fd);
		return ret;
	}

	/* revoke */
	if (!!mr == !!file || json || f.pid >= 0) {
		fprintf(stderr, "%s: revoke takes exactly one of --mr IBDEV:LKEY and --file PATH\n",
			prog);
		return EX_USAGE;
	}
	if (mr) {
		const char *colon = strrchr(mr, ':');

		if (!colon || colon == mr ||
		    (size_t)(colon - mr) >= sizeof(r.ibdev) ||
		    !parse_u64(colon + 1, &v) || v > UINT32_MAX) {
			fprintf(stderr, "%s: bad --mr '%s' (want IBDEV:LKEY, e.g. rxe0:0x1234)\n",
				prog, mr);
			return EX_USAGE;
		}
		r.flags = RXE_ADMIN_REVOKE_MR;
		memcpy(r.ibdev, mr, colon - mr);
		r.lkey = (uint32_t)v;
	} else {
		r.flags = RXE_ADMIN_REVOKE_FILE;
		r.dev_major = major(f.st.st_dev);
		r.dev_minor = minor(f.st.st_dev);
		r.ino = f.st.st_ino;
		r.offset = f.offset;
		r.length = f.length;
	}
	fd = open_node();
	if (fd < 0)
		return EX_FAIL;
	ret = ioctl(fd, RXE_ADMIN_IOC_REVOKE, &r) ? errno : 0;
	close(fd);
	return revoke_result(ret, &r);
}
