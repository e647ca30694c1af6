/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe-revoke: re-registration of user MRs of every kind (rxe_rereg.c).
 *
 * Include after "rxe.h".
 */

#ifndef RXE_REREG_H
#define RXE_REREG_H

struct ib_mr *rxe_rereg_user_mr(struct ib_mr *ibmr, int flags, u64 start,
				u64 length, u64 iova, int access,
				struct ib_pd *pd, struct ib_udata *udata);

/**
 * rxe_rereg_widens - does a re-registration only add rights?
 * @mr: the MR
 * @flags: IB_MR_REREG_TRANS, IB_MR_REREG_PD, IB_MR_REREG_ACCESS
 * @access: the access flags from now on
 * @pd: the PD from now on
 *
 * No new translation, the same PD, every right the MR had stays, and
 * the flags that are not rights (IB_ZERO_BASED, IB_ACCESS_HUGETLB,
 * IB_ACCESS_RELAXED_ORDERING, IB_ACCESS_ON_DEMAND, ...) do not change:
 * no request the MR served before becomes one it must refuse. An access
 * in flight may then finish under the old flags, and the MR keeps its
 * keys (rxe_rereg.c). Adding IB_ZERO_BASED would narrow what windows may
 * be bound, adding IB_ACCESS_HUGETLB would claim a page size the MR does
 * not have: those take the path that changes the keys.
 *
 * Return: true if the re-registration keeps the keys.
 */
static inline bool rxe_rereg_widens(struct rxe_mr *mr, int flags, int access,
				    struct ib_pd *pd)
{
	const int rights = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE |
			   IB_ACCESS_REMOTE_READ | IB_ACCESS_REMOTE_ATOMIC |
			   IB_ACCESS_MW_BIND;

	return !(flags & IB_MR_REREG_TRANS) && pd == mr->ibmr.pd &&
	       !((mr->access ^ access) & ~rights) &&
	       !(mr->access & rights & ~access);
}

/**
 * rxe_mr_ucontext - the uverbs context that owns an MR
 * @mr: the MR
 *
 * Not mr->ibmr.uobject->context for an MR that a re-registration created:
 * ib_uverbs_rereg_mr() (6.1 and 6.12) leaves that pointing at the uobject
 * it destroys.
 *
 * Return: the context, or NULL for a kernel MR or before uverbs has set
 * the uobject of a new registration.
 */
static inline struct ib_ucontext *rxe_mr_ucontext(struct rxe_mr *mr)
{
	struct ib_uobject *uobj;

	if (mr->rereg_uctx)
		return mr->rereg_uctx;
	uobj = READ_ONCE(mr->ibmr.uobject);
	return uobj ? uobj->context : NULL;
}

/**
 * rxe_mr_handle - the uverbs handle of an MR (ibv_mr->handle)
 * @mr: the MR
 *
 * Return: the handle, or 0 when rxe_mr_ucontext() is NULL.
 */
static inline u32 rxe_mr_handle(struct rxe_mr *mr)
{
	struct ib_uobject *uobj;

	if (mr->rereg_uctx)
		return mr->rereg_handle;
	uobj = READ_ONCE(mr->ibmr.uobject);
	return uobj ? uobj->id : 0;
}

#endif /* RXE_REREG_H */
