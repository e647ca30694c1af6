// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe-revoke: identity of this build of rdma_rxe.
 *
 * The out-of-tree build passes RXE_REVOKE_VERSION ("rxe-revoke-<git describe>")
 * so that modinfo and /sys/module/rdma_rxe/version tell which module a host
 * or a test VM runs; an in-tree build falls back to the kernel release.
 */

#include <linux/module.h>
#include <generated/utsrelease.h>

#ifndef RXE_REVOKE_VERSION
#define RXE_REVOKE_VERSION "rxe-revoke-in-tree-" UTS_RELEASE
#endif

MODULE_VERSION(RXE_REVOKE_VERSION);
