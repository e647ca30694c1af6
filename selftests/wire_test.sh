#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# revoke_test and odp_test across a wire, in the VM (see selftests/run.sh
# and Documentation/testing.rst). Everywhere else in the suite the two QPs
# of a test sit on one rxe device, whose packets take rxe_loopback() and
# never reach a netdev. Here the requester is one rxe device and the
# target another, at the two ends of a veth pair:
#
#   rxew1 on rxw1 198.18.4.2  ==veth==  rxw0 198.18.4.1 on rxew0
#   (requester QPs and buffers)         (the MR under test, its events)
#
# rxe of 6.1 routes and opens its UDP socket in init_net only, so both ends
# stay in the root namespace and policy routing sends what one address
# sends to the other through the veth instead of lo: rules "from A to B
# iif lo" ahead of the local table, accept_local and no reverse-path
# filter on the two ends, static neighbours. Packets then go through
# ip_local_out, the veth, IP input, the UDP tunnel and rxe_rcv()'s ICRC
# check on the far side. The script checks that they did: every packet
# the two devices sent was counted by the veth.
#
# RXE_WIRE_LOSS=P makes the wire lossy: netem drops P % of the packets
# leaving each end (not in make check; see Documentation/testing.rst for
# what it shows). The veth count then includes netem's drops.
#
# Each test's TAP is renumbered into this script's, its name prefixed
# "wire.". Everything is removed at the end, so that the rest of the
# suite sees the VM as before.
#
#   tools/vm/run -- build/selftests/run.sh wire_test.sh
set -u
dir=$(cd "$(dirname "$0")" && pwd)
top=${RXE_TOP:-$(cd "$dir/../.." && pwd)}
. "$top/tools/vm/lib.sh"
dev0=rxew0 dev1=rxew1 net0=rxw0 net1=rxw1
ip0=198.18.4.1 ip1=198.18.4.2
tests=(revoke_test odp_test)
n=0 rc=0
tap() {	# tap OK|FAIL NAME
	n=$((n + 1))
	if [ "$1" = OK ]; then echo "ok $n $2"; else echo "not ok $n $2"; rc=1; fi
}

saved_rp=
teardown() {
	rdma link del "$dev0" 2>/dev/null
	rdma link del "$dev1" 2>/dev/null
	ip link del "$net0" 2>/dev/null
	ip rule del pref 10 2>/dev/null
	ip rule del pref 11 2>/dev/null
	if ip rule show pref 100 | grep -q 'lookup local'; then
		ip rule show pref 0 | grep -q 'lookup local' ||
			ip rule add pref 0 lookup local
		ip rule del pref 100 lookup local
	fi
	[ -z "$saved_rp" ] || sysctl -qw net.ipv4.conf.all.rp_filter="$saved_rp"
	saved_rp=
}
trap teardown EXIT

setup() {
	[ -e /sys/class/net/"$net0" ] && teardown
	saved_rp=$(sysctl -n net.ipv4.conf.all.rp_filter)
	rxe_veth_wire "$net0" "$ip0" "$net1" "$ip1" || return 1
	if [ -n "${RXE_WIRE_LOSS:-}" ]; then
		for i in "$net0" "$net1"; do
			tc qdisc add dev "$i" root netem loss "$RXE_WIRE_LOSS"% || return 1
		done
	fi
	rxe_wire_devices "$dev0" "$net0" "$dev1" "$net1"
}

# a hw counter of the requester's rxe device, a statistic of its netdev
rxe_cnt() { cat /sys/class/infiniband/$dev1/ports/1/hw_counters/$1; }
net_cnt() { cat /sys/class/net/$net1/statistics/$1; }
# packets netem dropped on the way out of the requester's end
lost() { tc -s qdisc show dev "$net1" 2>/dev/null |
	sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | head -n1; }

echo "TAP version 13"
echo "# rdma_rxe $(cat /sys/module/rdma_rxe/version 2>/dev/null || echo stock)"
if ! out=$(setup 2>&1); then
	echo "$out" | sed 's/^/# /'
	tap FAIL "wire_setup (veth $net0 <-> $net1, rxe $dev0 and $dev1)"
	echo "1..$n"
	exit 1
fi
tap OK "wire_setup (veth $net0 <-> $net1, rxe $dev0 and $dev1)"
echo "# wire: $dev0 $net0 $ip0 <-> $dev1 $net1 $ip1; rules: $(ip rule show | tr '\n' ';')"

sent0=$(rxe_cnt sent_pkts) rcvd0=$(rxe_cnt rcvd_pkts)
tx0=$(net_cnt tx_packets) rx0=$(net_cnt rx_packets) lost0=$(lost)
for t in "${tests[@]}"; do
	echo "# === wire.$t"
	# renumber the binary's TAP into ours; its plan becomes a comment
	RXE_DEV=$dev0 RXE_PEER_DEV=$dev1 timeout -k 10 "${RXE_WIRE_TIMEOUT:-600}" \
		"$dir/$t" 2>&1 | {
		while IFS= read -r line; do
			case "$line" in
			"ok "*|"not ok "*)
				n=$((n + 1))
				st=${line%% [0-9]*}
				rest=${line#"$st" }
				echo "$st $n wire.${rest#* }"
				[ "$st" = ok ] || echo 1 > /tmp/wire_test.failed ;;
			*) echo "# $line" ;;
			esac
		done
		echo "$n" > /tmp/wire_test.n
	}
	r=${PIPESTATUS[0]}
	n=$(cat /tmp/wire_test.n)
	echo "# wire.$t: exit $r"
	[ "$r" = 0 ] || rc=1
done
[ -e /tmp/wire_test.failed ] && rc=1
rm -f /tmp/wire_test.n /tmp/wire_test.failed

sent=$(( $(rxe_cnt sent_pkts) - sent0 )) rcvd=$(( $(rxe_cnt rcvd_pkts) - rcvd0 ))
tx=$(( $(net_cnt tx_packets) - tx0 + ${lost0:+$(lost) - lost0} ))
rx=$(( $(net_cnt rx_packets) - rx0 ))
echo "# $dev1: rxe sent $sent, received $rcvd; $net1: sent $tx, received $rx"
echo "# softnet_stat (processed dropped squeezed, per CPU): $(while read -r p d s _; do
	printf '%d %d %d; ' "0x$p" "0x$d" "0x$s"; done < /proc/net/softnet_stat)"
# Every QP on the requester's device is connected to the other device, so
# every packet it sent must have left through its veth end, and what it
# received must have come in through it (and passed rxe_rcv()'s ICRC
# check); packets of rxe_loopback() are not counted by a netdev.
[ "$sent" -gt 1000 ] && [ "$rcvd" -gt 1000 ] &&
	[ "$tx" -ge "$sent" ] && [ "$rx" -ge "$rcvd" ]
[ $? = 0 ] && tap OK "packets_took_the_wire ($dev1 sent $sent, $net1 $tx)" ||
	tap FAIL "packets_took_the_wire ($dev1 sent $sent received $rcvd, $net1 sent $tx received $rx)"

rdma link del "$dev0" && rdma link del "$dev1" && ip link del "$net0" &&
	[ ! -e /sys/class/infiniband/"$dev0" ]
[ $? = 0 ] && tap OK wire_teardown || tap FAIL wire_teardown
teardown
echo "1..$n"
exit $rc
