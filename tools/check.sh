#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: boot the VM once, run every selftest in it, then summarise on
# the host. The last line is "N passed, N failed, N skipped"; the exit code
# is non-zero if anything failed, including a kernel splat in the guest's
# dmesg or a guest that did not finish.
#
#   tools/check.sh [TEST...]     (extra tools/vm/run options in RXE_VM_ARGS)
#
# RXE_KO (default $BUILD/rxe/rdma_rxe.ko) and RXE_CHECK_RESULTS (default
# $BUILD/vm/check) let make check-debug run the suite on the debug kernel.
# RXE_VM_ARGS=--final-checks also removes rxe0, unloads the module and runs
# kmemleak (where the kernel has it) after the suite; --kernel implies it.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# the build directory of kernel RXE_KERNEL (6.1 or 6.12), as the Makefile has it
. "$top/tools/build-dir.sh"
export BUILD
ko=${RXE_KO:-$BUILD/rxe/rdma_rxe.ko}

version=$(modinfo -F version "$ko") || exit 1
srcversion=$(modinfo -F srcversion "$ko") || exit 1
[ "$version" = "$(cat "$BUILD/version")" ] || {
	echo "check: $ko is $version, build/version says $(cat "$BUILD/version")" >&2
	exit 1
}

results=${RXE_CHECK_RESULTS:-$BUILD/vm/check}
rm -rf "$results"
start=$(date +%s)
# shellcheck disable=SC2086
"$top/tools/vm/run" --results "$results" --ko "$ko" ${RXE_VM_ARGS:-} -- \
	env RXE_EXPECT_VERSION="$version" RXE_EXPECT_SRCVERSION="$srcversion" RXE_TOP="$top" \
	${RXE_STRESS_SECONDS:+RXE_STRESS_SECONDS="$RXE_STRESS_SECONDS"} \
	${RXE_TEST_TIMEOUT:+RXE_TEST_TIMEOUT="$RXE_TEST_TIMEOUT"} \
	${RXE_POLL_TIMEOUT:+RXE_POLL_TIMEOUT="$RXE_POLL_TIMEOUT"} \
	${RXE_FUZZ_PKTS:+RXE_FUZZ_PKTS="$RXE_FUZZ_PKTS"} \
	${RXE_FUZZ_SEED:+RXE_FUZZ_SEED="$RXE_FUZZ_SEED"} \
	"$BUILD/selftests/run.sh" "$@"
vmrc=$?

pass=0 fail=0 skip=0
failed=()
result() {	# result pass|fail|skip NAME
	case $1 in
	pass) pass=$((pass + 1)) ;;
	skip) skip=$((skip + 1)) ;;
	fail) fail=$((fail + 1)); failed+=("$2") ;;
	esac
}

if [ $# -gt 0 ]; then tests=("$@"); else mapfile -t tests < "$BUILD/selftests/tests.list"; fi
for t in "${tests[@]}"; do
	tap=$results/out/$t.tap
	if [ ! -s "$tap" ]; then
		result fail "$t: did not run"
		continue
	fi
	n=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# SKIP"*) result skip "$t"; n=$((n + 1)) ;;
		"ok "*) result pass "$t"; n=$((n + 1)) ;;
		"not ok "*) result fail "$t: ${line#not ok }"; n=$((n + 1)) ;;
		esac
	done < "$tap"
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -n1)
	rc=$(cat "$results/out/$t.rc" 2>/dev/null || echo missing)
	if [ "$n" = 0 ] || [ "${planned:-x}" != "$n" ]; then
		result fail "$t: ran $n of ${planned:-?} planned tests (exit $rc)"
	elif [ "$rc" != 0 ] && ! grep -q '^not ok ' "$tap"; then
		result fail "$t: exit $rc without a failed test"
	fi
done

# On the host: the library installs, and a program builds against it with
# pkg-config alone.
inst=$BUILD/install-test
rm -rf "$inst"
if make -s -C "$top" install DESTDIR="$inst" PREFIX=/usr >"$BUILD/install-test.log" 2>&1 &&
   printf '#include <rxe_revoke.h>\nint main(void) { return rxer_revoke_mr((void *)0) == 22 ? 0 : 1; }\n' > "$inst/t.c" &&
   PKG_CONFIG_PATH="$inst/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$inst" \
	cc -Wall -Wextra -Werror -o "$inst/t" "$inst/t.c" \
	$(PKG_CONFIG_PATH="$inst/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$inst" pkg-config --cflags --libs librxerevoke) \
	>>"$BUILD/install-test.log" 2>&1 &&
   LD_LIBRARY_PATH="$inst/usr/lib" "$inst/t"; then
	result pass lib_install
else
	result fail "lib_install: see $BUILD/install-test.log"
fi

# The guest itself: it finished, and its kernel log has no splat.
if [ -s "$results/exit-code" ]; then result pass vm; else result fail "vm: guest did not finish (exit $vmrc)"; fi
if [ -s "$results/splats" ]; then result fail "vm: kernel splats in dmesg, a leak or a failed unload: $results/splats"; else result pass dmesg; fi

echo "check: $version in $(( $(date +%s) - start )) s; results in $results"
for f in "${failed[@]}"; do echo "FAILED: $f"; done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
