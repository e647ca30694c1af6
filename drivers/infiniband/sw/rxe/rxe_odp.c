// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke: on-demand-paging (ODP) memory regions for soft-RoCE.
 *
 * An ODP MR holds no page references. Its pages are looked up when the
 * requester, the responder or the completer first touches them, and they
 * are forgotten when the mm invalidates them (munmap, truncate, hole punch,
 * MADV_DONTNEED, migration, COW after fork, exit), so that a filesystem
 * never waits on userspace. This is the model of a NIC with page-fault
 * support, done in software:
 *
 *  - translation: ib_umem_odp keeps, per page of the MR, the kernel address
 *    of the page (rxe uses virtual DMA, so the "DMA address" is the kernel
 *    linear-map address) and its read/write permission bits in dma_list[];
 *
 *  - fault: a copy that finds a page missing, or mapped read-only for a
 *    write, calls ib_umem_odp_map_dma_and_lock(), which runs
 *    hmm_range_fault() on the owner's mm and returns with umem_mutex held
 *    once the translation is current. rxe's tasks run in process context
 *    (rxe_task.c), so they may sleep here. A fault that cannot be
 *    satisfied (beyond EOF, unmapped, no permission) fails the copy with
 *    -EFAULT, which the callers turn into the standard errors: a remote
 *    access error NAK for the responder, a local protection error for
 *    the requester and completer;
 *
 *  - invalidation and fencing: the mmu interval notifier callback takes
 *    umem_mutex, bumps the notifier sequence and clears the translations of
 *    the invalidated range. Every copy into or out of an ODP MR holds
 *    umem_mutex from the translation check to the end of the memcpy, so
 *    once the callback returns no rxe path can touch the old pages.
 *
 * umem_mutex is never held while taking the owner's mmap lock or while
 * allocating memory, so reclaim and the notifier cannot deadlock on it.
 *
 * Prefetch (ibv_advise_mr) resolves a range ahead of the traffic:
 * PREFETCH faults it in for reading, PREFETCH_WRITE for writing, and
 * PREFETCH_NO_FAULT only records the pages that are already present.
 * With IB_UVERBS_ADVISE_MR_FLAG_FLUSH the call returns when that is done
 * and reports errors; without it, the work is queued and errors are
 * dropped, as the verb allows.
 */

#include <linux/hmm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>

#include "rxe.h"
#include "rxe_odp.h"
#include "rxe_revoke_trace.h"

static bool rxe_odp_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *range,
			       unsigned long cur_seq)
{
	struct ib_umem_odp *odp = container_of(mni, struct ib_umem_odp,
					       notifier);
	struct rxe_dev *rxe = to_rdev(odp->umem.ibdev);
	struct rxe_mr *mr = READ_ONCE(odp->private);	/* NULL at first */
	u64 start, end;

	if (!mmu_notifier_range_blockable(range))
		return false;

	mutex_lock(&odp->umem_mutex);
	mmu_interval_set_seq(mni, cur_seq);
	start = max_t(u64, ib_umem_start(odp), range->start);
	end = min_t(u64, ib_umem_end(odp), range->end);
	ib_umem_odp_unmap_dma_pages(odp, start, end);
	mutex_unlock(&odp->umem_mutex);

	rxe_counter_inc(rxe, RXE_CNT_ODP_INVALIDATIONS);
	trace_rxe_mr_invalidate(mr ? mr->lkey : 0, RXE_REVOKE_MR_ODP,
				range->event, start, end);
	return true;
}

static const struct mmu_interval_notifier_ops rxe_odp_mn_ops = {
	.invalidate = rxe_odp_invalidate,
};

/**
 * rxe_odp_init_caps - advertise ODP in the device attributes
 * @rxe: the device being set up
 */
void rxe_odp_init_caps(struct rxe_dev *rxe)
{
	struct ib_odp_caps *caps = &rxe->attr.odp_caps;

	rxe->attr.kernel_cap_flags |= IBK_ON_DEMAND_PAGING;
	caps->general_caps = IB_ODP_SUPPORT;
	caps->per_transport_caps.rc_odp_caps = IB_ODP_SUPPORT_SEND |
					       IB_ODP_SUPPORT_RECV |
					       IB_ODP_SUPPORT_WRITE |
					       IB_ODP_SUPPORT_READ |
					       IB_ODP_SUPPORT_ATOMIC |
					       IB_ODP_SUPPORT_SRQ_RECV;
	caps->per_transport_caps.ud_odp_caps = IB_ODP_SUPPORT_SEND |
					       IB_ODP_SUPPORT_RECV;
}

/**
 * rxe_odp_mr_init_user - register an ODP MR
 * @rxe: the device
 * @start: user VA
 * @length: bytes
 * @iova: the MR's iova
 * @access: IB access flags, with IB_ACCESS_ON_DEMAND
 * @mr: the MR, not yet visible
 *
 * Return: 0, -EOPNOTSUPP for implicit ODP, or an errno of
 * ib_umem_odp_get().
 */
int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access, struct rxe_mr *mr)
{
	struct ib_umem_odp *odp;

	/* Implicit ODP (the whole address space) is not supported. */
	if (!start && length == U64_MAX) {
		rxe_dbg_dev(rxe, "implicit ODP MR not supported\n");
		return -EOPNOTSUPP;
	}

	odp = ib_umem_odp_get(&rxe->ib_dev, start, length, access,
			      &rxe_odp_mn_ops);
	if (IS_ERR(odp))
		return PTR_ERR(odp);

	rxe_mr_init(access, mr);
	mr->umem = &odp->umem;
	WRITE_ONCE(odp->private, mr);	/* for the notifier's tracepoint */
	mr->access = access;
	rxe_mr_set_user(mr, start, odp->page_shift);

	return 0;
}

/* The user virtual address of an MR's iova. */
static u64 rxe_odp_va(struct rxe_mr *mr, u64 iova)
{
	return mr->umem->address + (iova - mr->ibmr.iova);
}

static u64 rxe_odp_perm(bool write)
{
	return ODP_READ_ALLOWED_BIT | (write ? ODP_WRITE_ALLOWED_BIT : 0);
}

/* Is [va, va + len) mapped with perm? Called with umem_mutex held. */
static bool rxe_odp_mapped(struct ib_umem_odp *odp, u64 va, u64 len, u64 perm)
{
	unsigned long idx = (va - ib_umem_start(odp)) >> odp->page_shift;
	unsigned long last = (va + len - 1 - ib_umem_start(odp)) >>
			     odp->page_shift;

	lockdep_assert_held(&odp->umem_mutex);
	for (; idx <= last; idx++)
		if ((odp->dma_list[idx] & perm) != perm)
			return false;
	return true;
}

/*
 * Return with umem_mutex held and [va, va + len) mapped for the access,
 * faulting missing pages in; or return a negative errno without the lock.
 */
static int rxe_odp_lock_range(struct rxe_mr *mr, u64 va, u64 len, bool write)
{
	struct ib_umem_odp *odp = to_ib_umem_odp(mr->umem);
	struct rxe_dev *rxe = to_rdev(odp->umem.ibdev);
	u64 perm = rxe_odp_perm(write);
	int npages;

	/* not umem.writable: a rereg may add write rights (rxe_rereg.c) */
	if (write && !ib_access_writable(READ_ONCE(mr->access)))
		return -EACCES;

	mutex_lock(&odp->umem_mutex);
	if (rxe_odp_mapped(odp, va, len, perm))
		return 0;
	mutex_unlock(&odp->umem_mutex);

	might_sleep();
	npages = ib_umem_odp_map_dma_and_lock(odp, va, len, perm, true);
	if (npages < 0) {
		rxe_dbg_dev(rxe, "ODP fault at 0x%llx+%llu failed: %d\n", va,
			    len, npages);
		return -EFAULT;
	}
	rxe_counter_inc(rxe, RXE_CNT_ODP_PAGE_FAULTS);
	trace_rxe_odp_fault(mr->lkey, va, len, write, npages);
	atomic64_add(npages, &rxe->stats_counters[RXE_CNT_ODP_PAGES_FAULTED]);
	return 0;
}

static void *rxe_odp_kva(struct ib_umem_odp *odp, u64 va)
{
	unsigned long idx = (va - ib_umem_start(odp)) >> odp->page_shift;

	return (void *)(uintptr_t)(odp->dma_list[idx] & ODP_DMA_ADDR_MASK) +
	       (va & (BIT(odp->page_shift) - 1));
}

/**
 * rxe_odp_mr_copy - copy between addr and [iova, iova + length) of an ODP MR
 * @mr: the MR; the caller has checked the range against it
 * @iova: where in the MR
 * @addr: kernel buffer
 * @length: bytes
 * @dir: RXE_TO_MR_OBJ or RXE_FROM_MR_OBJ
 *
 * Faults missing pages in (may sleep) and copies under umem_mutex.
 *
 * Return: 0, or -EFAULT if a page cannot be had, -EACCES for a write to a
 * read-only MR.
 */
int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr, int length,
		    enum rxe_mr_copy_dir dir)
{
	struct ib_umem_odp *odp = to_ib_umem_odp(mr->umem);
	u64 va = rxe_odp_va(mr, iova);
	int err;

	if (length <= 0)
		return length ? -EINVAL : 0;

	err = rxe_odp_lock_range(mr, va, length, dir == RXE_TO_MR_OBJ);
	if (err)
		return err;

	while (length > 0) {
		u64 page_left = BIT(odp->page_shift) -
				(va & (BIT(odp->page_shift) - 1));
		int bytes = min_t(u64, length, page_left);
		void *kva = rxe_odp_kva(odp, va);

		if (dir == RXE_TO_MR_OBJ)
			memcpy(kva, addr, bytes);
		else
			memcpy(addr, kva, bytes);
		va += bytes;
		addr += bytes;
		length -= bytes;
	}
	mutex_unlock(&odp->umem_mutex);
	return 0;
}

/**
 * rxe_odp_atomic_begin - map 8 bytes of an ODP MR for an atomic operation
 * @mr: the MR
 * @iova: where in the MR
 *
 * On success the caller does the operation and calls rxe_odp_atomic_end().
 *
 * Return: their kernel address with umem_mutex held, ERR_PTR(-EINVAL) if
 * misaligned, or another ERR_PTR if the page cannot be faulted in.
 */
u64 *rxe_odp_atomic_begin(struct rxe_mr *mr, u64 iova)
{
	struct ib_umem_odp *odp = to_ib_umem_odp(mr->umem);
	u64 va = rxe_odp_va(mr, iova);
	int err;

	if (va & (sizeof(u64) - 1))
		return ERR_PTR(-EINVAL);
	if (mr_check_range(mr, iova, sizeof(u64)))
		return ERR_PTR(-EFAULT);

	err = rxe_odp_lock_range(mr, va, sizeof(u64), true);
	if (err)
		return ERR_PTR(err);
	return rxe_odp_kva(odp, va);
}

/**
 * rxe_odp_atomic_end - end what rxe_odp_atomic_begin() began
 * @mr: the MR
 */
void rxe_odp_atomic_end(struct rxe_mr *mr)
{
	mutex_unlock(&to_ib_umem_odp(mr->umem)->umem_mutex);
}

/*
 * A prefetch holds an MR reference only for one chunk at a time and looks
 * the MR up again by its key for the next, so that deregistering the MR
 * never waits for a long prefetch (rxe_cleanup() allows 200 ms).
 */
#define RXE_ODP_PREFETCH_CHUNK	(256 * 1024)

struct rxe_odp_prefetch {
	struct work_struct work;
	struct rxe_dev *rxe;		/* holds a device reference */
	struct ib_pd *pd;		/* compared, never dereferenced */
	enum ib_uverbs_advise_mr_advice advice;
	u32 num_sge;
	struct ib_sge sge[];
};

static struct rxe_mr *rxe_odp_prefetch_get_mr(struct rxe_odp_prefetch *pf,
					      u32 lkey)
{
	struct rxe_mr *mr = rxe_pool_get_index(&pf->rxe->mr_pool, lkey >> 8);

	if (!mr)
		return NULL;
	if (mr->lkey != lkey || mr->ibmr.pd != pf->pd || !rxe_mr_is_odp(mr) ||
	    mr->state != RXE_MR_STATE_VALID) {
		rxe_put(mr);
		return NULL;
	}
	return mr;
}

static int rxe_odp_prefetch_chunk(struct rxe_mr *mr, u64 iova, u32 length,
				  enum ib_uverbs_advise_mr_advice advice)
{
	struct ib_umem_odp *odp = to_ib_umem_odp(mr->umem);
	struct rxe_dev *rxe = to_rdev(odp->umem.ibdev);
	bool write = advice == IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE;
	bool fault = advice != IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT;
	int npages;

	npages = ib_umem_odp_map_dma_and_lock(odp, rxe_odp_va(mr, iova), length,
					      rxe_odp_perm(write), fault);
	if (npages < 0)
		return npages;
	mutex_unlock(&odp->umem_mutex);

	if (fault)
		atomic64_add(npages,
			     &rxe->stats_counters[RXE_CNT_ODP_PAGES_FAULTED]);
	return 0;
}

/* Returns 0, or -EFAULT when a page could not be had or the MR went away. */
static int rxe_odp_prefetch_run(struct rxe_odp_prefetch *pf)
{
	u32 i;

	for (i = 0; i < pf->num_sge; i++) {
		u64 iova = pf->sge[i].addr;
		u64 end = iova + pf->sge[i].length;

		while (iova < end) {
			u32 len = min_t(u64, end - iova,
					RXE_ODP_PREFETCH_CHUNK -
					(iova & (RXE_ODP_PREFETCH_CHUNK - 1)));
			struct rxe_mr *mr;
			int err;

			mr = rxe_odp_prefetch_get_mr(pf, pf->sge[i].lkey);
			if (!mr)
				return -EFAULT;
			err = rxe_odp_prefetch_chunk(mr, iova, len, pf->advice);
			rxe_put(mr);
			if (err)
				return -EFAULT;
			iova += len;
		}
	}
	rxe_counter_inc(pf->rxe, RXE_CNT_ODP_PREFETCHES);
	return 0;
}

static void rxe_odp_prefetch_free(struct rxe_odp_prefetch *pf)
{
	ib_device_put(&pf->rxe->ib_dev);
	kvfree(pf);
}

static void rxe_odp_prefetch_work(struct work_struct *work)
{
	struct rxe_odp_prefetch *pf = container_of(work, typeof(*pf), work);

	rxe_odp_prefetch_run(pf);
	rxe_odp_prefetch_free(pf);
}

/**
 * rxe_odp_advise_mr - ib_device_ops.advise_mr: prefetch ODP MRs
 * @ibpd: the PD of the SGEs' MRs
 * @advice: PREFETCH, PREFETCH_WRITE or PREFETCH_NO_FAULT
 * @flags: IB_UVERBS_ADVISE_MR_FLAG_FLUSH to wait and report errors
 * @sg_list: the ranges, by lkey
 * @num_sge: how many
 * @attrs: unused
 *
 * Return: 0, or -EOPNOTSUPP (advice, flags), -ENOENT (no such lkey),
 * -EINVAL (not ODP), -EFAULT (out of the MR, or a page that cannot be had
 * with FLUSH), -ENOMEM, -ENODEV.
 */
int rxe_odp_advise_mr(struct ib_pd *ibpd,
		      enum ib_uverbs_advise_mr_advice advice, u32 flags,
		      struct ib_sge *sg_list, u32 num_sge,
		      struct uverbs_attr_bundle *attrs)
{
	struct rxe_dev *rxe = to_rdev(ibpd->device);
	struct rxe_pd *pd = to_rpd(ibpd);
	struct rxe_odp_prefetch *pf;
	int access = 0;
	int err = 0;
	u32 i;

	switch (advice) {
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE:
		access = IB_ACCESS_LOCAL_WRITE;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH:
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT:
		break;
	default:
		rxe_dbg_dev(rxe, "advise_mr: unknown advice %d\n", advice);
		return -EOPNOTSUPP;
	}
	if (flags & ~IB_UVERBS_ADVISE_MR_FLAG_FLUSH)
		return -EOPNOTSUPP;

	/* Check every SGE before doing anything. */
	for (i = 0; i < num_sge; i++) {
		struct rxe_mr *mr = lookup_mr(pd, access, sg_list[i].lkey,
					      RXE_LOOKUP_LOCAL);

		if (!mr) {
			rxe_dbg_dev(rxe,
				    "advise_mr: lkey 0x%x: no such MR here\n",
				    sg_list[i].lkey);
			return -ENOENT;
		}
		if (!rxe_mr_is_odp(mr))
			err = -EINVAL;
		else if (mr_check_range(mr, sg_list[i].addr,
					sg_list[i].length))
			err = -EFAULT;
		rxe_put(mr);
		if (err) {
			rxe_dbg_dev(rxe, "advise_mr: lkey 0x%x: %d\n",
				    sg_list[i].lkey, err);
			return err;
		}
	}

	pf = kvzalloc(struct_size(pf, sge, num_sge), GFP_KERNEL);
	if (!pf)
		return -ENOMEM;
	if (!ib_device_try_get(&rxe->ib_dev)) {
		kvfree(pf);
		return -ENODEV;
	}
	pf->rxe = rxe;
	pf->pd = ibpd;
	pf->advice = advice;
	pf->num_sge = num_sge;
	memcpy(pf->sge, sg_list, num_sge * sizeof(*sg_list));

	if (!(flags & IB_UVERBS_ADVISE_MR_FLAG_FLUSH)) {
		INIT_WORK(&pf->work, rxe_odp_prefetch_work);
		rxe_queue_work(&pf->work);
		return 0;
	}

	err = rxe_odp_prefetch_run(pf);
	rxe_odp_prefetch_free(pf);
	return err;
}
