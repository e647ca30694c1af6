#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: runs inside the VM (tools/vm/run -- demo/demo.sh).
# What rxe-revoke shows today on emulated pmem:
#   1. our rdma_rxe is loaded and rxe0 is up on a RoCEv2 GID;
#   2. the XFS-DAX and ext4-DAX mounts;
#   3. a plain ibv_reg_mr on a DAX file works (a revocable MR; stock rxe
#      refuses it with EOPNOTSUPP), on a tmpfs file too (pinned), and an ODP
#      registration works on all of them;
#   4. perftest ib_write_bw between two QPs on rxe0: pinned, then ODP on a
#      file on XFS-DAX;
#   6. a revocable MR on an XFS-DAX file: traffic, truncate (returns at
#      once), the revoke event and the failing WRITE, rereg, traffic again.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build}
dev=${RXE_DEV:-rxe0}
. "$top/tools/vm/lib.sh"

step() { printf '\n=== %s\n' "$*"; }

step "1. the module and the device"
echo "rdma_rxe version: $(cat /sys/module/rdma_rxe/version 2>/dev/null || echo 'stock (none)')"
rdma link show
ibv_devinfo -d "$dev" | sed -n '1,20p'
gidx=$(rxe_roce_v2_gid_index "$dev") || { echo "no RoCEv2 IPv4 GID on $dev"; exit 1; }
echo "RoCEv2 GID index $gidx: $(cat "/sys/class/infiniband/$dev/ports/1/gids/$gidx")"

step "2. DAX filesystems on emulated pmem"
findmnt -t xfs,ext4 -o TARGET,SOURCE,FSTYPE,OPTIONS

step "3. registering file memory"
rc=0
for f in "${RXE_XFS_DAX:-/mnt/xfs-dax}/demo.dat" "${RXE_EXT4_DAX:-/mnt/ext4-dax}/demo.dat" /tmp/demo.dat; do
	"$BUILD/demo/reg_file" -d "$dev" "$f"
	"$BUILD/demo/reg_file" -d "$dev" -o "$f"
done
echo "(GUP refuses FOLL_LONGTERM pins on fsdax; a plain registration there is now"
echo " a revocable MR, and an ODP MR pins nothing)"

step "4. perftest ib_write_bw between two QPs on $dev"
args=(-d "$dev" -x "$gidx" -s 65536 -n 500 -F --report_gbits)
ib_write_bw "${args[@]}" > /tmp/bw-server.log 2>&1 &
server=$!
sleep 1
if ! rxe_retry 10 ib_write_bw "${args[@]}" 127.0.0.1; then
	echo "ib_write_bw client failed"; rc=1
fi
wait $server || { echo "ib_write_bw server failed:"; cat /tmp/bw-server.log; rc=1; }

step "5. the same with ODP memory that is a file on XFS-DAX"
dax=${RXE_XFS_DAX:-/mnt/xfs-dax}/perftest.buf
truncate -s 16M "$dax"
c=/sys/class/infiniband/$dev/ports/1/hw_counters
before=$(cat "$c/odp_page_faults")
bw=$(rxe_perftest_bw ib_write_bw 65536 500 --odp --mmap="$dax") || { echo "ODP ib_write_bw failed"; rc=1; }
echo "ib_write_bw --odp --mmap=$dax: ${bw:-?} Gb/s (TCG), ODP page faults: $before -> $(cat "$c/odp_page_faults")"
rm -f "$dax"

step "6. a revocable MR on a DAX file: truncate revokes it, rereg restores it"
"$BUILD/demo/revoke_demo" -d "$dev" "${RXE_XFS_DAX:-/mnt/xfs-dax}/revoke-demo.dat" || rc=1
exit $rc
