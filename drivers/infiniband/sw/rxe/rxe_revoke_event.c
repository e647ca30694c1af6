// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke: revoke event channels.
 *
 * A channel is an fd of a uverbs context (RXE_REVOKE_OBJECT_EVENT_CHANNEL)
 * that reports every revoke of an MR of that context as one struct
 * rxe_revoke_event; see the uAPI header for the record, the ring and the
 * overflow rules. Channels are few: a global list will do.
 *
 * Locking: rxe_revoke_channels_lock (spinlock) protects the list; a
 * channel's lock (spinlock) its ring and state, and is taken under the
 * list lock by rxe_revoke_notify(), which may run in the mmu notifier. A
 * channel's read_mutex serializes readers, so that a record leaves the
 * ring only after it reached userspace.
 */

#include <linux/mutex.h>
#include <linux/poll.h>
#include <rdma/uverbs_ioctl.h>

#include "rxe.h"
#include "rxe_revoke.h"
#include "rxe_rereg.h"

#define UVERBS_MODULE_NAME rxe_revoke
#include <rdma/uverbs_named_ioctl.h>

struct rxe_revoke_channel {
	struct ib_uobject	uobj;		/* first: the fd object */
	struct list_head	list;		/* in rxe_revoke_channels */
	wait_queue_head_t	wait;
	struct mutex		read_mutex;	/* one reader at a time */
	u32			record_size;	/* read() stride, bytes */
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

/**
 * rxe_revoke_notify - report a revoke on every channel of the MR's context
 * @rv: the revoked MR's state
 * @ev: the record (seq is filled in per channel)
 *
 * Does not sleep; safe in the mmu notifier.
 */
void rxe_revoke_notify(struct rxe_revoke_mr *rv,
		       const struct rxe_revoke_event *ev)
{
	struct ib_ucontext *uctx = rxe_mr_ucontext(rv->mr);
	struct rxe_revoke_channel *ch;

	if (!uctx)
		return;
	spin_lock(&rxe_revoke_channels_lock);
	list_for_each_entry(ch, &rxe_revoke_channels, list)
		if (ch->uobj.context == uctx)
			rxe_revoke_channel_push(ch, ev);
	spin_unlock(&rxe_revoke_channels_lock);
}

static bool rxe_revoke_channel_ready(struct rxe_revoke_channel *ch)
{
	return ch->count || ch->dropped || ch->closed;
}

/*
 * The next record, left in the ring: the caller consumes it with
 * rxe_revoke_channel_pop() once it is delivered. Called with ch->lock.
 */
static bool rxe_revoke_channel_peek(struct rxe_revoke_channel *ch,
				    struct rxe_revoke_event *ev)
{
	if (ch->count) {
		*ev = ch->ring[ch->head];
	} else if (ch->dropped) {
		/* all that is left is the news of a loss */
		memset(ev, 0, sizeof(*ev));
		ev->seq = ch->seq;
		ev->flags = RXE_REVOKE_EVENT_F_OVERFLOW;
		ev->dropped = ch->dropped;
	} else {
		return false;
	}
	ev->size = ch->record_size;
	return true;
}

static void rxe_revoke_channel_pop(struct rxe_revoke_channel *ch,
				   const struct rxe_revoke_event *ev)
{
	if (ch->count) {
		ch->head = (ch->head + 1) % RXE_REVOKE_EVENT_RING;
		ch->count--;
	} else {
		/* drops counted since the peek stay for the next read */
		ch->dropped -= min(ch->dropped, ev->dropped);
	}
}

static ssize_t rxe_revoke_channel_read(struct file *filp, char __user *buf,
				       size_t len, loff_t *pos)
{
	struct ib_uobject *uobj = filp->private_data;
	struct rxe_revoke_channel *ch;
	struct rxe_revoke_event ev;
	size_t done = 0, rec;
	int err;

	if (!uobj)
		return -EIO;
	ch = container_of(uobj, struct rxe_revoke_channel, uobj);
	rec = ch->record_size;
	if (len < rec)
		return -EINVAL;

	if (mutex_lock_interruptible(&ch->read_mutex))
		return -ERESTARTSYS;
	spin_lock(&ch->lock);
	while (!rxe_revoke_channel_ready(ch)) {
		spin_unlock(&ch->lock);
		if (filp->f_flags & O_NONBLOCK) {
			err = -EAGAIN;
			goto out;
		}
		err = wait_event_interruptible(ch->wait,
					       rxe_revoke_channel_ready(ch));
		if (err)
			goto out;
		spin_lock(&ch->lock);
	}
	while (len - done >= rec && rxe_revoke_channel_peek(ch, &ev)) {
		spin_unlock(&ch->lock);
		/*
		 * Copy, then consume: a fault leaves the record queued. Only
		 * readers consume, and they are serialized, so the record
		 * peeked is still the head.
		 */
		if (copy_to_user(buf + done, &ev, min(rec, sizeof(ev))) ||
		    (rec > sizeof(ev) &&
		     clear_user(buf + done + sizeof(ev), rec - sizeof(ev)))) {
			err = -EFAULT;
			goto out;
		}
		done += rec;
		spin_lock(&ch->lock);
		rxe_revoke_channel_pop(ch, &ev);
	}
	spin_unlock(&ch->lock);
	err = 0;
out:
	mutex_unlock(&ch->read_mutex);
	return done ? done : err;	/* 0: closed and drained */
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

/*
 * No .llseek: lseek() fails with ESPIPE, through no_llseek() in 6.1 and
 * without FMODE_LSEEK from 6.12 on (which removed no_llseek).
 */
static const struct file_operations rxe_revoke_channel_fops = {
	.owner	 = THIS_MODULE,
	.read	 = rxe_revoke_channel_read,
	.poll	 = rxe_revoke_channel_poll,
	.release = uverbs_uobject_fd_release,
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
	u32 size;
	int err;

	if (uobj->context->device->ops.driver_id != RDMA_DRIVER_RXE)
		return -EINVAL;
	err = uverbs_get_const_default(&size, attrs,
				       RXE_REVOKE_ATTR_EVENT_CHANNEL_RECORD_SIZE,
				       sizeof(struct rxe_revoke_event));
	if (err)
		return err;
	if (size < RXE_REVOKE_EVENT_SIZE_MIN || size % 8 ||
	    size > RXE_REVOKE_EVENT_SIZE_MAX)
		return -EINVAL;
	ch->record_size = size;
	init_waitqueue_head(&ch->wait);
	mutex_init(&ch->read_mutex);
	spin_lock_init(&ch->lock);
	spin_lock(&rxe_revoke_channels_lock);
	list_add_tail(&ch->list, &rxe_revoke_channels);
	spin_unlock(&rxe_revoke_channels_lock);
	return 0;
}

DECLARE_UVERBS_NAMED_METHOD(RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC,
			    UVERBS_ATTR_FD(RXE_REVOKE_ATTR_EVENT_CHANNEL_FD,
					   RXE_REVOKE_OBJECT_EVENT_CHANNEL,
					   UVERBS_ACCESS_NEW, UA_MANDATORY),
			    UVERBS_ATTR_CONST_IN(RXE_REVOKE_ATTR_EVENT_CHANNEL_RECORD_SIZE,
						 u32, UA_OPTIONAL));

DECLARE_UVERBS_NAMED_OBJECT(RXE_REVOKE_OBJECT_EVENT_CHANNEL,
			    UVERBS_TYPE_ALLOC_FD(sizeof(struct rxe_revoke_channel),
						 rxe_revoke_channel_destroy,
						 &rxe_revoke_channel_fops,
						 "[rxe_revoke_events]",
						 O_RDONLY),
			    &UVERBS_METHOD(RXE_REVOKE_METHOD_EVENT_CHANNEL_ALLOC));

const struct uapi_definition rxe_revoke_event_uapi_defs[] = {
	UAPI_DEF_CHAIN_OBJ_TREE_NAMED(RXE_REVOKE_OBJECT_EVENT_CHANNEL),
	{},
};
