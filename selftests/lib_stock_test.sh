#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# librxerevoke on Debian's rdma-core as installed, for the users who cannot
# replace rdma-core: revoke_test (revocable MRs through rxer_reg_mr(),
# rxer_revoke_mr(), rxer_query_mr(), the event channel, rxer_rereg_mr())
# with the VM's patched rdma-core taken out of the environment. Every other
# C test runs on the rdma-core that tools/vm/run set up (with our module,
# the patched one of tools/rdma-core.sh).
dir=$(cd "$(dirname "$0")" && pwd)
unset LD_LIBRARY_PATH PYTHONPATH
echo "# librxerevoke on $(dpkg-query -W -f '${Package} ${Version}' libibverbs1 2>/dev/null)," \
	"provider $(dpkg-query -W -f '${Package} ${Version}' ibverbs-providers 2>/dev/null)"
exec "$dir/revoke_test"
