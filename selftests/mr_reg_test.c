// SPDX-License-Identifier: GPL-2.0
/*
 * Memory registration on the kinds of memory this project is about.
 *
 * The control: pinned registration on anonymous and shmem memory works.
 *
 * Flipped by the revocable-MR work: a pinned (non-ODP) ibv_reg_mr on an
 * fsdax mapping used to fail with EOPNOTSUPP (ib_umem_get() pins with
 * FOLL_LONGTERM, which GUP refuses on fsdax VMAs); now it succeeds and the
 * MR is revocable.
 *
 * Flipped by the ODP work: IBV_ACCESS_ON_DEMAND used to fail with EINVAL
 * (rxe did not advertise IBK_ON_DEMAND_PAGING); now an ODP registration
 * works on every kind of memory, fsdax included, because it pins nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"

#define LEN	(2 << 20)
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ)

FIXTURE(dax) {
	struct rt_dev d;
	char path[256];
	int fd;
	void *buf;
};

FIXTURE_VARIANT(dax) {
	const char *env;	/* names the mount point */
	const char *def;
};

FIXTURE_VARIANT_ADD(dax, xfs) { .env = "RXE_XFS_DAX", .def = "/mnt/xfs-dax" };
FIXTURE_VARIANT_ADD(dax, ext4) { .env = "RXE_EXT4_DAX", .def = "/mnt/ext4-dax" };

FIXTURE_SETUP(dax)
{
	self->fd = -1;
	self->buf = MAP_FAILED;
	ASSERT_EQ(0, rt_dev_open(&self->d));
	snprintf(self->path, sizeof(self->path), "%s/mr_reg.%d",
		 rt_env(variant->env, variant->def), getpid());
	self->fd = open(self->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", self->path, strerror(errno));
	ASSERT_EQ(0, ftruncate(self->fd, LEN));
	ASSERT_TRUE(rt_file_is_dax(self->fd))
		TH_LOG("%s is not mapped with DAX", self->path);
	self->buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x5a, LEN);
}

FIXTURE_TEARDOWN(dax)
{
	if (self->buf != MAP_FAILED)
		munmap(self->buf, LEN);
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
	rt_dev_close(&self->d);
}

/* Was EOPNOTSUPP before revocable MRs: now it works, and is revocable. */
TEST_F(dax, pinned_reg_mr_is_revocable)
{
	struct rxe_revoke_mr_state st;
	struct ibv_mr *mr;

	mr = ibv_reg_mr(self->d.pd, self->buf, LEN, ACCESS);
	ASSERT_NE(NULL, mr) TH_LOG("reg_mr: %s", strerror(errno));
	ASSERT_EQ(0, rxer_query_mr(mr, &st));
	EXPECT_EQ(RXE_REVOKE_MR_REVOCABLE, st.kind);
	EXPECT_EQ(RXE_REVOKE_MR_ACTIVE, st.status);
	EXPECT_EQ(0, st.revoke_count);
	EXPECT_EQ(mr->lkey, st.lkey);
	EXPECT_EQ(mr->rkey, st.rkey);
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/* ODP pins nothing, so fsdax is fine. */
TEST_F(dax, odp_reg_mr_works)
{
	struct ibv_mr *mr = ibv_reg_mr(self->d.pd, self->buf, LEN,
				       ACCESS | IBV_ACCESS_ON_DEMAND);

	ASSERT_NE(NULL, mr) TH_LOG("ODP reg_mr: %s", strerror(errno));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

FIXTURE(mem) {
	struct rt_dev d;
	void *buf;
};

FIXTURE_VARIANT(mem) {
	int flags;
};

FIXTURE_VARIANT_ADD(mem, anon) { .flags = MAP_PRIVATE | MAP_ANONYMOUS };
FIXTURE_VARIANT_ADD(mem, shmem) { .flags = MAP_SHARED | MAP_ANONYMOUS };

FIXTURE_SETUP(mem)
{
	ASSERT_EQ(0, rt_dev_open(&self->d));
	self->buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, variant->flags,
			 -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(mem)
{
	if (self->buf != MAP_FAILED)
		munmap(self->buf, LEN);
	rt_dev_close(&self->d);
}

/* The control: pinned registration works where GUP can pin. */
TEST_F(mem, pinned_reg_mr_works)
{
	struct ibv_mr *mr = ibv_reg_mr(self->d.pd, self->buf, LEN, ACCESS);

	struct rxe_revoke_mr_state st;

	ASSERT_NE(NULL, mr) TH_LOG("reg_mr: %s", strerror(errno));
	EXPECT_EQ(self->buf, mr->addr);
	EXPECT_EQ((size_t)LEN, mr->length);
	/* ordinary pinned MRs keep today's behaviour: not revocable */
	ASSERT_EQ(0, rxer_query_mr(mr, &st));
	EXPECT_EQ(RXE_REVOKE_MR_PINNED, st.kind);
	EXPECT_EQ(EINVAL, rxer_revoke_mr(mr));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/* Was EINVAL before rxe had ODP. */
TEST_F(mem, odp_reg_mr_works)
{
	struct ibv_mr *mr = ibv_reg_mr(self->d.pd, self->buf, LEN,
				       ACCESS | IBV_ACCESS_ON_DEMAND);

	ASSERT_NE(NULL, mr) TH_LOG("ODP reg_mr: %s", strerror(errno));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

TEST_HARNESS_MAIN
