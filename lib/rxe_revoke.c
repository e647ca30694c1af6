// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * librxerevoke: uverbs ioctl calls for rxe-revoke, on stock rdma-core.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_ioctl_verbs.h>
#include <rdma/ib_user_verbs.h>
#include <rdma/rdma_user_ioctl_cmds.h>

#include "rxe_revoke.h"

#define RXER_MAX_ATTRS	8

struct rxer_cmd {
	struct ib_uverbs_ioctl_hdr hdr;
	struct ib_uverbs_attr attrs[RXER_MAX_ATTRS];
};

static void cmd_init(struct rxer_cmd *c, uint16_t object, uint16_t method)
{
	memset(c, 0, sizeof(*c));
	c->hdr.object_id = object;
	c->hdr.method_id = method;
	c->hdr.driver_id = RDMA_DRIVER_RXE;
}

static struct ib_uverbs_attr *cmd_attr(struct rxer_cmd *c, uint16_t id)
{
	struct ib_uverbs_attr *a = &c->attrs[c->hdr.num_attrs++];

	a->attr_id = id;
	a->flags = UVERBS_ATTR_F_MANDATORY;
	return a;
}

/* An object handle (IDR) attribute. */
static void cmd_obj(struct rxer_cmd *c, uint16_t id, uint32_t handle)
{
	cmd_attr(c, id)->data = handle;
}

/* An inline input of up to 8 bytes. */
static void cmd_in64(struct rxer_cmd *c, uint16_t id, uint64_t v, uint16_t len)
{
	struct ib_uverbs_attr *a = cmd_attr(c, id);

	a->len = len;
	a->data = v;
}

/* An input by pointer. */
static void cmd_ptr(struct rxer_cmd *c, uint16_t id, const void *p,
		    size_t len)
{
	struct ib_uverbs_attr *a = cmd_attr(c, id);

	a->len = (uint16_t)len;
	a->data = (uintptr_t)p;
}

static int cmd_exec(struct ibv_context *ctx, struct rxer_cmd *c)
{
	c->hdr.length = (uint16_t)(sizeof(c->hdr) +
				   c->hdr.num_attrs * sizeof(c->attrs[0]));
	if (ioctl(ctx->cmd_fd, RDMA_VERBS_IOCTL, &c->hdr))
		return errno;
	return 0;
}

__attribute__((visibility("default")))
int rxer_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
		   uint32_t flags, struct ibv_sge *sg_list, uint32_t num_sge)
{
	struct ib_uverbs_sge *sge;
	struct rxer_cmd c;
	uint32_t i;
	int ret;

	/* The attribute length is 16 bits. */
	if (!pd || !sg_list || !num_sge ||
	    num_sge > UINT16_MAX / sizeof(*sge))
		return EINVAL;
	sge = calloc(num_sge, sizeof(*sge));
	if (!sge)
		return ENOMEM;
	for (i = 0; i < num_sge; i++) {
		sge[i].addr = sg_list[i].addr;
		sge[i].length = sg_list[i].length;
		sge[i].lkey = sg_list[i].lkey;
	}
	cmd_init(&c, UVERBS_OBJECT_MR, UVERBS_METHOD_ADVISE_MR);
	cmd_obj(&c, UVERBS_ATTR_ADVISE_MR_PD_HANDLE, pd->handle);
	cmd_in64(&c, UVERBS_ATTR_ADVISE_MR_ADVICE, advice, sizeof(uint64_t));
	cmd_in64(&c, UVERBS_ATTR_ADVISE_MR_FLAGS, flags, sizeof(uint32_t));
	cmd_ptr(&c, UVERBS_ATTR_ADVISE_MR_SGE_LIST, sge,
		num_sge * sizeof(sge[0]));
	ret = cmd_exec(pd->context, &c);
	free(sge);
	return ret;
}

static int mr_method(struct ibv_mr *mr, uint16_t method, void *out,
		     size_t out_len)
{
	struct rxer_cmd c;

	if (!mr)
		return EINVAL;
	cmd_init(&c, UVERBS_OBJECT_MR, method);
	cmd_obj(&c, RXE_REVOKE_ATTR_MR_HANDLE, mr->handle);
	if (out)
		cmd_ptr(&c, RXE_REVOKE_ATTR_MR_STATE, out, out_len);
	return cmd_exec(mr->context, &c);
}

__attribute__((visibility("default")))
struct ibv_mr *rxer_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			   int access, uint32_t flags)
{
	struct ibv_mr *mr;
	int err;

	if (flags & ~(uint32_t)RXER_REG_REVOCABLE) {
		errno = EINVAL;
		return NULL;
	}
	mr = ibv_reg_mr(pd, addr, length, access);
	if (!mr || !(flags & RXER_REG_REVOCABLE))
		return mr;
	err = mr_method(mr, RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE, NULL, 0);
	if (err) {
		ibv_dereg_mr(mr);
		errno = err;
		return NULL;
	}
	return mr;
}

__attribute__((visibility("default")))
int rxer_revoke_mr(struct ibv_mr *mr)
{
	return mr_method(mr, RXE_REVOKE_METHOD_MR_REVOKE, NULL, 0);
}

__attribute__((visibility("default")))
int rxer_query_mr(struct ibv_mr *mr, struct rxe_revoke_mr_state *state)
{
	if (!state)
		return EINVAL;
	memset(state, 0, sizeof(*state));
	return mr_method(mr, RXE_REVOKE_METHOD_MR_QUERY, state, sizeof(*state));
}

__attribute__((visibility("default")))
int rxer_create_event_channel(struct ibv_context *ctx)
{
	struct ib_uverbs_attr *fd_attr;
	struct rxer_cmd c;
	int err;

	if (!ctx) {
		errno = EINVAL;
		return -1;
	}
	cmd_init(&c, RXE_REVOKE_OBJECT_EVENT_CHANNEL,
		 RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC);
	fd_attr = cmd_attr(&c, RXE_REVOKE_ATTR_EVENT_CHANNEL_FD);
	err = cmd_exec(ctx, &c);
	if (err) {
		errno = err;
		return -1;
	}
	/* the kernel wrote the new fd into the attribute */
	return (int)fd_attr->data;
}

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
