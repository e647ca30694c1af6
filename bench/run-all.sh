#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: every benchmark in one VM boot (started with the stock module
# loaded: tools/vm/run --stock -- bench/run-all.sh). Prints the results and
# saves them to $RXE_VM_OUT/bench.txt. TCG: compare ratios, not times.
#
# RXE_BENCH_ROUNDS (default 3) sets the rounds of every benchmark.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build}
rounds=${RXE_BENCH_ROUNDS:-3}
out=${RXE_VM_OUT:-/tmp}/bench.txt
. "$top/tools/vm/lib.sh"

{
	echo "# rxe-revoke benchmarks, $(date -u +%F), $(uname -r), $(nproc) vCPU, $(cat /sys/module/rdma_rxe/version 2>/dev/null || echo stock)"
	echo
	echo "## perftest: stock rxe vs rxe-revoke (pinned, ODP), 64 KiB messages"
	RXE_BENCH_TESTS="ib_write_bw ib_read_bw ib_send_bw" \
		"$here/perftest-ratios.sh" "$rounds" 65536 500 || echo "perftest-ratios failed"
	rxe_use_module ours || exit 1
	echo
	echo "## ODP fault cost (32 MiB of 1 MiB WRITEs)"
	"$BUILD/bench/odp_fault" 32 "$rounds" || echo "odp_fault failed"
	echo
	echo "## ftruncate of a 64 MiB DAX file: no MR vs revocable MR under a WRITE flood"
	"$BUILD/bench/truncate_lat" "${RXE_XFS_DAX:-/mnt/xfs-dax}" 64 $((rounds * 3)) || echo "truncate_lat failed"
	"$BUILD/bench/truncate_lat" "${RXE_EXT4_DAX:-/mnt/ext4-dax}" 64 $((rounds * 3)) || echo "truncate_lat failed"
} 2>&1 | tee "$out"
