#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# perftest over message sizes: stock rxe and rxe-revoke side by side in one
# VM boot (started with the stock module):
#
#   tools/vm/run --stock -- bench/perftest-matrix.sh DATAFILE
#
# Each round runs every TEST x SIZE with the stock module (pinned DRAM, the
# baseline), then swaps in ours and runs the configurations
#   pinned   ours, pinned anonymous memory
#   odp      ours, perftest --odp (warm: perftest reports the whole run,
#            in which only the first pass over the buffer faults)
#   dax      ours, perftest --mmap=FILE on XFS-DAX: a plain registration
#            of fsdax memory, i.e. a revocable MR
#   daxodp   ours, --odp --mmap=FILE on XFS-DAX
#   mtu4k    ours, pinned, RoCE MTU 4096; its baseline is stock at MTU 4096
#            (stock-mtu4k, run in the stock phase when mtu4k is asked for).
#            Bandwidth tests of 4 KiB and more only.
#   veth     ours, pinned, over a wire: the server on one rxe device and the
#            client on another, at the two ends of a veth pair (the setup of
#            selftests/wire_test.sh), so every packet goes through
#            ip_local_out(), the veth, IP input and the UDP tunnel, with its
#            ICRC; its baseline is stock over the same wire (stock-veth).
#            Bandwidth tests only.
# Every other point runs at RoCE MTU 1024 (perftest -m 1024), what a
# 1500-byte Ethernet MTU gives; the netdev's MTU is set to 9000 so that
# 4096 is possible, as on a jumbo-frame network.
# and, with odp_fault (our verbs program, one WRITE in flight), the stock
# pinned baseline and ours pinned / ODP cold / warm / prefetched.
# Rounds interleave the modules so that a drift of the emulator's speed
# hits all configurations alike. Appends one line per measurement:
#   perftest TEST SIZE CONFIG ROUND VALUE    (MB/s; usec for *_lat)
#   odpf MSG KIND ROUND MiB/s
#   qps TEST SIZE NQP CONFIG ROUND VALUE   (RXE_BENCH_QPS: ib_write_bw of
#                         64 KiB on 1 .. 64 QPs at once, stock and ours pinned)
#
# Environment: RXE_BENCH_ROUNDS (5), RXE_BENCH_SIZES ("64 4096 65536
# 1048576"), RXE_BENCH_TESTS ("ib_write_bw ib_read_bw ib_send_bw"; with
# RXE_BENCH_ACCEL other than icount, ib_write_lat too: under icount a
# latency reads the scheduler tick), RXE_BENCH_CONFIGS ("pinned odp dax daxodp
# mtu4k veth"),
# RXE_BENCH_QPS (QP counts of the qps lines, "1 8 64"; empty: none),
# RXE_BENCH_BYTES (bytes per point, 2 MiB, at least 5 iterations,
# perftest's minimum; latency points at most RXE_BENCH_LAT_ITERS
# iterations), RXE_BENCH_LAT_ITERS (50), RXE_BENCH_ODPF_MIB (odp_fault MiB
# per pass, 8).
#
# Under TCG a point costs about 3 s besides its transfer: two perftest
# processes start, each sleeps 1 s after connecting and samples the CPU
# clock. The script itself forks as little as it can per point.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build}
. "$top/tools/vm/lib.sh"
data=${1:?usage: perftest-matrix.sh DATAFILE}
rounds=${RXE_BENCH_ROUNDS:-5}
sizes=${RXE_BENCH_SIZES:-64 4096 65536 1048576}
tests="ib_write_bw ib_read_bw ib_send_bw"
[ "${RXE_BENCH_ACCEL:-icount}" = icount ] || tests+=" ib_write_lat"
tests=${RXE_BENCH_TESTS:-$tests}
configs=${RXE_BENCH_CONFIGS:-pinned odp dax daxodp mtu4k veth}
bytes=${RXE_BENCH_BYTES:-2097152}
lat_iters=${RXE_BENCH_LAT_ITERS:-50}
qps=${RXE_BENCH_QPS-1 8 64}
odpf_mib=${RXE_BENCH_ODPF_MIB:-8}
dax=${RXE_XFS_DAX:-/mnt/xfs-dax}/perftest.buf
port=18515

grep -q rxe-revoke /sys/module/rdma_rxe/version 2>/dev/null &&
	{ echo "boot with tools/vm/run --stock: the stock module must come first"; exit 1; }

gidx=

# Iterations of a point of SIZE: about $bytes, 5 (perftest's least) ..
# 1000; at most $lat_iters for a latency test. Sets $iters (no subshell).
iters_of() {	# iters_of TEST SIZE
	iters=$((bytes / $2))
	((iters > 1000)) && iters=1000
	case $1 in *_lat) ((iters > lat_iters)) && iters=$lat_iters ;; esac
	((iters < 5)) && iters=5
}

# perftest TEST SIZE ITERS [ARGS...]: server and client on $RXE_DEV; prints
# the average bandwidth (MB/s, 10^6 bytes: message rate x size, about four
# significant digits; perftest's --report_gbits gives two at TCG speeds)
# or the typical latency (usec). The client starts as soon as the server
# listens (no fixed sleep). "@SIDE@" in ARGS
# becomes "srv" for the server and "cli" for the client, so that each side
# maps a file of its own (two MRs over the same DAX pages would measure
# something else).
perftest() {
	local t=$1 size=$2 iters=$3 srv out common line f
	local sdev=${RXE_DEV:-rxe0} cdev=${RXE_DEV:-rxe0} sg cg
	shift 3
	[ -n "$gidx" ] || gidx=$(rxe_roce_v2_gid_index "${RXE_DEV:-rxe0}") || return 1
	sg=$gidx cg=$gidx
	[ -n "${wire:-}" ] && sdev=$vdev0 cdev=$vdev1 sg=$vgidx0 cg=$vgidx1
	port=$((port + 1))
	# -u 18: a QP timeout of 1 s instead of perftest's 67 ms. The
	# emulated responder takes longer than 67 ms to work through a few
	# queued 1 MiB SENDs, and the requester then retransmits
	# (completer_retry_err +1, 20-33 duplicate packets in one point):
	# a cost of the emulator's speed, in stock and ours alike, that
	# falls on whichever point's timing it hits.
	common=(-s "$size" -n "$iters" -F -u 18 -p "$port")
	"$t" -d "$sdev" -x "$sg" "${common[@]}" "${@//@SIDE@/srv}" > /tmp/perftest-server.log 2>&1 &
	srv=$!
	rxe_wait_listen "$port" 400 "$srv" ||
		{ cat /tmp/perftest-server.log >&2; return 1; }
	out=$(rxe_retry 5 "$t" -d "$cdev" -x "$cg" "${common[@]}" "${@//@SIDE@/cli}" 127.0.0.1 2>&1) || {
		echo "$out" >&2
		kill "$srv" 2>/dev/null
		return 1
	}
	wait "$srv" || { cat /tmp/perftest-server.log >&2; return 1; }
	# the result line starts with the size: BW average (MB/s, two
	# decimals) is field 4 and the message rate (Mpps, six decimals) field
	# 5 of a bandwidth test, the typical latency field 5 of a latency test.
	# Bandwidth is whichever of BW average and rate x size has more
	# significant digits: below 1 MB/s BW average has too few for 2 %, and
	# at 1 MiB the rate (0.000013) has two.
	while read -r -a f; do
		[ "${f[0]:-}" = "$size" ] || continue
		case $t in
		*_lat) line=${f[4]:-} ;;
		*) line=$(awk -v bw="${f[3]:-}" -v r="${f[4]:-}" -v s="$size" '
			function sig(x) { gsub(/\./, "", x); sub(/^0+/, "", x); return length(x) }
			BEGIN { if (sig(r) > sig(bw)) printf "%.6g", r * s; else print bw }') ;;
		esac
	done <<< "$out"
	[ -n "${line:-}" ] && echo "$line"
}

point() {	# point ROUND CONFIG TEST SIZE ARGS...
	local r=$1 c=$2 t=$3 s=$4 iters v mtu=1024 wire=
	shift 4
	case $c in *mtu4k) mtu=4096 ;; *veth) wire=1 ;; esac
	iters_of "$t" "$s"
	# A random phase (0-90 ms) against the guest's timers: under icount
	# a point is a function of the state it starts in, and rounds that
	# start alike repeat one sample, where a retransmit or a tick that
	# falls differently moves a cell by up to 7 % (ib_send_bw).
	sleep "0.0$((RANDOM % 10))"
	v=$(perftest "$t" "$s" "$iters" -m "$mtu" "$@") || { echo "# $t $s $c: failed" >&2; return; }
	echo "perftest $t $s $c $r $v" >> "$data"
	printf '  %-12s %8s B x %4s  %-7s %s\n' "$t" "$s" "$iters" "$c" "$v"
}

# ib_write_bw of 64 KiB over NQP QPs at once (perftest -q: each QP moves
# the point's iterations, so a point moves NQP times the bytes).
qpoint() {	# qpoint ROUND CONFIG NQP
	local iters v
	iters_of ib_write_bw 65536
	sleep "0.0$((RANDOM % 10))"
	v=$(perftest ib_write_bw 65536 "$iters" -m 1024 -q "$3") ||
		{ echo "# ib_write_bw 65536 -q $3 $2: failed" >&2; return; }
	echo "qps ib_write_bw 65536 $3 $2 $1 $v" >> "$data"
	printf '  %-12s %8s B x %4s  %-7s %s QPs: %s\n' ib_write_bw 65536 \
		"$iters" "$2" "$3" "$v"
}

odpf() {	# odpf ROUND KINDS [PREFIX]
	local m total

	for m in $sizes; do
		# One WRITE in flight: below 4 KiB the per-message round trip
		# is all there is to see, and too slow under TCG.
		[ "$m" -lt 4096 ] && continue
		total=$odpf_mib
		[ "$m" -le 4096 ] && total=1
		"$BUILD/bench/odp_fault" -m "$m" -k "$2" "$total" 1 2>&1 |
			awk -v r="$1" -v m="$m" -v d="$data" -v p="${3:-}" \
			'$3 == "MiB/s" { print "odpf", m, p $1, r, $2 >> d; print "  odp_fault", m, p $0 }'
	done
}

# mtu4k: a bandwidth test of at least 4 KiB, if asked for
want_mtu4k() {	# want_mtu4k TEST SIZE
	case " $configs " in *" mtu4k "*) ;; *) return 1 ;; esac
	case $1 in *_bw) ;; *) return 1 ;; esac
	[ "$2" -ge 4096 ]
}

# veth: a wire in this guest, as selftests/wire_test.sh builds it. The
# policy rules send traffic between the two addresses through the veth
# instead of lo; nothing else is routed differently.
want_veth() {	# want_veth TEST
	case " $configs " in *" veth "*) ;; *) return 1 ;; esac
	case $1 in *_bw) return 0 ;; esac
	return 1
}
vnet0=rxbw0 vnet1=rxbw1 vip0=198.18.5.1 vip1=198.18.5.2 vdev0=rxebw0 vdev1=rxebw1
vgidx0= vgidx1=
veth_on() {	# an rxe device on each end, of the module loaded now
	rxe_wire_devices $vdev0 $vnet0 $vdev1 $vnet1 &&
		vgidx0=$(rxe_roce_v2_gid_index $vdev0) &&
		vgidx1=$(rxe_roce_v2_gid_index $vdev1)
}
veth_off() {
	rdma link del $vdev0 2>/dev/null
	rdma link del $vdev1 2>/dev/null
}
veth_points() {	# veth_points ROUND CONFIG
	local t s
	veth_on || { echo "# veth: no rxe devices on the wire" >&2; veth_off; return; }
	for t in $tests; do
		want_veth "$t" || continue
		for s in $sizes; do
			point "$1" "$2" "$t" "$s"
		done
	done
	veth_off
}

ip link set "${RXE_NETDEV:-rxenet0}" mtu 9000 || exit 1
if want_veth ib_write_bw; then
	rxe_veth_wire $vnet0 $vip0 $vnet1 $vip1 || { echo "veth setup failed"; exit 1; }
fi
for f in "$dax.srv" "$dax.cli"; do
	truncate -s $((bytes > 8388608 ? bytes * 2 : 16777216)) "$f" || exit 1
done
for r in $(seq "$rounds"); do
	echo "== round $r of $rounds: stock"
	rxe_use_module stock || exit 1
	gidx=
	for t in $tests; do
		for s in $sizes; do
			point "$r" stock "$t" "$s"
			want_mtu4k "$t" "$s" && point "$r" stock-mtu4k "$t" "$s"
		done
	done
	want_veth ib_write_bw && veth_points "$r" stock-veth
	odpf "$r" pinned stock-
	for q in $qps; do qpoint "$r" stock "$q"; done
	echo "== round $r of $rounds: ours"
	rxe_use_module ours || exit 1
	gidx=
	for t in $tests; do
		for s in $sizes; do
			for c in $configs; do
				case $c in
				pinned) point "$r" "$c" "$t" "$s" ;;
				odp) point "$r" "$c" "$t" "$s" --odp ;;
				dax) point "$r" "$c" "$t" "$s" --mmap="$dax.@SIDE@" ;;
				daxodp) point "$r" "$c" "$t" "$s" --odp --mmap="$dax.@SIDE@" ;;
				mtu4k) want_mtu4k "$t" "$s" && point "$r" "$c" "$t" "$s" ;;
				esac
			done
		done
	done
	want_veth ib_write_bw && veth_points "$r" veth
	odpf "$r" pinned,cold,warm,pref
	for q in $qps; do qpoint "$r" pinned "$q"; done
done
rm -f "$dax.srv" "$dax.cli"
