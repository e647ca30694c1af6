// SPDX-License-Identifier: GPL-2.0
/*
 * The rxe_revoke tracepoints, read back through tracefs: each event fires
 * with the right fields for register (all three kinds), ODP fault,
 * invalidate (ODP and revocable), revoke (reason, range, duration) and
 * restore (old and new keys).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rxe_test.h"
#include "rxe_revoke.h"

#define LEN	(1 << 20)
#define PAGE	4096
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define TRACEFS	"/sys/kernel/tracing"

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* Mount tracefs if needed, clear the buffer, enable our events. */
static int trace_start(void)
{
	struct stat st;
	int err;

	if (stat(TRACEFS "/events", &st) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return -errno;
	err = write_file(TRACEFS "/tracing_on", "1");
	if (!err)
		err = write_file(TRACEFS "/trace", "");
	if (!err)
		err = write_file(TRACEFS "/events/rxe_revoke/enable", "1");
	return err;
}

static void trace_stop(void)
{
	write_file(TRACEFS "/events/rxe_revoke/enable", "0");
}

/* The whole trace buffer as a string (caller frees), or NULL. */
static char *trace_read(void)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	fd = open(TRACEFS "/trace", O_RDONLY);
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nb;
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/*
 * The fields of the first event line that contains want ("event: fields"
 * from its start), or NULL; the rest of the line follows what matched.
 */
static const char *trace_find(const char *trace, const char *want)
{
	const char *p = strstr(trace, want);

	return p ? p + strlen(want) : NULL;
}

#define EXPECT_TRACE(trace, ...) ({					\
	char __w[512];							\
	const char *__p;						\
	snprintf(__w, sizeof(__w), __VA_ARGS__);			\
	__p = trace_find(trace, __w);					\
	EXPECT_NE(NULL, __p) TH_LOG("no trace line with \"%s\"", __w);	\
	__p;								\
})

FIXTURE(tr) {
	struct rt_dev d;
	char *trace;
};

FIXTURE_SETUP(tr)
{
	int err = trace_start();

	ASSERT_EQ(0, err) TH_LOG("tracefs: %s", strerror(-err));
	ASSERT_EQ(0, rt_dev_open(&self->d));
	self->trace = NULL;
}

FIXTURE_TEARDOWN(tr)
{
	trace_stop();
	free(self->trace);
	rt_dev_close(&self->d);
}

/* Register of each kind, with its keys and range. */
TEST_F(tr, register)
{
	struct ibv_mr *pin, *odp, *rv;
	struct rt_mem anon, dax;

	ASSERT_EQ(0, rt_mem_map(&anon, RT_MEM_ANON, LEN));
	ASSERT_EQ(0, rt_mem_map(&dax, RT_MEM_XFS_DAX, LEN));
	pin = ibv_reg_mr(self->d.pd, (char *)anon.addr + 100, LEN - 100,
			 ACCESS);
	ASSERT_NE(NULL, pin);
	odp = ibv_reg_mr(self->d.pd, anon.addr, LEN,
			 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, odp);
	rv = ibv_reg_mr(self->d.pd, dax.addr, LEN, ACCESS);
	ASSERT_NE(NULL, rv);
	self->trace = trace_read();
	ASSERT_NE(NULL, self->trace);

	EXPECT_TRACE(self->trace,
		     "rxe_mr_register: lkey=0x%x rkey=0x%x kind=pinned start=0x%" PRIxPTR " length=%d iova=0x%" PRIxPTR " access=0x%x\n",
		     pin->lkey, pin->rkey, (uintptr_t)anon.addr + 100, LEN - 100,
		     (uintptr_t)anon.addr + 100, ACCESS);
	EXPECT_TRACE(self->trace,
		     "rxe_mr_register: lkey=0x%x rkey=0x%x kind=odp start=0x%" PRIxPTR " length=%d iova=0x%" PRIxPTR " access=0x%x\n",
		     odp->lkey, odp->rkey, (uintptr_t)anon.addr, LEN,
		     (uintptr_t)anon.addr,
		     IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_ON_DEMAND);
	EXPECT_TRACE(self->trace,
		     "rxe_mr_register: lkey=0x%x rkey=0x%x kind=revocable start=0x%" PRIxPTR " length=%d iova=0x%" PRIxPTR " access=0x%x\n",
		     rv->lkey, rv->rkey, (uintptr_t)dax.addr, LEN,
		     (uintptr_t)dax.addr, ACCESS);
	ibv_dereg_mr(rv);
	ibv_dereg_mr(odp);
	ibv_dereg_mr(pin);
	rt_mem_unmap(&dax);
	rt_mem_unmap(&anon);
}

/* A WRITE into a cold ODP MR faults; MADV_DONTNEED invalidates. */
TEST_F(tr, odp_fault_invalidate)
{
	struct ibv_mr *src_mr, *odp_mr;
	struct rt_mem src, tgt;
	struct rt_qp a, b;
	struct ibv_wc wc;
	const char *p;
	unsigned long long len;
	int write, npages;

	ASSERT_EQ(0, rt_qp_create(&self->d, &a, 16));
	ASSERT_EQ(0, rt_qp_create(&self->d, &b, 16));
	ASSERT_EQ(0, rt_rc_connect(&self->d, &a, &b));
	ASSERT_EQ(0, rt_mem_map(&src, RT_MEM_ANON, LEN));
	ASSERT_EQ(0, rt_mem_map(&tgt, RT_MEM_ANON, LEN));
	src_mr = ibv_reg_mr(self->d.pd, src.addr, LEN, ACCESS);
	ASSERT_NE(NULL, src_mr);
	odp_mr = ibv_reg_mr(self->d.pd, tgt.addr, LEN,
			    ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, odp_mr);
	ASSERT_EQ(0, rt_post_rdma(&a, IBV_WR_RDMA_WRITE, src_mr, src.addr,
				  PAGE, (uintptr_t)tgt.addr + PAGE,
				  odp_mr->rkey, 1));
	ASSERT_EQ(0, rt_poll(a.cq, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);
	ASSERT_EQ(0, madvise((char *)tgt.addr + PAGE, PAGE, MADV_DONTNEED));
	self->trace = trace_read();
	ASSERT_NE(NULL, self->trace);

	p = EXPECT_TRACE(self->trace, "rxe_odp_fault: lkey=0x%x va=0x%" PRIxPTR " len=",
			 odp_mr->lkey, (uintptr_t)tgt.addr + PAGE);
	if (p) {
		ASSERT_EQ(3, sscanf(p, "%llu write=%d npages=%d", &len,
				    &write, &npages));
		EXPECT_LT(0, len);
		EXPECT_GE(PAGE, len);
		EXPECT_EQ(1, write);
		EXPECT_EQ(1, npages);
	}
	EXPECT_TRACE(self->trace,
		     "rxe_mr_invalidate: lkey=0x%x kind=odp event=clear start=0x%" PRIxPTR " end=0x%" PRIxPTR "\n",
		     odp_mr->lkey, (uintptr_t)tgt.addr + PAGE,
		     (uintptr_t)tgt.addr + 2 * PAGE);
	ibv_dereg_mr(odp_mr);
	ibv_dereg_mr(src_mr);
	rt_qp_destroy(&a);
	rt_qp_destroy(&b);
	rt_mem_unmap(&src);
	rt_mem_unmap(&tgt);
}

/* The revoke line of mr with reason on [start, end): duration present. */
static void expect_revoke(struct __test_metadata *_metadata,
			  const char *trace, struct ibv_mr *mr,
			  const char *reason, uintptr_t start, uintptr_t end)
{
	unsigned long long ns = 0;
	const char *p;

	p = EXPECT_TRACE(trace, "rxe_mr_revoke: lkey=0x%x rkey=0x%x reason=%s start=0x%" PRIxPTR " end=0x%" PRIxPTR " duration_ns=",
			 mr->lkey, mr->rkey, reason, start, end);
	if (p) {
		EXPECT_EQ(1, sscanf(p, "%llu", &ns));
		/* a revoke takes a lock and drops 256 pages: not 0 ns */
		EXPECT_LT(0, ns);
	}
}

/* Truncate: invalidate (clear) then revoke (truncate), on the MR's range. */
TEST_F(tr, truncate_revoke)
{
	struct ibv_mr *mr;
	struct rt_mem dax;

	ASSERT_EQ(0, rt_mem_map(&dax, RT_MEM_XFS_DAX, LEN));
	memset(dax.addr, 1, LEN);
	mr = ibv_reg_mr(self->d.pd, dax.addr, LEN, ACCESS);
	ASSERT_NE(NULL, mr);
	ASSERT_EQ(0, ftruncate(dax.fd, 0));
	self->trace = trace_read();
	ASSERT_NE(NULL, self->trace);

	EXPECT_TRACE(self->trace,
		     "rxe_mr_invalidate: lkey=0x%x kind=revocable event=clear start=0x%" PRIxPTR " end=0x%" PRIxPTR "\n",
		     mr->lkey, (uintptr_t)dax.addr, (uintptr_t)dax.addr + LEN);
	expect_revoke(_metadata, self->trace, mr, "truncate",
		      (uintptr_t)dax.addr, (uintptr_t)dax.addr + LEN);
	ibv_dereg_mr(mr);
	rt_mem_unmap(&dax);
}

/* munmap revokes with reason unmap; the owner's revoke with explicit. */
TEST_F(tr, unmap_and_explicit_revoke)
{
	struct ibv_mr *mr1, *mr2;
	struct rt_mem d1, d2;

	ASSERT_EQ(0, rt_mem_map(&d1, RT_MEM_XFS_DAX, LEN));
	ASSERT_EQ(0, rt_mem_map(&d2, RT_MEM_EXT4_DAX, LEN));
	mr1 = ibv_reg_mr(self->d.pd, d1.addr, LEN, ACCESS);
	ASSERT_NE(NULL, mr1);
	mr2 = ibv_reg_mr(self->d.pd, d2.addr, LEN, ACCESS);
	ASSERT_NE(NULL, mr2);
	ASSERT_EQ(0, munmap(d1.addr, LEN));
	ASSERT_EQ(0, rxer_revoke_mr(mr2));
	self->trace = trace_read();
	ASSERT_NE(NULL, self->trace);

	EXPECT_TRACE(self->trace,
		     "rxe_mr_invalidate: lkey=0x%x kind=revocable event=unmap start=0x%" PRIxPTR " end=0x%" PRIxPTR "\n",
		     mr1->lkey, (uintptr_t)d1.addr, (uintptr_t)d1.addr + LEN);
	expect_revoke(_metadata, self->trace, mr1, "unmap",
		      (uintptr_t)d1.addr, (uintptr_t)d1.addr + LEN);
	expect_revoke(_metadata, self->trace, mr2, "explicit",
		      (uintptr_t)d2.addr, (uintptr_t)d2.addr + LEN);
	d1.addr = NULL;
	ibv_dereg_mr(mr1);
	ibv_dereg_mr(mr2);
	rt_mem_unmap(&d1);
	rt_mem_unmap(&d2);
}

/* rereg of a revoked MR: restore with the old and the new keys. */
TEST_F(tr, restore)
{
	uint32_t old_lkey, old_rkey;
	struct ibv_mr *mr;
	struct rt_mem dax;

	ASSERT_EQ(0, rt_mem_map(&dax, RT_MEM_XFS_DAX, LEN));
	mr = ibv_reg_mr(self->d.pd, dax.addr, LEN, ACCESS);
	ASSERT_NE(NULL, mr);
	old_lkey = mr->lkey;
	old_rkey = mr->rkey;
	ASSERT_EQ(0, rxer_revoke_mr(mr));
	ASSERT_EQ(0, rxer_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
				   (char *)dax.addr + PAGE, LEN - PAGE, 0));
	ASSERT_NE(old_rkey, mr->rkey);
	self->trace = trace_read();
	ASSERT_NE(NULL, self->trace);

	EXPECT_TRACE(self->trace,
		     "rxe_mr_restore: old_lkey=0x%x old_rkey=0x%x lkey=0x%x rkey=0x%x start=0x%" PRIxPTR " length=%d\n",
		     old_lkey, old_rkey, mr->lkey, mr->rkey,
		     (uintptr_t)dax.addr + PAGE, LEN - PAGE);
	ibv_dereg_mr(mr);
	rt_mem_unmap(&dax);
}

TEST_HARNESS_MAIN
