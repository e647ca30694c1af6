// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection on our registration paths (debug kernel only: it needs
 * CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and CONFIG_FAULT_INJECTION_DEBUG_FS,
 * and skips without them, e.g. on Debian's kernel).
 *
 * Operations: register a revocable MR (anonymous memory, and a plain MR on
 * XFS-DAX, which is always revocable), register an ODP MR and prefetch it,
 * create a revoke event channel, rereg a revocable MR.
 *
 * systematic: for n = 1, 2, ... the n-th slab or page allocation of the
 * operation fails (/proc/thread-self/fail-nth), until the operation makes
 * fewer than n allocations. Each run either succeeds or fails with a clean
 * errno (ENOMEM, or EFAULT/EAGAIN where the API defines them); after each
 * operation's runs the process holds no more RDMA objects than before
 * (rdma resource: one count per operation, as leaks add up and each `rdma`
 * run costs about a second under TCG on the debug kernel) and the operation
 * works again without injection.
 *
 * random: /proc/self/make-it-fail as task filter and a probability, the
 * operations in a loop; the same invariants.
 *
 * Leaks the restrack count cannot see are found by kmemleak and by the
 * module unload after the suite (tools/vm/run --final-checks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"

#define LEN		(64 << 10)
#define MAX_NTH		4000
#define ACCESS		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)
#define FAILSLAB	"/sys/kernel/debug/failslab"
#define FAILPAGE	"/sys/kernel/debug/fail_page_alloc"

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static int knob(const char *attr, const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", attr, name);
	return write_str(path, val);
}

static void kmsg(const char *msg)
{
	write_str("/dev/kmsg", msg);
}

/* Both attributes: fail GFP_KERNEL and order-0 allocations too. */
static int fi_knobs(const char *probability, const char *times)
{
	static const char *const attrs[] = { FAILSLAB, FAILPAGE };
	unsigned int i;
	int ret = 0;

	for (i = 0; i < 2; i++) {
		ret |= knob(attrs[i], "probability", probability);
		ret |= knob(attrs[i], "interval", "1");
		ret |= knob(attrs[i], "times", times);
		ret |= knob(attrs[i], "space", "0");
		ret |= knob(attrs[i], "verbose", "0");
		ret |= knob(attrs[i], "task-filter", "Y");
		ret |= knob(attrs[i], "ignore-gfp-wait", "N");
	}
	ret |= knob(FAILPAGE, "ignore-gfp-highmem", "N");
	ret |= knob(FAILPAGE, "min-order", "0");
	return ret;
}

/* Objects of this process in the device's restrack, or -1. */
static int res_count(void)
{
	char line[512], pid[32];
	int n = 0;
	FILE *f;

	snprintf(pid, sizeof(pid), " pid %d ", getpid());
	f = popen("for r in qp cq mr pd; do rdma resource show $r; done 2>/dev/null", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		strcat(line, " ");
		if (strstr(line, pid))
			n++;
	}
	return pclose(f) == 0 ? n : -1;
}

struct fi {
	struct rt_dev d;
	struct rt_mem mem;
	struct rt_mem dax;
	bool have_dax;
	bool no_fi;		/* kernel without fault injection */
	struct ibv_mr *pre;	/* the MR rereg works on */
	int errs[8];		/* errnos seen, for the log */
	int nerrs;
};

/* One operation: returns 0 or an errno value, cleans up what it made. */
typedef int (*fi_op)(struct fi *f, bool inject);

/* The write itself may fail while the flag is set: retry. */
static int make_it_fail(const char *v)
{
	int i, ret = -EIO;

	for (i = 0; i < 1000 && ret; i++)
		ret = write_str("/proc/self/make-it-fail", v);
	return ret;
}

/*
 * /proc/thread-self/fail-nth, opened once before any fault is armed: an
 * armed fault that the operation did not consume would otherwise fire in
 * the open() that reads it back (seen on the debug kernel: ENOMEM there).
 * Reading and writing the open file allocate nothing.
 */
static int fail_nth_fd = -1;

static int inject_begin(bool inject, unsigned int nth)
{
	char v[16];
	int n;

	if (!inject)
		return 0;
	if (fail_nth_fd < 0) {
		fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
		if (fail_nth_fd < 0)
			return -errno;
	}
	n = snprintf(v, sizeof(v), "%u", nth);
	return pwrite(fail_nth_fd, v, n, 0) == n ? 0 : -EIO;
}

/* Did the injected fault fire? (fail-nth reads back 0 once it did.) */
static int inject_end(void)
{
	char v[16] = "";
	ssize_t n;

	if (fail_nth_fd < 0)
		return -EBADF;
	n = pread(fail_nth_fd, v, sizeof(v) - 1, 0);
	if (n < 0)
		n = 0;
	v[n] = '\0';
	/* disarm: the fault did not fire if the operation allocated less */
	if (pwrite(fail_nth_fd, "0", 1, 0) != 1)
		return -EIO;
	return atoi(v) == 0;
}

static int op_reg_revocable(struct fi *f, bool inject)
{
	struct ibv_mr *mr;

	(void)inject;
	mr = rxer_reg_mr(f->d.pd, f->mem.addr, LEN, ACCESS, RXER_REG_REVOCABLE);
	if (!mr)
		return errno ? errno : EIO;
	return ibv_dereg_mr(mr) ? EBADE : 0;
}

static int op_reg_dax(struct fi *f, bool inject)
{
	struct ibv_mr *mr;

	(void)inject;
	mr = ibv_reg_mr(f->d.pd, f->dax.addr, LEN, ACCESS);
	if (!mr)
		return errno ? errno : EIO;
	return ibv_dereg_mr(mr) ? EBADE : 0;
}

static int op_reg_odp(struct fi *f, bool inject)
{
	struct ibv_sge sge;
	struct ibv_mr *mr;
	int ret;

	(void)inject;
	mr = ibv_reg_mr(f->d.pd, f->mem.addr, LEN,
			ACCESS | IBV_ACCESS_ON_DEMAND);
	if (!mr)
		return errno ? errno : EIO;
	sge.addr = (uintptr_t)f->mem.addr;
	sge.length = LEN;
	sge.lkey = mr->lkey;
	ret = rxer_advise_mr(f->d.pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			     IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	if (ibv_dereg_mr(mr))
		return EBADE;
	return ret;
}

static int op_event_channel(struct fi *f, bool inject)
{
	int fd;

	(void)inject;
	fd = rxer_create_event_channel(f->d.ctx);
	if (fd < 0)
		return errno ? errno : EIO;
	close(fd);
	return 0;
}

static int op_rereg(struct fi *f, bool inject)
{
	(void)inject;
	return rxer_rereg_mr(f->pre, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
			     f->mem.addr, LEN, ACCESS);
}

static bool clean_errno(int e)
{
	return e == ENOMEM || e == EFAULT || e == EAGAIN;
}

FIXTURE(fi) {
	struct fi f;
};

FIXTURE_SETUP(fi)
{
	memset(&self->f, 0, sizeof(self->f));
	self->f.mem.fd = -1;
	self->f.dax.fd = -1;
	if (access(FAILSLAB, F_OK) || access(FAILPAGE, F_OK) ||
	    access("/proc/self/fail-nth", F_OK)) {
		self->f.no_fi = true;
		return;
	}
	ASSERT_EQ(0, fi_knobs("0", "-1"));
	ASSERT_EQ(0, rt_dev_open(&self->f.d));
	ASSERT_EQ(0, rt_mem_map(&self->f.mem, RT_MEM_ANON, LEN));
	memset(self->f.mem.addr, 0x5a, LEN);
	if (getenv("RXE_XFS_DAX") &&
	    rt_mem_map(&self->f.dax, RT_MEM_XFS_DAX, LEN) == 0) {
		memset(self->f.dax.addr, 0x5a, LEN);
		self->f.have_dax = true;
	}
	self->f.pre = rxer_reg_mr(self->f.d.pd, self->f.mem.addr, LEN, ACCESS,
				  RXER_REG_REVOCABLE);
	ASSERT_NE(NULL, self->f.pre) TH_LOG("revocable MR: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fi)
{
	if (self->f.no_fi)
		return;
	make_it_fail("0");
	fi_knobs("0", "-1");
	if (self->f.pre)
		ibv_dereg_mr(self->f.pre);
	if (self->f.have_dax)
		rt_mem_unmap(&self->f.dax);
	if (self->f.mem.addr)
		rt_mem_unmap(&self->f.mem);
	if (self->f.d.ctx)
		rt_dev_close(&self->f.d);
}

static const struct {
	const char *name;
	fi_op op;
	bool dax;
} ops[] = {
	{ "reg_revocable", op_reg_revocable, false },
	{ "reg_dax", op_reg_dax, true },
	{ "reg_odp", op_reg_odp, false },
	{ "event_channel", op_event_channel, false },
	{ "rereg", op_rereg, false },
};

/* Every allocation of every operation fails once, in turn. */
TEST_F_TIMEOUT(fi, systematic, 1800)
{
	unsigned int i, n, failed;
	int base, ret, fired;

	if (self->f.no_fi)
		SKIP(return, "no failslab/fail_page_alloc/fail-nth in this kernel (debug tier only)");
	base = res_count();
	ASSERT_LE(0, base) TH_LOG("rdma resource show failed");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (ops[i].dax && !self->f.have_dax) {
			TH_LOG("%s: no XFS-DAX mount, not run", ops[i].name);
			continue;
		}
		failed = 0;
		kmsg("rxe-revoke: fault injection begin");
		for (n = 1; n <= MAX_NTH; n++) {
			ASSERT_EQ(0, inject_begin(true, n));
			ret = ops[i].op(&self->f, true);
			fired = inject_end();
			ASSERT_LE(0, fired);
			if (ret) {
				failed++;
				ASSERT_TRUE(clean_errno(ret))
					TH_LOG("%s, fault %u: errno %d (%s)",
					       ops[i].name, n, ret, strerror(ret));
			}
			/* the MR rereg failed on stays revoked: rereg it */
			if (ops[i].op == op_rereg && ret)
				ASSERT_EQ(0, op_rereg(&self->f, false));
			if (!fired)
				break;
		}
		kmsg("rxe-revoke: fault injection end");
		ASSERT_GE(MAX_NTH, n) TH_LOG("%s: > %d allocations?", ops[i].name, MAX_NTH);
		/* leaks add up: one count per operation finds any of them */
		ASSERT_EQ(base, res_count())
			TH_LOG("%s: RDMA objects left behind by a fault in 1..%u",
			       ops[i].name, n);
		/* the operation fails under injection at all, and works again */
		EXPECT_LT(0, failed) TH_LOG("%s: no injected fault made it fail", ops[i].name);
		ASSERT_EQ(0, ops[i].op(&self->f, false));
		TH_LOG("%s: %u allocation points, %u failed cleanly", ops[i].name,
		       n - 1, failed);
	}
}

/* make-it-fail + probability: random failures over many runs. */
TEST_F_TIMEOUT(fi, random, 1800)
{
	unsigned int i, k, failed = 0, runs;
	int base, ret;

	if (self->f.no_fi)
		SKIP(return, "no failslab/fail_page_alloc/fail-nth in this kernel (debug tier only)");
	runs = atoi(rt_env("RXE_FAULTINJ_RUNS", "40"));
	base = res_count();
	ASSERT_LE(0, base);
	srandom(atoi(rt_env("RXE_FAULTINJ_SEED", "1")));
	ASSERT_EQ(0, fi_knobs("10", "-1"));
	kmsg("rxe-revoke: fault injection begin");
	for (k = 0; k < runs; k++) {
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			if (ops[i].dax && !self->f.have_dax)
				continue;
			ASSERT_EQ(0, make_it_fail("1"));
			ret = ops[i].op(&self->f, true);
			ASSERT_EQ(0, make_it_fail("0"));
			if (ret) {
				failed++;
				ASSERT_TRUE(clean_errno(ret))
					TH_LOG("%s, run %u: errno %d (%s)",
					       ops[i].name, k, ret, strerror(ret));
			}
			if (ops[i].op == op_rereg && ret)
				ASSERT_EQ(0, op_rereg(&self->f, false));
		}
		if (k % 10 == 9 || k == runs - 1)
			ASSERT_EQ(base, res_count())
				TH_LOG("runs %u..%u: RDMA objects left behind",
				       k - k % 10, k);
	}
	ASSERT_EQ(0, fi_knobs("0", "-1"));
	kmsg("rxe-revoke: fault injection end");
	TH_LOG("%u runs, %u failed cleanly", runs, failed);
	EXPECT_LT(0, failed);
}

TEST_HARNESS_MAIN
