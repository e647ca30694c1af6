/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe-revoke: revocable memory regions. Include after "rxe.h".
 *
 * Files:
 *   rxe_revoke.c         the revocable MR: registration, the mmu interval
 *                        notifier, revoke, re-registration, the data-path
 *                        fence
 *   rxe_revoke_event.c   revoke event channels (fds that report revokes)
 *   rxe_revoke_uverbs.c  the driver's uverbs methods (make revocable,
 *                        revoke, query, event channel)
 *   rxe_revoke_trace.c   the tracepoints of rxe_revoke_trace.h
 */

#ifndef RXE_REVOKE_H
#define RXE_REVOKE_H

#include <linux/mmu_notifier.h>
#include <linux/rwsem.h>
#include <rdma/uverbs_ioctl.h>
#include <rdma/rxe_revoke-abi.h>

/*
 * A revocable MR.
 *
 * Locking: sem orders the data path against revoke. Readers are every copy
 * into or out of the MR and every atomic, from the state and key check to
 * the end of the access (rxe_revoke_begin()/rxe_revoke_end()), and an RDMA
 * READ response from its first packet to its last (rxe_revoke_hold()).
 * The writer is a revoke, which marks the MR revoked and takes its pages
 * away: once it holds sem for writing, no access is in flight and none
 * will start. sem is never held while a folio lock is taken (reclaim calls
 * the notifier with one held), so the pages are dropped after up_write().
 * sem also protects the MR's keys, map, iova and length against a
 * re-registration, and orders its change of PD and access flags: lookups
 * read those without it (lookup_mr()), but the key check under sem fails
 * every access that was looked up before the keys changed.
 */
struct rxe_revoke_mr {
	struct mmu_interval_notifier notifier;
	struct rw_semaphore	sem;
	struct rxe_mr		*mr;
	/* the watched range; set while nothing else can see rv */
	unsigned long		first;		/* page aligned */
	unsigned long		npages;
	bool			writable;
	bool			watching;	/* notifier inserted */
	/* under sem: what holds the pages while active, one of */
	struct page		**pages;	/* pinned without FOLL_LONGTERM */
	struct mm_struct	*pinned_mm;	/* whose pinned_vm counts them */
	struct ib_umem		*umem;		/* a converted pinned MR's */
	/* under sem */
	u32			status;		/* enum rxe_revoke_mr_status */
	u32			reason;		/* enum rxe_revoke_reason */
	u32			revoke_count;
	u64			revoked_start;
	u64			revoked_end;
};

/* rxe_revoke.c */
int rxe_revoke_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			    u64 iova, int access, struct rxe_mr *mr);
int rxe_revoke_mr_convert(struct rxe_mr *mr);
void rxe_revoke_mr_cleanup(struct rxe_mr *mr);
struct ib_mr *rxe_revoke_rereg(struct rxe_mr *mr, int flags, u64 start,
			       u64 length, u64 iova, int access,
			       struct ib_pd *pd);
bool rxe_revoke_do(struct rxe_revoke_mr *rv, u32 reason, u64 start,
		   u64 end);
int rxe_revoke_begin(struct rxe_revoke_mr *rv, u32 key);
void rxe_revoke_end(struct rxe_revoke_mr *rv);
int rxe_revoke_hold(struct rxe_revoke_mr *rv, u32 key);
void rxe_revoke_unhold(struct rxe_revoke_mr **held);
void rxe_revoke_test_delay(void);
void rxe_task_test_delay(void);
int rxe_revoke_admin(struct rxe_mr *mr, u64 start, u64 end);
void rxe_revoke_mr_state(struct rxe_mr *mr, struct rxe_revoke_mr_state *st);

/* rxe_revoke_event.c */
void rxe_revoke_notify(struct rxe_revoke_mr *rv,
		       const struct rxe_revoke_event *ev);
extern const struct uapi_definition rxe_revoke_event_uapi_defs[];

/* rxe_revoke_trace.c */
void rxe_revoke_trace_register(struct rxe_mr *mr, u64 start, u64 length,
			       u64 iova, int access);

/* rxe_revoke_uverbs.c */
extern const struct uapi_definition rxe_revoke_uapi_defs[];

#endif /* RXE_REVOKE_H */
