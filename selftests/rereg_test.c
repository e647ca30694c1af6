// SPDX-License-Identifier: GPL-2.0
/*
 * Re-registration (ibv_rereg_mr(3)) of pinned, ODP and revocable MRs, derived
 * from the man page, IBTA and the key policy of Documentation/semantics.rst
 * ("Re-registration and keys"): a re-registration changes the MR's
 * translation (IBV_REREG_MR_CHANGE_TRANSLATION), PD (_CHANGE_PD) or access
 * flags (_CHANGE_ACCESS) and keeps its handle. One that only adds access
 * rights keeps lkey and rkey, and a peer's rkey from before serves the new
 * rights at once; any other returns new keys, and the old ones fail from
 * then on. rdma-core 44's rxe provider has no rereg_mr, so the tests issue
 * the standard command with rxer_rereg_mr().
 *
 *  moved.*   (pinned, ODP) a translation change: a peer's WRITE and READ
 *            with the new rkey reach the new buffer and not the old one,
 *            the old rkey and lkey fail; onto fsdax memory the MR becomes
 *            revocable (pinned) or stays ODP, and a revoke event names its
 *            handle; under a flood of WRITEs and READs, with the old
 *            buffer unmapped after each re-registration, every completion
 *            is a success whose data is in the buffer its rkey named, or
 *            an error, and a WR posted with a dead rkey never succeeds.
 *  kind.*    (pinned, ODP, revocable) access flags: removing remote write
 *            makes a peer's WRITE fail with a remote access error, READ
 *            still works on the same pages; adding write access to pages
 *            pinned read-only needs a new translation (EACCES), except for
 *            ODP. Adding rights keeps the keys (widen_keeps_keys: an MR
 *            registered for local write only, as rdma-core's
 *            test_mr_rereg_access does, serves a WRITE with the rkey it
 *            had), taking one away kills them even for what stays
 *            allowed. PD: a QP of the old PD gets a remote access error (and a
 *            receive into the MR fails), a QP of the new PD works, the PD
 *            the MR left can be freed. Bad flags and access get EINVAL
 *            (EOPNOTSUPP for unknown flags) and leave the MR as it was.
 *            A bound memory window makes any re-registration EBUSY. Under
 *            a flood, access and PD changes never let an access through
 *            that the rkey it carried did not allow. No counter of revokes
 *            or restores moves without a new translation.
 *  revoked_stays_revoked
 *            a revoked revocable MR changes PD, access and keys without a
 *            translation and stays revoked; the restore keeps them.
 *
 * main() takes -f FIXTURE, -v VARIANT, -t TEST (each may repeat) and -l,
 * as hardening_test's does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"

#define PAGE		4096
#define LEN		(256 << 10)	/* a target MR */
#define HALF		(LEN / 2)	/* WRITEs go below, READs come from above */
#define RW		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)
#define NO_RW		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ)
#define RO		IBV_ACCESS_REMOTE_READ

enum kind { K_PINNED, K_ODP, K_REVOCABLE };

/* The access flags to keep an MR of kind k what it is. */
static int acc(enum kind k, int access)
{
	return access | (k == K_ODP ? IBV_ACCESS_ON_DEMAND : 0);
}

static struct ibv_mr *reg(struct ibv_pd *pd, enum kind k, void *buf,
			  size_t len, int access)
{
	if (k == K_REVOCABLE)
		return rxer_reg_mr(pd, buf, len, access, RXER_REG_REVOCABLE);
	return ibv_reg_mr(pd, buf, len, acc(k, access));
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static long first_not(const void *buf, size_t len, uint8_t c)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return (long)i;
	return -1;
}

/* A completion status, with what it was the status of. */
#define EXPECT_WC(want, got, what) do {					\
	enum ibv_wc_status __s = (got);					\
	EXPECT_EQ(want, __s) TH_LOG("%s: %s, want %s", (what),		\
				    ibv_wc_status_str(__s),		\
				    ibv_wc_status_str(want));		\
} while (0)

/* Post one signaled RDMA WRITE or READ and wait for it. */
static enum ibv_wc_status rdma(struct rt_qp *q, enum ibv_wr_opcode op,
			       uint32_t lkey, void *laddr, uint32_t len,
			       void *raddr, uint32_t rkey)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)laddr, .length = len, .lkey = lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = op,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	struct ibv_wc wc;

	wr.wr.rdma.remote_addr = (uintptr_t)raddr;
	wr.wr.rdma.rkey = rkey;
	if (ibv_post_send(q->qp, &wr, &bad))
		return IBV_WC_GENERAL_ERR;
	if (rt_poll_for(q->cq, &wc, 20))
		return IBV_WC_RESP_TIMEOUT_ERR;	/* none came */
	return wc.status;
}

/*
 * The setting of every test: QP a (requester) and b (responder) of the
 * device's PD, the MR under test over x (b's side of every RDMA operation)
 * and a pinned MR "loc" for a's side. x and y are filled with 0x11 and
 * 0x22, loc with 0x33.
 */
struct rr {
	struct rt_dev d;
	struct rt_qp a, b;
	enum kind kind;
	char *x, *y, *loc;
	struct ibv_mr *mr, *loc_mr;
};

static int rr_setup(struct rr *r, enum kind k, int access)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->kind = k;
	rt_qp_retry_cnt = 1;
	ret = rt_dev_open(&r->d);
	if (ret)
		return ret;
	ret = rt_rc_renew(&r->d, &r->a, &r->b);
	if (ret)
		return ret;
	r->x = map_anon(LEN);
	r->y = map_anon(LEN);
	r->loc = map_anon(LEN);
	if (!r->x || !r->y || !r->loc)
		return -ENOMEM;
	memset(r->x, 0x11, LEN);
	memset(r->y, 0x22, LEN);
	memset(r->loc, 0x33, LEN);
	r->loc_mr = ibv_reg_mr(r->d.pd, r->loc, LEN, RW);
	if (!r->loc_mr)
		return -errno;
	r->mr = reg(r->d.pd, k, r->x, LEN, access);
	return r->mr ? 0 : -errno;
}

static void rr_teardown(struct rr *r)
{
	rt_qp_destroy(&r->a);
	rt_qp_destroy(&r->b);
	if (r->mr)
		ibv_dereg_mr(r->mr);
	if (r->loc_mr)
		ibv_dereg_mr(r->loc_mr);
	if (r->x)
		munmap(r->x, LEN);
	if (r->y)
		munmap(r->y, LEN);
	if (r->loc)
		munmap(r->loc, LEN);
	rt_dev_close(&r->d);
}

/* a WRITEs a PAGE of pattern s from loc to raddr with rkey. */
static enum ibv_wc_status write_page(struct rr *r, void *raddr, uint32_t rkey,
				     uint32_t s)
{
	rt_fill(r->loc, PAGE, s);
	return rdma(&r->a, IBV_WR_RDMA_WRITE, r->loc_mr->lkey, r->loc, PAGE,
		    raddr, rkey);
}

/* a READs len bytes from raddr with rkey into loc + HALF, first set to 0xee. */
static enum ibv_wc_status read_to_loc(struct rr *r, void *raddr, uint32_t rkey,
				      uint32_t len)
{
	memset(r->loc + HALF, 0xee, len);
	return rdma(&r->a, IBV_WR_RDMA_READ, r->loc_mr->lkey, r->loc + HALF,
		    len, raddr, rkey);
}

/* The MR's state as the kernel reports it. */
static void expect_state(struct __test_metadata *_metadata, struct ibv_mr *mr,
			 uint32_t kind, uint32_t status)
{
	struct rxe_revoke_mr_state st;

	ASSERT_EQ(0, rxer_query_mr(mr, &st));
	EXPECT_EQ(kind, st.kind);
	EXPECT_EQ(status, st.status);
	EXPECT_EQ(mr->lkey, st.lkey);
	EXPECT_EQ(mr->rkey, st.rkey);
}

static uint32_t abi_kind(enum kind k)
{
	return k == K_ODP ? RXE_REVOKE_MR_ODP :
	       k == K_REVOCABLE ? RXE_REVOKE_MR_REVOCABLE :
	       RXE_REVOKE_MR_PINNED;
}

/*
 * The flood: one thread posts RDMA WRITEs (16 KiB, below HALF) and READs
 * (32 KiB, from HALF up) on QPs a/b against the MR, one at a time, while
 * the test's thread re-registers it. Each re-registration opens an epoch:
 * the rkey it returned, the buffer it maps, whether the epoch's PD and
 * access let a's WRITE and READ through. The flood takes the epoch under
 * the lock when it posts, and sometimes deliberately the previous one:
 * that rkey died before the post. A WR that succeeded must have carried
 * the rkey of an epoch, current or later, that allowed the operation (8-bit
 * keys of a revocable MR may come back), and its data must be that epoch's
 * buffer's: a READ returns that buffer's fill byte in every byte, a WRITE
 * is found there. Anything else, a wrong status, or a WR that never
 * completes fails the test.
 */
#define EPOCHS		256
#define WLEN		(16 << 10)
#define RLEN		(32 << 10)

struct epoch {
	uint32_t rkey;
	char *buf;
	uint8_t fill;		/* the READ half of buf */
	bool write_ok, read_ok;
	bool mapped;		/* buf may be read by the checker */
};

struct flood {
	struct rr *r;
	pthread_mutex_t lock;
	struct epoch ep[EPOCHS];
	int cur;
	volatile int stop;
	uint64_t rs;
	/* results */
	long ops, ok_write, ok_read, errors, stale, stale_ok, reconnects;
	long statuses[32];
	int failed;
	char why[512];
};

static uint64_t xrnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void flood_fail(struct flood *f, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&f->lock);
	if (!f->failed++) {
		va_start(ap, fmt);
		vsnprintf(f->why, sizeof(f->why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&f->lock);
}

/*
 * Did a WR with rkey, posted when epoch e0 was the first one its rkey could
 * belong to, end in data that epoch j allows? Called with the lock, for
 * j = e0..cur; returns the first epoch that explains a success, or -1.
 */
static int flood_explain(struct flood *f, int e0, uint32_t rkey, bool write,
			 uint32_t seed, uint32_t off)
{
	const uint8_t *got = (uint8_t *)f->r->loc + HALF;
	int j;

	for (j = e0; j <= f->cur; j++) {
		struct epoch *ep = &f->ep[j];

		if (ep->rkey != rkey || !(write ? ep->write_ok : ep->read_ok))
			continue;
		if (!write) {
			if (first_not(got, RLEN, ep->fill) < 0)
				return j;
			continue;
		}
		if (!ep->mapped || rt_check(ep->buf + off, WLEN, seed) < 0)
			return j;
	}
	return -1;
}

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	struct rr *r = f->r;

	while (!f->stop) {
		bool write = xrnd(&f->rs) % 2, stale = false;
		uint32_t off = (xrnd(&f->rs) % (HALF / WLEN)) * WLEN;
		uint32_t roff = HALF + (xrnd(&f->rs) % (HALF / RLEN)) * RLEN;
		uint32_t seed = (uint32_t)xrnd(&f->rs), rkey;
		enum ibv_wc_status s;
		char *buf;
		int e, e0;

		pthread_mutex_lock(&f->lock);
		e = f->cur;
		if (e > 0 && xrnd(&f->rs) % 4 == 0) {
			e--;		/* a dead rkey, on purpose */
			stale = true;
		}
		e0 = stale ? f->cur : e;
		rkey = f->ep[e].rkey;
		buf = f->ep[e].buf;
		pthread_mutex_unlock(&f->lock);

		f->ops++;
		f->stale += stale;
		if (write) {
			rt_fill(r->loc, WLEN, seed);
			s = rdma(&r->a, IBV_WR_RDMA_WRITE, r->loc_mr->lkey,
				 r->loc, WLEN, buf + off, rkey);
		} else {
			memset(r->loc + HALF, 0xee, RLEN);
			s = rdma(&r->a, IBV_WR_RDMA_READ, r->loc_mr->lkey,
				 r->loc + HALF, RLEN, buf + roff, rkey);
		}
		f->statuses[s < 32 ? s : 31]++;
		if (s == IBV_WC_SUCCESS) {
			int j;

			pthread_mutex_lock(&f->lock);
			j = flood_explain(f, e0, rkey, write, seed, off);
			pthread_mutex_unlock(&f->lock);
			if (j < 0) {
				flood_fail(f, "a %s with the rkey 0x%x of epoch %d%s succeeded, and no epoch from %d on allows it (data %s)",
					   write ? "WRITE" : "READ", rkey, e,
					   stale ? " (dead when posted)" : "",
					   e0, write ? "not in its buffer" :
					   "not one buffer's");
				break;
			}
			if (write)
				f->ok_write++;
			else
				f->ok_read++;
			f->stale_ok += stale;
			continue;
		}
		if (s != IBV_WC_REM_ACCESS_ERR && s != IBV_WC_RETRY_EXC_ERR &&
		    s != IBV_WC_WR_FLUSH_ERR) {
			flood_fail(f, "a %s with the rkey of epoch %d: %s",
				   write ? "WRITE" : "READ", e,
				   ibv_wc_status_str(s));
			break;
		}
		f->errors++;
		f->reconnects++;
		if (rt_rc_renew(&r->d, &r->a, &r->b)) {
			flood_fail(f, "new QPs: %s", strerror(errno));
			break;
		}
	}
	return NULL;
}

/* Open epoch cur + 1; called by the re-registering thread. */
static void flood_epoch(struct flood *f, uint32_t rkey, char *buf,
			uint8_t fill, bool write_ok, bool read_ok)
{
	pthread_mutex_lock(&f->lock);
	f->cur++;
	f->ep[f->cur] = (struct epoch){ rkey, buf, fill, write_ok, read_ok,
					true };
	pthread_mutex_unlock(&f->lock);
}

static void flood_report(struct __test_metadata *_metadata, struct flood *f,
			 int reregs)
{
	TH_LOG("%d re-registrations; %ld WRs: %ld WRITEs and %ld READs succeeded, %ld errors (%ld remote access, %ld retry exceeded, %ld flushed); %ld posted with a dead rkey, %ld of those succeeded through a key that came back",
	       reregs, f->ops, f->ok_write, f->ok_read, f->errors,
	       f->statuses[IBV_WC_REM_ACCESS_ERR],
	       f->statuses[IBV_WC_RETRY_EXC_ERR],
	       f->statuses[IBV_WC_WR_FLUSH_ERR], f->stale, f->stale_ok);
	EXPECT_EQ(0, f->failed) TH_LOG("%s", f->why);
	/* the flood did run against the MR in its changing states */
	EXPECT_LT(0, f->ok_write + f->ok_read);
	EXPECT_LT(0, f->stale);
}

/* ---- moved: translation changes of pinned and ODP MRs ---------------- */

FIXTURE(moved) {
	struct rr r;
};

FIXTURE_VARIANT(moved) {
	enum kind kind;
};

FIXTURE_VARIANT_ADD(moved, pinned) { .kind = K_PINNED };
FIXTURE_VARIANT_ADD(moved, odp) { .kind = K_ODP };

FIXTURE_SETUP(moved)
{
	ASSERT_EQ(0, rr_setup(&self->r, variant->kind, RW))
		TH_LOG("setup: %s", strerror(errno));
}

FIXTURE_TEARDOWN(moved)
{
	rr_teardown(&self->r);
}

/*
 * ibv_rereg_mr(3) CHANGE_TRANSLATION: the MR now maps the new range. A
 * peer's WRITE and READ with the new rkey reach y and not x; the old rkey
 * (to either buffer) and the old lkey fail; the handle stays.
 */
TEST_F(moved, translation_moves_access)
{
	struct rr *r = &self->r;
	uint32_t lkey = r->mr->lkey, rkey = r->mr->rkey;
	uint32_t handle = r->mr->handle;
	enum ibv_wc_status s;
	int ret;

	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x, rkey, 1),
		  "WRITE before the rereg");
	EXPECT_EQ(-1, rt_check(r->x, PAGE, 1));

	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
			    r->y, LEN, 0);
	ASSERT_EQ(0, ret) TH_LOG("rereg: %s", strerror(ret));
	EXPECT_EQ(handle, r->mr->handle);
	EXPECT_NE(rkey, r->mr->rkey);
	EXPECT_NE(lkey, r->mr->lkey);
	expect_state(_metadata, r->mr, abi_kind(r->kind), RXE_REVOKE_MR_ACTIVE);

	/* the new rkey reaches the new buffer only */
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->y + PAGE, r->mr->rkey, 2),
		  "WRITE with the new rkey");
	EXPECT_EQ(-1, rt_check(r->y + PAGE, PAGE, 2));
	EXPECT_EQ(-1, first_not(r->x + PAGE, PAGE, 0x11));
	EXPECT_WC(IBV_WC_SUCCESS, read_to_loc(r, r->y + HALF, r->mr->rkey, RLEN),
		  "READ with the new rkey");
	EXPECT_EQ(-1, first_not(r->loc + HALF, RLEN, 0x22));
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR,
		  write_page(r, r->x + 2 * PAGE, r->mr->rkey, 3),
		  "WRITE with the new rkey to the old buffer");
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_EQ(-1, first_not(r->x + 2 * PAGE, PAGE, 0x11));

	/* the old rkey is dead, wherever it points */
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR, write_page(r, r->x + 3 * PAGE, rkey, 4),
		  "WRITE with the old rkey to the old buffer");
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR, write_page(r, r->y + 3 * PAGE, rkey, 5),
		  "WRITE with the old rkey to the new buffer");
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR, read_to_loc(r, r->x + HALF, rkey, RLEN),
		  "READ with the old rkey");
	EXPECT_EQ(-1, first_not(r->loc + HALF, RLEN, 0xee));
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_EQ(-1, first_not(r->x + 3 * PAGE, PAGE, 0x11));
	EXPECT_EQ(-1, first_not(r->y + 3 * PAGE, PAGE, 0x22));

	/*
	 * and the old lkey: b's WRITE from the MR into loc fails. IBTA calls
	 * an invalid L_Key a local protection error; rxe (stock) reports an
	 * lkey that names no MR as a local QP operation error.
	 */
	memset(r->loc, 0x33, PAGE);
	s = rdma(&r->b, IBV_WR_RDMA_WRITE, lkey, r->y + HALF, PAGE, r->loc,
		 r->loc_mr->rkey);
	EXPECT_TRUE(s == IBV_WC_LOC_PROT_ERR || s == IBV_WC_LOC_QP_OP_ERR)
		TH_LOG("WRITE from the old lkey: %s", ibv_wc_status_str(s));
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_EQ(-1, first_not(r->loc, PAGE, 0x33));
	EXPECT_WC(IBV_WC_SUCCESS,
		  rdma(&r->b, IBV_WR_RDMA_WRITE, r->mr->lkey, r->y + HALF, PAGE,
		       r->loc, r->loc_mr->rkey), "WRITE from the new lkey");
	EXPECT_EQ(-1, first_not(r->loc, PAGE, 0x22));

	/* back to x: the MR works there again */
	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
			    r->x, LEN, 0);
	ASSERT_EQ(0, ret) TH_LOG("rereg back: %s", strerror(ret));
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x + 4 * PAGE, r->mr->rkey, 6),
		  "WRITE after the rereg back");
	EXPECT_EQ(-1, rt_check(r->x + 4 * PAGE, PAGE, 6));
	EXPECT_EQ(-1, first_not(r->y + 4 * PAGE, PAGE, 0x22));
}

/*
 * A translation onto filesystem-DAX memory is registered as ibv_reg_mr()
 * would register it: a pinned MR becomes revocable (the long-term pin is
 * refused there), an ODP MR stays ODP. The revocable one's revoke event
 * names the MR's handle and new keys.
 */
TEST_F(moved, translation_onto_fsdax)
{
	struct rr *r = &self->r;
	struct rxe_revoke_event ev;
	struct rt_mem m;
	int ret, evfd;

	if (!getenv("RXE_XFS_DAX"))
		SKIP(return, "no XFS-DAX mount (RXE_XFS_DAX)");
	ASSERT_EQ(0, rt_mem_map(&m, RT_MEM_XFS_DAX, LEN));
	memset(m.addr, 0x44, LEN);
	evfd = rxer_create_event_channel(r->d.ctx);
	ASSERT_LE(0, evfd) TH_LOG("event channel: %s", strerror(errno));

	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
			    m.addr, LEN, 0);
	ASSERT_EQ(0, ret) TH_LOG("rereg onto XFS-DAX: %s", strerror(ret));
	expect_state(_metadata, r->mr, r->kind == K_ODP ? RXE_REVOKE_MR_ODP :
		     RXE_REVOKE_MR_REVOCABLE, RXE_REVOKE_MR_ACTIVE);
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, (char *)m.addr + PAGE,
					     r->mr->rkey, 7),
		  "WRITE into the DAX file");
	EXPECT_EQ(-1, rt_check((char *)m.addr + PAGE, PAGE, 7));
	EXPECT_WC(IBV_WC_SUCCESS, read_to_loc(r, (char *)m.addr + HALF,
					      r->mr->rkey, RLEN),
		  "READ from the DAX file");
	EXPECT_EQ(-1, first_not(r->loc + HALF, RLEN, 0x44));
	EXPECT_EQ(-1, first_not(r->x + PAGE, PAGE, 0x11));

	if (r->kind == K_PINNED) {
		struct pollfd pfd = { .fd = evfd, .events = POLLIN };

		ASSERT_EQ(0, rxer_revoke_mr(r->mr));
		ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("no revoke event");
		ASSERT_EQ(1, rxer_read_events(evfd, &ev, 1))
			TH_LOG("no revoke event: %s", strerror(errno));
		EXPECT_EQ(r->mr->handle, ev.mr_handle);
		EXPECT_EQ(r->mr->lkey, ev.lkey);
		EXPECT_EQ(r->mr->rkey, ev.rkey);
		EXPECT_EQ(RXE_REVOKE_REASON_EXPLICIT, ev.reason);
		/* and back to anonymous memory: it stays revocable */
		ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
				    NULL, r->x, LEN, 0);
		ASSERT_EQ(0, ret) TH_LOG("rereg back: %s", strerror(ret));
		expect_state(_metadata, r->mr, RXE_REVOKE_MR_REVOCABLE,
			     RXE_REVOKE_MR_ACTIVE);
		EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x, r->mr->rkey, 8),
			  "WRITE after the rereg back");
		EXPECT_EQ(-1, rt_check(r->x, PAGE, 8));
	}
	/* the MR goes before its memory */
	ibv_dereg_mr(r->mr);
	r->mr = NULL;
	close(evfd);
	rt_mem_unmap(&m);
}

/*
 * A flood of WRITEs and READs while the MR moves to a fresh mapping again
 * and again; the old mapping is unmapped as soon as the re-registration
 * returns, so that a late access to its pages would hit freed memory (page
 * poisoning reports it in dmesg).
 */
TEST_F(moved, translation_under_traffic)
{
	struct rr *r = &self->r;
	struct flood *f;
	pthread_t th;
	double end;
	int i, ret;

	f = calloc(1, sizeof(*f));
	ASSERT_NE(NULL, f);
	pthread_mutex_init(&f->lock, NULL);
	f->r = r;
	f->rs = 0x9e3779b97f4a7c15ULL ^ (uint64_t)rt_now();
	/* epoch 0: x, registered with RW; x's READ half is 0x11 */
	f->ep[0] = (struct epoch){ r->mr->rkey, r->x, 0x11, true, true, true };
	ASSERT_EQ(0, pthread_create(&th, NULL, flood_main, f));

	end = rt_now() + 6;
	for (i = 1; i < EPOCHS - 1 && (rt_now() < end || i < 16); i++) {
		char *old = f->ep[f->cur].buf, *nb = map_anon(LEN);
		uint8_t fill = 0x40 + i % 0x80;

		if (!nb || f->failed)
			break;
		memset(nb, 0, HALF);
		memset(nb + HALF, fill, HALF);
		ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
				    NULL, nb, LEN, 0);
		if (ret) {
			flood_fail(f, "rereg %d: %s", i, strerror(ret));
			munmap(nb, LEN);
			break;
		}
		flood_epoch(f, r->mr->rkey, nb, fill, true, true);
		/* the old mapping goes: nothing may touch its pages now */
		pthread_mutex_lock(&f->lock);
		f->ep[f->cur - 1].mapped = false;
		pthread_mutex_unlock(&f->lock);
		if (old == r->x)
			r->x = NULL;
		munmap(old, LEN);
		usleep(20000);
	}
	f->stop = 1;
	pthread_join(th, NULL);
	flood_report(_metadata, f, i - 1);
	/* the MR still works on its last mapping */
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, f->ep[f->cur].buf, r->mr->rkey, 9),
		  "WRITE after the flood");
	EXPECT_EQ(-1, rt_check(f->ep[f->cur].buf, PAGE, 9));
	ibv_dereg_mr(r->mr);
	r->mr = NULL;
	if (f->cur)
		munmap(f->ep[f->cur].buf, LEN);
	free(f);
}

/* ---- kind: access flags, PD, bad input, windows, for every kind ------ */

FIXTURE(kind) {
	struct rr r;
};

FIXTURE_VARIANT(kind) {
	enum kind kind;
};

FIXTURE_VARIANT_ADD(kind, pinned) { .kind = K_PINNED };
FIXTURE_VARIANT_ADD(kind, odp) { .kind = K_ODP };
FIXTURE_VARIANT_ADD(kind, revocable) { .kind = K_REVOCABLE };

FIXTURE_SETUP(kind)
{
	ASSERT_EQ(0, rr_setup(&self->r, variant->kind,
			      RW | IBV_ACCESS_MW_BIND))
		TH_LOG("setup: %s", strerror(errno));
}

FIXTURE_TEARDOWN(kind)
{
	rr_teardown(&self->r);
}

/*
 * CHANGE_ACCESS without IBV_ACCESS_REMOTE_WRITE: a peer's WRITE gets a
 * remote access error (IBTA: the R_Key does not grant the access) and
 * writes nothing, READ keeps working on the same pages; the old rkey is
 * dead. Adding remote write back lets WRITEs land in the same pages again.
 */
TEST_F(kind, access_drops_remote_write)
{
	struct rr *r = &self->r;
	uint32_t rkey = r->mr->rkey;
	long long revokes = rt_counter("revoke_explicit");
	long long restores = rt_counter("rereg_restores");
	int ret;

	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x, rkey, 1), "WRITE");
	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			    acc(r->kind, NO_RW));
	ASSERT_EQ(0, ret) TH_LOG("rereg without remote write: %s",
				 strerror(ret));
	EXPECT_NE(rkey, r->mr->rkey);
	/* no translation changed: nothing was revoked, nothing restored */
	EXPECT_EQ(revokes, rt_counter("revoke_explicit"));
	EXPECT_EQ(restores, rt_counter("rereg_restores"));
	EXPECT_EQ((uintptr_t)r->x, (uintptr_t)r->mr->addr);
	expect_state(_metadata, r->mr, abi_kind(r->kind), RXE_REVOKE_MR_ACTIVE);

	EXPECT_WC(IBV_WC_REM_ACCESS_ERR,
		  write_page(r, r->x + PAGE, r->mr->rkey, 2),
		  "WRITE without remote write access");
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_EQ(-1, first_not(r->x + PAGE, PAGE, 0x11));
	EXPECT_WC(IBV_WC_SUCCESS, read_to_loc(r, r->x, r->mr->rkey, PAGE),
		  "READ of the same pages");
	EXPECT_EQ(-1, rt_check(r->loc + HALF, PAGE, 1));
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR, write_page(r, r->x + PAGE, rkey, 3),
		  "WRITE with the old rkey");
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_EQ(-1, first_not(r->x + PAGE, PAGE, 0x11));

	/* adding remote write back only adds a right: the keys stay */
	rkey = r->mr->rkey;
	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			    acc(r->kind, RW | IBV_ACCESS_MW_BIND));
	ASSERT_EQ(0, ret) TH_LOG("rereg with remote write: %s", strerror(ret));
	EXPECT_EQ(rkey, r->mr->rkey);
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x + 2 * PAGE, rkey, 4),
		  "WRITE with remote write access again");
	/* the same pages: the CPU sees it at x */
	EXPECT_EQ(-1, rt_check(r->x + 2 * PAGE, PAGE, 4));
	EXPECT_EQ(-1, rt_check(r->x, PAGE, 1));
}

/*
 * Write access needs pages had for writing: without a new translation a
 * pinned or revocable MR registered read-only is refused (EACCES, as
 * upstream's ib_umem_check_rereg()) and stays as it was; with
 * CHANGE_TRANSLATION over the same range it is pinned anew for writing.
 * An ODP MR holds no pages and takes the new rights at once.
 */
TEST_F(kind, access_write_needs_writable_pages)
{
	struct rr *r = &self->r;
	uint32_t lkey, rkey;
	int ret;

	ibv_dereg_mr(r->mr);
	r->mr = reg(r->d.pd, r->kind, r->x, LEN, RO);
	ASSERT_NE(NULL, r->mr) TH_LOG("read-only reg: %s", strerror(errno));
	lkey = r->mr->lkey;
	rkey = r->mr->rkey;
	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			    acc(r->kind, RW));
	if (r->kind == K_ODP) {
		ASSERT_EQ(0, ret) TH_LOG("ODP: %s", strerror(ret));
		/* only rights were added: in place, the same keys */
		EXPECT_EQ(lkey, r->mr->lkey);
		EXPECT_EQ(rkey, r->mr->rkey);
	} else {
		EXPECT_EQ(EACCES, ret) TH_LOG("got %s",
					      ret ? strerror(ret) : "success");
		EXPECT_EQ(lkey, r->mr->lkey);
		EXPECT_EQ(rkey, r->mr->rkey);
		expect_state(_metadata, r->mr, abi_kind(r->kind),
			     RXE_REVOKE_MR_ACTIVE);
		EXPECT_WC(IBV_WC_SUCCESS, read_to_loc(r, r->x, rkey, PAGE),
			  "READ after the refused rereg");
		EXPECT_WC(IBV_WC_REM_ACCESS_ERR,
			  write_page(r, r->x, rkey, 1),
			  "WRITE after the refused rereg");
		ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
		ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION |
				    IBV_REREG_MR_CHANGE_ACCESS, NULL, r->x,
				    LEN, RW);
		ASSERT_EQ(0, ret) TH_LOG("with the translation: %s",
					 strerror(ret));
	}
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x + PAGE, r->mr->rkey, 2),
		  "WRITE with write access");
	EXPECT_EQ(-1, rt_check(r->x + PAGE, PAGE, 2));
	EXPECT_EQ(-1, first_not(r->x, PAGE, 0x11));
}

/*
 * The keys stay when a re-registration only adds rights, and change when it
 * takes one away. An MR registered for local write only (rkey == lkey, as
 * for every MR) refuses a peer's WRITE; after CHANGE_ACCESS adds remote
 * write and read it keeps lkey and rkey, and the peer's WRITE with the
 * rkey it had lands (rdma-core's test_mr_rereg_access relies on it, as on
 * mlx5). Taking remote write away again (and the window right) gives new
 * keys: the old rkey then fails even for a READ, which the MR still allows.
 */
TEST_F(kind, widen_keeps_keys)
{
	struct rr *r = &self->r;
	uint32_t lkey, rkey;
	int ret;

	ibv_dereg_mr(r->mr);
	r->mr = reg(r->d.pd, r->kind, r->x, LEN, IBV_ACCESS_LOCAL_WRITE);
	ASSERT_NE(NULL, r->mr) TH_LOG("local-only reg: %s", strerror(errno));
	lkey = r->mr->lkey;
	rkey = r->mr->rkey;
	EXPECT_EQ(lkey, rkey);
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR, write_page(r, r->x, rkey, 1),
		  "WRITE into a local-only MR");
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_EQ(-1, first_not(r->x, PAGE, 0x11));

	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			    acc(r->kind, RW | IBV_ACCESS_MW_BIND));
	ASSERT_EQ(0, ret) TH_LOG("adding remote access: %s", strerror(ret));
	EXPECT_EQ(lkey, r->mr->lkey);
	EXPECT_EQ(rkey, r->mr->rkey);
	expect_state(_metadata, r->mr, abi_kind(r->kind), RXE_REVOKE_MR_ACTIVE);
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x + PAGE, rkey, 2),
		  "WRITE with the rkey from before the rereg");
	EXPECT_EQ(-1, rt_check(r->x + PAGE, PAGE, 2));
	EXPECT_WC(IBV_WC_SUCCESS, read_to_loc(r, r->x + PAGE, rkey, PAGE),
		  "READ with the rkey from before the rereg");
	EXPECT_EQ(-1, rt_check(r->loc + HALF, PAGE, 2));

	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			    acc(r->kind, NO_RW));
	ASSERT_EQ(0, ret) TH_LOG("taking remote write away: %s", strerror(ret));
	EXPECT_NE(lkey, r->mr->lkey);
	EXPECT_NE(rkey, r->mr->rkey);
	EXPECT_EQ(r->mr->lkey, r->mr->rkey);
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR, read_to_loc(r, r->x + PAGE, rkey, PAGE),
		  "READ with the rkey from before the narrowing");
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_WC(IBV_WC_SUCCESS, read_to_loc(r, r->x + PAGE, r->mr->rkey,
					      PAGE), "READ with the new rkey");
	EXPECT_EQ(-1, rt_check(r->loc + HALF, PAGE, 2));
}

/*
 * CHANGE_PD: the MR belongs to the new PD. A QP of the old PD gets a remote
 * access error for its WRITE, and a receive into the MR on it fails (the
 * sender: remote operational error); QPs of the new PD reach the MR. While
 * the MR is there the new PD cannot be freed; after a re-registration back
 * (translation, PD and access at once) it can.
 */
TEST_F(kind, change_pd)
{
	struct rr *r = &self->r;
	struct rt_qp a2 = {}, b2 = {};
	struct ibv_mr *loc2;
	struct rt_dev d2;
	struct ibv_pd *pd2;
	struct ibv_wc wc;
	uint32_t rkey = r->mr->rkey;
	int ret;

	pd2 = ibv_alloc_pd(r->d.ctx);
	ASSERT_NE(NULL, pd2);
	d2 = r->d;
	d2.pd = pd2;
	ASSERT_EQ(0, rt_rc_renew(&d2, &a2, &b2));
	loc2 = ibv_reg_mr(pd2, r->loc + HALF, HALF, RW);
	ASSERT_NE(NULL, loc2);

	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_PD, pd2, NULL, 0, 0);
	ASSERT_EQ(0, ret) TH_LOG("rereg to the new PD: %s", strerror(ret));
	EXPECT_EQ(pd2, r->mr->pd);
	EXPECT_NE(rkey, r->mr->rkey);
	expect_state(_metadata, r->mr, abi_kind(r->kind), RXE_REVOKE_MR_ACTIVE);
	EXPECT_EQ(EBUSY, ibv_dealloc_pd(pd2));

	/* the old PD's QPs */
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR, write_page(r, r->x, r->mr->rkey, 1),
		  "WRITE from a QP of the old PD");
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_EQ(-1, first_not(r->x, PAGE, 0x11));
	ASSERT_EQ(0, rt_post_recv(&r->b, r->mr, r->x, PAGE, 1));
	rt_fill(r->loc, PAGE, 2);
	ASSERT_EQ(0, rt_post_rdma(&r->a, IBV_WR_SEND, r->loc_mr, r->loc, PAGE,
				  0, 0, 2));
	ASSERT_EQ(0, rt_poll_for(r->a.cq, &wc, 20));
	EXPECT_WC(IBV_WC_REM_OP_ERR, wc.status, "SEND into the MR, sender");
	ASSERT_EQ(0, rt_poll_for(r->b.cq, &wc, 20));
	EXPECT_NE(IBV_WC_SUCCESS, wc.status);
	TH_LOG("the receive of a QP of the old PD: %s",
	       ibv_wc_status_str(wc.status));
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	EXPECT_EQ(-1, first_not(r->x, PAGE, 0x11));

	/* the new PD's QPs */
	rt_fill(r->loc + HALF, PAGE, 3);
	EXPECT_WC(IBV_WC_SUCCESS,
		  rdma(&a2, IBV_WR_RDMA_WRITE, loc2->lkey, r->loc + HALF,
		       PAGE, r->x + PAGE, r->mr->rkey),
		  "WRITE from a QP of the new PD");
	EXPECT_EQ(-1, rt_check(r->x + PAGE, PAGE, 3));
	ASSERT_EQ(0, rt_post_recv(&b2, r->mr, r->x + 2 * PAGE, PAGE, 4));
	rt_fill(r->loc + HALF, PAGE, 4);
	ASSERT_EQ(0, rt_post_rdma(&a2, IBV_WR_SEND, loc2, r->loc + HALF, PAGE,
				  0, 0, 4));
	ASSERT_EQ(0, rt_poll_for(a2.cq, &wc, 20));
	EXPECT_WC(IBV_WC_SUCCESS, wc.status, "SEND, new PD, sender");
	ASSERT_EQ(0, rt_poll_for(b2.cq, &wc, 20));
	EXPECT_WC(IBV_WC_SUCCESS, wc.status, "SEND, new PD, receiver");
	EXPECT_EQ(-1, rt_check(r->x + 2 * PAGE, PAGE, 4));

	/* everything at once, back to the first PD */
	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_PD |
			    IBV_REREG_MR_CHANGE_TRANSLATION |
			    IBV_REREG_MR_CHANGE_ACCESS, r->d.pd, r->y, LEN,
			    acc(r->kind, RW));
	ASSERT_EQ(0, ret) TH_LOG("rereg back: %s", strerror(ret));
	EXPECT_EQ(r->d.pd, r->mr->pd);
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->y, r->mr->rkey, 5),
		  "WRITE from a QP of the first PD");
	EXPECT_EQ(-1, rt_check(r->y, PAGE, 5));
	rt_fill(r->loc + HALF, PAGE, 6);
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR,
		  rdma(&a2, IBV_WR_RDMA_WRITE, loc2->lkey, r->loc + HALF,
		       PAGE, r->y + PAGE, r->mr->rkey),
		  "WRITE from a QP of the PD the MR left");
	EXPECT_EQ(-1, first_not(r->y + PAGE, PAGE, 0x22));

	rt_qp_destroy(&a2);
	rt_qp_destroy(&b2);
	ASSERT_EQ(0, ibv_dereg_mr(loc2));
	EXPECT_EQ(0, ibv_dealloc_pd(pd2));
}

/*
 * Bad requests: no flags (EINVAL) and unknown flags (EOPNOTSUPP) as uverbs
 * answers; access flags that switch IBV_ACCESS_ON_DEMAND (the kind of an MR
 * is fixed) or ask remote write without local write, a translation of zero
 * bytes or of unmapped memory, a PD handle that names no PD: EINVAL (EFAULT
 * for the unmapped memory). Each leaves the MR as it was (ibv_rereg_mr(3):
 * "Old MR is valid"), and a good re-registration works afterwards.
 */
TEST_F(kind, bad_input)
{
	struct rr *r = &self->r;
	uint32_t lkey = r->mr->lkey, rkey = r->mr->rkey;
	int odp_switched = r->kind == K_ODP ? RW : RW | IBV_ACCESS_ON_DEMAND;
	struct ibv_pd not_a_pd;
	struct ibv_cq *cq;
	int ret;

	EXPECT_EQ(EINVAL, rxer_rereg_mr(r->mr, 0, NULL, r->y, LEN, 0));
	EXPECT_EQ(EOPNOTSUPP, rxer_rereg_mr(r->mr, 0x100, NULL, r->y, LEN, 0));
	EXPECT_EQ(EINVAL, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS,
					NULL, NULL, 0, odp_switched));
	EXPECT_EQ(EINVAL, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS |
					IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
					r->y, LEN, odp_switched));
	EXPECT_EQ(EINVAL, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS,
					NULL, NULL, 0,
					acc(r->kind, IBV_ACCESS_REMOTE_WRITE)));
	EXPECT_EQ(EINVAL, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
					NULL, r->y, 0, 0));
	/*
	 * Memory that is not mapped: ODP registers it (it faults later), and
	 * a revocable MR is revoked before its new range is pinned (it stays
	 * revoked on failure, revoke_test checks that).
	 */
	if (r->kind == K_PINNED)
		EXPECT_EQ(EFAULT,
			  rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
					NULL, (void *)(uintptr_t)PAGE, LEN, 0));
	cq = ibv_create_cq(r->d.ctx, 4, NULL, NULL, 0);
	ASSERT_NE(NULL, cq);
	not_a_pd = *r->d.pd;
	not_a_pd.handle = cq->handle;
	EXPECT_EQ(EINVAL, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_PD,
					&not_a_pd, NULL, 0, 0));
	ibv_destroy_cq(cq);

	/* the MR is as it was, and works as it did */
	EXPECT_EQ(lkey, r->mr->lkey);
	EXPECT_EQ(rkey, r->mr->rkey);
	EXPECT_EQ(r->d.pd, r->mr->pd);
	expect_state(_metadata, r->mr, abi_kind(r->kind), RXE_REVOKE_MR_ACTIVE);
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x, rkey, 1),
		  "WRITE after the bad requests");
	EXPECT_EQ(-1, rt_check(r->x, PAGE, 1));
	EXPECT_WC(IBV_WC_SUCCESS, read_to_loc(r, r->x + HALF, rkey, RLEN),
		  "READ after the bad requests");
	EXPECT_EQ(-1, first_not(r->loc + HALF, RLEN, 0x11));
	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			    acc(r->kind, RW));
	EXPECT_EQ(0, ret) TH_LOG("a good rereg after them: %s", strerror(ret));
}

/*
 * A re-registration cannot give an MR access flags that a registration of
 * the same kind with those flags is refused: IB_ZERO_BASED, HUGETLB,
 * FLUSH_GLOBAL and FLUSH_PERSISTENT (raw uAPI bits: rdma-core 44 has no
 * names for the last two), each tried as a registration of its own first.
 * Where that is refused (6.12 refuses the unsupported flags, persistence
 * on pages that are not pmem, ODP or revocable MRs; 6.1's uverbs the FLUSH
 * flags), the rereg must be refused too and leave the MR as it was.
 */
TEST_F(kind, access_reg_refuses)
{
	static const struct { int flag; const char *name; } extra[] = {
		{ 1 << 5, "ZERO_BASED" },
		{ 1 << 7, "HUGETLB" },
		{ 1 << 8, "FLUSH_GLOBAL" },
		{ 1 << 9, "FLUSH_PERSISTENT" },
	};
	struct rr *r = &self->r;
	uint32_t lkey = r->mr->lkey, rkey = r->mr->rkey;
	struct ibv_mr *mr;
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		int access = RW | IBV_ACCESS_MW_BIND | extra[i].flag;

		mr = reg(r->d.pd, r->kind, r->y, LEN, access);
		if (mr) {
			ibv_dereg_mr(mr);
			continue;	/* this kernel takes it: nothing to hold */
		}
		TH_LOG("%s: registration refused (%s)", extra[i].name,
		       strerror(errno));
		ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL,
				    NULL, 0, acc(r->kind, access));
		EXPECT_NE(0, ret)
			TH_LOG("rereg adding %s succeeded", extra[i].name);
		EXPECT_EQ(lkey, r->mr->lkey);
		EXPECT_EQ(rkey, r->mr->rkey);
	}
	expect_state(_metadata, r->mr, abi_kind(r->kind), RXE_REVOKE_MR_ACTIVE);
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x, rkey, 2),
		  "WRITE after the refused reregs");
	EXPECT_EQ(-1, rt_check(r->x, PAGE, 2));
}

/*
 * IBTA (as for deregistration, 10.6.7.2.6): an MR with a memory window bound
 * cannot be re-registered. Every kind of change is refused with EBUSY and
 * the MR and the window keep working; once the window is gone the
 * re-registration goes through, and a new window binds to the MR.
 */
TEST_F(kind, bound_mw_busy)
{
	struct rr *r = &self->r;
	uint32_t lkey = r->mr->lkey, rkey = r->mr->rkey;
	struct ibv_mw_bind bind = {};
	struct ibv_pd *pd2;
	struct ibv_mw *mw;
	struct ibv_wc wc;
	int ret;

	pd2 = ibv_alloc_pd(r->d.ctx);
	ASSERT_NE(NULL, pd2);
	mw = ibv_alloc_mw(r->d.pd, IBV_MW_TYPE_1);
	ASSERT_NE(NULL, mw) TH_LOG("alloc_mw: %s", strerror(errno));
	bind.wr_id = 77;
	bind.send_flags = IBV_SEND_SIGNALED;
	bind.bind_info.mr = r->mr;
	bind.bind_info.addr = (uintptr_t)r->x;
	bind.bind_info.length = LEN;
	bind.bind_info.mw_access_flags = IBV_ACCESS_REMOTE_WRITE |
					 IBV_ACCESS_REMOTE_READ;
	ASSERT_EQ(0, ibv_bind_mw(r->b.qp, mw, &bind));
	ASSERT_EQ(0, rt_poll_for(r->b.cq, &wc, 20));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);

	EXPECT_EQ(EBUSY, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_PD, pd2,
				       NULL, 0, 0));
	EXPECT_EQ(EBUSY, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL,
				       NULL, 0, acc(r->kind, RW)));
	EXPECT_EQ(EBUSY, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_TRANSLATION,
				       NULL, r->y, LEN, 0));
	EXPECT_EQ(lkey, r->mr->lkey);
	EXPECT_EQ(rkey, r->mr->rkey);
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x, mw->rkey, 1),
		  "WRITE through the window");
	EXPECT_EQ(-1, rt_check(r->x, PAGE, 1));
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x + PAGE, rkey, 2),
		  "WRITE through the MR");
	EXPECT_EQ(-1, rt_check(r->x + PAGE, PAGE, 2));

	ASSERT_EQ(0, ibv_dealloc_mw(mw));
	ret = rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			    acc(r->kind, RW | IBV_ACCESS_MW_BIND));
	ASSERT_EQ(0, ret) TH_LOG("rereg without the window: %s",
				 strerror(ret));
	/* the re-registered MR takes windows again */
	mw = ibv_alloc_mw(r->d.pd, IBV_MW_TYPE_1);
	ASSERT_NE(NULL, mw);
	bind.bind_info.mr = r->mr;
	ASSERT_EQ(0, ibv_bind_mw(r->b.qp, mw, &bind));
	ASSERT_EQ(0, rt_poll_for(r->b.cq, &wc, 20));
	EXPECT_WC(IBV_WC_SUCCESS, wc.status, "bind after the rereg");
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x + 2 * PAGE, mw->rkey, 3),
		  "WRITE through the new window");
	EXPECT_EQ(-1, rt_check(r->x + 2 * PAGE, PAGE, 3));
	ASSERT_EQ(0, ibv_dealloc_mw(mw));
	EXPECT_EQ(0, ibv_dealloc_pd(pd2));
}

/*
 * A flood of WRITEs and READs while the MR's access flags and PD change
 * again and again: remote write off, on, another PD, back. A WR whose rkey
 * (of its epoch, or a later one with the same value) did not allow it never
 * succeeds; a successful WRITE is in the MR's pages.
 */
TEST_F(kind, access_and_pd_under_traffic)
{
	struct rr *r = &self->r;
	struct ibv_pd *pd2;
	struct flood *f;
	pthread_t th;
	uint32_t rkey;
	double end;
	int i, ret;

	pd2 = ibv_alloc_pd(r->d.ctx);
	ASSERT_NE(NULL, pd2);
	f = calloc(1, sizeof(*f));
	ASSERT_NE(NULL, f);
	pthread_mutex_init(&f->lock, NULL);
	f->r = r;
	f->rs = 0x2545f4914f6cdd1dULL ^ (uint64_t)rt_now();
	f->ep[0] = (struct epoch){ r->mr->rkey, r->x, 0x11, true, true, true };
	ASSERT_EQ(0, pthread_create(&th, NULL, flood_main, f));

	end = rt_now() + 6;
	for (i = 1; i < EPOCHS - 1 && (rt_now() < end || i < 16); i++) {
		int step = i % 4, flags = IBV_REREG_MR_CHANGE_ACCESS;
		int access = acc(r->kind, RW | IBV_ACCESS_MW_BIND);
		struct ibv_pd *pd = NULL;

		if (f->failed)
			break;
		if (step == 1)		/* remote write off */
			access = acc(r->kind, NO_RW);
		else if (step == 3)	/* another PD, then back */
			flags = IBV_REREG_MR_CHANGE_PD, pd = pd2;
		else if (step == 0)
			flags = IBV_REREG_MR_CHANGE_PD, pd = r->d.pd;
		/*
		 * Remote write back on only adds rights: the rkey stays, and a
		 * WRITE with it may land as soon as the rereg took effect, so
		 * its epoch opens before.
		 */
		if (step == 2)
			flood_epoch(f, r->mr->rkey, r->x, 0x11, true, true);
		rkey = r->mr->rkey;
		ret = rxer_rereg_mr(r->mr, flags, pd, NULL, 0, access);
		if (ret) {
			flood_fail(f, "rereg %d: %s", i, strerror(ret));
			break;
		}
		if (step == 2 ? rkey != r->mr->rkey : rkey == r->mr->rkey) {
			flood_fail(f, "rereg %d (step %d): rkey 0x%x -> 0x%x",
				   i, step, rkey, r->mr->rkey);
			break;
		}
		if (step != 2)
			flood_epoch(f, r->mr->rkey, r->x, 0x11,
				    step != 1 && step != 3, step != 3);
		usleep(20000);
	}
	f->stop = 1;
	pthread_join(th, NULL);
	flood_report(_metadata, f, i - 1);
	if (r->mr->pd != r->d.pd)
		ASSERT_EQ(0, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_PD,
					   r->d.pd, NULL, 0, 0));
	ASSERT_EQ(0, rt_rc_renew(&r->d, &r->a, &r->b));
	ASSERT_EQ(0, rxer_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL,
				   NULL, 0, acc(r->kind, RW)));
	EXPECT_WC(IBV_WC_SUCCESS, write_page(r, r->x, r->mr->rkey, 9),
		  "WRITE after the flood");
	EXPECT_EQ(-1, rt_check(r->x, PAGE, 9));
	EXPECT_EQ(0, ibv_dealloc_pd(pd2));
	free(f);
}

/*
 * A revoked revocable MR re-registered without a translation gets its new
 * PD, access flags and keys and stays revoked (semantics.rst: only a new
 * translation restores it); the restore that follows keeps them.
 */
TEST(revoked_stays_revoked)
{
	struct rxe_revoke_mr_state st;
	struct rt_qp a2 = {}, b2 = {};
	uint32_t lkey, rkey;
	struct ibv_mr *loc2;
	struct ibv_pd *pd2;
	struct rt_dev d2;
	struct rr r;
	int ret;

	ASSERT_EQ(0, rr_setup(&r, K_REVOCABLE, RW));
	pd2 = ibv_alloc_pd(r.d.ctx);
	ASSERT_NE(NULL, pd2);
	d2 = r.d;
	d2.pd = pd2;
	ASSERT_EQ(0, rt_rc_renew(&d2, &a2, &b2));
	loc2 = ibv_reg_mr(pd2, r.loc + HALF, HALF, RW);
	ASSERT_NE(NULL, loc2);
	ASSERT_EQ(0, rxer_revoke_mr(r.mr));
	lkey = r.mr->lkey;
	rkey = r.mr->rkey;

	ret = rxer_rereg_mr(r.mr, IBV_REREG_MR_CHANGE_PD |
			    IBV_REREG_MR_CHANGE_ACCESS, pd2, NULL, 0, RO);
	ASSERT_EQ(0, ret) TH_LOG("rereg of a revoked MR: %s", strerror(ret));
	EXPECT_NE(lkey, r.mr->lkey);
	EXPECT_NE(rkey, r.mr->rkey);
	ASSERT_EQ(0, rxer_query_mr(r.mr, &st));
	EXPECT_EQ(RXE_REVOKE_MR_REVOKED, st.status);
	EXPECT_EQ(1, st.revoke_count);
	EXPECT_EQ(r.mr->rkey, st.rkey);
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR,
		  rdma(&a2, IBV_WR_RDMA_READ, loc2->lkey, r.loc + HALF, PAGE,
		       r.x, r.mr->rkey), "READ of the revoked MR");
	ASSERT_EQ(0, rt_rc_renew(&d2, &a2, &b2));

	/* the restore: the PD and access flags of the rereg before */
	ret = rxer_rereg_mr(r.mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, r.x,
			    LEN, 0);
	ASSERT_EQ(0, ret) TH_LOG("restore: %s", strerror(ret));
	ASSERT_EQ(0, rxer_query_mr(r.mr, &st));
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, st.status);
	EXPECT_WC(IBV_WC_SUCCESS,
		  rdma(&a2, IBV_WR_RDMA_READ, loc2->lkey, r.loc + HALF, PAGE,
		       r.x, r.mr->rkey), "READ from a QP of the new PD");
	EXPECT_EQ(-1, first_not(r.loc + HALF, PAGE, 0x11));
	rt_fill(r.loc + HALF, PAGE, 1);
	EXPECT_WC(IBV_WC_REM_ACCESS_ERR,
		  rdma(&a2, IBV_WR_RDMA_WRITE, loc2->lkey, r.loc + HALF, PAGE,
		       r.x, r.mr->rkey), "WRITE without remote write access");
	EXPECT_EQ(-1, first_not(r.x, PAGE, 0x11));

	rt_qp_destroy(&a2);
	rt_qp_destroy(&b2);
	ibv_dereg_mr(loc2);
	ibv_dereg_mr(r.mr);
	r.mr = NULL;
	EXPECT_EQ(0, ibv_dealloc_pd(pd2));
	rr_teardown(&r);
}

/* main(), with -f/-v/-t/-l filters */
#include "rt_filter_main.h"
