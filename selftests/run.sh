#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the rxe-revoke selftests inside the VM (tools/check.sh calls this
# through tools/vm/run). Each test binary's TAP goes to the console and to
# $RXE_VM_OUT/<test>.tap, its exit code to $RXE_VM_OUT/<test>.rc.
#
#   run.sh [TEST...]      default: every test in tests.list
#
# RXE_TEST_TIMEOUT bounds each binary (seconds, default 900).
set -u
dir=$(cd "$(dirname "$0")" && pwd)
out=${RXE_VM_OUT:-/tmp/rxe-selftests}
mkdir -p "$out"
if [ $# -gt 0 ]; then tests=("$@"); else mapfile -t tests < "$dir/tests.list"; fi

rc=0
for t in "${tests[@]}"; do
	echo "# === $t"
	timeout -k 10 "${RXE_TEST_TIMEOUT:-900}" "$dir/$t" 2>&1 | tee "$out/$t.tap"
	r=${PIPESTATUS[0]}
	echo "$r" > "$out/$t.rc"
	[ "$r" = 0 ] || rc=1
done
exit $rc
