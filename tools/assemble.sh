#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Assemble the rxe-revoke driver sources in $BUILD/rxe from Debian's
# linux-source-K tarball, the patch series of kernel K and our own files,
# which both kernels share. K is RXE_KERNEL (6.1, the default, or 6.12).
#
#   $BUILD/linux-source/   the files we need from /usr/src/linux-source-K.tar.xz
#                          (rxe, kselftest harness, checkpatch), re-extracted only
#                          when the tarball changes
#   $BUILD/rxe/            the Kbuild directory: stock rxe + patches + our files.
#                          Files are replaced only when their content changes, so
#                          Kbuild rebuilds just what a change touched.
#
# Patches live in drivers/infiniband/sw/rxe/patches/K/ as NNNN-*.patch, one
# series against each kernel's stock rxe, applied in order with -p1 relative
# to the kernel tree root, like any kernel patch.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
K=${RXE_KERNEL:-6.1}
TARBALL=${TARBALL:-/usr/src/linux-source-$K.tar.xz}
RXE=drivers/infiniband/sw/rxe
SRC=$BUILD/linux-source
SERIES=$top/$RXE/patches/$K

[ -d "$SERIES" ] || { echo "assemble: no patch series for Linux $K ($SERIES)" >&2; exit 1; }
[ -r "$TARBALL" ] || { echo "assemble: $TARBALL missing (run tools/deps.sh)" >&2; exit 1; }

stamp="$(stat -c '%s %Y' "$TARBALL")"
if [ ! -f "$SRC/.stamp" ] || [ "$(cat "$SRC/.stamp")" != "$stamp" ]; then
	echo "  EXTRACT $TARBALL" >&2
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1 --wildcards \
		"linux-source-$K/$RXE/*" \
		"linux-source-$K/tools/testing/selftests/kselftest.h" \
		"linux-source-$K/tools/testing/selftests/kselftest_harness.h" \
		"linux-source-$K/scripts/checkpatch.pl" \
		"linux-source-$K/scripts/spelling.txt" \
		"linux-source-$K/scripts/const_structs.checkpatch"
	echo "$stamp" > "$SRC.tmp/.stamp"
	mv "$SRC.tmp" "$SRC"
fi

stage=$BUILD/rxe.stage
rm -rf "$stage"
mkdir -p "$stage/$RXE" "$BUILD/rxe"
cp -p "$SRC/$RXE"/* "$stage/$RXE/"
for p in "$SERIES"/[0-9]*.patch; do
	[ -e "$p" ] || continue
	patch -s -p1 -d "$stage" --batch --no-backup-if-mismatch -r - -F0 < "$p" ||
		{ echo "assemble: $p does not apply" >&2; exit 1; }
done
for f in "$top/$RXE"/*.[ch]; do
	[ -e "$f" ] || continue
	if [ -e "$SRC/$RXE/$(basename "$f")" ]; then
		echo "assemble: $f shadows a stock file; change it with a patch" >&2
		exit 1
	fi
	cp "$f" "$stage/$RXE/"
done
# The uAPI header is ours; the driver includes it as <rdma/...>.
if ls "$top"/include/uapi/rdma/*.h >/dev/null 2>&1; then
	mkdir -p "$stage/$RXE/include/uapi/rdma"
	cp "$top"/include/uapi/rdma/*.h "$stage/$RXE/include/uapi/rdma/"
fi

# Sync: copy only what changed, delete what disappeared.
(cd "$stage/$RXE" && find . -type f) | while read -r f; do
	d=$BUILD/rxe/$f
	if ! cmp -s "$stage/$RXE/$f" "$d"; then
		mkdir -p "$(dirname "$d")"
		cp "$stage/$RXE/$f" "$d"
	fi
done
(cd "$BUILD/rxe" && find . -type f \( -name '*.[ch]' -o -name Makefile -o -name Kconfig \)) |
	while read -r f; do
		[ -e "$stage/$RXE/$f" ] || rm -f "$BUILD/rxe/$f"
	done
rm -rf "$stage"
