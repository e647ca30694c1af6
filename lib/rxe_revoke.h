/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * librxerevoke: userspace side of rxe-revoke on stock rdma-core.
 *
 * Each call maps one-to-one onto a libibverbs verb that rdma-core 44's rxe
 * provider lacks, and talks to the kernel over the public uverbs ioctl ABI
 * (ibv_context->cmd_fd), so it works with the installed libibverbs.
 *
 * For programs that must run on a stock rdma-core 44. With the patched
 * rdma-core (rdma-core-patches/), new programs should use ibv_rereg_mr(),
 * ibv_advise_mr() and the rxe direct verbs of <infiniband/rxedv.h>; the
 * revocable-MR calls here are built from the same source (rxedv.c).
 */
#ifndef RXE_REVOKE_H
#define RXE_REVOKE_H

#include <stdint.h>
#include <infiniband/verbs.h>
#include <rdma/rxe_revoke-abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * rxer_advise_mr - ibv_advise_mr() for rxe: prefetch ranges of ODP MRs.
 *
 * advice: IBV_ADVISE_MR_ADVICE_PREFETCH (fault in for reading),
 * IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE (for writing) or
 * IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT (map only pages already present).
 * flags: 0 (asynchronous, errors dropped) or IBV_ADVISE_MR_FLAG_FLUSH (wait
 * and report). Each SGE names an ODP MR of pd by lkey and a range in it.
 *
 * Returns 0 or an errno value (it does not set errno), as ibv_advise_mr():
 * EINVAL (not an ODP MR, bad arguments), ENOENT (no such lkey in pd),
 * EFAULT (range outside the MR, or a page could not be faulted in),
 * EOPNOTSUPP (unknown advice, or no kernel support), ENOMEM.
 */
int rxer_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
		   uint32_t flags, struct ibv_sge *sg_list, uint32_t num_sge);

/* rxer_reg_mr() flags */
enum {
	/* The MR holds its pages only until it is revoked (any memory). */
	RXER_REG_REVOCABLE = 1 << 0,
};

/*
 * rxer_reg_mr - ibv_reg_mr() with registration flags.
 *
 * Without flags it is ibv_reg_mr(). With RXER_REG_REVOCABLE the MR is made
 * revocable before it is returned: the kernel revokes it when the memory
 * behind its range goes away (truncate, punch hole, munmap, exit, ...),
 * and its owner may revoke it (rxer_revoke_mr()). A plain ibv_reg_mr() of
 * fsdax memory is always revocable. Returns NULL with errno set.
 */
struct ibv_mr *rxer_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			   int access, uint32_t flags);

/*
 * rxer_revoke_mr - revoke a revocable MR now (reason EXPLICIT): its pages
 * are released, its keys stay, every later access through it fails.
 * Returns 0 or an errno value: EINVAL (not revocable), EALREADY (already
 * revoked), ENOENT/EINVAL (not an MR of this context).
 */
int rxer_revoke_mr(struct ibv_mr *mr);

/* rxer_query_mr - the kind, status and revoke history of an MR. */
int rxer_query_mr(struct ibv_mr *mr, struct rxe_revoke_mr_state *state);

/*
 * rxer_rereg_mr - ibv_rereg_mr() for rxe, whose rdma-core 44 provider has
 * none: the standard IB_USER_VERBS_CMD_REREG_MR for an MR of any kind,
 * with any mix of IBV_REREG_MR_CHANGE_TRANSLATION ([addr, addr + length)),
 * IBV_REREG_MR_CHANGE_PD (pd, not NULL) and IBV_REREG_MR_CHANGE_ACCESS
 * (access, which keeps IBV_ACCESS_ON_DEMAND as it was); flags go to the
 * kernel unchecked. The handle stays; lkey and rkey always change (a
 * request still carrying the old keys fails) and are updated in *mr, with
 * addr, length and pd. A revocable MR is revoked if it is active and
 * registered again when its translation changes; a pinned or ODP MR is
 * replaced by a new one under the same handle.
 * Returns 0 or an errno value (unlike ibv_rereg_mr()'s codes): EINVAL (no
 * flags, IBV_ACCESS_ON_DEMAND switched, a zero length, bad access flags, a
 * NULL or foreign pd), EOPNOTSUPP (unknown flags), EACCES (write access to
 * pages registered read-only, without a new translation), EBUSY (a memory
 * window is bound), EFAULT (range not mapped), EAGAIN (the range changed
 * meanwhile: try again). On failure a pinned or ODP MR is as it was, and a
 * revocable MR whose translation was to change stays revoked.
 */
int rxer_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd,
		  void *addr, size_t length, int access);

/*
 * rxer_create_event_channel - a file descriptor that delivers one
 * struct rxe_revoke_event for every revoke of an MR of ctx (see
 * rxe_revoke-abi.h for the record and the overflow rules). Poll it for
 * POLLIN, read it with rxer_read_events() or read(2), close(2) it when
 * done. Returns the fd, or -1 with errno set.
 */
int rxer_create_event_channel(struct ibv_context *ctx);

/*
 * rxer_read_events - read up to max records; blocks unless the fd is
 * O_NONBLOCK. Returns the number read (0 once the device is gone), or -1
 * with errno set (EAGAIN when non-blocking and nothing is pending).
 */
int rxer_read_events(int fd, struct rxe_revoke_event *ev, int max);

#ifdef __cplusplus
}
#endif

#endif /* RXE_REVOKE_H */
