// SPDX-License-Identifier: GPL-2.0
/*
 * truncate_lat: ftruncate() latency of a DAX file with and without a
 * registered (revocable) MR under a flood of RDMA WRITEs, in one boot.
 *
 *   tools/vm/run -- build/bench/truncate_lat [DIR] [SIZE_MIB] [ROUNDS]
 *
 * For each round: a SIZE file on DIR (default $RXE_XFS_DAX) is written,
 * then truncated to 0 (a) with no MR and (b) with a plain ibv_reg_mr of its
 * mapping (revocable on fsdax) while another thread floods it with 64 KiB
 * RDMA WRITEs. Prints the median, min and max of each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rxe_test.h"

#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ)
#define MSG	65536

static void die(const char *what)
{
	fprintf(stderr, "truncate_lat: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct flood {
	struct rt_dev *d;
	struct ibv_mr *dst, *src;
	size_t size;
	volatile int stop;
	int ok;
};

static void *flood(void *arg)
{
	struct flood *f = arg;
	struct rt_qp a, b;
	struct ibv_wc wc;
	size_t off = 0;

	if (rt_qp_create(f->d, &a, 16) || rt_qp_create(f->d, &b, 16) ||
	    rt_rc_connect(f->d, &a, &b))
		die("qp");
	while (!f->stop) {
		if (rt_post_rdma(&a, IBV_WR_RDMA_WRITE, f->src, f->src->addr,
				 MSG, (uintptr_t)f->dst->addr + off,
				 f->dst->rkey, 1) || rt_poll(a.cq, &wc))
			break;
		if (wc.status != IBV_WC_SUCCESS)
			break;	/* revoked: the flood has done its part */
		f->ok++;
		off = (off + MSG) % f->size;
	}
	rt_qp_destroy(&a);
	rt_qp_destroy(&b);
	return NULL;
}

static double one(struct rt_dev *d, struct ibv_mr *src, const char *dir,
		  size_t size, int with_mr)
{
	char path[256];
	struct flood f = { .d = d, .src = src, .size = size };
	pthread_t t;
	double s;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/truncate_lat.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size))
		die(path);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0x5a, size);
	if (with_mr) {
		f.dst = ibv_reg_mr(d->pd, p, size, ACCESS);
		if (!f.dst)
			die("reg_mr");
		if (pthread_create(&t, NULL, flood, &f))
			die("thread");
		while (f.ok < 4)
			usleep(1000);
	}
	s = rt_now();
	if (ftruncate(fd, 0))
		die("ftruncate");
	s = rt_now() - s;
	if (with_mr) {
		f.stop = 1;
		pthread_join(t, NULL);
		ibv_dereg_mr(f.dst);
	}
	munmap(p, size);
	close(fd);
	unlink(path);
	return s;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : rt_env("RXE_XFS_DAX", "/mnt/xfs-dax");
	size_t size = (size_t)(argc > 2 ? atoi(argv[2]) : 64) << 20;
	int rounds = argc > 3 ? atoi(argv[3]) : 9;
	double t[2][64];
	struct ibv_mr *src;
	struct rt_dev d;
	int r, k;

	if (!size || rounds < 1 || rounds > 64)
		die("usage: truncate_lat [DIR] [SIZE_MIB] [ROUNDS <= 64]");
	if (rt_dev_open(&d))
		die("device");
	src = ibv_reg_mr(d.pd, malloc(MSG), MSG, ACCESS);
	if (!src)
		die("reg src");
	for (r = 0; r < rounds; r++) {
		t[0][r] = one(&d, src, dir, size, 0);
		t[1][r] = one(&d, src, dir, size, 1);
	}
	printf("truncate_lat: %s, %zu MiB file, %d rounds (ms)\n", dir,
	       size >> 20, rounds);
	for (k = 0; k < 2; k++) {
		qsort(t[k], rounds, sizeof(double), cmp);
		printf("%-26s median %8.3f  min %8.3f  max %8.3f\n",
		       k ? "revocable MR under flood" : "no MR", t[k][rounds / 2] * 1e3,
		       t[k][0] * 1e3, t[k][rounds - 1] * 1e3);
	}
	printf("ratio (median): %.2f\n", t[1][rounds / 2] / t[0][rounds / 2]);
	return 0;
}
