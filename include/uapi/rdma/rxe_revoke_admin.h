/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR Linux-OpenIB) */
/*
 * rxe-revoke: the administrator's interface, /dev/rxe_revoke.
 *
 * A misc character device of the rdma_rxe module (mode 0600). Every ioctl
 * requires CAP_SYS_ADMIN (checked with capable() on each call, EPERM
 * otherwise). Every argument starts with the interface version
 * (RXE_ADMIN_VERSION) and flags; another version, an unknown flag, a
 * record size other than the one of this header or a non-zero reserved
 * field is EINVAL. See Documentation/admin.rst and rxe-revoke-admin(8).
 *
 * RXE_ADMIN_IOC_LIST lists the user MRs of every rxe device: who
 * registered them, their keys, kind and state, and the file segments their
 * range mapped when they were registered (or last re-registered).
 *
 * RXE_ADMIN_IOC_REVOKE revokes one MR (device name and lkey) or every
 * revocable MR whose recorded file segments overlap a byte range of a file
 * (st_dev, st_ino, offset, length), through the same revoke and fence as
 * the kernel's own revokes: the owner keeps running, its accesses through
 * the MR fail, and each of its revoke event channels gets a record with
 * reason RXE_REVOKE_REASON_ADMIN (include/uapi/rdma/rxe_revoke-abi.h).
 */
#ifndef RXE_REVOKE_ADMIN_H
#define RXE_REVOKE_ADMIN_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define RXE_ADMIN_DEVNAME	"rxe_revoke"	/* /dev/rxe_revoke */
#define RXE_ADMIN_VERSION	1

#define RXE_ADMIN_IBDEV_LEN	64	/* IB_DEVICE_NAME_MAX */
#define RXE_ADMIN_COMM_LEN	16	/* TASK_COMM_LEN */
#define RXE_ADMIN_PATH_LEN	256
#define RXE_ADMIN_MAX_SEGS	4	/* file segments kept per MR */

enum rxe_admin_seg_flags {
	/* the path was longer: it holds "..." and the path's tail */
	RXE_ADMIN_SEG_F_PATH_TRUNC = 1 << 0,
	/* d_path() failed (e.g. the file was already deleted): path is "?" */
	RXE_ADMIN_SEG_F_PATH_NONE = 1 << 1,
};

/*
 * A part of the MR's range that mapped a file at registration: user VAs
 * [start, end) map the file's bytes [offset, offset + end - start).
 */
struct rxe_admin_seg {
	__aligned_u64 start;
	__aligned_u64 end;
	__aligned_u64 offset;
	__aligned_u64 ino;	/* st_ino */
	__u32 dev_major;	/* major(st_dev) */
	__u32 dev_minor;	/* minor(st_dev) */
	__u32 flags;		/* enum rxe_admin_seg_flags */
	__u32 reserved;
	char path[RXE_ADMIN_PATH_LEN];	/* d_path() then, NUL-terminated */
};

enum rxe_admin_mr_flags {
	/* the range mapped more file segments than RXE_ADMIN_MAX_SEGS */
	RXE_ADMIN_MR_F_SEGS_TRUNC = 1 << 0,
};

struct rxe_admin_mr {
	__aligned_u64 id;	/* unique while the module is loaded */
	__aligned_u64 start;	/* registered user VA range */
	__aligned_u64 length;
	__aligned_u64 iova;
	__aligned_u64 revoked_start;	/* last revoke, as in */
	__aligned_u64 revoked_end;	/* struct rxe_revoke_mr_state */
	char ibdev[RXE_ADMIN_IBDEV_LEN];
	char comm[RXE_ADMIN_COMM_LEN];	/* of the registering thread */
	__s32 pid;		/* owner's tgid in the caller's pid ns, 0 if none */
	__u32 mr_handle;	/* ibv_mr->handle in the owner's context */
	__u32 lkey;
	__u32 rkey;
	__u32 access;		/* IB_ACCESS_* */
	__u32 kind;		/* enum rxe_revoke_mr_kind */
	__u32 status;		/* enum rxe_revoke_mr_status */
	__u32 reason;		/* enum rxe_revoke_reason of the last revoke */
	__u32 revoke_count;
	__u32 flags;		/* enum rxe_admin_mr_flags */
	__u32 nsegs;		/* segments filled in segs[] */
	__u32 reserved;
	struct rxe_admin_seg segs[RXE_ADMIN_MAX_SEGS];
};

/* At most this many records per RXE_ADMIN_IOC_LIST call. */
#define RXE_ADMIN_LIST_MAX	65536

struct rxe_admin_list {
	__u32 version;		/* in: RXE_ADMIN_VERSION */
	__u32 flags;		/* in: 0 */
	__u32 rec_size;		/* in: sizeof(struct rxe_admin_mr) */
	__u32 count;		/* in: room in recs (<= LIST_MAX); out: filled */
	__u32 total;		/* out: MRs that exist; retry if > count */
	__u32 reserved;
	__aligned_u64 recs;	/* in: user pointer to count records */
};

enum rxe_admin_revoke_flags {
	RXE_ADMIN_REVOKE_MR = 1 << 0,	/* by ibdev and lkey */
	RXE_ADMIN_REVOKE_FILE = 1 << 1,	/* by file range */
};

struct rxe_admin_revoke {
	__u32 version;		/* in: RXE_ADMIN_VERSION */
	__u32 flags;		/* in: exactly one of rxe_admin_revoke_flags */
	/* RXE_ADMIN_REVOKE_MR */
	char ibdev[RXE_ADMIN_IBDEV_LEN];
	__u32 lkey;
	/* RXE_ADMIN_REVOKE_FILE: bytes [offset, offset + length) of a file */
	__u32 dev_major;
	__u32 dev_minor;
	__u32 reserved;
	__aligned_u64 ino;
	__aligned_u64 offset;
	__aligned_u64 length;	/* 0: to the end of the file */
	/* out: the MRs that matched */
	__u32 revoked;		/* revoked by this call */
	__u32 already;		/* revocable, already revoked */
	__u32 pinned;		/* pinned, not revocable: left alone */
	__u32 odp;		/* ODP, hold no pages: left alone */
};

#define RXE_ADMIN_IOC_MAGIC	0xE7
#define RXE_ADMIN_IOC_LIST	_IOWR(RXE_ADMIN_IOC_MAGIC, 1, struct rxe_admin_list)
#define RXE_ADMIN_IOC_REVOKE	_IOWR(RXE_ADMIN_IOC_MAGIC, 2, struct rxe_admin_revoke)

#endif /* RXE_REVOKE_ADMIN_H */
