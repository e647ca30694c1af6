#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rdma-core 44.0 with our patch series (rdma-core-patches/*.patch), built in
# place with cmake + ninja. Nothing of rdma-core is stored in this
# repository: the source is the archive of upstream tag v44.0, checked
# against its pinned sha256 (and the SHA256SUMS beside it), unpacked and
# patched at build time, like the kernel patches of tools/assemble.sh.
#
#   tools/rdma-core.sh              build if needed; print the build's directory
#   tools/rdma-core.sh --optional   the same, but without the archive only say so
#   tools/rdma-core.sh --dir        print that directory (no build; may not exist)
#   tools/rdma-core.sh --key        print the cache key
#   tools/rdma-core.sh --sha256     print the pinned sha256 of the archive
#   tools/rdma-core.sh --src DIR    unpack and patch into DIR only (no build)
#   tools/rdma-core.sh --debs DIR   Debian packages of the patched rdma-core in
#                                   DIR (make rdma-core-debs): Debian 12's own
#                                   packaging (rdma-core 44.0-2's debian/,
#                                   fetched with apt's source machinery and
#                                   checked against its pinned sha256) with the
#                                   series' changes to debian/ carried over,
#                                   version 44.0-2+rxerevoke1, built with
#                                   dpkg-buildpackage -b; installs the missing
#                                   build dependencies (root)
#   tools/rdma-core.sh --extract DIR FILE...
#                                   FILEs (paths in rdma-core) as the series
#                                   leaves them, into DIR, from the patches
#                                   alone: for files the series creates, no
#                                   archive needed (lib/Makefile takes rxedv.c
#                                   and rxedv.h so)
#   tools/rdma-core.sh --git DIR    the same as a git tree: the archive as
#                                   the first commit, then one commit per
#                                   patch (git am), to edit the series;
#                                   write it back with
#                                     git format-patch -N --zero-commit --no-signature \
#                                       -o rdma-core-patches/ HEAD~N
#                                   (Documentation/rdma-core-patches.rst)
#
# The build lives in $BUILD/rdma-core-KEY/ (the patched source tree; the
# build itself in its build/ subdirectory, as rdma-core's build.sh does),
# KEY being a hash of the archive, the patches and the build recipe below.
# A tree whose key matches and that finished building is reused at once,
# so make does not rebuild rdma-core unless a patch (or the archive)
# changed; an older KEY's tree is removed. $BUILD/rdma-core points at the
# current one. The in-place build records absolute paths (its driver files
# name $BUILD/rdma-core-KEY/build/lib), so use it from that path: the test
# VM sees the host's root at the same paths.
#
# Use without installing (tools/vm/run does this in the guest):
#   LD_LIBRARY_PATH=$BUILD/rdma-core/build/lib          libibverbs, providers
#   PYTHONPATH=$BUILD/rdma-core/build/python            pyverbs
#   $BUILD/rdma-core/build/bin/ibv_devinfo              the tools
#
# RXE_RDMA_CORE_TARBALL  the archive (default: ../shared/rdma-core/rdma-core-44.0.tar.gz
#                        beside this checkout, as selftests/rdma_core_test.sh)
# RXE_RDMA_CORE_CCACHE   0 to build without ccache (default: with it if installed)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
tarball=${RXE_RDMA_CORE_TARBALL:-$top/../shared/rdma-core/rdma-core-44.0.tar.gz}
sha=882a575f26a674c830202e0c58e8a4c03f0d637c362d9931072c876449432cf2
patches=("$top"/rdma-core-patches/[0-9][0-9][0-9][0-9]-*.patch)
[ -e "${patches[0]}" ] || patches=()
# The build recipe: a change here must change the key. Pyverbs needs
# Debian's python3 (a pyenv python3 on PATH has no Cython, and rdma-core's
# CMake then drops pyverbs silently); the man pages need pandoc, which only
# make rdma-core-debs installs.
cmake_flags=(-GNinja -DIN_PLACE=1 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENABLE_WERROR=1
	     -DNO_MAN_PAGES=1 -DPYTHON_EXECUTABLE=/usr/bin/python3)
recipe="1 ${cmake_flags[*]}"

log() { echo "rdma-core: $*" >&2; }
die() { log "$*"; exit 1; }

check_tarball() {
	local got sums
	[ -r "$tarball" ] || die "$tarball missing"
	got=$(sha256sum < "$tarball")
	got=${got%% *}
	[ "$got" = "$sha" ] || die "$tarball: sha256 $got, want $sha"
	sums=$(dirname "$tarball")/SHA256SUMS
	if [ -r "$sums" ]; then
		grep -q "^$sha  $(basename "$tarball")\$" "$sums" ||
			die "$tarball is not the archive that $sums names"
	fi
}

key() {
	{
		echo "$sha"
		echo "$recipe"
		for p in "${patches[@]}"; do
			basename "$p"
			sha256sum < "$p"
		done
	} | sha256sum | cut -c1-12
}

# unpack DIR: the archive, then the series, each patch exactly (no fuzz).
unpack() {
	local dir=$1 p
	mkdir -p "$dir"
	tar -xzf "$tarball" -C "$dir"
	for p in "${patches[@]}"; do
		patch -s -p1 -d "$dir" --batch --no-backup-if-mismatch -r - -F0 < "$p" ||
			die "$(basename "$p") does not apply"
	done
	# Our uAPI header travels in the series as rdma-core's copy of a
	# kernel header: it must be the one the module is built with.
	if [ -e "$dir/kernel-headers/rdma/rxe_revoke-abi.h" ]; then
		cmp -s "$dir/kernel-headers/rdma/rxe_revoke-abi.h" "$top/include/uapi/rdma/rxe_revoke-abi.h" ||
			die "kernel-headers/rdma/rxe_revoke-abi.h of the series differs from include/uapi/rdma/rxe_revoke-abi.h: update the patch"
	fi
}

# Debian 12's packaging of rdma-core 44.0: the archive's debian/ is
# upstream's (44.0-1), Debian's is 44.0-2 (debhelper-compat 13, no -dbg
# packages, dh_missing --fail-missing). Its .debian.tar.xz comes from the
# deb-src index of bookworm through apt's own tools, with a private apt
# state (nothing is added to the host's sources); the .orig.tar.gz, which
# the archive answers 404 for, is not needed: our tarball is the source.
deb_version=44.0-2
deb_tarball=rdma-core_$deb_version.debian.tar.xz
deb_sha=9dc027def281b6809562f296dea05693b79a0ef784eb2795f2154c6077f4a73d
deb_mirror=${RXE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

fetch_debian_dir() {	# fetch_debian_dir DIR: $deb_tarball into DIR (cached)
	local dir=$1 apt uri got
	if [ -e "$dir/$deb_tarball" ]; then
		got=$(sha256sum < "$dir/$deb_tarball")
		[ "${got%% *}" = "$deb_sha" ] && return 0
	fi
	apt=$dir/apt
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
	echo "deb-src $deb_mirror bookworm main" > "$apt/sources.list"
	local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
		    -o APT::Sandbox::User=root)
	log "fetching $deb_tarball (apt-get source --print-uris, private apt state in $apt)"
	apt-get -qq "${opts[@]}" update >&2 || die "apt-get update of $deb_mirror bookworm sources failed"
	uri=$(apt-get -qq "${opts[@]}" source --print-uris "rdma-core=$deb_version" |
		awk -v f="$deb_tarball" '$2 == f { gsub("\047", "", $1); print $1 }')
	[ -n "$uri" ] || die "no $deb_tarball in the bookworm sources"
	/usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$uri" "$dir/$deb_tarball" "SHA256:$deb_sha" >&2 ||
		die "downloading $uri failed"
}

build_debs() {	# build_debs OUT
	local out=$1 src pristine f start missing
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	fetch_debian_dir "$out"
	src=$out/rdma-core-44.0
	pristine=$out/upstream-debian
	rm -rf "$src" "$pristine" "$out/patched-debian" "$out"/*.deb "$out"/*.ddeb "$out"/*.buildinfo "$out"/*.changes
	unpack "$src"
	mkdir -p "$pristine"
	tar -xzf "$tarball" -C "$pristine" debian
	# Debian's debian/, and on it what the series changed in upstream's
	mv "$src/debian" "$out/patched-debian"
	tar -xJf "$out/$deb_tarball" -C "$src"
	for f in $(cd "$out/patched-debian" && find . -type f | sort); do
		f=${f#./}
		if [ ! -e "$pristine/debian/$f" ]; then
			cp "$out/patched-debian/$f" "$src/debian/$f"
		elif ! cmp -s "$pristine/debian/$f" "$out/patched-debian/$f"; then
			{ diff -u "$pristine/debian/$f" "$out/patched-debian/$f" || true; } |
				patch -s --batch --no-backup-if-mismatch -r - -F2 "$src/debian/$f" ||
				die "the series' change to debian/$f does not apply to Debian's"
			log "debian/$f: the series' change carried over to Debian's"
		fi
	done
	rm -rf "$out/patched-debian" "$pristine"
	{
		echo "rdma-core ($deb_version+rxerevoke1) UNRELEASED; urgency=medium"
		echo
		echo "  * rxe-revoke: rdma-core-patches/ (key $(key)):"
		for p in "${patches[@]}"; do
			echo "    - $(sed -n 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//p' "$p" | head -n1)"
		done
		echo
		echo " -- rxe-revoke <rxe-revoke@localhost>  $(date -R)"
		echo
		cat "$src/debian/changelog"
	} > "$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
	missing=$(cd "$src" && dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p' |
		sed -e 's/([^)]*)//g' -e 's/|[^ ]*//g')
	if [ -n "$missing" ]; then
		[ "$(id -u)" = 0 ] || die "build dependencies missing, as root: apt-get install $missing"
		log "installing build dependencies: $missing"
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
			die "installing $missing failed"
	fi
	start=$(date +%s)
	log "dpkg-buildpackage -b in $src (log: $out/build.log)"
	# Debian's python3 and tools, whatever PATH has first (a pyenv shim)
	(cd "$src" && PATH=/usr/sbin:/usr/bin:/sbin:/bin DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
		dpkg-buildpackage -b -uc -us > "$out/build.log" 2>&1) || {
		tail -n 30 "$out/build.log" >&2
		die "dpkg-buildpackage failed: $out/build.log"
	}
	log "built in $(( $(date +%s) - start )) s:"
	ls -1 "$out"/*.deb >&2
}

case "${1:-}" in
--sha256) echo "$sha"; exit 0 ;;
--key) key; exit 0 ;;
--dir) echo "$BUILD/rdma-core-$(key)"; exit 0 ;;
--src)
	[ $# = 2 ] || die "usage: $0 --src DIR"
	[ ! -e "$2" ] || die "$2 exists"
	check_tarball
	unpack "$2"
	exit 0 ;;
--debs)
	[ $# = 2 ] || die "usage: $0 --debs DIR"
	check_tarball
	build_debs "$2"
	exit 0 ;;
--extract)
	[ $# -ge 3 ] || die "usage: $0 --extract DIR FILE..."
	out=$2
	shift 2
	inc=()
	for f in "$@"; do inc+=(--include="$f"); done
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	# git apply outside any repository (this checkout is one): the
	# ceiling stops the search at the directory above.
	for p in "${patches[@]}"; do
		GIT_CEILING_DIRECTORIES=$(dirname "$out") git -C "$out.tmp" apply "${inc[@]}" "$p" ||
			die "$(basename "$p"): cannot extract $*"
	done
	for f in "$@"; do
		[ -e "$out.tmp/$f" ] || die "the series does not create $f"
	done
	rm -rf "$out"
	mv "$out.tmp" "$out"
	exit 0 ;;
--git)
	[ $# = 2 ] || die "usage: $0 --git DIR"
	[ ! -e "$2" ] || die "$2 exists"
	check_tarball
	mkdir -p "$2"
	tar -xzf "$tarball" -C "$2"
	cd "$2"
	git init -q
	git add -A
	git -c user.name=rxe-revoke -c user.email=rxe-revoke@localhost \
		commit -q -m "rdma-core 44.0 (v44.0, $sha)"
	for p in "${patches[@]}"; do
		git -c user.name=rxe-revoke -c user.email=rxe-revoke@localhost \
			am -q --committer-date-is-author-date "$p" || die "git am $(basename "$p") failed"
	done
	log "$2: $(git rev-list --count HEAD) commits; edit, commit, then git format-patch"
	exit 0 ;;
''|--optional) ;;
*) sed -n '4,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

if [ "${1:-}" = --optional ] && [ ! -r "$tarball" ]; then
	log "$tarball missing: no patched rdma-core (the suite's patched run will skip)"
	exit 0
fi
check_tarball
k=$(key)
dir=$BUILD/rdma-core-$k
if [ "$(cat "$dir/.built" 2>/dev/null)" = "$k" ]; then
	ln -sfn "rdma-core-$k" "$BUILD/rdma-core"
	echo "$dir"
	exit 0
fi

mkdir -p "$BUILD"
exec 9> "$BUILD/rdma-core.lock"
flock 9
if [ "$(cat "$dir/.built" 2>/dev/null)" = "$k" ]; then	# built meanwhile
	echo "$dir"
	exit 0
fi

if ! /usr/bin/python3 -c 'import Cython' 2>/dev/null; then
	die "/usr/bin/python3 has no Cython (cython3): pyverbs would be dropped; run tools/deps.sh"
fi
if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
	die "cmake or ninja missing; run tools/deps.sh"
fi

start=$(date +%s)
log "building $dir (${#patches[@]} patches): unpack, patch, cmake, ninja"
rm -rf "$dir"
unpack "$dir"
launcher=()
if [ "${RXE_RDMA_CORE_CCACHE:-1}" = 1 ] && command -v ccache >/dev/null; then
	launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
	# Every key has its own directory: hash paths relative to it, and
	# not the directory itself, so that a tree of a new key (one patch
	# changed) hits the cache for every file the patch did not change.
	# The price: debug info may name an older key's directory.
	export CCACHE_BASEDIR=$dir CCACHE_NOHASHDIR=1
fi
(cd "$dir" && mkdir -p build && cd build &&
	cmake "${cmake_flags[@]}" "${launcher[@]}" .. > cmake.log 2>&1) || {
	tail -n 30 "$dir/build/cmake.log" >&2
	die "cmake failed: $dir/build/cmake.log"
}
ninja -C "$dir/build" > "$dir/build/ninja.log" 2>&1 || {
	grep -E 'error|FAILED' "$dir/build/ninja.log" | head -n 30 >&2
	die "ninja failed: $dir/build/ninja.log"
}
ls "$dir"/build/python/pyverbs/device*.so >/dev/null 2>&1 ||
	die "pyverbs was not built (see $dir/build/cmake.log)"
end=$(date +%s)
echo "$((end - start))" > "$dir/.build-seconds"
echo "$k" > "$dir/.built"
for old in "$BUILD"/rdma-core-[0-9a-f]*; do
	case ${old##*/rdma-core-} in
	"$k"|*[!0-9a-f]*) ;;	# this one, or not ours (rdma-core-44.0 of the suite)
	*) rm -rf "$old" ;;
	esac
done
ln -sfn "rdma-core-$k" "$BUILD/rdma-core"
log "built $dir in $((end - start)) s"
echo "$dir"
