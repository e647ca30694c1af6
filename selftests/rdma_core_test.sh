#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rdma-core 44.0's own pyverbs test suite (tests/run_tests.py) against
# rxe0, judged against selftests/rdma-core-44.expected. Runs in the VM (see
# selftests/run.sh), in one of two modes:
#
#   rdma_core_test.sh            stock: Debian's rdma-core 44 as installed
#                                (libibverbs, rxe provider, python3-pyverbs),
#                                the suite of the source archive unchanged:
#                                what a user who cannot replace rdma-core has
#   rdma_core_test.sh --patched  the patched rdma-core of tools/rdma-core.sh
#                                ($RXE_RDMA_CORE, set by tools/vm/run): its
#                                libibverbs, provider and pyverbs, and its
#                                tests/, which has our tests of rxedv too
#                                (rdma_core_patched_test.sh runs this)
#
# selftests/rdma-core-44.expected.K, if it exists for the running kernel's
# series K (e.g. 6.12), is read after it and overrides entries.
#
# TAP, one line per rdma-core test:
#
#   ok                 the test passed and is not in the expected file
#   ok ... # SKIP      the test skipped or failed as the expected file says
#                      (listed SKIP, FAIL, or FLAKY and it failed this time)
#   ok ... # listed    a test listed SKIP or FAIL now passes: reported, update
#                      the file; or a test listed FLAKY passed
#   not ok             anything else (a failure, an error, a skip not listed,
#                      a listed test that did not run, a test that never
#                      finished), and a last line for the run itself
#
# Stock: the suite comes from the source archive (upstream tag v44.0, git
# archive, no leading directory), checked against its sha256 (pinned in
# tools/rdma-core.sh) and extracted (tests/ only) into $BUILD/rdma-core-44.0
# once per archive; nothing of rdma-core is in this repository. Patched:
# the suite is the patched tree's. A line of the expected file that starts
# with [stock] or [patched] applies to that mode only.
# Documentation/rdma-core-suite.rst has the results and the reason for every
# entry of the expected file.
#
# RXE_RDMA_CORE_TARBALL   the archive (default /work/shared/rdma-core/rdma-core-44.0.tar.gz);
#                         missing: one skipped test
# RXE_RDMA_CORE_TIMEOUT   bound on the whole run (s, default 600)
# RDMA_CORE_TEST_TIMEOUT  bound on each test (s, default 120; tools/rdma-core-run.py)
# RXE_RDMA_CORE_HUGEPAGES 2 MiB huge pages during the run (default 64)
# RXE_RDMA_CORE_TESTS     run only these test names (e.g. tests.test_cq.CQTest);
#                         listed tests that did not run are then not judged
# The raw outcomes go to $RXE_VM_OUT/rdma-core-44.tsv (patched:
# rdma-core-44-patched.tsv; see tools/rdma-core-run.py).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=${RXE_TOP:-$(cd "$here/../.." && pwd)}
BUILD=${BUILD:-$top/build}
# shellcheck source=tools/vm/lib.sh
. "$top/tools/vm/lib.sh"
mode=stock
[ "${1:-}" = --patched ] && mode=patched
dev=${RXE_DEV:-rxe0}
py=/usr/bin/python3	# Debian's: a pyenv python3 on PATH has no pyverbs
tarball=${RXE_RDMA_CORE_TARBALL:-$top/../shared/rdma-core/rdma-core-44.0.tar.gz}
sha=$("$top/tools/rdma-core.sh" --sha256)
src=$BUILD/rdma-core-44.0
expected=$top/selftests/rdma-core-44.expected
out=${RXE_VM_OUT:-/tmp}
rec=$out/rdma-core-44.tsv

echo "TAP version 13"
if [ $mode = patched ]; then
	# The patched rdma-core's libraries and pyverbs, as tools/vm/run set
	# them up; its tests/ (with ours).
	src=${RXE_RDMA_CORE:-stock}
	rec=$out/rdma-core-44-patched.tsv
	if [ "$src" = stock ] || [ ! -s "$src/.built" ]; then
		echo "1..1"
		echo "ok 1 rdma-core-44-patched # SKIP no patched rdma-core in this run (RXE_RDMA_CORE=$src: see tools/rdma-core.sh, tools/vm/run --rdma-core)"
		exit 0
	fi
	export LD_LIBRARY_PATH=$src/build/lib PYTHONPATH=$src/build/python
else
	# Debian's rdma-core, whatever the VM put first.
	unset LD_LIBRARY_PATH PYTHONPATH
fi
if [ $mode = patched ]; then
	:
elif [ ! -r "$tarball" ]; then
	echo "1..1"
	echo "ok 1 rdma-core-44 # SKIP no $tarball"
	exit 0
elif [ "$(cat "$src/.sha256" 2>/dev/null)" != "$sha" ]; then
	got=$(sha256sum < "$tarball")
	if [ "${got%% *}" != "$sha" ]; then
		echo "1..1"
		echo "not ok 1 rdma-core-44 # $tarball: sha256 ${got%% *}, want $sha"
		exit 1
	fi
	if ! { rm -rf "$src" && mkdir -p "$src" && tar -xzf "$tarball" -C "$src" tests &&
	       echo "$sha" > "$src/.sha256"; }; then
		echo "1..1"
		echo "not ok 1 rdma-core-44 # extracting $tarball into $src failed"
		exit 1
	fi
fi

gid=$(rxe_roce_v2_gid_index "$dev")
if [ -z "$gid" ] || ! pyverbs=$("$py" -c 'import pyverbs.device; print(pyverbs.device.__file__)' 2>/dev/null); then
	echo "1..1"
	echo "not ok 1 rdma-core-44 # no RoCEv2 IPv4 GID on $dev ('$gid') or no pyverbs in $py ($mode)"
	exit 1
fi
case $mode/$pyverbs in
patched/"$src"/*|stock//usr/lib/python3/dist-packages/*) ;;
*)	echo "1..1"
	echo "not ok 1 rdma-core-44 # $mode rdma-core, but pyverbs comes from $pyverbs"
	exit 1 ;;
esac

# Huge pages for the tests that use them (test_mr, test_mlx5_huge_page
# check /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages), given
# back afterwards.
hp=/proc/sys/vm/nr_hugepages
read -r hp_old < "$hp"
trap 'echo "$hp_old" > "$hp"' EXIT
echo "${RXE_RDMA_CORE_HUGEPAGES:-64}" > "$hp"
echo "# rdma-core 44.0 tests ($mode rdma-core: $src) on $dev, GID index $gid, $(cat "$hp") huge pages, module $(cat /sys/module/rdma_rxe/version 2>/dev/null || echo stock)"
echo "# pyverbs: $pyverbs"

rm -f "$rec"
start=$SECONDS
# shellcheck disable=SC2086
(cd "$src" && timeout -k 10 "${RXE_RDMA_CORE_TIMEOUT:-600}" "$py" "$top/tools/rdma-core-run.py" \
	"$rec" "$src/tests" --dev "$dev" --gid "$gid" -v ${RXE_RDMA_CORE_TESTS:-}) 2>&1 | sed -u 's/^/# /'
prc=${PIPESTATUS[0]}
echo "# run_tests.py exited $prc after $((SECONDS - start)) s"

# Outcomes, in the order the tests ran (the worst one if a test has two).
declare -A res why want wwhy rank=([NONE]=-1 [OK]=0 [SKIP]=1 [FAIL]=2 [ERROR]=3)
order=()
while IFS=$'\t' read -r kind id reason; do
	case $kind in note) continue ;; esac
	[ -n "${res[$id]+x}" ] || { order+=("$id"); res[$id]=NONE; }
	[ "$kind" = start ] && continue
	if [ "${rank[$kind]:-3}" -gt "${rank[${res[$id]}]}" ]; then
		res[$id]=$kind why[$id]=$reason
	fi
done < <(cat "$rec" 2>/dev/null)
# The file of the running kernel's series (rdma-core-44.expected.6.12),
# if any, comes after and overrides; PASS there takes a test off the list.
series=$(uname -r | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
while read -r id kind reason; do	# [MODE] TEST_ID SKIP|FAIL|FLAKY|PASS REASON
	case $id in
	''|'#'*) continue ;;
	"[$mode]") read -r id kind reason <<< "$kind $reason" ;;
	'['*']') continue ;;	# the other mode's
	esac
	if [ "$kind" = PASS ]; then
		unset "want[$id]" "wwhy[$id]"
	else
		want[$id]=$kind wwhy[$id]=$reason
	fi
done < <(cat "$expected" "$expected.$series" 2>/dev/null)

n=0 failed=0 nok=0 nskip=0 nfail=0 nerr=0 nnone=0 new=()
tap() {	# tap ok|notok TEXT
	n=$((n + 1))
	if [ "$1" = ok ]; then echo "ok $n $2"; else echo "not ok $n $2"; failed=1; fi
}
for id in "${!want[@]}"; do
	case ${want[$id]} in
	SKIP|FAIL|FLAKY) ;;
	*) tap notok "$id # rdma-core-44.expected: '${want[$id]}' is not SKIP, FAIL or FLAKY"
	   unset "want[$id]" ;;
	esac
done
for id in "${order[@]}"; do
	r=${res[$id]} w=${want[$id]:-OK} y=${why[$id]:-}
	case $r in
	OK) nok=$((nok + 1)) ;; SKIP) nskip=$((nskip + 1)) ;; FAIL) nfail=$((nfail + 1)) ;;
	ERROR) nerr=$((nerr + 1)) ;; NONE) nnone=$((nnone + 1)) ;;
	esac
	case $r/$w in
	OK/OK)		tap ok "$id" ;;
	OK/FLAKY)	tap ok "$id # listed FLAKY, passed this time" ;;
	OK/*)		tap ok "$id # listed as $w in rdma-core-44.expected, passes now: update the file"
			new+=("$id (listed $w)") ;;
	SKIP/SKIP)	tap ok "$id # SKIP $y" ;;
	FAIL/FAIL|ERROR/FAIL) tap ok "$id # SKIP known failure ($r: $y): ${wwhy[$id]}" ;;
	FAIL/FLAKY|ERROR/FLAKY) tap ok "$id # SKIP listed FLAKY, failed this time ($r: $y): ${wwhy[$id]}" ;;
	NONE/*)		tap notok "$id # did not finish (run timed out or died in it)" ;;
	SKIP/OK)	tap notok "$id # skipped, not in rdma-core-44.expected: $y" ;;
	SKIP/*)		tap notok "$id # skipped, listed as $w: $y" ;;
	*/OK)		tap notok "$id # $r: $y" ;;
	*)		tap notok "$id # $r, listed as $w: $y" ;;
	esac
done
if [ -z "${RXE_RDMA_CORE_TESTS:-}" ]; then
	for id in "${!want[@]}"; do
		[ -n "${res[$id]+x}" ] || tap notok "$id # listed as ${want[$id]} in rdma-core-44.expected but did not run"
	done
fi
# run_tests.py exits 1 when a test failed, even an expected one.
r=notok
{ [ "$prc" = 0 ] || [ "$prc" = 1 ]; } && [ "$nnone" = 0 ] && r=ok
tap $r "run_tests.py completed (exit $prc, $((SECONDS - start)) s)"
echo "# rdma-core 44.0 ($mode): ${#order[@]} tests: $nok ok, $nskip skipped, $nfail failed, $nerr errors, $nnone unfinished"
for x in "${new[@]}"; do echo "# NOTE: passes now, remove from rdma-core-44.expected: $x"; done
echo "1..$n"
exit $failed
