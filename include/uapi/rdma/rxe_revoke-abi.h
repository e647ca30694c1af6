/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR Linux-OpenIB) */
/*
 * rxe-revoke: uAPI of revocable memory regions for soft-RoCE.
 *
 * Driver-specific uverbs ioctl methods on UVERBS_OBJECT_MR (ids in the
 * driver namespace, 1 << UVERBS_ID_NS_SHIFT and up), issued on the uverbs
 * command fd (ibv_context->cmd_fd) with RDMA_VERBS_IOCTL.
 *
 * A revocable MR holds its pages only until it is revoked, by the kernel
 * (an mm event that changes what backs the range: truncate, hole punch,
 * munmap, exit, ...) or by its owner. After a revoke the MR keeps its keys;
 * every access through it fails: a remote access gets a remote access error
 * NAK (IBV_WC_REM_ACCESS_ERR at the requester), a local one completes with
 * IBV_WC_LOC_PROT_ERR (a receive into it too; its sender then gets
 * IBV_WC_REM_OP_ERR). An RDMA READ response that has started when the MR is
 * revoked is finished first: a READ returns all of its data, or fails with
 * none. See Documentation/revoke.rst.
 */
#ifndef RXE_REVOKE_ABI_H
#define RXE_REVOKE_ABI_H

#include <linux/types.h>
#include <rdma/ib_user_ioctl_cmds.h>

enum rxe_revoke_mr_methods {
	/* Make a registered (pinned, non-ODP) MR revocable. */
	RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE = (1U << UVERBS_ID_NS_SHIFT),
	/*
	 * The owner revokes its MR (reason RXE_REVOKE_REASON_EXPLICIT).
	 * MAKE_REVOCABLE and REVOKE hold the MR exclusively, as rereg and
	 * dereg do: a concurrent method on the same handle fails with EBUSY.
	 */
	RXE_REVOKE_METHOD_MR_REVOKE,
	/* The state of an MR: struct rxe_revoke_mr_state. */
	RXE_REVOKE_METHOD_MR_QUERY,
};

/*
 * Revoke event channel: a file descriptor of the uverbs context. Every
 * revoke of an MR of that context queues one struct rxe_revoke_event on
 * every channel of the context. read() returns whole records of the
 * channel's record size (at least one record's worth of buffer is needed,
 * else EINVAL); a record leaves the channel only once it was copied out (a
 * bad buffer gets EFAULT and the record stays queued). read() blocks unless
 * O_NONBLOCK (EAGAIN), and returns 0 once the device is gone; poll()
 * reports POLLIN when a record is ready. A channel holds
 * RXE_REVOKE_EVENT_RING records; when it is full, newer records are
 * dropped and counted: the next record delivered carries
 * RXE_REVOKE_EVENT_F_OVERFLOW and the count in dropped (a record with
 * reason RXE_REVOKE_REASON_NONE if no other is pending), and seq shows the
 * gap. After an overflow, query the MRs to learn their state.
 */
enum rxe_revoke_objects {
	RXE_REVOKE_OBJECT_EVENT_CHANNEL = (1U << UVERBS_ID_NS_SHIFT),
};

enum rxe_revoke_event_channel_methods {
	RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC = (1U << UVERBS_ID_NS_SHIFT),
};

enum rxe_revoke_event_channel_attrs {
	RXE_REVOKE_ATTR_EVENT_CHANNEL_FD = (1U << UVERBS_ID_NS_SHIFT),
	/*
	 * Optional, a u64 (attribute length 8, the value inline): the size
	 * of the records the caller reads, a
	 * multiple of 8 from RXE_REVOKE_EVENT_SIZE_MIN to
	 * RXE_REVOKE_EVENT_SIZE_MAX (EINVAL otherwise); default
	 * sizeof(struct rxe_revoke_event) of this header. read() then returns
	 * records of exactly that size: the kernel's record cut to it, or
	 * padded with zeroes if the caller knows a larger one. This is how
	 * the record grows: new fields take the reserved room or go at the
	 * end, and the size field says how much of it the kernel filled.
	 */
	RXE_REVOKE_ATTR_EVENT_CHANNEL_RECORD_SIZE,
};

#define RXE_REVOKE_EVENT_RING	256

enum rxe_revoke_event_flags {
	RXE_REVOKE_EVENT_F_OVERFLOW = 1 << 0,
};

struct rxe_revoke_event {
	__aligned_u64 seq;	/* per channel, from 1, no gaps unless dropped */
	__aligned_u64 start;	/* revoked user VA range, end exclusive */
	__aligned_u64 end;
	__u32 mr_handle;	/* ibv_mr->handle */
	__u32 lkey;
	__u32 rkey;
	__u32 reason;		/* enum rxe_revoke_reason */
	__u32 flags;		/* enum rxe_revoke_event_flags */
	__u32 dropped;		/* records dropped before this one */
	__u32 size;		/* bytes of this record (the read() stride) */
	__u32 reserved;		/* zero */
	__aligned_u64 reserved2[2];	/* zero */
};

/* The first record layout (up to and including size and reserved). */
#define RXE_REVOKE_EVENT_SIZE_MIN	56
#define RXE_REVOKE_EVENT_SIZE_MAX	4096

enum rxe_revoke_mr_attrs {
	RXE_REVOKE_ATTR_MR_HANDLE = (1U << UVERBS_ID_NS_SHIFT),
	RXE_REVOKE_ATTR_MR_STATE,
};

/* What holds an MR's pages. */
enum rxe_revoke_mr_kind {
	RXE_REVOKE_MR_PINNED = 0,	/* long-term pinned; never revoked */
	RXE_REVOKE_MR_ODP = 1,		/* on-demand paging; nothing held */
	RXE_REVOKE_MR_REVOCABLE = 2,	/* pinned until revoked */
};

enum rxe_revoke_mr_status {
	RXE_REVOKE_MR_ACTIVE = 0,
	RXE_REVOKE_MR_REVOKED = 1,
};

enum rxe_revoke_reason {
	RXE_REVOKE_REASON_NONE = 0,
	/*
	 * The pages behind the range were removed while it stayed mapped:
	 * truncate, punch hole, collapse/insert range, MADV_DONTNEED and
	 * MADV_REMOVE (MMU_NOTIFY_CLEAR).
	 */
	RXE_REVOKE_REASON_TRUNCATE = 1,
	/* The range was unmapped or moved: munmap, mremap (MMU_NOTIFY_UNMAP). */
	RXE_REVOKE_REASON_UNMAP = 2,
	/* The owner called RXE_REVOKE_METHOD_MR_REVOKE. */
	RXE_REVOKE_REASON_EXPLICIT = 3,
	/* An administrator revoked it. */
	RXE_REVOKE_REASON_ADMIN = 4,
	/* The owner's address space went away (MMU_NOTIFY_RELEASE). */
	RXE_REVOKE_REASON_EXIT = 5,
};

struct rxe_revoke_mr_state {
	__u32 kind;		/* enum rxe_revoke_mr_kind */
	__u32 status;		/* enum rxe_revoke_mr_status */
	__u32 reason;		/* of the last revoke, enum rxe_revoke_reason */
	__u32 revoke_count;	/* revokes since registration */
	__aligned_u64 revoked_start;	/* user VA range of the last revoke, */
	__aligned_u64 revoked_end;	/* clipped to the MR, end exclusive */
	__u32 lkey;
	__u32 rkey;
};

#endif /* RXE_REVOKE_ABI_H */
