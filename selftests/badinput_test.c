// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input to every uAPI method of rxe-revoke, each case with the exact
 * errno it must get: raw RDMA_VERBS_IOCTL requests for MAKE_REVOCABLE,
 * REVOKE, QUERY and EVENT_CHANNEL_ALLOC (bad, foreign and wrong-type
 * handles, wrong attribute sizes, missing, duplicate and unknown
 * attributes), the standard ADVISE_MR method, REREG through write(), and
 * the event channel fd (short reads, foreign use, a closed context).
 * Security: another process, a forked child in a new context and an
 * unprivileged user cannot revoke, query or get events for an MR that is
 * not theirs. Then a seeded random fuzzer over the ioctls of our
 * namespace (RXE_FUZZ_ITERS, RXE_FUZZ_SEED) that must give a clean errno
 * every time and leave nothing behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_ioctl_verbs.h>
#include <rdma/ib_user_verbs.h>
#include <rdma/rdma_user_ioctl_cmds.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"

#define LEN	(1 << 20)
#define PAGE	4096
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define NS	(1U << UVERBS_ID_NS_SHIFT)
#define NOBODY	65534

/* A raw uverbs ioctl request, attributes filled in by the caller. */
struct req {
	struct ib_uverbs_ioctl_hdr hdr;
	struct ib_uverbs_attr attrs[8];
};

static void req_init(struct req *r, uint16_t obj, uint16_t method)
{
	memset(r, 0, sizeof(*r));
	r->hdr.object_id = obj;
	r->hdr.method_id = method;
	r->hdr.driver_id = RDMA_DRIVER_RXE;
}

static struct ib_uverbs_attr *req_attr(struct req *r, uint16_t id,
				       uint16_t len, uint64_t data)
{
	struct ib_uverbs_attr *a = &r->attrs[r->hdr.num_attrs++];

	a->attr_id = id;
	a->len = len;
	a->flags = UVERBS_ATTR_F_MANDATORY;
	a->data = data;
	return a;
}

/* Returns 0 or the errno of the ioctl. */
static int req_run_len(int fd, struct req *r, int length)
{
	r->hdr.length = length;
	return ioctl(fd, RDMA_VERBS_IOCTL, &r->hdr) ? errno : 0;
}

static int req_run(int fd, struct req *r)
{
	return req_run_len(fd, r, sizeof(r->hdr) +
			   r->hdr.num_attrs * sizeof(r->attrs[0]));
}

/* An MR method with a handle and, for QUERY, a state buffer. */
static int mr_call(int fd, uint16_t method, uint64_t handle, void *state,
		   uint16_t len)
{
	struct req r;

	req_init(&r, UVERBS_OBJECT_MR, method);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, handle);
	if (state)
		req_attr(&r, RXE_REVOKE_ATTR_MR_STATE, len, (uintptr_t)state);
	return req_run(fd, &r);
}

static int query(struct ibv_mr *mr, struct rxe_revoke_mr_state *st)
{
	return mr_call(mr->context->cmd_fd, RXE_REVOKE_METHOD_MR_QUERY,
		       mr->handle, st, sizeof(*st));
}

/* REREG through write(), every field under the caller's control. */
static int rereg_raw(int fd, uint32_t handle, uint32_t flags, uint64_t start,
		     uint64_t length, uint64_t hca_va, uint32_t access,
		     uint32_t pd_handle, int in_words)
{
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_rereg_mr cmd;
	} q = {};
	struct ib_uverbs_rereg_mr_resp resp = {};

	q.hdr.command = IB_USER_VERBS_CMD_REREG_MR;
	q.hdr.in_words = in_words;
	q.hdr.out_words = sizeof(resp) / 4;
	q.cmd.response = (uintptr_t)&resp;
	q.cmd.mr_handle = handle;
	q.cmd.flags = flags;
	q.cmd.start = start;
	q.cmd.length = length;
	q.cmd.hca_va = hca_va;
	q.cmd.pd_handle = pd_handle;
	q.cmd.access_flags = access;
	return write(fd, &q, in_words * 4) < 0 ? errno : 0;
}

static int rereg(struct ibv_mr *mr, uint32_t flags, void *addr, uint64_t len,
		 uint32_t access)
{
	return rereg_raw(mr->context->cmd_fd, mr->handle, flags,
			 (uintptr_t)addr, len, (uintptr_t)addr, access, 0,
			 (sizeof(struct ib_uverbs_cmd_hdr) +
			  sizeof(struct ib_uverbs_rereg_mr)) / 4);
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* a THP collapse or split would revoke a revocable MR here */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

/* A context with a revocable, a pinned and an ODP MR, and a channel. */
FIXTURE(bad) {
	struct rt_dev d;
	struct ibv_cq *cq;
	void *buf;
	struct ibv_mr *rv, *pinned, *odp;
	int evfd;
};

FIXTURE_SETUP(bad)
{
	ASSERT_EQ(0, rt_dev_open(&self->d));
	self->cq = ibv_create_cq(self->d.ctx, 4, NULL, NULL, 0);
	ASSERT_NE(NULL, self->cq);
	self->buf = anon(3 * LEN);
	ASSERT_NE(NULL, self->buf);
	self->rv = rxer_reg_mr(self->d.pd, self->buf, LEN, ACCESS,
			       RXER_REG_REVOCABLE);
	ASSERT_NE(NULL, self->rv);
	self->pinned = ibv_reg_mr(self->d.pd, (char *)self->buf + LEN, LEN,
				  ACCESS);
	ASSERT_NE(NULL, self->pinned);
	self->odp = ibv_reg_mr(self->d.pd, (char *)self->buf + 2 * LEN, LEN,
			       ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, self->odp);
	self->evfd = rxer_create_event_channel(self->d.ctx);
	ASSERT_LE(0, self->evfd);
	fcntl(self->evfd, F_SETFL, O_NONBLOCK);
}

FIXTURE_TEARDOWN(bad)
{
	if (self->evfd >= 0)
		close(self->evfd);
	if (self->rv)
		ibv_dereg_mr(self->rv);
	if (self->pinned)
		ibv_dereg_mr(self->pinned);
	if (self->odp)
		ibv_dereg_mr(self->odp);
	if (self->cq)
		ibv_destroy_cq(self->cq);
	if (self->buf)
		munmap(self->buf, 3 * LEN);
	rt_dev_close(&self->d);
}

static bool no_event(int fd)
{
	struct rxe_revoke_event ev;

	return read(fd, &ev, sizeof(ev)) < 0 && errno == EAGAIN;
}

/*
 * Nobody revoked the victim's MR (an EXPLICIT revoke) nor told its owner of
 * one. The mm may revoke an anonymous revocable MR for reasons of its own
 * (a CLEAR over the range, seen now and then here); that is not the
 * intruder's doing and is only logged.
 */
static void expect_untouched(struct __test_metadata *_metadata,
			     struct ibv_mr *mr, int evfd)
{
	struct rxe_revoke_mr_state st;
	struct rxe_revoke_event ev;

	ASSERT_EQ(0, rxer_query_mr(mr, &st));
	EXPECT_EQ(RXE_REVOKE_MR_REVOCABLE, st.kind);
	if (st.status != RXE_REVOKE_MR_ACTIVE)
		TH_LOG("note: revoked by the mm, reason %u, [%#llx, %#llx)",
		       st.reason, (unsigned long long)st.revoked_start,
		       (unsigned long long)st.revoked_end);
	EXPECT_NE(RXE_REVOKE_REASON_EXPLICIT, st.reason);
	while (read(evfd, &ev, sizeof(ev)) == sizeof(ev)) {
		EXPECT_NE(RXE_REVOKE_REASON_EXPLICIT, ev.reason);
		EXPECT_EQ(mr->handle, ev.mr_handle);
	}
	EXPECT_EQ(EAGAIN, errno);
}

/* The ioctl framework's checks, on our methods. */
TEST_F(bad, ioctl_framing)
{
	int fd = self->d.ctx->cmd_fd;
	struct rxe_revoke_mr_state st;
	struct ib_uverbs_attr *a;
	uint8_t big[64];
	struct req r;

	/* the baseline works */
	EXPECT_EQ(0, mr_call(fd, RXE_REVOKE_METHOD_MR_QUERY, self->rv->handle,
			     &st, sizeof(st)));
	EXPECT_EQ(RXE_REVOKE_MR_REVOCABLE, st.kind);

	/* header: another driver's id, reserved fields, a wrong length */
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_REVOKE);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, self->rv->handle);
	r.hdr.driver_id = RDMA_DRIVER_MLX5;
	EXPECT_EQ(EINVAL, req_run(fd, &r));
	r.hdr.driver_id = RDMA_DRIVER_RXE;
	r.hdr.reserved1 = 1;
	EXPECT_EQ(EPROTONOSUPPORT, req_run(fd, &r));
	r.hdr.reserved1 = 0;
	EXPECT_EQ(EINVAL, req_run_len(fd, &r, sizeof(r.hdr)));
	EXPECT_EQ(EINVAL, req_run_len(fd, &r, sizeof(r.hdr) + 8));
	r.hdr.num_attrs = 300;	/* more than a page of attributes */
	EXPECT_EQ(EINVAL, req_run_len(fd, &r, sizeof(r.hdr) + 300 * 16));

	/* unknown methods and objects in our namespace */
	req_init(&r, UVERBS_OBJECT_MR, NS + 3);
	EXPECT_EQ(EPROTONOSUPPORT, req_run(fd, &r));
	req_init(&r, UVERBS_OBJECT_MR, NS + 0x7ff);
	EXPECT_EQ(EPROTONOSUPPORT, req_run(fd, &r));
	req_init(&r, RXE_REVOKE_OBJECT_EVENT_CHANNEL, NS + 1);
	EXPECT_EQ(EPROTONOSUPPORT, req_run(fd, &r));
	req_init(&r, NS + 1, NS);
	EXPECT_EQ(EPROTONOSUPPORT, req_run(fd, &r));

	/* missing mandatory attributes */
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_REVOKE);
	EXPECT_EQ(EINVAL, req_run(fd, &r));
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_QUERY);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, self->rv->handle);
	EXPECT_EQ(EINVAL, req_run(fd, &r));
	req_init(&r, RXE_REVOKE_OBJECT_EVENT_CHANNEL,
		 RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC);
	EXPECT_EQ(EINVAL, req_run(fd, &r));

	/* an unknown attribute: refused if mandatory, else ignored */
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_QUERY);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, self->rv->handle);
	req_attr(&r, RXE_REVOKE_ATTR_MR_STATE, sizeof(st), (uintptr_t)&st);
	a = req_attr(&r, NS + 9, 8, 0);
	EXPECT_EQ(EPROTONOSUPPORT, req_run(fd, &r));
	a->flags = 0;
	EXPECT_EQ(0, req_run(fd, &r));
	/* QUERY's state attribute on REVOKE is unknown there */
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, self->pinned->handle);
	req_attr(&r, RXE_REVOKE_ATTR_MR_STATE, sizeof(st), (uintptr_t)&st);
	EXPECT_EQ(EPROTONOSUPPORT, req_run(fd, &r));

	/* a duplicate attribute */
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_REVOKE);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, self->rv->handle);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, self->rv->handle);
	EXPECT_EQ(EINVAL, req_run(fd, &r));

	/* a handle attribute with a length or reserved bits */
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_REVOKE);
	a = req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 4, self->rv->handle);
	EXPECT_EQ(EINVAL, req_run(fd, &r));
	a->len = 0;
	a->attr_data.reserved = 1;
	EXPECT_EQ(EINVAL, req_run(fd, &r));

	/* the state buffer: too short, empty, not writable */
	EXPECT_EQ(EINVAL, mr_call(fd, RXE_REVOKE_METHOD_MR_QUERY,
				  self->rv->handle, big, sizeof(st) - 1));
	EXPECT_EQ(EINVAL, mr_call(fd, RXE_REVOKE_METHOD_MR_QUERY,
				  self->rv->handle, big, 0));
	EXPECT_EQ(EFAULT, mr_call(fd, RXE_REVOKE_METHOD_MR_QUERY,
				  self->rv->handle, (void *)8, sizeof(st)));
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_QUERY);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, self->rv->handle);
	a = req_attr(&r, RXE_REVOKE_ATTR_MR_STATE, sizeof(st), (uintptr_t)&st);
	a->attr_data.reserved = 1;
	EXPECT_EQ(EINVAL, req_run(fd, &r));

	/* a longer one (a newer userspace) gets zeroes past the struct */
	memset(big, 0xff, sizeof(big));
	EXPECT_EQ(0, mr_call(fd, RXE_REVOKE_METHOD_MR_QUERY, self->rv->handle,
			     big, sizeof(big)));
	EXPECT_EQ(0, memcmp(big, &st, sizeof(st)));
	EXPECT_EQ(0, big[sizeof(st)]);
	EXPECT_EQ(0, big[sizeof(big) - 1]);

	/* the channel's fd attribute carries no length */
	req_init(&r, RXE_REVOKE_OBJECT_EVENT_CHANNEL,
		 RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC);
	req_attr(&r, RXE_REVOKE_ATTR_EVENT_CHANNEL_FD, 4, 0);
	EXPECT_EQ(EINVAL, req_run(fd, &r));

	/* nothing of the above touched the MR or made an event */
	EXPECT_EQ(0, query(self->rv, &st));
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, st.status);
	EXPECT_EQ(0, st.revoke_count);
	EXPECT_TRUE(no_event(self->evfd));
}

/* Handles that do not name an MR of this context. */
TEST_F(bad, handles)
{
	static const uint16_t methods[] = {
		RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE,
		RXE_REVOKE_METHOD_MR_REVOKE,
		RXE_REVOKE_METHOD_MR_QUERY,
	};
	int fd = self->d.ctx->cmd_fd;
	struct rxe_revoke_mr_state st;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		uint16_t m = methods[i];
		void *s = m == RXE_REVOKE_METHOD_MR_QUERY ? &st : NULL;

		/* no such object */
		EXPECT_EQ(ENOENT, mr_call(fd, m, 0x7fffffff, s, sizeof(st)));
		EXPECT_EQ(ENOENT, mr_call(fd, m, 1ULL << 40, s, sizeof(st)));
		/* negative handles */
		EXPECT_EQ(EINVAL, mr_call(fd, m, -1ULL, s, sizeof(st)));
		EXPECT_EQ(EINVAL, mr_call(fd, m, 1ULL << 63, s, sizeof(st)));
		/* objects of another type: a PD, a CQ */
		EXPECT_EQ(EINVAL, mr_call(fd, m, self->d.pd->handle, s,
					  sizeof(st)));
		EXPECT_EQ(EINVAL, mr_call(fd, m, self->cq->handle, s,
					  sizeof(st)));
	}
	/* a freed MR's handle */
	{
		void *p = anon(LEN);
		struct ibv_mr *mr = rxer_reg_mr(self->d.pd, p, LEN, ACCESS,
						RXER_REG_REVOCABLE);
		uint32_t h;

		ASSERT_NE(NULL, mr);
		h = mr->handle;
		ASSERT_EQ(0, ibv_dereg_mr(mr));
		EXPECT_EQ(ENOENT, mr_call(fd, RXE_REVOKE_METHOD_MR_REVOKE, h,
					  NULL, 0));
		EXPECT_EQ(ENOENT, mr_call(fd, RXE_REVOKE_METHOD_MR_QUERY, h,
					  &st, sizeof(st)));
		munmap(p, LEN);
	}
	expect_untouched(_metadata, self->rv, self->evfd);
}

/* Methods on MRs of the wrong kind. */
TEST_F(bad, wrong_kind)
{
	int fd = self->d.ctx->cmd_fd;
	struct rxe_revoke_mr_state st;

	/* REVOKE: only revocable MRs */
	EXPECT_EQ(EINVAL, rxer_revoke_mr(self->pinned));
	EXPECT_EQ(EINVAL, rxer_revoke_mr(self->odp));
	/* MAKE_REVOCABLE: not an ODP MR; twice is fine */
	EXPECT_EQ(EINVAL, mr_call(fd, RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE,
				  self->odp->handle, NULL, 0));
	EXPECT_EQ(0, mr_call(fd, RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE,
			     self->rv->handle, NULL, 0));
	EXPECT_EQ(0, query(self->odp, &st));
	EXPECT_EQ(RXE_REVOKE_MR_ODP, st.kind);
	EXPECT_EQ(0, query(self->pinned, &st));
	EXPECT_EQ(RXE_REVOKE_MR_PINNED, st.kind);
	/* a revoked MR made revocable again stays revoked */
	EXPECT_EQ(0, rxer_revoke_mr(self->rv));
	EXPECT_EQ(EALREADY, rxer_revoke_mr(self->rv));
	EXPECT_EQ(0, mr_call(fd, RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE,
			     self->rv->handle, NULL, 0));
	EXPECT_EQ(0, query(self->rv, &st));
	EXPECT_EQ(RXE_REVOKE_MR_REVOKED, st.status);
	EXPECT_EQ(1, st.revoke_count);
}

/* REREG through write(): every field wrong in turn. */
TEST_F(bad, rereg)
{
	int fd = self->d.ctx->cmd_fd, full = (sizeof(struct ib_uverbs_cmd_hdr) +
		 sizeof(struct ib_uverbs_rereg_mr)) / 4;
	uint64_t a = (uintptr_t)self->buf;
	struct rxe_revoke_mr_state st;
	uint32_t h = self->rv->handle;

	/* the framework: a bad handle, another type, a short command */
	EXPECT_EQ(ENOENT, rereg_raw(fd, 0x7fffffff,
				    IBV_REREG_MR_CHANGE_TRANSLATION, a, LEN, a,
				    0, 0, full));
	EXPECT_EQ(EINVAL, rereg_raw(fd, self->d.pd->handle,
				    IBV_REREG_MR_CHANGE_TRANSLATION, a, LEN, a,
				    0, 0, full));
	EXPECT_EQ(ENOSPC, rereg_raw(fd, h, IBV_REREG_MR_CHANGE_TRANSLATION, a,
				    LEN, a, 0, 0, full - 2));
	/* flags: none, unknown */
	EXPECT_EQ(EINVAL, rereg_raw(fd, h, 0, a, LEN, a, 0, 0, full));
	EXPECT_EQ(EOPNOTSUPP, rereg_raw(fd, h, 0x100, a, LEN, a, 0, 0, full));
	/* a PD change to a handle that names no PD, or nothing */
	EXPECT_EQ(EINVAL, rereg_raw(fd, h, IBV_REREG_MR_CHANGE_PD |
				    IBV_REREG_MR_CHANGE_TRANSLATION, a, LEN, a,
				    0, self->cq->handle, full));
	EXPECT_EQ(ENOENT, rereg_raw(fd, h, IBV_REREG_MR_CHANGE_PD, a, LEN, a,
				    0, 0x7fffffff, full));
	/* the access rights alone: IBV_ACCESS_ON_DEMAND cannot come in */
	EXPECT_EQ(EINVAL, rereg_raw(fd, h, IBV_REREG_MR_CHANGE_ACCESS, a, LEN,
				    a, ACCESS | IBV_ACCESS_ON_DEMAND, 0, full));
	/* the offsets in the page of start and iova differ */
	EXPECT_EQ(EINVAL, rereg_raw(fd, h, IBV_REREG_MR_CHANGE_TRANSLATION, a,
				    LEN, a + 8, 0, 0, full));
	/* access: unknown bits, ODP, remote write without local write */
	EXPECT_EQ(EINVAL, rereg(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION |
				IBV_REREG_MR_CHANGE_ACCESS, self->buf, LEN,
				1U << 30));
	EXPECT_EQ(EINVAL, rereg(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION |
				IBV_REREG_MR_CHANGE_ACCESS, self->buf, LEN,
				ACCESS | IBV_ACCESS_ON_DEMAND));
	EXPECT_EQ(EINVAL, rereg(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION |
				IBV_REREG_MR_CHANGE_ACCESS, self->buf, LEN,
				IBV_ACCESS_REMOTE_WRITE));
	/* ranges: empty, wrapping, unmapped, far too large */
	EXPECT_EQ(EINVAL, rereg(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION,
				self->buf, 0, 0));
	EXPECT_EQ(EINVAL, rereg(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION,
				self->buf, -PAGE, 0));
	EXPECT_EQ(EFAULT, rereg(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION,
				(void *)(uintptr_t)PAGE, LEN, 0));
	EXPECT_EQ(EINVAL, rereg(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION,
				self->buf, 1ULL << 46, 0));
	EXPECT_EQ(ENOMEM, rereg(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION,
				self->buf, 1ULL << 42, 0));
	/* the kind of an MR does not change: ODP neither comes nor goes */
	EXPECT_EQ(EINVAL, rereg(self->pinned, IBV_REREG_MR_CHANGE_ACCESS |
				IBV_REREG_MR_CHANGE_TRANSLATION, self->buf,
				LEN, ACCESS | IBV_ACCESS_ON_DEMAND));
	EXPECT_EQ(EINVAL, rereg(self->odp, IBV_REREG_MR_CHANGE_ACCESS,
				self->buf, LEN, ACCESS));
	/* nor can a zero length or unmapped range replace a pinned MR */
	EXPECT_EQ(EINVAL, rereg(self->pinned, IBV_REREG_MR_CHANGE_TRANSLATION,
				self->buf, 0, 0));
	EXPECT_EQ(EFAULT, rereg(self->pinned, IBV_REREG_MR_CHANGE_TRANSLATION,
				(void *)(uintptr_t)PAGE, LEN, 0));
	/* and a good one works after all that */
	EXPECT_EQ(0, rxer_rereg_mr(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION,
				   NULL, self->buf, LEN, 0));
	EXPECT_EQ(0, query(self->rv, &st));
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, st.status);
}

/* ADVISE_MR, the standard method, with what our tests elsewhere miss. */
TEST_F(bad, advise)
{
	int fd = self->d.ctx->cmd_fd;
	struct ib_uverbs_sge sge[2] = {
		{ (uintptr_t)self->buf + 2 * LEN, PAGE, self->odp->lkey },
		{ (uintptr_t)self->buf + 2 * LEN, PAGE, self->odp->lkey },
	};
	struct req r;

	/* an SGE list that is not a whole number of SGEs */
	req_init(&r, UVERBS_OBJECT_MR, UVERBS_METHOD_ADVISE_MR);
	req_attr(&r, UVERBS_ATTR_ADVISE_MR_PD_HANDLE, 0, self->d.pd->handle);
	req_attr(&r, UVERBS_ATTR_ADVISE_MR_ADVICE, 8,
		 IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH);
	req_attr(&r, UVERBS_ATTR_ADVISE_MR_FLAGS, 4,
		 IB_UVERBS_ADVISE_MR_FLAG_FLUSH);
	req_attr(&r, UVERBS_ATTR_ADVISE_MR_SGE_LIST, sizeof(sge) - 1,
		 (uintptr_t)sge);
	EXPECT_EQ(EINVAL, req_run(fd, &r));
	r.attrs[3].len = sizeof(sge);
	EXPECT_EQ(0, req_run(fd, &r));
	/* the SGE list is not readable */
	r.attrs[3].data = 8;
	EXPECT_EQ(EFAULT, req_run(fd, &r));
	r.attrs[3].data = (uintptr_t)sge;
	/* a range that wraps */
	sge[1].addr = -16ULL;
	sge[1].length = 64;
	EXPECT_EQ(EFAULT, req_run(fd, &r));
	sge[1].addr = sge[0].addr;
	/* a CQ as the PD */
	r.attrs[0].data = self->cq->handle;
	EXPECT_EQ(EINVAL, req_run(fd, &r));
	r.attrs[0].data = self->d.pd->handle;
	/* the lkey of an MR of another PD of the same context */
	{
		struct ibv_pd *pd2 = ibv_alloc_pd(self->d.ctx);

		ASSERT_NE(NULL, pd2);
		r.attrs[0].data = pd2->handle;
		EXPECT_EQ(ENOENT, req_run(fd, &r));
		r.attrs[0].data = self->d.pd->handle;
		ibv_dealloc_pd(pd2);
	}
	EXPECT_EQ(0, req_run(fd, &r));
}

/* The event channel fd: reads of every size, and what it is not. */
TEST_F(bad, channel)
{
	struct rxe_revoke_event ev[3];
	struct pollfd p = { .fd = self->evfd, .events = POLLIN };
	char small[sizeof(ev[0]) - 1];
	int fd = self->evfd;
	struct req r;

	EXPECT_EQ(-1, read(fd, small, sizeof(small)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(fd, ev, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(fd, ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&p, 1, 0));
	/* not writable, seekable, mappable, nor a uverbs command fd */
	EXPECT_EQ(-1, write(fd, ev, sizeof(ev[0])));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ(ENODEV, errno);
	req_init(&r, UVERBS_OBJECT_MR, RXE_REVOKE_METHOD_MR_REVOKE);
	req_attr(&r, RXE_REVOKE_ATTR_MR_HANDLE, 0, self->rv->handle);
	EXPECT_EQ(ENOTTY, req_run(fd, &r));

	/* two events: a buffer of one and a half records gets one */
	ASSERT_EQ(0, rxer_revoke_mr(self->rv));
	ASSERT_EQ(0, rxer_rereg_mr(self->rv, IBV_REREG_MR_CHANGE_TRANSLATION,
				   NULL, self->buf, LEN, 0));
	ASSERT_EQ(0, rxer_revoke_mr(self->rv));
	ASSERT_EQ(1, poll(&p, 1, 5000));
	EXPECT_EQ((ssize_t)sizeof(ev[0]),
		  read(fd, ev, sizeof(ev[0]) + sizeof(ev[0]) / 2));
	EXPECT_EQ(1, ev[0].seq);
	EXPECT_EQ(RXE_REVOKE_REASON_EXPLICIT, ev[0].reason);
	EXPECT_EQ((ssize_t)sizeof(ev[0]), read(fd, ev, sizeof(ev)));
	EXPECT_EQ(2, ev[0].seq);
	EXPECT_TRUE(no_event(fd));

	/*
	 * The context goes (its cmd_fd closed) while the channel stays
	 * open: the channel reads end of file and polls as hung up.
	 */
	{
		int fd2 = rxer_create_event_channel(self->d.ctx);

		ASSERT_LE(0, fd2);
		ibv_dereg_mr(self->rv);
		ibv_dereg_mr(self->pinned);
		ibv_dereg_mr(self->odp);
		ibv_destroy_cq(self->cq);
		self->rv = self->pinned = self->odp = NULL;
		self->cq = NULL;
		rt_dev_close(&self->d);
		p.fd = fd2;
		p.events = POLLIN;
		EXPECT_EQ(1, poll(&p, 1, 5000));
		EXPECT_TRUE(p.revents & POLLHUP);
		EXPECT_EQ(0, read(fd2, ev, sizeof(ev)));
		close(fd2);
		/* the same for the non-blocking one */
		EXPECT_EQ(0, read(fd, ev, sizeof(ev)));
	}
}

/* A channel of the given record size, or -errno. */
static int channel_of_size(int cmd_fd, uint32_t size)
{
	struct ib_uverbs_attr *fd_attr;
	struct req r;
	int err;

	req_init(&r, RXE_REVOKE_OBJECT_EVENT_CHANNEL,
		 RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC);
	fd_attr = req_attr(&r, RXE_REVOKE_ATTR_EVENT_CHANNEL_FD, 0, 0);
	req_attr(&r, RXE_REVOKE_ATTR_EVENT_CHANNEL_RECORD_SIZE,
		 sizeof(uint64_t), size);
	err = req_run(cmd_fd, &r);
	return err ? -err : (int)fd_attr->data;
}

/*
 * The record size a reader asks for (RXE_REVOKE_ATTR_EVENT_CHANNEL_RECORD_SIZE,
 * the uAPI's way to grow the record): refused unless a multiple of 8 from
 * RXE_REVOKE_EVENT_SIZE_MIN to RXE_REVOKE_EVENT_SIZE_MAX; read() then
 * returns records of exactly that size, cut or zero-padded, with size set.
 */
TEST_F(bad, channel_record_size)
{
	static const uint32_t bad_sizes[] = {
		0, 8, 48, RXE_REVOKE_EVENT_SIZE_MIN - 8,
		RXE_REVOKE_EVENT_SIZE_MIN + 4, RXE_REVOKE_EVENT_SIZE_MAX + 8,
		1U << 31,
	};
	int cmd_fd = self->d.ctx->cmd_fd;
	struct rxe_revoke_event *ev;
	uint8_t buf[256];
	unsigned int i;
	int small, big;

	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		EXPECT_EQ(-EINVAL, channel_of_size(cmd_fd, bad_sizes[i]))
			TH_LOG("record size %u", bad_sizes[i]);

	small = channel_of_size(cmd_fd, RXE_REVOKE_EVENT_SIZE_MIN);
	ASSERT_LE(0, small) TH_LOG("%s", strerror(-small));
	big = channel_of_size(cmd_fd, 128);
	ASSERT_LE(0, big) TH_LOG("%s", strerror(-big));
	ASSERT_EQ(0, rxer_revoke_mr(self->rv));

	/* the small reader: 56-byte records */
	EXPECT_EQ(-1, read(small, buf, RXE_REVOKE_EVENT_SIZE_MIN - 1));
	EXPECT_EQ(EINVAL, errno);
	memset(buf, 0xa5, sizeof(buf));
	EXPECT_EQ(RXE_REVOKE_EVENT_SIZE_MIN, read(small, buf, sizeof(buf)));
	ev = (struct rxe_revoke_event *)buf;
	EXPECT_EQ(1, ev->seq);
	EXPECT_EQ(RXE_REVOKE_REASON_EXPLICIT, ev->reason);
	EXPECT_EQ(self->rv->lkey, ev->lkey);
	EXPECT_EQ(RXE_REVOKE_EVENT_SIZE_MIN, ev->size);
	EXPECT_EQ(0, ev->reserved);
	EXPECT_EQ(0xa5, buf[RXE_REVOKE_EVENT_SIZE_MIN]);

	/* the big reader: the same record, zero-padded to 128 bytes */
	memset(buf, 0xa5, sizeof(buf));
	EXPECT_EQ(128, read(big, buf, sizeof(buf)));
	EXPECT_EQ(1, ev->seq);
	EXPECT_EQ(RXE_REVOKE_REASON_EXPLICIT, ev->reason);
	EXPECT_EQ(128, ev->size);
	EXPECT_EQ(0, ev->reserved2[0]);
	EXPECT_EQ(0, ev->reserved2[1]);
	for (i = sizeof(*ev); i < 128; i++)
		if (buf[i])
			break;
	EXPECT_EQ(128, i) TH_LOG("byte %u of the padding is not zero", i);
	EXPECT_EQ(0xa5, buf[128]);
	close(small);
	close(big);
}

/* Wait for a child; returns its exit status or -1. */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * What a process that is not the MR's owner tries, in a context of its
 * own: every handle number that could be the victim's, for every method,
 * and prefetch with the victim's lkey. Returns the number of calls that
 * reached an MR that is not one of its own (0 when all is well).
 */
static int intruder(uint32_t victim_handle, uint32_t victim_lkey,
		    uint64_t victim_addr)
{
	struct rxe_revoke_mr_state st;
	struct ibv_sge sge = { victim_addr, PAGE, victim_lkey };
	struct ibv_mr *own;
	struct rt_dev d;
	uint32_t h;
	int hits = 0, evfd, err;
	void *p;

	if (rt_dev_open(&d))
		return 100;
	evfd = rxer_create_event_channel(d.ctx);
	p = anon(LEN);
	own = p ? rxer_reg_mr(d.pd, p, LEN, ACCESS, RXER_REG_REVOCABLE) : NULL;
	if (evfd < 0 || !own)
		return 101;
	for (h = 0; h < 64 || h <= victim_handle; h++) {
		if (h == own->handle)
			continue;
		err = mr_call(d.ctx->cmd_fd, RXE_REVOKE_METHOD_MR_QUERY, h,
			      &st, sizeof(st));
		hits += err != ENOENT && err != EINVAL;
		err = mr_call(d.ctx->cmd_fd, RXE_REVOKE_METHOD_MR_REVOKE, h,
			      NULL, 0);
		hits += err != ENOENT && err != EINVAL;
		err = mr_call(d.ctx->cmd_fd,
			      RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE, h, NULL, 0);
		hits += err != ENOENT && err != EINVAL;
	}
	hits += rxer_advise_mr(d.pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
			       IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1) != ENOENT;
	/* its own MR is its own to revoke, and its event is its own */
	if (rxer_revoke_mr(own))
		return 102;
	{
		struct rxe_revoke_event ev;
		struct pollfd pf = { .fd = evfd, .events = POLLIN };

		if (poll(&pf, 1, 5000) != 1 || rxer_read_events(evfd, &ev, 1) != 1 ||
		    ev.mr_handle != own->handle)
			return 103;
	}
	ibv_dereg_mr(own);
	close(evfd);
	rt_dev_close(&d);
	return hits;
}


/* Another process, in its own context. */
TEST_F(bad, other_process)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		/* exec'd processes do not inherit cmd_fd (O_CLOEXEC); drop it */
		close(self->d.ctx->cmd_fd);
		_exit(intruder(self->rv->handle, self->rv->lkey,
			       (uintptr_t)self->buf));
	}
	EXPECT_EQ(0, reap(pid));
	expect_untouched(_metadata, self->rv, self->evfd);
}

/*
 * A forked child: in a new context of its own it reaches nothing of the
 * parent's; through the inherited cmd_fd (the parent's context) it may
 * query but not make the parent's MR revocable, whose pages are in the
 * parent's mm.
 */
TEST_F(bad, forked_child)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		int err = mr_call(self->d.ctx->cmd_fd,
				  RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE,
				  self->pinned->handle, NULL, 0);

		if (err != EPERM)
			_exit(110);
		_exit(intruder(self->rv->handle, self->rv->lkey,
			       (uintptr_t)self->buf));
	}
	EXPECT_EQ(0, reap(pid));
	expect_untouched(_metadata, self->rv, self->evfd);
	{
		struct rxe_revoke_mr_state st;

		ASSERT_EQ(0, rxer_query_mr(self->pinned, &st));
		EXPECT_EQ(RXE_REVOKE_MR_PINNED, st.kind);
	}
}

/* Become nobody, with memlock bytes of RLIMIT_MEMLOCK. */
static int drop_privileges(rlim_t memlock)
{
	struct rlimit rl = { memlock, memlock };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
	    setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -1;
	return 0;
}

/*
 * An unprivileged user. The uverbs device nodes are root-only (0600) in
 * the guest, which has no udev rules for them: made world-accessible
 * (0666, as rdma-core's udev rules do on a real system) for this test
 * and restored afterwards.
 */
FIXTURE(unpriv) {
	char node[64];
	mode_t mode;
};

FIXTURE_SETUP(unpriv)
{
	struct stat st;
	int i;

	self->node[0] = 0;
	for (i = 0; i < 8; i++) {
		snprintf(self->node, sizeof(self->node),
			 "/dev/infiniband/uverbs%d", i);
		if (!stat(self->node, &st))
			break;
	}
	ASSERT_EQ(0, stat(self->node, &st)) TH_LOG("no uverbs node");
	self->mode = st.st_mode & 07777;
	ASSERT_EQ(0, chmod(self->node, 0666));
}

FIXTURE_TEARDOWN(unpriv)
{
	if (self->node[0])
		chmod(self->node, self->mode);
}

TEST_F(unpriv, cannot_touch_roots_mr)
{
	struct rxe_revoke_mr_state st;
	struct ibv_mr *mr;
	struct rt_dev d;
	int evfd;
	void *p;
	pid_t pid;

	ASSERT_EQ(0, rt_dev_open(&d));
	p = anon(LEN);
	ASSERT_NE(NULL, p);
	mr = rxer_reg_mr(d.pd, p, LEN, ACCESS, RXER_REG_REVOCABLE);
	ASSERT_NE(NULL, mr);
	evfd = rxer_create_event_channel(d.ctx);
	ASSERT_LE(0, evfd);
	fcntl(evfd, F_SETFL, O_NONBLOCK);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(d.ctx->cmd_fd);
		if (drop_privileges(4 * LEN) || getuid() != NOBODY)
			_exit(120);
		_exit(intruder(mr->handle, mr->lkey, (uintptr_t)p));
	}
	EXPECT_EQ(0, reap(pid));
	expect_untouched(_metadata, mr, evfd);
	ASSERT_EQ(0, rxer_query_mr(mr, &st));
	ibv_dereg_mr(mr);
	close(evfd);
	munmap(p, LEN);
	rt_dev_close(&d);
}

/*
 * RLIMIT_MEMLOCK holds for an unprivileged user's revocable MRs as for
 * pinned ones: a registration and a re-registration beyond it fail with
 * ENOMEM, within it they work.
 */
TEST_F(unpriv, memlock_limit)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct ibv_mr *mr;
		struct rt_dev d;
		void *p;
		int err;

		if (drop_privileges(2 * LEN) || rt_dev_open(&d))
			_exit(130);
		p = anon(8 * LEN);
		if (!p)
			_exit(131);
		errno = 0;
		if (ibv_reg_mr(d.pd, p, 8 * LEN, ACCESS) || errno != ENOMEM)
			_exit(132);
		mr = rxer_reg_mr(d.pd, p, LEN, ACCESS, RXER_REG_REVOCABLE);
		if (!mr)
			_exit(133);
		err = rxer_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
				    p, 8 * LEN, 0);
		if (err != ENOMEM)
			_exit(134);
		/* within the limit, and again and again: no leak of it */
		for (int i = 0; i < 4; i++)
			if (rxer_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION,
					  NULL, p, 2 * LEN, 0))
				_exit(135);
		ibv_dereg_mr(mr);
		_exit(0);
	}
	EXPECT_EQ(0, reap(pid));
}

/* xorshift64*, seeded */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 2685821657736338717ULL;
}

static long long meminfo(const char *key)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			sscanf(line + strlen(key), ": %lld", &v);
	fclose(f);
	return v;
}

/* MRs, PDs, ... of this process that rdma resource still lists. */
static int rdma_objects(void)
{
	char cmd[128], line[512];
	int n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "rdma resource show mr 2>&1; rdma resource show pd 2>&1");
	f = popen(cmd, "r");
	if (!f)
		return -1;
	snprintf(cmd, sizeof(cmd), "pid %d ", getpid());
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, cmd);
	pclose(f);
	return n;
}

static uint64_t fuzz_value(uint64_t *pool, int npool, void *scratch)
{
	switch (rnd() % 8) {
	case 0: case 1: case 2:
		return pool[rnd() % npool];
	case 3:
		return rnd() % 64;
	case 4:
		return (uintptr_t)scratch + (rnd() % 64);
	case 5:
		return 0;
	case 6:
		return -(rnd() % 4);
	default:
		return rnd();
	}
}

/* One round: setup, iters random requests, teardown. Returns calls that failed oddly. */
static int fuzz_round(struct __test_metadata *_metadata, int iters,
		      int *hist)
{
	static const uint16_t objs[] = {
		UVERBS_OBJECT_MR, UVERBS_OBJECT_MR, UVERBS_OBJECT_MR,
		RXE_REVOKE_OBJECT_EVENT_CHANNEL, UVERBS_OBJECT_PD,
		NS + 1,
	};
	static const uint16_t lens[] = { 0, 0, 4, 8, 39, 40, 41, 64 };
	uint64_t pool[8];
	struct ibv_mr *mr[3];
	struct rt_dev d;
	int i, j, odd = 0, fd0;
	uint8_t *scratch;
	void *p;

	ASSERT_EQ(0, rt_dev_open(&d)) { return -1; }
	p = anon(3 * LEN);
	scratch = anon(PAGE);
	ASSERT_NE(NULL, p) { return -1; }
	ASSERT_NE(NULL, scratch) { return -1; }
	mr[0] = rxer_reg_mr(d.pd, p, LEN, ACCESS, RXER_REG_REVOCABLE);
	mr[1] = ibv_reg_mr(d.pd, (char *)p + LEN, LEN, ACCESS);
	mr[2] = ibv_reg_mr(d.pd, (char *)p + 2 * LEN, LEN,
			   ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_TRUE(mr[0] && mr[1] && mr[2]) { return -1; }
	pool[0] = mr[0]->handle;
	pool[1] = mr[1]->handle;
	pool[2] = mr[2]->handle;
	pool[3] = d.pd->handle;
	pool[4] = mr[0]->lkey;
	pool[5] = RXE_REVOKE_ATTR_MR_HANDLE;
	pool[6] = 0x7fffffff;
	pool[7] = (uintptr_t)scratch;
	fd0 = dup(0);
	close(fd0);

	for (i = 0; i < iters; i++) {
		struct req r;
		int n = rnd() % 5, err;

		/* mostly a method that exists, else anything */
		switch (rnd() % 8) {
		case 0: case 1: case 2: case 3:
			req_init(&r, UVERBS_OBJECT_MR, NS + rnd() % 3);
			break;
		case 4:
			req_init(&r, RXE_REVOKE_OBJECT_EVENT_CHANNEL, NS);
			break;
		case 5:
			req_init(&r, UVERBS_OBJECT_MR, UVERBS_METHOD_ADVISE_MR);
			break;
		default:
			req_init(&r, objs[rnd() % 6], NS + rnd() % 4);
			break;
		}
		if (rnd() % 16 == 0)
			r.hdr.method_id = rnd();
		if (rnd() % 32 == 0)
			r.hdr.driver_id = rnd() % 32;
		for (j = 0; j < n; j++) {
			struct ib_uverbs_attr *a;
			uint16_t id = r.hdr.method_id ==
				      UVERBS_METHOD_ADVISE_MR ?
				      rnd() % 5 : NS + rnd() % 3;

			if (rnd() % 8 == 0)
				id = rnd();
			a = req_attr(&r, id, lens[rnd() % 8],
				     fuzz_value(pool, 8, scratch));
			a->flags = rnd() % 4 ? UVERBS_ATTR_F_MANDATORY :
				   rnd() % 4;
			if (rnd() % 16 == 0)
				a->attr_data.reserved = rnd();
		}
		err = req_run(d.ctx->cmd_fd, &r);
		switch (err) {
		case 0: case EINVAL: case ENOENT: case EPROTONOSUPPORT:
		case EOPNOTSUPP: case EFAULT: case EALREADY: case EPERM:
		case EAGAIN:
			break;
		default:
			odd++;
			TH_LOG("seed iter %d: object %#x method %#x: %s", i,
			       r.hdr.object_id, r.hdr.method_id,
			       strerror(err));
		}
		hist[err < 128 ? err : 127]++;
		/* channels made by chance: close them */
		if (!err && r.hdr.object_id == RXE_REVOKE_OBJECT_EVENT_CHANNEL)
			for (j = 0; j < r.hdr.num_attrs; j++)
				if (r.attrs[j].attr_id ==
				    RXE_REVOKE_ATTR_EVENT_CHANNEL_FD &&
				    (int)r.attrs[j].data > fd0)
					close((int)r.attrs[j].data);
	}
	for (j = 0; j < 3; j++)
		EXPECT_EQ(0, ibv_dereg_mr(mr[j]));
	munmap(p, 3 * LEN);
	munmap(scratch, PAGE);
	rt_dev_close(&d);
	/* no fd left open by a request */
	fd0 = dup(0);
	EXPECT_GE(fd0, 0);
	close(fd0);
	return odd;
}

TEST(fuzz)
{
	int iters = atoi(rt_env("RXE_FUZZ_ITERS", "20000"));
	uint64_t seed = strtoull(rt_env("RXE_FUZZ_SEED", "0"), NULL, 0);
	long long slab0, slab1, slab2;
	int hist[128] = {}, i, odd;

	if (!seed)
		seed = (uint64_t)time(NULL) * 2654435761ULL ^ getpid();
	rnd_state = seed;
	TH_LOG("seed %#llx, %d iterations a round (replay: RXE_FUZZ_SEED=%#llx)",
	       (unsigned long long)seed, iters, (unsigned long long)seed);
	slab0 = meminfo("Slab");
	odd = fuzz_round(_metadata, iters, hist);
	slab1 = meminfo("Slab");
	odd += fuzz_round(_metadata, iters, hist);
	slab2 = meminfo("Slab");
	for (i = 0; i < 128; i++)
		if (hist[i])
			TH_LOG("%6d x %s", hist[i], i ? strerror(i) : "success");
	TH_LOG("Slab: %lld kB, %lld kB after round 1, %lld kB after round 2",
	       slab0, slab1, slab2);
	EXPECT_EQ(0, odd) TH_LOG("replay: RXE_FUZZ_SEED=%#llx",
				 (unsigned long long)seed);
	/* nothing of ours is left in the device */
	EXPECT_EQ(0, rdma_objects());
	/* a second round leaks no more than slack (TCG, slub_debug) */
	EXPECT_GT(8192, slab2 - slab1);
	EXPECT_LT(1000, hist[0] + hist[EINVAL] + hist[EPROTONOSUPPORT]);
}

TEST_HARNESS_MAIN
