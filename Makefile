# SPDX-License-Identifier: GPL-2.0
#
# rxe-revoke: soft-RoCE (rdma_rxe) with revocable and on-demand-paging MRs,
# built out of tree for Debian 12's Linux 6.1.
#
#   make            install missing Debian packages, build rdma_rxe.ko and
#                   the userspace parts
#   make check      run the test suite in the QEMU VM (the CI command)
#   make demo       the main job: a demo on emulated pmem in the VM
#   make bench      all benchmarks in one VM boot (ratios vs stock rxe)
#   make checkpatch scripts/checkpatch.pl --strict on our C and patches
#   make sparse     rebuild the module under sparse (C=2)
#
# See README.md.

TOP      := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD    ?= $(TOP)/build
RXE      := drivers/infiniband/sw/rxe
VERSION  := rxe-revoke-$(shell git -C $(TOP) describe --always --dirty --tags 2>/dev/null || echo unknown)
V        ?= 0

# Install what is missing once per make invocation and learn the Debian
# kernel release that matches linux-source-6.1 (never hard-coded).
KREL     := $(shell $(TOP)/tools/deps.sh)
ifeq ($(KREL),)
$(error tools/deps.sh failed: no Debian kernel matching linux-source-6.1)
endif
KDIR     ?= /lib/modules/$(KREL)/build
KMAKE     = $(MAKE) -C $(KDIR) M=$(BUILD)/rxe V=$(V) CONFIG_RDMA_RXE=m \
	    CONFIG_RDMA_RXE_REVOKE=y RXE_REVOKE_VERSION=$(VERSION)

export BUILD KREL VERSION

.PHONY: bench install all module assemble userspace lib selftests demo-tools bench-tools admin-tools check demo checkpatch sparse \
	vm-shell clean distclean FORCE

all: module userspace

assemble:
	@$(TOP)/tools/assemble.sh

module: assemble
	@echo "$(VERSION)" > $(BUILD)/version.tmp
	@cmp -s $(BUILD)/version.tmp $(BUILD)/version || cp $(BUILD)/version.tmp $(BUILD)/version
	+@$(KMAKE) modules
	@echo "  MODULE  $(BUILD)/rxe/rdma_rxe.ko ($(VERSION), for $(KREL))"

userspace: lib selftests demo-tools bench-tools admin-tools

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
bench: all
	@$(TOP)/tools/vm/run --stock --results $(BUILD)/vm/bench -- $(TOP)/bench/run-all.sh
	@cp $(BUILD)/vm/bench/out/bench.txt $(BUILD)/bench/results.txt
	@echo "bench: results in $(BUILD)/bench/results.txt"

# The userspace library, its headers, pkg-config file and man pages.
install: lib admin-tools
	+@$(MAKE) -C $(TOP)/lib BUILD=$(BUILD) VERSION=$(VERSION) install
	+@$(MAKE) -C $(TOP)/admin BUILD=$(BUILD) install

vm-shell: all
	@$(TOP)/tools/vm/run --interactive

checkpatch: assemble
	@$(TOP)/tools/checkpatch.sh

sparse: assemble
	+@$(KMAKE) C=2 modules > $(BUILD)/sparse.log 2>&1 || { cat $(BUILD)/sparse.log; exit 1; }
	@if grep -E '(warning|error):' $(BUILD)/sparse.log; then exit 1; fi
	@echo "sparse: clean ($$(grep -c ' CHECK ' $(BUILD)/sparse.log) files checked)"

clean:
	-+@[ -d $(BUILD)/rxe ] && $(KMAKE) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/selftests BUILD=$(BUILD) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/demo BUILD=$(BUILD) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/lib BUILD=$(BUILD) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/bench BUILD=$(BUILD) clean >/dev/null 2>&1 || true
	+@$(MAKE) -C $(TOP)/admin BUILD=$(BUILD) clean >/dev/null 2>&1 || true

distclean:
	rm -rf $(BUILD)
