// SPDX-License-Identifier: GPL-2.0
/*
 * On-demand-paging MRs: every RC operation on every kind of memory, pages
 * faulted on first touch on both sides, invalidation (MADV_DONTNEED,
 * MADV_REMOVE, hole punch, munmap, truncate) with and without traffic,
 * re-faults that see the new contents, and clean errors where no page can
 * be had.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"

#define LEN		(256 << 10)
#define PAGE		4096
#define ODP_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC | \
			 IBV_ACCESS_ON_DEMAND)

struct odp {
	struct rt_dev d;	/* the responder's device */
	struct rt_dev p;	/* the requester's: rt_peer_open() */
	struct rt_qp a, b;	/* a: requester on p, b: responder on d */
	struct rt_mem tgt;	/* the responder's memory, of the variant's kind */
	struct rt_mem loc;	/* the requester's memory, anonymous */
	struct ibv_mr *tgt_mr, *loc_mr;
};

static void odp_open(struct __test_metadata *_metadata, struct odp *o,
		     enum rt_mem_kind kind)
{
	ASSERT_EQ(0, rt_dev_open(&o->d));
	ASSERT_EQ(0, rt_peer_open(&o->d, &o->p));
	ASSERT_EQ(0, rt_qp_create(&o->p, &o->a, 64));
	ASSERT_EQ(0, rt_qp_create(&o->d, &o->b, 64));
	ASSERT_EQ(0, rt_rc_connect2(&o->p, &o->a, &o->d, &o->b));
	ASSERT_EQ(0, rt_mem_map(&o->tgt, kind, LEN));
	ASSERT_EQ(0, rt_mem_map(&o->loc, RT_MEM_ANON, LEN));
	o->tgt_mr = ibv_reg_mr(o->d.pd, o->tgt.addr, LEN, ODP_ACCESS);
	ASSERT_NE(NULL, o->tgt_mr) TH_LOG("reg_mr: %s", strerror(errno));
	o->loc_mr = ibv_reg_mr(o->p.pd, o->loc.addr, LEN, ODP_ACCESS);
	ASSERT_NE(NULL, o->loc_mr) TH_LOG("reg_mr: %s", strerror(errno));
}

static void odp_close(struct odp *o)
{
	rt_qp_destroy(&o->a);
	rt_qp_destroy(&o->b);
	if (o->tgt_mr)
		ibv_dereg_mr(o->tgt_mr);
	if (o->loc_mr)
		ibv_dereg_mr(o->loc_mr);
	rt_mem_unmap(&o->tgt);
	rt_mem_unmap(&o->loc);
	rt_dev_close(&o->p);
	rt_dev_close(&o->d);
}

/* New QPs: after an error the old ones are in the error state. */
static void odp_new_qps(struct __test_metadata *_metadata, struct odp *o)
{
	rt_qp_destroy(&o->a);
	rt_qp_destroy(&o->b);
	ASSERT_EQ(0, rt_qp_create(&o->p, &o->a, 64));
	ASSERT_EQ(0, rt_qp_create(&o->d, &o->b, 64));
	ASSERT_EQ(0, rt_rc_connect2(&o->p, &o->a, &o->d, &o->b));
}

/* Post one WRITE or READ between loc and tgt and return its status. */
static int odp_rdma(struct odp *o, enum ibv_wr_opcode op, size_t off,
		    size_t len, enum ibv_wc_status *status)
{
	struct ibv_wc wc;
	int ret;

	ret = rt_post_rdma(&o->a, op, o->loc_mr, (char *)o->loc.addr + off,
			   len, (uintptr_t)o->tgt_mr->addr + off, o->tgt_mr->rkey,
			   op);
	if (!ret)
		ret = rt_poll(o->a.cq, &wc);
	if (!ret)
		*status = wc.status;
	return ret;
}

#define EXPECT_RDMA(o, op, off, len, want) do {				\
	enum ibv_wc_status __st = IBV_WC_GENERAL_ERR;			\
	ASSERT_EQ(0, odp_rdma(o, op, off, len, &__st));			\
	EXPECT_TRUE(rt_refused(__st, want)) TH_LOG("%s: %s", #op,	\
						ibv_wc_status_str(__st));	\
} while (0)

FIXTURE(odp) {
	struct odp o;
};

FIXTURE_VARIANT(odp) {
	enum rt_mem_kind kind;
};

FIXTURE_VARIANT_ADD(odp, anon) { .kind = RT_MEM_ANON };
FIXTURE_VARIANT_ADD(odp, shm) { .kind = RT_MEM_SHM };
FIXTURE_VARIANT_ADD(odp, pagecache) { .kind = RT_MEM_PAGECACHE };
FIXTURE_VARIANT_ADD(odp, xfs_dax) { .kind = RT_MEM_XFS_DAX };
FIXTURE_VARIANT_ADD(odp, ext4_dax) { .kind = RT_MEM_EXT4_DAX };

FIXTURE_SETUP(odp)
{
	odp_open(_metadata, &self->o, variant->kind);
}

FIXTURE_TEARDOWN(odp)
{
	odp_close(&self->o);
}

/* WRITE into never-touched target pages: the responder faults them in. */
TEST_F(odp, write_first_touch)
{
	struct odp *o = &self->o;
	long long faults = rt_counter("odp_page_faults");
	uint8_t *back;

	ASSERT_LE(0, faults) TH_LOG("no odp_page_faults counter");
	rt_fill(o->loc.addr, LEN, 11);
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_EQ(-1, rt_check(o->tgt.addr, LEN, 11));
	if (o->tgt.fd >= 0) {
		/* and it is in the file, not just in some page */
		back = malloc(LEN);
		ASSERT_NE(NULL, back);
		ASSERT_EQ(LEN, pread(o->tgt.fd, back, LEN, 0));
		EXPECT_EQ(-1, rt_check(back, LEN, 11));
		free(back);
	}
	EXPECT_LT(faults, rt_counter("odp_page_faults"));
}

/* READ into a never-touched local buffer: the completer faults it in. */
TEST_F(odp, read_first_touch)
{
	struct odp *o = &self->o;

	rt_fill(o->tgt.addr, LEN, 12);
	EXPECT_RDMA(o, IBV_WR_RDMA_READ, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_EQ(-1, rt_check(o->loc.addr, LEN, 12));
}

TEST_F(odp, send_recv)
{
	struct odp *o = &self->o;
	struct ibv_wc wc;
	size_t len = 3 * PAGE + 5;

	rt_fill(o->loc.addr, len, 13);
	ASSERT_EQ(0, rt_post_recv(&o->b, o->tgt_mr, (char *)o->tgt.addr + 7,
				  len, 1));
	ASSERT_EQ(0, rt_post_rdma(&o->a, IBV_WR_SEND, o->loc_mr, o->loc.addr,
				  len, 0, 0, 2));
	ASSERT_EQ(0, rt_poll(o->a.cq, &wc));
	EXPECT_EQ(IBV_WC_SUCCESS, wc.status);
	ASSERT_EQ(0, rt_poll(o->b.cq, &wc));
	EXPECT_EQ(IBV_WC_SUCCESS, wc.status);
	EXPECT_EQ(len, wc.byte_len);
	EXPECT_EQ(-1, rt_check((char *)o->tgt.addr + 7, len, 13));
}

TEST_F(odp, atomics)
{
	struct odp *o = &self->o;
	uint64_t *remote = (uint64_t *)((char *)o->tgt.addr + 5 * PAGE + 16);
	uint64_t *result = o->loc.addr;
	struct ibv_wc wc;

	/* The target page is not touched before the FETCH_ADD. */
	ASSERT_EQ(0, rt_post_atomic(&o->a, IBV_WR_ATOMIC_FETCH_AND_ADD,
				    o->loc_mr, result, (uintptr_t)remote,
				    o->tgt_mr->rkey, 5, 0, 1));
	ASSERT_EQ(0, rt_poll(o->a.cq, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);
	EXPECT_EQ(0, *result);
	EXPECT_EQ(5, *remote);
	ASSERT_EQ(0, rt_post_atomic(&o->a, IBV_WR_ATOMIC_CMP_AND_SWP,
				    o->loc_mr, result, (uintptr_t)remote,
				    o->tgt_mr->rkey, 5, 77, 2));
	ASSERT_EQ(0, rt_poll(o->a.cq, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);
	EXPECT_EQ(5, *result);
	EXPECT_EQ(77, *remote);
}

/*
 * After the pages are discarded, a READ must see the new contents (zeroes),
 * not the old pages; after the CPU writes again, the new data.
 */
TEST_F(odp, refault_sees_new_contents)
{
	struct odp *o = &self->o;
	long long inval = rt_counter("odp_invalidations");
	static uint8_t want[LEN];
	uint8_t *p = o->loc.addr;
	size_t i;

	rt_fill(o->loc.addr, LEN, 14);
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, LEN, IBV_WC_SUCCESS);
	ASSERT_EQ(-1, rt_check(o->tgt.addr, LEN, 14));

	ASSERT_EQ(0, rt_mem_discard(&o->tgt, PAGE, LEN - 2 * PAGE));
	EXPECT_LT(inval, rt_counter("odp_invalidations"));
	memset(o->loc.addr, 0xa5, LEN);
	EXPECT_RDMA(o, IBV_WR_RDMA_READ, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_EQ(-1, rt_check(p, PAGE, 14));
	for (i = PAGE; i < LEN - PAGE; i++)
		if (p[i])
			break;
	EXPECT_EQ(LEN - PAGE, i) TH_LOG("stale byte at %zu", i);
	/* the last page was not discarded: still the pattern */
	rt_fill(want, LEN, 14);
	EXPECT_EQ(0, memcmp(p + LEN - PAGE, want + LEN - PAGE, PAGE));

	rt_fill(o->tgt.addr, LEN, 15);
	EXPECT_RDMA(o, IBV_WR_RDMA_READ, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_EQ(-1, rt_check(o->loc.addr, LEN, 15));
}

/* After munmap the MR has no pages to fault: remote access error. */
TEST_F(odp, munmap_then_access_fails)
{
	struct odp *o = &self->o;

	rt_fill(o->loc.addr, LEN, 16);
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, PAGE, IBV_WC_SUCCESS);
	ASSERT_EQ(0, munmap(o->tgt.addr, LEN));
	o->tgt.addr = NULL;
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, PAGE, IBV_WC_REM_ACCESS_ERR);
}

/*
 * Local errors: a requester whose own ODP buffer is gone completes with a
 * local protection error (WRITE source, READ destination).
 */
TEST_F(odp, local_buffer_gone_is_loc_prot_err)
{
	struct odp *o = &self->o;
	enum ibv_wr_opcode op = IBV_WR_RDMA_WRITE;
	int i;

	for (i = 0; i < 2; i++, op = IBV_WR_RDMA_READ) {
		odp_new_qps(_metadata, o);
		if (i == 0) {
			EXPECT_RDMA(o, op, 0, PAGE, IBV_WC_SUCCESS);
			ASSERT_EQ(0, munmap(o->loc.addr, LEN));
			o->loc.addr = NULL;
		}
		/* loc_mr->addr still names the range; its pages are gone */
		{
			struct ibv_wc wc;

			ASSERT_EQ(0, rt_post_rdma(&o->a, op, o->loc_mr,
						  o->loc_mr->addr, PAGE,
						  (uintptr_t)o->tgt_mr->addr,
						  o->tgt_mr->rkey, 3));
			ASSERT_EQ(0, rt_poll(o->a.cq, &wc));
			EXPECT_EQ(IBV_WC_LOC_PROT_ERR, wc.status)
				TH_LOG("op %d: %s", op,
				       ibv_wc_status_str(wc.status));
		}
	}
}

/*
 * fork() makes the parent's anonymous pages copy-on-write; the parent's
 * next CPU write moves it to a new page, and the ODP MR must follow.
 */
TEST(fork_cow_is_followed)
{
	struct odp od, *o = &od;
	int pipefd[2], status;
	pid_t pid;
	char c;

	memset(o, 0, sizeof(*o));
	odp_open(_metadata, o, RT_MEM_ANON);
	rt_fill(o->loc.addr, LEN, 23);
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, LEN, IBV_WC_SUCCESS);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* hold the old pages until the parent is done */
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) < 0)
			_exit(1);
		_exit(rt_check(o->tgt.addr, LEN, 23) == -1 ? 0 : 2);
	}
	close(pipefd[0]);
	rt_fill(o->tgt.addr, LEN, 24);	/* COW: new pages for the parent */
	EXPECT_RDMA(o, IBV_WR_RDMA_READ, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_EQ(-1, rt_check(o->loc.addr, LEN, 24));
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* the child still saw the data from before the fork */
	EXPECT_EQ(0, WEXITSTATUS(status));
	odp_close(o);
}

struct discarder {
	struct rt_mem *m;
	volatile int stop;
	volatile int done;	/* WRs completed by the traffic */
	int rounds;
	int err;
};

/*
 * Discard the target, wait 20 ms and for one more WR of the traffic to
 * complete, and again. The wait for progress matters on slow guests: in
 * 6.1 ib_umem_odp_map_dma_and_lock() starts its fault over whenever the
 * notifier sequence has moved, without bound, so punches that come faster
 * than one fault completes (a DAX fault takes milliseconds on the debug
 * kernel under TCG, more when the host is busy) would starve the traffic
 * and the test would measure that livelock of the core instead of rxe.
 * The punches still land in the middle of WRs: a WR of 256 KiB is many
 * packets and faults.
 */
static void *discard_loop(void *arg)
{
	struct discarder *d = arg;
	int seen;

	while (!d->stop) {
		seen = d->done;
		d->err = rt_mem_discard(d->m, 0, d->m->len);
		if (d->err)
			break;
		d->rounds++;
		usleep(20000);
		while (!d->stop && d->done == seen)
			usleep(1000);
	}
	return NULL;
}

/*
 * Invalidate the target over and over while WRITEs and READs run: every WR
 * succeeds (ODP re-faults), and the last WRITE's data is what stays.
 */
TEST_F(odp, invalidate_during_traffic)
{
	struct odp *o = &self->o;
	struct discarder d = { .m = &o->tgt };
	pthread_t t;
	int i;

	rt_fill(o->loc.addr, LEN, 17);
	ASSERT_EQ(0, pthread_create(&t, NULL, discard_loop, &d));
	for (i = 0; i < 40; i++) {
		EXPECT_RDMA(o, i & 1 ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
			    0, LEN, IBV_WC_SUCCESS);
		d.done++;
		if (i & 1) /* the READ clobbered loc: restore the pattern */
			rt_fill(o->loc.addr, LEN, 17);
	}
	d.stop = 1;
	pthread_join(t, NULL);
	EXPECT_EQ(0, d.err);
	EXPECT_LT(0, d.rounds);
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_EQ(-1, rt_check(o->tgt.addr, LEN, 17));
}

static int prefetch(struct ibv_mr *mr, enum ibv_advise_mr_advice advice,
		    uint32_t flags, size_t off, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)mr->addr + off,
		.length = (uint32_t)len,
		.lkey = mr->lkey,
	};

	return rxer_advise_mr(mr->pd, advice, flags, &sge, 1);
}

/*
 * A synchronous PREFETCH_WRITE leaves nothing for the data path to fault,
 * unless the mm invalidated the range in between: writeback of a
 * page-cache file write-protects its pages (page_mkclean()), and the
 * WRITE must then fault them again. A round that saw a notifier callback
 * (odp_invalidations) proves nothing and is repeated, up to 5 times.
 */
TEST_F(odp, prefetch_write_sync)
{
	struct odp *o = &self->o;
	long long pf, faults, inval;
	int round;

	rt_fill(o->loc.addr, LEN, 20);
	for (round = 0; round < 5; round++) {
		pf = rt_counter("odp_prefetches");
		inval = rt_counter("odp_invalidations");
		ASSERT_EQ(0, prefetch(o->loc_mr, IBV_ADVISE_MR_ADVICE_PREFETCH,
				      0x1, 0, LEN));
		ASSERT_EQ(0, prefetch(o->tgt_mr,
				      IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				      IBV_ADVISE_MR_FLAG_FLUSH, 0, LEN));
		EXPECT_EQ(pf + 2, rt_counter("odp_prefetches"));
		faults = rt_counter("odp_page_faults");
		EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, LEN, IBV_WC_SUCCESS);
		faults = rt_counter("odp_page_faults") - faults;
		if (rt_counter("odp_invalidations") == inval)
			break;
		TH_LOG("round %d: invalidated meanwhile, %lld faults", round,
		       faults);
	}
	ASSERT_LT(round, 5) TH_LOG("every round was invalidated");
	EXPECT_EQ(0, faults);
	EXPECT_EQ(-1, rt_check(o->tgt.addr, LEN, 20));
}

/* An asynchronous PREFETCH returns at once and completes later. */
TEST_F(odp, prefetch_async)
{
	struct odp *o = &self->o;
	long long pf = rt_counter("odp_prefetches");
	long long faults;
	int i;

	rt_fill(o->tgt.addr, LEN, 21);
	ASSERT_EQ(0, prefetch(o->tgt_mr, IBV_ADVISE_MR_ADVICE_PREFETCH, 0,
			      0, LEN));
	ASSERT_EQ(0, prefetch(o->loc_mr, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			      0, 0, LEN));
	for (i = 0; i < 300 && rt_counter("odp_prefetches") < pf + 2; i++)
		usleep(100000);
	ASSERT_EQ(pf + 2, rt_counter("odp_prefetches"));
	faults = rt_counter("odp_page_faults");
	EXPECT_RDMA(o, IBV_WR_RDMA_READ, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_EQ(faults, rt_counter("odp_page_faults"));
	EXPECT_EQ(-1, rt_check(o->loc.addr, LEN, 21));
}

/* PREFETCH_NO_FAULT maps what is present and faults nothing in. */
TEST_F(odp, prefetch_no_fault)
{
	struct odp *o = &self->o;
	long long pages = rt_counter("odp_pages_faulted");
	long long faults;

	ASSERT_EQ(0, prefetch(o->tgt_mr, IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT,
			      IBV_ADVISE_MR_FLAG_FLUSH, 0, LEN));
	EXPECT_EQ(pages, rt_counter("odp_pages_faulted"));
	/* the target was never touched: the WRITE still has to fault */
	rt_fill(o->loc.addr, LEN, 22);
	faults = rt_counter("odp_page_faults");
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_LT(faults, rt_counter("odp_page_faults"));
	EXPECT_EQ(-1, rt_check(o->tgt.addr, LEN, 22));
}

/* Bad prefetch arguments get clean errnos. */
TEST(prefetch_bad_input)
{
	struct ibv_mr *odp_mr, *pinned_mr;
	struct ibv_sge sge;
	struct rt_dev d;
	void *buf;

	ASSERT_EQ(0, rt_dev_open(&d));
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	odp_mr = ibv_reg_mr(d.pd, buf, LEN / 2, ODP_ACCESS);
	ASSERT_NE(NULL, odp_mr);
	pinned_mr = ibv_reg_mr(d.pd, (char *)buf + LEN / 2, LEN / 2,
			       IBV_ACCESS_LOCAL_WRITE);
	ASSERT_NE(NULL, pinned_mr);

	EXPECT_EQ(EINVAL, prefetch(pinned_mr, IBV_ADVISE_MR_ADVICE_PREFETCH,
				   IBV_ADVISE_MR_FLAG_FLUSH, 0, PAGE));
	EXPECT_EQ(EFAULT, prefetch(odp_mr, IBV_ADVISE_MR_ADVICE_PREFETCH,
				   IBV_ADVISE_MR_FLAG_FLUSH, LEN / 2 - 8, 16));
	EXPECT_EQ(EOPNOTSUPP, prefetch(odp_mr, 99, IBV_ADVISE_MR_FLAG_FLUSH,
				       0, PAGE));
	EXPECT_EQ(EINVAL, prefetch(odp_mr, IBV_ADVISE_MR_ADVICE_PREFETCH,
				   0x80, 0, PAGE));
	sge = (struct ibv_sge){ (uintptr_t)buf, PAGE, odp_mr->lkey ^ 0xff00 };
	EXPECT_EQ(ENOENT, rxer_advise_mr(d.pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					 IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1));
	EXPECT_EQ(EINVAL, rxer_advise_mr(d.pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					 0, &sge, 0));
	/* still works after all that */
	EXPECT_EQ(0, prefetch(odp_mr, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			      IBV_ADVISE_MR_FLAG_FLUSH, 0, LEN / 2));
	EXPECT_EQ(0, ibv_dereg_mr(odp_mr));
	EXPECT_EQ(0, ibv_dereg_mr(pinned_mr));
	munmap(buf, LEN);
	rt_dev_close(&d);
}

/* Files only: truncate below the MR, access beyond EOF, re-extend. */
FIXTURE(odp_file) {
	struct odp o;
};

FIXTURE_VARIANT(odp_file) {
	enum rt_mem_kind kind;
};

FIXTURE_VARIANT_ADD(odp_file, pagecache) { .kind = RT_MEM_PAGECACHE };
FIXTURE_VARIANT_ADD(odp_file, xfs_dax) { .kind = RT_MEM_XFS_DAX };
FIXTURE_VARIANT_ADD(odp_file, ext4_dax) { .kind = RT_MEM_EXT4_DAX };

FIXTURE_SETUP(odp_file)
{
	odp_open(_metadata, &self->o, variant->kind);
}

FIXTURE_TEARDOWN(odp_file)
{
	odp_close(&self->o);
}

TEST_F(odp_file, access_beyond_eof_fails_cleanly)
{
	struct odp *o = &self->o;

	rt_fill(o->loc.addr, LEN, 18);
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, LEN, IBV_WC_SUCCESS);
	ASSERT_EQ(0, ftruncate(o->tgt.fd, LEN / 2));

	/* below EOF still works */
	EXPECT_RDMA(o, IBV_WR_RDMA_READ, 0, PAGE, IBV_WC_SUCCESS);
	EXPECT_EQ(-1, rt_check(o->loc.addr, PAGE, 18));
	/* beyond EOF: remote access error, the QP goes to error */
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, LEN / 2, PAGE,
		    IBV_WC_REM_ACCESS_ERR);
	/* a synchronous prefetch beyond EOF fails too */
	EXPECT_EQ(EFAULT, prefetch(o->tgt_mr, IBV_ADVISE_MR_ADVICE_PREFETCH,
				   IBV_ADVISE_MR_FLAG_FLUSH, LEN / 2, PAGE));

	/* re-extend the file: new QPs, the same MR works again */
	ASSERT_EQ(0, ftruncate(o->tgt.fd, LEN));
	odp_new_qps(_metadata, o);
	rt_fill(o->loc.addr, LEN, 19);
	EXPECT_RDMA(o, IBV_WR_RDMA_WRITE, 0, LEN, IBV_WC_SUCCESS);
	EXPECT_EQ(-1, rt_check(o->tgt.addr, LEN, 19));
}

#define HUGE_LEN	(4 << 20)
#define PMD_SIZE	(2 << 20)

/* A 2 MiB-aligned mapping of len bytes of fd (or anonymous if fd < 0). */
static void *map_aligned(size_t len, int fd)
{
	char *raw = mmap(NULL, len + PMD_SIZE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	if (raw == MAP_FAILED)
		return MAP_FAILED;
	p = (char *)(((uintptr_t)raw + PMD_SIZE - 1) & ~(uintptr_t)(PMD_SIZE - 1));
	p = mmap(p, len, PROT_READ | PROT_WRITE, MAP_FIXED |
		 (fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED), fd, 0);
	return p;
}

/* kB of a /proc/self/smaps field summed over the VMAs inside [p, p + len). */
static long smaps_kb(void *p, size_t len, const char *field)
{
	unsigned long lo, hi, a = (uintptr_t)p;
	char line[256];
	long sum = 0, v;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = lo >= a && hi <= a + len;
		else if (in && !strncmp(line, field, strlen(field)) &&
			 sscanf(line + strlen(field), ": %ld", &v) == 1)
			sum += v;
	}
	fclose(f);
	return sum;
}

/* Round trip through an ODP MR over [p, p + len); then split a huge page. */
static void huge_round_trip(struct __test_metadata *_metadata, void *p,
			    size_t len, bool discard_ok, int fd)
{
	struct rt_dev d;
	struct rt_qp a, b;
	struct ibv_mr *mr, *lmr;
	uint8_t *loc;
	struct ibv_wc wc;
	size_t i;

	ASSERT_EQ(0, rt_dev_open(&d));
	ASSERT_EQ(0, rt_qp_create(&d, &a, 16));
	ASSERT_EQ(0, rt_qp_create(&d, &b, 16));
	ASSERT_EQ(0, rt_rc_connect(&d, &a, &b));
	loc = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, loc);
	mr = ibv_reg_mr(d.pd, p, len, ODP_ACCESS);
	lmr = ibv_reg_mr(d.pd, loc, len, ODP_ACCESS);
	ASSERT_NE(NULL, mr);
	ASSERT_NE(NULL, lmr);

	rt_fill(loc, len, 30);
	ASSERT_EQ(0, rt_post_rdma(&a, IBV_WR_RDMA_WRITE, lmr, loc, len,
				  (uintptr_t)p, mr->rkey, 1));
	ASSERT_EQ(0, rt_poll(a.cq, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);
	EXPECT_EQ(-1, rt_check(p, len, 30));

	/* 4 KiB out of the middle of a huge page */
	if (discard_ok && fd < 0) {
		ASSERT_EQ(0, madvise((char *)p + PMD_SIZE / 2, PAGE,
				     MADV_DONTNEED));
	} else if (discard_ok) {
		ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, PMD_SIZE / 2,
				       PAGE));
	}
	memset(loc, 0xa5, len);
	ASSERT_EQ(0, rt_post_rdma(&a, IBV_WR_RDMA_READ, lmr, loc, len,
				  (uintptr_t)p, mr->rkey, 2));
	ASSERT_EQ(0, rt_poll(a.cq, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);
	EXPECT_EQ(-1, rt_check(loc, PMD_SIZE / 2, 30));
	for (i = PMD_SIZE / 2; i < PMD_SIZE / 2 + PAGE; i++)
		if (loc[i])
			break;
	EXPECT_EQ(PMD_SIZE / 2 + PAGE, i) TH_LOG("stale byte at %zu", i);
	EXPECT_EQ(0, memcmp(loc + PMD_SIZE / 2 + PAGE,
			    (uint8_t *)p + PMD_SIZE / 2 + PAGE,
			    len - PMD_SIZE / 2 - PAGE));

	ibv_dereg_mr(mr);
	ibv_dereg_mr(lmr);
	munmap(loc, len);
	rt_qp_destroy(&a);
	rt_qp_destroy(&b);
	rt_dev_close(&d);
}

/* Transparent huge pages under an ODP MR. */
TEST(thp)
{
	void *p = map_aligned(HUGE_LEN, -1);
	long huge;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, madvise(p, HUGE_LEN, MADV_HUGEPAGE));
	memset(p, 1, HUGE_LEN);
	huge = smaps_kb(p, HUGE_LEN, "AnonHugePages");
	if (huge <= 0)
		SKIP(return, "no THP for this mapping (AnonHugePages %ld)", huge);
	TH_LOG("AnonHugePages before: %ld kB", huge);
	huge_round_trip(_metadata, p, HUGE_LEN, true, -1);
	munmap(p, HUGE_LEN);
}

/* DAX files mapped 2 MiB-aligned: PMD mappings where the fs gives them. */
FIXTURE(dax_huge) {
	struct rt_mem m;
};

FIXTURE_VARIANT(dax_huge) {
	enum rt_mem_kind kind;
};

FIXTURE_VARIANT_ADD(dax_huge, xfs) { .kind = RT_MEM_XFS_DAX };
FIXTURE_VARIANT_ADD(dax_huge, ext4) { .kind = RT_MEM_EXT4_DAX };

FIXTURE_SETUP(dax_huge)
{
	ASSERT_EQ(0, rt_mem_map(&self->m, variant->kind, HUGE_LEN));
	munmap(self->m.addr, HUGE_LEN);
	/* allocate the blocks at once: aligned extents allow PMD faults */
	ASSERT_EQ(0, fallocate(self->m.fd, 0, 0, HUGE_LEN));
	self->m.addr = map_aligned(HUGE_LEN, self->m.fd);
	ASSERT_NE(MAP_FAILED, self->m.addr);
}

FIXTURE_TEARDOWN(dax_huge)
{
	rt_mem_unmap(&self->m);
}

TEST_F(dax_huge, round_trip_and_punch)
{
	memset(self->m.addr, 1, HUGE_LEN);
	TH_LOG("FilePmdMapped: %ld kB",
	       smaps_kb(self->m.addr, HUGE_LEN, "FilePmdMapped"));
	huge_round_trip(_metadata, self->m.addr, HUGE_LEN, true, self->m.fd);
}

/* UD SEND/RECV with both buffers in ODP MRs (advertised in ud_odp_caps). */
TEST(ud_send_recv)
{
	struct ibv_qp *qp[2];
	struct ibv_mr *mr;
	struct ibv_cq *cq;
	struct ibv_ah *ah;
	struct ibv_wc wc;
	struct rt_dev d;
	uint8_t *buf;
	size_t len = 512;
	int i;

	ASSERT_EQ(0, rt_dev_open(&d));
	cq = ibv_create_cq(d.ctx, 16, NULL, NULL, 0);
	ASSERT_NE(NULL, cq);
	for (i = 0; i < 2; i++) {
		qp[i] = rt_ud_qp_create(&d, cq, 0x1234);
		ASSERT_NE(NULL, qp[i]);
	}
	ah = rt_ah_self(&d, 1);
	ASSERT_NE(NULL, ah);
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	mr = ibv_reg_mr(d.pd, buf, LEN, ODP_ACCESS);
	ASSERT_NE(NULL, mr);
	/* the receive buffer (GRH + payload) is at LEN / 2, untouched */
	{
		struct ibv_sge rs = { (uintptr_t)buf + LEN / 2, 40 + len,
				      mr->lkey };
		struct ibv_recv_wr rw = { .wr_id = 1, .sg_list = &rs,
					  .num_sge = 1 }, *brw;
		struct ibv_sge ss = { (uintptr_t)buf, len, mr->lkey };
		struct ibv_send_wr sw = { .wr_id = 2, .sg_list = &ss,
					  .num_sge = 1, .opcode = IBV_WR_SEND,
					  .send_flags = IBV_SEND_SIGNALED },
				   *bsw;

		ASSERT_EQ(0, ibv_post_recv(qp[1], &rw, &brw));
		rt_fill(buf, len, 40);
		sw.wr.ud.ah = ah;
		sw.wr.ud.remote_qpn = qp[1]->qp_num;
		sw.wr.ud.remote_qkey = 0x1234;
		ASSERT_EQ(0, ibv_post_send(qp[0], &sw, &bsw));
	}
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, rt_poll(cq, &wc));
		EXPECT_EQ(IBV_WC_SUCCESS, wc.status)
			TH_LOG("wr %llu: %s", (unsigned long long)wc.wr_id,
			       ibv_wc_status_str(wc.status));
		if (wc.wr_id == 1)
			EXPECT_EQ(40 + len, wc.byte_len);
	}
	EXPECT_EQ(-1, rt_check(buf + LEN / 2 + 40, len, 40));
	ibv_destroy_qp(qp[0]);
	ibv_destroy_qp(qp[1]);
	ibv_destroy_ah(ah);
	ibv_dereg_mr(mr);
	ibv_destroy_cq(cq);
	munmap(buf, LEN);
	rt_dev_close(&d);
}

/* An SRQ whose receive buffers are in an ODP MR (SRQ_RECV in rc_odp_caps). */
TEST(srq_recv)
{
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 4, .max_sge = 1 } };
	struct ibv_qp_init_attr ia = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_send_sge = 1 },
	};
	struct rt_qp a, b;
	struct ibv_srq *srq;
	struct ibv_mr *mr;
	struct ibv_wc wc;
	struct rt_dev d;
	uint8_t *buf;
	size_t len = 3 * PAGE + 1;

	ASSERT_EQ(0, rt_dev_open(&d));
	srq = ibv_create_srq(d.pd, &sa);
	ASSERT_NE(NULL, srq);
	ASSERT_EQ(0, rt_qp_create(&d, &a, 16));
	memset(&b, 0, sizeof(b));
	b.cq = ibv_create_cq(d.ctx, 16, NULL, NULL, 0);
	ASSERT_NE(NULL, b.cq);
	ia.send_cq = ia.recv_cq = b.cq;
	ia.srq = srq;
	b.qp = ibv_create_qp(d.pd, &ia);
	ASSERT_NE(NULL, b.qp);
	ASSERT_EQ(0, rt_rc_connect(&d, &a, &b));
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	mr = ibv_reg_mr(d.pd, buf, LEN, ODP_ACCESS);
	ASSERT_NE(NULL, mr);
	{
		struct ibv_sge rs = { (uintptr_t)buf + LEN / 2, len, mr->lkey };
		struct ibv_recv_wr rw = { .wr_id = 1, .sg_list = &rs,
					  .num_sge = 1 }, *brw;

		ASSERT_EQ(0, ibv_post_srq_recv(srq, &rw, &brw));
	}
	rt_fill(buf, len, 41);
	ASSERT_EQ(0, rt_post_rdma(&a, IBV_WR_SEND, mr, buf, len, 0, 0, 2));
	ASSERT_EQ(0, rt_poll(a.cq, &wc));
	EXPECT_EQ(IBV_WC_SUCCESS, wc.status);
	ASSERT_EQ(0, rt_poll(b.cq, &wc));
	EXPECT_EQ(IBV_WC_SUCCESS, wc.status);
	EXPECT_EQ(len, wc.byte_len);
	EXPECT_EQ(-1, rt_check(buf + LEN / 2, len, 41));
	rt_qp_destroy(&a);
	rt_qp_destroy(&b);
	ibv_destroy_srq(srq);
	ibv_dereg_mr(mr);
	munmap(buf, LEN);
	rt_dev_close(&d);
}

/* The device says what it can do on demand. */
TEST(odp_caps)
{
	struct ibv_device_attr_ex attr;
	uint32_t rc = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV |
		      IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ |
		      IBV_ODP_SUPPORT_ATOMIC | IBV_ODP_SUPPORT_SRQ_RECV;
	uint32_t ud = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV;
	struct rt_dev d;

	ASSERT_EQ(0, rt_dev_open(&d));
	ASSERT_EQ(0, ibv_query_device_ex(d.ctx, NULL, &attr));
	EXPECT_TRUE(attr.odp_caps.general_caps & IBV_ODP_SUPPORT);
	EXPECT_EQ(rc, attr.odp_caps.per_transport_caps.rc_odp_caps & rc);
	EXPECT_EQ(ud, attr.odp_caps.per_transport_caps.ud_odp_caps & ud);
	rt_dev_close(&d);
}

/* Implicit ODP is not offered: a clear EOPNOTSUPP, not a crash. */
TEST(implicit_odp_is_eopnotsupp)
{
	struct ibv_mr *mr;
	struct rt_dev d;

	ASSERT_EQ(0, rt_dev_open(&d));
	errno = 0;
	mr = ibv_reg_mr(d.pd, NULL, SIZE_MAX, ODP_ACCESS);
	if (mr)
		ibv_dereg_mr(mr);
	EXPECT_EQ(NULL, mr);
	EXPECT_EQ(EOPNOTSUPP, errno) TH_LOG("errno %d", errno);
	rt_dev_close(&d);
}

TEST_HARNESS_MAIN
