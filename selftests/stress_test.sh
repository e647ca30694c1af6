#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The stress run (selftests/stress.c) and what must hold after it: nothing
# of it is left in the device, the module unloads, and both pmem
# filesystems unmount and check clean. Then the module and the mounts are
# restored for whatever runs next. Runs in the VM (see selftests/run.sh).
#
# RXE_STRESS_SECONDS (default 60), RXE_STRESS_SEED (replay a run),
# RXE_STRESS_WORKERS (default 3), RXE_STRESS_FENCE_DELAY_US (default 1000:
# the module's fence_test_delay_us during the run; 0 turns it off),
# RXE_STRESS_ALL=0 (no READs of revocable targets and no WRITEs sourced
# from them; they are on by default).
# Pass them with env in the guest: tools/vm/run -- env RXE_STRESS_SECONDS=600
# RXE_TEST_TIMEOUT=1200 build/selftests/run.sh stress_test.sh
set -u
dir=$(cd "$(dirname "$0")" && pwd)
dev=${RXE_DEV:-rxe0}
n=0 rc=0
tap() {	# tap OK|FAIL NAME
	n=$((n + 1))
	if [ "$1" = OK ]; then echo "ok $n $2"; else echo "not ok $n $2"; rc=1; fi
}

echo "TAP version 13"
echo "1..7"
# Widen the window a revoke must fence (see fence_test_delay_us in
# rxe_revoke.c): each revocable MR access sleeps this long inside the fence.
delay=${RXE_STRESS_FENCE_DELAY_US:-1000}
param=/sys/module/rdma_rxe/parameters/fence_test_delay_us
[ -w "$param" ] && echo "$delay" > "$param" && echo "# fence_test_delay_us=$delay"
"$dir/stress" 2>&1 | sed 's/^\([^#]\)/# \1/'
[ "${PIPESTATUS[0]}" = 0 ] && tap OK stress || tap FAIL stress
[ -w "$param" ] && echo 0 > "$param"

# user objects (pid ...) left in the device
left=$(for r in qp cq mr pd; do rdma resource show "$r" 2>&1; done | grep -c ' pid ')
echo "# rdma resource: $left user objects left"
[ "$left" = 0 ] && tap OK rdma_resource_empty || tap FAIL rdma_resource_empty

rdma link del "$dev" && rmmod rdma_rxe && ! grep -q '^rdma_rxe ' /proc/modules
[ $? = 0 ] && tap OK module_unloads || tap FAIL module_unloads

fsck_one() {	# fsck_one MOUNTPOINT CHECKER...
	local mnt=$1 src out
	shift
	src=$(findmnt -no SOURCE "$mnt") || return 1
	umount "$mnt" || return 1
	out=$("$@" "$src" 2>&1)
	local r=$?
	[ $r = 0 ] || echo "$out" | sed 's/^/# /'
	mount -o dax "$src" "$mnt" || return 1
	return $r
}
fsck_one "${RXE_XFS_DAX:-/mnt/xfs-dax}" xfs_repair -n && tap OK xfs_unmounts_and_repair_n_clean ||
	tap FAIL xfs_unmounts_and_repair_n_clean
fsck_one "${RXE_EXT4_DAX:-/mnt/ext4-dax}" e2fsck -fn && tap OK ext4_unmounts_and_e2fsck_fn_clean ||
	tap FAIL ext4_unmounts_and_e2fsck_fn_clean

# back as the VM set it up
{ insmod "${RXE_VM_KO:?}" && rdma link add "$dev" type rxe netdev "${RXE_NETDEV:-rxenet0}"; } &&
	tap OK module_reloads || tap FAIL module_reloads
for i in $(seq 50); do
	[ "$(cat /sys/class/infiniband/$dev/ports/1/state 2>/dev/null)" = "4: ACTIVE" ] && break
	sleep 0.1
done
[ "$(cat /sys/class/infiniband/$dev/ports/1/state 2>/dev/null)" = "4: ACTIVE" ] &&
	tap OK device_active_again || tap FAIL device_active_again
exit $rc
