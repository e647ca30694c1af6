#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bandwidth of stock rxe and rxe-revoke side by side, in one VM boot:
#
#   tools/vm/run --stock -- bench/perftest-ratios.sh [RUNS] [SIZE] [ITERS]
#
# measures RXE_BENCH_TESTS (default ib_write_bw) with the stock module and
# with ours (pinned and ODP MRs), swapping modules each round; prints each
# round and the ratios of the medians. TCG makes absolute numbers meaningless:
# read the ratios.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tools/vm/lib.sh"
runs=${1:-3}
size=${2:-65536}
iters=${3:-1000}
tests=${RXE_BENCH_TESTS:-ib_write_bw}
declare -A m

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

grep -q rxe-revoke /sys/module/rdma_rxe/version 2>/dev/null &&
	{ echo "boot with tools/vm/run --stock: the stock module must come first"; exit 1; }

# Rounds interleave the configurations (stock, ours pinned, ours ODP), so
# that drift in the emulator's speed hits all of them alike.
for t in $tests; do
	echo "== $t, $size B x $iters, median of $runs rounds"
	declare -A res=()
	for r in $(seq "$runs"); do
		rxe_use_module stock || exit 1
		s=$(rxe_perftest_bw "$t" "$size" "$iters") || exit 1
		rxe_use_module ours || exit 1
		p=$(rxe_perftest_bw "$t" "$size" "$iters") || exit 1
		o=$(rxe_perftest_bw "$t" "$size" "$iters" --odp) || exit 1
		res[stock]+="$s " res[pinned]+="$p " res[odp]+="$o "
		echo "round $r: stock $s, ours pinned $p, ours odp $o"
	done
	for k in stock pinned odp; do
		m[$k]=$(echo "${res[$k]}" | tr ' ' '\n' | grep . | median)
		printf '%-8s median %s Gb/s, runs: %s\n' "$k" "${m[$k]}" "${res[$k]}"
	done
	echo "ratio ours.pinned / stock.pinned: $(ratio "${m[pinned]}" "${m[stock]}")"
	echo "ratio ours.odp / stock.pinned:    $(ratio "${m[odp]}" "${m[stock]}")"
	echo "ratio ours.odp / ours.pinned:     $(ratio "${m[odp]}" "${m[pinned]}")"
	unset res
done
