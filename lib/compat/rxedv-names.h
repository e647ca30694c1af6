/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * librxerevoke compiles rxedv.c under names of its own (forced in with
 * -include), so that neither librxerevoke.so nor librxerevoke.a clashes
 * with librxe.so.1 of a patched rdma-core in one program.
 */
#ifndef RXER_COMPAT_RXEDV_NAMES_H
#define RXER_COMPAT_RXEDV_NAMES_H

#define rxedv_create_event_channel	rxer__create_event_channel
#define rxedv_destroy_event_channel	rxer__destroy_event_channel
#define rxedv_get_revoke_event		rxer__get_revoke_event
#define rxedv_is_supported		rxer__is_supported
#define rxedv_query_device		rxer__query_device
#define rxedv_query_mr			rxer__query_mr
#define rxedv_reg_mr			rxer__reg_mr
#define rxedv_revoke_mr			rxer__revoke_mr

#endif /* RXER_COMPAT_RXEDV_NAMES_H */
