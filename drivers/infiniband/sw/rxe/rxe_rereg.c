// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke: re-registration (ibv_rereg_mr) of user MRs of every kind.
 *
 * ib_uverbs_rereg_mr() lets a driver change an MR in place (it returns
 * NULL) or build a new one (it returns the new ib_mr; uverbs then puts it
 * under the old handle and destroys the old MR before the command
 * returns). What a driver must guarantee either way: a request in flight
 * sees the MR as it was or as it is, never a mix, and never pages after
 * they were unpinned. In rxe the data path of a pinned or ODP MR reads
 * the page list, access, pd and keys without a lock; what keeps it safe is the
 * reference each access holds on the MR from its lookup to the end of its
 * copy. So:
 *
 *  - A re-registration that only adds access rights (rxe_rereg_widens():
 *    no new translation, the same PD, no flag dropped) changes the MR in
 *    place and keeps its keys, for every kind. No request the MR served
 *    before becomes one it must refuse, so an access that was checked
 *    against the old flags may finish under them; the next lookup reads
 *    the new ones. A peer that was given the rkey uses it at once for the
 *    new rights (as on mlx5, and as rdma-core's test_mr_rereg_access
 *    expects). A revocable MR takes the flags under its fence.
 *
 *  - Anything else - a new translation, a new PD, a right taken away -
 *    changes lkey and rkey, so that a request checked against the MR as it
 *    was (in flight, retried, or the middle packets of a message whose
 *    first packet was checked) cannot be done on the MR as it is now:
 *
 *    Pinned and ODP MRs are then not changed in place: the
 *    re-registration builds a new MR, with a new index and so new lkey and
 *    rkey. Destroying the old MR erases its index first (new lookups
 *    fail), then waits until every access that holds a reference to it
 *    has finished, and only then unpins its pages (rxe_cleanup()): when
 *    the command returns, no access uses the old MR, and a request
 *    carrying its keys fails. Without IB_MR_REREG_TRANS the translation
 *    stays: a pinned MR's new MR takes over the same pinned pages (its
 *    umem), an ODP MR's gets a new umem_odp with its own mmu interval
 *    notifier on the same range. With it, the new range is registered as
 *    ibv_reg_mr() would (fsdax memory then yields a revocable MR).
 *
 *    Revocable MRs are changed in place under their fence (rxe_revoke.c):
 *    the MR keeps its index and handle and gets a new 8-bit key, changed
 *    with the PD and access flags while the MR's semaphore is held for
 *    writing; every access checks its key under that semaphore, so one
 *    that was looked up before fails. IB_MR_REREG_TRANS revokes the MR
 *    (if active) and restores it on the new range, as before.
 *
 * IB_ACCESS_ON_DEMAND cannot be switched (EINVAL): the kind of an MR is
 * fixed at registration. Without IB_MR_REREG_TRANS, write access cannot
 * be added to pages that were pinned read-only (EACCES, as upstream's
 * ib_umem_check_rereg()); with it, or on ODP, the new pages are had for
 * writing. A re-registration is refused with EBUSY while a memory window
 * is bound to the MR (as dereg is, IBTA 10.6.7.2.6): a window's rkey would
 * outlive what it was bound to. On failure a pinned or ODP MR is left as
 * it was; a revocable one as rxe_revoke_rereg() says.
 *
 * What uverbs checks before calling us (6.1 and 6.12 alike): no flags
 * (EINVAL), unknown flags (EOPNOTSUPP), a start and iova at different
 * offsets in their page (EINVAL), an MR of device memory (EINVAL), the
 * access flags with ib_check_mr_access() when they change (EINVAL; it
 * allows IB_ACCESS_ON_DEMAND on an ODP device, so the switch is refused
 * here), and a PD handle of the caller's context; a "new" PD that is the
 * MR's own is dropped from the flags. It checks neither memory windows nor
 * the range.
 */

#include <rdma/ib_umem.h>

#include "rxe.h"
#include "rxe_compat.h"
#include "rxe_odp.h"
#include "rxe_revoke.h"
#include "rxe_admin.h"
#include "rxe_rereg.h"

/*
 * Close the MR to memory window binds, or fail with -EBUSY if a window is
 * bound (or a bind is being made). Pairs with rxe_bind_mw(), which counts
 * its window in num_mw before it reads mw_bind_closed: one of the two sees
 * the other's write (see struct rxe_mr).
 */
static int rxe_rereg_close_binds(struct rxe_mr *mr)
{
	WRITE_ONCE(mr->mw_bind_closed, true);
	/* the flag before the count; pairs with rxe_bind_mw()'s */
	smp_mb();
	if (atomic_read(&mr->num_mw)) {
		WRITE_ONCE(mr->mw_bind_closed, false);
		return -EBUSY;
	}
	return 0;
}

static void rxe_rereg_open_binds(struct rxe_mr *mr)
{
	WRITE_ONCE(mr->mw_bind_closed, false);
}

/*
 * Without a new translation, write access cannot be added to pages that
 * were pinned read-only (as upstream's ib_umem_check_rereg()); an ODP MR
 * pins nothing and faults pages for writing when mr->access allows it.
 */
static bool rxe_rereg_pages_writable(struct rxe_mr *mr, int access)
{
	return rxe_mr_is_odp(mr) || !ib_access_writable(access) ||
	       mr->umem->writable;
}

/*
 * Give mr, not yet visible, the page list of old, a pinned MR: the same
 * pages, whose umem changes owner once nothing can fail any more.
 */
static int rxe_rereg_copy_map(struct rxe_mr *mr, struct rxe_mr *old,
			      int access)
{
	unsigned long i, npages = rxe_mr_num_pages(old);
	int err;

	rxe_mr_init(access, mr);
	err = rxe_mr_pages_replace(mr, npages);
	if (err)
		return err;
	for (i = 0; i < npages; i++)
		rxe_mr_set_page(mr, i, rxe_mr_get_page(old, i));
	mr->access = access;
	rxe_mr_set_user(mr, old->umem->address, old->page_shift);
	return 0;
}

/*
 * Build the MR that replaces old, a pinned or ODP MR, with the steps of
 * rxe_reg_user_mr(). old is not changed, except that a pinned MR's umem
 * moves to the new MR when the translation stays: old keeps its own page
 * map of those pages, and uverbs destroys old (waiting for the accesses
 * that hold it) before anyone can deregister the new MR.
 */
static struct ib_mr *rxe_rereg_new_mr(struct rxe_mr *old, int flags,
				      u64 start, u64 length, u64 iova,
				      int access, struct ib_pd *ibpd)
{
	struct rxe_dev *rxe = to_rdev(ibpd->device);
	bool trans = flags & IB_MR_REREG_TRANS;
	bool odp = rxe_mr_is_odp(old);
	struct rxe_mr *mr;
	int err;

	if (!old->umem)
		return ERR_PTR(-EINVAL);
	if (!trans) {
		/* the same pages, or for ODP the same range */
		if (!rxe_rereg_pages_writable(old, access))
			return ERR_PTR(-EACCES);
		start = old->umem->address;
		length = old->ibmr.length;
		iova = old->ibmr.iova;
	}

	mr = rxe_mr_new(rxe);
	if (!mr)
		return ERR_PTR(-ENOMEM);
	rxe_get(to_rpd(ibpd));
	mr->ibmr.pd = ibpd;
	mr->ibmr.device = ibpd->device;
	/*
	 * ib_uverbs_rereg_mr() sets neither iova nor length of a new MR;
	 * 6.12's page list is indexed from ibmr.iova
	 */
	mr->ibmr.iova = iova;
	mr->ibmr.length = length;
	/* uverbs will give the new MR the old MR's handle */
	mr->rereg_uctx = rxe_mr_ucontext(old);
	mr->rereg_handle = rxe_mr_handle(old);

	if (odp)
		err = rxe_odp_mr_init_user(rxe, start, length, iova, access,
					   mr);
	else if (trans)
		err = rxe_mr_init_user_at(rxe, start, length, iova, access,
					  mr);
	else
		err = rxe_rereg_copy_map(mr, old, access);
	if (err)
		goto err_cleanup;

	if (trans)
		err = rxe_admin_mr_add(mr, start, length);
	else
		err = rxe_admin_mr_clone(mr, old);
	if (err)
		goto err_cleanup;

	if (!trans && !odp) {
		/* nothing fails from here: the pinned pages change owner */
		mr->umem = old->umem;
		old->umem = NULL;
	}

	rxe_finalize(mr);
	rxe_revoke_trace_register(mr, start, length, iova, access);
	return &mr->ibmr;

err_cleanup:
	rxe_mr_free_new(mr);
	return ERR_PTR(err);
}

/*
 * Add rights to a pinned or ODP MR in place (rxe_rereg_widens() is true).
 * Lookups read mr->access once (lookup_mr()); one that reads the old
 * flags is checked against fewer rights, never more. An ODP MR faults
 * pages for writing only if mr->access allows it (rxe_odp.c).
 */
static struct ib_mr *rxe_rereg_widen(struct rxe_mr *mr, int access)
{
	if (!mr->umem)
		return ERR_PTR(-EINVAL);
	if (!rxe_rereg_pages_writable(mr, access))
		return ERR_PTR(-EACCES);
	WRITE_ONCE(mr->access, access);
	return NULL;	/* changed in place */
}

/**
 * rxe_rereg_user_mr - ib_device_ops.rereg_user_mr of rxe
 * @ibmr: the MR, which uverbs holds for writing
 * @flags: IB_MR_REREG_TRANS, IB_MR_REREG_PD, IB_MR_REREG_ACCESS
 * @start: new user VA (IB_MR_REREG_TRANS)
 * @length: new length (IB_MR_REREG_TRANS)
 * @iova: new iova (IB_MR_REREG_TRANS)
 * @access: new access flags (IB_MR_REREG_ACCESS)
 * @pd: new PD (IB_MR_REREG_PD)
 * @udata: unused
 *
 * The policy is described at the top of rxe_rereg.c: a re-registration
 * that only adds rights changes the MR in place and keeps the keys; any
 * other replaces a pinned or ODP MR by a new MR, and changes a revocable
 * MR in place under its fence; both change the keys.
 *
 * Return: a new MR that replaces @ibmr, NULL if @ibmr was changed in
 * place, or an ERR_PTR: -EINVAL (IB_ACCESS_ON_DEMAND switched, a zero
 * length, not a user MR), -EACCES (write access to pages pinned
 * read-only), -EBUSY (a memory window is bound), -EOPNOTSUPP (unknown
 * flags), or an error of the registration of the new range.
 */
struct ib_mr *rxe_rereg_user_mr(struct ib_mr *ibmr, int flags, u64 start,
				u64 length, u64 iova, int access,
				struct ib_pd *pd, struct ib_udata *udata)
{
	struct rxe_mr *mr = to_rmr(ibmr);
	struct ib_mr *ret;
	int err;

	if (flags & ~IB_MR_REREG_SUPPORTED)
		return ERR_PTR(-EOPNOTSUPP);
	/* uverbs drops IB_MR_REREG_PD for the MR's own PD: nothing to do */
	if (!flags)
		return NULL;
	if (rxe_mr_get_type(mr) != IB_MR_TYPE_USER)
		return ERR_PTR(-EINVAL);
	if (!(flags & IB_MR_REREG_ACCESS))
		access = mr->access;
	if (!(flags & IB_MR_REREG_PD))
		pd = ibmr->pd;
	/* the kind of an MR is fixed at registration */
	if ((access ^ mr->access) & IB_ACCESS_ON_DEMAND)
		return ERR_PTR(-EINVAL);
	if ((flags & IB_MR_REREG_TRANS) && !length)
		return ERR_PTR(-EINVAL);

	err = rxe_rereg_close_binds(mr);
	if (err) {
		rxe_dbg_mr(mr, "rereg: memory windows are bound\n");
		return ERR_PTR(err);
	}
	/* MAKE_REVOCABLE also holds the uobject for writing: mr->rv is set */
	if (!mr->rv && rxe_rereg_widens(mr, flags, access, pd))
		ret = rxe_rereg_widen(mr, access);
	else if (mr->rv)
		ret = rxe_revoke_rereg(mr, flags, start, length, iova, access,
				       pd);
	else
		ret = rxe_rereg_new_mr(mr, flags, start, length, iova, access,
				       pd);
	/* a replaced MR stays closed to binds until uverbs destroys it */
	if (IS_ERR_OR_NULL(ret))
		rxe_rereg_open_binds(mr);
	return ret;
}
