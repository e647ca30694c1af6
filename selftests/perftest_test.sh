#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Stock perftest tools on rxe0, with pinned and ODP memory, including an
# ODP buffer that is a file on XFS-DAX. TAP output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=${RXE_TOP:-$(cd "$here/../.." && pwd)}
. "$top/tools/vm/lib.sh"

n=0 failed=0
tap() {	# tap STATUS NAME
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; failed=1; fi
}
counter() { cat "/sys/class/infiniband/${RXE_DEV:-rxe0}/ports/1/hw_counters/$1"; }

dax=${RXE_XFS_DAX:-/mnt/xfs-dax}/perftest.buf
truncate -s 16M "$dax"

echo "TAP version 13"
echo "1..8"
# A point passes when perftest succeeds and the device sent at least the
# packets of its 100 x 64 KiB (RoCE MTU <= 4096). perftest's own figure is
# only printed: under a loaded TCG host its CPU-clock sampling sometimes
# yields 0.000000 Gb/s for a run that moved every byte.
bw() {	# NAME TEST ARGS...
	local name=$1 out rc p0 p1
	shift
	p0=$(counter sent_pkts)
	out=$(rxe_perftest_bw "$1" 65536 100 "${@:2}" 2>&1)
	rc=$?
	p1=$(counter sent_pkts)
	echo "# $name: $out Gb/s, $((p1 - p0)) packets"
	[ $rc = 0 ] && [ $((p1 - p0)) -ge $((100 * 65536 / 4096)) ]
	tap $? "$name"
}

bw ib_write_bw.pinned ib_write_bw
f0=$(counter odp_page_faults)
bw ib_write_bw.odp ib_write_bw --odp
bw ib_read_bw.odp ib_read_bw --odp
bw ib_send_bw.odp ib_send_bw --odp
bw ib_write_bw.odp.mmap_xfs_dax ib_write_bw --odp --mmap="$dax"
f1=$(counter odp_page_faults)
echo "# odp_page_faults: $f0 -> $f1"
[ "$f1" -gt "$f0" ]
tap $? odp_runs_took_page_faults
rm -f "$dax"

# The counters and the capabilities, as the stock tools show them.
stat=$(rdma statistic show link "${RXE_DEV:-rxe0}/1" 2>&1)
echo "# $stat"
for c in odp_page_faults odp_pages_faulted odp_invalidations odp_prefetches \
	 revoke_truncate revoke_unmap revoke_explicit revoke_admin revoke_exit rereg_restores; do
	echo "$stat" | grep -q " $c [0-9]" || { echo "# rdma statistic lacks $c"; false; } || break
done
tap $? rdma_statistic_shows_odp_and_revoke_counters
info=$(ibv_devinfo -v -d "${RXE_DEV:-rxe0}" 2>&1)
echo "$info" | grep -A 12 -i 'odp' | sed 's/^/# /'
echo "$info" | grep -q 'general_odp_caps' &&
	echo "$info" | grep -A 6 'rc_odp_caps' | grep -q 'SUPPORT_ATOMIC'
tap $? ibv_devinfo_shows_odp_caps
exit $failed
