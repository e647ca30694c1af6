// SPDX-License-Identifier: GPL-2.0
/*
 * An RC QP pair brought back from the error state: work is posted, the
 * pair goes to ERR (by ibv_modify_qp(), by a remote access error, or with
 * a 1 MiB WRITE in flight), the work is flushed, and both QPs go through
 * RESET -> INIT -> RTR -> RTS with the attributes of their first
 * connection (the same PSNs), as rdma-core's tests/test_mr.py restate_qps()
 * does. Then SEND both ways, RDMA WRITE and RDMA READ must complete with
 * the right data.
 *
 * Every WR posted before the reset completes exactly once, with
 * IBV_WC_WR_FLUSH_ERR (the failing WRITE of the error variant with
 * IBV_WC_REM_ACCESS_ERR), or not at all when the test leaves it in the CQ
 * at the reset: like mlx4 and mlx5, for which rdma-core's tests are
 * written, a QP's move to RESET removes its completions that the CQ still
 * holds (a CQ shared with other QPs keeps theirs), so that the first
 * completions after the reset are those of the new work. rxe does that in
 * its provider (patch 0007 of rdma-core-patches/): the *_unpolled variants
 * fail on Debian's rdma-core, with our module or the stock one.
 *
 * The same holds when a QP is destroyed (destroy_shared_cq: the CQ keeps
 * only the other QPs' completions, as on mlx5), and when ibv_resize_cq()
 * replaces the CQ's queue while a reset cleans it (resize_vs_reset).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "rxe_test.h"

#define BUF_SIZE	(2 << 20)
#define BIG		(1 << 20)
#define NR_RECV_B	4	/* receives of b flushed by the error */
#define NR_RECV_A	2	/* receives of a flushed by the error */
#define NR_SEND_A	3	/* sends posted on a in the error state */

#define WR_RECV_B	100
#define WR_RECV_A	200
#define WR_SEND_A	300
#define WR_BAD		400	/* the WRITE with a bad rkey */
#define WR_BIG		401	/* the WRITE in flight */
#define WR_BIG_SEND	402	/* a SEND behind it */

enum how {
	BY_MODIFY,	/* ibv_modify_qp(ERR) of both */
	BY_ERROR,	/* a WRITE with a bad rkey: both go to ERR by themselves */
	IN_FLIGHT,	/* modify to ERR with a 1 MiB WRITE and a SEND in flight */
};

struct pair {
	struct rt_dev d;
	struct rt_qp a, b;	/* a is the requester, b the responder */
	uint8_t *abuf, *bbuf;
	struct ibv_mr *amr, *bmr;
	struct ibv_qp *shared_qp;	/* a third QP on a's CQ (shared_cq) */
	int shared_depth;		/* its completions in a's CQ */
};

static int to_err(struct ibv_qp *qp)
{
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_ERR };

	return ibv_modify_qp(qp, &attr, IBV_QP_STATE);
}

static int to_reset(struct ibv_qp *qp)
{
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_RESET };

	return ibv_modify_qp(qp, &attr, IBV_QP_STATE);
}

static enum ibv_qp_state qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr attr;

	if (ibv_query_qp(qp, &attr, IBV_QP_STATE, &init))
		return (enum ibv_qp_state)-1;
	return attr.qp_state;
}

/* Wait until the QP's state is want (an error moves it asynchronously). */
static bool wait_state(struct ibv_qp *qp, enum ibv_qp_state want)
{
	double deadline = rt_now() + 10;

	while (qp_state(qp) != want) {
		if (rt_now() > deadline)
			return false;
		usleep(1000);
	}
	return true;
}

/* Connect a and b as rt_rc_connect() does: PSN 0, the defaults. */
static int connect_pair(struct pair *p)
{
	return rt_rc_connect(&p->d, &p->a, &p->b);
}

static void expect_wc(struct __test_metadata *_metadata, struct ibv_cq *cq,
		      enum ibv_wc_opcode op, uint64_t wr_id, uint32_t len)
{
	struct ibv_wc wc;

	ASSERT_EQ(0, rt_poll(cq, &wc)) TH_LOG("no completion of wr %llu",
					      (unsigned long long)wr_id);
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status)
		TH_LOG("wr %llu: %s (wr_id %llu, qp %u)",
		       (unsigned long long)wr_id, ibv_wc_status_str(wc.status),
		       (unsigned long long)wc.wr_id, wc.qp_num);
	EXPECT_EQ(wr_id, wc.wr_id);
	EXPECT_EQ(op, wc.opcode);
	if (op == IBV_WC_RECV)
		EXPECT_EQ(len, wc.byte_len);
}

/* The CQ holds no completion. */
static void expect_empty(struct __test_metadata *_metadata,
			 struct ibv_cq *cq)
{
	struct ibv_wc wc;
	int n;

	while ((n = ibv_poll_cq(cq, 1, &wc)) == 1) {
		EXPECT_EQ(0, 1)
			TH_LOG("stale completion: wr %llu %s of qp %u",
			       (unsigned long long)wc.wr_id,
			       ibv_wc_status_str(wc.status), wc.qp_num);
	}
	EXPECT_EQ(0, n);
}

/*
 * Poll cq until n completions of qp_num are seen; each wr_id in [lo, lo + n)
 * once, all flushed but the one bad_id (if any) with bad_status.
 */
static void expect_flushed(struct __test_metadata *_metadata,
			   struct ibv_cq *cq, uint32_t qp_num,
			   const uint64_t *ids, int n, uint64_t bad_id,
			   enum ibv_wc_status bad_status)
{
	bool seen[16] = { false };
	struct ibv_wc wc;
	int i, got = 0;

	ASSERT_LE(n, 16);
	while (got < n) {
		ASSERT_EQ(0, rt_poll(cq, &wc))
			TH_LOG("%d of %d flushed completions of qp %u", got, n,
			       qp_num);
		if (wc.qp_num != qp_num)
			continue;	/* the shared QP's */
		for (i = 0; i < n; i++)
			if (ids[i] == wc.wr_id)
				break;
		ASSERT_LT(i, n) TH_LOG("unexpected wr %llu (%s)",
				       (unsigned long long)wc.wr_id,
				       ibv_wc_status_str(wc.status));
		EXPECT_FALSE(seen[i]) TH_LOG("wr %llu completed twice",
					     (unsigned long long)wc.wr_id);
		seen[i] = true;
		EXPECT_EQ(wc.wr_id == bad_id ? bad_status : IBV_WC_WR_FLUSH_ERR,
			  wc.status)
			TH_LOG("wr %llu: %s", (unsigned long long)wc.wr_id,
			       ibv_wc_status_str(wc.status));
		got++;
	}
}

FIXTURE(reset) {
	struct pair p;
};

FIXTURE_VARIANT(reset) {
	enum how how;
	bool poll_flushes;	/* poll every flushed WR before the reset */
	bool shared_cq;		/* a's CQ also serves a third, working QP */
};

FIXTURE_VARIANT_ADD(reset, modify_polled) {
	.how = BY_MODIFY, .poll_flushes = true,
};

FIXTURE_VARIANT_ADD(reset, modify_unpolled) {
	.how = BY_MODIFY, .poll_flushes = false,
};

FIXTURE_VARIANT_ADD(reset, error_polled) {
	.how = BY_ERROR, .poll_flushes = true,
};

FIXTURE_VARIANT_ADD(reset, error_unpolled) {
	.how = BY_ERROR, .poll_flushes = false,
};

FIXTURE_VARIANT_ADD(reset, in_flight_polled) {
	.how = IN_FLIGHT, .poll_flushes = true,
};

FIXTURE_VARIANT_ADD(reset, in_flight_unpolled) {
	.how = IN_FLIGHT, .poll_flushes = false,
};

FIXTURE_VARIANT_ADD(reset, shared_cq_unpolled) {
	.how = BY_MODIFY, .poll_flushes = false, .shared_cq = true,
};

FIXTURE_SETUP(reset)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	struct pair *p = &self->p;

	ASSERT_EQ(0, rt_dev_open(&p->d));
	ASSERT_EQ(0, rt_qp_create(&p->d, &p->a, 16));
	ASSERT_EQ(0, rt_qp_create(&p->d, &p->b, 16));
	ASSERT_EQ(0, connect_pair(p));
	p->abuf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p->bbuf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p->abuf);
	ASSERT_NE(MAP_FAILED, p->bbuf);
	memset(p->abuf, 0, BUF_SIZE);
	memset(p->bbuf, 0, BUF_SIZE);
	p->amr = ibv_reg_mr(p->d.pd, p->abuf, BUF_SIZE, access);
	p->bmr = ibv_reg_mr(p->d.pd, p->bbuf, BUF_SIZE, access);
	ASSERT_NE(NULL, p->amr) TH_LOG("reg_mr: %s", strerror(errno));
	ASSERT_NE(NULL, p->bmr) TH_LOG("reg_mr: %s", strerror(errno));
	if (variant->shared_cq) {
		struct ibv_qp_init_attr attr = {
			.qp_type = IBV_QPT_RC,
			.send_cq = p->a.cq,
			.recv_cq = p->a.cq,
			.cap = {
				.max_send_wr = 4,
				.max_recv_wr = 4,
				.max_send_sge = 1,
				.max_recv_sge = 1,
			},
		};

		p->shared_qp = ibv_create_qp(p->d.pd, &attr);
		ASSERT_NE(NULL, p->shared_qp);
	}
}

FIXTURE_TEARDOWN(reset)
{
	struct pair *p = &self->p;

	if (p->shared_qp)
		ibv_destroy_qp(p->shared_qp);
	rt_qp_destroy(&p->a);
	rt_qp_destroy(&p->b);
	if (p->amr)
		ibv_dereg_mr(p->amr);
	if (p->bmr)
		ibv_dereg_mr(p->bmr);
	if (p->abuf && p->abuf != MAP_FAILED)
		munmap(p->abuf, BUF_SIZE);
	if (p->bbuf && p->bbuf != MAP_FAILED)
		munmap(p->bbuf, BUF_SIZE);
	rt_dev_close(&p->d);
}

/* SEND a -> b, WRITE and READ by a, SEND b -> a; data checked. */
static void traffic(struct __test_metadata *_metadata, struct pair *p,
		    uint32_t seed)
{
	rt_fill(p->abuf, 4096, seed);
	memset(p->bbuf, 0, 4096);
	ASSERT_EQ(0, rt_post_recv(&p->b, p->bmr, p->bbuf, 4096, 1));
	ASSERT_EQ(0, rt_post_rdma(&p->a, IBV_WR_SEND, p->amr, p->abuf, 4096,
				  0, 0, 2));
	expect_wc(_metadata, p->a.cq, IBV_WC_SEND, 2, 0);
	expect_wc(_metadata, p->b.cq, IBV_WC_RECV, 1, 4096);
	EXPECT_EQ(-1, rt_check(p->bbuf, 4096, seed));

	rt_fill(p->abuf + 8192, 8192, seed + 1);
	ASSERT_EQ(0, rt_post_rdma(&p->a, IBV_WR_RDMA_WRITE, p->amr,
				  p->abuf + 8192, 8192,
				  (uintptr_t)(p->bbuf + 8192), p->bmr->rkey, 3));
	expect_wc(_metadata, p->a.cq, IBV_WC_RDMA_WRITE, 3, 0);
	EXPECT_EQ(-1, rt_check(p->bbuf + 8192, 8192, seed + 1));

	rt_fill(p->bbuf + 65536, 8192, seed + 2);
	memset(p->abuf + 65536, 0, 8192);
	ASSERT_EQ(0, rt_post_rdma(&p->a, IBV_WR_RDMA_READ, p->amr,
				  p->abuf + 65536, 8192,
				  (uintptr_t)(p->bbuf + 65536), p->bmr->rkey,
				  4));
	expect_wc(_metadata, p->a.cq, IBV_WC_RDMA_READ, 4, 0);
	EXPECT_EQ(-1, rt_check(p->abuf + 65536, 8192, seed + 2));

	rt_fill(p->bbuf + 131072, 100, seed + 3);
	memset(p->abuf + 131072, 0, 100);
	ASSERT_EQ(0, rt_post_recv(&p->a, p->amr, p->abuf + 131072, 100, 5));
	ASSERT_EQ(0, rt_post_rdma(&p->b, IBV_WR_SEND, p->bmr,
				  p->bbuf + 131072, 100, 0, 0, 6));
	expect_wc(_metadata, p->b.cq, IBV_WC_SEND, 6, 0);
	expect_wc(_metadata, p->a.cq, IBV_WC_RECV, 5, 100);
	EXPECT_EQ(-1, rt_check(p->abuf + 131072, 100, seed + 3));
}

TEST_F(reset, err_reset_rts_traffic)
{
	uint64_t aids[NR_RECV_A + NR_SEND_A + 2], bids[NR_RECV_B];
	struct pair *p = &self->p;
	uint64_t bad_id = 0;
	int na = 0, i;

	/* the PSNs move on, as in rdma-core's test before its error */
	traffic(_metadata, p, 10);

	if (p->shared_qp) {
		/* completions of another QP sit in a's CQ before and after */
		ASSERT_EQ(0, rt_qp_to_rts(&p->d, p->shared_qp,
					  p->shared_qp->qp_num));
		ASSERT_EQ(0, rt_post_rdma(&(struct rt_qp){ .qp = p->shared_qp },
					  IBV_WR_RDMA_WRITE, p->amr,
					  p->abuf + BIG, 64,
					  (uintptr_t)(p->abuf + BIG + 4096),
					  p->amr->rkey, 900));
	}

	for (i = 0; i < NR_RECV_B; i++) {
		ASSERT_EQ(0, rt_post_recv(&p->b, p->bmr, p->bbuf + 4096 * i,
					  4096, WR_RECV_B + i));
		bids[i] = WR_RECV_B + i;
	}
	for (i = 0; i < NR_RECV_A; i++) {
		ASSERT_EQ(0, rt_post_recv(&p->a, p->amr, p->abuf + 4096 * i,
					  4096, WR_RECV_A + i));
		aids[na++] = WR_RECV_A + i;
	}

	switch (variant->how) {
	case BY_MODIFY:
		ASSERT_EQ(0, to_err(p->a.qp));
		ASSERT_EQ(0, to_err(p->b.qp));
		break;
	case BY_ERROR:
		ASSERT_EQ(0, rt_post_rdma(&p->a, IBV_WR_RDMA_WRITE, p->amr,
					  p->abuf, 64, (uintptr_t)p->bbuf,
					  p->bmr->rkey ^ 0x5a5a00, WR_BAD));
		aids[na++] = WR_BAD;
		bad_id = WR_BAD;
		/* a NAK moves a, the access error b */
		ASSERT_TRUE(wait_state(p->a.qp, IBV_QPS_ERR));
		ASSERT_TRUE(wait_state(p->b.qp, IBV_QPS_ERR));
		break;
	case IN_FLIGHT:
		rt_fill(p->abuf + BIG, BIG, 20);
		ASSERT_EQ(0, rt_post_rdma(&p->a, IBV_WR_RDMA_WRITE, p->amr,
					  p->abuf + BIG, BIG,
					  (uintptr_t)(p->bbuf + BIG),
					  p->bmr->rkey, WR_BIG));
		ASSERT_EQ(0, rt_post_rdma(&p->a, IBV_WR_SEND, p->amr,
					  p->abuf + BIG, 100, 0, 0,
					  WR_BIG_SEND));
		ASSERT_EQ(0, to_err(p->a.qp));
		ASSERT_EQ(0, to_err(p->b.qp));
		break;
	}

	for (i = 0; i < NR_SEND_A; i++) {
		ASSERT_EQ(0, rt_post_rdma(&p->a, IBV_WR_SEND, p->amr,
					  p->abuf + 65536, 64, 0, 0,
					  WR_SEND_A + i));
		aids[na++] = WR_SEND_A + i;
	}

	if (variant->poll_flushes && variant->how != IN_FLIGHT) {
		expect_flushed(_metadata, p->a.cq, p->a.qp->qp_num, aids, na,
			       bad_id, IBV_WC_REM_ACCESS_ERR);
		expect_flushed(_metadata, p->b.cq, p->b.qp->qp_num, bids,
			       NR_RECV_B, 0, IBV_WC_SUCCESS);
		expect_empty(_metadata, p->a.cq);
		expect_empty(_metadata, p->b.cq);
	} else if (variant->poll_flushes) {
		struct ibv_wc wc;
		int seen = 0;

		/*
		 * The WRITE and the SEND in flight complete, or are flushed:
		 * either is right. The first receive of b may have taken
		 * the SEND. Everything else is flushed.
		 */
		while (seen < na + 2) {
			ASSERT_EQ(0, rt_poll(p->a.cq, &wc));
			if (wc.wr_id != WR_BIG && wc.wr_id != WR_BIG_SEND) {
				EXPECT_EQ(IBV_WC_WR_FLUSH_ERR, wc.status)
					TH_LOG("wr %llu: %s",
					       (unsigned long long)wc.wr_id,
					       ibv_wc_status_str(wc.status));
			}
			seen++;
		}
		for (seen = 0; seen < NR_RECV_B; seen++) {
			ASSERT_EQ(0, rt_poll(p->b.cq, &wc));
			if (wc.wr_id != WR_RECV_B)
				EXPECT_EQ(IBV_WC_WR_FLUSH_ERR, wc.status);
		}
		expect_empty(_metadata, p->a.cq);
		expect_empty(_metadata, p->b.cq);
	} else {
		/*
		 * Leave the completions in the CQs, as rdma-core's test does
		 * with all but the first; give the flushes time to land.
		 */
		usleep(200 * 1000);
	}
	ASSERT_EQ(0, to_reset(p->a.qp));
	ASSERT_EQ(0, to_reset(p->b.qp));
	EXPECT_EQ(IBV_QPS_RESET, qp_state(p->a.qp));
	EXPECT_EQ(IBV_QPS_RESET, qp_state(p->b.qp));
	ASSERT_EQ(0, connect_pair(p));
	EXPECT_EQ(IBV_QPS_RTS, qp_state(p->a.qp));
	EXPECT_EQ(IBV_QPS_RTS, qp_state(p->b.qp));

	/* the other QP's completion stays, nothing of a's and b's */
	if (p->shared_qp)
		expect_wc(_metadata, p->a.cq, IBV_WC_RDMA_WRITE, 900, 0);
	expect_empty(_metadata, p->a.cq);
	expect_empty(_metadata, p->b.cq);

	traffic(_metadata, p, 30);
	traffic(_metadata, p, 40);
	expect_empty(_metadata, p->a.cq);
	expect_empty(_metadata, p->b.cq);

	if (p->shared_qp) {
		/* the other QP on a's CQ still works */
		ASSERT_EQ(0, rt_post_rdma(&(struct rt_qp){ .qp = p->shared_qp },
					  IBV_WR_RDMA_WRITE, p->amr,
					  p->abuf + BIG, 64,
					  (uintptr_t)(p->abuf + BIG + 4096),
					  p->amr->rkey, 901));
		expect_wc(_metadata, p->a.cq, IBV_WC_RDMA_WRITE, 901, 0);
	}
}

/* RTS -> RESET -> RTS with nothing outstanding: traffic goes on. */
TEST_F(reset, rts_reset_rts)
{
	struct pair *p = &self->p;

	traffic(_metadata, p, 50);
	ASSERT_EQ(0, to_reset(p->a.qp));
	ASSERT_EQ(0, to_reset(p->b.qp));
	ASSERT_EQ(0, connect_pair(p));
	traffic(_metadata, p, 60);
	expect_empty(_metadata, p->a.cq);
	expect_empty(_metadata, p->b.cq);
}

/* SEND a -> b of 64 bytes, b's receive posted first. */
static int post_send_to(struct rt_qp *from, struct rt_qp *to,
			struct ibv_mr *mr, uint8_t *buf, uint64_t send_id,
			uint64_t recv_id)
{
	int ret = rt_post_recv(to, mr, buf + 4096, 64, recv_id);

	return ret ?: rt_post_rdma(from, IBV_WR_SEND, mr, buf, 64, 0, 0,
				   send_id);
}

/*
 * An RC pair on one CQ (sends and receives of both), completions of both
 * left in it; destroying a leaves only b's, in their order, as mlx5 does
 * (mlx5_destroy_qp() cleans the CQs): no poller sees completions of a QP
 * that is gone, nor a later QP reusing a's qp_num ones that are not its own.
 */
TEST(destroy_shared_cq)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	struct ibv_qp_init_attr attr = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = 8,
			.max_recv_wr = 8,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
	};
	static const uint64_t b_ids[] = { 10, 40 };	/* b's, in CQ order */
	struct rt_qp a = { 0 }, b = { 0 };
	uint32_t a_num, b_num;
	struct ibv_cq *cq;
	struct rt_dev d;
	struct ibv_mr *mr;
	struct ibv_wc wc;
	uint8_t *buf;
	int i, n;

	ASSERT_EQ(0, rt_dev_open(&d));
	buf = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	mr = ibv_reg_mr(d.pd, buf, 65536, access);
	ASSERT_NE(NULL, mr) TH_LOG("reg_mr: %s", strerror(errno));
	cq = ibv_create_cq(d.ctx, 64, NULL, NULL, 0);
	ASSERT_NE(NULL, cq);
	attr.send_cq = attr.recv_cq = cq;
	a.cq = b.cq = cq;
	a.qp = ibv_create_qp(d.pd, &attr);
	ASSERT_NE(NULL, a.qp);
	b.qp = ibv_create_qp(d.pd, &attr);
	ASSERT_NE(NULL, b.qp);
	a_num = a.qp->qp_num;
	b_num = b.qp->qp_num;
	ASSERT_EQ(0, rt_rc_connect(&d, &a, &b));

	/* a: SEND 20, WRITE 21, RECV 30; b: RECV 10, SEND 40; a's RECV 31 */
	ASSERT_EQ(0, post_send_to(&a, &b, mr, buf, 20, 10));
	ASSERT_EQ(0, rt_post_rdma(&a, IBV_WR_RDMA_WRITE, mr, buf, 64,
				  (uintptr_t)(buf + 8192), mr->rkey, 21));
	/* b's SEND after a's WRITE has completed: b's completions in order */
	usleep(50 * 1000);
	ASSERT_EQ(0, post_send_to(&b, &a, mr, buf, 40, 30));
	ASSERT_EQ(0, rt_post_recv(&a, mr, buf + 16384, 64, 31));
	usleep(200 * 1000);	/* everything lands; nothing is polled */

	ASSERT_EQ(0, ibv_destroy_qp(a.qp));
	a.qp = NULL;

	for (i = 0; (n = ibv_poll_cq(cq, 1, &wc)) == 1; i++) {
		EXPECT_EQ(b_num, wc.qp_num)
			TH_LOG("completion of the destroyed qp %u: wr %llu %s",
			       a_num, (unsigned long long)wc.wr_id,
			       ibv_wc_status_str(wc.status));
		if (wc.qp_num != b_num)
			continue;
		EXPECT_EQ(IBV_WC_SUCCESS, wc.status);
		if (i < 2)
			EXPECT_EQ(b_ids[i], wc.wr_id);
	}
	EXPECT_EQ(0, n);
	EXPECT_EQ(2, i) TH_LOG("%d completions, want b's 2", i);

	ibv_destroy_qp(b.qp);
	ibv_destroy_cq(cq);
	ibv_dereg_mr(mr);
	munmap(buf, 65536);
	rt_dev_close(&d);
}

struct resizer {
	struct ibv_cq *cq;
	atomic_bool stop;
	unsigned long resizes, errors;
	int err;
};

/* Resize the CQ between two sizes of different mappings until stopped. */
static void *resize_loop(void *arg)
{
	struct resizer *r = arg;
	int ret;

	while (!atomic_load(&r->stop)) {
		ret = ibv_resize_cq(r->cq, r->resizes & 1 ? 64 : 256);
		if (ret) {
			r->errors++;
			r->err = ret;
		}
		r->resizes++;
	}
	return NULL;
}

/*
 * ibv_resize_cq() unmaps the CQ's queue and maps the kernel's new one
 * while a thread takes a QP of that CQ, with completions in it, to RESET
 * and back, for 2 s: the reset's clean must walk the current queue (not
 * the unmapped one: a crash, or completions that survive), and after
 * every reset the CQ holds nothing of the QP.
 */
TEST(resize_vs_reset)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	struct resizer r = { 0 };
	unsigned long iters = 0, stale = 0;
	struct rt_qp a, b;
	struct ibv_mr *mr;
	struct rt_dev d;
	struct ibv_wc wc;
	pthread_t thread;
	double end;
	uint8_t *buf;
	int i;

	ASSERT_EQ(0, rt_dev_open(&d));
	buf = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	mr = ibv_reg_mr(d.pd, buf, 65536, access);
	ASSERT_NE(NULL, mr) TH_LOG("reg_mr: %s", strerror(errno));
	ASSERT_EQ(0, rt_qp_create(&d, &a, 16));
	ASSERT_EQ(0, rt_qp_create(&d, &b, 16));
	ASSERT_EQ(0, rt_rc_connect(&d, &a, &b));

	r.cq = a.cq;
	ASSERT_EQ(0, pthread_create(&thread, NULL, resize_loop, &r));
	end = rt_now() + 2;
	while (rt_now() < end) {
		/* a: 4 WRITEs and a RECV; once b's SEND completes, a's RECV
		 * is in a's CQ, unpolled (and most of the WRITEs) */
		for (i = 0; i < 4; i++)
			if (rt_post_rdma(&a, IBV_WR_RDMA_WRITE, mr, buf, 64,
					 (uintptr_t)(buf + 8192), mr->rkey, i))
				break;
		if (i < 4 || post_send_to(&b, &a, mr, buf, 40, 30) ||
		    rt_poll(b.cq, &wc) || wc.status != IBV_WC_SUCCESS) {
			TH_LOG("iteration %lu: traffic failed", iters);
			break;
		}
		if (to_reset(a.qp) || to_reset(b.qp)) {
			TH_LOG("iteration %lu: reset failed", iters);
			break;
		}
		while (ibv_poll_cq(a.cq, 1, &wc) == 1) {
			if (!stale++)
				TH_LOG("iteration %lu: wr %llu (%s) of qp %u survived",
				       iters, (unsigned long long)wc.wr_id,
				       ibv_wc_status_str(wc.status),
				       wc.qp_num);
		}
		if (rt_rc_connect(&d, &a, &b)) {
			TH_LOG("iteration %lu: reconnect failed", iters);
			break;
		}
		iters++;
	}
	atomic_store(&r.stop, true);
	pthread_join(thread, NULL);
	TH_LOG("%lu resets, %lu resizes", iters, r.resizes);

	EXPECT_TRUE(rt_now() >= end) TH_LOG("stopped early");
	EXPECT_EQ(0UL, stale) TH_LOG("%lu completions survived a reset", stale);
	EXPECT_EQ(0UL, r.errors) TH_LOG("%lu resizes failed: %s", r.errors,
				      strerror(r.err));
	EXPECT_LT(0UL, r.resizes);
	EXPECT_LT(0UL, iters);

	rt_qp_destroy(&a);
	rt_qp_destroy(&b);
	ibv_dereg_mr(mr);
	munmap(buf, 65536);
	rt_dev_close(&d);
}

TEST_HARNESS_MAIN
