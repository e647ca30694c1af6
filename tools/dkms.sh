#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install or remove rxe-revoke's rdma_rxe.ko with DKMS (as root):
#   tools/dkms.sh install SRCDIR [KREL]   SRCDIR from tools/dkms-src.sh
#   tools/dkms.sh uninstall [KREL]        every installed rxe-revoke version
# KREL defaults to the running kernel. This is what make dkms-install and
# make dkms-uninstall run; the plain dkms commands are in README.md.
# Neither reloads the module: see README.md, "Operators".
set -euo pipefail
cmd=${1:?usage: dkms.sh install SRCDIR [KREL] | uninstall [KREL]}
[ "$(id -u)" = 0 ] || { echo "dkms.sh: run as root" >&2; exit 1; }
command -v dkms >/dev/null || { echo "dkms.sh: apt-get install dkms" >&2; exit 1; }

case $cmd in
install)
	src=${2:?usage: dkms.sh install SRCDIR [KREL]}
	krel=${3:-$(uname -r)}
	ver=$(cat "$src/VERSION")
	dst=/usr/src/rxe-revoke-$ver
	# the same version again: replace it
	if dkms status -m rxe-revoke -v "$ver" | grep -q .; then
		dkms remove -m rxe-revoke -v "$ver" --all
	fi
	rm -rf "$dst"
	cp -r "$src" "$dst"
	dkms add -m rxe-revoke -v "$ver"
	dkms build -m rxe-revoke -v "$ver" -k "$krel"
	dkms install -m rxe-revoke -v "$ver" -k "$krel"
	;;
uninstall)
	krel=${2:-$(uname -r)}
	# "rxe-revoke/VER, KREL, ARCH: installed" or "rxe-revoke/VER: added"
	for ver in $(dkms status -m rxe-revoke | sed -n 's|^rxe-revoke/\([^,:]*\)[,:].*|\1|p' | sort -u); do
		dkms remove -m rxe-revoke -v "$ver" --all
		rm -rf "/usr/src/rxe-revoke-$ver"
	done
	depmod "$krel"
	;;
*)
	echo "usage: dkms.sh install SRCDIR [KREL] | uninstall [KREL]" >&2
	exit 2
	;;
esac
