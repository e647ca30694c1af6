#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: every benchmark in one VM boot (started with the stock module
# loaded: tools/vm/run --stock -- bench/run-all.sh). Prints the results,
# saves them to $RXE_VM_OUT/bench.txt and the machine-readable lines that
# bench/report.py turns into tables and plots to $RXE_VM_OUT/bench.dat.
# TCG: compare ratios, not times.
#
# Knobs (defaults are what make bench commits to BENCHMARKS.md):
#   RXE_BENCH_ROUNDS      perftest / odp_fault rounds (5: the spread of 5 runs)
#   RXE_BENCH_SIZES       message sizes ("64 4096 65536 1048576")
#   RXE_BENCH_TESTS       perftest tests ("ib_write_bw ib_read_bw ib_send_bw",
#                         and ib_write_lat when RXE_BENCH_ACCEL is not icount)
#   RXE_BENCH_ACCEL       set by make bench: the guest's clock (icount or tcg)
#   RXE_BENCH_TRUNC_SIZES file sizes of the truncate benchmark, MiB ("64 768")
#   RXE_BENCH_TRUNC_N     samples at the smallest size (6; a quarter per step up)
#   RXE_BENCH_SCALE_SIZES MR sizes of the punch benchmark, MiB ("4 16 64 256 768")
#   RXE_BENCH_FS          DAX filesystems of truncate and scale ("xfs"; "xfs ext4"
#                         adds ext4-DAX, about 8 minutes more)
#   RXE_BENCH_QPS         QP counts of ib_write_bw over many QPs ("1 8 64")
#   RXE_BENCH_PARTS       which parts run ("env memcpy perftest faults truncate scale")
# The guest does not inherit the host's environment: make bench hands the
# RXE_BENCH_* variables over with --knobs FILE (shell assignments), and
# BUILD, the build directory of its KERNEL (build/k6.12 for
# make bench KERNEL=6.12), on the command line.
set -u
[ "${1:-}" = --knobs ] && { [ -r "$2" ] && . "$2"; shift 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build}
rounds=${RXE_BENCH_ROUNDS:-5}
sizes=${RXE_BENCH_SIZES:-64 4096 65536 1048576}
tsizes=${RXE_BENCH_TRUNC_SIZES:-64 768}
tn=${RXE_BENCH_TRUNC_N:-6}
ssizes=${RXE_BENCH_SCALE_SIZES:-4 16 64 256 768}
parts=${RXE_BENCH_PARTS:-env memcpy perftest faults truncate scale}
outdir=${RXE_VM_OUT:-/tmp}
out=$outdir/bench.txt
dat=$outdir/bench.dat
fss=
for f in ${RXE_BENCH_FS:-xfs}; do
	case $f in
	xfs) fss+=" ${RXE_XFS_DAX:-/mnt/xfs-dax}" ;;
	ext4) fss+=" ${RXE_EXT4_DAX:-/mnt/ext4-dax}" ;;
	esac
done
. "$top/tools/vm/lib.sh"
export RXE_BENCH_ROUNDS=$rounds RXE_BENCH_SIZES="$sizes" RXE_BENCH_TESTS RXE_BENCH_ACCEL \
	RXE_BENCH_CONFIGS RXE_BENCH_BYTES RXE_BENCH_LAT_ITERS RXE_BENCH_ODPF_MIB RXE_BENCH_QPS
: > "$dat"

# libibverbs dlopens every provider listed in /etc/libibverbs.d at start;
# under TCG that is ~0.3 s per perftest process. Only rxe is needed here
# (the guest's /etc is a tmpfs overlay: this changes nothing on the host).
if [ -r /etc/libibverbs.d/rxe.driver ] && [ "$(ls /etc/libibverbs.d | wc -l)" -gt 1 ]; then
	mkdir -p /tmp/libibverbs.d && cp /etc/libibverbs.d/rxe.driver /tmp/libibverbs.d/ &&
		mount --bind /tmp/libibverbs.d /etc/libibverbs.d
fi

part() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0)) s] $*"; }

{
	echo "# rxe-revoke benchmarks, $(date -u +%F), $(uname -r), $(nproc) vCPU"
	echo "# ours: $(modinfo -F version "${RXE_VM_KO:-$BUILD/rxe/rdma_rxe.ko}" 2>/dev/null)"
	if part env; then
		echo
		echo "## Guest"
		echo "kernel: $(uname -r) $(cat /proc/version | awk '{ print $3 }'), cmdline: $(cat /proc/cmdline)"
		echo "cpu: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) vCPU"
		echo "memory: $(awk '/MemTotal/ { print $2 / 1024 " MiB" }' /proc/meminfo)"
		echo "qemu: $(qemu-system-x86_64 --version 2>/dev/null | head -1)"
		echo "perftest: $(dpkg-query -W -f '${Version}' perftest 2>/dev/null)," \
			"rdma-core: $(dpkg-query -W -f '${Version}' rdma-core 2>/dev/null)"
		echo "lease-break-time: $(cat /proc/sys/fs/lease-break-time) s"
		echo "env lease-break-time $(cat /proc/sys/fs/lease-break-time)" >> "$dat"
	fi
	if part memcpy; then
		echo
		stamp "## memcpy ceiling (single thread, Gb/s)"
		"$BUILD/bench/memcpy_bw" $sizes | tee -a "$dat"
	fi
	if part perftest; then
		echo
		stamp "## perftest and odp_fault over message sizes, stock vs ours, $rounds rounds"
		"$here/perftest-matrix.sh" "$dat" || echo "perftest-matrix failed"
	fi
	rxe_use_module ours || exit 1
	if part faults; then
		echo
		stamp "## ODP fault throughput: first-touch WRITEs of 8 MiB in 1 MiB messages"
		"$BUILD/bench/odp_fault" 8 "$rounds" | tee /tmp/odp_fault.txt
		awk '$3 == "MiB/s" { print "faults", $1, $2, $4 }' /tmp/odp_fault.txt >> "$dat"
	fi
	if part truncate; then
		echo
		stamp "## ftruncate / punch of a DAX file under a WRITE flood, 0/1/16 MRs"
		for fs in $fss; do
			for op in truncate punch; do
				n=$tn
				for s in $tsizes; do
					for c in "-n 0" "-n 1" "-n 16" "-n 1 -k odp" "-n 16 -k odp"; do
						# shellcheck disable=SC2086
						"$BUILD/bench/truncate_lat" -o $op $c "$fs" "$s" "$n" |
							tee -a "$dat" | grep -v '^trunc '
					done
					n=$(((n + 3) / 4))
				done
			done
		done
	fi
	if part scale; then
		echo
		stamp "## punch 4 KiB out of a DAX file under one MR of the whole file"
		for fs in $fss; do
			name=$(basename "$fs")
			"$BUILD/bench/revoke_scale" -r 5 "$fs" $ssizes |
				awk -v fs="${name%%-*}" '{ $1 = $1 " " fs; print }' | tee -a "$dat"
		done
	fi
	stamp "done"
} 2>&1 | tee "$out"
