#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-teeth: show that the suite has teeth. Each planted bug of the
# kernel's directory (KERNEL / RXE_KERNEL: selftests/teeth/*.patch for 6.1,
# selftests/teeth/6.12/*.patch for 6.12, the same bugs against that
# kernel's assembled tree) is applied to a copy of the assembled module
# ($BUILD/teeth/NAME), which is built and run through the selected tests in
# one VM boot per bug. A bug is "caught" when the run fails (a failed test,
# a splat in dmesg, a guest that does not finish), "missed" when it passes.
#
#   make check-teeth [KERNEL=6.12] [TEETH="PATCH..."]  (default: every patch
#   of the kernel's directory; a PATCH without a "/" is a name there, with
#   or without .patch, e.g. TEETH=04-zero-length-reaches-mr)
#
# Run through make: it hands over RXE_KFLAGS, the Kbuild arguments every
# build of our module uses.
# A patch may name the tests that catch it on a "Tests:" line of its header
# (e.g. "Tests: hardening_test"); the others run RXE_TEETH_TESTS.
# Environment: RXE_TEETH_TESTS (default "revoke_test stress_test.sh"),
# RXE_STRESS_SECONDS (default 60; 300 on the debug kernel), RXE_TEETH_DEBUG=1
# (build against the debug kernel and boot it with make check-debug's
# bounds, the Makefile's DEBUG_TEST_TIMEOUT and DEBUG_POLL_TIMEOUT), RXE_VM_TIMEOUT (a
# bound on each bug's boot: 1200 s, 7200 s on the debug kernel; the correct
# module runs revoke_test and 60 s of stress in about 7 minutes on Debian's
# kernel. A planted bug that hangs the guest is caught by this bound, and
# its line says "by a timeout"). Ends with the line
# "N caught, N missed"; the exit code is non-zero if a bug was missed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# kernel RXE_KERNEL's build directory (as the Makefile has it) and planted bugs
. "$top/tools/build-dir.sh"
if [ "${RXE_KERNEL:-6.1}" = 6.1 ]; then
	teeth=$top/selftests/teeth
else
	teeth=$top/selftests/teeth/$RXE_KERNEL
fi
tests=${RXE_TEETH_TESTS:-revoke_test stress_test.sh}
kflags=${RXE_KFLAGS:?run tools/teeth.sh through make check-teeth}
: "${RXE_DEBUG_TEST_TIMEOUT:?run tools/teeth.sh through make check-teeth}" "${RXE_DEBUG_POLL_TIMEOUT:?}"
if [ "${RXE_TEETH_DEBUG:-0}" = 1 ]; then
	kdir=$("$top/tools/debug-kernel/build.sh" --dir)
	[ -f "$kdir/arch/x86/boot/bzImage" ] || { echo "teeth: no debug kernel: make debug-kernel" >&2; exit 1; }
	vmargs="--kernel $kdir/arch/x86/boot/bzImage"
	tmo=7200
	# the bounds of make check-debug (the Makefile's DEBUG_*_TIMEOUT):
	# revoke_test alone takes ~10 min there, more than run.sh's default
	# of 900 s per binary on a busy host
	export RXE_TEST_TIMEOUT=${RXE_TEST_TIMEOUT:-$RXE_DEBUG_TEST_TIMEOUT} \
		RXE_POLL_TIMEOUT=${RXE_POLL_TIMEOUT:-$RXE_DEBUG_POLL_TIMEOUT}
	# 60 s of stress there gets the workers barely past their set-up
	stress_s=300
else
	kdir=/lib/modules/${KREL:-$("$top/tools/deps.sh")}/build
	vmargs=
	tmo=1200
	stress_s=60
fi
[ -d "$teeth" ] || { echo "teeth: no planted bugs for Linux $RXE_KERNEL ($teeth)" >&2; exit 1; }
[ $# -gt 0 ] || set -- "$teeth"/*.patch
for p in "$@"; do
	case $p in */*) ;; *) p=$teeth/${p%.patch}.patch ;; esac
	[ -f "$p" ] || { echo "teeth: $p: no such patch" >&2; exit 1; }
	[ "$(cd "$(dirname "$p")" && pwd)" = "$teeth" ] ||
		echo "teeth: warning: $p is not of Linux ${RXE_KERNEL:-6.1} ($teeth)" >&2
	set -- "$@" "$p"
	shift
done

caught=0 missed=0
summary=()
for p in "$@"; do
	name=$(basename "$p" .patch)
	dir=$BUILD/teeth/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -a "$BUILD/rxe" "$dir/rxe"
	echo "teeth: $name: $(sed -n '/^---/q; /^Tests: /d; s/^Planted bug: //; p' "$p" | tr '\n' ' ')"
	ptests=$(sed -n '/^---/q; s/^Tests: //p' "$p")
	if ! patch -s -p1 -d "$dir/rxe" < "$p"; then
		echo "teeth: $name: does not apply" >&2
		exit 1
	fi
	# shellcheck disable=SC2086
	if ! make -s -C "$kdir" M="$dir/rxe" $kflags modules > "$dir/build.log" 2>&1; then
		cat "$dir/build.log" >&2
		exit 1
	fi
	# shellcheck disable=SC2086
	RXE_KO=$dir/rxe/rdma_rxe.ko RXE_CHECK_RESULTS=$dir/vm \
		RXE_VM_TIMEOUT=${RXE_VM_TIMEOUT:-$tmo} RXE_STRESS_SECONDS=${RXE_STRESS_SECONDS:-$stress_s} RXE_VM_ARGS="$vmargs ${RXE_VM_ARGS:-}" \
		"$top/tools/check.sh" ${ptests:-$tests} > "$dir/check.log" 2>&1
	rc=$?
	if [ $rc != 0 ]; then
		caught=$((caught + 1))
		# A bound that ran out catches a bug only if the correct module
		# finishes within it: say so rather than count it silently.
		if grep -q -E 'exit 124|vm: timed out' "$dir/check.log"; then
			summary+=("CAUGHT $name (by a timeout: check that the correct module finishes within the same bounds)")
		else
			summary+=("CAUGHT $name")
		fi
		# what caught it: failed tests, their first complaints, splats
		grep -h -E '^not ok |FAIL: ' "$dir"/vm/out/*.tap 2>/dev/null |
			awk '!seen[$0]++' | head -n 6 | sed 's/^/    /'
		head -n 4 "$dir/vm/splats" 2>/dev/null | sed 's/^/    splat: /'
		grep -h 'vm: timed out' "$dir/check.log" | sed 's/^/    /'
	else
		missed=$((missed + 1))
		summary+=("MISSED $name")
	fi
	echo "teeth: $name: $(tail -n 1 "$dir/check.log") (exit $rc; log $dir/check.log)"
done
printf '%s\n' "${summary[@]}"
echo "$caught caught, $missed missed"
[ $missed = 0 ]
