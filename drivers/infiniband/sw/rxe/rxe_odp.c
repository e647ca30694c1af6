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
 */

#include <linux/hmm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>

#include "rxe.h"
#include "rxe_odp.h"

static bool rxe_odp_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *range,
			       unsigned long cur_seq)
{
	struct ib_umem_odp *odp = container_of(mni, struct ib_umem_odp,
					       notifier);
	struct rxe_dev *rxe = to_rdev(odp->umem.ibdev);
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
	return true;
}

static const struct mmu_interval_notifier_ops rxe_odp_mn_ops = {
	.invalidate = rxe_odp_invalidate,
};

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

int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access, struct rxe_mr *mr)
{
	struct ib_umem_odp *odp;

	/* Implicit ODP (the whole address space) is not supported. */
	if (!start && length == U64_MAX) {
		rxe_dbg(rxe, "implicit ODP MR not supported\n");
		return -EOPNOTSUPP;
	}

	odp = ib_umem_odp_get(&rxe->ib_dev, start, length, access,
			      &rxe_odp_mn_ops);
	if (IS_ERR(odp))
		return PTR_ERR(odp);

	rxe_mr_init(access, mr);
	mr->umem = &odp->umem;
	mr->access = access;
	mr->offset = ib_umem_offset(&odp->umem);
	mr->page_shift = odp->page_shift;
	mr->page_mask = BIT(odp->page_shift) - 1;
	mr->state = RXE_MR_STATE_VALID;
	mr->type = IB_MR_TYPE_USER;

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

	if (write && !odp->umem.writable)
		return -EACCES;

	mutex_lock(&odp->umem_mutex);
	if (rxe_odp_mapped(odp, va, len, perm))
		return 0;
	mutex_unlock(&odp->umem_mutex);

	might_sleep();
	npages = ib_umem_odp_map_dma_and_lock(odp, va, len, perm, true);
	if (npages < 0) {
		rxe_dbg(rxe, "ODP fault at 0x%llx+%llu failed: %d\n", va, len,
			npages);
		return -EFAULT;
	}
	rxe_counter_inc(rxe, RXE_CNT_ODP_PAGE_FAULTS);
	atomic64_add(npages, &rxe->stats_counters[RXE_CNT_ODP_PAGES_FAULTED]);
	return 0;
}

static void *rxe_odp_kva(struct ib_umem_odp *odp, u64 va)
{
	unsigned long idx = (va - ib_umem_start(odp)) >> odp->page_shift;

	return (void *)(uintptr_t)(odp->dma_list[idx] & ODP_DMA_ADDR_MASK) +
	       (va & (BIT(odp->page_shift) - 1));
}

/*
 * Copy between addr and [iova, iova + length) of an ODP MR. The caller has
 * checked the range against the MR.
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

/*
 * Map the 8 bytes at iova for an atomic operation. On success returns their
 * kernel address with umem_mutex held: the caller does the operation and
 * calls rxe_odp_atomic_end(). Returns ERR_PTR(-EINVAL) if misaligned, or
 * another ERR_PTR if the page cannot be faulted in.
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

void rxe_odp_atomic_end(struct rxe_mr *mr)
{
	mutex_unlock(&to_ib_umem_odp(mr->umem)->umem_mutex);
}
