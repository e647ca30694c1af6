#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rdma-core 44.0's own suite with the patched rdma-core of tools/rdma-core.sh
# (rdma-core-patches/: rxe rereg_mr and advise_mr, rxedv, its pyverbs and
# tests) against rxe0: rdma_core_test.sh --patched. Skips when the run has
# no patched rdma-core (tools/vm/run --rdma-core stock, or make did not
# build it).
exec "$(dirname "$0")/rdma_core_test.sh" --patched "$@"
