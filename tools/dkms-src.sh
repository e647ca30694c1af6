#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make the DKMS source tree of rxe-revoke:
#   tools/dkms-src.sh DIR VERSION
# fills DIR (e.g. build/dkms/rxe-revoke-VERSION, later /usr/src/...) with
# dkms.conf, its Makefile, tools/assemble.sh, our rxe files, the patch
# series of every kernel (patches/K/) and the uAPI header; the build picks
# the series of the kernel it builds for. VERSION ends up in the module as rxe-revoke-VERSION.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: dkms-src.sh DIR VERSION}
ver=${2:?usage: dkms-src.sh DIR VERSION}
RXE=drivers/infiniband/sw/rxe

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/tools" "$dir.tmp/$RXE/patches" "$dir.tmp/include/uapi/rdma"
sed "s/@VERSION@/$ver/" "$top/dkms/dkms.conf.in" > "$dir.tmp/dkms.conf"
cp "$top/dkms/Makefile" "$dir.tmp/Makefile"
cp "$top/tools/assemble.sh" "$dir.tmp/tools/"
cp "$top/$RXE"/*.[ch] "$dir.tmp/$RXE/"
for series in "$top/$RXE"/patches/*/; do
	k=$(basename "$series")
	mkdir -p "$dir.tmp/$RXE/patches/$k"
	cp "$series"*.patch "$dir.tmp/$RXE/patches/$k/"
done
cp "$top"/include/uapi/rdma/*.h "$dir.tmp/include/uapi/rdma/"
echo "$ver" > "$dir.tmp/VERSION"
# older trees of other versions go
for old in "$(dirname "$dir")"/rxe-revoke-*; do
	[ -d "$old" ] && [ "$old" != "$dir" ] && [ "$old" != "$dir.tmp" ] && rm -rf "$old"
done
# Replace only on change, so that make does not redo the dkms tree's users.
if [ -d "$dir" ] && diff -r "$dir" "$dir.tmp" >/dev/null 2>&1; then
	rm -rf "$dir.tmp"
else
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
