// SPDX-License-Identifier: GPL-2.0
/*
 * stress: a seeded, time-bounded random driver for rxe-revoke.
 *
 *   stress [SECONDS [SEED]]      (or RXE_STRESS_SECONDS, RXE_STRESS_SEED;
 *                                 RXE_STRESS_WORKERS, default 3)
 *
 * Worker processes each open their own context with two RC loopback QP
 * pairs and five target MRs: a plain (revocable) MR on an XFS-DAX file and
 * on an ext4-DAX file, a revocable and an ODP MR on anonymous memory, and a
 * pinned anonymous MR. In each worker a traffic thread posts every opcode
 * (RDMA WRITE, WRITE with immediate, READ, SEND/RECV, ATOMIC CMP&SWP and
 * FETCH&ADD, and WRITEs whose source is a target) against the targets,
 * while a chaos thread truncates and re-extends, punches holes, munmaps,
 * mremaps, forks, revokes, re-registers (every kind: revocable ones in
 * place, pinned and ODP ones replaced) and deregisters them; the traffic
 * thread also destroys QPs with WRs in flight. The parent kills workers
 * with SIGKILL and starts new ones.
 *
 * Invariants, any breach of which fails the run with the seed:
 *  - every WR completes within STRESS_HANG_S with success or one of the
 *    defined errors (allowed_status(), REM_OP_ERR for a SEND or WRITE
 *    with immediate whose receive buffer the responder refused, and
 *    LOC_QP_OP_ERR for a target lkey that a dereg or rereg killed);
 *  - a revocable MR whose pages a truncate, hole punch, MADV_DONTNEED or
 *    munmap took is revoked when the call returns;
 *  - canary files never change: one untouched neighbour file on each DAX
 *    filesystem, and one written right after each truncate or hole punch
 *    on the same filesystem, which gets the freed blocks back; so do the
 *    guard pages around each anonymous target;
 *  - a WRITE then READ of the pinned target reads back what was written.
 *
 * Choices are drawn from the seed (the parent's and each worker's own);
 * thread and process timing is not, so a replay repeats the sequence of
 * choices, not every interleaving.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rxe_test.h"
#include "rxe_revoke.h"

#define PAGE	4096
#define TLEN	(256 << 10)	/* a target */
#define LLEN	(256 << 10)	/* the local buffer */
#define MAXW	8
#define NPAIR	2
#define NCANARY	4
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

static unsigned long long seed0;
/*
 * READs of revocable targets and WRITEs whose local source is a revocable
 * target (on by default; RXE_STRESS_ALL=0 leaves them out, to tell a
 * failure of theirs from the rest). They were off at first: such WRs
 * hung now and then. The cause was the test's retry_cnt 7, which rxe
 * takes as unbounded: when the peer QP had gone to the error state, a
 * READ was retried for ever. With the bounded retries below, 300 s of
 * stress with them on ran clean (48 workers, 0 failed).
 */
static bool all_ops;
static double deadline;

/* xorshift64* */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "stress[%d]: FAIL: ", getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (replay: RXE_STRESS_SEED=%#llx)\n", seed0);
	fflush(stderr);
	_exit(1);
}

enum tkind { T_XFS, T_EXT4, T_REVOCABLE, T_ODP, T_PINNED, NT };
static const char *const tname[NT] = {
	"xfs-dax", "ext4-dax", "anon-revocable", "anon-odp", "anon-pinned"
};

struct target {
	enum tkind kind;
	pthread_rwlock_t lock;	/* writers change mr or the mapping */
	struct ibv_mr *mr;	/* NULL while deregistered */
	char *map;		/* the mapping: guard page, TLEN, guard page */
	size_t maplen;
	char *base;		/* what the MR covers */
	int fd;			/* files */
	char path[256];
	uint32_t guard_seed;
};

struct worker {
	uint64_t rs_traffic, rs_chaos;
	int id;
	struct rt_dev d;
	struct target t[NT];
	char *local;
	struct ibv_mr *local_mr;
	volatile int stop;
	long ops[16], status[32];
	int canaries;
	char canary[NCANARY][256];
};

static bool is_file(enum tkind k)
{
	return k == T_XFS || k == T_EXT4;
}

static bool revocable(enum tkind k)
{
	return k != T_ODP && k != T_PINNED;
}

static const char *dir_of(enum tkind k)
{
	return k == T_XFS ? rt_env("RXE_XFS_DAX", "/mnt/xfs-dax") :
			    rt_env("RXE_EXT4_DAX", "/mnt/ext4-dax");
}

/* --- canaries ----------------------------------------------------------- */

static void canary_write(const char *dir, const char *name, uint32_t s,
			 size_t len)
{
	char tmp[256], path[256];
	char *buf = malloc(len);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/stress-tmp.%d", dir, getpid());
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!buf || fd < 0)
		fail("canary %s: %s", tmp, strerror(errno));
	rt_fill(buf, len, s);
	if (pwrite(fd, buf, len, 0) != (ssize_t)len || fsync(fd))
		fail("canary %s: %s", tmp, strerror(errno));
	close(fd);
	free(buf);
	if (rename(tmp, path))
		fail("canary %s: %s", path, strerror(errno));
}

/* Canary files are named stress-canary.<seed>.<len>: self-describing. */
static int canary_check(const char *path)
{
	const char *n = strrchr(path, '/');
	unsigned int s;
	size_t len;
	char *buf;
	long bad;
	int fd;

	if (sscanf(n, "/stress-canary.%x.%zu", &s, &len) != 2)
		return 0;
	buf = malloc(len + 1);
	fd = open(path, O_RDONLY);
	if (!buf || fd < 0)
		return -1;
	if (pread(fd, buf, len + 1, 0) != (ssize_t)len) {
		fprintf(stderr, "stress: %s: wrong size\n", path);
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	bad = rt_check(buf, len, s);
	free(buf);
	if (bad >= 0)
		fprintf(stderr, "stress: %s: changed at offset %ld\n", path,
			bad);
	return bad >= 0 ? -1 : 0;
}

/* After blocks were freed on dir's filesystem: a canary takes them. */
static void canary_after_free(struct worker *w, enum tkind k, size_t len)
{
	char name[96];
	uint32_t s = (uint32_t)rnd(&w->rs_chaos) | 1;
	int slot = w->canaries++ % NCANARY;

	if (w->canary[slot][0]) {
		if (canary_check(w->canary[slot]))
			fail("canary %s changed", w->canary[slot]);
		unlink(w->canary[slot]);
	}
	snprintf(name, sizeof(name), "stress-canary.%x.%zu", s, len);
	canary_write(dir_of(k), name, s, len);
	snprintf(w->canary[slot], sizeof(w->canary[slot]), "%s/%s",
		 dir_of(k), name);
}

/* --- targets ------------------------------------------------------------ */

static void guards_fill(struct target *t)
{
	if (is_file(t->kind))
		return;
	rt_fill(t->map, PAGE, t->guard_seed);
	rt_fill(t->map + PAGE + TLEN, PAGE, t->guard_seed + 1);
}

static void guards_check(struct target *t)
{
	if (is_file(t->kind) || !t->map)
		return;
	if (rt_check(t->map, PAGE, t->guard_seed) >= 0 ||
	    rt_check(t->map + PAGE + TLEN, PAGE, t->guard_seed + 1) >= 0)
		fail("%s: a guard page around the MR changed", tname[t->kind]);
}

static void target_map(struct worker *w, struct target *t)
{
	if (is_file(t->kind)) {
		t->maplen = TLEN;
		t->map = mmap(NULL, TLEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			      t->fd, 0);
		if (t->map == MAP_FAILED)
			fail("mmap %s: %s", t->path, strerror(errno));
		t->base = t->map;
		return;
	}
	t->maplen = TLEN + 2 * PAGE;
	t->map = mmap(NULL, t->maplen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->map == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	/* a THP split would revoke for reasons of layout only */
	madvise(t->map, t->maplen, MADV_NOHUGEPAGE);
	t->base = t->map + PAGE;
	t->guard_seed = (uint32_t)rnd(&w->rs_chaos);
	guards_fill(t);
}

static struct ibv_mr *target_reg(struct worker *w, struct target *t)
{
	switch (t->kind) {
	case T_REVOCABLE:
		return rxer_reg_mr(w->d.pd, t->base, TLEN, ACCESS,
				   RXER_REG_REVOCABLE);
	case T_ODP:
		return ibv_reg_mr(w->d.pd, t->base, TLEN,
				  ACCESS | IBV_ACCESS_ON_DEMAND);
	default:
		return ibv_reg_mr(w->d.pd, t->base, TLEN, ACCESS);
	}
}

static void target_open(struct worker *w, struct target *t, enum tkind k)
{
	memset(t, 0, sizeof(*t));
	t->kind = k;
	t->fd = -1;
	pthread_rwlock_init(&t->lock, NULL);
	if (is_file(k)) {
		snprintf(t->path, sizeof(t->path), "%s/stress-target.%d.%d",
			 dir_of(k), getpid(), k);
		t->fd = open(t->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (t->fd < 0 || ftruncate(t->fd, TLEN))
			fail("%s: %s", t->path, strerror(errno));
		if (!rt_file_is_dax(t->fd))
			fail("%s is not DAX", t->path);
	}
	target_map(w, t);
	t->mr = target_reg(w, t);
	if (!t->mr)
		fail("register %s: %s", tname[k], strerror(errno));
}

static void target_close(struct target *t)
{
	guards_check(t);
	if (t->mr)
		ibv_dereg_mr(t->mr);
	if (t->map)
		munmap(t->map, t->maplen);
	if (t->fd >= 0) {
		close(t->fd);
		unlink(t->path);
	}
}

/* --- traffic ------------------------------------------------------------ */

/* What a WR may end with here; anything else fails the run. */
static bool allowed_status(enum ibv_wc_status s)
{
	switch (s) {
	case IBV_WC_SUCCESS:
	case IBV_WC_LOC_PROT_ERR:	/* a revoked/invalid local MR */
	case IBV_WC_REM_ACCESS_ERR:	/* a revoked/invalid remote MR */
	case IBV_WC_WR_FLUSH_ERR:	/* the QP went to error first */
	case IBV_WC_RETRY_EXC_ERR:	/* the peer QP is in error */
	case IBV_WC_LOC_ACCESS_ERR:	/* an ODP page that cannot be faulted */
		return true;
	default:
		return false;
	}
}

struct pair {
	struct rt_qp a, b;
	bool up;
};

static void pair_up(struct worker *w, struct pair *p)
{
	if (rt_qp_create(&w->d, &p->a, 16) || rt_qp_create(&w->d, &p->b, 16) ||
	    rt_rc_connect(&w->d, &p->a, &p->b))
		fail("QP pair: %s", strerror(errno));
	p->up = true;
}

static void pair_down(struct pair *p)
{
	rt_qp_destroy(&p->a);
	rt_qp_destroy(&p->b);
	p->up = false;
}

enum { OP_WRITE, OP_WRITE_IMM, OP_READ, OP_SEND, OP_CAS, OP_FADD,
       OP_FROM_TARGET, OP_CHECK_PINNED, OP_DESTROY_IN_FLIGHT, NOP };

/*
 * A WR that has not completed after STRESS_HANG_S seconds hangs: longer
 * than rt_poll()'s bound, as a VM under TCG on a loaded host stalls for
 * tens of seconds at times.
 */
#define STRESS_HANG_S	120

static int poll_bounded(struct ibv_cq *cq, struct ibv_wc *wc)
{
	return rt_poll_for(cq, wc, STRESS_HANG_S);
}

/* On a hang: this process's kernel stacks and the QPs, to stderr. */
static void diagnose(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "for f in /proc/%d/task/*/stack; do echo \"== $f\"; cat $f; done >&2; "
		 "rdma resource show qp >&2; "
		 "for p in $(pgrep kworker); do s=$(cat /proc/$p/stack); "
		 "case \"$s\" in *rxe*|*rwsem*) echo \"== kworker $p\"; echo \"$s\";; esac; done >&2",
		 getpid());
	if (system(cmd))
		fprintf(stderr, "diagnose: failed\n");
}

static const char *const opname[] = {
	"WRITE", "WRITE_IMM", "READ", "SEND", "CMP_SWP", "FETCH_ADD",
	"WRITE from target", "pinned check", "destroy in flight",
};

/*
 * Wait for n completions on cq; false if the QP pair needs replacing.
 * op (or -1) is what was posted: a SEND or WRITE with immediate whose
 * receive buffer is refused at the responder ends with a remote operation
 * error NAK at the requester (IBV_WC_REM_OP_ERR).
 */
static bool reap(struct worker *w, struct ibv_cq *cq, int n, const char *what,
		 int op, const char *side)
{
	bool ok = true;
	struct ibv_wc wc;

	while (n--) {
		int err = poll_bounded(cq, &wc);

		if (err == -ETIMEDOUT) {
			diagnose();
			fail("%s: %s: %s: a WR did not complete in %d s (hang)",
			     what, op >= 0 ? opname[op] : "-", side,
			     STRESS_HANG_S);
		}
		if (err)
			fail("%s: poll: %d", what, err);
		w->status[wc.status < 32 ? wc.status : 31]++;
		/*
		 * A target's lkey that a dereg or rereg killed while the WR
		 * waited (the SEND's receive buffer, the source of
		 * OP_FROM_TARGET) names no MR: rxe reports that as a local
		 * QP operation error.
		 */
		if (!allowed_status(wc.status) &&
		    !(wc.status == IBV_WC_REM_OP_ERR &&
		      (op == OP_SEND || op == OP_WRITE_IMM)) &&
		    !(wc.status == IBV_WC_LOC_QP_OP_ERR &&
		      (op == OP_SEND || op == OP_FROM_TARGET)))
			fail("%s: %s: %s: completion status %s (%d)", what,
			     op >= 0 ? opname[op] : "-", side,
			     ibv_wc_status_str(wc.status), wc.status);
		ok &= wc.status == IBV_WC_SUCCESS;
	}
	return ok;
}

static int post_send(struct rt_qp *q, enum ibv_wr_opcode op, uint64_t laddr,
		     uint32_t len, uint32_t lkey, uint64_t raddr,
		     uint32_t rkey)
{
	struct ibv_sge sge = { laddr, len, lkey };
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.imm_data = 0x1234,
	}, *bad;

	if (op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	    op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		wr.wr.atomic.remote_addr = raddr;
		wr.wr.atomic.rkey = rkey;
		wr.wr.atomic.compare_add = 1;
		wr.wr.atomic.swap = 2;
	} else {
		wr.wr.rdma.remote_addr = raddr;
		wr.wr.rdma.rkey = rkey;
	}
	return ibv_post_send(q->qp, &wr, &bad);
}

static int post_recv(struct rt_qp *q, uint64_t addr, uint32_t len,
		     uint32_t lkey)
{
	struct ibv_sge sge = { addr, len, lkey };
	struct ibv_recv_wr wr = { .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_recv(q->qp, &wr, &bad);
}

/*
 * A WRITE then a READ of this pair's own page of the pinned target, which
 * nothing else writes: the READ returns the WRITE. Holds t->lock (read)
 * throughout, so that the MR and its memory stay; releases it.
 */
static bool check_pinned(struct worker *w, struct pair *p, int pi,
			 struct target *t, uint64_t laddr)
{
	uint64_t back = (uintptr_t)w->local + LLEN / 2 + pi * 8192;
	uint32_t s = (uint32_t)rnd(&w->rs_traffic);
	uint64_t raddr;
	bool ok = false;

	if (!t->mr)
		goto out;
	raddr = (uintptr_t)t->mr->addr + pi * 8192;
	rt_fill((void *)(uintptr_t)laddr, PAGE, s);
	if (post_send(&p->a, IBV_WR_RDMA_WRITE, laddr, PAGE,
		      w->local_mr->lkey, raddr, t->mr->rkey) ||
	    !reap(w, p->a.cq, 1, "pinned check", OP_CHECK_PINNED, "requester") ||
	    post_send(&p->a, IBV_WR_RDMA_READ, back, PAGE, w->local_mr->lkey,
		      raddr, t->mr->rkey) ||
	    !reap(w, p->a.cq, 1, "pinned check", OP_CHECK_PINNED, "requester"))
		goto out;
	if (rt_check((void *)(uintptr_t)back, PAGE, s) >= 0)
		fail("pinned target: the READ did not return the WRITE");
	ok = true;
out:
	pthread_rwlock_unlock(&t->lock);
	return ok;
}

/* One random operation on pair p; false if p must be replaced. */
static bool traffic_one(struct worker *w, struct pair *p, int pi)
{
	uint64_t *rs = &w->rs_traffic;
	int op = rnd(rs) % NOP;
	struct target *t = &w->t[rnd(rs) % NT];
	uint32_t len = 1 + rnd(rs) % (64 << 10);
	uint64_t off = rnd(rs) % (TLEN - len + 1);
	uint64_t laddr = (uintptr_t)w->local + rnd(rs) % (LLEN / 2 - len + 1);
	uint64_t raddr;
	uint32_t rkey, lkey;
	int err = 0, nrecv = 0;
	bool ok;

	if (!all_ops && revocable(t->kind) &&
	    (op == OP_READ || op == OP_FROM_TARGET))
		t = &w->t[rnd(rs) % 2 ? T_ODP : T_PINNED];
	w->ops[op]++;
	if (op == OP_CAS || op == OP_FADD) {
		len = 8;
		off &= ~7ULL;
		laddr &= ~7ULL;
	}
	if (op == OP_CHECK_PINNED) {
		t = &w->t[T_PINNED];
		laddr &= ~(uint64_t)(PAGE - 1);
	}
	pthread_rwlock_rdlock(&t->lock);
	if (op == OP_CHECK_PINNED)
		return check_pinned(w, p, pi, t, laddr);
	if (!t->mr) {
		pthread_rwlock_unlock(&t->lock);
		return true;
	}
	raddr = (uintptr_t)t->mr->addr + off;
	rkey = t->mr->rkey;
	lkey = t->mr->lkey;
	switch (op) {
	case OP_WRITE:
	case OP_READ:
	case OP_CAS:
	case OP_FADD:
		err = post_send(&p->a, op == OP_WRITE ? IBV_WR_RDMA_WRITE :
				op == OP_READ ? IBV_WR_RDMA_READ :
				op == OP_CAS ? IBV_WR_ATOMIC_CMP_AND_SWP :
				IBV_WR_ATOMIC_FETCH_AND_ADD, laddr, len,
				w->local_mr->lkey, raddr, rkey);
		break;
	case OP_WRITE_IMM:
		err = post_recv(&p->b, 0, 0, 0) ||
		      post_send(&p->a, IBV_WR_RDMA_WRITE_WITH_IMM, laddr, len,
				w->local_mr->lkey, raddr, rkey);
		nrecv = 1;
		break;
	case OP_SEND:
		/* the target receives */
		err = post_recv(&p->b, raddr, len, lkey) ||
		      post_send(&p->a, IBV_WR_SEND, laddr, len,
				w->local_mr->lkey, 0, 0);
		nrecv = 1;
		break;
	case OP_FROM_TARGET:
		/* the target is the local source of a WRITE */
		err = post_send(&p->a, IBV_WR_RDMA_WRITE, raddr, len, lkey,
				(uintptr_t)w->local + LLEN / 2,
				w->local_mr->rkey);
		break;
	case OP_DESTROY_IN_FLIGHT:
		err = post_send(&p->a, IBV_WR_RDMA_WRITE, laddr, len,
				w->local_mr->lkey, raddr, rkey) ||
		      post_send(&p->a, IBV_WR_RDMA_READ, laddr, len,
				w->local_mr->lkey, raddr, rkey);
		break;
	}
	pthread_rwlock_unlock(&t->lock);
	if (err)
		return false;	/* the QP is in error already */
	if (op == OP_DESTROY_IN_FLIGHT)
		return false;	/* destroyed with WRs in flight */
	ok = reap(w, p->a.cq, 1, tname[t->kind], op, "requester");
	if (nrecv && ok)
		ok = reap(w, p->b.cq, nrecv, tname[t->kind], op, "responder");
	return ok;
}

static void *traffic(void *arg)
{
	struct worker *w = arg;
	struct pair p[NPAIR] = {};
	int i;

	for (i = 0; i < NPAIR; i++)
		pair_up(w, &p[i]);
	while (!w->stop) {
		i = rnd(&w->rs_traffic) % NPAIR;
		if (!traffic_one(w, &p[i], i)) {
			pair_down(&p[i]);
			pair_up(w, &p[i]);
		}
	}
	for (i = 0; i < NPAIR; i++)
		pair_down(&p[i]);
	return NULL;
}

/* --- chaos -------------------------------------------------------------- */

static void expect_revoked(struct target *t, const char *why)
{
	struct rxe_revoke_mr_state st;
	int err;

	if (!t->mr || !revocable(t->kind))
		return;
	err = rxer_query_mr(t->mr, &st);
	if (err)
		fail("%s: query: %s", tname[t->kind], strerror(err));
	if (st.status != RXE_REVOKE_MR_REVOKED)
		fail("%s: still active after %s", tname[t->kind], why);
}

/* Re-register in place (revocable) or register anew; under t->lock. */
static void restore(struct worker *w, struct target *t)
{
	int i, err = 0;

	if (t->mr && revocable(t->kind)) {
		for (i = 0; i < 5; i++) {
			err = rxer_rereg_mr(t->mr,
					    IBV_REREG_MR_CHANGE_TRANSLATION,
					    NULL, t->base, TLEN, 0);
			if (err != EAGAIN)
				break;
		}
		if (err && err != EAGAIN)
			fail("%s: rereg: %s", tname[t->kind], strerror(err));
		return;
	}
	if (t->mr)
		ibv_dereg_mr(t->mr);
	t->mr = target_reg(w, t);
	if (!t->mr)
		fail("%s: register: %s", tname[t->kind], strerror(errno));
}

enum { C_TRUNCATE, C_PUNCH, C_MUNMAP, C_MREMAP, C_FORK, C_REVOKE, C_REREG,
       C_DEREG, C_GUARDS, NC };

/*
 * Re-register a pinned or ODP MR over its range: the translation again, or
 * the same access flags; either way a new MR with new keys replaces it
 * while WRs with the old keys may still be in flight. Under t->lock.
 */
static void rereg_kept(struct worker *w, struct target *t)
{
	int flags = rnd(&w->rs_chaos) % 2 ? IBV_REREG_MR_CHANGE_TRANSLATION :
					    IBV_REREG_MR_CHANGE_ACCESS;
	int access = ACCESS | (t->kind == T_ODP ? IBV_ACCESS_ON_DEMAND : 0);
	int err = rxer_rereg_mr(t->mr, flags, NULL, t->base, TLEN, access);

	if (err)
		fail("%s: rereg: %s", tname[t->kind], strerror(err));
}

static void chaos_one(struct worker *w)
{
	uint64_t *rs = &w->rs_chaos;
	int c = rnd(rs) % NC;
	struct target *t = &w->t[rnd(rs) % NT];
	size_t off = (rnd(rs) % (TLEN / PAGE)) * PAGE;
	size_t len = (1 + rnd(rs) % (TLEN / PAGE - off / PAGE)) * PAGE;
	char *old;
	pid_t pid;

	w->ops[8 + c % 8]++;
	switch (c) {
	case C_TRUNCATE:
		if (!is_file(t->kind))
			break;
		/* truncate races the traffic; only the re-extend is locked */
		if (ftruncate(t->fd, 0))
			fail("ftruncate: %s", strerror(errno));
		pthread_rwlock_wrlock(&t->lock);
		expect_revoked(t, "truncate");
		canary_after_free(w, t->kind, TLEN);
		if (ftruncate(t->fd, TLEN))
			fail("ftruncate: %s", strerror(errno));
		restore(w, t);
		pthread_rwlock_unlock(&t->lock);
		break;
	case C_PUNCH:
		if (t->kind == T_PINNED)
			break;
		if (is_file(t->kind) ?
		    fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      off, len) :
		    madvise(t->base + off, len, MADV_DONTNEED))
			fail("punch: %s", strerror(errno));
		pthread_rwlock_wrlock(&t->lock);
		expect_revoked(t, "punch hole / MADV_DONTNEED");
		if (is_file(t->kind))
			canary_after_free(w, t->kind, len);
		if (rnd(rs) % 2)
			restore(w, t);
		pthread_rwlock_unlock(&t->lock);
		break;
	case C_MUNMAP:
	case C_MREMAP:
		pthread_rwlock_wrlock(&t->lock);
		guards_check(t);
		old = t->map;
		if (c == C_MUNMAP) {
			munmap(t->map, t->maplen);
			expect_revoked(t, "munmap");
			target_map(w, t);
		} else {
			char *to = mmap(NULL, t->maplen, PROT_NONE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (to == MAP_FAILED)
				fail("mmap: %s", strerror(errno));
			t->map = mremap(old, t->maplen, t->maplen,
					MREMAP_MAYMOVE | MREMAP_FIXED, to);
			if (t->map == MAP_FAILED)
				fail("mremap: %s", strerror(errno));
			t->base = t->map + (is_file(t->kind) ? 0 : PAGE);
			expect_revoked(t, "mremap");
		}
		restore(w, t);
		pthread_rwlock_unlock(&t->lock);
		break;
	case C_FORK:
		pid = fork();
		if (pid < 0)
			fail("fork: %s", strerror(errno));
		if (!pid) {
			/* the child writes its copies, then goes */
			memset(w->t[T_REVOCABLE].base, 0x5a, PAGE);
			memset(w->t[T_PINNED].base + TLEN - PAGE, 0x5a, PAGE);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
		break;
	case C_REVOKE:
		pthread_rwlock_rdlock(&t->lock);
		if (t->mr && revocable(t->kind)) {
			int err = rxer_revoke_mr(t->mr);

			if (err && err != EALREADY)
				fail("revoke: %s", strerror(err));
			expect_revoked(t, "revoke");
		}
		pthread_rwlock_unlock(&t->lock);
		break;
	case C_REREG:
		pthread_rwlock_wrlock(&t->lock);
		if (revocable(t->kind))
			restore(w, t);
		else if (t->mr)
			rereg_kept(w, t);
		pthread_rwlock_unlock(&t->lock);
		break;
	case C_DEREG:
		pthread_rwlock_wrlock(&t->lock);
		if (t->mr) {
			ibv_dereg_mr(t->mr);
			t->mr = NULL;
		}
		restore(w, t);
		pthread_rwlock_unlock(&t->lock);
		break;
	case C_GUARDS:
		pthread_rwlock_rdlock(&t->lock);
		guards_check(t);
		pthread_rwlock_unlock(&t->lock);
		break;
	}
}

static int worker_main(int id, uint64_t s)
{
	struct worker *w = calloc(1, sizeof(*w));
	pthread_t tt;
	int k, err;

	if (!w)
		fail("calloc");
	w->id = id;
	w->rs_traffic = s;
	w->rs_chaos = s ^ 0x9e3779b97f4a7c15ULL;
	rnd(&w->rs_traffic);
	rnd(&w->rs_chaos);
	err = rt_dev_open(&w->d);
	if (err)
		fail("open device: %s", strerror(-err));
	w->local = mmap(NULL, LLEN, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->local == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	w->local_mr = ibv_reg_mr(w->d.pd, w->local, LLEN, ACCESS);
	if (!w->local_mr)
		fail("register local: %s", strerror(errno));
	for (k = 0; k < NT; k++)
		target_open(w, &w->t[k], k);
	if (pthread_create(&tt, NULL, traffic, w))
		fail("pthread_create");
	while (rt_now() < deadline) {
		chaos_one(w);
		usleep(rnd(&w->rs_chaos) % 20000);
	}
	w->stop = 1;
	pthread_join(tt, NULL);
	for (k = 0; k < NT; k++)
		target_close(&w->t[k]);
	for (k = 0; k < NCANARY; k++)
		if (w->canary[k][0]) {
			if (canary_check(w->canary[k]))
				fail("canary %s changed", w->canary[k]);
			unlink(w->canary[k]);
		}
	ibv_dereg_mr(w->local_mr);
	rt_dev_close(&w->d);
	printf("# worker %d (seed %#llx): ops", id, (unsigned long long)s);
	for (k = 0; k < 16; k++)
		printf(" %ld", w->ops[k]);
	printf("; completions: %ld ok, %ld rem access, %ld loc prot, %ld flush, %ld retry\n",
	       w->status[IBV_WC_SUCCESS], w->status[IBV_WC_REM_ACCESS_ERR],
	       w->status[IBV_WC_LOC_PROT_ERR], w->status[IBV_WC_WR_FLUSH_ERR],
	       w->status[IBV_WC_RETRY_EXC_ERR]);
	fflush(stdout);
	return 0;
}

/* --- the parent --------------------------------------------------------- */

static pid_t spawn(int id, uint64_t s)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (!pid)
		_exit(worker_main(id, s));
	return pid;
}

/* Check every canary in dir, remove them and stray stress files. */
static int sweep(const char *dir, int *checked)
{
	struct dirent *e;
	char path[512];
	int bad = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "stress-", 7))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!strncmp(e->d_name, "stress-canary.", 14)) {
			bad += !!canary_check(path);
			(*checked)++;
		}
		unlink(path);
	}
	closedir(d);
	return bad;
}

int main(int argc, char **argv)
{
	int seconds = atoi(argc > 1 ? argv[1] : rt_env("RXE_STRESS_SECONDS", "60"));
	int nw = atoi(rt_env("RXE_STRESS_WORKERS", "3"));
	const char *dirs[2] = { dir_of(T_XFS), dir_of(T_EXT4) };
	pid_t pids[MAXW];
	int i, status, failed = 0, kills = 0, spawned = 0, bad, checked = 0;
	uint64_t rs;

	/*
	 * A QP whose own work failed goes to the error state and drops what
	 * its peer sends; the peer must then end with RETRY_EXC_ERR, which it
	 * never does with stock rxe's unbounded retry_cnt 7: 6 retries of 1 s.
	 */
	rt_qp_timeout = 18;
	rt_qp_retry_cnt = 6;
	all_ops = atoi(rt_env("RXE_STRESS_ALL", "1"));
	seed0 = strtoull(argc > 2 ? argv[2] : rt_env("RXE_STRESS_SEED", "0"),
			 NULL, 0);
	if (!seed0)
		seed0 = ((uint64_t)time(NULL) << 20) ^ getpid();
	if (nw < 1 || nw > MAXW || seconds < 1) {
		fprintf(stderr, "stress: bad RXE_STRESS_WORKERS or seconds\n");
		return 2;
	}
	rs = seed0;
	printf("# stress: seed %#llx, %d s, %d workers%s (replay: RXE_STRESS_SEED=%#llx RXE_STRESS_SECONDS=%d%s)\n",
	       seed0, seconds, nw, all_ops ? "" : ", no READ of revocable targets",
	       seed0, seconds, all_ops ? "" : " RXE_STRESS_ALL=0");
	fflush(stdout);
	deadline = rt_now() + seconds;

	for (i = 0; i < 2; i++) {
		sweep(dirs[i], &checked);
		canary_write(dirs[i], "stress-canary.a5a5a5a5.1048576",
			     0xa5a5a5a5, 1 << 20);
	}
	checked = 0;
	for (i = 0; i < nw; i++, spawned++)
		pids[i] = spawn(i, rnd(&rs));

	while (rt_now() < deadline - 5) {
		usleep(1000000 + rnd(&rs) % 4000000);
		if (rt_now() >= deadline - 5)
			break;
		i = rnd(&rs) % nw;
		if (rnd(&rs) % 2 == 0) {
			/* kill -9 in the middle of its traffic */
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
			kills++;
			pids[i] = spawn(i, rnd(&rs));
			spawned++;
		}
		/* a worker that died by itself has failed */
		for (i = 0; i < nw; i++)
			if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				fprintf(stderr, "stress: worker %d exited early (status %#x)\n",
					i, status);
				failed++;
				pids[i] = spawn(i, rnd(&rs));
				spawned++;
			}
	}
	for (i = 0; i < nw; i++) {
		double until = deadline + 120;

		while (waitpid(pids[i], &status, WNOHANG) != pids[i]) {
			if (rt_now() > until) {
				fprintf(stderr, "stress: worker %d hangs\n", i);
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &status, 0);
				status = 1;
				break;
			}
			usleep(100000);
		}
		if (status) {
			fprintf(stderr, "stress: worker %d failed (status %#x)\n",
				i, status);
			failed++;
		}
	}
	bad = sweep(dirs[0], &checked) + sweep(dirs[1], &checked);
	printf("# stress: %d workers started, %d killed with SIGKILL, %d failed; %d canary files checked, %d changed\n",
	       spawned, kills, failed, checked, bad);
	if (failed || bad)
		printf("# stress: FAILED (replay: RXE_STRESS_SEED=%#llx RXE_STRESS_SECONDS=%d%s)\n",
		       seed0, seconds, all_ops ? "" : " RXE_STRESS_ALL=0");
	return failed || bad ? 1 : 0;
}
