// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke: revocable memory regions for soft-RoCE.
 *
 * This is the reference for NICs that cannot fault. A revocable MR holds
 * its pages like a pinned MR, but only until it is revoked, and the kernel
 * revokes it as soon as the memory behind its range changes identity:
 *
 *  - On fsdax, where GUP refuses long-term pins, a plain (non-ODP)
 *    registration becomes revocable: its pages are pinned without
 *    FOLL_LONGTERM and an mmu interval notifier watches the range. Any
 *    other pinned MR can be made revocable by its owner
 *    (RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE).
 *
 *  - The notifier revokes on the events that may take pages away from the
 *    range (MMU_NOTIFY_CLEAR: truncate, hole punch, collapse/insert range,
 *    MADV_DONTNEED; but not the reclaim, migration and KSM attempts that
 *    also send it in 6.1 and fail on pinned pages, see
 *    rxe_revoke_page_stays();
 *    MMU_NOTIFY_UNMAP: munmap, mremap; MMU_NOTIFY_RELEASE: exit; migration
 *    and device-exclusive entries). It does not revoke on events that keep
 *    the pages: write-protection (fsync/writeback of DAX entries, fork's
 *    COW marking) and mprotect(), whose access rights the MR does not
 *    follow, as a pinned MR does not.
 *
 *  - Revoke takes the MR's semaphore for writing, which waits for the
 *    accesses in flight and keeps new ones out, marks the MR revoked and
 *    drops the page references before the notifier returns. xfs/ext4 wait
 *    for DAX page references to drop before they free blocks; that wait now
 *    ends at once, and no byte of RDMA can land in the freed blocks.
 *
 *  - An RDMA READ response that has started is finished before a revoke
 *    completes (rxe_revoke_hold()): a requester never sees a response
 *    stream cut short, which unmodified requesters (stock rxe among them)
 *    cannot turn into an error completion. A READ whose response has not
 *    started when the MR is revoked is NAKed at its first PSN.
 *
 *  - A revoked MR keeps its keys: accesses fail as described in
 *    include/uapi/rdma/rxe_revoke-abi.h, until the owner re-registers it.
 *
 * Copies run in process context (rxe_task.c), so the data path may sleep
 * on the semaphore.
 */

#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <rdma/ib_umem.h>

#include "rxe.h"
#include "rxe_odp.h"
#include "rxe_compat.h"
#include "rxe_revoke.h"
#include "rxe_admin.h"
#include "rxe_rereg.h"
#include "rxe_revoke_trace.h"

/* Attempts to pin a range that nothing invalidates meanwhile. */
#define RXE_REVOKE_PIN_TRIES	8

static u32 rxe_revoke_reason_of(const struct mmu_notifier_range *range)
{
	switch (range->event) {
	case MMU_NOTIFY_CLEAR:
		return RXE_REVOKE_REASON_TRUNCATE;
	case MMU_NOTIFY_RELEASE:
		return RXE_REVOKE_REASON_EXIT;
	default:
		return RXE_REVOKE_REASON_UNMAP;
	}
}

/* What held the pages of a revoked MR, taken out of it under sem. */
struct rxe_revoke_held {
	struct page		**pages;
	unsigned long		npages;
	struct mm_struct	*pinned_mm;
	struct ib_umem		*umem;
	bool			writable;
};

/*
 * Pages pinned by rxe_revoke_pin() count in the pinning mm's pinned_vm,
 * against RLIMIT_MEMLOCK, as ib_umem_get() counts a pinned MR's.
 */
static int rxe_revoke_account(struct mm_struct *mm, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;

	if (atomic64_add_return(npages, &mm->pinned_vm) > limit &&
	    !capable(CAP_IPC_LOCK)) {
		atomic64_sub(npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	mmgrab(mm);
	return 0;
}

static void rxe_revoke_unaccount(struct mm_struct *mm, unsigned long npages)
{
	atomic64_sub(npages, &mm->pinned_vm);
	mmdrop(mm);
}

/*
 * Mark a page dirty without waiting for its folio lock: the notifier may be
 * called by reclaim, migration or KSM with that very lock held. Without
 * the lock, filesystems may find the folio's mapping gone (and ext4 warns
 * about a clean folio dirtied unlocked); with it held by someone, the
 * mapping stays while the notifier runs, as in ODP's unmap.
 */
static void rxe_revoke_dirty(struct page *page)
{
	struct folio *folio = page_folio(page);

	if (folio_trylock(folio)) {
		folio_mark_dirty(folio);
		folio_unlock(folio);
	} else {
		folio_mark_dirty(folio);
	}
}

/*
 * Drop what held a revoked MR's pages. Called without sem: it never waits
 * for a folio lock, so that it is safe in the notifier as well.
 */
static void rxe_revoke_release(struct rxe_revoke_held *h)
{
	struct sg_page_iter iter;
	unsigned long i;

	if (h->pages) {
		/*
		 * fsdax pages (ZONE_DEVICE) are not written back from their
		 * page flags: a DAX file's dirty state is the write-faulted
		 * entry in its mapping, set when the owner's mapping was made
		 * writable (the pin with FOLL_WRITE faulted it so). Marking
		 * them dirty costs a folio trylock, an a_ops call and an
		 * unlock per page for nothing (a quarter of the release of a
		 * 64 MiB MR); only page-cache and anonymous pages need it.
		 */
		for (i = 0; i < h->npages && h->writable; i++) {
			if (!is_zone_device_page(h->pages[i]))
				rxe_revoke_dirty(h->pages[i]);
		}
		unpin_user_pages(h->pages, h->npages);
		kvfree(h->pages);
		rxe_revoke_unaccount(h->pinned_mm, h->npages);
	}
	if (h->umem) {
		/*
		 * ib_umem_release() would dirty with the folio lock taken:
		 * dirty here, then let it only unpin.
		 */
		if (h->umem->writable) {
			for_each_sgtable_page(&h->umem->sgt_append.sgt, &iter, 0)
				rxe_revoke_dirty(sg_page_iter_page(&iter));
			h->umem->writable = 0;
		}
		ib_umem_release(h->umem);
	}
	memset(h, 0, sizeof(*h));
}

/* Take the pages out of rv. Called with sem held for writing. */
static void rxe_revoke_detach(struct rxe_revoke_mr *rv,
			      struct rxe_revoke_held *h)
{
	lockdep_assert_held_write(&rv->sem);
	h->pages = rv->pages;
	h->npages = rv->npages;
	h->pinned_mm = rv->pinned_mm;
	h->writable = rv->writable;
	h->umem = rv->umem;
	rv->pages = NULL;
	rv->pinned_mm = NULL;
	if (rv->umem) {
		rv->umem = NULL;
		rv->mr->umem = NULL;
	}
}

static void rxe_revoke_count(struct rxe_mr *mr, u32 reason)
{
	static const enum rxe_counters cnt[] = {
		[RXE_REVOKE_REASON_TRUNCATE]	= RXE_CNT_REVOKE_TRUNCATE,
		[RXE_REVOKE_REASON_UNMAP]	= RXE_CNT_REVOKE_UNMAP,
		[RXE_REVOKE_REASON_EXPLICIT]	= RXE_CNT_REVOKE_EXPLICIT,
		[RXE_REVOKE_REASON_ADMIN]	= RXE_CNT_REVOKE_ADMIN,
		[RXE_REVOKE_REASON_EXIT]	= RXE_CNT_REVOKE_EXIT,
	};

	if (reason && reason < ARRAY_SIZE(cnt))
		rxe_counter_inc(mr->elem.pool->rxe, cnt[reason]);
}

/* A revoke's record and the pages it took, from the mark to the finish. */
struct rxe_revoke_done {
	struct rxe_revoke_event	ev;
	struct rxe_revoke_held	held;
	u64			t0;	/* when the fence was asked for */
};

/*
 * Mark an active MR revoked and take its pages out, filling d. Called with
 * sem held for writing. Returns false if the MR was not active.
 */
static bool rxe_revoke_mark(struct rxe_revoke_mr *rv, u32 reason, u64 start,
			    u64 end, struct rxe_revoke_done *d)
{
	lockdep_assert_held_write(&rv->sem);
	if (rv->status != RXE_REVOKE_MR_ACTIVE)
		return false;
	rv->status = RXE_REVOKE_MR_REVOKED;
	rv->reason = reason;
	rv->revoked_start = start;
	rv->revoked_end = end;
	rv->revoke_count++;
	rxe_revoke_detach(rv, &d->held);
	/* the record, from the state this revoke set */
	d->ev.mr_handle = rxe_mr_handle(rv->mr);
	d->ev.lkey = rv->mr->lkey;
	d->ev.rkey = rv->mr->rkey;
	d->ev.reason = reason;
	d->ev.start = start;
	d->ev.end = end;
	return true;
}

/* After rxe_revoke_mark() and up_write(): the device is fenced off. */
static void rxe_revoke_finish(struct rxe_revoke_mr *rv,
			      struct rxe_revoke_done *d)
{
	rxe_revoke_release(&d->held);
	/* from asking for the fence to the pages dropped */
	trace_rxe_mr_revoke(d->ev.lkey, d->ev.rkey, d->ev.reason, d->ev.start,
			    d->ev.end, ktime_get_ns() - d->t0);
	rxe_revoke_count(rv->mr, d->ev.reason);
	rxe_revoke_notify(rv, &d->ev);
}

/**
 * rxe_revoke_do - revoke a revocable MR
 * @rv: the MR's revoke state
 * @reason: enum rxe_revoke_reason
 * @start: first user VA of the range that caused it
 * @end: end of that range (exclusive)
 *
 * Waits for the accesses in flight (sem for writing), marks the MR revoked,
 * then drops its pages, reports the event and counts it. May sleep; safe
 * in the notifier.
 *
 * Return: true if this call revoked the MR, false if it was not active.
 */
bool rxe_revoke_do(struct rxe_revoke_mr *rv, u32 reason, u64 start, u64 end)
{
	struct rxe_revoke_done d = { .t0 = ktime_get_ns() };
	bool done;

	down_write(&rv->sem);
	done = rxe_revoke_mark(rv, reason, start, end, &d);
	up_write(&rv->sem);
	if (done)
		rxe_revoke_finish(rv, &d);
	return done;
}

/*
 * Does the page at the start of the range stay the memory's page? In 6.1,
 * reclaim, migration, compaction and KSM send MMU_NOTIFY_CLEAR, as
 * truncate does, but they invalidate a folio that they hold locked,
 * through its rmap, and give up on a folio that is pinned: for a long-term
 * pinned (converted) MR the page stays, and a revoke would be spurious. A
 * truncate, hole punch, MADV_DONTNEED or direct-I/O invalidation zaps the
 * mapping without the folio lock first. Should another holder of the lock
 * meet such a zap, a page-cache page that the truncate put beyond EOF, or
 * whose file's invalidate_lock is held (hole punch, collapse and insert
 * range), still revokes. DAX MRs (rv->pages) always revoke: DAX pages are
 * never reclaimed or migrated, and their truncate must not wait.
 * Called with sem held for writing.
 */
static bool rxe_revoke_page_stays(struct rxe_revoke_mr *rv,
				  const struct mmu_notifier_range *range)
{
	unsigned long va = max_t(unsigned long, range->start, rv->first);
	unsigned long i = (va - rv->first) >> PAGE_SHIFT;
	struct address_space *mapping;
	struct folio *folio;
	struct page *page;

	if (range->event != MMU_NOTIFY_CLEAR || !rv->umem ||
	    rv->status != RXE_REVOKE_MR_ACTIVE)
		return false;
	page = rxe_mr_get_page(rv->mr, i);
	if (!page)
		return false;
	folio = page_folio(page);
	if (!folio_test_locked(folio))
		return false;
	if (folio_test_hugetlb(folio))
		return false;
	if (folio_test_anon(folio))
		return true;
	mapping = READ_ONCE(folio->mapping);
	if (!mapping || ((unsigned long)mapping & PAGE_MAPPING_FLAGS))
		return false;
	if (rwsem_is_locked(&mapping->invalidate_lock))
		return false;
	return ((loff_t)(folio->index + folio_page_idx(folio, page)) <<
		PAGE_SHIFT) < i_size_read(mapping->host);
}

static bool rxe_revoke_invalidate(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq)
{
	struct rxe_revoke_mr *rv = container_of(mni, struct rxe_revoke_mr,
						notifier);
	struct rxe_revoke_done d = { .t0 = ktime_get_ns() };
	bool stays, done = false;
	u64 start, end;

	switch (range->event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return true;	/* the same pages stay: nothing to revoke */
	default:
		break;
	}
	if (!mmu_notifier_range_blockable(range))
		return false;

	start = max_t(u64, mni->interval_tree.start, range->start);
	end = min_t(u64, mni->interval_tree.last + 1, range->end);
	trace_rxe_mr_invalidate(rv->mr->lkey, RXE_REVOKE_MR_REVOCABLE,
				range->event, start, end);

	/*
	 * One hold of sem for writing: the sequence (which
	 * rxe_revoke_activate() checks under it), the decision and the mark.
	 */
	down_write(&rv->sem);
	mmu_interval_set_seq(mni, cur_seq);
	stays = rxe_revoke_page_stays(rv, range);
	if (!stays)
		done = rxe_revoke_mark(rv, rxe_revoke_reason_of(range), start,
				       end, &d);
	up_write(&rv->sem);
	if (stays)
		rxe_counter_inc(rv->mr->elem.pool->rxe,
				RXE_CNT_REVOKE_AVOIDED);
	else if (done)
		rxe_revoke_finish(rv, &d);
	return true;
}

static const struct mmu_interval_notifier_ops rxe_revoke_mn_ops = {
	.invalidate = rxe_revoke_invalidate,
};

static struct rxe_revoke_mr *rxe_revoke_alloc(struct rxe_mr *mr, bool writable)
{
	struct rxe_revoke_mr *rv = kzalloc(sizeof(*rv), GFP_KERNEL_ACCOUNT);

	if (!rv)
		return NULL;
	init_rwsem(&rv->sem);
	rv->mr = mr;
	rv->writable = writable;
	/* nothing is allowed until rxe_revoke_activate() */
	rv->status = RXE_REVOKE_MR_REVOKED;
	return rv;
}

/* Start watching [start, start + length) of the current mm. */
static int rxe_revoke_watch(struct rxe_revoke_mr *rv, u64 start, u64 length)
{
	unsigned long first = start & PAGE_MASK;
	unsigned long npages;
	int err;

	if (!length || start + length < start)
		return -EINVAL;
	npages = (PAGE_ALIGN(start + length) - first) >> PAGE_SHIFT;
	/* as ib_umem_get(); a length from userspace must not WARN */
	if (npages > UINT_MAX)
		return -EINVAL;
	/*
	 * Refuse before allocating for it what RLIMIT_MEMLOCK will refuse at
	 * the pin, and a page list that cannot be allocated (rxe_compat.h).
	 */
	if (npages > rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT &&
	    !capable(CAP_IPC_LOCK))
		return -ENOMEM;
	if (!rxe_mr_pages_fit(npages))
		return -ENOMEM;

	memset(&rv->notifier, 0, sizeof(rv->notifier));
	err = mmu_interval_notifier_insert(&rv->notifier, current->mm, first,
					   npages << PAGE_SHIFT,
					   &rxe_revoke_mn_ops);
	if (err)
		return err;
	rv->first = first;
	rv->npages = npages;
	rv->watching = true;
	return 0;
}

static void rxe_revoke_unwatch(struct rxe_revoke_mr *rv)
{
	if (rv->watching) {
		/* waits for a notifier callback in progress */
		mmu_interval_notifier_remove(&rv->notifier);
		rv->watching = false;
	}
}

/* Pin the watched range without FOLL_LONGTERM into h. */
static int rxe_revoke_pin(struct rxe_revoke_mr *rv, struct rxe_revoke_held *h)
{
	struct mm_struct *mm = current->mm;
	unsigned long done = 0;
	int err;

	err = rxe_revoke_account(mm, rv->npages);
	if (err)
		return err;
	h->pages = kvmalloc_array(rv->npages, sizeof(*h->pages),
				  GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!h->pages) {
		rxe_revoke_unaccount(mm, rv->npages);
		return -ENOMEM;
	}
	h->npages = rv->npages;
	h->pinned_mm = mm;
	h->writable = rv->writable;

	while (done < rv->npages) {
		int got = pin_user_pages_fast(rv->first + (done << PAGE_SHIFT),
					      min_t(unsigned long,
						    rv->npages - done,
						    PAGE_SIZE / sizeof(*h->pages)),
					      rv->writable ? FOLL_WRITE : 0,
					      h->pages + done);

		if (got <= 0) {
			unpin_user_pages(h->pages, done);
			kvfree(h->pages);
			rxe_revoke_unaccount(mm, rv->npages);
			memset(h, 0, sizeof(*h));
			return got ? got : -EFAULT;
		}
		done += got;
	}
	return 0;
}

/* Fill the MR's page list from the pinned pages, as stock rxe does. */
static void rxe_revoke_fill_map(struct rxe_mr *mr, struct page **pages,
				unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		rxe_mr_set_page(mr, i, pages[i]);
}

/*
 * Pin the watched range, fill the MR's map (allocated for rv->npages) and
 * make rv active, with commit(mr, arg) applied under sem just before. If the
 * range was invalidated between the start of the pinning and the
 * activation, the pages may be stale: drop them and try again. A write pin
 * that breaks COW or fills a hole invalidates the range by itself, so the
 * first attempt may fail for no fault of the caller's.
 */
static int rxe_revoke_activate(struct rxe_revoke_mr *rv,
			       void (*commit)(struct rxe_mr *mr, void *arg),
			       void *arg)
{
	struct rxe_revoke_held h = {};
	unsigned long seq;
	int tries, err;

	for (tries = 0; tries < RXE_REVOKE_PIN_TRIES; tries++) {
		seq = mmu_interval_read_begin(&rv->notifier);
		err = rxe_revoke_pin(rv, &h);
		if (err)
			return err;
		/* the MR is not active: no access reads the map */
		rxe_revoke_fill_map(rv->mr, h.pages, h.npages);

		down_write(&rv->sem);
		if (!mmu_interval_read_retry(&rv->notifier, seq)) {
			rv->pages = h.pages;
			rv->pinned_mm = h.pinned_mm;
			if (commit)
				commit(rv->mr, arg);
			rv->status = RXE_REVOKE_MR_ACTIVE;
			up_write(&rv->sem);
			return 0;
		}
		up_write(&rv->sem);
		rxe_revoke_release(&h);
	}
	return -EAGAIN;
}

/**
 * rxe_revoke_mr_init_user - register a revocable MR
 * @rxe: the device
 * @start: user VA
 * @length: bytes
 * @iova: the MR's iova
 * @access: IB access flags
 * @mr: the MR, not yet visible to anyone
 *
 * Called where ib_umem_get() refused a long-term pin (fsdax): pin
 * [start, start + length) without FOLL_LONGTERM and watch the range.
 *
 * Return: 0 or a negative errno; on error the MR holds nothing of ours.
 */
int rxe_revoke_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			    u64 iova, int access, struct rxe_mr *mr)
{
	struct rxe_revoke_mr *rv;
	int err;

	rv = rxe_revoke_alloc(mr, ib_access_writable(access));
	if (!rv)
		return -ENOMEM;
	err = rxe_revoke_watch(rv, start, length);
	if (err)
		goto err_free;

	rxe_mr_init(access, mr);
	err = rxe_mr_pages_replace(mr, rv->npages);
	if (err)
		goto err_unwatch;
	mr->access = access;
	rxe_mr_set_user(mr, start, PAGE_SHIFT);
	err = rxe_revoke_activate(rv, NULL, NULL);
	if (err)
		goto err_unwatch;
	/* the MR is not visible yet: no copy can have seen rv == NULL */
	smp_store_release(&mr->rv, rv);
	return 0;

err_unwatch:
	rxe_revoke_unwatch(rv);
err_free:
	kfree(rv);
	return err;
}

struct rxe_revoke_rereg_arg {
	u64 iova, length;
	int access;
	struct ib_pd *pd;
	bool new_keys;
	u64 start;
};

/*
 * Give the MR its new PD and access flags, and new keys unless the
 * re-registration only adds rights (rxe_rereg_widens()). Called with sem
 * held for writing: an access checks its key under sem (rxe_revoke_key_ok()),
 * so one that was looked up with the old PD, rights or keys fails, and one
 * with the new keys can only come once they were returned to the owner.
 */
static void rxe_revoke_rereg_keys(struct rxe_mr *mr, void *p)
{
	struct rxe_revoke_rereg_arg *arg = p;
	u8 key = arg->new_keys ? rxe_get_next_key(mr->lkey & 0xff) :
				 mr->lkey & 0xff;

	lockdep_assert_held_write(&mr->rv->sem);
	if (arg->pd != mr->ibmr.pd) {
		/* the MR's pool reference follows it (rxe_mr_cleanup()) */
		rxe_get(to_rpd(arg->pd));
		rxe_put(to_rpd(mr->ibmr.pd));
		WRITE_ONCE(mr->ibmr.pd, arg->pd);
	}
	mr->lkey = (mr->lkey & ~0xff) | key;
	mr->rkey = mr->lkey;
	mr->ibmr.lkey = mr->lkey;
	mr->ibmr.rkey = mr->rkey;
	mr->ibmr.iova = arg->iova;
	mr->ibmr.length = arg->length;
	WRITE_ONCE(mr->access, arg->access);
}

/* As rxe_revoke_rereg_keys(), and the MR starts at arg->start now. */
static void rxe_revoke_rereg_commit(struct rxe_mr *mr, void *p)
{
	struct rxe_revoke_rereg_arg *arg = p;

	rxe_revoke_rereg_keys(mr, arg);
	rxe_mr_set_start(mr, arg->start);
}

/*
 * A re-registration without IB_MR_REREG_TRANS: new PD and access flags in
 * place, under the fence, and new keys unless it only adds rights; the MR
 * stays active or revoked, with the same pages. Write access cannot be
 * added to pages pinned read-only (as upstream's ib_umem_check_rereg()):
 * the owner re-registers the translation for that.
 */
static struct ib_mr *rxe_revoke_rereg_keep(struct rxe_mr *mr, int access,
					   struct ib_pd *pd)
{
	struct rxe_revoke_mr *rv = mr->rv;
	struct rxe_revoke_rereg_arg arg = {
		.iova = mr->ibmr.iova,
		.length = mr->ibmr.length,
		.access = access,
		.pd = pd,
		.new_keys = !rxe_rereg_widens(mr, 0, access, pd),
	};

	down_write(&rv->sem);
	if (rv->status == RXE_REVOKE_MR_ACTIVE && !rv->writable &&
	    ib_access_writable(access)) {
		up_write(&rv->sem);
		return ERR_PTR(-EACCES);
	}
	rxe_revoke_rereg_keys(mr, &arg);
	up_write(&rv->sem);
	return NULL;	/* changed in place */
}

/**
 * rxe_revoke_rereg - re-register a revocable MR in place
 * @mr: the MR, which uverbs holds for writing, closed to memory window
 *      binds by rxe_rereg_user_mr()
 * @flags: IB_MR_REREG_TRANS, IB_MR_REREG_PD, IB_MR_REREG_ACCESS
 * @start: new user VA (IB_MR_REREG_TRANS)
 * @length: new length (IB_MR_REREG_TRANS)
 * @iova: new iova (IB_MR_REREG_TRANS)
 * @access: the access flags from now on (new or current)
 * @pd: the PD from now on (new or current)
 *
 * The MR index (and handle) stays and the 8-bit key part of lkey and rkey
 * changes under the fence, so that a request still in flight with the old
 * keys fails (rxe_revoke_begin() checks the key) instead of reaching the
 * MR as it is now; ib_uverbs returns the new keys. A re-registration that
 * only adds rights (rxe_rereg_widens()) keeps them.
 *
 * With IB_MR_REREG_TRANS: revoke the MR if it is active (reason EXPLICIT),
 * then register and pin the new range (a restore). On failure the MR is
 * left revoked, with no pages, its PD and access flags unchanged.
 *
 * Without it: change the PD and access flags; the MR stays active or
 * revoked, with the same pages.
 *
 * Return: NULL (changed in place) or an ERR_PTR: -EACCES (write access to
 * pages pinned read-only), or an error of pinning the new range.
 */
struct ib_mr *rxe_revoke_rereg(struct rxe_mr *mr, int flags, u64 start,
			       u64 length, u64 iova, int access,
			       struct ib_pd *pd)
{
	struct rxe_revoke_mr *rv = mr->rv;
	u32 old_lkey = mr->lkey, old_rkey = mr->rkey;
	struct rxe_revoke_rereg_arg arg;
	int err;

	if (!(flags & IB_MR_REREG_TRANS))
		return rxe_revoke_rereg_keep(mr, access, pd);

	rxe_revoke_do(rv, RXE_REVOKE_REASON_EXPLICIT,
		      rv->notifier.interval_tree.start,
		      rv->notifier.interval_tree.last + 1);
	rxe_revoke_unwatch(rv);

	rv->writable = ib_access_writable(access);
	err = rxe_revoke_watch(rv, start, length);
	if (err)
		return ERR_PTR(err);

	/* revoked: no access reads the page list while it is replaced */
	err = rxe_mr_pages_replace(mr, rv->npages);
	if (err)
		goto err_unwatch;

	arg.iova = iova;
	arg.length = length;
	arg.access = access;
	arg.start = start;
	arg.pd = pd;
	arg.new_keys = true;
	err = rxe_revoke_activate(rv, rxe_revoke_rereg_commit, &arg);
	if (err)
		goto err_unwatch;
	rxe_admin_mr_update(mr, start, length);
	trace_rxe_mr_restore(old_lkey, old_rkey, mr->lkey, mr->rkey, start,
			     length);
	rxe_counter_inc(mr->elem.pool->rxe, RXE_CNT_REREG_RESTORES);
	return NULL;	/* re-registered in place */

err_unwatch:
	rxe_revoke_unwatch(rv);
	return ERR_PTR(err);
}

/**
 * rxe_revoke_mr_convert - make a pinned (umem) MR revocable
 * @mr: the MR, which the caller holds exclusively (uverbs write access)
 *
 * Its umem goes at revoke. Returns once no access that saw the MR as
 * not revocable is in flight, so that a revoke that follows fences every
 * access.
 *
 * Return: 0, or -EINVAL (not a pinned user MR), -EPERM (another mm's),
 * -EAGAIN (the range was invalidated meanwhile: the MR stays as it was),
 * -ENOMEM.
 */
int rxe_revoke_mr_convert(struct rxe_mr *mr)
{
	struct ib_umem *umem = mr->umem;
	struct rxe_revoke_mr *rv;
	unsigned long seq;
	int err;

	if (mr->rv)
		return 0;
	if (!umem || rxe_mr_is_odp(mr) || rxe_mr_get_type(mr) != IB_MR_TYPE_USER)
		return -EINVAL;
	if (umem->owning_mm != current->mm)
		return -EPERM;
	rv = rxe_revoke_alloc(mr, umem->writable);
	if (!rv)
		return -ENOMEM;
	err = rxe_revoke_watch(rv, umem->address, umem->length);
	if (err) {
		kfree(rv);
		return err;
	}
	seq = mmu_interval_read_begin(&rv->notifier);
	/*
	 * Active only if nothing invalidated the range since it is watched;
	 * else fail and leave the MR as it was (pinned, not revocable).
	 */
	down_write(&rv->sem);
	if (mmu_interval_read_retry(&rv->notifier, seq)) {
		up_write(&rv->sem);
		rxe_revoke_unwatch(rv);
		kfree(rv);
		return -EAGAIN;
	}
	rv->umem = umem;
	rv->status = RXE_REVOKE_MR_ACTIVE;
	up_write(&rv->sem);

	/*
	 * From here new accesses take the fence. An access that read
	 * mr->rv == NULL did so inside an RCU read-side section (rxe_mr.c):
	 * wait for those to end, so that a revoke after we return cannot
	 * miss one.
	 */
	smp_store_release(&mr->rv, rv);
	synchronize_rcu();
	return 0;
}

/**
 * rxe_revoke_mr_cleanup - free the revoke state of an MR being destroyed
 * @mr: the MR; no reference to it is left
 */
void rxe_revoke_mr_cleanup(struct rxe_mr *mr)
{
	struct rxe_revoke_mr *rv = mr->rv;
	struct rxe_revoke_held h = {};

	if (!rv)
		return;
	rxe_revoke_unwatch(rv);
	/* waits for a READ response that still holds the fence */
	down_write(&rv->sem);
	rv->status = RXE_REVOKE_MR_REVOKED;
	rxe_revoke_detach(rv, &h);
	up_write(&rv->sem);
	rxe_revoke_release(&h);
	mr->rv = NULL;
	kfree(rv);
}

#ifdef RXE_REVOKE_TEST_HOOKS
/* Sleep as long as a test hook parameter says, at most 100 ms. */
static void rxe_test_sleep(const unsigned int *us)
{
	unsigned int delay = min(READ_ONCE(*us), 100000U);

	if (unlikely(delay))
		usleep_range(delay, delay + delay / 4 + 1);
}

/*
 * Test hook (built with CONFIG_RDMA_RXE_REVOKE_DEBUG), off (0) by default:
 * sleep this long inside every access to a revocable MR, after the fence
 * is taken, so that a revoke meets accesses in flight far more often than
 * the few microseconds of a real copy allow. The stress test sets it: a
 * missing or misplaced fence then lets writes land in freed blocks, which
 * its canaries see (make check-teeth). Values above 100 ms count as 100 ms.
 */
static unsigned int fence_test_delay_us;
module_param(fence_test_delay_us, uint, 0600);
MODULE_PARM_DESC(fence_test_delay_us,
		 "test hook: sleep inside each revocable MR access, in us (0: off)");

/**
 * rxe_revoke_test_delay - the fence_test_delay_us test hook
 *
 * Called inside the fence of every access to a revocable MR. May sleep.
 */
void rxe_revoke_test_delay(void)
{
	rxe_test_sleep(&fence_test_delay_us);
}

/*
 * Test hook, off (0) by default: sleep this long at the end of every run
 * of a QP task (6.1's rxe_do_task(), 6.12's do_task()), after the task
 * went idle. On 6.1 rxe_cleanup_task() may let the QP be freed from then
 * on, so nothing may touch the task there; the delay turns an access that
 * does into a use after free that slub_debug or KASAN sees
 * (hardening_test, task_teardown).
 */
static unsigned int task_test_delay_us;
module_param(task_test_delay_us, uint, 0600);
MODULE_PARM_DESC(task_test_delay_us,
		 "test hook: sleep after each QP task run, in us (0: off)");

/**
 * rxe_task_test_delay - the task_test_delay_us test hook
 *
 * Called at the end of a task run (rxe_do_task(), do_task()) in a context
 * that may sleep, after the task went idle.
 */
void rxe_task_test_delay(void)
{
	rxe_test_sleep(&task_test_delay_us);
}
#else
void rxe_revoke_test_delay(void)
{
}

void rxe_task_test_delay(void)
{
}
#endif

/* Is key one that reaches rv's MR as it is now? Called under sem. */
static bool rxe_revoke_key_ok(struct rxe_revoke_mr *rv, u32 key)
{
	/*
	 * A window's rkey reaches the MR through the window, and no rereg
	 * happens while one is bound; an MR key must be the current one,
	 * not one from before a re-registration.
	 */
	return rkey_is_mw(key) || key == rv->mr->lkey;
}

/**
 * rxe_revoke_begin - enter the data path of a revocable MR
 * @rv: the MR's revoke state
 * @key: the lkey or rkey the access came with
 *
 * May sleep.
 *
 * Return: 0 with sem held for reading, or -EFAULT if the MR is revoked or
 * the key is not current (the MR was re-registered since it was looked up).
 */
int rxe_revoke_begin(struct rxe_revoke_mr *rv, u32 key)
{
	might_sleep();
	down_read(&rv->sem);
	if (rv->status != RXE_REVOKE_MR_ACTIVE || !rxe_revoke_key_ok(rv, key)) {
		up_read(&rv->sem);
		return -EFAULT;
	}
	rxe_revoke_test_delay();
	return 0;
}

/**
 * rxe_revoke_end - leave the data path of a revocable MR
 * @rv: what rxe_revoke_begin() succeeded on
 */
void rxe_revoke_end(struct rxe_revoke_mr *rv)
{
	up_read(&rv->sem);
}

/**
 * rxe_revoke_hold - fence a revocable MR for a whole RDMA READ response
 * @rv: the MR's revoke state
 * @key: the rkey of the READ
 *
 * Like rxe_revoke_begin(), but the fence stays until rxe_revoke_unhold(),
 * across runs of the responder task: a revoke then waits until the
 * response stream is generated (bounded by the READ's length, not by the
 * peer) instead of cutting it short. The caller must release it when the
 * response ends, fails or the resource is dropped.
 *
 * Return: 0 with the fence held, or -EFAULT.
 */
int rxe_revoke_hold(struct rxe_revoke_mr *rv, u32 key)
{
	might_sleep();
	down_read_non_owner(&rv->sem);
	if (rv->status != RXE_REVOKE_MR_ACTIVE || !rxe_revoke_key_ok(rv, key)) {
		up_read_non_owner(&rv->sem);
		return -EFAULT;
	}
	return 0;
}

/**
 * rxe_revoke_unhold - release what rxe_revoke_hold() took, if anything
 * @held: where the caller keeps the held rv; cleared
 */
void rxe_revoke_unhold(struct rxe_revoke_mr **held)
{
	if (*held) {
		up_read_non_owner(&(*held)->sem);
		*held = NULL;
	}
}

/**
 * rxe_revoke_admin - an administrator revokes the MR (rxe_admin.c)
 * @mr: the MR, referenced by the caller
 * @start: first user VA of the range asked for
 * @end: its end (exclusive)
 *
 * Return: 0, -EOPNOTSUPP if it is not revocable, -EALREADY if it is
 * revoked.
 */
int rxe_revoke_admin(struct rxe_mr *mr, u64 start, u64 end)
{
	struct rxe_revoke_mr *rv = READ_ONCE(mr->rv);

	if (!rv)
		return -EOPNOTSUPP;
	if (!rxe_revoke_do(rv, RXE_REVOKE_REASON_ADMIN, start, end))
		return -EALREADY;
	return 0;
}

/**
 * rxe_revoke_mr_state - the MR's state, as RXE_REVOKE_METHOD_MR_QUERY
 * reports it
 * @mr: the MR, referenced by the caller
 * @st: filled in
 */
void rxe_revoke_mr_state(struct rxe_mr *mr, struct rxe_revoke_mr_state *st)
{
	struct rxe_revoke_mr *rv = READ_ONCE(mr->rv);

	memset(st, 0, sizeof(*st));
	st->kind = rxe_mr_is_odp(mr) ? RXE_REVOKE_MR_ODP : RXE_REVOKE_MR_PINNED;
	st->status = RXE_REVOKE_MR_ACTIVE;
	if (!rv) {
		st->lkey = READ_ONCE(mr->lkey);
		st->rkey = READ_ONCE(mr->rkey);
		return;
	}
	down_read(&rv->sem);
	st->lkey = mr->lkey;
	st->rkey = mr->rkey;
	st->kind = RXE_REVOKE_MR_REVOCABLE;
	st->status = rv->status;
	st->reason = rv->reason;
	st->revoke_count = rv->revoke_count;
	st->revoked_start = rv->revoked_start;
	st->revoked_end = rv->revoked_end;
	up_read(&rv->sem);
}
