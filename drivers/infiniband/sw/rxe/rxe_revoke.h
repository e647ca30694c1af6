/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe-revoke: revocable memory regions. Include after "rxe.h".
 */

#ifndef RXE_REVOKE_H
#define RXE_REVOKE_H

#include <linux/mmu_notifier.h>
#include <linux/rwsem.h>
#include <rdma/uverbs_ioctl.h>
#include <rdma/rxe_revoke-abi.h>

/*
 * A revocable MR. sem orders the data path (readers: every copy into or out
 * of the MR and every atomic, from the state check to the end of the
 * access) against revoke (writer: marks the MR revoked and drops its page
 * references). Once a revoke has taken sem for writing, no copy is in
 * flight and none will start: that is the fence.
 */
struct rxe_revoke_mr {
	struct mmu_interval_notifier notifier;
	struct rw_semaphore	sem;
	struct rxe_mr		*mr;
	/* what holds the pages while active: one of */
	struct page		**pages;	/* pinned without FOLL_LONGTERM */
	unsigned long		npages;
	struct mm_struct	*pinned_mm;	/* whose pinned_vm counts them */
	struct ib_umem		*umem;		/* a converted pinned MR */
	bool			writable;
	bool			watching;	/* notifier inserted */
	/* under sem */
	u32			status;		/* enum rxe_revoke_mr_status */
	u32			reason;		/* enum rxe_revoke_reason */
	u32			revoke_count;
	u64			revoked_start;
	u64			revoked_end;
};

int rxe_revoke_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			    u64 iova, int access, struct rxe_mr *mr);
void rxe_revoke_mr_cleanup(struct rxe_mr *mr);
struct ib_mr *rxe_revoke_rereg(struct ib_mr *ibmr, int flags, u64 start,
			       u64 length, u64 iova, int access,
			       struct ib_pd *pd, struct ib_udata *udata);
int rxe_revoke_begin(struct rxe_mr *mr);
void rxe_revoke_end(struct rxe_mr *mr);
void rxe_revoke_trace_register(struct rxe_mr *mr, u64 start, u64 length,
			       u64 iova, int access);
int rxe_revoke_admin(struct rxe_mr *mr, u64 start, u64 end);
void rxe_revoke_mr_state(struct rxe_mr *mr, struct rxe_revoke_mr_state *st);

extern const struct uapi_definition rxe_revoke_uapi_defs[];

#endif /* RXE_REVOKE_H */
