// SPDX-License-Identifier: GPL-2.0
/*
 * The rxe device is up on its netdev with a RoCEv2 GID for its IPv4 address.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "rxe_test.h"

FIXTURE(dev) {
	struct rt_dev d;
};

FIXTURE_SETUP(dev)
{
	ASSERT_EQ(0, rt_dev_open(&self->d))
		TH_LOG("cannot open %s with a RoCEv2 IPv4 GID",
		       rt_env("RXE_DEV", "rxe0"));
}

FIXTURE_TEARDOWN(dev)
{
	rt_dev_close(&self->d);
}

TEST_F(dev, port_active_on_ethernet)
{
	struct ibv_port_attr pa;

	ASSERT_EQ(0, ibv_query_port(self->d.ctx, self->d.port, &pa));
	EXPECT_EQ(IBV_PORT_ACTIVE, pa.state);
	EXPECT_EQ(IBV_LINK_LAYER_ETHERNET, pa.link_layer);
}

TEST_F(dev, roce_v2_gid_is_the_netdev_address)
{
	const char *ip = rt_env("RXE_IP", "198.18.0.1");
	struct in_addr a;

	ASSERT_EQ(1, inet_pton(AF_INET, ip, &a));
	ASSERT_GE(self->d.gid_index, 0);
	EXPECT_EQ(0, memcmp(&self->d.gid.raw[12], &a, 4))
		TH_LOG("GID %d is not %s", self->d.gid_index, ip);
}

TEST_F(dev, parent_is_the_netdev)
{
	char path[256], parent[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/parent",
		 rt_env("RXE_DEV", "rxe0"));
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(parent, sizeof(parent), f));
	fclose(f);
	parent[strcspn(parent, "\n")] = '\0';
	EXPECT_STREQ(rt_env("RXE_NETDEV", "rxenet0"), parent);
}

TEST_HARNESS_MAIN
