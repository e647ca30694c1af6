/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe-revoke: the administrator's interface (/dev/rxe_revoke). Include
 * after "rxe.h".
 */

#ifndef RXE_ADMIN_H
#define RXE_ADMIN_H

int rxe_admin_init(void);
void rxe_admin_exit(void);

int rxe_admin_mr_add(struct rxe_mr *mr, u64 start, u64 length);
void rxe_admin_mr_update(struct rxe_mr *mr, u64 start, u64 length);
int rxe_admin_mr_clone(struct rxe_mr *mr, struct rxe_mr *old);
void rxe_admin_mr_del(struct rxe_mr *mr);

#endif /* RXE_ADMIN_H */
