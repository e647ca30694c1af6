#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make checkpatch: scripts/checkpatch.pl --strict (from the linux-source-K
# extracted in $BUILD, K being the kernel of the build) on our kernel C
# files, the patches of every series and our uAPI header. Exit 1 on any
# error, warning or check.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
cp=$BUILD/linux-source/scripts/checkpatch.pl
[ -x "$cp" ] || { echo "checkpatch: run tools/assemble.sh first" >&2; exit 1; }
RXE=drivers/infiniband/sw/rxe
opts=(--strict --no-tree --quiet --show-types --color=never
      --ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES,COMMIT_MESSAGE,EMAIL_SUBJECT
      --ignore FROM_SIGN_OFF_MISMATCH,MISSING_SIGN_OFF,GERRIT_CHANGE_ID)
rc=0
cd "$top"
for f in $RXE/*.[ch] include/uapi/rdma/*.h; do
	[ -e "$f" ] || continue
	"$cp" "${opts[@]}" -f "$f" || rc=1
done
for p in $RXE/patches/*/*.patch; do
	[ -e "$p" ] || continue
	# The body only: checkpatch misreads context lines after our
	# minimal mail header.
	sed -n '/^diff --git /,$p' "$p" | "$cp" "${opts[@]}" - || rc=1
done
[ $rc = 0 ] && echo "checkpatch: clean"
exit $rc
