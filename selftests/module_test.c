// SPDX-License-Identifier: GPL-2.0
/*
 * The loaded rdma_rxe is the rxe-revoke module we built, not Debian's.
 *
 * The host passes what it built: RXE_EXPECT_VERSION (the version string,
 * "rxe-revoke-<git describe>") and RXE_EXPECT_SRCVERSION (modinfo's hash of
 * the sources of build/rxe/rdma_rxe.ko).
 */
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "rxe_test.h"

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

TEST(version_is_rxe_revoke)
{
	const char *want = rt_env("RXE_EXPECT_VERSION", NULL);
	char v[256];

	ASSERT_NE(NULL, want) TH_LOG("RXE_EXPECT_VERSION is not set");
	ASSERT_EQ(0, read_line("/sys/module/rdma_rxe/version", v, sizeof(v)))
		TH_LOG("no /sys/module/rdma_rxe/version: stock module loaded?");
	EXPECT_EQ(0, strncmp(v, "rxe-revoke-", 11)) TH_LOG("version %s", v);
	EXPECT_STREQ(want, v);
}

TEST(srcversion_matches_build)
{
	const char *want = rt_env("RXE_EXPECT_SRCVERSION", NULL);
	char v[256];

	ASSERT_NE(NULL, want) TH_LOG("RXE_EXPECT_SRCVERSION is not set");
	ASSERT_EQ(0, read_line("/sys/module/rdma_rxe/srcversion", v, sizeof(v)));
	EXPECT_STREQ(want, v);
}

TEST(out_of_tree_taint)
{
	char t[64];

	ASSERT_EQ(0, read_line("/sys/module/rdma_rxe/taint", t, sizeof(t)));
	EXPECT_NE(NULL, strchr(t, 'O')) TH_LOG("taint '%s' lacks O", t);
}

TEST_HARNESS_MAIN
