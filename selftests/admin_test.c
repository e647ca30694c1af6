// SPDX-License-Identifier: GPL-2.0
/*
 * admin_test: the administrator's interface, /dev/rxe_revoke, and the
 * rxe-revoke-admin tool.
 *
 * This process owns the MRs (a revocable MR on an XFS-DAX file mapped from
 * a non-zero file offset, registered under the comm "rxe_owner", and a
 * pinned MR on anonymous memory). The administrator (this process through
 * the ioctls, or the tool as another process) lists them with their owner,
 * keys, kind and file segments, and revokes them by MR or by file range;
 * the owner gets the ADMIN event, survives, its traffic fails cleanly and
 * rereg restores the MR. Pinned and ODP MRs are refused, unknown ones are
 * ENOENT, bad arguments EINVAL, and an unprivileged caller EPERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"
#include <rdma/rxe_revoke_admin.h>

#define LEN	(1 << 20)
#define FOFF	(512 << 10)	/* the mapping starts at this file offset */
#define PAGE	4096
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define NODE	"/dev/" RXE_ADMIN_DEVNAME
#define NOBODY	65534

static int admin_list(int fd, struct rxe_admin_mr *recs, uint32_t count,
		      uint32_t *filled, uint32_t *total)
{
	struct rxe_admin_list l = {
		.version = RXE_ADMIN_VERSION,
		.rec_size = sizeof(*recs),
		.count = count,
		.recs = (uintptr_t)recs,
	};

	if (ioctl(fd, RXE_ADMIN_IOC_LIST, &l))
		return errno;
	*filled = l.count;
	*total = l.total;
	return 0;
}

/* The record of this process's MR lkey on $RXE_DEV; 0, or ENOENT. */
static int admin_find(int fd, uint32_t lkey, struct rxe_admin_mr *out)
{
	static struct rxe_admin_mr recs[1024];
	uint32_t n = 0, total = 0, i;
	int err = admin_list(fd, recs, 1024, &n, &total);

	if (err)
		return err;
	for (i = 0; i < n; i++)
		if (recs[i].lkey == lkey && recs[i].pid == getpid() &&
		    !strcmp(recs[i].ibdev, rt_env("RXE_DEV", "rxe0"))) {
			*out = recs[i];
			return 0;
		}
	return ENOENT;
}

static int admin_revoke_mr(int fd, const char *ibdev, uint32_t lkey,
			   struct rxe_admin_revoke *r)
{
	memset(r, 0, sizeof(*r));
	r->version = RXE_ADMIN_VERSION;
	r->flags = RXE_ADMIN_REVOKE_MR;
	strncpy(r->ibdev, ibdev, sizeof(r->ibdev) - 1);
	r->lkey = lkey;
	return ioctl(fd, RXE_ADMIN_IOC_REVOKE, r) ? errno : 0;
}

static int admin_revoke_file(int fd, const struct stat *st, uint64_t off,
			     uint64_t len, struct rxe_admin_revoke *r)
{
	memset(r, 0, sizeof(*r));
	r->version = RXE_ADMIN_VERSION;
	r->flags = RXE_ADMIN_REVOKE_FILE;
	r->dev_major = major(st->st_dev);
	r->dev_minor = minor(st->st_dev);
	r->ino = st->st_ino;
	r->offset = off;
	r->length = len;
	return ioctl(fd, RXE_ADMIN_IOC_REVOKE, r) ? errno : 0;
}

/* The tool next to this binary: build/admin/rxe-revoke-admin. */
static const char *tool(void)
{
	static char path[PATH_MAX + 32];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return "rxe-revoke-admin";
	self[n] = 0;
	*strrchr(self, '/') = 0;
	snprintf(path, sizeof(path), "%s/../admin/rxe-revoke-admin", self);
	return path;
}

/* Run a shell command; its stdout in out, its exit code returned. */
static int run(char *out, size_t size, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	size_t n = 0;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (out && n < size - 1 && fgets(out + n, size - n, p))
		n += strlen(out + n);
	if (out)
		out[n] = 0;
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int next_event(int fd, struct rxe_revoke_event *ev)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 10000) != 1)
		return -ETIMEDOUT;
	return rxer_read_events(fd, ev, 1) == 1 ? 0 : -EIO;
}

FIXTURE(adm) {
	int fd;			/* /dev/rxe_revoke */
	int evfd;
	struct rt_dev d;
	struct rt_qp a, b;
	char path[PATH_MAX];
	int ffd;
	struct stat st;
	char *tgt;		/* LEN bytes of the file from FOFF */
	void *loc;
	struct ibv_mr *tgt_mr, *loc_mr;
};

FIXTURE_SETUP(adm)
{
	const char *dir = rt_env("RXE_XFS_DAX", "/mnt/xfs-dax");
	char comm[16];

	self->fd = open(NODE, O_RDONLY);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", NODE, strerror(errno));
	ASSERT_EQ(0, rt_dev_open(&self->d));
	self->evfd = rxer_create_event_channel(self->d.ctx);
	ASSERT_LE(0, self->evfd);
	ASSERT_EQ(0, rt_qp_create(&self->d, &self->a, 64));
	ASSERT_EQ(0, rt_qp_create(&self->d, &self->b, 64));
	ASSERT_EQ(0, rt_rc_connect(&self->d, &self->a, &self->b));

	snprintf(self->path, sizeof(self->path), "%s/admin.%d", dir, getpid());
	self->ffd = open(self->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->ffd);
	ASSERT_EQ(0, ftruncate(self->ffd, 2 * LEN));
	ASSERT_TRUE(rt_file_is_dax(self->ffd));
	ASSERT_EQ(0, fstat(self->ffd, &self->st));
	self->tgt = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->ffd, FOFF);
	ASSERT_NE(MAP_FAILED, self->tgt);
	memset(self->tgt, 0, LEN);
	self->loc = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->loc);

	/* registered under another comm: the record keeps that one */
	ASSERT_EQ(0, prctl(PR_GET_NAME, comm));
	ASSERT_EQ(0, prctl(PR_SET_NAME, "rxe_owner"));
	self->loc_mr = ibv_reg_mr(self->d.pd, self->loc, LEN, ACCESS);
	self->tgt_mr = ibv_reg_mr(self->d.pd, self->tgt, LEN, ACCESS);
	ASSERT_EQ(0, prctl(PR_SET_NAME, comm));
	ASSERT_NE(NULL, self->loc_mr);
	ASSERT_NE(NULL, self->tgt_mr) TH_LOG("reg: %s", strerror(errno));
}

FIXTURE_TEARDOWN(adm)
{
	rt_qp_destroy(&self->a);
	rt_qp_destroy(&self->b);
	if (self->tgt_mr)
		ibv_dereg_mr(self->tgt_mr);
	if (self->loc_mr)
		ibv_dereg_mr(self->loc_mr);
	if (self->tgt && self->tgt != MAP_FAILED)
		munmap(self->tgt, LEN);
	if (self->loc && self->loc != MAP_FAILED)
		munmap(self->loc, LEN);
	if (self->ffd >= 0) {
		close(self->ffd);
		unlink(self->path);
	}
	if (self->evfd >= 0)
		close(self->evfd);
	rt_dev_close(&self->d);
	if (self->fd >= 0)
		close(self->fd);
}

static enum ibv_wc_status write_tgt(FIXTURE_DATA(adm) *self, size_t off,
				    size_t len)
{
	struct ibv_wc wc;

	if (rt_post_rdma(&self->a, IBV_WR_RDMA_WRITE, self->loc_mr,
			 (char *)self->loc + off, len,
			 (uintptr_t)self->tgt + off, self->tgt_mr->rkey, 1))
		return IBV_WC_GENERAL_ERR;
	if (rt_poll(self->a.cq, &wc))
		return IBV_WC_RESP_TIMEOUT_ERR;
	return wc.status;
}

static void new_qps(struct __test_metadata *_metadata,
		    FIXTURE_DATA(adm) *self)
{
	rt_qp_destroy(&self->a);
	rt_qp_destroy(&self->b);
	ASSERT_EQ(0, rt_qp_create(&self->d, &self->a, 64));
	ASSERT_EQ(0, rt_qp_create(&self->d, &self->b, 64));
	ASSERT_EQ(0, rt_rc_connect(&self->d, &self->a, &self->b));
}

/* The owner got exactly one ADMIN event for [start, end). */
static void expect_admin_event(struct __test_metadata *_metadata,
			       FIXTURE_DATA(adm) *self, uint64_t start,
			       uint64_t end)
{
	struct rxe_revoke_mr_state st;
	struct rxe_revoke_event ev;

	ASSERT_EQ(0, next_event(self->evfd, &ev));
	EXPECT_EQ(RXE_REVOKE_REASON_ADMIN, ev.reason);
	EXPECT_EQ(self->tgt_mr->handle, ev.mr_handle);
	EXPECT_EQ(self->tgt_mr->lkey, ev.lkey);
	EXPECT_EQ(self->tgt_mr->rkey, ev.rkey);
	EXPECT_EQ(start, ev.start);
	EXPECT_EQ(end, ev.end);
	fcntl(self->evfd, F_SETFL, O_NONBLOCK);
	EXPECT_EQ(-1, rxer_read_events(self->evfd, &ev, 1));
	EXPECT_EQ(EAGAIN, errno);
	fcntl(self->evfd, F_SETFL, 0);

	ASSERT_EQ(0, rxer_query_mr(self->tgt_mr, &st));
	EXPECT_EQ(RXE_REVOKE_MR_REVOKED, st.status);
	EXPECT_EQ(RXE_REVOKE_REASON_ADMIN, st.reason);
	EXPECT_EQ(start, st.revoked_start);
	EXPECT_EQ(end, st.revoked_end);
}

/* What the administrator sees of the two MRs. */
TEST_F_TIMEOUT(adm, lists_registrations, 300)
{
	struct rxe_admin_mr m;
	char real[PATH_MAX];
	uint32_t n = 0, total = 0;

	ASSERT_EQ(0, admin_find(self->fd, self->tgt_mr->lkey, &m));
	EXPECT_STREQ(rt_env("RXE_DEV", "rxe0"), m.ibdev);
	EXPECT_EQ(getpid(), m.pid);
	EXPECT_STREQ("rxe_owner", m.comm);
	EXPECT_EQ(self->tgt_mr->handle, m.mr_handle);
	EXPECT_EQ(self->tgt_mr->lkey, m.lkey);
	EXPECT_EQ(self->tgt_mr->rkey, m.rkey);
	EXPECT_EQ(RXE_REVOKE_MR_REVOCABLE, m.kind);
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, m.status);
	EXPECT_EQ(0, m.revoke_count);
	EXPECT_EQ((uintptr_t)self->tgt, m.start);
	EXPECT_EQ(LEN, m.length);
	EXPECT_EQ(ACCESS, m.access);
	EXPECT_EQ(0, m.flags);
	ASSERT_EQ(1, m.nsegs);
	ASSERT_NE(NULL, realpath(self->path, real));
	EXPECT_STREQ(real, m.segs[0].path);
	EXPECT_EQ(self->st.st_ino, m.segs[0].ino);
	EXPECT_EQ(major(self->st.st_dev), m.segs[0].dev_major);
	EXPECT_EQ(minor(self->st.st_dev), m.segs[0].dev_minor);
	EXPECT_EQ(FOFF, m.segs[0].offset);
	EXPECT_EQ((uintptr_t)self->tgt, m.segs[0].start);
	EXPECT_EQ((uintptr_t)self->tgt + LEN, m.segs[0].end);
	EXPECT_EQ(0, m.segs[0].flags);

	ASSERT_EQ(0, admin_find(self->fd, self->loc_mr->lkey, &m));
	EXPECT_EQ(RXE_REVOKE_MR_PINNED, m.kind);
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, m.status);
	EXPECT_STREQ("rxe_owner", m.comm);
	EXPECT_EQ(0, m.nsegs);		/* anonymous: no file */
	EXPECT_EQ((uintptr_t)self->loc, m.start);

	/* a sub-range registration: the segment starts where it does */
	{
		struct ibv_mr *mr = ibv_reg_mr(self->d.pd, self->tgt + 3 * PAGE,
					       5 * PAGE, IBV_ACCESS_LOCAL_WRITE);

		ASSERT_NE(NULL, mr);
		ASSERT_EQ(0, admin_find(self->fd, mr->lkey, &m));
		ASSERT_EQ(1, m.nsegs);
		EXPECT_EQ(FOFF + 3 * PAGE, m.segs[0].offset);
		EXPECT_EQ(5 * PAGE, m.segs[0].end - m.segs[0].start);
		EXPECT_EQ(mr->rkey, m.rkey);
		EXPECT_EQ(mr->lkey, mr->rkey);	/* every MR has an rkey */
		ASSERT_EQ(0, ibv_dereg_mr(mr));
		/* gone from the list with the MR */
		EXPECT_EQ(ENOENT, admin_find(self->fd, m.lkey, &m));
	}

	/* count 0: only the total, to size the buffer */
	ASSERT_EQ(0, admin_list(self->fd, NULL, 0, &n, &total));
	EXPECT_EQ(0, n);
	EXPECT_LE(2, total);
	/* a short buffer: filled, and the total says there are more */
	{
		struct rxe_admin_mr one[1];

		ASSERT_EQ(0, admin_list(self->fd, one, 1, &n, &total));
		EXPECT_EQ(1, n);
		EXPECT_LE(2, total);
	}
}

/* Admin revoke by MR: event, clean failure, the owner lives, rereg. */
TEST_F_TIMEOUT(adm, revoke_by_mr, 300)
{
	const char *dev = rt_env("RXE_DEV", "rxe0");
	struct rxe_admin_revoke r;
	struct rxe_admin_mr m;
	uint32_t old_rkey;
	long long admin0, restores0;

	rt_fill(self->loc, LEN, 3);
	ASSERT_EQ(IBV_WC_SUCCESS, write_tgt(self, 0, LEN));
	EXPECT_EQ(-1, rt_check(self->tgt, LEN, 3));

	admin0 = rt_counter("revoke_admin");
	restores0 = rt_counter("rereg_restores");
	ASSERT_EQ(0, admin_revoke_mr(self->fd, dev, self->tgt_mr->lkey, &r));
	EXPECT_EQ(1, r.revoked);
	/* rdma statistic counts it under its reason */
	EXPECT_EQ(admin0 + 1, rt_counter("revoke_admin"));
	expect_admin_event(_metadata, self, (uintptr_t)self->tgt,
			   (uintptr_t)self->tgt + LEN);
	ASSERT_EQ(0, admin_find(self->fd, self->tgt_mr->lkey, &m));
	EXPECT_EQ(RXE_REVOKE_MR_REVOKED, m.status);
	EXPECT_EQ(RXE_REVOKE_REASON_ADMIN, m.reason);
	EXPECT_EQ(1, m.revoke_count);

	/* the owner runs on; its accesses through the MR fail cleanly */
	EXPECT_EQ(IBV_WC_REM_ACCESS_ERR, write_tgt(self, 0, PAGE));
	EXPECT_EQ(EALREADY, admin_revoke_mr(self->fd, dev,
					    self->tgt_mr->lkey, &r));
	EXPECT_EQ(1, r.already);

	/* and a re-registration restores it, with new keys */
	old_rkey = self->tgt_mr->rkey;
	ASSERT_EQ(0, rxer_rereg_mr(self->tgt_mr,
				   IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
				   self->tgt + PAGE, LEN - PAGE, 0));
	EXPECT_NE(old_rkey, self->tgt_mr->rkey);
	EXPECT_EQ(restores0 + 1, rt_counter("rereg_restores"));
	EXPECT_EQ(admin0 + 1, rt_counter("revoke_admin"));
	ASSERT_EQ(0, admin_find(self->fd, self->tgt_mr->lkey, &m));
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, m.status);
	EXPECT_EQ(self->tgt_mr->rkey, m.rkey);
	EXPECT_EQ((uintptr_t)self->tgt + PAGE, m.start);
	ASSERT_EQ(1, m.nsegs);
	EXPECT_EQ(FOFF + PAGE, m.segs[0].offset);
	new_qps(_metadata, self);
	rt_fill(self->loc, LEN, 4);
	EXPECT_EQ(IBV_WC_SUCCESS, write_tgt(self, PAGE, LEN - PAGE));
	EXPECT_EQ(0, memcmp(self->tgt + PAGE, (char *)self->loc + PAGE,
			    LEN - PAGE));
}

/* Admin revoke by file range, through the tool, as another process. */
TEST_F_TIMEOUT(adm, revoke_by_file_with_tool, 300)
{
	struct rxe_revoke_mr_state st;
	char out[16384], want[128];
	uint64_t base = (uintptr_t)self->tgt;

	/* the tool lists the MR, filtered by pid and by file */
	ASSERT_EQ(0, run(out, sizeof(out), "%s list --json --pid %d", tool(),
			 getpid()));
	snprintf(want, sizeof(want), "\"lkey\": %u,", self->tgt_mr->lkey);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"kind\": \"revocable\""));
	EXPECT_NE(NULL, strstr(out, "\"comm\": \"rxe_owner\""));
	EXPECT_NE(NULL, strstr(out, self->path));
	snprintf(want, sizeof(want), "\"offset\": %d,", FOFF);
	EXPECT_NE(NULL, strstr(out, want));
	ASSERT_EQ(0, run(out, sizeof(out), "%s list --file %s", tool(),
			 self->path));
	snprintf(want, sizeof(want), "0x%08x", self->tgt_mr->lkey);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "0x%08x", self->loc_mr->lkey);
	EXPECT_EQ(NULL, strstr(out, want));	/* anon: not on the file */
	/* a range of the file that no MR maps */
	ASSERT_EQ(0, run(out, sizeof(out), "%s list --file %s --offset 0 --length %d",
			 tool(), self->path, FOFF));
	snprintf(want, sizeof(want), "0x%08x", self->tgt_mr->lkey);
	EXPECT_EQ(NULL, strstr(out, want));
	EXPECT_EQ(3, run(NULL, 0, "%s revoke --file %s --offset 0 --length %d 2>/dev/null",
			 tool(), self->path, FOFF));
	EXPECT_EQ(3, run(NULL, 0, "%s revoke --file %s --offset %d --length %d 2>/dev/null",
			 tool(), self->path, PAGE, PAGE));
	EXPECT_EQ(3, run(NULL, 0, "%s revoke --file %s --offset %d 2>/dev/null",
			 tool(), self->path, FOFF + LEN));
	ASSERT_EQ(0, rxer_query_mr(self->tgt_mr, &st));
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, st.status);

	/* two pages inside the mapping: the event names their VAs */
	ASSERT_EQ(0, run(out, sizeof(out), "%s revoke --file %s --offset %d --length %d",
			 tool(), self->path, FOFF + 8 * PAGE, 2 * PAGE));
	EXPECT_NE(NULL, strstr(out, "revoked 1 MR")) TH_LOG("%s", out);
	expect_admin_event(_metadata, self, base + 8 * PAGE,
			   base + 10 * PAGE);
	EXPECT_EQ(IBV_WC_REM_ACCESS_ERR, write_tgt(self, 0, PAGE));
	/* the pinned anonymous MR is untouched and still works */
	ASSERT_EQ(0, rxer_query_mr(self->loc_mr, &st));
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, st.status);

	/* usage errors */
	EXPECT_EQ(2, run(NULL, 0, "%s revoke 2>/dev/null", tool()));
	EXPECT_EQ(2, run(NULL, 0, "%s revoke --mr rxe0 2>/dev/null", tool()));
	EXPECT_EQ(2, run(NULL, 0, "%s frobnicate 2>/dev/null", tool()));
	EXPECT_EQ(3, run(NULL, 0, "%s revoke --mr %s:0x%x 2>/dev/null", tool(),
			 rt_env("RXE_DEV", "rxe0"), self->tgt_mr->lkey ^ 0xff));
}

/* Pinned and ODP MRs cannot be revoked; the errno says so. */
TEST_F_TIMEOUT(adm, not_revocable, 300)
{
	const char *dev = rt_env("RXE_DEV", "rxe0");
	struct rxe_admin_revoke r;
	struct rxe_admin_mr m;
	struct ibv_mr *odp;
	struct rt_mem pc;
	struct ibv_mr *pcmr;
	struct stat st;

	EXPECT_EQ(EOPNOTSUPP, admin_revoke_mr(self->fd, dev,
					      self->loc_mr->lkey, &r));
	EXPECT_EQ(1, r.pinned);
	EXPECT_EQ(0, r.revoked);

	odp = ibv_reg_mr(self->d.pd, self->loc, LEN,
			 ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, odp);
	ASSERT_EQ(0, admin_find(self->fd, odp->lkey, &m));
	EXPECT_EQ(RXE_REVOKE_MR_ODP, m.kind);
	EXPECT_EQ(EOPNOTSUPP, admin_revoke_mr(self->fd, dev, odp->lkey, &r));
	EXPECT_EQ(1, r.odp);
	ibv_dereg_mr(odp);

	/* a pinned MR on a page-cache file: found by file, refused */
	if (rt_pagecache_pin_refused()) {
		TH_LOG("no pinned page-cache MR: %s", RT_PAGECACHE_PIN_REFUSED);
		goto untouched;
	}
	ASSERT_EQ(0, rt_mem_map(&pc, RT_MEM_PAGECACHE, LEN));
	pcmr = ibv_reg_mr(self->d.pd, pc.addr, LEN, ACCESS);
	ASSERT_NE(NULL, pcmr);
	ASSERT_EQ(0, fstat(pc.fd, &st));
	ASSERT_EQ(0, admin_find(self->fd, pcmr->lkey, &m));
	EXPECT_EQ(RXE_REVOKE_MR_PINNED, m.kind);
	ASSERT_EQ(1, m.nsegs);
	EXPECT_EQ(st.st_ino, m.segs[0].ino);
	EXPECT_EQ(EOPNOTSUPP, admin_revoke_file(self->fd, &st, 0, 0, &r));
	EXPECT_EQ(1, r.pinned);
	EXPECT_EQ(4, run(NULL, 0, "%s revoke --file %s 2>/dev/null", tool(),
			 pc.path));
	ibv_dereg_mr(pcmr);
	rt_mem_unmap(&pc);

untouched:
	/* the revocable MR was not touched by any of this */
	{
		struct rxe_revoke_mr_state s;

		ASSERT_EQ(0, rxer_query_mr(self->tgt_mr, &s));
		EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, s.status);
	}
}

/* Unknown MRs and files are ENOENT; malformed requests EINVAL. */
TEST_F_TIMEOUT(adm, bad_input, 300)
{
	const char *dev = rt_env("RXE_DEV", "rxe0");
	struct rxe_admin_mr recs[2];
	struct rxe_admin_revoke r;
	struct rxe_admin_list l;
	struct stat st;
	char other[PATH_MAX + 8];
	int ofd;

	/* unknown lkey, device, file */
	EXPECT_EQ(ENOENT, admin_revoke_mr(self->fd, dev,
					  self->tgt_mr->lkey ^ 0xff, &r));
	EXPECT_EQ(ENOENT, admin_revoke_mr(self->fd, "nosuchdev",
					  self->tgt_mr->lkey, &r));
	snprintf(other, sizeof(other), "%s.other", self->path);
	ofd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, ofd);
	ASSERT_EQ(0, fstat(ofd, &st));
	EXPECT_EQ(ENOENT, admin_revoke_file(self->fd, &st, 0, 0, &r));
	close(ofd);
	unlink(other);
	/* the file, beyond what the MR maps */
	EXPECT_EQ(ENOENT, admin_revoke_file(self->fd, &self->st, FOFF + LEN,
					    PAGE, &r));

	/* revoke: version, flags, reserved, strings, overflow */
#define BAD_REVOKE(field, val) do {					\
	memset(&r, 0, sizeof(r));					\
	r.version = RXE_ADMIN_VERSION;					\
	r.flags = RXE_ADMIN_REVOKE_MR;					\
	strcpy(r.ibdev, dev);						\
	r.lkey = self->tgt_mr->lkey;					\
	r.field = (val);						\
	EXPECT_EQ(-1, ioctl(self->fd, RXE_ADMIN_IOC_REVOKE, &r));	\
	EXPECT_EQ(EINVAL, errno) TH_LOG(#field " = " #val);		\
} while (0)
	BAD_REVOKE(version, 0);
	BAD_REVOKE(version, RXE_ADMIN_VERSION + 1);
	BAD_REVOKE(flags, 0);
	BAD_REVOKE(flags, RXE_ADMIN_REVOKE_MR | RXE_ADMIN_REVOKE_FILE);
	BAD_REVOKE(flags, 1 << 7);
	BAD_REVOKE(reserved, 1);
	BAD_REVOKE(revoked, 1);
	BAD_REVOKE(ibdev[0], 0);
	memset(&r, 0, sizeof(r));
	r.version = RXE_ADMIN_VERSION;
	r.flags = RXE_ADMIN_REVOKE_MR;
	memset(r.ibdev, 'x', sizeof(r.ibdev));	/* no NUL */
	EXPECT_EQ(-1, ioctl(self->fd, RXE_ADMIN_IOC_REVOKE, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(EINVAL, admin_revoke_file(self->fd, &self->st, 2,
					    UINT64_MAX, &r));

	/* list: version, flags, record size, count, reserved */
#define BAD_LIST(field, val) do {					\
	memset(&l, 0, sizeof(l));					\
	l.version = RXE_ADMIN_VERSION;					\
	l.rec_size = sizeof(recs[0]);					\
	l.count = 2;							\
	l.recs = (uintptr_t)recs;					\
	l.field = (val);						\
	EXPECT_EQ(-1, ioctl(self->fd, RXE_ADMIN_IOC_LIST, &l));		\
	EXPECT_EQ(EINVAL, errno) TH_LOG(#field " = " #val);		\
} while (0)
	BAD_LIST(version, 0);
	BAD_LIST(version, RXE_ADMIN_VERSION + 1);
	BAD_LIST(flags, 1);
	BAD_LIST(rec_size, sizeof(recs[0]) - 8);
	BAD_LIST(rec_size, sizeof(recs[0]) + 8);
	BAD_LIST(count, RXE_ADMIN_LIST_MAX + 1);
	BAD_LIST(count, UINT32_MAX);
	BAD_LIST(reserved, 1);
	BAD_LIST(recs, 0);
	/* a bad buffer: EFAULT, not a crash */
	memset(&l, 0, sizeof(l));
	l.version = RXE_ADMIN_VERSION;
	l.rec_size = sizeof(recs[0]);
	l.count = 2;
	l.recs = 8;
	EXPECT_EQ(-1, ioctl(self->fd, RXE_ADMIN_IOC_LIST, &l));
	EXPECT_EQ(EFAULT, errno);

	/* our ioctl with another size: EINVAL; not ours: ENOTTY */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(RXE_ADMIN_IOC_MAGIC, 1, char[8]),
			    recs));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(RXE_ADMIN_IOC_MAGIC, 2, char[8]),
			    recs));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(RXE_ADMIN_IOC_MAGIC, 9,
					    struct rxe_admin_list), recs));
	EXPECT_EQ(ENOTTY, errno);

	/* nothing of this touched the MR */
	{
		struct rxe_revoke_mr_state s;

		ASSERT_EQ(0, rxer_query_mr(self->tgt_mr, &s));
		EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, s.status);
	}
}

/* Without CAP_SYS_ADMIN: EPERM for list and revoke, even with an fd. */
TEST_F_TIMEOUT(adm, unprivileged_eperm, 300)
{
	struct rxe_revoke_mr_state s;
	char cmd_out[1024];
	struct stat st;
	pid_t pid;
	int status;

	ASSERT_EQ(0, stat(NODE, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rxe_admin_mr recs[2];
		struct rxe_admin_revoke r;
		uint32_t n = 0, total = 0;
		int code = 0;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(10);
		/* the node is root's */
		if (open(NODE, O_RDONLY) != -1 || errno != EACCES)
			code |= 1;
		/* an fd opened by root does not help: capable() per call */
		if (admin_list(self->fd, recs, 2, &n, &total) != EPERM)
			code |= 2;
		if (admin_revoke_mr(self->fd, rt_env("RXE_DEV", "rxe0"),
				    self->tgt_mr->lkey, &r) != EPERM)
			code |= 4;
		if (admin_revoke_file(self->fd, &self->st, 0, 0, &r) != EPERM)
			code |= 8;
		_exit(code);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* the tool as nobody, with the node opened up: still refused */
	ASSERT_EQ(0, chmod(NODE, 0666));
	EXPECT_EQ(1, run(cmd_out, sizeof(cmd_out),
			 "setpriv --reuid=%d --regid=%d --clear-groups %s list 2>&1",
			 NOBODY, NOBODY, tool()));
	EXPECT_NE(NULL, strstr(cmd_out, "Operation not permitted"))
		TH_LOG("%s", cmd_out);
	EXPECT_EQ(1, run(cmd_out, sizeof(cmd_out),
			 "setpriv --reuid=%d --regid=%d --clear-groups %s revoke --mr %s:%u 2>&1",
			 NOBODY, NOBODY, tool(), rt_env("RXE_DEV", "rxe0"),
			 self->tgt_mr->lkey));
	EXPECT_NE(NULL, strstr(cmd_out, "Operation not permitted"))
		TH_LOG("%s", cmd_out);
	ASSERT_EQ(0, chmod(NODE, 0600));

	ASSERT_EQ(0, rxer_query_mr(self->tgt_mr, &s));
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, s.status);
	EXPECT_EQ(0, s.revoke_count);
}

/*
 * The administrator lists and revokes while another process registers,
 * re-registers, deregisters and exits without deregistering: every call
 * returns a documented result, nothing is left listed for the dead
 * process, and the kernel stays quiet (make check scans dmesg under
 * slub_debug for use-after-free).
 */
TEST_F_TIMEOUT(adm, races_reg_rereg_dereg_exit, 300)
{
	struct rxe_admin_mr *recs;
	struct rxe_admin_revoke r;
	uint32_t n = 0, total = 0, i;
	int rounds = 0, revoked = 0, status, err;
	double end;
	pid_t pid;

	recs = calloc(1024, sizeof(*recs));
	ASSERT_NE(NULL, recs);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rt_dev d;
		double stop = rt_now() + 4;
		int k = 0;

		if (rt_dev_open(&d))
			_exit(10);
		while (rt_now() < stop) {
			struct ibv_mr *mr;
			pid_t gc;

			mr = ibv_reg_mr(d.pd, self->tgt, LEN, ACCESS);
			if (!mr)
				_exit(11);
			err = rxer_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION,
					    NULL, self->tgt + PAGE, LEN - PAGE, 0);
			if (err && err != EAGAIN)
				_exit(12);
			if (ibv_dereg_mr(mr))
				_exit(13);
			if (++k % 4)
				continue;
			/* a process that exits with its MR registered */
			gc = fork();
			if (!gc) {
				struct rt_dev d2;

				if (rt_dev_open(&d2) ||
				    !ibv_reg_mr(d2.pd, self->tgt, LEN, ACCESS))
					_exit(14);
				_exit(0);
			}
			if (gc < 0 || waitpid(gc, &status, 0) != gc ||
			    !WIFEXITED(status) || WEXITSTATUS(status))
				_exit(15);
		}
		rt_dev_close(&d);
		_exit(0);
	}

	end = rt_now() + 4;
	while (rt_now() < end) {
		rounds++;
		err = admin_list(self->fd, recs, 1024, &n, &total);
		ASSERT_EQ(0, err);
		for (i = 0; i < n; i++) {
			if (recs[i].pid != pid)
				continue;
			err = admin_revoke_mr(self->fd, recs[i].ibdev,
					      recs[i].lkey, &r);
			EXPECT_TRUE(!err || err == ENOENT || err == EALREADY)
				TH_LOG("revoke by MR: %s", strerror(err));
			revoked += !err;
		}
		err = admin_revoke_file(self->fd, &self->st, 0, 0, &r);
		EXPECT_TRUE(!err || err == ENOENT) TH_LOG("by file: %s",
							  strerror(err));
		revoked += r.revoked;
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	TH_LOG("%d admin rounds, %d revokes", rounds, revoked);
	EXPECT_LT(0, revoked);

	/* nothing of the child or its children is left */
	ASSERT_EQ(0, admin_list(self->fd, recs, 1024, &n, &total));
	EXPECT_EQ(n, total);
	for (i = 0; i < n; i++)
		EXPECT_NE(pid, recs[i].pid);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(!strcmp(recs[i].comm, "rxe_owner"))
			TH_LOG("left: pid %d comm %s", recs[i].pid,
			       recs[i].comm);
	EXPECT_EQ(2, n);
	free(recs);
}

TEST_HARNESS_MAIN
