# SPDX-License-Identifier: GPL-2.0
#
# rxe-revoke: soft-RoCE (rdma_rxe) with revocable and on-demand-paging MRs,
# built out of tree for Debian's Linux 6.1 and 6.12.
#
#   KERNEL=6.1 (default) or KERNEL=6.12 picks the kernel: its patch series
#   (drivers/infiniband/sw/rxe/patches/$(KERNEL)), linux-source-$(KERNEL),
#   the matching Debian image and headers, and the build directory (build/
#   for 6.1, build/k$(KERNEL) otherwise), e.g. make check KERNEL=6.12.
#
#   make            install missing Debian packages, build rdma_rxe.ko and
#                   the userspace parts
#   make check      run the test suite in the QEMU VM (the CI command)
#   make rdma-core  rdma-core 44.0 with rdma-core-patches/, built in place in
#                   build/rdma-core-KEY (cached; part of make)
#   make rdma-core-debs  Debian packages of that rdma-core (build/rdma-core-debs)
#   make demo       the main job: a demo on emulated pmem in the VM
#   make bench      all benchmarks in one VM boot (ratios vs stock rxe)
#   make checkpatch scripts/checkpatch.pl --strict on our C and patches
#   make sparse     rebuild the module under sparse (C=2)
#   make dkms-install / dkms-uninstall   the module with DKMS (root)
#   make check-dkms DKMS install/uninstall tested in the VM
#   make docs       render Documentation/diagrams/*.dot to PNG
#   make check-debug the suite on the debug kernel (KASAN, lockdep, KFENCE,
#                   kmemleak, fault injection): builds that kernel once
#                   (tools/debug-kernel/build.sh, kept and incremental) and
#                   our module against it in build/debug/
#   make check-teeth each planted bug of selftests/teeth/ (selftests/teeth/6.12/
#                   for KERNEL=6.12; or TEETH=PATCH...) must fail the suite
#                   (revoke_test + stress, or its patch's Tests: line);
#                   RXE_TEETH_DEBUG=1 on the debug kernel
#
# See README.md.

TOP      := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KERNEL   ?= $(or $(RXE_KERNEL),6.1)
ifeq ($(KERNEL),6.1)
BUILD    ?= $(TOP)/build
else
BUILD    ?= $(TOP)/build/k$(KERNEL)
endif
RXE      := drivers/infiniband/sw/rxe
VERSION  := rxe-revoke-$(shell git -C $(TOP) describe --always --dirty --tags 2>/dev/null || echo unknown)
V        ?= 0

# Install what is missing once per make invocation and learn the Debian
# kernel release that matches linux-source-$(KERNEL) (never hard-coded).
RXE_KERNEL := $(KERNEL)
export RXE_KERNEL
KREL     := $(shell RXE_KERNEL=$(KERNEL) $(TOP)/tools/deps.sh)
ifeq ($(KREL),)
$(error tools/deps.sh failed: no Debian kernel matching linux-source-$(KERNEL))
endif
KDIR     ?= /lib/modules/$(KREL)/build
# What Kbuild needs to build our rdma_rxe.ko in any M= directory (the
# module, the debug tier's, the planted bugs' of tools/teeth.sh).
# The tests need the test hooks (CONFIG_RDMA_RXE_REVOKE_DEBUG); DKMS builds
# the module without them (dkms/Makefile).
RXE_KFLAGS = CONFIG_RDMA_RXE=m CONFIG_RDMA_RXE_REVOKE=y \
	     CONFIG_RDMA_RXE_REVOKE_DEBUG=y RXE_REVOKE_VERSION=$(VERSION)
KMAKE     = $(MAKE) -C $(KDIR) M=$(BUILD)/rxe V=$(V) $(RXE_KFLAGS)

export BUILD KREL VERSION

.PHONY: rdma-core rdma-core-debs docs dkms-src dkms-install dkms-uninstall check-dkms bench install all module assemble userspace lib selftests demo-tools bench-tools admin-tools check demo checkpatch sparse \
	vm-shell clean distclean FORCE \
	debug-kernel debug-module check-debug check-teeth check-interop

all: module userspace dkms-src rdma-core

assemble:
	@$(TOP)/tools/assemble.sh

module: assemble
	@echo "$(VERSION)" > $(BUILD)/version.tmp
	@cmp -s $(BUILD)/version.tmp $(BUILD)/version || cp $(BUILD)/version.tmp $(BUILD)/version
	+@$(KMAKE) modules
	@echo "  MODULE  $(BUILD)/rxe/rdma_rxe.ko ($(VERSION), for $(KREL))"

userspace: lib selftests demo-tools bench-tools admin-tools

# rdma-core 44.0 with our patch series, in place in $(BUILD)/rdma-core-KEY
# (tools/rdma-core.sh): KEY hashes the source archive and the patches, so
# this costs a hash unless one of them changed (then about 2 min, or 30 s
# with a warm ccache). Without the archive it is left out, and the suite's
# patched run skips.
rdma-core:
	@$(TOP)/tools/rdma-core.sh --optional > /dev/null

# Debian packages of the patched rdma-core for users who want to install it
# (not part of make or make check): Debian 12's packaging with the series'
# changes, version 44.0-2+rxerevoke1, in $(BUILD)/rdma-core-debs.
rdma-core-debs:
	@$(TOP)/tools/rdma-core.sh --debs $(BUILD)/rdma-core-debs

admin-tools:
	+@$(MAKE) -C $(TOP)/admin BUILD=$(BUILD)

bench-tools: selftests lib
	+@$(MAKE) -C $(TOP)/bench BUILD=$(BUILD)

lib:
	+@$(MAKE) -C $(TOP)/lib BUILD=$(BUILD)

demo-tools: selftests lib
	+@$(MAKE) -C $(TOP)/demo BUILD=$(BUILD)

selftests: assemble lib
	+@$(MAKE) -C $(TOP)/selftests BUILD=$(BUILD)

check: all
	@$(TOP)/tools/check.sh

demo: all
	@$(TOP)/tools/vm/run -- $(TOP)/demo/demo.sh

# All benchmarks in one VM boot, the stock module first for the baselines.
# 6 GiB of guest RAM (the pmem at 4G and 6G still fits): the host is shared.
# RXE_BENCH_* knobs (see bench/run-all.sh) are handed to the guest in a file,
# and BUILD (that of KERNEL: our tools and module) on its command line.
bench: all
	@mkdir -p $(BUILD)/bench
	@env | grep '^RXE_BENCH_[A-Z_]*=' | sed "s/=\(.*\)/='\1'/" > $(BUILD)/bench/knobs || true
	@echo "RXE_BENCH_ACCEL='$${RXE_BENCH_ACCEL:-icount}'" >> $(BUILD)/bench/knobs
	@RXE_VM_MM_DEBUG="$${RXE_VM_MM_DEBUG-}" $(TOP)/tools/vm/run --stock --mem $${RXE_VM_MEM:-6G} --results $(BUILD)/vm/bench \
		--accel $${RXE_BENCH_ACCEL:-icount} --smp $${RXE_BENCH_SMP:-1} -- \
		env BUILD=$(BUILD) $(TOP)/bench/run-all.sh --knobs $(BUILD)/bench/knobs
	@cp $(BUILD)/vm/bench/out/bench.txt $(BUILD)/bench/results.txt
	@cp $(BUILD)/vm/bench/out/bench.dat $(BUILD)/bench/results.dat
	@$(TOP)/bench/report.py $(BUILD)/bench/results.dat $(BUILD)/bench > /dev/null
	@echo "bench: results in $(BUILD)/bench/results.txt, tables in $(BUILD)/bench/results.md, plots $(BUILD)/bench/*.png"

# The userspace library, its headers, pkg-config file and man pages.
install: lib admin-tools
	+@$(MAKE) -C $(TOP)/lib BUILD=$(BUILD) VERSION=$(VERSION) install
	+@$(MAKE) -C $(TOP)/admin BUILD=$(BUILD) install

# DKMS: a source tree without git (build/dkms/rxe-revoke-VER), installed
# into /usr/src and built by dkms for the running kernel. See README.md.
DKMS_VER := $(VERSION:rxe-revoke-%=%)
DKMS_SRC := $(BUILD)/dkms/rxe-revoke-$(DKMS_VER)

dkms-src:
	@$(TOP)/tools/dkms-src.sh $(DKMS_SRC) $(DKMS_VER)

dkms-install: dkms-src
	@$(TOP)/tools/dkms.sh install $(DKMS_SRC)

dkms-uninstall:
	@$(TOP)/tools/dkms.sh uninstall

check-dkms: all
	@RXE_TEST_TIMEOUT=3000 $(TOP)/tools/check.sh dkms_test.sh

# Diagrams: Documentation/diagrams/*.dot -> PNG (graphviz; a "// layout: CMD"
# line picks the layout program, else dot). The PNGs are committed.
DOCS_PNG := $(patsubst %.dot,%.png,$(wildcard $(TOP)/Documentation/diagrams/*.dot))

docs: $(DOCS_PNG)

%.png: %.dot
	@echo "  DOT     $(notdir $@)"
	@$$(sed -n 's|^// layout: ||p' $< | grep . || echo dot) -Tpng -Gdpi=100 $< -o $@.tmp && mv $@.tmp $@

vm-shell: all
	@$(TOP)/tools/vm/run --interactive

checkpatch: assemble
	@$(TOP)/tools/checkpatch.sh

sparse: assemble
	+@$(KMAKE) C=2 modules > $(BUILD)/sparse.log 2>&1 || { cat $(BUILD)/sparse.log; exit 1; }
	@if grep -E '(warning|error):' $(BUILD)/sparse.log; then exit 1; fi
	@echo "sparse: clean ($$(grep -c ' CHECK ' $(BUILD)/sparse.log) files checked)"

# The debug tier. DEBUG_KDIR is the debug kernel's O= directory.
DEBUG_KDIR = $(shell RXE_KERNEL=$(KERNEL) $(TOP)/tools/debug-kernel/build.sh --dir)
DEBUG_KO   = $(BUILD)/debug/rxe/rdma_rxe.ko

debug-kernel:
	@$(TOP)/tools/debug-kernel/build.sh >/dev/null

# Our module against the debug kernel: the assembled sources of build/rxe
# copied (when changed) into build/debug/rxe, built there with its symvers.
debug-module: assemble debug-kernel
	@mkdir -p $(BUILD)/debug/rxe
	@cd $(BUILD)/rxe && find . -type f \( -name '*.[ch]' -o -name Makefile -o -name Kbuild \
		-o -name Kconfig \) | while read -r f; do \
		cmp -s "$$f" "$(BUILD)/debug/rxe/$$f" || \
		{ mkdir -p "$$(dirname "$(BUILD)/debug/rxe/$$f")"; cp "$$f" "$(BUILD)/debug/rxe/$$f"; }; done
	+@$(MAKE) -C $(DEBUG_KDIR) M=$(BUILD)/debug/rxe V=$(V) $(RXE_KFLAGS) modules
	@echo "  MODULE  $(DEBUG_KO) ($(VERSION), for $$(cat $(DEBUG_KDIR)/kernel.release))"

# The whole suite on the debug kernel, then the fault-injection test is part
# of it (it skips on Debian's kernel). A stress test (selftests/stress*) of
# the suite runs longer here: RXE_STRESS_SECONDS (default 600); so does the
# packet fuzzer (fuzz_test.sh): RXE_FUZZ_PKTS (default 1000000).
# Bounds of the suite on the debug kernel (check-debug, and check-teeth
# with RXE_TEETH_DEBUG=1): per test binary, and per completion. The
# longest binary is fuzz_test.sh: 1,000,000 packets took 7,922 s on this
# kernel under TCG on the shared 2-core host (126 packets/s, 2026-11-30;
# Documentation/fuzzing.rst), over the 7200 s this bound had.
DEBUG_TEST_TIMEOUT = 10800
DEBUG_POLL_TIMEOUT = 120

check-debug: all debug-module
	@RXE_KO=$(DEBUG_KO) RXE_CHECK_RESULTS=$(BUILD)/vm/check-debug \
		RXE_VM_TIMEOUT=$${RXE_VM_TIMEOUT:-18000} \
		RXE_TEST_TIMEOUT=$${RXE_TEST_TIMEOUT:-$(DEBUG_TEST_TIMEOUT)} \
		RXE_POLL_TIMEOUT=$${RXE_POLL_TIMEOUT:-$(DEBUG_POLL_TIMEOUT)} \
		RXE_VM_ARGS="--kernel $(DEBUG_KDIR)/arch/x86/boot/bzImage $${RXE_VM_ARGS:-}" \
		RXE_STRESS_SECONDS=$${RXE_STRESS_SECONDS:-600} \
		RXE_FUZZ_PKTS=$${RXE_FUZZ_PKTS:-1000000} $(TOP)/tools/check.sh

# The planted bugs of selftests/teeth/ (of selftests/teeth/$(KERNEL)/ for a
# kernel other than 6.1; tools/teeth.sh picks by RXE_KERNEL) must each make
# the suite fail.
check-teeth: all
	@RXE_KFLAGS="$(RXE_KFLAGS)" RXE_DEBUG_TEST_TIMEOUT=$(DEBUG_TEST_TIMEOUT) \
		RXE_DEBUG_POLL_TIMEOUT=$(DEBUG_POLL_TIMEOUT) $(TOP)/tools/teeth.sh $(TEETH)

# Ours against Debian's stock rdma_rxe in two VMs on a virtual wire
# (tools/vm/pair): perftest both ways, and a revocable XFS-DAX MR of ours
# revoked under a stock requester's flood. Not part of check (two VMs at
# once); see Documentation/interop.rst.
check-interop: all
	@$(TOP)/tools/interop.sh

clean:
	-+@[ -d $(BUILD)/rxe ] && $(KMAKE) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/selftests BUILD=$(BUILD) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/demo BUILD=$(BUILD) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/lib BUILD=$(BUILD) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/bench BUILD=$(BUILD) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/admin BUILD=$(BUILD) clean >/dev/null 2>&1 || true

distclean:
	rm -rf $(BUILD)
