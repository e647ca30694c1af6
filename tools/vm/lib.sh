# SPDX-License-Identifier: GPL-2.0
#
# Shell helpers for scripts that run inside the VM (sourced).

# Index of the RoCEv2 GID of an IPv4 address on port 1 of device $1.
rxe_roce_v2_gid_index() {
	local dev=$1 p i
	p=/sys/class/infiniband/$dev/ports/1
	for i in $(ls "$p/gid_attrs/types" 2>/dev/null | sort -n); do
		[ "$(cat "$p/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ] || continue
		case "$(cat "$p/gids/$i")" in
		0000:0000:0000:0000:0000:ffff:*) echo "$i"; return 0 ;;
		esac
	done
	return 1
}

# rxe_retry N CMD...: run CMD until it succeeds, N times at most, 1 s apart
# (a perftest client may start before its server listens).
rxe_retry() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 1
	done
	return 1
}
