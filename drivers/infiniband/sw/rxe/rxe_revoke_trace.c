// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke: the tracepoints of rxe_revoke_trace.h are created here.
 */

#include "rxe.h"
#include "rxe_odp.h"
#include "rxe_revoke.h"

#define CREATE_TRACE_POINTS
#include "rxe_revoke_trace.h"

/**
 * rxe_revoke_trace_register - trace a user MR that rxe_reg_user_mr()
 * registered
 * @mr: the MR
 * @start: user VA
 * @length: bytes
 * @iova: its iova
 * @access: IB access flags
 */
void rxe_revoke_trace_register(struct rxe_mr *mr, u64 start, u64 length,
			       u64 iova, int access)
{
	u32 kind = RXE_REVOKE_MR_PINNED;

	if (!trace_rxe_mr_register_enabled())
		return;
	if (READ_ONCE(mr->rv))
		kind = RXE_REVOKE_MR_REVOCABLE;
	else if (rxe_mr_is_odp(mr))
		kind = RXE_REVOKE_MR_ODP;
	trace_rxe_mr_register(mr->lkey, mr->rkey, kind, start, length, iova,
			      access);
}
