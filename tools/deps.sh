#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages rxe-revoke needs and print the release of the
# Debian kernel whose package version equals the installed linux-source-K,
# K being the kernel series of the build (RXE_KERNEL: 6.1, the default, or
# 6.12; one patch series per kernel in drivers/infiniband/sw/rxe/patches/K).
#
#   tools/deps.sh            install what is missing, print the kernel release
#   tools/deps.sh --release  only print the kernel release (no installs)
#
# The kernel release is never hard-coded: it is found by matching the
# linux-image candidates of series K against the version of linux-source-K.
# Debian names them two ways: linux-image-6.1.0-N-amd64 (ABI number N, up to
# Linux 6.1) and linux-image-6.12.N+debV-amd64 (the upstream stable number,
# from 6.12 on); both are matched.
set -euo pipefail

K=${RXE_KERNEL:-6.1}
case $K in
[0-9]*.[0-9]*) ;;
*) echo "deps: RXE_KERNEL=$K is not a kernel series like 6.1 or 6.12" >&2; exit 1 ;;
esac
Kre=${K//./\\.}
# linux-image-K.0-N-amd64 or linux-image-K.N+debV-amd64
IMAGE_RE="^linux-image-${Kre}(\\.0-[0-9]+|\\.[0-9]+\\+deb[0-9]+)-amd64\$"

PKGS=(
	"linux-source-$K"
	qemu-system-x86
	busybox-static cpio kmod xz-utils iproute2
	build-essential bc flex bison libelf-dev libssl-dev
	rdma-core libibverbs-dev ibverbs-utils ibverbs-providers
	python3-pyverbs perftest rdmacm-utils
	xfsprogs e2fsprogs ndctl
	sparse pkg-config
	dkms graphviz gnuplot-nox ccache
	# rdma-core 44.0 with our patches (tools/rdma-core.sh): Build-Depends
	# of its debian/control less debhelper, pandoc and valgrind, which
	# only make rdma-core-debs needs (it installs them)
	cmake ninja-build cython3 python3-dev libnl-3-dev libnl-route-3-dev
	libsystemd-dev libudev-dev
)

log() { echo "deps: $*" >&2; }

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$p"
	done
}

apt_install() {
	local need
	need=$(missing "$@")
	[ -z "$need" ] && return 0
	[ "$(id -u)" = 0 ] || { log "need root to install: $need"; exit 1; }
	if [ ! -e /var/lib/apt/lists/lock ] || [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ] ||
	   [ -z "$(apt-cache policy $need 2>/dev/null | grep Candidate | grep -v none)" ]; then
		log "apt-get update"
		apt-get update -qq >&2
	fi
	log "installing: $need"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $need >&2
}

# Version of linux-source-K: installed one if any, else the candidate.
source_version() {
	local v
	v=$(dpkg-query -W -f='${Version}' "linux-source-$K" 2>/dev/null || true)
	[ -n "$v" ] || v=$(apt-cache policy "linux-source-$K" | awk '/Candidate:/ {print $2}')
	echo "$v"
}

# Kernel release whose linux-image package has exactly version $1.
find_release() {
	local want=$1 pkg v
	# Installed images first: no apt lists needed.
	for pkg in $(dpkg-query -W -f='${Package}\n' "linux-image-$K.*-amd64" 2>/dev/null |
		     grep -E "$IMAGE_RE"); do
		v=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
		if [ "$v" = "$want" ]; then echo "${pkg#linux-image-}"; return 0; fi
	done
	for pkg in $(apt-cache search --names-only "$IMAGE_RE" | awk '{print $1}'); do
		v=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
		if [ "$v" = "$want" ]; then echo "${pkg#linux-image-}"; return 0; fi
	done
	return 1
}

if [ "${1:-}" = --release ]; then
	rel=$(find_release "$(source_version)") || { log "no linux-image matches linux-source-$K $(source_version)"; exit 1; }
	echo "$rel"
	exit 0
fi

apt_install "${PKGS[@]}"
ver=$(source_version)
rel=$(find_release "$ver") || {
	apt-get update -qq >&2
	rel=$(find_release "$ver") || { log "no linux-image-$K.*-amd64 has version $ver"; exit 1; }
}
apt_install "linux-image-$rel" "linux-headers-$rel"
echo "$rel"
