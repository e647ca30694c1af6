// SPDX-License-Identifier: GPL-2.0
/*
 * Queue forgery: a process writes the queues it shares with rxe through
 * mmap (<rdma/rdma_user_rxe.h>), and whatever it writes there must not
 * crash the kernel or leak kernel memory. Each test lets rdma-core's
 * provider write a valid WQE, finds its slot in the mapped queue (by a
 * unique wr_id, scanning the process's uverbs mappings, so nothing of the
 * provider's private layout is used) and overwrites the DMA cursor.
 *
 *  recv.*         a receive WQE whose dma.cur_sge (0x10000000, 1),
 *                 sge_offset or resid were forged, then a peer's SEND: the
 *                 kernel starts every receive WQE at its first SGE with
 *                 resid = length = the sum of the SGE lengths, so the
 *                 SEND lands and completes with success. Stock 6.1 indexed
 *                 dma.sge[] with the forged cur_sge (copy_data()): 4 GiB
 *                 past the QP, an oops where nothing is mapped (in the
 *                 8 GiB VM: garbage read, the receive failed).
 *  inline_send.*  an inline SEND whose dma.sge_offset (0x10000000) or
 *                 resid/length (4096 > max_inline) were forged, posted
 *                 while the QP is in RESET (the doorbell fails, the slot
 *                 stays) and started by a later WR: IBV_WC_LOC_QP_OP_ERR,
 *                 nothing from outside the slot goes to the peer. Stock
 *                 6.1 copied from inline_data + sge_offset for resid bytes.
 *  atomic_write.* an ATOMIC WRITE whose dma.resid/length (16, 4096) were
 *                 forged (rdma-core writes 8), posted in RESET and started
 *                 by a later WR like inline_send.*: IBV_WC_LOC_QP_OP_ERR,
 *                 nothing reaches the peer. Stock 6.12 sent resid bytes,
 *                 up to the MTU, from the WQE's 8 (6.12's patch 0024);
 *                 6.1's 0026 checks the 8 bytes from the start.
 *  race.*         a 1 MiB READ or WRITE while a thread keeps writing
 *                 dma.cur_sge = 0x10000000 and num_sge = 0x1000 into its
 *                 slot (after the requester checked them): any status, no
 *                 oops (copy_data() bounds the cursor by the QP's max_sge;
 *                 before patch 0028 the READ oopsed in the completer).
 *  race_opcode.*  a LOCAL_INV left in the queue of a QP in RESET, its
 *                 union's first word (where the kernel keeps a REG_MR's
 *                 MR pointer) set to a non-canonical address, and a
 *                 thread flipping its opcode between LOCAL_INV and
 *                 IB_WR_REG_MR (0x20) while the requester takes it: an
 *                 error completion, no oops. Before patch 0035 the
 *                 requester read the opcode twice, and a flip between
 *                 the two reads ran REG_MR on the forged pointer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <rdma/rdma_user_rxe.h>

#include "kselftest_harness.h"
#include "rxe_test.h"

#define PAGE		4096
#define ACCESS		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)
#define MAGIC		0x5155455545464f52ull	/* "ROFEUEUQ" */
#define HUGE_SGE	0x10000000u

#define EXPECT_WC(want, got, what) do {					\
	enum ibv_wc_status __s = (got);					\
	EXPECT_EQ(want, __s) TH_LOG("%s: %s, want %s", (what),		\
				    ibv_wc_status_str(__s),		\
				    ibv_wc_status_str(want));		\
} while (0)

/*
 * The last-produced slot of the mapped rxe queue (SQ, RQ) whose slot
 * starts with wr_id, or NULL. Every rxe queue starts with struct
 * rxe_queue_buf; struct rxe_send_wqe and struct rxe_recv_wqe both start
 * with the wr_id.
 */
static void *find_slot(uint64_t wr_id)
{
	char line[512];
	void *found = NULL;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		struct rxe_queue_buf *q;
		uint32_t prod, log2, mask;
		uint8_t *slot;

		if (!strstr(line, "/dev/infiniband/uverbs") ||
		    sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		q = (struct rxe_queue_buf *)start;
		log2 = q->log2_elem_size;
		mask = q->index_mask;
		if (log2 < 4 || log2 > 20 || (mask & (mask + 1)) ||
		    sizeof(*q) + (((uint64_t)mask + 1) << log2) > end - start)
			continue;
		prod = atomic_load_explicit((_Atomic uint32_t *)&q->producer_index,
					    memory_order_acquire);
		slot = q->data + ((uint64_t)((prod - 1) & mask) << log2);
		if (!memcmp(slot, &wr_id, sizeof(wr_id)))
			found = slot;
	}
	fclose(f);
	return found;
}

struct env {
	struct rt_dev d;
	struct rt_qp a, b;
	struct ibv_mr *mr;
	uint8_t *buf;		/* 4 MiB: [0, 2M) a's, [2M, 4M) b's */
};

#define BUF_LEN		(4u << 20)
#define HALF		(2u << 20)

static int env_open(struct env *e)
{
	memset(e, 0, sizeof(*e));
	if (rt_dev_open(&e->d))
		return -1;
	e->buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->buf == MAP_FAILED) {
		e->buf = NULL;
		return -1;
	}
	memset(e->buf, 0, BUF_LEN);
	e->mr = ibv_reg_mr(e->d.pd, e->buf, BUF_LEN, ACCESS);
	if (!e->mr)
		return -1;
	if (rt_qp_create(&e->d, &e->a, 16) || rt_qp_create(&e->d, &e->b, 16))
		return -1;
	return 0;
}

static void env_close(struct env *e)
{
	rt_qp_destroy(&e->a);
	rt_qp_destroy(&e->b);
	if (e->mr)
		ibv_dereg_mr(e->mr);
	if (e->buf)
		munmap(e->buf, BUF_LEN);
	rt_dev_close(&e->d);
}

/* A fresh connected pair carries a SEND afterwards. */
static void after(struct __test_metadata *_metadata, struct env *e)
{
	struct ibv_wc wc;

	ASSERT_EQ(0, rt_rc_renew(&e->d, &e->a, &e->b));
	rt_fill(e->buf, 256, 0x77);
	ASSERT_EQ(0, rt_post_recv(&e->b, e->mr, e->buf + HALF, 256, 1));
	ASSERT_EQ(0, rt_post_rdma(&e->a, IBV_WR_SEND, e->mr, e->buf, 256,
				  0, 0, 2));
	ASSERT_EQ(0, rt_poll(e->a.cq, &wc));
	EXPECT_WC(IBV_WC_SUCCESS, wc.status, "SEND afterwards");
	ASSERT_EQ(0, rt_poll(e->b.cq, &wc));
	EXPECT_WC(IBV_WC_SUCCESS, wc.status, "its receive");
	EXPECT_EQ(-1, rt_check(e->buf + HALF, 256, 0x77));
}

/* ------------------------------------------------------------------ */

FIXTURE(recv) {
	struct env e;
};

FIXTURE_VARIANT(recv) {
	uint32_t cur_sge, sge_offset, resid, length;
	bool set_resid, set_length;
};

FIXTURE_VARIANT_ADD(recv, cur_sge_huge) { .cur_sge = HUGE_SGE };
FIXTURE_VARIANT_ADD(recv, cur_sge_one) { .cur_sge = 1 };
FIXTURE_VARIANT_ADD(recv, sge_offset) { .sge_offset = 0xfffffff0u };
FIXTURE_VARIANT_ADD(recv, resid_zero) { .set_resid = true };
FIXTURE_VARIANT_ADD(recv, length_huge) {
	.set_length = true, .length = 0xffffffffu,
	.set_resid = true, .resid = 0xffffffffu,
};

FIXTURE_SETUP(recv)
{
	ASSERT_EQ(0, env_open(&self->e));
	ASSERT_EQ(0, rt_rc_connect(&self->e.d, &self->e.a, &self->e.b));
}

FIXTURE_TEARDOWN(recv)
{
	env_close(&self->e);
}

TEST_F_TIMEOUT(recv, forged_cursor_then_send, 120)
{
	struct env *e = &self->e;
	struct rxe_recv_wqe *w;
	struct ibv_wc wc;

	rt_fill(e->buf, 64, 0x31);
	ASSERT_EQ(0, rt_post_recv(&e->b, e->mr, e->buf + HALF, 64, MAGIC));
	w = find_slot(MAGIC);
	ASSERT_NE(NULL, w) TH_LOG("no RQ slot with the receive");
	ASSERT_EQ(1, w->dma.num_sge);
	ASSERT_EQ(64, w->dma.length);
	w->dma.cur_sge = variant->cur_sge;
	w->dma.sge_offset = variant->sge_offset;
	if (variant->set_resid)
		w->dma.resid = variant->resid;
	if (variant->set_length)
		w->dma.length = variant->length;
	TH_LOG("receive WQE: cur_sge 0x%x sge_offset 0x%x resid 0x%x length 0x%x",
	       w->dma.cur_sge, w->dma.sge_offset, w->dma.resid, w->dma.length);

	ASSERT_EQ(0, rt_post_rdma(&e->a, IBV_WR_SEND, e->mr, e->buf, 64,
				  0, 0, 7));
	ASSERT_EQ(0, rt_poll(e->b.cq, &wc));
	EXPECT_WC(IBV_WC_SUCCESS, wc.status, "the forged receive");
	EXPECT_EQ(MAGIC, wc.wr_id);
	EXPECT_EQ(64, wc.byte_len);
	EXPECT_EQ(-1, rt_check(e->buf + HALF, 64, 0x31));
	ASSERT_EQ(0, rt_poll(e->a.cq, &wc));
	EXPECT_WC(IBV_WC_SUCCESS, wc.status, "the SEND");
	after(_metadata, e);
}

/* ------------------------------------------------------------------ */

FIXTURE(inline_send) {
	struct env e;
};

FIXTURE_VARIANT(inline_send) {
	uint32_t sge_offset, resid;
};

FIXTURE_VARIANT_ADD(inline_send, sge_offset_huge) {
	.sge_offset = HUGE_SGE, .resid = 16,
};
FIXTURE_VARIANT_ADD(inline_send, resid_page) { .resid = PAGE };
FIXTURE_VARIANT_ADD(inline_send, offset_past_room) { .sge_offset = 8, .resid = 16 };

FIXTURE_SETUP(inline_send)
{
	ASSERT_EQ(0, env_open(&self->e));
}

FIXTURE_TEARDOWN(inline_send)
{
	env_close(&self->e);
}

TEST_F_TIMEOUT(inline_send, forged_cursor, 120)
{
	struct env *e = &self->e;
	struct ibv_qp_attr attr;
	struct ibv_qp_init_attr init;
	struct ibv_sge sge = { .addr = (uintptr_t)e->buf, .length = 16 };
	struct ibv_send_wr wr = {
		.wr_id = MAGIC, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED | IBV_SEND_INLINE,
	}, *bad;
	struct rxe_send_wqe *w;
	struct ibv_wc wc;
	long leak;

	ASSERT_EQ(0, ibv_query_qp(e->a.qp, &attr, IBV_QP_CAP, &init));
	TH_LOG("max_inline_data %u", attr.cap.max_inline_data);
	ASSERT_GE(attr.cap.max_inline_data, 16);
	rt_fill(e->buf, 16, 0x41);
	/* in RESET the doorbell fails: the WQE stays in the queue */
	EXPECT_NE(0, ibv_post_send(e->a.qp, &wr, &bad));
	w = find_slot(MAGIC);
	ASSERT_NE(NULL, w) TH_LOG("no SQ slot with the send");
	ASSERT_EQ(16, w->dma.length);
	w->dma.sge_offset = variant->sge_offset;
	w->dma.resid = variant->resid;
	w->dma.length = variant->resid;
	ASSERT_EQ(0, rt_rc_connect(&e->d, &e->a, &e->b));
	memset(e->buf + HALF, 0xee, 2 * PAGE);
	ASSERT_EQ(0, rt_post_recv(&e->b, e->mr, e->buf + HALF, 2 * PAGE, 9));
	/* the doorbell: a zero-length WRITE behind it */
	ASSERT_EQ(0, rt_post_rdma(&e->a, IBV_WR_RDMA_WRITE, e->mr, e->buf, 0,
				  (uintptr_t)e->buf + HALF, e->mr->rkey, 8));
	ASSERT_EQ(0, rt_poll(e->a.cq, &wc));
	EXPECT_EQ(MAGIC, wc.wr_id);
	EXPECT_WC(IBV_WC_LOC_QP_OP_ERR, wc.status, "the forged inline SEND");
	if (!rt_poll_for(e->b.cq, &wc, 2))
		TH_LOG("the peer's receive: %s, byte_len %u",
		       ibv_wc_status_str(wc.status), wc.byte_len);
	leak = 0;
	for (size_t i = 0; i < 2 * PAGE; i++)
		leak += e->buf[HALF + i] != 0xee;
	EXPECT_EQ(0, leak) TH_LOG("%ld bytes reached the peer", leak);
	after(_metadata, e);
}

/* ------------------------------------------------------------------ */

FIXTURE(atomic_write) {
	struct env e;
	struct ibv_qp_ex *ax;
};

FIXTURE_VARIANT(atomic_write) {
	uint32_t resid;
};

FIXTURE_VARIANT_ADD(atomic_write, resid_16) { .resid = 16 };
FIXTURE_VARIANT_ADD(atomic_write, resid_page) { .resid = PAGE };

FIXTURE_SETUP(atomic_write)
{
	struct ibv_qp_init_attr_ex attr = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = 16, .max_recv_wr = 16,
			.max_send_sge = 1, .max_recv_sge = 1,
		},
		.comp_mask = IBV_QP_INIT_ATTR_PD |
			     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.send_ops_flags = IBV_QP_EX_WITH_ATOMIC_WRITE |
				  IBV_QP_EX_WITH_RDMA_WRITE,
	};
	struct env *e = &self->e;

	ASSERT_EQ(0, env_open(e));
	/* a's QP again, with ATOMIC WRITE among its extended send ops */
	ibv_destroy_qp(e->a.qp);
	attr.pd = e->d.pd;
	attr.send_cq = e->a.cq;
	attr.recv_cq = e->a.cq;
	e->a.qp = ibv_create_qp_ex(e->d.ctx, &attr);
	ASSERT_NE(NULL, e->a.qp) TH_LOG("create_qp_ex: %s", strerror(errno));
	self->ax = ibv_qp_to_qp_ex(e->a.qp);
	ASSERT_NE(NULL, self->ax);
}

FIXTURE_TEARDOWN(atomic_write)
{
	env_close(&self->e);
}

TEST_F_TIMEOUT(atomic_write, forged_resid, 120)
{
	struct env *e = &self->e;
	uint64_t val = 0x4141414141414141ull;
	struct rxe_send_wqe *w;
	struct ibv_wc wc;
	long leak;

	rt_fill(e->buf, 2 * PAGE, 0x41);
	memset(e->buf + HALF, 0xee, 2 * PAGE);
	/* in RESET the doorbell fails: the WQE stays in the queue */
	ibv_wr_start(self->ax);
	self->ax->wr_id = MAGIC;
	self->ax->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_atomic_write(self->ax, e->mr->rkey, (uintptr_t)e->buf + HALF,
			    &val);
	EXPECT_NE(0, ibv_wr_complete(self->ax));
	w = find_slot(MAGIC);
	ASSERT_NE(NULL, w) TH_LOG("no SQ slot with the ATOMIC WRITE");
	ASSERT_EQ(8, w->dma.length);
	w->dma.resid = variant->resid;
	w->dma.length = variant->resid;
	ASSERT_EQ(0, rt_rc_connect(&e->d, &e->a, &e->b));
	/* the doorbell: a zero-length WRITE behind it */
	ASSERT_EQ(0, rt_post_rdma(&e->a, IBV_WR_RDMA_WRITE, e->mr, e->buf, 0,
				  (uintptr_t)e->buf + HALF, e->mr->rkey, 8));
	ASSERT_EQ(0, rt_poll(e->a.cq, &wc));
	EXPECT_EQ(MAGIC, wc.wr_id);
	EXPECT_WC(IBV_WC_LOC_QP_OP_ERR, wc.status, "the forged ATOMIC WRITE");
	leak = 0;
	for (size_t i = 0; i < 2 * PAGE; i++)
		leak += e->buf[HALF + i] != 0xee;
	EXPECT_EQ(0, leak) TH_LOG("%ld bytes changed at the peer", leak);
	after(_metadata, e);
}

/* ------------------------------------------------------------------ */

struct hammer {
	uint32_t *cur_sge, *num_sge;
	atomic_bool stop;
	unsigned long n;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;

	while (!atomic_load(&h->stop)) {
		*(volatile uint32_t *)h->cur_sge = HUGE_SGE;
		*(volatile uint32_t *)h->num_sge = 0x1000;
		h->n++;
	}
	return NULL;
}

FIXTURE(race) {
	struct env e;
};

FIXTURE_VARIANT(race) {
	enum ibv_wr_opcode op;
};

FIXTURE_VARIANT_ADD(race, read) { .op = IBV_WR_RDMA_READ };
FIXTURE_VARIANT_ADD(race, write) { .op = IBV_WR_RDMA_WRITE };

FIXTURE_SETUP(race)
{
	ASSERT_EQ(0, env_open(&self->e));
	ASSERT_EQ(0, rt_rc_connect(&self->e.d, &self->e.a, &self->e.b));
}

FIXTURE_TEARDOWN(race)
{
	env_close(&self->e);
}

TEST_F_TIMEOUT(race, cursor_under_the_kernel, 300)
{
	struct env *e = &self->e;
	struct rxe_send_wqe *w;
	struct hammer h = {};
	struct ibv_wc wc;
	pthread_t t;
	int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, rt_rc_renew(&e->d, &e->a, &e->b));
		ASSERT_EQ(0, rt_post_rdma(&e->a, variant->op, e->mr, e->buf,
					  HALF, (uintptr_t)e->buf + HALF,
					  e->mr->rkey, MAGIC));
		w = find_slot(MAGIC);
		ASSERT_NE(NULL, w) TH_LOG("no SQ slot with the WR");
		h.cur_sge = &w->dma.cur_sge;
		h.num_sge = &w->dma.num_sge;
		atomic_store(&h.stop, false);
		ASSERT_EQ(0, pthread_create(&t, NULL, hammer_fn, &h));
		ASSERT_EQ(0, rt_poll_for(e->a.cq, &wc, 60));
		atomic_store(&h.stop, true);
		pthread_join(t, NULL);
		TH_LOG("round %d: %s (%lu writes)", i,
		       ibv_wc_status_str(wc.status), h.n);
	}
	after(_metadata, e);
}

/* ------------------------------------------------------------------ */

#define WR_REG_MR	0x20		/* the kernel's IB_WR_REG_MR */
#define BAD_PTR		0xdead000000000000ull	/* non-canonical */

struct flipper {
	uint32_t *opcode;
	atomic_bool stop;
	unsigned long n;
};

static void *flip_fn(void *arg)
{
	struct flipper *f = arg;

	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		*(volatile uint32_t *)f->opcode = IBV_WR_LOCAL_INV;
		*(volatile uint32_t *)f->opcode = WR_REG_MR;
		f->n++;
	}
	return NULL;
}

FIXTURE(race_opcode) {
	struct env e;
};

FIXTURE_SETUP(race_opcode)
{
	ASSERT_EQ(0, env_open(&self->e));
}

FIXTURE_TEARDOWN(race_opcode)
{
	env_close(&self->e);
}

TEST_F_TIMEOUT(race_opcode, local_inv_becomes_reg_mr, 300)
{
	struct env *e = &self->e;
	struct ibv_send_wr wr = {
		.wr_id = MAGIC, .opcode = IBV_WR_LOCAL_INV,
		.send_flags = IBV_SEND_SIGNALED,
		.invalidate_rkey = 0x100,
	}, *bad;
	unsigned long status[IBV_WC_GENERAL_ERR + 1] = {};
	struct flipper f = {};
	struct rxe_send_wqe *w;
	struct ibv_wc wc;
	double end = rt_now() + 20;
	pthread_t t;
	int i;

	for (i = 0; i < 400 && rt_now() < end; i++) {
		rt_qp_destroy(&e->a);
		rt_qp_destroy(&e->b);
		ASSERT_EQ(0, rt_qp_create(&e->d, &e->a, 16));
		ASSERT_EQ(0, rt_qp_create(&e->d, &e->b, 16));
		/* in RESET the doorbell fails: the WQE stays in the queue */
		EXPECT_NE(0, ibv_post_send(e->a.qp, &wr, &bad));
		w = find_slot(MAGIC);
		ASSERT_NE(NULL, w) TH_LOG("no SQ slot with the LOCAL_INV");
		w->wr.wr.rdma.remote_addr = BAD_PTR;
		f.opcode = &w->wr.opcode;
		atomic_store(&f.stop, false);
		ASSERT_EQ(0, pthread_create(&t, NULL, flip_fn, &f));
		ASSERT_EQ(0, rt_rc_connect(&e->d, &e->a, &e->b));
		/* the doorbell: a zero-length WRITE behind it */
		ASSERT_EQ(0, rt_post_rdma(&e->a, IBV_WR_RDMA_WRITE, e->mr,
					  e->buf, 0, (uintptr_t)e->buf + HALF,
					  e->mr->rkey, 8));
		ASSERT_EQ(0, rt_poll_for(e->a.cq, &wc, 30));
		atomic_store(&f.stop, true);
		pthread_join(t, NULL);
		EXPECT_EQ(MAGIC, wc.wr_id);
		EXPECT_NE(IBV_WC_SUCCESS, wc.status)
			TH_LOG("a LOCAL_INV of no MR, or a user REG_MR, succeeded");
		if (wc.status <= IBV_WC_GENERAL_ERR)
			status[wc.status]++;
	}
	TH_LOG("%d rounds, %lu flips: %lu local QP operation errors, %lu other",
	       i, f.n, status[IBV_WC_LOC_QP_OP_ERR],
	       (unsigned long)i - status[IBV_WC_LOC_QP_OP_ERR]);
	after(_metadata, e);
}

TEST_HARNESS_MAIN
