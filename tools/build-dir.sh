# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by the tools (needs $top, the repository root): BUILD, unless set
# already, is the build directory of kernel RXE_KERNEL as the Makefile has
# it: build/ for 6.1 (the default), build/kK for another kernel K.
if [ "${RXE_KERNEL:-6.1}" = 6.1 ]; then
	BUILD=${BUILD:-$top/build}
else
	BUILD=${BUILD:-$top/build/k$RXE_KERNEL}
fi
