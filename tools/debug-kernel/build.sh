#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (incrementally) the rxe-revoke debug kernel: Debian's linux-source-K
# (K = RXE_KERNEL, 6.1 by default, or 6.12) with x86_64_defconfig +
# kvm_guest.config + tools/debug-kernel/debug.config (KASAN, lockdep, KFENCE, kmemleak, DEBUG_LIST/OBJECTS, fault injection; all
# the VM needs built in). The source is extracted once into a kept directory
# outside the git tree, objects go to a separate O= directory and the
# compiler runs through ccache, so a rebuild only redoes what changed.
#
#   tools/debug-kernel/build.sh            build; print the O= directory
#   tools/debug-kernel/build.sh --dir      only print the O= directory
#   tools/debug-kernel/build.sh --config   extract and configure only (checks
#                                          that every option of debug.config
#                                          holds for this kernel), no build
#
# Environment: RXE_DEBUG_KERNEL_DIR (default /var/cache/rxe-revoke/debug-kernel
# for 6.1, .../debug-kernel-K for another K; falls back to
# $BUILD/debug-kernel if that is not writable), RXE_DEBUG_JOBS
# (default nproc). Result: $DIR/obj/arch/x86/boot/bzImage, $DIR/obj/Module.symvers
# and $DIR/obj/kernel.release.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
K=${RXE_KERNEL:-6.1}
tarball=/usr/src/linux-source-$K.tar.xz
frag=$here/debug.config

if [ "$K" = 6.1 ]; then
	dir=${RXE_DEBUG_KERNEL_DIR:-/var/cache/rxe-revoke/debug-kernel}
else
	dir=${RXE_DEBUG_KERNEL_DIR:-/var/cache/rxe-revoke/debug-kernel-$K}
fi
if ! mkdir -p "$dir" 2>/dev/null || [ ! -w "$dir" ]; then
	dir=${BUILD:-$top/build}/debug-kernel
	mkdir -p "$dir"
fi
src=$dir/linux-source-$K
obj=$dir/obj
if [ "${1:-}" = --dir ]; then
	echo "$obj"
	exit 0
fi

log() { echo "debug-kernel: $*" >&2; }
[ -r "$tarball" ] || { log "$tarball missing: run tools/deps.sh"; exit 1; }

# 1. Source, extracted once per linux-source-K version.
srcver=$(dpkg-query -W -f='${Version}' "linux-source-$K")
if [ "$(cat "$dir/source.version" 2>/dev/null)" != "$srcver" ] || [ ! -f "$src/Makefile" ]; then
	log "extracting $tarball ($srcver) into $dir"
	rm -rf "$src" "$obj" "$dir/source.version"
	tar -C "$dir" -xf "$tarball"
	echo "$srcver" > "$dir/source.version"
fi

# 2. Config, regenerated when the fragment changes.
mkdir -p "$obj"
export CCACHE_DIR=${CCACHE_DIR:-$dir/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
jobs=${RXE_DEBUG_JOBS:-$(nproc)}
kmake=(nice make -s -C "$src" O="$obj" -j"$jobs" CC="ccache gcc" HOSTCC="ccache gcc")
fraghash=$(cat "$frag" "$src/kernel/configs/kvm_guest.config" | sha256sum | cut -c1-16)
if [ "$(cat "$obj/.rxe-config-hash" 2>/dev/null)" != "$fraghash" ] || [ ! -f "$obj/.config" ]; then
	log "configuring (x86_64_defconfig + kvm_guest.config + debug.config)"
	"${kmake[@]}" x86_64_defconfig >/dev/null
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$src/kernel/configs/kvm_guest.config" "$frag" >/dev/null)
	"${kmake[@]}" olddefconfig >/dev/null
	# Every option the fragment sets must have survived olddefconfig.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) want=$line ;;
		"# CONFIG_"*" is not set") want=$line ;;
		*) continue ;;
		esac
		opt=${want#\# }
		opt=${opt%%[= ]*}
		got=$(grep -E "^(# )?${opt}[= ]" "$obj/.config" || echo "# $opt is not set")
		if [ "$got" != "$want" ]; then
			log "config: wanted '$want', got '$got'"
			bad=1
		fi
	done < "$frag"
	[ $bad = 0 ] || { log "fix $frag (dependencies)"; exit 1; }
	echo "$fraghash" > "$obj/.rxe-config-hash"
fi
if [ "${1:-}" = --config ]; then
	log "configured $obj/.config ($srcver)"
	exit 0
fi

# 3. Build: bzImage, vmlinux/Module.symvers and the (few) in-tree modules.
log "building in $obj ($jobs jobs, ccache $CCACHE_DIR)"
start=$(date +%s)
"${kmake[@]}" all
"${kmake[@]}" kernelrelease > "$obj/kernel.release"
log "built $(cat "$obj/kernel.release") in $(( $(date +%s) - start )) s"
echo "$obj"
