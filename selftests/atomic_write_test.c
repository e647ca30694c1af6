// SPDX-License-Identifier: GPL-2.0
/*
 * ATOMIC WRITE (IBTA 1.5, annex A19 "Memory Placement Extensions";
 * ibv_wr_atomic_write(3)): an RC request that stores 8 bytes at an 8-byte
 * aligned remote address as one atomic store. rdma-core 44's rxe provider
 * posts it (IBV_WR_ATOMIC_WRITE); patch 0026 makes our 6.1 module execute
 * it. What is checked comes from the annex and the man page, not from the
 * code:
 *
 *  aw.*.lands            the 8 bytes land as they were given (byte order
 *                        kept), nothing beside them changes, the
 *                        completion is IBV_WC_ATOMIC_WRITE; into a pinned,
 *                        a revocable and an ODP MR (whose page neither the
 *                        MR nor the CPU has touched: the responder faults
 *                        it in, odp_page_faults moves)
 *  aw.*.misaligned       an address that is not 8-byte aligned: the
 *                        responder NAKs an invalid request,
 *                        IBV_WC_REM_INV_REQ_ERR, nothing written
 *  aw.*.burst            60 ATOMIC WRITEs in one go, more than max_rd_atomic
 *                        (16: each takes a responder resource), then a
 *                        FETCH_ADD of the first target: all complete in
 *                        order, the FETCH_ADD sees the written value
 *  rights.*              the right that counts is remote write: an MR with
 *                        remote write only takes the store (as rdma-core's
 *                        test_qp_ex_rc_atomic_write assumes); one with
 *                        remote read and remote atomic but not remote
 *                        write gives IBV_WC_REM_ACCESS_ERR, nothing written
 *  global.revoked        into a revoked revocable MR: IBV_WC_REM_ACCESS_ERR
 *                        and nothing written (the pages are still the
 *                        owner's)
 *  global.device_cap     ibv_query_device_ex() advertises it
 *                        (IB_UVERBS_DEVICE_ATOMIC_WRITE, bit 40 of
 *                        device_cap_flags_ex)
 *
 * The memory under test is on $RXE_DEV, the requester on $RXE_PEER_DEV if
 * set (rt_peer_open()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"

/* IB_UVERBS_DEVICE_ATOMIC_WRITE of Linux 6.2's uAPI; no IBV_ name in 44 */
#define AW_DEVICE_ATOMIC_WRITE	(1ULL << 40)

#define AW_LEN		(4 * 4096)
#define AW_GUARD	0xa5
#define AW_BURST	60

enum aw_reg { AW_PINNED, AW_ODP, AW_REVOCABLE };

struct aw {
	struct rt_dev d, p;	/* d: the target's device, p: the requester's */
	struct rt_qp a, b;	/* a: requester (ibv_qp_ex), b: responder */
	struct ibv_qp_ex *ax;
	uint8_t *tgt, *loc;
	struct ibv_mr *tgt_mr, *loc_mr;
};

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* An RC QP whose extended send ops include ATOMIC WRITE. */
static int aw_qp_create(struct rt_dev *d, struct rt_qp *q,
			struct ibv_qp_ex **qx)
{
	struct ibv_qp_init_attr_ex attr = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = 64,
			.max_recv_wr = 4,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
		.comp_mask = IBV_QP_INIT_ATTR_PD |
			     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.pd = d->pd,
		.send_ops_flags = IBV_QP_EX_WITH_ATOMIC_WRITE |
				  IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD,
	};

	memset(q, 0, sizeof(*q));
	q->cq = ibv_create_cq(d->ctx, 128, NULL, NULL, 0);
	if (!q->cq)
		return -errno;
	attr.send_cq = q->cq;
	attr.recv_cq = q->cq;
	q->qp = ibv_create_qp_ex(d->ctx, &attr);
	if (!q->qp)
		return -errno;
	*qx = ibv_qp_to_qp_ex(q->qp);
	return *qx ? 0 : -EINVAL;
}

static void aw_open(struct __test_metadata *_metadata, struct aw *w)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;

	ASSERT_EQ(0, rt_dev_open(&w->d));
	ASSERT_EQ(0, rt_peer_open(&w->d, &w->p));
	ASSERT_EQ(0, aw_qp_create(&w->p, &w->a, &w->ax));
	ASSERT_EQ(0, rt_qp_create(&w->d, &w->b, 16));
	ASSERT_EQ(0, rt_rc_connect2(&w->p, &w->a, &w->d, &w->b));
	w->loc = map_anon(AW_LEN);
	ASSERT_NE(NULL, w->loc);
	w->loc_mr = ibv_reg_mr(w->p.pd, w->loc, AW_LEN, access);
	ASSERT_NE(NULL, w->loc_mr) TH_LOG("reg_mr: %s", strerror(errno));
	w->tgt = map_anon(AW_LEN);
	ASSERT_NE(NULL, w->tgt);
}

static void aw_close(struct aw *w)
{
	rt_qp_destroy(&w->a);
	rt_qp_destroy(&w->b);
	if (w->tgt_mr)
		ibv_dereg_mr(w->tgt_mr);
	if (w->loc_mr)
		ibv_dereg_mr(w->loc_mr);
	if (w->tgt)
		munmap(w->tgt, AW_LEN);
	if (w->loc)
		munmap(w->loc, AW_LEN);
	rt_dev_close(&w->p);
	rt_dev_close(&w->d);
}

static struct ibv_mr *aw_reg(struct aw *w, enum aw_reg reg, int access)
{
	switch (reg) {
	case AW_ODP:
		return ibv_reg_mr(w->d.pd, w->tgt, AW_LEN,
				  access | IBV_ACCESS_ON_DEMAND);
	case AW_REVOCABLE:
		return rxer_reg_mr(w->d.pd, w->tgt, AW_LEN, access,
				   RXER_REG_REVOCABLE);
	default:
		return ibv_reg_mr(w->d.pd, w->tgt, AW_LEN, access);
	}
}

/* Post one signaled ATOMIC WRITE of the 8 bytes at val. */
static int aw_post(struct aw *w, uint32_t rkey, uint64_t raddr,
		   const void *val, uint64_t wr_id)
{
	ibv_wr_start(w->ax);
	w->ax->wr_id = wr_id;
	w->ax->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_atomic_write(w->ax, rkey, raddr, val);
	return -ibv_wr_complete(w->ax);
}

/* One completion of a: its status, and its opcode and wr_id on success. */
static enum ibv_wc_status aw_wc(struct __test_metadata *_metadata,
				struct aw *w, uint64_t wr_id)
{
	struct ibv_wc wc;

	memset(&wc, 0, sizeof(wc));
	EXPECT_EQ(0, rt_poll(w->a.cq, &wc));
	if (wc.status == IBV_WC_SUCCESS) {
		EXPECT_EQ(IBV_WC_ATOMIC_WRITE, wc.opcode);
		EXPECT_EQ(wr_id, wc.wr_id);
	}
	return wc.status;
}

/* The first byte of buf that is not g, but for [off, off + len), or -1. */
static long aw_damage(const uint8_t *buf, uint8_t g, size_t off, size_t len)
{
	size_t i;

	for (i = 0; i < AW_LEN; i++) {
		if (i == off)
			i += len;
		if (i < AW_LEN && buf[i] != g)
			return (long)i;
	}
	return -1;
}

/* 8 bytes of distinct values, so that a swapped byte order shows. */
static const uint8_t aw_val[8] = { 0x01, 0x23, 0x45, 0x67,
				   0x89, 0xab, 0xcd, 0xef };

FIXTURE(aw) {
	struct aw w;
	uint8_t guard;	/* what the target's bytes are before */
};

FIXTURE_VARIANT(aw) {
	enum aw_reg reg;
};

FIXTURE_VARIANT_ADD(aw, pinned) { .reg = AW_PINNED };
FIXTURE_VARIANT_ADD(aw, revocable) { .reg = AW_REVOCABLE };
/* neither the MR nor the CPU has touched the target's pages */
FIXTURE_VARIANT_ADD(aw, odp) { .reg = AW_ODP };

FIXTURE_SETUP(aw)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	struct aw *w = &self->w;

	aw_open(_metadata, w);
	self->guard = variant->reg == AW_ODP ? 0 : AW_GUARD;
	if (variant->reg != AW_ODP)
		memset(w->tgt, AW_GUARD, AW_LEN);
	w->tgt_mr = aw_reg(w, variant->reg, access);
	ASSERT_NE(NULL, w->tgt_mr) TH_LOG("reg: %s", strerror(errno));
}

FIXTURE_TEARDOWN(aw)
{
	aw_close(&self->w);
}

TEST_F(aw, lands)
{
	struct aw *w = &self->w;
	size_t off = 4096 + 24;
	long long faults = rt_counter("odp_page_faults");

	ASSERT_EQ(0, aw_post(w, w->tgt_mr->rkey, (uintptr_t)(w->tgt + off),
			     aw_val, 1));
	ASSERT_EQ(IBV_WC_SUCCESS, aw_wc(_metadata, w, 1));
	EXPECT_EQ(0, memcmp(w->tgt + off, aw_val, 8));
	EXPECT_EQ(-1, aw_damage(w->tgt, self->guard, off, 8));
	if (variant->reg == AW_ODP)
		EXPECT_LT(faults, rt_counter("odp_page_faults"));
}

TEST_F(aw, misaligned)
{
	struct aw *w = &self->w;
	size_t off = 4096 + 4;

	ASSERT_EQ(0, aw_post(w, w->tgt_mr->rkey, (uintptr_t)(w->tgt + off),
			     aw_val, 2));
	EXPECT_EQ(IBV_WC_REM_INV_REQ_ERR, aw_wc(_metadata, w, 2));
	EXPECT_EQ(-1, aw_damage(w->tgt, self->guard, 0, 0));
}

TEST_F(aw, burst)
{
	struct aw *w = &self->w;
	uint64_t *res = (uint64_t *)w->loc;
	uint64_t v[AW_BURST];
	struct ibv_sge sge = {
		.addr = (uintptr_t)res,
		.length = 8,
		.lkey = w->loc_mr->lkey,
	};
	struct ibv_wc wc;
	int i;

	ibv_wr_start(w->ax);
	for (i = 0; i < AW_BURST; i++) {
		v[i] = 0x1000000000000000ull * (i % 15 + 1) + i;
		w->ax->wr_id = 100 + i;
		w->ax->wr_flags = IBV_SEND_SIGNALED;
		ibv_wr_atomic_write(w->ax, w->tgt_mr->rkey,
				    (uintptr_t)(w->tgt + 8192 + 8 * i), &v[i]);
	}
	w->ax->wr_id = 100 + AW_BURST;
	w->ax->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_atomic_fetch_add(w->ax, w->tgt_mr->rkey,
				(uintptr_t)(w->tgt + 8192), 1);
	ibv_wr_set_sge_list(w->ax, 1, &sge);
	ASSERT_EQ(0, ibv_wr_complete(w->ax));

	for (i = 0; i <= AW_BURST; i++) {
		memset(&wc, 0, sizeof(wc));
		ASSERT_EQ(0, rt_poll(w->a.cq, &wc)) TH_LOG("completion %d", i);
		ASSERT_EQ(IBV_WC_SUCCESS, wc.status)
			TH_LOG("completion %d: %s", i,
			       ibv_wc_status_str(wc.status));
		EXPECT_EQ((uint64_t)(100 + i), wc.wr_id);
		EXPECT_EQ(i < AW_BURST ? IBV_WC_ATOMIC_WRITE :
			  IBV_WC_FETCH_ADD, wc.opcode);
	}
	EXPECT_EQ(v[0], *res);
	EXPECT_EQ(v[0] + 1, *(uint64_t *)(w->tgt + 8192));
	for (i = 1; i < AW_BURST; i++)
		EXPECT_EQ(v[i], *(uint64_t *)(w->tgt + 8192 + 8 * i));
	EXPECT_EQ(-1, aw_damage(w->tgt, self->guard, 8192, 8 * AW_BURST));
}

FIXTURE(rights) {
	struct aw w;
};

FIXTURE_VARIANT(rights) {
	int access;
	enum ibv_wc_status status;
};

/* as rdma-core's test_qp_ex_rc_atomic_write registers its MR */
FIXTURE_VARIANT_ADD(rights, remote_write_only) {
	.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
	.status = IBV_WC_SUCCESS,
};
FIXTURE_VARIANT_ADD(rights, read_atomic_no_write) {
	.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
		  IBV_ACCESS_REMOTE_ATOMIC,
	.status = IBV_WC_REM_ACCESS_ERR,
};

FIXTURE_SETUP(rights)
{
	struct aw *w = &self->w;

	aw_open(_metadata, w);
	memset(w->tgt, AW_GUARD, AW_LEN);
	w->tgt_mr = ibv_reg_mr(w->d.pd, w->tgt, AW_LEN, variant->access);
	ASSERT_NE(NULL, w->tgt_mr) TH_LOG("reg: %s", strerror(errno));
}

FIXTURE_TEARDOWN(rights)
{
	aw_close(&self->w);
}

TEST_F(rights, atomic_write)
{
	struct aw *w = &self->w;
	size_t off = 64;

	ASSERT_EQ(0, aw_post(w, w->tgt_mr->rkey, (uintptr_t)(w->tgt + off),
			     aw_val, 3));
	ASSERT_EQ(variant->status, aw_wc(_metadata, w, 3));
	if (variant->status == IBV_WC_SUCCESS) {
		EXPECT_EQ(0, memcmp(w->tgt + off, aw_val, 8));
		EXPECT_EQ(-1, aw_damage(w->tgt, AW_GUARD, off, 8));
	} else {
		EXPECT_EQ(-1, aw_damage(w->tgt, AW_GUARD, 0, 0));
	}
}

TEST(revoked)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	struct rxe_revoke_mr_state st;
	struct aw w = { 0 };

	aw_open(_metadata, &w);
	memset(w.tgt, AW_GUARD, AW_LEN);
	w.tgt_mr = aw_reg(&w, AW_REVOCABLE, access);
	ASSERT_NE(NULL, w.tgt_mr) TH_LOG("reg: %s", strerror(errno));
	ASSERT_EQ(0, rxer_revoke_mr(w.tgt_mr));
	ASSERT_EQ(0, rxer_query_mr(w.tgt_mr, &st));
	ASSERT_EQ(RXE_REVOKE_MR_REVOKED, st.status);

	ASSERT_EQ(0, aw_post(&w, w.tgt_mr->rkey, (uintptr_t)(w.tgt + 128),
			     aw_val, 4));
	EXPECT_EQ(IBV_WC_REM_ACCESS_ERR, aw_wc(_metadata, &w, 4));
	EXPECT_EQ(-1, aw_damage(w.tgt, AW_GUARD, 0, 0));
	aw_close(&w);
}

TEST(device_cap)
{
	struct ibv_device_attr_ex attr;
	struct rt_dev d;

	ASSERT_EQ(0, rt_dev_open(&d));
	memset(&attr, 0, sizeof(attr));
	ASSERT_EQ(0, ibv_query_device_ex(d.ctx, NULL, &attr));
	EXPECT_NE(0ull, attr.device_cap_flags_ex & AW_DEVICE_ATOMIC_WRITE)
		TH_LOG("device_cap_flags_ex %#llx",
		       (unsigned long long)attr.device_cap_flags_ex);
	rt_dev_close(&d);
}

#include "rt_filter_main.h"
