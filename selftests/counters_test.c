// SPDX-License-Identifier: GPL-2.0
/*
 * The rxe-revoke hw counters (rdma statistic): each event moves its counter
 * by exactly the expected amount and leaves every other one alone.
 *
 *   revoke_truncate  truncate / hole punch of a DAX file under a revocable MR
 *   revoke_unmap     munmap of a revocable MR's range
 *   revoke_explicit  the owner revokes (also a rereg of an active MR)
 *   revoke_exit      the owner exits with the MR registered
 *   revoke_admin     an administrator revokes (part of the admin tool's
 *                    tests); here it must stay put
 *   rereg_restores   a successful re-registration
 *   odp_page_faults, odp_pages_faulted, odp_invalidations  ODP traffic
 *
 * The tests run one after the other in an otherwise idle VM, so nothing
 * else moves the counters meanwhile.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"

#define LEN	(1 << 20)
#define PAGE	4096
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

enum { C_TRUNCATE, C_UNMAP, C_EXPLICIT, C_ADMIN, C_EXIT, C_REREG,
       C_FAULTS, C_PAGES, C_INVAL, C_NUM };

static const char *const names[C_NUM] = {
	[C_TRUNCATE] = "revoke_truncate",
	[C_UNMAP] = "revoke_unmap",
	[C_EXPLICIT] = "revoke_explicit",
	[C_ADMIN] = "revoke_admin",
	[C_EXIT] = "revoke_exit",
	[C_REREG] = "rereg_restores",
	[C_FAULTS] = "odp_page_faults",
	[C_PAGES] = "odp_pages_faulted",
	[C_INVAL] = "odp_invalidations",
};

struct snap {
	long long v[C_NUM];
};

static void snap(struct __test_metadata *_metadata, struct snap *s)
{
	int i;

	for (i = 0; i < C_NUM; i++) {
		s->v[i] = rt_counter(names[i]);
		ASSERT_LE(0, s->v[i]) TH_LOG("counter %s missing", names[i]);
	}
}

/* Every counter moved by want[i] since before. */
static void expect_deltas(struct __test_metadata *_metadata,
			  const struct snap *before, const long long *want)
{
	struct snap after;
	int i;

	snap(_metadata, &after);
	for (i = 0; i < C_NUM; i++) {
		long long got = after.v[i] - before->v[i], w = want[i];
		const char *name = names[i];

		EXPECT_EQ(w, got)
			TH_LOG("%s moved by %lld, expected %lld", name, got, w);
	}
}

FIXTURE(cnt) {
	struct rt_dev d;
	struct rt_mem m;
	struct ibv_mr *mr;
	struct snap before;
};

FIXTURE_SETUP(cnt)
{
	ASSERT_EQ(0, rt_dev_open(&self->d));
	ASSERT_EQ(0, rt_mem_map(&self->m, RT_MEM_XFS_DAX, LEN));
	memset(self->m.addr, 1, LEN);
	/* fsdax: a plain registration is revocable */
	self->mr = ibv_reg_mr(self->d.pd, self->m.addr, LEN, ACCESS);
	ASSERT_NE(NULL, self->mr) TH_LOG("reg: %s", strerror(errno));
	snap(_metadata, &self->before);
}

FIXTURE_TEARDOWN(cnt)
{
	if (self->mr)
		ibv_dereg_mr(self->mr);
	rt_mem_unmap(&self->m);
	rt_dev_close(&self->d);
}

TEST_F(cnt, truncate)
{
	long long want[C_NUM] = { [C_TRUNCATE] = 1 };

	ASSERT_EQ(0, ftruncate(self->m.fd, 0));
	expect_deltas(_metadata, &self->before, want);
	/* a second truncate finds the MR revoked already */
	ASSERT_EQ(0, ftruncate(self->m.fd, LEN));
	ASSERT_EQ(0, ftruncate(self->m.fd, 0));
	expect_deltas(_metadata, &self->before, want);
}

TEST_F(cnt, punch_hole)
{
	long long want[C_NUM] = { [C_TRUNCATE] = 1 };

	ASSERT_EQ(0, rt_mem_discard(&self->m, PAGE, PAGE));
	expect_deltas(_metadata, &self->before, want);
}

TEST_F(cnt, munmap)
{
	long long want[C_NUM] = { [C_UNMAP] = 1 };

	ASSERT_EQ(0, munmap(self->m.addr, LEN));
	self->m.addr = NULL;
	expect_deltas(_metadata, &self->before, want);
}

TEST_F(cnt, explicit)
{
	long long want[C_NUM] = { [C_EXPLICIT] = 1 };

	ASSERT_EQ(0, rxer_revoke_mr(self->mr));
	EXPECT_EQ(EALREADY, rxer_revoke_mr(self->mr));
	expect_deltas(_metadata, &self->before, want);
}

/* A revoked MR re-registered: one restore, no further revoke. */
TEST_F(cnt, rereg_revoked)
{
	long long want[C_NUM] = { [C_EXPLICIT] = 1, [C_REREG] = 1 };

	ASSERT_EQ(0, rxer_revoke_mr(self->mr));
	ASSERT_EQ(0, rxer_rereg_mr(self->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
				   NULL, self->m.addr, LEN, 0));
	expect_deltas(_metadata, &self->before, want);
}

/* An active MR re-registered: rereg revokes it (explicit), then restores. */
TEST_F(cnt, rereg_active)
{
	long long want[C_NUM] = { [C_EXPLICIT] = 1, [C_REREG] = 2 };

	ASSERT_EQ(0, rxer_rereg_mr(self->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
				   NULL, self->m.addr, LEN, 0));
	/* the restored MR is active: a second rereg revokes it again */
	want[C_EXPLICIT] = 2;
	ASSERT_EQ(0, rxer_rereg_mr(self->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
				   NULL, self->m.addr, LEN, 0));
	expect_deltas(_metadata, &self->before, want);
}

/* A failed rereg restores nothing. */
TEST_F(cnt, rereg_failed)
{
	long long want[C_NUM] = { [C_EXPLICIT] = 1 };
	void *hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_EQ(0, munmap(hole, PAGE));
	EXPECT_NE(0, rxer_rereg_mr(self->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
				   NULL, hole, PAGE, 0));
	expect_deltas(_metadata, &self->before, want);
}

/* What keeps the pages, and deregistration, revoke nothing. */
TEST_F(cnt, no_revoke)
{
	long long want[C_NUM] = {};

	ASSERT_EQ(0, msync(self->m.addr, LEN, MS_SYNC));
	ASSERT_EQ(0, fsync(self->m.fd));
	ASSERT_EQ(0, mprotect(self->m.addr, LEN, PROT_READ));
	ASSERT_EQ(0, mprotect(self->m.addr, LEN, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, ibv_dereg_mr(self->mr));
	self->mr = NULL;
	expect_deltas(_metadata, &self->before, want);
}

/* The owner exits with its MR registered: one exit revoke. */
TEST_F(cnt, exit)
{
	long long want[C_NUM] = { [C_EXIT] = 1 };
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rt_dev d;
		struct ibv_mr *mr;

		if (rt_dev_open(&d))
			_exit(2);
		mr = ibv_reg_mr(d.pd, self->m.addr, LEN, ACCESS);
		_exit(mr ? 0 : 3);	/* no dereg, no close */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	expect_deltas(_metadata, &self->before, want);
}

/*
 * ODP: a first WRITE of one page into a cold ODP MR faults that page in
 * once; MADV_DONTNEED invalidates it once; no revoke counter moves.
 */
TEST(odp)
{
	long long want[C_NUM] = { [C_FAULTS] = 1, [C_PAGES] = 1 };
	struct ibv_mr *src_mr, *odp_mr;
	struct rt_mem src, tgt;
	struct rt_qp a, b;
	struct snap before;
	struct rt_dev d;
	struct ibv_wc wc;

	ASSERT_EQ(0, rt_dev_open(&d));
	ASSERT_EQ(0, rt_qp_create(&d, &a, 16));
	ASSERT_EQ(0, rt_qp_create(&d, &b, 16));
	ASSERT_EQ(0, rt_rc_connect(&d, &a, &b));
	ASSERT_EQ(0, rt_mem_map(&src, RT_MEM_ANON, LEN));
	ASSERT_EQ(0, rt_mem_map(&tgt, RT_MEM_ANON, LEN));
	rt_fill(src.addr, PAGE, 3);
	src_mr = ibv_reg_mr(d.pd, src.addr, LEN, ACCESS);
	ASSERT_NE(NULL, src_mr);
	odp_mr = ibv_reg_mr(d.pd, tgt.addr, LEN,
			    ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, odp_mr) TH_LOG("ODP reg: %s", strerror(errno));

	snap(_metadata, &before);
	ASSERT_EQ(0, rt_post_rdma(&a, IBV_WR_RDMA_WRITE, src_mr, src.addr,
				  PAGE, (uintptr_t)tgt.addr, odp_mr->rkey, 1));
	ASSERT_EQ(0, rt_poll(a.cq, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);
	EXPECT_EQ(-1, rt_check(tgt.addr, PAGE, 3));
	expect_deltas(_metadata, &before, want);

	want[C_INVAL] = 1;
	ASSERT_EQ(0, madvise(tgt.addr, PAGE, MADV_DONTNEED));
	expect_deltas(_metadata, &before, want);

	ibv_dereg_mr(odp_mr);
	ibv_dereg_mr(src_mr);
	rt_qp_destroy(&a);
	rt_qp_destroy(&b);
	rt_mem_unmap(&src);
	rt_mem_unmap(&tgt);
	rt_dev_close(&d);
}

TEST_HARNESS_MAIN
