// SPDX-License-Identifier: GPL-2.0
/*
 * RC loopback between two QPs of one rxe device on pinned anonymous memory:
 * SEND/RECV, RDMA WRITE, RDMA READ, ATOMIC CMP_SWP and FETCH_ADD, with the
 * data checked byte for byte, including that nothing outside the target
 * range changed.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "rxe_test.h"

#define BUF_SIZE	((1 << 20) + 8192)
#define GUARD		0xee

struct rc {
	struct rt_dev d;
	struct rt_qp a, b;	/* a is the requester, b the responder */
	uint8_t *src, *dst;
	struct ibv_mr *src_mr, *dst_mr;
};

static void rc_open(struct __test_metadata *_metadata, struct rc *c)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;

	ASSERT_EQ(0, rt_dev_open(&c->d));
	ASSERT_EQ(0, rt_qp_create(&c->d, &c->a, 16));
	ASSERT_EQ(0, rt_qp_create(&c->d, &c->b, 16));
	ASSERT_EQ(0, rt_rc_connect(&c->d, &c->a, &c->b));
	c->src = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c->dst = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c->src);
	ASSERT_NE(MAP_FAILED, c->dst);
	memset(c->src, GUARD, BUF_SIZE);
	memset(c->dst, GUARD, BUF_SIZE);
	c->src_mr = ibv_reg_mr(c->d.pd, c->src, BUF_SIZE, access);
	c->dst_mr = ibv_reg_mr(c->d.pd, c->dst, BUF_SIZE, access);
	ASSERT_NE(NULL, c->src_mr) TH_LOG("reg_mr: %s", strerror(errno));
	ASSERT_NE(NULL, c->dst_mr) TH_LOG("reg_mr: %s", strerror(errno));
}

static void rc_close(struct rc *c)
{
	rt_qp_destroy(&c->a);
	rt_qp_destroy(&c->b);
	if (c->src_mr)
		ibv_dereg_mr(c->src_mr);
	if (c->dst_mr)
		ibv_dereg_mr(c->dst_mr);
	if (c->src && c->src != MAP_FAILED)
		munmap(c->src, BUF_SIZE);
	if (c->dst && c->dst != MAP_FAILED)
		munmap(c->dst, BUF_SIZE);
	rt_dev_close(&c->d);
}

/* Nothing but [off, off + len) of buf may differ from the guard byte. */
static long guard_damage(const uint8_t *buf, size_t off, size_t len)
{
	size_t i;

	for (i = 0; i < BUF_SIZE; i++) {
		if (i == off)
			i += len;
		if (i < BUF_SIZE && buf[i] != GUARD)
			return (long)i;
	}
	return -1;
}

static void expect_wc(struct __test_metadata *_metadata, struct ibv_cq *cq,
		      enum ibv_wc_opcode op, uint64_t wr_id, uint32_t byte_len)
{
	struct ibv_wc wc;

	ASSERT_EQ(0, rt_poll(cq, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status)
		TH_LOG("wc status %s", ibv_wc_status_str(wc.status));
	EXPECT_EQ(op, wc.opcode);
	EXPECT_EQ(wr_id, wc.wr_id);
	if (op == IBV_WC_RECV)
		EXPECT_EQ(byte_len, wc.byte_len);
}

FIXTURE(rc) {
	struct rc c;
};

FIXTURE_VARIANT(rc) {
	size_t off;	/* offset of the payload in both buffers */
	size_t len;
};

FIXTURE_VARIANT_ADD(rc, one_byte) { .off = 0, .len = 1 };
FIXTURE_VARIANT_ADD(rc, page) { .off = 4096, .len = 4096 };
FIXTURE_VARIANT_ADD(rc, unaligned_1m) { .off = 4093, .len = (1 << 20) + 7 };

FIXTURE_SETUP(rc)
{
	rc_open(_metadata, &self->c);
}

FIXTURE_TEARDOWN(rc)
{
	rc_close(&self->c);
}

TEST_F(rc, send_recv)
{
	struct rc *c = &self->c;

	rt_fill(c->src + variant->off, variant->len, 1);
	ASSERT_EQ(0, rt_post_recv(&c->b, c->dst_mr, c->dst + variant->off,
				  variant->len, 7));
	ASSERT_EQ(0, rt_post_rdma(&c->a, IBV_WR_SEND, c->src_mr,
				  c->src + variant->off, variant->len, 0, 0, 8));
	expect_wc(_metadata, c->a.cq, IBV_WC_SEND, 8, 0);
	expect_wc(_metadata, c->b.cq, IBV_WC_RECV, 7, variant->len);
	EXPECT_EQ(-1, rt_check(c->dst + variant->off, variant->len, 1));
	EXPECT_EQ(-1, guard_damage(c->dst, variant->off, variant->len));
}

TEST_F(rc, rdma_write)
{
	struct rc *c = &self->c;

	rt_fill(c->src + variant->off, variant->len, 2);
	ASSERT_EQ(0, rt_post_rdma(&c->a, IBV_WR_RDMA_WRITE, c->src_mr,
				  c->src + variant->off, variant->len,
				  (uintptr_t)(c->dst + variant->off),
				  c->dst_mr->rkey, 9));
	expect_wc(_metadata, c->a.cq, IBV_WC_RDMA_WRITE, 9, 0);
	EXPECT_EQ(-1, rt_check(c->dst + variant->off, variant->len, 2));
	EXPECT_EQ(-1, guard_damage(c->dst, variant->off, variant->len));
}

TEST_F(rc, rdma_read)
{
	struct rc *c = &self->c;

	rt_fill(c->dst + variant->off, variant->len, 3);
	ASSERT_EQ(0, rt_post_rdma(&c->a, IBV_WR_RDMA_READ, c->src_mr,
				  c->src + variant->off, variant->len,
				  (uintptr_t)(c->dst + variant->off),
				  c->dst_mr->rkey, 10));
	expect_wc(_metadata, c->a.cq, IBV_WC_RDMA_READ, 10, 0);
	EXPECT_EQ(-1, rt_check(c->src + variant->off, variant->len, 3));
	EXPECT_EQ(-1, guard_damage(c->src, variant->off, variant->len));
}

FIXTURE(atomic) {
	struct rc c;
};

FIXTURE_SETUP(atomic)
{
	rc_open(_metadata, &self->c);
}

FIXTURE_TEARDOWN(atomic)
{
	rc_close(&self->c);
}

TEST_F(atomic, cmp_swp)
{
	struct rc *c = &self->c;
	uint64_t *remote = (uint64_t *)(c->dst + 4096 + 8);
	uint64_t *result = (uint64_t *)c->src;

	*remote = 0x1111222233334444ull;
	ASSERT_EQ(0, rt_post_atomic(&c->a, IBV_WR_ATOMIC_CMP_AND_SWP, c->src_mr,
				    result, (uintptr_t)remote, c->dst_mr->rkey,
				    0x1111222233334444ull,
				    0x5555666677778888ull, 11));
	expect_wc(_metadata, c->a.cq, IBV_WC_COMP_SWAP, 11, 0);
	EXPECT_EQ(0x1111222233334444ull, *result);
	EXPECT_EQ(0x5555666677778888ull, *remote);

	/* A compare that does not match returns the value and swaps nothing. */
	ASSERT_EQ(0, rt_post_atomic(&c->a, IBV_WR_ATOMIC_CMP_AND_SWP, c->src_mr,
				    result, (uintptr_t)remote, c->dst_mr->rkey,
				    0x1111222233334444ull, 0x9999ull, 12));
	expect_wc(_metadata, c->a.cq, IBV_WC_COMP_SWAP, 12, 0);
	EXPECT_EQ(0x5555666677778888ull, *result);
	EXPECT_EQ(0x5555666677778888ull, *remote);
	EXPECT_EQ(-1, guard_damage(c->dst, 4096 + 8, 8));
}

TEST_F(atomic, fetch_add)
{
	struct rc *c = &self->c;
	uint64_t *remote = (uint64_t *)(c->dst + 8192);
	uint64_t *result = (uint64_t *)(c->src + 64);
	int i;

	*remote = 0xfffffffffffffffeull;
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, rt_post_atomic(&c->a, IBV_WR_ATOMIC_FETCH_AND_ADD,
					    c->src_mr, result, (uintptr_t)remote,
					    c->dst_mr->rkey, 1, 0, 20 + i));
		expect_wc(_metadata, c->a.cq, IBV_WC_FETCH_ADD, 20 + i, 0);
		EXPECT_EQ(0xfffffffffffffffeull + i, *result);
	}
	/* It wrapped around: 2^64 - 2 + 4 = 2. */
	EXPECT_EQ(2ull, *remote);
	EXPECT_EQ(-1, guard_damage(c->dst, 8192, 8));
}

TEST_HARNESS_MAIN
