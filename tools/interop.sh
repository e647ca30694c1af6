#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-interop: our rdma_rxe against Debian's stock one, in two VMs
# connected by a QEMU socket netdev (tools/vm/pair): RoCE packets cross UDP,
# a virtio NIC and ICRC checking. The last line is "N passed, N failed"; the
# exit code is non-zero if anything failed, including a kernel splat in
# either guest's dmesg or a guest that did not finish. Both guests boot the
# Debian kernel of RXE_KERNEL (6.1, the default, or 6.12; make
# check-interop KERNEL=6.12), ours being the module built for it.
#
#   tools/interop.sh [--ko KO] [--runs N] [--results DIR] [SCENARIO...]
#
# Scenarios (one pair boot each; default: all, in this order):
#   perftest       server guest ours, client guest stock: ib_write_bw,
#                  ib_read_bw, ib_send_bw and ib_atomic_bw, the stock guest
#                  as the client (requester) first, then ours
#   perftest-swap  the same with the stock guest as the server (listener)
#   revoke         selftests/interop.c: ours the responder with a revocable
#                  XFS-DAX MR, stock the requester flooding it with 64 KiB
#                  READs, WRITEs and ATOMICs, retry_cnt 7 and a small one
#                  ($INTEROP_SMALL_RETRY, default 1), N runs each (--runs,
#                  $INTEROP_RUNS, default 6); ours revokes the MR during the
#                  flood (owner revoke, hole punch, truncate in turn), 0.1
#                  to 1.5 s into it (random from $INTEROP_SEED, default 1,
#                  plus one per operation and retry_cnt)
#
# --ko KO runs our side on another build of the module (e.g. an older
# commit's, to show that the revoke scenario catches a READ cut short).
# Results: DIR (default $BUILD/vm/interop)/SCENARIO/{server,client}.
#
# Inside a guest (tools/vm/pair runs these): tools/interop.sh --guest
# perftest | revoke-server CONNECTIONS | revoke-client RUNS SEED RETRY...
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# the build directory of kernel RXE_KERNEL (6.1 or 6.12), as the Makefile
# has it; the guests get it on their command line
. "$top/tools/build-dir.sh"
export BUILD
interop=$BUILD/selftests/interop

# ------------------------------------------------------------- in the guest

# perftest between the two guests, both directions: each side serves, then
# is the client (or the other way round). TAP on stdout.
guest_perftest() {
	local me peer=${INTEROP_PEER_MODULE:-peer} gidx n=0 failed=0 phase t out rc name
	local -a tests=(ib_write_bw ib_read_bw ib_send_bw ib_atomic_bw)
	. "$top/tools/vm/lib.sh"
	me=$(grep -s rxe-revoke /sys/module/rdma_rxe/version || echo stock)
	gidx=$(rxe_roce_v2_gid_index "$RXE_DEV") || { echo "Bail out! no RoCEv2 IPv4 GID"; return 1; }
	echo "TAP version 13"
	echo "1..$(( 2 * ${#tests[@]} ))"
	echo "# $RXE_PAIR_ROLE: $me on $RXE_NETDEV $RXE_IP (GID index $gidx), peer $peer at $RXE_PEER_IP"
	for phase in 1 2; do
		for t in "${tests[@]}"; do
			local -a args=(-d "$RXE_DEV" -x "$gidx" -F --report_gbits)
			if [ "$t" = ib_atomic_bw ]; then args+=(-n 100); else args+=(-s 65536 -n 20); fi
			n=$((n + 1))
			if { [ "$RXE_PAIR_ROLE" = server ] && [ $phase = 1 ]; } ||
			   { [ "$RXE_PAIR_ROLE" = client ] && [ $phase = 2 ]; }; then
				out=$(timeout 600 "$t" "${args[@]}" 2>&1)
				rc=$?
				name="$t server=$me(responder) client=$peer(requester)"
			else
				# the other side's server may not listen yet: retry
				# while the client cannot connect (10 min at most)
				local deadline=$((SECONDS + 600))
				while :; do
					out=$(timeout 300 "$t" "${args[@]}" "$RXE_PEER_IP" 2>&1)
					rc=$?
					if [ $rc = 0 ] || [ $SECONDS -ge $deadline ] ||
					   ! grep -q "Couldn't connect" <<< "$out"; then
						break
					fi
					sleep 1
				done
				name="$t client=$me(requester) server=$peer(responder)"
			fi
			echo "$out" | grep -E '^ *(#bytes|[0-9]+ +[0-9]+ )|rror|ailed|Couldn' | sed 's/^/# /'
			if [ $rc = 0 ]; then echo "ok $n - $name"; else echo "not ok $n - $name (exit $rc)"; failed=1; fi
		done
	done
	return $failed
}

guest() {
	local what=$1 r op
	shift
	mkdir -p "$RXE_VM_OUT"
	case "$what" in
	perftest)
		guest_perftest | tee "$RXE_VM_OUT/perftest.tap"
		return "${PIPESTATUS[0]}" ;;
	revoke-server)
		cat /sys/module/rdma_rxe/version 2>/dev/null
		"$interop" server -c "$1" 2>&1 | tee "$RXE_VM_OUT/interop-server.log"
		r=${PIPESTATUS[0]}
		{
			echo "1..1"
			if [ "$r" = 0 ]; then echo "ok 1 - interop server checks"; else echo "not ok 1 - interop server checks (exit $r)"; fi
		} > "$RXE_VM_OUT/interop-server.tap"
		return "$r" ;;
	revoke-client)
		local runs=$1 seed=$2 rc=0
		shift 2
		for op in read write atomic; do
			for r in "$@"; do
				echo "# === $op, retry_cnt $r, seed $seed"
				"$interop" client -P "$RXE_PEER_IP" -o "$op" -r "$r" -n "$runs" -S "$seed" 2>&1 |
					tee "$RXE_VM_OUT/interop-$op-retry$r.tap"
				[ "${PIPESTATUS[0]}" = 0 ] || rc=1
				seed=$((seed + 1))
			done
		done
		return $rc ;;
	*) echo "interop: unknown guest step $what" >&2; return 2 ;;
	esac
}

if [ "${1:-}" = --guest ]; then
	shift
	guest "$@"
	exit
fi

# -------------------------------------------------------------- on the host

ko=
runs=${INTEROP_RUNS:-6}
small=${INTEROP_SMALL_RETRY:-1}
seed=${INTEROP_SEED:-1}
results=$BUILD/vm/interop
while [ $# -gt 0 ]; do
	case "$1" in
	--ko) ko=$(realpath "$2"); shift ;;
	--runs) runs=$2; shift ;;
	--results) results=$2; shift ;;
	-h|--help) sed -n '4,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "interop: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(perftest perftest-swap revoke)
[ -x "$interop" ] || { echo "interop: $interop missing: run make" >&2; exit 1; }
ours=${ko:-ours}
[ -z "$ko" ] || [ -r "$ko" ] || { echo "interop: $ko missing" >&2; exit 1; }

pass=0 fail=0
failed=()
result() {	# result pass|fail NAME
	case $1 in
	pass) pass=$((pass + 1)) ;;
	fail) fail=$((fail + 1)); failed+=("$2") ;;
	esac
}

# Count the TAP of one side and its guest's health.
collect() {	# collect SCENARIO SIDE
	local dir=$results/$1/$2 tap line n planned f
	for tap in "$dir"/out/*.tap; do
		[ -s "$tap" ] || { result fail "$1/$2: no TAP"; break; }
		f=$(basename "$tap" .tap)
		n=0
		while IFS= read -r line; do
			case "$line" in
			"ok "*) result pass "$1/$2/$f"; n=$((n + 1)) ;;
			"not ok "*) result fail "$1/$2/$f: ${line#not ok }"; n=$((n + 1)) ;;
			esac
		done < "$tap"
		planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -n1)
		[ "${planned:-x}" = "$n" ] ||
			result fail "$1/$2/$f: ran $n of ${planned:-?} planned tests"
	done
	if [ -s "$dir/exit-code" ]; then result pass "$1/$2/vm"; else result fail "$1/$2/vm: guest did not finish"; fi
	if grep -qs 'NETDEV WATCHDOG' "$dir/dmesg" "$dir/console.log"; then
		result fail "$1/$2/wire: eth0's transmit queue stalled (NETDEV WATCHDOG): the virtual wire failed"
	else
		result pass "$1/$2/wire"
	fi
	if [ -s "$dir/splats" ]; then
		result fail "$1/$2/dmesg: kernel splats: $dir/splats"
	else
		result pass "$1/$2/dmesg"
	fi
}

start=$(date +%s)
for s in "${scenarios[@]}"; do
	self="BUILD=$BUILD $top/tools/interop.sh --guest"
	case "$s" in
	perftest)
		srv=$ours cli=stock
		scmd="INTEROP_PEER_MODULE=stock $self perftest"
		ccmd="INTEROP_PEER_MODULE=ours $self perftest" ;;
	perftest-swap)
		srv=stock cli=$ours
		scmd="INTEROP_PEER_MODULE=ours $self perftest"
		ccmd="INTEROP_PEER_MODULE=stock $self perftest" ;;
	revoke)
		# one client connection per operation and retry_cnt
		retries=7
		[ "$small" = 7 ] || retries+=" $small"
		srv=$ours cli=stock
		scmd="$self revoke-server $(( 3 * $(wc -w <<< "$retries") ))"
		ccmd="$self revoke-client $runs $seed $retries" ;;
	*) echo "interop: unknown scenario $s" >&2; exit 2 ;;
	esac
	rm -rf "${results:?}/$s"
	mkdir -p "$results/$s"
	t0=$(date +%s)
	echo "interop: === $s (server $srv, client $cli)"
	"$top/tools/vm/pair" --server "$srv" --client "$cli" --results "$results/$s" \
		--server-cmd "$scmd" --client-cmd "$ccmd"
	echo "interop: $s took $(( $(date +%s) - t0 )) s"
	collect "$s" server
	collect "$s" client
done

echo "interop: ${ko:-$(modinfo -F version "$BUILD/rxe/rdma_rxe.ko")}" \
	"(for $(modinfo -F vermagic "${ko:-$BUILD/rxe/rdma_rxe.ko}" | cut -d' ' -f1))" \
	"in $(( $(date +%s) - start )) s; results in $results"
for f in "${failed[@]}"; do echo "FAILED: $f"; done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
