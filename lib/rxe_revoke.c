// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * librxerevoke: rxe-revoke on stock rdma-core.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <infiniband/cmd_ioctl.h>	/* lib/compat: the helpers rxedv.c uses */
#include <rdma/ib_user_verbs.h>

#include "rxedv.h"	/* of rdma-core-patches/, extracted by the Makefile */
#include "rxe_revoke.h"

/*
 * Revocable MRs (reg, revoke, query, events) are rxedv's code: rxedv.c of
 * rdma-core-patches/ is compiled into this library (lib/Makefile) under
 * names of its own (compat/rxedv-names.h), against lib/compat's stand-ins
 * for the rdma-core internals it uses. The rxer_ calls below keep the
 * library's API and ABI on top of it. Prefetch and rereg are standard
 * verbs that a stock rdma-core 44 rxe provider answers with EOPNOTSUPP:
 * this library issues the kernel's own commands for them, as the patched
 * provider does with ibv_cmd_advise_mr() and ibv_cmd_rereg_mr().
 */

__attribute__((visibility("default")))
int rxer_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
		   uint32_t flags, struct ibv_sge *sg_list, uint32_t num_sge)
{
	DECLARE_COMMAND_BUFFER(cmd, UVERBS_OBJECT_MR, UVERBS_METHOD_ADVISE_MR,
			       4);

	/* struct ibv_sge is struct ib_uverbs_sge; the length is 16 bits */
	static_assert(sizeof(struct ibv_sge) == sizeof(struct ib_uverbs_sge),
		      "sge");
	if (!pd || !sg_list || !num_sge ||
	    num_sge > UINT16_MAX / sizeof(*sg_list))
		return EINVAL;
	fill_attr_in_obj(cmd, UVERBS_ATTR_ADVISE_MR_PD_HANDLE, pd->handle);
	fill_attr_const_in(cmd, UVERBS_ATTR_ADVISE_MR_ADVICE, advice);
	fill_attr_in_uint32(cmd, UVERBS_ATTR_ADVISE_MR_FLAGS, flags);
	fill_attr_in_ptr_array(cmd, UVERBS_ATTR_ADVISE_MR_SGE_LIST, sg_list,
			       num_sge);
	return execute_ioctl(pd->context, cmd);
}

static_assert((int)RXER_REG_REVOCABLE == (int)RXEDV_REG_MR_REVOCABLE,
	      "reg flags");

__attribute__((visibility("default")))
struct ibv_mr *rxer_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			   int access, uint32_t flags)
{
	if (!pd) {
		errno = EINVAL;
		return NULL;
	}
	return rxedv_reg_mr(pd, addr, length, (uintptr_t)addr, access, flags);
}

__attribute__((visibility("default")))
int rxer_revoke_mr(struct ibv_mr *mr)
{
	if (!mr)
		return EINVAL;
	return rxedv_revoke_mr(mr);
}

__attribute__((visibility("default")))
int rxer_query_mr(struct ibv_mr *mr, struct rxe_revoke_mr_state *state)
{
	struct rxedv_mr_attr attr;
	int ret;

	if (!mr || !state)
		return EINVAL;
	memset(state, 0, sizeof(*state));
	ret = rxedv_query_mr(mr, &attr, sizeof(attr));
	if (ret)
		return ret;
	state->kind = attr.kind;
	state->status = attr.status;
	state->reason = attr.reason;
	state->revoke_count = attr.revoke_count;
	state->revoked_start = attr.revoked_start;
	state->revoked_end = attr.revoked_end;
	state->lkey = attr.lkey;
	state->rkey = attr.rkey;
	return 0;
}

__attribute__((visibility("default")))
int rxer_create_event_channel(struct ibv_context *ctx)
{
	struct rxedv_event_channel *channel;
	int fd, err;

	if (!ctx) {
		errno = EINVAL;
		return -1;
	}
	channel = rxedv_create_event_channel(ctx, 0);
	if (!channel)
		return -1;
	/* the caller gets a bare fd: keep it, let the channel go */
	fd = fcntl(channel->fd, F_DUPFD_CLOEXEC, 0);
	err = errno;
	rxedv_destroy_event_channel(channel);
	errno = err;
	return fd;
}

/* Records of the kernel's layout, as read(2) returns them (rxe_revoke.h). */
__attribute__((visibility("default")))
int rxer_read_events(int fd, struct rxe_revoke_event *ev, int max)
{
	ssize_t n;

	if (!ev || max <= 0) {
		errno = EINVAL;
		return -1;
	}
	n = read(fd, ev, (size_t)max * sizeof(*ev));
	if (n < 0)
		return -1;
	return (int)(n / (ssize_t)sizeof(*ev));
}

__attribute__((visibility("default")))
int rxer_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd,
		  void *addr, size_t length, int access)
{
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_rereg_mr cmd;
	} req;
	struct ib_uverbs_rereg_mr_resp resp;

	if (!mr || ((flags & IBV_REREG_MR_CHANGE_PD) && !pd))
		return EINVAL;
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.hdr.command = IB_USER_VERBS_CMD_REREG_MR;
	req.hdr.in_words = sizeof(req) / 4;
	req.hdr.out_words = sizeof(resp) / 4;
	req.cmd.response = (uintptr_t)&resp;
	req.cmd.mr_handle = mr->handle;
	req.cmd.flags = (uint32_t)flags;
	req.cmd.start = (uintptr_t)addr;
	req.cmd.length = length;
	req.cmd.hca_va = (uintptr_t)addr;
	req.cmd.pd_handle = pd ? pd->handle : 0;
	req.cmd.access_flags = (uint32_t)access;
	if (write(mr->context->cmd_fd, &req, sizeof(req)) != sizeof(req))
		return errno;
	mr->lkey = resp.lkey;
	mr->rkey = resp.rkey;
	if (flags & IBV_REREG_MR_CHANGE_TRANSLATION) {
		mr->addr = addr;
		mr->length = length;
	}
	if (flags & IBV_REREG_MR_CHANGE_PD)
		mr->pd = pd;
	return 0;
}
