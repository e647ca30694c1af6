/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * librxerevoke: what rxedv.c needs of the rxe provider's "rxe.h". On a stock
 * rdma-core the provider is a plugin whose ops this library cannot see, so
 * every device passes here: the commands carry RDMA_DRIVER_RXE, and the
 * kernel fails them (EINVAL) on another driver's device.
 */
#ifndef RXER_COMPAT_RXE_H
#define RXER_COMPAT_RXE_H

#include <stdbool.h>
#include <infiniband/verbs.h>

static inline bool is_rxe_dev(struct ibv_device *device)
{
	(void)device;
	return true;
}

#endif /* RXER_COMPAT_RXE_H */
