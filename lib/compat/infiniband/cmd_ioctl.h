/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * librxerevoke: the few helpers of rdma-core's internal
 * <infiniband/cmd_ioctl.h> that rxedv.c uses, on the public uverbs ioctl
 * ABI. librxerevoke compiles rxedv.c of rdma-core-patches/ as it is, so
 * that the direct verbs and this library share one implementation; a
 * stock libibverbs does not export execute_ioctl(). Same names and
 * meaning as rdma-core's, our own (much smaller) implementation: a fixed
 * attribute array, no command buffer chaining, no write() fallback.
 */
#ifndef RXER_COMPAT_CMD_IOCTL_H
#define RXER_COMPAT_CMD_IOCTL_H

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <infiniband/verbs.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_ioctl_verbs.h>
#include <rdma/rdma_user_ioctl_cmds.h>

#define RXER_CMD_MAX_ATTRS	8

struct ibv_command_buffer {
	struct ib_uverbs_ioctl_hdr hdr;
	struct ib_uverbs_attr attrs[RXER_CMD_MAX_ATTRS];
};

/*
 * The kernel checks the driver id: a command of ours on another driver's
 * device fails with EINVAL.
 */
#define DECLARE_COMMAND_BUFFER(_name, _object_id, _method_id, _num_attrs)   \
	struct ibv_command_buffer _name[1] = { {                             \
		.hdr = { .object_id = (_object_id),                          \
			 .method_id = (_method_id),                          \
			 .driver_id = RDMA_DRIVER_RXE } } };                 \
	static_assert((_num_attrs) <= RXER_CMD_MAX_ATTRS, "attributes")

static inline struct ib_uverbs_attr *
_rxer_next_attr(struct ibv_command_buffer *cmd, uint16_t attr_id)
{
	struct ib_uverbs_attr *attr;

	assert(cmd->hdr.num_attrs < RXER_CMD_MAX_ATTRS);
	attr = &cmd->attrs[cmd->hdr.num_attrs++];
	memset(attr, 0, sizeof(*attr));
	attr->attr_id = attr_id;
	return attr;
}

/* An object handle (UVERBS_ATTR_TYPE_IDR) */
static inline struct ib_uverbs_attr *
fill_attr_in_obj(struct ibv_command_buffer *cmd, uint16_t attr_id,
		 uint32_t idr)
{
	struct ib_uverbs_attr *attr = _rxer_next_attr(cmd, attr_id);

	attr->data = idr;
	return attr;
}

/* UVERBS_ATTR_TYPE_PTR_IN: inline up to 8 bytes, else by pointer */
static inline struct ib_uverbs_attr *
fill_attr_in(struct ibv_command_buffer *cmd, uint16_t attr_id,
	     const void *data, size_t len)
{
	struct ib_uverbs_attr *attr = _rxer_next_attr(cmd, attr_id);

	attr->len = (uint16_t)len;
	if (len <= sizeof(uint64_t))
		memcpy(&attr->data, data, len);
	else
		attr->data = (uintptr_t)data;
	return attr;
}

#define fill_attr_in_ptr_array(cmd, attr_id, ptr, nelems)                    \
	fill_attr_in(cmd, attr_id, ptr, sizeof(*(ptr)) * (nelems))

static inline struct ib_uverbs_attr *
fill_attr_in_uint64(struct ibv_command_buffer *cmd, uint16_t attr_id,
		    uint64_t data)
{
	struct ib_uverbs_attr *attr = _rxer_next_attr(cmd, attr_id);

	attr->len = sizeof(data);
	attr->data = data;
	return attr;
}

#define fill_attr_const_in(cmd, attr_id, _data)                              \
	fill_attr_in_uint64(cmd, attr_id, _data)

static inline struct ib_uverbs_attr *
fill_attr_in_uint32(struct ibv_command_buffer *cmd, uint16_t attr_id,
		    uint32_t data)
{
	return fill_attr_in(cmd, attr_id, &data, sizeof(data));
}

/* UVERBS_ATTR_TYPE_PTR_OUT */
static inline struct ib_uverbs_attr *
fill_attr_out(struct ibv_command_buffer *cmd, uint16_t attr_id, void *data,
	      size_t len)
{
	struct ib_uverbs_attr *attr = _rxer_next_attr(cmd, attr_id);

	attr->len = (uint16_t)len;
	attr->data = (uintptr_t)data;
	return attr;
}

#define fill_attr_out_ptr(cmd, attr_id, ptr)                                 \
	fill_attr_out(cmd, attr_id, ptr, sizeof(*(ptr)))

/* A new file descriptor (UVERBS_ATTR_TYPE_FD, UVERBS_ACCESS_NEW) */
static inline struct ib_uverbs_attr *
fill_attr_out_fd(struct ibv_command_buffer *cmd, uint16_t attr_id, int fd)
{
	(void)fd;
	return _rxer_next_attr(cmd, attr_id);
}

static inline int read_attr_fd(uint16_t attr_id, struct ib_uverbs_attr *attr)
{
	assert(attr->attr_id == attr_id);
	(void)attr_id;
	return (int)attr->data;
}

/* Returns 0 or an errno value, as rdma-core's */
static inline int execute_ioctl(struct ibv_context *context,
				struct ibv_command_buffer *cmd)
{
	cmd->hdr.length = (uint16_t)(sizeof(cmd->hdr) +
				     cmd->hdr.num_attrs * sizeof(cmd->attrs[0]));
	if (ioctl(context->cmd_fd, RDMA_VERBS_IOCTL, &cmd->hdr))
		return errno;
	return 0;
}

#endif /* RXER_COMPAT_CMD_IOCTL_H */
