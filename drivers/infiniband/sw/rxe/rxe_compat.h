/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe-revoke: what our files need of struct rxe_mr, for each kernel's stock
 * rxe. Include after "rxe.h".
 *
 * Our own files (ODP, revoke, admin) are shared by every kernel we build
 * for; the stock rxe they hook into is not. Where they register an MR's
 * pages themselves, they go through these helpers:
 *
 *  - Linux 6.1 keeps a user MR's pages in a two-level map of struct
 *    rxe_phys_buf (kernel address and size of each PAGE_SIZE buffer), with
 *    the byte offset of the start in mr->offset, the MR type in mr->type and
 *    mr->page_mask = page size - 1;
 *
 *  - Linux 6.12 (Debian's 6.12.N: the array that upstream 6.18 put in place
 *    of the xarray of 6.4) keeps one struct rxe_mr_page (page, offset in
 *    it) per PAGE_SIZE page in mr->page_info[], indexed from the page of
 *    mr->ibmr.iova; the type is mr->ibmr.type, mr->page_mask =
 *    ~(page size - 1), and the byte offset needs no field of its own (iova
 *    and start share it, which ib_uverbs checks).
 *
 * Which one the build has is told by the stock headers themselves: 6.1's
 * rxe_verbs.h defines RXE_BUF_PER_MAP, the size of a map, and later ones
 * do not (a test of the layout, not of a version number).
 *
 * Everything else our files use (ib_umem_odp, mmu interval notifiers, GUP,
 * uverbs) has the same API on both kernels.
 *
 * The helpers, the same for both layouts (none takes a lock: the caller
 * owns the MR, which no access reads meanwhile, being not yet visible or
 * revoked):
 *
 *   rxe_mr_get_type(mr)             the MR's enum ib_mr_type
 *   rxe_mr_set_user(mr, start, ps)  make an MR of ours (ODP, revocable),
 *                                   mr->access set, a valid user MR at
 *                                   start in pages of 1 << ps bytes
 *   rxe_mr_set_start(mr, start)     it starts at start now (rereg)
 *   rxe_mr_pages_fit(n)             can a list of n pages be had at all?
 *   rxe_mr_pages_replace(mr, n)     an empty list of n pages instead of
 *                                   the MR's (freed); 0 or -ENOMEM, the
 *                                   old list kept on failure
 *   rxe_mr_set_page(mr, i, page)    the i-th page of the list
 *   rxe_mr_get_page(mr, i)          the i-th page, NULL beyond the list
 *   rxe_mr_num_pages(mr)            how many pages the list holds
 *
 * and for a new MR that a re-registration builds (rxe_rereg.c):
 *
 *   rxe_mr_new(rxe)                 a new MR in the pool, not yet visible
 *                                   (6.1 allocates MRs in rxe_alloc(), 6.12
 *                                   in the driver), or NULL
 *   rxe_mr_free_new(mr)             undo rxe_mr_new() after a failure
 *   rxe_mr_init_user_at(rxe, start, length, iova, access, mr)
 *                                   stock rxe_mr_init_user() (6.1 takes the
 *                                   iova, 6.12 reads ibmr.iova, which the
 *                                   caller sets)
 */

#ifndef RXE_COMPAT_H
#define RXE_COMPAT_H

/* Debug messages of a device: rxe_dbg() in 6.1, rxe_dbg_dev() from 6.2 on. */
#ifndef rxe_dbg_dev
#define rxe_dbg_dev rxe_dbg
#endif

#ifndef RXE_BUF_PER_MAP	/* Linux 6.12: mr->page_info[] */

static inline enum ib_mr_type rxe_mr_get_type(struct rxe_mr *mr)
{
	return mr->ibmr.type;
}

/*
 * A user MR of ours (ODP, revocable) at start, mapped in pages of
 * 1 << page_shift bytes, with mr->access set, is valid from here.
 */
static inline void rxe_mr_set_user(struct rxe_mr *mr, u64 start,
				   unsigned int page_shift)
{
	mr->page_shift = page_shift;
	mr->page_mask = ~((u64)BIT_ULL(page_shift) - 1);
	mr->page_offset = 0;
	mr->ibmr.type = IB_MR_TYPE_USER;
	mr->state = RXE_MR_STATE_VALID;
}

/* The MR now starts at start (a re-registration). */
static inline void rxe_mr_set_start(struct rxe_mr *mr, u64 start)
{
}

/* Can the page list of npages pages be allocated at all? */
static inline bool rxe_mr_pages_fit(unsigned long npages)
{
	return npages <= KMALLOC_MAX_SIZE / sizeof(struct rxe_mr_page);
}

/*
 * Give the MR an empty list of npages pages, in place of the one it has,
 * which is freed; on failure the old one stays. Nothing may read the list
 * meanwhile (the MR is not yet visible, or it is revoked).
 */
static inline int rxe_mr_pages_replace(struct rxe_mr *mr,
				       unsigned long npages)
{
	struct rxe_mr_page *info;

	if (!rxe_mr_pages_fit(npages))
		return -ENOMEM;
	info = kcalloc(npages, sizeof(*info), GFP_KERNEL | __GFP_NOWARN);
	if (!info)
		return -ENOMEM;
	/* stock rxe_mr_cleanup() frees it with kfree() */
	kfree(mr->page_info);
	mr->page_info = info;
	mr->num_buf = npages;
	mr->max_allowed_buf = npages;
	mr->nbuf = npages;
	return 0;
}

static inline void rxe_mr_set_page(struct rxe_mr *mr, unsigned long i,
				   struct page *page)
{
	mr->page_info[i].page = page;
	mr->page_info[i].offset = 0;
}

/* The i-th page of the list, or NULL beyond it. */
static inline struct page *rxe_mr_get_page(struct rxe_mr *mr, unsigned long i)
{
	if (!mr->page_info || i >= mr->nbuf)
		return NULL;
	return mr->page_info[i].page;
}

static inline unsigned long rxe_mr_num_pages(struct rxe_mr *mr)
{
	return mr->page_info ? mr->nbuf : 0;
}

/* A new MR in the pool (not yet visible: rxe_finalize()), or NULL. */
static inline struct rxe_mr *rxe_mr_new(struct rxe_dev *rxe)
{
	struct rxe_mr *mr = kzalloc(sizeof(*mr), GFP_KERNEL);

	if (mr && rxe_add_to_pool(&rxe->mr_pool, mr)) {
		kfree(mr);
		mr = NULL;
	}
	return mr;
}

/*
 * Undo rxe_mr_new() once the MR holds a PD reference (rxe_mr_cleanup()
 * drops it), as stock rxe_reg_user_mr() fails.
 */
static inline void rxe_mr_free_new(struct rxe_mr *mr)
{
	rxe_cleanup(mr);
	kfree(mr);
}

/* 6.12's rxe_mr_init_user() indexes the pages from ibmr.iova: set it first. */
static inline int rxe_mr_init_user_at(struct rxe_dev *rxe, u64 start,
				      u64 length, u64 iova, int access,
				      struct rxe_mr *mr)
{
	return rxe_mr_init_user(rxe, start, length, access, mr);
}

#else /* Linux 6.1: mr->map */

static inline enum ib_mr_type rxe_mr_get_type(struct rxe_mr *mr)
{
	return mr->type;
}

static inline void rxe_mr_set_user(struct rxe_mr *mr, u64 start,
				   unsigned int page_shift)
{
	mr->page_shift = page_shift;
	mr->page_mask = BIT(page_shift) - 1;
	mr->offset = start & ~PAGE_MASK;
	mr->type = IB_MR_TYPE_USER;
	mr->state = RXE_MR_STATE_VALID;
}

static inline void rxe_mr_set_start(struct rxe_mr *mr, u64 start)
{
	mr->offset = start & ~PAGE_MASK;
}

static inline bool rxe_mr_pages_fit(unsigned long npages)
{
	return DIV_ROUND_UP(npages, RXE_BUF_PER_MAP) <=
	       KMALLOC_MAX_SIZE / sizeof(struct rxe_map *);
}

static inline int rxe_mr_pages_replace(struct rxe_mr *mr,
				       unsigned long npages)
{
	struct rxe_map **old_map = mr->map;
	int old_num_map = mr->num_map;
	int i, err;

	mr->map = NULL;
	err = rxe_mr_alloc(mr, npages);
	if (err) {
		mr->map = old_map;
		mr->num_map = old_num_map;
		return err;
	}
	for (i = 0; old_map && i < old_num_map; i++)
		kfree(old_map[i]);
	kfree(old_map);
	return 0;
}

static inline void rxe_mr_set_page(struct rxe_mr *mr, unsigned long i,
				   struct page *page)
{
	struct rxe_phys_buf *buf =
		&mr->map[i / RXE_BUF_PER_MAP]->buf[i % RXE_BUF_PER_MAP];

	buf->addr = (uintptr_t)page_address(page);
	buf->size = PAGE_SIZE;
}

static inline struct page *rxe_mr_get_page(struct rxe_mr *mr, unsigned long i)
{
	if (!mr->map || i >= mr->num_buf)
		return NULL;
	return virt_to_page((void *)(uintptr_t)
		mr->map[i / RXE_BUF_PER_MAP]->buf[i % RXE_BUF_PER_MAP].addr);
}

static inline unsigned long rxe_mr_num_pages(struct rxe_mr *mr)
{
	return mr->map ? mr->num_buf : 0;
}

static inline struct rxe_mr *rxe_mr_new(struct rxe_dev *rxe)
{
	return rxe_alloc(&rxe->mr_pool);
}

/* 6.1's rxe_cleanup() frees an MR of rxe_alloc() */
static inline void rxe_mr_free_new(struct rxe_mr *mr)
{
	rxe_cleanup(mr);
}

static inline int rxe_mr_init_user_at(struct rxe_dev *rxe, u64 start,
				      u64 length, u64 iova, int access,
				      struct rxe_mr *mr)
{
	return rxe_mr_init_user(rxe, start, length, iova, access, mr);
}

#endif

#endif /* RXE_COMPAT_H */
