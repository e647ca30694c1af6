#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS, as README.md "Operators" documents it, inside the VM (whose root is
# a throw-away tmpfs overlay): tools/dkms.sh install the DKMS tree that
# make built (build/dkms/rxe-revoke-*), which builds rdma_rxe.ko from
# linux-source-6.1 + our patches against the guest kernel's headers into
# updates/dkms; modprobe then loads ours; uninstall brings the stock module
# back. The module loaded before is loaded again at the end. TAP output.
# Run by make check-dkms (a module build under TCG takes many minutes).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=${RXE_TOP:-$(cd "$here/../.." && pwd)}
. "$top/tools/vm/lib.sh"
build=${BUILD:-$(cd "$here/.." && pwd)}
krel=$(uname -r)

n=0 failed=0
tap() {	# tap STATUS NAME
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; failed=1; fi
}
modver() { modinfo -k "$krel" -F version rdma_rxe 2>/dev/null; }
modfile() { modinfo -k "$krel" -F filename rdma_rxe 2>/dev/null; }

echo "TAP version 13"
echo "1..7"
src=$(ls -d "$build"/dkms/rxe-revoke-* 2>/dev/null | head -n1)
ver=$(cat "$src/VERSION" 2>/dev/null)
stock_file=$(modfile)
before=$(cat /sys/module/rdma_rxe/version 2>/dev/null || echo stock)
echo "# dkms tree: ${src:-none}; stock module: $stock_file, version '$(modver)'"
[ -n "$ver" ] && [ -f "$src/dkms.conf" ] && [ ! -e "$src/.git" ] &&
	case $stock_file in */kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko*) true ;; *) false ;; esac
tap $? dkms_tree_and_stock_module_present

# The tree as make built it, plus a copy of the host build's extraction of
# linux-source-6.1.tar.xz (build/linux-source, stamped with the tarball's
# size and mtime, which assemble.sh checks): decompressing the whole
# tarball under TCG takes longer than the rest and the guest's RAM; the
# extraction is the code every host build runs.
tree=/tmp/dkms-tree/$(basename "$src")
rm -rf /tmp/dkms-tree && mkdir -p "$tree/build" && cp -r "$src/." "$tree/" &&
	cp -r "$build/linux-source" "$tree/build/linux-source"
start=$(date +%s)
log=${RXE_VM_OUT:-/tmp}/dkms-install.log
"$top/tools/dkms.sh" install "$tree" "$krel" > "$log" 2>&1
rc=$?
echo "# tools/dkms.sh install: exit $rc in $(($(date +%s) - start)) s under this VM (log: dkms-install.log)"
[ $rc = 0 ] || tail -n 30 "$log" | sed 's/^/# /'
dkms status -m rxe-revoke | sed 's/^/# /'
[ $rc = 0 ] && dkms status -m rxe-revoke -v "$ver" -k "$krel" | grep -q ': installed'
tap $? dkms_add_build_install

echo "# modinfo: $(modfile), version '$(modver)'"
case $(modfile) in */updates/dkms/rdma_rxe.ko*) [ "$(modver)" = "rxe-revoke-$ver" ] ;; *) false ;; esac
tap $? modinfo_shows_ours_in_updates_dkms

# modprobe -r / modprobe gives ours, and it works
rdma link del "${RXE_DEV:-rxe0}" 2>/dev/null
modprobe -r rdma_rxe && modprobe rdma_rxe &&
	rdma link add "${RXE_DEV:-rxe0}" type rxe netdev "${RXE_NETDEV:-rxenet0}"
rc=$?
loaded=$(cat /sys/module/rdma_rxe/version 2>/dev/null)
echo "# loaded by modprobe: '$loaded'"
[ $rc = 0 ] && [ "$loaded" = "rxe-revoke-$ver" ] &&
	ibv_devinfo -d "${RXE_DEV:-rxe0}" | grep -q PORT_ACTIVE
tap $? modprobe_loads_ours

rdma link del "${RXE_DEV:-rxe0}" 2>/dev/null
modprobe -r rdma_rxe
"$top/tools/dkms.sh" uninstall "$krel" >> "$log" 2>&1
rc=$?
echo "# after uninstall: $(modfile), version '$(modver)'"
[ $rc = 0 ] && [ -z "$(dkms status -m rxe-revoke)" ] && [ ! -e "/usr/src/rxe-revoke-$ver" ] &&
	[ "$(modfile)" = "$stock_file" ] && [ -z "$(modver)" ]
tap $? dkms_uninstall_restores_stock_modinfo

modprobe rdma_rxe && loaded=$(cat /sys/module/rdma_rxe/version 2>/dev/null || echo none)
rc=$?
echo "# loaded by modprobe after uninstall: version '$loaded'"
[ $rc = 0 ] && [ "$loaded" = none ]
tap $? modprobe_loads_stock_after_uninstall

# back to the module of this run
if [ "$before" = stock ]; then
	rxe_use_module stock
else
	rxe_use_module ours
fi
ibv_devinfo -d "${RXE_DEV:-rxe0}" | grep -q PORT_ACTIVE
tap $? module_of_the_run_restored
exit $failed
