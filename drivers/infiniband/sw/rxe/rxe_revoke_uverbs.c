// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke: the driver's uverbs methods on UVERBS_OBJECT_MR (make
 * revocable, revoke, query; include/uapi/rdma/rxe_revoke-abi.h), and the
 * uapi definitions that hang them and the event channel object
 * (rxe_revoke_event.c) on the device (ib_device.driver_def).
 *
 * The methods that change the MR take its handle for writing: uverbs then
 * holds the MR exclusively, and a concurrent method or dereg on the same
 * handle fails with EBUSY instead of racing.
 */

#include <rdma/uverbs_ioctl.h>

#include "rxe.h"
#include "rxe_revoke.h"

#define UVERBS_MODULE_NAME rxe_revoke
#include <rdma/uverbs_named_ioctl.h>

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
	struct rxe_revoke_mr_state st;

	if (IS_ERR(mr))
		return PTR_ERR(mr);
	rxe_revoke_mr_state(mr, &st);
	return uverbs_copy_to_struct_or_zero(attrs, RXE_REVOKE_ATTR_MR_STATE,
					     &st, sizeof(st));
}

DECLARE_UVERBS_NAMED_METHOD(RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE,
			    UVERBS_ATTR_IDR(RXE_REVOKE_ATTR_MR_HANDLE, UVERBS_OBJECT_MR,
					    UVERBS_ACCESS_WRITE, UA_MANDATORY));

DECLARE_UVERBS_NAMED_METHOD(RXE_REVOKE_METHOD_MR_REVOKE,
			    UVERBS_ATTR_IDR(RXE_REVOKE_ATTR_MR_HANDLE, UVERBS_OBJECT_MR,
					    UVERBS_ACCESS_WRITE, UA_MANDATORY));

DECLARE_UVERBS_NAMED_METHOD(RXE_REVOKE_METHOD_MR_QUERY,
			    UVERBS_ATTR_IDR(RXE_REVOKE_ATTR_MR_HANDLE, UVERBS_OBJECT_MR,
					    UVERBS_ACCESS_READ, UA_MANDATORY),
			    UVERBS_ATTR_PTR_OUT(RXE_REVOKE_ATTR_MR_STATE,
						UVERBS_ATTR_STRUCT(struct rxe_revoke_mr_state,
								   rkey),
						UA_MANDATORY));

ADD_UVERBS_METHODS(rxe_revoke_mr_methods, UVERBS_OBJECT_MR,
		   &UVERBS_METHOD(RXE_REVOKE_METHOD_MR_MAKE_REVOCABLE),
		   &UVERBS_METHOD(RXE_REVOKE_METHOD_MR_REVOKE),
		   &UVERBS_METHOD(RXE_REVOKE_METHOD_MR_QUERY));

const struct uapi_definition rxe_revoke_uapi_defs[] = {
	UAPI_DEF_CHAIN_OBJ_TREE(UVERBS_OBJECT_MR, &rxe_revoke_mr_methods),
	UAPI_DEF_CHAIN(rxe_revoke_event_uapi_defs),
	{},
};
