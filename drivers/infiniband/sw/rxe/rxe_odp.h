/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe-revoke: on-demand-paging memory regions for soft-RoCE.
 *
 * Include after "rxe.h".
 */

#ifndef RXE_ODP_H
#define RXE_ODP_H

#include <rdma/ib_umem_odp.h>

#include "rxe_compat.h"

/*
 * From the access flags fixed at registration, not from mr->umem: the umem
 * of a converted revocable MR goes at revoke, while copies may look.
 */
static inline bool rxe_mr_is_odp(struct rxe_mr *mr)
{
	return IS_ENABLED(CONFIG_INFINIBAND_ON_DEMAND_PAGING) &&
	       rxe_mr_get_type(mr) == IB_MR_TYPE_USER &&
	       (READ_ONCE(mr->access) & IB_ACCESS_ON_DEMAND);
}

#ifdef CONFIG_INFINIBAND_ON_DEMAND_PAGING

void rxe_odp_init_caps(struct rxe_dev *rxe);
int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access, struct rxe_mr *mr);
int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr, int length,
		    enum rxe_mr_copy_dir dir);
u64 *rxe_odp_atomic_begin(struct rxe_mr *mr, u64 iova);
void rxe_odp_atomic_end(struct rxe_mr *mr);
int rxe_odp_advise_mr(struct ib_pd *ibpd,
		      enum ib_uverbs_advise_mr_advice advice, u32 flags,
		      struct ib_sge *sg_list, u32 num_sge,
		      struct uverbs_attr_bundle *attrs);

#else

static inline void rxe_odp_init_caps(struct rxe_dev *rxe)
{
}

static inline int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start,
				       u64 length, u64 iova, int access,
				       struct rxe_mr *mr)
{
	return -EOPNOTSUPP;
}

static inline int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr,
				  int length, enum rxe_mr_copy_dir dir)
{
	return -EOPNOTSUPP;
}

static inline u64 *rxe_odp_atomic_begin(struct rxe_mr *mr, u64 iova)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void rxe_odp_atomic_end(struct rxe_mr *mr)
{
}

static inline int rxe_odp_advise_mr(struct ib_pd *ibpd,
				    enum ib_uverbs_advise_mr_advice advice,
				    u32 flags, struct ib_sge *sg_list,
				    u32 num_sge,
				    struct uverbs_attr_bundle *attrs)
{
	return -EOPNOTSUPP;
}

#endif /* CONFIG_INFINIBAND_ON_DEMAND_PAGING */

#endif /* RXE_ODP_H */
