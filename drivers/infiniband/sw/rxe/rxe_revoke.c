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
 *  - The notifier revokes on the events that take pages away from the
 *    range (MMU_NOTIFY_CLEAR: truncate, hole punch, collapse/insert range,
 *    MADV_DONTNEED; MMU_NOTIFY_UNMAP: munmap, mremap; MMU_NOTIFY_RELEASE:
 *    exit; migration and device-exclusive entries). It does not revoke on
 *    events that keep the pages: write-protection (fsync/writeback of DAX
 *    entries, fork's COW marking, whose pinned pages fork copies for the
 *    child) and mprotect(), whose access rights the MR does not follow, as
 *    a pinned MR does not.
 *
 *  - Revoke takes the MR's semaphore for writing, which waits for the copies
 *    in flight and keeps new ones out, marks the MR revoked and drops the
 *    page references before the notifier returns. xfs/ext4 wait for DAX
 *    page references to drop before they free blocks; that wait now ends
 *    at once, and no byte of RDMA can land in the freed blocks.
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
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <rdma/ib_umem.h>
#include <rdma/uverbs_ioctl.h>

#include "rxe.h"
#include "rxe_odp.h"
#include "rxe_revoke.h"
#include "rxe_admin.h"

#define CREATE_TRACE_POINTS
#include "rxe_revoke_trace.h"

#define UVERBS_MODULE_NAME rxe_revoke
#include <rdma/uverbs_named_ioctl.h>

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

/*
 * Pages pinned by rxe_revoke_pin() count in the pinning mm's pinned_vm,
 * against RLIMIT_MEMLOCK, as ib_umem_get() counts a pinned MR's.
 */
static int rxe_revoke_account(struct rxe_revoke_mr *rv, unsigned long npages)
{
	struct mm_struct *mm = current->mm;
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;

	if (atomic64_add_return(npages, &mm->pinned_vm) > limit &&
	    !capable(CAP_IPC_LOCK)) {
		atomic64_sub(npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	mmgrab(mm);
	rv->pinned_mm = mm;
	return 0;
}

static void rxe_revoke_unaccount(struct rxe_revoke_mr *rv)
{
	if (rv->pinned_mm) {
		atomic64_sub(rv->npages, &rv->pinned_mm->pinned_vm);
		mmdrop(rv->pinned_mm);
		rv->pinned_mm = NULL;
	}
}

/* Drop what holds the pages. Called with sem held for writing. */
static void rxe_revoke_release_pages(struct rxe_revoke_mr *rv)
{
	unsigned long i;

	if (rv->pages) {
		/*
		 * Like ODP's unmap, dirty without the page lock: a notifier
		 * may run with a page locked by its caller.
		 */
		for (i = 0; i < rv->npages; i++) {
			if (rv->writable)
				set_page_dirty(rv->pages[i]);
			unpin_user_page(rv->pages[i]);
		}
		kvfree(rv->pages);
		rv->pages = NULL;
		rxe_revoke_unaccount(rv);
	}
	if (rv->umem) {
		ib_umem_release(rv->umem);
		rv->umem = NULL;
		rv->mr->umem = NULL;
	}
}

/*
 * Revoke event channels: fds of a uverbs context (see the uAPI header for
 * what they deliver). They are few; a global list will do.
 */
struct rxe_revoke_channel {
	struct ib_uobject	uobj;		/* first: the fd object */
	struct list_head	list;		/* in rxe_revoke_channels */
	wait_queue_head_t	wait;
	spinlock_t		lock;		/* the ring and its state */
	u32			head;
	u32			count;
	u32			dropped;
	u64			seq;
	bool			closed;
	struct rxe_revoke_event	ring[RXE_REVOKE_EVENT_RING];
};

static LIST_HEAD(rxe_revoke_channels);
static DEFINE_SPINLOCK(rxe_revoke_channels_lock);

static void rxe_revoke_channel_push(struct rxe_revoke_channel *ch,
				    const struct rxe_revoke_event *ev)
{
	struct rxe_revoke_event *slot;

	spin_lock(&ch->lock);
	ch->seq++;
	if (ch->closed) {
		spin_unlock(&ch->lock);
		return;
	}
	if (ch->count == RXE_REVOKE_EVENT_RING) {
		ch->dropped++;
	} else {
		slot = &ch->ring[(ch->head + ch->count) %
				 RXE_REVOKE_EVENT_RING];
		*slot = *ev;
		slot->seq = ch->seq;
		if (ch->dropped) {
			slot->flags |= RXE_REVOKE_EVENT_F_OVERFLOW;
			slot->dropped = ch->dropped;
			ch->dropped = 0;
		}
		ch->count++;
	}
	spin_unlock(&ch->lock);
	wake_up_interruptible(&ch->wait);
}

/* Tell the MR's context, through each of its channels. */
static void rxe_revoke_notify(struct rxe_revoke_mr *rv,
			      const struct rxe_revoke_event *ev)
{
	struct ib_uobject *muobj = rv->mr->ibmr.uobject;
	struct rxe_revoke_channel *ch;

	if (!muobj)
		return;
	spin_lock(&rxe_revoke_channels_lock);
	list_for_each_entry(ch, &rxe_revoke_channels, list)
		if (ch->uobj.context == muobj->context)
			rxe_revoke_channel_push(ch, ev);
	spin_unlock(&rxe_revoke_channels_lock);
}

/* The hw counter of each revoke reason (rdma statistic). */
static const enum rxe_counters rxe_revoke_reason_cnt[] = {
	[RXE_REVOKE_REASON_TRUNCATE]	= RXE_CNT_REVOKE_TRUNCATE,
	[RXE_REVOKE_REASON_UNMAP]	= RXE_CNT_REVOKE_UNMAP,
	[RXE_REVOKE_REASON_EXPLICIT]	= RXE_CNT_REVOKE_EXPLICIT,
	[RXE_REVOKE_REASON_ADMIN]	= RXE_CNT_REVOKE_ADMIN,
	[RXE_REVOKE_REASON_EXIT]	= RXE_CNT_REVOKE_EXIT,
};

static void rxe_revoke_count(struct rxe_mr *mr, u32 reason)
{
	if (reason && reason < ARRAY_SIZE(rxe_revoke_reason_cnt))
		rxe_counter_inc(mr->elem.pool->rxe,
				rxe_revoke_reason_cnt[reason]);
}

/* Revoke; returns false if it already was. Takes sem for writing. */
static bool rxe_revoke_do(struct rxe_revoke_mr *rv, u32 reason, u64 start,
			  u64 end)
{
	struct ib_uobject *muobj = rv->mr->ibmr.uobject;
	struct rxe_revoke_event ev = {};
	u64 t0 = ktime_get_ns();
	bool done = false;

	down_write(&rv->sem);
	if (rv->status == RXE_REVOKE_MR_ACTIVE) {
		rv->status = RXE_REVOKE_MR_REVOKED;
		rv->reason = reason;
		rv->revoked_start = start;
		rv->revoked_end = end;
		rv->revoke_count++;
		rxe_revoke_release_pages(rv);
		/* the record, from the state this revoke set */
		ev.mr_handle = muobj ? muobj->id : 0;
		ev.lkey = rv->mr->lkey;
		ev.rkey = rv->mr->rkey;
		ev.reason = reason;
		ev.start = start;
		ev.end = end;
		done = true;
	}
	up_write(&rv->sem);
	if (done) {
		/* from asking for the fence to the pages dropped */
		trace_rxe_mr_revoke(ev.lkey, ev.rkey, reason, start, end,
				    ktime_get_ns() - t0);
		rxe_revoke_count(rv->mr, reason);
		rxe_revoke_notify(rv, &ev);
	}
	return done;
}

static bool rxe_revoke_invalidate(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq)
{
	struct rxe_revoke_mr *rv = container_of(mni, struct rxe_revoke_mr,
						notifier);
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

	mmu_interval_set_seq(mni, cur_seq);
	start = max_t(u64, mni->interval_tree.start, range->start);
	end = min_t(u64, mni->interval_tree.last + 1, range->end);
	trace_rxe_mr_invalidate(rv->mr->lkey, RXE_REVOKE_MR_REVOCABLE,
				range->event, start, end);
	rxe_revoke_do(rv, rxe_revoke_reason_of(range), start, end);
	return true;
}

static const struct mmu_interval_notifier_ops rxe_revoke_mn_ops = {
	.invalidate = rxe_revoke_invalidate,
};

static struct rxe_revoke_mr *rxe_revoke_alloc(struct rxe_mr *mr, bool writable)
{
	struct rxe_revoke_mr *rv = kzalloc(sizeof(*rv), GFP_KERNEL);

	if (!rv)
		return NULL;
	init_rwsem(&rv->sem);
	rv->mr = mr;
	rv->writable = writable;
	/* nothing is allowed until rxe_revoke_activate() */
	rv->status = RXE_REVOKE_MR_REVOKED;
	return rv;
}

/* Fill mr->map from the pinned pages, as rxe_mr_init_user() does. */
static void rxe_revoke_fill_map(struct rxe_mr *mr, struct page **pages,
				unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		struct rxe_phys_buf *buf =
			&mr->map[i / RXE_BUF_PER_MAP]->buf[i % RXE_BUF_PER_MAP];

		buf->addr = (uintptr_t)page_address(pages[i]);
		buf->size = PAGE_SIZE;
	}
}

static void rxe_revoke_free_map(struct rxe_map **map, int num_map)
{
	int i;

	for (i = 0; map && i < num_map; i++)
		kfree(map[i]);
	kfree(map);
}

/*
 * Watch [start, start + length) of the current mm and pin its pages
 * without FOLL_LONGTERM into rv, which is not active. *seq is the notifier
 * sequence from before the pinning: rxe_revoke_activate() checks it.
 */
static int rxe_revoke_pin(struct rxe_revoke_mr *rv, u64 start, u64 length,
			  unsigned long *seq)
{
	unsigned long first = start & PAGE_MASK;
	unsigned long npages, done = 0;
	struct page **pages;
	int err;

	if (!length || start + length < start)
		return -EINVAL;
	npages = (PAGE_ALIGN(start + length) - first) >> PAGE_SHIFT;
	/* as ib_umem_get(); a length from userspace must not WARN */
	if (npages > UINT_MAX)
		return -EINVAL;
	err = rxe_revoke_account(rv, npages);
	if (err)
		return err;
	rv->npages = npages;
	pages = kvmalloc_array(npages, sizeof(*pages),
			       GFP_KERNEL | __GFP_NOWARN);
	if (!pages) {
		rxe_revoke_unaccount(rv);
		return -ENOMEM;
	}

	memset(&rv->notifier, 0, sizeof(rv->notifier));
	err = mmu_interval_notifier_insert(&rv->notifier, current->mm, first,
					   npages << PAGE_SHIFT,
					   &rxe_revoke_mn_ops);
	if (err)
		goto err_free;
	*seq = mmu_interval_read_begin(&rv->notifier);

	while (done < npages) {
		int got = pin_user_pages_fast(first + (done << PAGE_SHIFT),
					      min_t(unsigned long, npages - done,
						    PAGE_SIZE / sizeof(*pages)),
					      rv->writable ? FOLL_WRITE : 0,
					      pages + done);

		if (got <= 0) {
			err = got ? got : -EFAULT;
			unpin_user_pages(pages, done);
			mmu_interval_notifier_remove(&rv->notifier);
			goto err_free;
		}
		done += got;
	}
	rv->pages = pages;
	rv->watching = true;
	return 0;

err_free:
	kvfree(pages);
	rxe_revoke_unaccount(rv);
	return err;
}

/*
 * Make rv active, unless the range was invalidated since seq: then the
 * pages may be stale, so they are released and -EAGAIN returned. An
 * invalidation that comes later finds the MR active and revokes it.
 */
static int rxe_revoke_activate(struct rxe_revoke_mr *rv, unsigned long seq)
{
	int err = 0;

	down_write(&rv->sem);
	if (mmu_interval_read_retry(&rv->notifier, seq)) {
		rxe_revoke_release_pages(rv);
		err = -EAGAIN;
	} else {
		rv->status = RXE_REVOKE_MR_ACTIVE;
	}
	up_write(&rv->sem);
	return err;
}

static void rxe_revoke_unwatch(struct rxe_revoke_mr *rv)
{
	if (rv->watching) {
		/* waits for a notifier callback in progress */
		mmu_interval_notifier_remove(&rv->notifier);
		rv->watching = false;
	}
}

/*
 * Register [start, start + length) as a revocable MR: pin without
 * FOLL_LONGTERM, then watch the range. Called where ib_umem_get() refused a
 * long-term pin (fsdax).
 */
int rxe_revoke_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			    u64 iova, int access, struct rxe_mr *mr)
{
	struct rxe_revoke_mr *rv;
	unsigned long seq;
	int err;

	rv = rxe_revoke_alloc(mr, ib_access_writable(access));
	if (!rv)
		return -ENOMEM;
	err = rxe_revoke_pin(rv, start, length, &seq);
	if (err)
		goto err_free;

	rxe_mr_init(access, mr);
	err = rxe_mr_alloc(mr, rv->npages);
	if (err)
		goto err_release;
	rxe_revoke_fill_map(mr, rv->pages, rv->npages);
	mr->page_shift = PAGE_SHIFT;
	mr->page_mask = PAGE_SIZE - 1;
	mr->access = access;
	mr->offset = start & ~PAGE_MASK;
	mr->state = RXE_MR_STATE_VALID;
	mr->type = IB_MR_TYPE_USER;
	err = rxe_revoke_activate(rv, seq);
	if (err)
		goto err_release;
	mr->rv = rv;
	return 0;

err_release:
	rxe_revoke_unwatch(rv);
	down_write(&rv->sem);
	rxe_revoke_release_pages(rv);
	up_write(&rv->sem);
err_free:
	kfree(rv);
	return err;
}

/*
 * rereg_user_mr with IB_MR_REREG_TRANS (and optionally IB_MR_REREG_ACCESS)
 * of a revocable MR: revoke it if it is active, then register the new range
 * in place. The MR index stays and the 8-bit key part of lkey and rkey
 * changes, so that a request still in flight with the old rkey cannot land
 * in the new layout; ib_uverbs returns the new keys. On failure the MR is
 * left revoked, with no pages.
 */
struct ib_mr *rxe_revoke_rereg(struct ib_mr *ibmr, int flags, u64 start,
			       u64 length, u64 iova, int access,
			       struct ib_pd *pd, struct ib_udata *udata)
{
	struct rxe_mr *mr = to_rmr(ibmr);
	struct rxe_revoke_mr *rv = mr->rv;
	struct rxe_map **old_map = mr->map;
	int old_num_map = mr->num_map;
	u32 old_lkey = mr->lkey, old_rkey = mr->rkey;
	unsigned long seq;
	u8 key;
	int err;

	if (!rv) {
		rxe_dbg_mr(mr, "rereg: only revocable MRs can be re-registered\n");
		return ERR_PTR(-EOPNOTSUPP);
	}
	if (!(flags & IB_MR_REREG_TRANS) || (flags & IB_MR_REREG_PD))
		return ERR_PTR(-EOPNOTSUPP);
	if (!(flags & IB_MR_REREG_ACCESS))
		access = mr->access;
	if (access & IB_ACCESS_ON_DEMAND)
		return ERR_PTR(-EINVAL);

	rxe_revoke_do(rv, RXE_REVOKE_REASON_EXPLICIT,
		      rv->notifier.interval_tree.start,
		      rv->notifier.interval_tree.last + 1);
	rxe_revoke_unwatch(rv);

	rv->writable = ib_access_writable(access);
	err = rxe_revoke_pin(rv, start, length, &seq);
	if (err)
		return ERR_PTR(err);
	mr->map = NULL;
	err = rxe_mr_alloc(mr, rv->npages);
	if (err) {
		mr->map = old_map;
		goto err_release;
	}
	rxe_revoke_free_map(old_map, old_num_map);
	rxe_revoke_fill_map(mr, rv->pages, rv->npages);

	down_write(&rv->sem);
	key = rxe_get_next_key(mr->lkey & 0xff);
	mr->lkey = (mr->lkey & ~0xff) | key;
	mr->rkey = (access & (IB_ACCESS_REMOTE_READ | IB_ACCESS_REMOTE_WRITE |
			      IB_ACCESS_REMOTE_ATOMIC)) ? mr->lkey : 0;
	mr->ibmr.lkey = mr->lkey;
	mr->ibmr.rkey = mr->rkey;
	mr->ibmr.iova = iova;
	mr->ibmr.length = length;
	mr->access = access;
	mr->offset = start & ~PAGE_MASK;
	up_write(&rv->sem);

	err = rxe_revoke_activate(rv, seq);
	if (err)
		return ERR_PTR(err);
	rxe_admin_mr_update(mr, start, length);
	trace_rxe_mr_restore(old_lkey, old_rkey, mr->lkey, mr->rkey, start,
			     length);
	rxe_counter_inc(mr->elem.pool->rxe, RXE_CNT_REREG_RESTORES);
	return NULL;	/* re-registered in place */

err_release:
	rxe_revoke_unwatch(rv);
	down_write(&rv->sem);
	rxe_revoke_release_pages(rv);
	up_write(&rv->sem);
	return ERR_PTR(err);
}

/* Trace a user MR that rxe_reg_user_mr() registered. */
void rxe_revoke_trace_register(struct rxe_mr *mr, u64 start, u64 length,
			       u64 iova, int access)
{
	u32 kind = RXE_REVOKE_MR_PINNED;

	if (!trace_rxe_mr_register_enabled())
		return;
	if (mr->rv)
		kind = RXE_REVOKE_MR_REVOCABLE;
	else if (mr->umem && mr->umem->is_odp)
		kind = RXE_REVOKE_MR_ODP;
	trace_rxe_mr_register(mr->lkey, mr->rkey, kind, start, length, iova,
			      access);
}

/* Make a pinned (umem) MR revocable: its umem goes at revoke. */
static int rxe_revoke_mr_convert(struct rxe_mr *mr)
{
	struct ib_umem *umem = mr->umem;
	struct rxe_revoke_mr *rv;
	unsigned long seq;
	int err;

	if (mr->rv)
		return 0;
	if (!umem || umem->is_odp || mr->type != IB_MR_TYPE_USER)
		return -EINVAL;
	if (umem->owning_mm != current->mm)
		return -EPERM;
	rv = rxe_revoke_alloc(mr, umem->writable);
	if (!rv)
		return -ENOMEM;
	err = mmu_interval_notifier_insert(&rv->notifier, current->mm,
					   umem->address & PAGE_MASK,
					   PAGE_ALIGN(umem->address +
						      umem->length) -
					   (umem->address & PAGE_MASK),
					   &rxe_revoke_mn_ops);
	if (err) {
		kfree(rv);
		return err;
	}
	rv->watching = true;
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
	/* From here the data path takes the semaphore. */
	WRITE_ONCE(mr->rv, rv);
	return 0;
}

void rxe_revoke_mr_cleanup(struct rxe_mr *mr)
{
	struct rxe_revoke_mr *rv = mr->rv;

	if (!rv)
		return;
	rxe_revoke_unwatch(rv);
	down_write(&rv->sem);
	rxe_revoke_release_pages(rv);
	up_write(&rv->sem);
	mr->rv = NULL;
	kfree(rv);
}

/*
 * Test hook, off (0) by default: sleep this long inside every access to a
 * revocable MR, after the fence is taken, so that a revoke meets copies in
 * flight far more often than the few microseconds of a real copy allow.
 * The stress test sets it: a missing or misplaced fence then lets writes
 * land in freed blocks, which its canaries see (make check-teeth).
 * Values above 100 ms count as 100 ms.
 */
static unsigned int fence_test_delay_us;
module_param(fence_test_delay_us, uint, 0600);
MODULE_PARM_DESC(fence_test_delay_us,
		 "test hook: sleep inside each revocable MR access, in us (0: off)");

/*
 * Enter the data path of a revocable MR: 0 with sem held for reading, or
 * -EFAULT if the MR is revoked. May sleep.
 */
int rxe_revoke_begin(struct rxe_mr *mr)
{
	struct rxe_revoke_mr *rv = mr->rv;
	unsigned int delay = min(READ_ONCE(fence_test_delay_us), 100000U);

	might_sleep();
	down_read(&rv->sem);
	if (rv->status != RXE_REVOKE_MR_ACTIVE) {
		up_read(&rv->sem);
		return -EFAULT;
	}
	if (unlikely(delay))
		usleep_range(delay, delay + delay / 4 + 1);
	return 0;
}

void rxe_revoke_end(struct rxe_mr *mr)
{
	up_read(&mr->rv->sem);
}

/*
 * An administrator revokes the MR (rxe_admin.c): -EOPNOTSUPP if it is not
 * revocable, -EALREADY if it is revoked.
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

/* The MR's state, as RXE_REVOKE_METHOD_MR_QUERY reports it. */
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

/* uverbs methods */

static struct rxe_mr *rxe_revoke_attr_mr(struct uverbs_attr_bundle *attrs)
{
	struct ib_mr *ibmr = uverbs_attr_get_obj(attrs,
						 RXE_REVOKE_ATTR_MR_HANDLE);

	if (IS_ERR(ibmr))
		return ERR_CAST(ibmr);
	if (ibmr->device->ops.driver_id != RDMA_DRIVER_RXE)
		return ERR_PTR(-EINVAL);
	return to_rmr(ibmr);
}

static int
UVERBS_HANDLER(RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE)(struct uverbs_attr_bundle *attrs)
{
	struct rxe_mr *mr = rxe_revoke_attr_mr(attrs);

	if (IS_ERR(mr))
		return PTR_ERR(mr);
	return rxe_revoke_mr_convert(mr);
}

static int
UVERBS_HANDLER(RXE_REVOKE_METHOD_MR_REVOKE)(struct uverbs_attr_bundle *attrs)
{
	struct rxe_mr *mr = rxe_revoke_attr_mr(attrs);
	struct rxe_revoke_mr *rv;

	if (IS_ERR(mr))
		return PTR_ERR(mr);
	rv = READ_ONCE(mr->rv);
	if (!rv)
		return -EINVAL;		/* not revocable */
	if (!rxe_revoke_do(rv, RXE_REVOKE_REASON_EXPLICIT,
			   rv->notifier.interval_tree.start,
			   rv->notifier.interval_tree.last + 1))
		return -EALREADY;
	return 0;
}

static int
UVERBS_HANDLER(RXE_REVOKE_METHOD_MR_QUERY)(struct uverbs_attr_bundle *attrs)
{
	struct rxe_mr *mr = rxe_revoke_attr_mr(attrs);
	struct rxe_revoke_mr_state st = {};
	struct rxe_revoke_mr *rv;

	if (IS_ERR(mr))
		return PTR_ERR(mr);
	st.lkey = mr->lkey;
	st.rkey = mr->rkey;
	st.kind = mr->umem && mr->umem->is_odp ? RXE_REVOKE_MR_ODP :
		  RXE_REVOKE_MR_PINNED;
	st.status = RXE_REVOKE_MR_ACTIVE;
	rv = READ_ONCE(mr->rv);
	if (rv) {
		down_read(&rv->sem);
		st.kind = RXE_REVOKE_MR_REVOCABLE;
		st.status = rv->status;
		st.reason = rv->reason;
		st.revoke_count = rv->revoke_count;
		st.revoked_start = rv->revoked_start;
		st.revoked_end = rv->revoked_end;
		up_read(&rv->sem);
	}
	return uverbs_copy_to_struct_or_zero(attrs, RXE_REVOKE_ATTR_MR_STATE,
					     &st, sizeof(st));
}

static bool rxe_revoke_channel_ready(struct rxe_revoke_channel *ch)
{
	return ch->count || ch->dropped || ch->closed;
}

static ssize_t rxe_revoke_channel_read(struct file *filp, char __user *buf,
				       size_t len, loff_t *pos)
{
	struct ib_uobject *uobj = filp->private_data;
	struct rxe_revoke_channel *ch;
	struct rxe_revoke_event ev;
	size_t done = 0;
	int err;

	if (!uobj)
		return -EIO;
	ch = container_of(uobj, struct rxe_revoke_channel, uobj);
	if (len < sizeof(ev))
		return -EINVAL;

	spin_lock(&ch->lock);
	while (!rxe_revoke_channel_ready(ch)) {
		spin_unlock(&ch->lock);
		if (filp->f_flags & O_NONBLOCK)
			return -EAGAIN;
		err = wait_event_interruptible(ch->wait,
					       rxe_revoke_channel_ready(ch));
		if (err)
			return err;
		spin_lock(&ch->lock);
	}
	while (len - done >= sizeof(ev)) {
		if (ch->count) {
			ev = ch->ring[ch->head];
			ch->head = (ch->head + 1) % RXE_REVOKE_EVENT_RING;
			ch->count--;
		} else if (ch->dropped) {
			/* all that is left is the news of a loss */
			memset(&ev, 0, sizeof(ev));
			ev.seq = ch->seq;
			ev.flags = RXE_REVOKE_EVENT_F_OVERFLOW;
			ev.dropped = ch->dropped;
			ch->dropped = 0;
		} else {
			break;
		}
		spin_unlock(&ch->lock);
		if (copy_to_user(buf + done, &ev, sizeof(ev)))
			return done ? done : -EFAULT;
		done += sizeof(ev);
		spin_lock(&ch->lock);
	}
	spin_unlock(&ch->lock);
	return done;	/* 0: closed and drained */
}

static __poll_t rxe_revoke_channel_poll(struct file *filp,
					struct poll_table_struct *wait)
{
	struct ib_uobject *uobj = filp->private_data;
	struct rxe_revoke_channel *ch;
	__poll_t mask = 0;

	if (!uobj)
		return EPOLLERR;
	ch = container_of(uobj, struct rxe_revoke_channel, uobj);
	poll_wait(filp, &ch->wait, wait);
	spin_lock(&ch->lock);
	if (ch->count || ch->dropped)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (ch->closed)
		mask |= EPOLLHUP;
	spin_unlock(&ch->lock);
	return mask;
}

static const struct file_operations rxe_revoke_channel_fops = {
	.owner	 = THIS_MODULE,
	.read	 = rxe_revoke_channel_read,
	.poll	 = rxe_revoke_channel_poll,
	.release = uverbs_uobject_fd_release,
	.llseek	 = no_llseek,
};

static void rxe_revoke_channel_destroy(struct ib_uobject *uobj,
				       enum rdma_remove_reason why)
{
	struct rxe_revoke_channel *ch =
		container_of(uobj, struct rxe_revoke_channel, uobj);

	spin_lock(&rxe_revoke_channels_lock);
	list_del_init(&ch->list);
	spin_unlock(&rxe_revoke_channels_lock);
	spin_lock(&ch->lock);
	ch->closed = true;
	spin_unlock(&ch->lock);
	wake_up_interruptible(&ch->wait);
}

static int
UVERBS_HANDLER(RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC)(struct uverbs_attr_bundle *attrs)
{
	struct ib_uobject *uobj =
		uverbs_attr_get_uobject(attrs, RXE_REVOKE_ATTR_EVENT_CHANNEL_FD);
	struct rxe_revoke_channel *ch =
		container_of(uobj, struct rxe_revoke_channel, uobj);

	if (uobj->context->device->ops.driver_id != RDMA_DRIVER_RXE)
		return -EINVAL;
	init_waitqueue_head(&ch->wait);
	spin_lock_init(&ch->lock);
	spin_lock(&rxe_revoke_channels_lock);
	list_add_tail(&ch->list, &rxe_revoke_channels);
	spin_unlock(&rxe_revoke_channels_lock);
	return 0;
}

DECLARE_UVERBS_NAMED_METHOD(RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE,
			    UVERBS_ATTR_IDR(RXE_REVOKE_ATTR_MR_HANDLE, UVERBS_OBJECT_MR,
					    UVERBS_ACCESS_WRITE, UA_MANDATORY));

DECLARE_UVERBS_NAMED_METHOD(RXE_REVOKE_METHOD_MR_REVOKE,
			    UVERBS_ATTR_IDR(RXE_REVOKE_ATTR_MR_HANDLE, UVERBS_OBJECT_MR,
					    UVERBS_ACCESS_READ, UA_MANDATORY));

DECLARE_UVERBS_NAMED_METHOD(RXE_REVOKE_METHOD_MR_QUERY,
			    UVERBS_ATTR_IDR(RXE_REVOKE_ATTR_MR_HANDLE, UVERBS_OBJECT_MR,
					    UVERBS_ACCESS_READ, UA_MANDATORY),
			    UVERBS_ATTR_PTR_OUT(RXE_REVOKE_ATTR_MR_STATE,
						UVERBS_ATTR_STRUCT(struct rxe_revoke_mr_state,
								   rkey),
						UA_MANDATORY));

DECLARE_UVERBS_NAMED_METHOD(RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC,
			    UVERBS_ATTR_FD(RXE_REVOKE_ATTR_EVENT_CHANNEL_FD,
					   RXE_REVOKE_OBJECT_EVENT_CHANNEL,
					   UVERBS_ACCESS_NEW, UA_MANDATORY));

DECLARE_UVERBS_NAMED_OBJECT(RXE_REVOKE_OBJECT_EVENT_CHANNEL,
			    UVERBS_TYPE_ALLOC_FD(sizeof(struct rxe_revoke_channel),
						 rxe_revoke_channel_destroy,
						 &rxe_revoke_channel_fops,
						 "[rxe_revoke_events]",
						 O_RDONLY),
			    &UVERBS_METHOD(RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC));

ADD_UVERBS_METHODS(rxe_revoke_mr_methods, UVERBS_OBJECT_MR,
		   &UVERBS_METHOD(RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE),
		   &UVERBS_METHOD(RXE_REVOKE_METHOD_MR_REVOKE),
		   &UVERBS_METHOD(RXE_REVOKE_METHOD_MR_QUERY));

const struct uapi_definition rxe_revoke_uapi_defs[] = {
	UAPI_DEF_CHAIN_OBJ_TREE(UVERBS_OBJECT_MR, &rxe_revoke_mr_methods),
	UAPI_DEF_CHAIN_OBJ_TREE_NAMED(RXE_REVOKE_OBJECT_EVENT_CHANNEL),
	{},
};
