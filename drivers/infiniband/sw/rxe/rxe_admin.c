// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke: the administrator's interface, /dev/rxe_revoke.
 *
 * Every user MR of every rxe device has a record here, from its
 * registration to its cleanup: the owner (tgid and comm of the registering
 * thread) and the file segments its range mapped, found by walking the
 * VMAs of the range when it was registered (or re-registered). An
 * administrator lists the records and revokes MRs, one by its keys or all
 * of those that map a file range, without killing their owners: the revoke
 * is the same as the kernel's (rxe_revoke.c: the MR's semaphore fences the
 * data path, the pages are released, the owner's event channels get a
 * record), with reason RXE_REVOKE_REASON_ADMIN.
 *
 * Why a misc device and not a uverbs method: the administrator has no
 * uverbs context of the owner (ioctls on an MR need its handle in the
 * owner's context), and the interface spans all rxe devices. Why not
 * netlink (rdma tool): RDMA_NLDEV resource dumps are driven by the core and
 * cannot carry our file segments or a revoke command.
 *
 * Locking: rxe_admin_lock (a mutex) protects the list and the records.
 * A record is removed by rxe_mr_cleanup() before the MR's revoke state and
 * memory go, and the pool has then drained every reference to the MR, so
 * an MR found on the list under the lock is alive with its rv. The lock is
 * taken without mmap_lock held (the VMA walk is done before) and is never
 * held across a revoke, which may wait for accesses in flight: a revoke
 * takes a reference to the MR under the lock (its record then stays too),
 * drops the lock and revokes. Nothing that holds rv->sem or an mmap_lock
 * takes it. Copies to the caller are done after dropping it.
 */

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "rxe.h"
#include "rxe_odp.h"
#include "rxe_revoke.h"
#include "rxe_admin.h"
#include "rxe_rereg.h"
#include <rdma/rxe_revoke_admin.h>

struct rxe_admin_rec {
	struct list_head	list;		/* in rxe_admin_list, by id */
	struct rxe_mr		*mr;
	struct pid		*pid;		/* owner's tgid */
	u64			id;
	u64			start;
	u64			length;
	char			comm[TASK_COMM_LEN];
	u32			flags;		/* enum rxe_admin_mr_flags */
	u32			nsegs;
	struct rxe_admin_seg	segs[RXE_ADMIN_MAX_SEGS];
};

static DEFINE_MUTEX(rxe_admin_lock);
static LIST_HEAD(rxe_admin_list);
static u32 rxe_admin_nr;
static u64 rxe_admin_next_id = 1;

/* Records copied to the caller per lock hold. */
#define RXE_ADMIN_CHUNK	8

static void rxe_admin_set_path(struct rxe_admin_seg *seg,
			       const struct path *path, char *buf)
{
	char *p = d_path(path, buf, PATH_MAX);
	size_t len;

	if (IS_ERR(p)) {
		strscpy(seg->path, "?", sizeof(seg->path));
		seg->flags |= RXE_ADMIN_SEG_F_PATH_NONE;
		return;
	}
	len = strlen(p);
	if (len < sizeof(seg->path)) {
		strscpy(seg->path, p, sizeof(seg->path));
		return;
	}
	/* keep the tail, which names the file */
	memcpy(seg->path, "...", 3);
	strscpy(seg->path + 3, p + len - (sizeof(seg->path) - 4),
		sizeof(seg->path) - 3);
	seg->flags |= RXE_ADMIN_SEG_F_PATH_TRUNC;
}

/*
 * The file segments of [start, start + length) in the current mm, merged
 * where consecutive VMAs map consecutive bytes of the same file.
 */
static void rxe_admin_walk(struct rxe_admin_rec *rec, u64 start, u64 length,
			   char *buf)
{
	struct mm_struct *mm = current->mm;
	unsigned long end = start + length;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;

	rec->nsegs = 0;
	rec->flags = 0;
	if (!mm || !length || end < start)
		return;
	vma_iter_init(&vmi, mm, start);
	mmap_read_lock(mm);
	for_each_vma_range(vmi, vma, end) {
		unsigned long s = max_t(unsigned long, start, vma->vm_start);
		unsigned long e = min_t(unsigned long, end, vma->vm_end);
		struct rxe_admin_seg *seg;
		struct inode *inode;
		u64 off;

		if (!vma->vm_file)
			continue;
		inode = file_inode(vma->vm_file);
		off = ((u64)vma->vm_pgoff << PAGE_SHIFT) + (s - vma->vm_start);
		if (rec->nsegs) {
			seg = &rec->segs[rec->nsegs - 1];
			if (seg->end == s && seg->ino == inode->i_ino &&
			    seg->dev_major == MAJOR(inode->i_sb->s_dev) &&
			    seg->dev_minor == MINOR(inode->i_sb->s_dev) &&
			    seg->offset + (seg->end - seg->start) == off) {
				seg->end = e;
				continue;
			}
		}
		if (rec->nsegs == RXE_ADMIN_MAX_SEGS) {
			rec->flags |= RXE_ADMIN_MR_F_SEGS_TRUNC;
			break;
		}
		seg = &rec->segs[rec->nsegs++];
		memset(seg, 0, sizeof(*seg));
		seg->start = s;
		seg->end = e;
		seg->offset = off;
		seg->ino = inode->i_ino;
		seg->dev_major = MAJOR(inode->i_sb->s_dev);
		seg->dev_minor = MINOR(inode->i_sb->s_dev);
		rxe_admin_set_path(seg, &vma->vm_file->f_path, buf);
	}
	mmap_read_unlock(mm);
}

/* List rec as mr's record, under a new id. Called with rxe_admin_lock. */
static void rxe_admin_link(struct rxe_admin_rec *rec, struct rxe_mr *mr)
{
	lockdep_assert_held(&rxe_admin_lock);
	rec->id = rxe_admin_next_id++;
	list_add_tail(&rec->list, &rxe_admin_list);
	rxe_admin_nr++;
	mr->admin = rec;
}

/**
 * rxe_admin_mr_add - list a new user MR for the administrator
 * @mr: the MR, which rxe_reg_user_mr() is about to return
 * @start: its user VA
 * @length: its length
 *
 * Records the current task as the owner and the file segments of the
 * range. May sleep (takes the mmap lock for reading).
 *
 * Return: 0 or -ENOMEM, which fails the registration.
 */
int rxe_admin_mr_add(struct rxe_mr *mr, u64 start, u64 length)
{
	struct rxe_admin_rec *rec;
	char *buf;

	/* charged to the registering task's memcg, like the MR */
	rec = kzalloc(sizeof(*rec), GFP_KERNEL_ACCOUNT);
	buf = __getname();
	if (!rec || !buf) {
		kfree(rec);
		if (buf)
			__putname(buf);
		return -ENOMEM;
	}
	rxe_admin_walk(rec, start, length, buf);
	__putname(buf);
	rec->mr = mr;
	rec->pid = get_pid(task_tgid(current));
	get_task_comm(rec->comm, current);
	rec->start = start;
	rec->length = length;

	mutex_lock(&rxe_admin_lock);
	rxe_admin_link(rec, mr);
	mutex_unlock(&rxe_admin_lock);
	return 0;
}

/**
 * rxe_admin_mr_update - the MR was re-registered
 * @mr: the MR
 * @start: its new user VA
 * @length: its new length
 *
 * The current task, which re-registered it, owns it from now on (uverbs
 * allows any task of the context). May sleep.
 */
void rxe_admin_mr_update(struct rxe_mr *mr, u64 start, u64 length)
{
	struct pid *pid = get_pid(task_tgid(current));
	struct rxe_admin_rec *tmp;
	char *buf;

	tmp = kzalloc(sizeof(*tmp), GFP_KERNEL);
	buf = __getname();
	if (tmp && buf)
		rxe_admin_walk(tmp, start, length, buf);
	if (buf)
		__putname(buf);

	mutex_lock(&rxe_admin_lock);
	if (mr->admin) {
		swap(mr->admin->pid, pid);
		get_task_comm(mr->admin->comm, current);
		mr->admin->start = start;
		mr->admin->length = length;
		if (tmp) {
			mr->admin->flags = tmp->flags;
			mr->admin->nsegs = tmp->nsegs;
			memcpy(mr->admin->segs, tmp->segs, sizeof(tmp->segs));
		} else {
			/* no memory: the old segments would be wrong */
			mr->admin->flags = RXE_ADMIN_MR_F_SEGS_TRUNC;
			mr->admin->nsegs = 0;
		}
	}
	mutex_unlock(&rxe_admin_lock);
	put_pid(pid);
	kfree(tmp);
}

/**
 * rxe_admin_mr_clone - list an MR that replaces another on the same range
 * @mr: the new MR, which a re-registration is about to return
 * @old: the MR it replaces, still listed
 *
 * The record keeps @old's range and file segments (the translation did not
 * change, and the range may be mapped differently by now) and names the
 * current task, which re-registered the MR, as its owner (as
 * rxe_admin_mr_update() does).
 *
 * Return: 0 or -ENOMEM, which fails the re-registration.
 */
int rxe_admin_mr_clone(struct rxe_mr *mr, struct rxe_mr *old)
{
	struct rxe_admin_rec *rec;

	rec = kzalloc(sizeof(*rec), GFP_KERNEL_ACCOUNT);
	if (!rec)
		return -ENOMEM;
	rec->mr = mr;
	rec->pid = get_pid(task_tgid(current));
	get_task_comm(rec->comm, current);

	mutex_lock(&rxe_admin_lock);
	if (old->admin) {
		rec->start = old->admin->start;
		rec->length = old->admin->length;
		rec->flags = old->admin->flags;
		rec->nsegs = old->admin->nsegs;
		memcpy(rec->segs, old->admin->segs, sizeof(rec->segs));
	}
	rxe_admin_link(rec, mr);
	mutex_unlock(&rxe_admin_lock);
	return 0;
}

/**
 * rxe_admin_mr_del - unlist an MR
 * @mr: the MR; rxe_mr_cleanup() calls this before its revoke state goes
 */
void rxe_admin_mr_del(struct rxe_mr *mr)
{
	struct rxe_admin_rec *rec;

	mutex_lock(&rxe_admin_lock);
	rec = mr->admin;
	if (rec) {
		list_del(&rec->list);
		rxe_admin_nr--;
		mr->admin = NULL;
	}
	mutex_unlock(&rxe_admin_lock);
	if (rec) {
		put_pid(rec->pid);
		kfree(rec);
	}
}

static struct ib_device *rxe_admin_ibdev(struct rxe_mr *mr)
{
	return &mr->elem.pool->rxe->ib_dev;
}

static u32 rxe_admin_kind(struct rxe_mr *mr)
{
	if (READ_ONCE(mr->rv))
		return RXE_REVOKE_MR_REVOCABLE;
	if (rxe_mr_is_odp(mr))
		return RXE_REVOKE_MR_ODP;
	return RXE_REVOKE_MR_PINNED;
}

/* Fill a record for the caller. Called with rxe_admin_lock held. */
static void rxe_admin_fill(struct rxe_admin_mr *out, struct rxe_admin_rec *rec)
{
	struct rxe_mr *mr = rec->mr;
	struct rxe_revoke_mr_state st = {};

	memset(out, 0, sizeof(*out));
	out->id = rec->id;
	out->start = rec->start;
	out->length = rec->length;
	strscpy(out->ibdev, dev_name(&rxe_admin_ibdev(mr)->dev),
		sizeof(out->ibdev));
	strscpy(out->comm, rec->comm, sizeof(out->comm));
	out->pid = pid_vnr(rec->pid);
	out->mr_handle = rxe_mr_handle(mr);
	out->kind = rxe_admin_kind(mr);
	rxe_revoke_mr_state(mr, &st);
	out->lkey = st.lkey;
	out->rkey = st.rkey;
	out->status = st.status;
	out->reason = st.reason;
	out->revoke_count = st.revoke_count;
	out->revoked_start = st.revoked_start;
	out->revoked_end = st.revoked_end;
	out->iova = READ_ONCE(mr->ibmr.iova);
	out->access = READ_ONCE(mr->access);
	out->flags = rec->flags;
	out->nsegs = rec->nsegs;
	memcpy(out->segs, rec->segs, sizeof(out->segs));
}

static long rxe_admin_ioc_list(struct rxe_admin_list __user *uarg)
{
	struct rxe_admin_list arg;
	struct rxe_admin_mr *kbuf;
	struct rxe_admin_rec *rec;
	u64 cursor = 0;
	u32 filled = 0;
	long err = 0;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.version != RXE_ADMIN_VERSION || arg.flags || arg.reserved ||
	    arg.rec_size != sizeof(struct rxe_admin_mr) ||
	    arg.count > RXE_ADMIN_LIST_MAX || (arg.count && !arg.recs))
		return -EINVAL;

	kbuf = kmalloc_array(RXE_ADMIN_CHUNK, sizeof(*kbuf), GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	while (filled < arg.count) {
		u32 n = 0;

		mutex_lock(&rxe_admin_lock);
		list_for_each_entry(rec, &rxe_admin_list, list) {
			if (rec->id <= cursor)
				continue;
			if (n == RXE_ADMIN_CHUNK || filled + n == arg.count)
				break;
			rxe_admin_fill(&kbuf[n++], rec);
			cursor = rec->id;
		}
		mutex_unlock(&rxe_admin_lock);
		if (!n)
			break;
		if (copy_to_user(u64_to_user_ptr(arg.recs) +
				 (size_t)filled * sizeof(*kbuf), kbuf,
				 n * sizeof(*kbuf))) {
			err = -EFAULT;
			goto out;
		}
		filled += n;
	}
	mutex_lock(&rxe_admin_lock);
	arg.total = max(rxe_admin_nr, filled);
	mutex_unlock(&rxe_admin_lock);
	arg.count = filled;
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		err = -EFAULT;
out:
	kfree(kbuf);
	return err;
}

/* rec is referenced through its MR; its owner may change (rereg): lock */
static void rxe_admin_log(struct rxe_admin_rec *rec, u64 start, u64 end)
{
	mutex_lock(&rxe_admin_lock);
	pr_notice_ratelimited("admin: %s (pid %d) revoked MR lkey 0x%x of %s, owner %s (pid %d), VA 0x%llx-0x%llx\n",
			      current->comm, task_tgid_vnr(current),
			      READ_ONCE(rec->mr->lkey),
			      dev_name(&rxe_admin_ibdev(rec->mr)->dev),
			      rec->comm, pid_vnr(rec->pid), start, end);
	mutex_unlock(&rxe_admin_lock);
}

/* Revoke the MR of rec on [start, end); counts what happened in arg. */
static int rxe_admin_revoke_one(struct rxe_admin_rec *rec, u64 start,
				u64 end, struct rxe_admin_revoke *arg)
{
	struct rxe_mr *mr = rec->mr;
	int err;

	if (rxe_admin_kind(mr) == RXE_REVOKE_MR_ODP) {
		arg->odp++;
		return -EOPNOTSUPP;
	}
	err = rxe_revoke_admin(mr, start, end);
	if (err == -EOPNOTSUPP) {
		arg->pinned++;
	} else if (err == -EALREADY) {
		arg->already++;
	} else if (!err) {
		arg->revoked++;
		rxe_admin_log(rec, start, end);
	}
	return err;
}

static int rxe_admin_revoke_mr(struct rxe_admin_revoke *arg)
{
	struct rxe_admin_rec *rec, *found = NULL;
	int err = -ENOENT;

	mutex_lock(&rxe_admin_lock);
	list_for_each_entry(rec, &rxe_admin_list, list) {
		struct rxe_mr *mr = rec->mr;

		if (READ_ONCE(mr->lkey) != arg->lkey ||
		    strcmp(dev_name(&rxe_admin_ibdev(mr)->dev), arg->ibdev))
			continue;
		/* no reference: it is being destroyed, which revokes it */
		if (rxe_get(mr))
			found = rec;
		break;
	}
	mutex_unlock(&rxe_admin_lock);
	if (!found)
		return -ENOENT;

	err = rxe_admin_revoke_one(found, found->start,
				   found->start + found->length, arg);
	rxe_put(found->mr);
	if (err == -EOPNOTSUPP)
		pr_notice_ratelimited("admin: MR lkey 0x%x of %s is %s: it cannot be revoked\n",
				      arg->lkey, arg->ibdev,
				      arg->odp ? "ODP and holds no pages" :
				      "pinned (not revocable)");
	return err;
}

/* An MR to revoke by file, referenced, with the VAs that map the range. */
struct rxe_admin_victim {
	struct rxe_admin_rec	*rec;
	u64			start;
	u64			end;
};

/*
 * The VAs of rec that map [fstart, fend) of the file of arg; start >= end
 * if none. Called with rxe_admin_lock held.
 */
static void rxe_admin_file_range(struct rxe_admin_rec *rec,
				 struct rxe_admin_revoke *arg, u64 fstart,
				 u64 fend, u64 *startp, u64 *endp)
{
	u64 start = U64_MAX, end = 0;
	u32 i;

	for (i = 0; i < rec->nsegs; i++) {
		struct rxe_admin_seg *seg = &rec->segs[i];
		u64 send = seg->offset + (seg->end - seg->start);
		u64 s, e;

		if (seg->ino != arg->ino ||
		    seg->dev_major != arg->dev_major ||
		    seg->dev_minor != arg->dev_minor ||
		    send <= fstart || seg->offset >= fend)
			continue;
		/* the VAs that map the overlap */
		s = seg->start + (max(fstart, seg->offset) - seg->offset);
		e = seg->start + (min(fend, send) - seg->offset);
		start = min(start, s);
		end = max(end, e);
	}
	*startp = start;
	*endp = end;
}

static int rxe_admin_revoke_file(struct rxe_admin_revoke *arg)
{
	u64 fstart = arg->offset;
	u64 fend = arg->length ? arg->offset + arg->length : U64_MAX;
	struct rxe_admin_victim *v;
	struct rxe_admin_rec *rec;
	unsigned int n = 0, i;
	u64 start, end;

	/* count, then take references under the lock, then revoke without */
	mutex_lock(&rxe_admin_lock);
	list_for_each_entry(rec, &rxe_admin_list, list) {
		rxe_admin_file_range(rec, arg, fstart, fend, &start, &end);
		if (start < end)
			n++;
	}
	mutex_unlock(&rxe_admin_lock);
	if (!n)
		return -ENOENT;
	v = kvcalloc(n, sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;

	i = 0;
	mutex_lock(&rxe_admin_lock);
	list_for_each_entry(rec, &rxe_admin_list, list) {
		if (i == n)
			break;	/* registered since we counted: too late */
		rxe_admin_file_range(rec, arg, fstart, fend, &start, &end);
		if (start >= end || !rxe_get(rec->mr))
			continue;
		v[i].rec = rec;
		v[i].start = start;
		v[i].end = end;
		i++;
	}
	mutex_unlock(&rxe_admin_lock);
	n = i;

	for (i = 0; i < n; i++) {
		rxe_admin_revoke_one(v[i].rec, v[i].start, v[i].end, arg);
		rxe_put(v[i].rec->mr);
	}
	kvfree(v);

	if (!arg->revoked && !arg->already && !arg->pinned && !arg->odp)
		return -ENOENT;
	if (!arg->revoked && !arg->already) {
		pr_notice_ratelimited("admin: the MRs on inode %llu of %u:%u are not revocable (%u pinned, %u ODP)\n",
				      arg->ino, arg->dev_major, arg->dev_minor,
				      arg->pinned, arg->odp);
		return -EOPNOTSUPP;
	}
	return 0;
}

static long rxe_admin_ioc_revoke(struct rxe_admin_revoke __user *uarg)
{
	struct rxe_admin_revoke arg;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.version != RXE_ADMIN_VERSION || arg.reserved ||
	    arg.revoked || arg.already || arg.pinned || arg.odp)
		return -EINVAL;
	switch (arg.flags) {
	case RXE_ADMIN_REVOKE_MR:
		if (!memchr(arg.ibdev, 0, sizeof(arg.ibdev)) || !arg.ibdev[0])
			return -EINVAL;
		err = rxe_admin_revoke_mr(&arg);
		break;
	case RXE_ADMIN_REVOKE_FILE:
		if (arg.length && arg.offset + arg.length < arg.offset)
			return -EINVAL;
		err = rxe_admin_revoke_file(&arg);
		break;
	default:
		return -EINVAL;
	}
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		return -EFAULT;
	return err;
}

static long rxe_admin_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case RXE_ADMIN_IOC_LIST:
		return rxe_admin_ioc_list(uarg);
	case RXE_ADMIN_IOC_REVOKE:
		return rxe_admin_ioc_revoke(uarg);
	}
	/* one of ours with the wrong argument size */
	if (_IOC_TYPE(cmd) == RXE_ADMIN_IOC_MAGIC &&
	    (_IOC_NR(cmd) == _IOC_NR(RXE_ADMIN_IOC_LIST) ||
	     _IOC_NR(cmd) == _IOC_NR(RXE_ADMIN_IOC_REVOKE)))
		return -EINVAL;
	return -ENOTTY;
}

static const struct file_operations rxe_admin_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= rxe_admin_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice rxe_admin_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= RXE_ADMIN_DEVNAME,
	.fops	= &rxe_admin_fops,
	.mode	= 0600,
};

/**
 * rxe_admin_init - register /dev/rxe_revoke (module load)
 *
 * Return: 0 or a negative errno.
 */
int rxe_admin_init(void)
{
	return misc_register(&rxe_admin_misc);
}

/**
 * rxe_admin_exit - remove /dev/rxe_revoke (module unload, first)
 */
void rxe_admin_exit(void)
{
	misc_deregister(&rxe_admin_misc);
}
