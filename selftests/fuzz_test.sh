#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The RoCEv2 packet fuzzer (selftests/roce_fuzz.c) on a real wire, in the VM
# (see selftests/run.sh and Documentation/fuzzing.rst). Sets up, for the run
# only:
#
#   rxefz0 <-> rxefz1   a veth pair, MTU 9000, IPv6 off, in the root netns
#   rxefz0              198.18.2.1/24, static neighbour 198.18.2.2 = rxefz1
#   rxefz               an rxe device on rxefz0 (of whichever rdma_rxe is loaded)
#
# roce_fuzz plays 198.18.2.2 with an AF_PACKET socket on rxefz1: its frames
# enter rxe through the netdev, IP, UDP and the ICRC check, and rxe's answers
# come back on the socket. Then the device and the veth pair are removed, so
# that the rest of the suite sees the VM as before.
#
# Environment (passed on to roce_fuzz): RXE_FUZZ_PKTS (default 20000),
# RXE_FUZZ_SEED (replay a run; the seed is printed), RXE_FUZZ_AVOID,
# RXE_FUZZ_KMSG=1 (each packet to the kernel log first: the console then
# shows the packet before a crash; =2: the kernel log only, which dmesg in
# the results keeps when the kernel survives, with a large log_buf_len),
# RXE_FUZZ_VERBOSE=1, RXE_FUZZ_REPRO=NAME (one directed reproducer instead
# of the run; see Documentation/fuzzing.rst). RXE_FUZZ_AVOID (default
# empty: everything runs) names classes of packets not to generate, e.g.
# "comperr" to run stock rxe, whose completer WARNs on them (patch 0021).
# RXE_FUZZ_TIMEOUT bounds roce_fuzz (default: RXE_TEST_TIMEOUT - 60 s, so
# that the teardown runs before run.sh's bound); it stops generating 60 s
# before that and says so.
#
#   tools/vm/run -- env RXE_FUZZ_PKTS=1000000 RXE_TEST_TIMEOUT=7200 \
#       build/selftests/run.sh fuzz_test.sh
#   tools/vm/run --stock -- build/selftests/fuzz_test.sh    # stock rxe
set -u
dir=$(cd "$(dirname "$0")" && pwd)
dev=rxefz a=rxefz0 b=rxefz1
local_ip=198.18.2.1 peer_ip=198.18.2.2
export RXE_FUZZ_AVOID=${RXE_FUZZ_AVOID-}
limit=${RXE_FUZZ_TIMEOUT:-$(( ${RXE_TEST_TIMEOUT:-900} - 60 ))}
export RXE_FUZZ_DEADLINE=$(( limit > 120 ? limit - 60 : limit / 2 ))
nbin=$("$dir/roce_fuzz" --plan) || nbin=0
nscript=4
n=$nbin rc=0
tap() {	# tap OK|FAIL NAME
	n=$((n + 1))
	if [ "$1" = OK ]; then echo "ok $n $2"; else echo "not ok $n $2"; rc=1; fi
}

devkmsg= out=
teardown() {
	rdma link del "$dev" 2>/dev/null
	ip link del "$a" 2>/dev/null
	[ -z "$devkmsg" ] || echo "$devkmsg" > /proc/sys/kernel/printk_devkmsg
	devkmsg=
}
trap teardown EXIT

setup() {
	[ -e /sys/class/net/"$a" ] && teardown
	modprobe veth 2>/dev/null	# built in on the debug kernel
	ip link add "$a" type veth peer name "$b" || return 1
	for i in "$a" "$b"; do
		sysctl -qw net.ipv6.conf."$i".disable_ipv6=1
		ip link set "$i" mtu 9000 || return 1
	done
	# nothing received on rxefz1 is routed anywhere
	sysctl -qw net.ipv4.conf."$b".forwarding=0
	ip addr add "$local_ip"/24 dev "$a" || return 1
	ip link set "$a" up && ip link set "$b" up || return 1
	ip neigh replace "$peer_ip" lladdr "$(cat /sys/class/net/"$b"/address)" \
		dev "$a" nud permanent || return 1
	rdma link add "$dev" type rxe netdev "$a" || return 1
	for i in $(seq 50); do
		grep -qi active /sys/class/infiniband/"$dev"/ports/1/state 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

echo "TAP version 13"
echo "1..$((nbin + nscript))"
echo "# rdma_rxe $(cat /sys/module/rdma_rxe/version 2>/dev/null || echo stock)"
if ! ip link add rxefz-probe type veth peer name rxefz-probe1 2>/dev/null &&
   ! modprobe veth 2>/dev/null; then
	# a kernel without veth (an old debug kernel build): nothing to test on
	for i in $(seq "$nbin"); do echo "ok $i roce_fuzz # SKIP no veth in this kernel"; done
	for i in wire_setup roce_fuzz_exit_status no_user_objects_left_after_exit wire_teardown; do
		n=$((n + 1)); echo "ok $n $i # SKIP no veth in this kernel"
	done
	exit 0
fi
ip link del rxefz-probe 2>/dev/null
if [ "$nbin" = 0 ] || ! out=$(setup 2>&1); then
	echo "$out" | sed 's/^/# /'
	for i in $(seq "$nbin"); do echo "not ok $i roce_fuzz not run: no wire"; done
	tap FAIL "wire_setup (veth $a <-> $b, rxe $dev)"
	tap FAIL roce_fuzz_exit_status
	tap FAIL no_user_objects_left_after_exit
	tap FAIL wire_teardown
	exit 1
fi
if [ "${RXE_FUZZ_KMSG:-0}" != 0 ]; then
	devkmsg=$(cat /proc/sys/kernel/printk_devkmsg)
	echo on > /proc/sys/kernel/printk_devkmsg
fi
echo "# wire: $a $(cat /sys/class/net/$a/address) $local_ip <-> $b $(cat /sys/class/net/$b/address) (peer $peer_ip)"

start=$(date +%s)
timeout -k 10 "$limit" "$dir/roce_fuzz"
r=$?
echo "# roce_fuzz: exit $r after $(( $(date +%s) - start )) s"
echo "# $dev counters: $(cd /sys/class/infiniband/$dev/ports/1/hw_counters 2>/dev/null &&
	for c in rcvd_pkts sent_pkts duplicate_request out_of_seq_request rcvd_seq_err \
		send_err odp_page_faults revoke_truncate revoke_explicit rereg_restores; do
		[ -r $c ] && printf '%s %s ' $c "$(cat $c)"; done)"
tap OK "wire_setup (veth $a <-> $b, rxe $dev)"
[ $r = 0 ] && tap OK roce_fuzz_exit_status || tap FAIL "roce_fuzz_exit_status ($r)"

# user objects (pid ...) of the fuzzer's device left after its exit
left=$(for o in qp cq mr pd; do rdma resource show "$o" 2>&1; done | grep "$dev" | grep -c ' pid ')
[ "$left" = 0 ] && tap OK no_user_objects_left_after_exit ||
	tap FAIL "no_user_objects_left_after_exit ($left)"

rdma link del "$dev" && ip link del "$a" && [ ! -e /sys/class/infiniband/"$dev" ]
[ $? = 0 ] && tap OK wire_teardown || tap FAIL wire_teardown
teardown
exit $rc
