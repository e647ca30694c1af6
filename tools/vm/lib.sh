# SPDX-License-Identifier: GPL-2.0
#
# Shell helpers for scripts that run inside the VM (sourced).

# Index of the RoCEv2 GID of an IPv4 address on port 1 of device $1.
# Bash builtins only: under TCG every fork costs tens of milliseconds, and
# the benchmark asks for the index once per perftest point.
rxe_roce_v2_gid_index() {
	local p=/sys/class/infiniband/$1/ports/1 f i type gid best=

	for f in "$p"/gid_attrs/types/*; do
		i=${f##*/}
		[ -n "$best" ] && [ "$i" -ge "$best" ] && continue
		read -r type < "$f" 2>/dev/null || continue
		[ "$type" = "RoCE v2" ] || continue
		read -r gid < "$p/gids/$i" 2>/dev/null || continue
		case $gid in
		0000:0000:0000:0000:0000:ffff:*) best=$i ;;
		esac
	done
	[ -n "$best" ] && echo "$best"
}

# rxe_retry N CMD...: run CMD until it succeeds, N times at most, 1 s apart
# (a perftest client may start before its server listens).
rxe_retry() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 1
	done
	return 1
}

# rxe_wait_listen PORT [TRIES [PID]]: wait until a TCP socket listens on
# PORT, polling /proc/net/tcp{,6} every 50 ms (no fork: under TCG, one "ss"
# costs about a second). Fails after TRIES polls (default 200), or as soon
# as process PID (the server) has exited.
rxe_wait_listen() {
	local hex i f sl local_addr rem st rest

	printf -v hex '%04X' "$1"
	for ((i = 0; i < ${2:-200}; i++)); do
		for f in /proc/net/tcp /proc/net/tcp6; do
			while read -r sl local_addr rem st rest; do
				[ "${local_addr##*:}" = "$hex" ] && [ "$st" = 0A ] && return 0
			done < "$f"
		done
		[ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

# rxe_use_module stock|ours [KO]: replace the loaded rdma_rxe (and rxe0)
# within the same boot, for side-by-side measurements.
rxe_use_module() {
	local which=$1 ko=${2:-${RXE_VM_KO:-}}
	rdma link del "${RXE_DEV:-rxe0}" 2>/dev/null
	rmmod rdma_rxe 2>/dev/null
	if [ "$which" = stock ]; then
		modprobe rdma_rxe || return 1
	else
		insmod "$ko" || return 1
	fi
	rdma link add "${RXE_DEV:-rxe0}" type rxe netdev "${RXE_NETDEV:-rxenet0}"
}

# rxe_perftest_bw TEST SIZE ITERS [ARGS...]: run a perftest bandwidth test
# between two processes on $RXE_DEV; print its average bandwidth in Gb/s.
rxe_perftest_bw() {
	local test=$1 size=$2 iters=$3 dev=${RXE_DEV:-rxe0} gidx server out
	shift 3
	gidx=$(rxe_roce_v2_gid_index "$dev") || return 1
	"$test" -d "$dev" -x "$gidx" -s "$size" -n "$iters" -F --report_gbits "$@" \
		> /tmp/perftest-server.log 2>&1 &
	server=$!
	rxe_wait_listen 18515
	out=$(rxe_retry 10 "$test" -d "$dev" -x "$gidx" -s "$size" -n "$iters" \
		-F --report_gbits "$@" 127.0.0.1 2>&1) || {
		echo "$out" >&2
		kill "$server" 2>/dev/null
		return 1
	}
	wait "$server" || { cat /tmp/perftest-server.log >&2; return 1; }
	echo "$out" | awk -v s="$size" '$1 == s { print $4; found = 1 } END { exit !found }'
}

# rxe_veth_wire NET0 IP0 NET1 IP1: a veth pair in this guest whose two
# addresses reach each other through the veth instead of lo: the local
# table moves to pref 100, rules at pref 10 and 11 send IP0 <-> IP1 to
# tables 200 and 201, and the neighbours are permanent. rp_filter is
# turned off (the caller saves net.ipv4.conf.all.rp_filter if it restores
# it). Used by selftests/wire_test.sh and bench/perftest-matrix.sh.
rxe_veth_wire() {
	local net0=$1 ip0=$2 net1=$3 ip1=$4 i
	modprobe veth 2>/dev/null	# built in on the debug kernel
	ip link add "$net0" type veth peer name "$net1" || return 1
	sysctl -qw net.ipv4.conf.all.rp_filter=0
	for i in "$net0" "$net1"; do
		sysctl -qw net.ipv6.conf."$i".disable_ipv6=1
		sysctl -qw net.ipv4.conf."$i".rp_filter=0
		sysctl -qw net.ipv4.conf."$i".accept_local=1
	done
	ip addr add "$ip0"/32 dev "$net0" && ip addr add "$ip1"/32 dev "$net1" &&
	ip link set "$net0" up && ip link set "$net1" up || return 1
	# the local table after our rules, not before
	ip rule add pref 100 lookup local && ip rule del pref 0 lookup local &&
	ip rule add pref 10 from "$ip0" to "$ip1" iif lo lookup 200 &&
	ip rule add pref 11 from "$ip1" to "$ip0" iif lo lookup 201 &&
	ip route add "$ip1" dev "$net0" src "$ip0" table 200 &&
	ip route add "$ip0" dev "$net1" src "$ip1" table 201 &&
	ip neigh replace "$ip1" lladdr "$(cat /sys/class/net/$net1/address)" \
		dev "$net0" nud permanent &&
	ip neigh replace "$ip0" lladdr "$(cat /sys/class/net/$net0/address)" \
		dev "$net1" nud permanent
}

# rxe_wire_devices DEV0 NET0 DEV1 NET1: an rxe device of the module loaded
# now on each netdev; fails unless both ports are active within 5 s.
rxe_wire_devices() {
	local i
	rdma link add "$1" type rxe netdev "$2" &&
		rdma link add "$3" type rxe netdev "$4" || return 1
	for i in $(seq 50); do
		grep -qi active /sys/class/infiniband/"$1"/ports/1/state 2>/dev/null &&
			grep -qi active /sys/class/infiniband/"$3"/ports/1/state 2>/dev/null &&
			return 0
		sleep 0.1
	done
	return 1
}
