// SPDX-License-Identifier: GPL-2.0
/*
 * truncate_lat: latency of ftruncate() or fallocate(PUNCH_HOLE) of a DAX
 * file with 0, 1 or N registered MRs of its mapping under a flood of RDMA
 * WRITEs, in one boot.
 *
 *   tools/vm/run -- build/bench/truncate_lat [-o truncate|punch]
 *	[-k revocable|odp] [-n NMR] [-S] [DIR] [SIZE_MIB] [SAMPLES]
 *
 * Each sample: a SIZE file on DIR (default $RXE_XFS_DAX) is written through
 * its mapping (MADV_POPULATE_WRITE: every block allocated, zeroed and mapped
 * writable, a third faster under TCG than a memset from userspace), NMR MRs are registered on the mapping (plain ibv_reg_mr,
 * i.e. revocable on fsdax, or ODP prefetched for writing), each covering
 * the whole file (-S: NMR slices of it instead), and a thread floods them
 * round-robin with 64 KiB RDMA WRITEs; then the file is truncated to 0 or
 * all of it is punched, and that one call is timed. With NMR 0 the flood
 * goes to an anonymous MR instead, so that the system carries the same RDMA
 * load. Prints the median, p99 (the largest sample when SAMPLES < 100),
 * min and max in ms, and a line for the report:
 *   trunc FS OP SIZE_MIB KIND NMR MEDIAN P99 MIN MAX SAMPLES
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "rxe_test.h"
#include "rxe_revoke.h"

#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ)
#define MSG	65536
#define MAXMR	64
#define MAXS	1000

static void die(const char *what)
{
	fprintf(stderr, "truncate_lat: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct flood {
	struct rt_dev *d;
	struct ibv_mr *dst[MAXMR], *src;
	int nmr;
	volatile int stop;
	volatile int ok;
};

static void *flood(void *arg)
{
	struct flood *f = arg;
	struct rt_qp a, b;
	struct ibv_wc wc;
	struct ibv_mr *m;
	size_t off = 0;
	int i = 0;

	if (rt_qp_create(f->d, &a, 16) || rt_qp_create(f->d, &b, 16) ||
	    rt_rc_connect(f->d, &a, &b))
		die("qp");
	while (!f->stop) {
		m = f->dst[i];
		if (rt_post_rdma(&a, IBV_WR_RDMA_WRITE, f->src, f->src->addr,
				 MSG, (uintptr_t)m->addr + off % m->length,
				 m->rkey, 1) || rt_poll(a.cq, &wc))
			break;
		if (wc.status != IBV_WC_SUCCESS)
			break;	/* revoked: the flood has done its part */
		f->ok++;
		i = (i + 1) % f->nmr;
		if (!i)
			off += MSG;
	}
	rt_qp_destroy(&a);
	rt_qp_destroy(&b);
	return NULL;
}

static int punch, odp, nmr = 1, slices;

/* Allocate, zero and map every block; kernels before 5.14 get a memset. */
static void fill(void *p, size_t size)
{
	if (madvise(p, size, MADV_POPULATE_WRITE))
		memset(p, 0x5a, size);
}

static struct ibv_mr *reg(struct rt_dev *d, void *p, size_t len)
{
	struct ibv_mr *mr;
	struct ibv_sge sge;

	mr = ibv_reg_mr(d->pd, p, len, ACCESS | (odp ? IBV_ACCESS_ON_DEMAND : 0));
	if (!mr)
		die("reg_mr");
	if (odp) {
		sge = (struct ibv_sge){ (uintptr_t)p, (uint32_t)len, mr->lkey };
		errno = rxer_advise_mr(d->pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				       IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
		if (errno)
			die("prefetch");
	}
	return mr;
}

static double one(struct rt_dev *d, struct ibv_mr *src, struct ibv_mr *anon,
		  const char *dir, size_t size)
{
	struct flood f = { .d = d, .src = src, .nmr = nmr ? nmr : 1 };
	size_t len = slices && nmr ? size / nmr : size;
	char path[256];
	pthread_t t;
	double s;
	void *p;
	int fd, i, rc;

	snprintf(path, sizeof(path), "%s/truncate_lat.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size))
		die(path);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	fill(p, size);
	for (i = 0; i < nmr; i++)
		f.dst[i] = reg(d, (char *)p + (slices ? i * len : 0), len);
	if (!nmr)
		f.dst[0] = anon;
	if (pthread_create(&t, NULL, flood, &f))
		die("thread");
	while (f.ok < 4)
		usleep(1000);
	s = rt_now();
	if (punch)
		rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, (off_t)size);
	else
		rc = ftruncate(fd, 0);
	s = rt_now() - s;
	if (rc)
		die(punch ? "fallocate" : "ftruncate");
	f.stop = 1;
	pthread_join(t, NULL);
	for (i = 0; i < nmr; i++)
		ibv_dereg_mr(f.dst[i]);
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

static const char *fs_name(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf))
		die(dir);
	return sf.f_type == 0x58465342 ? "xfs" : sf.f_type == 0xef53 ? "ext4" : "other";
}

static void usage(void)
{
	fprintf(stderr, "usage: truncate_lat [-o truncate|punch] [-k revocable|odp] [-n NMR <= %d] [-S] [DIR] [SIZE_MIB] [SAMPLES <= %d]\n",
		MAXMR, MAXS);
	exit(2);
}

int main(int argc, char **argv)
{
	static double t[MAXS];
	struct ibv_mr *src, *anon;
	const char *dir;
	struct rt_dev d;
	size_t size;
	int r, c, n, p99;

	while ((c = getopt(argc, argv, "o:k:n:S")) != -1) {
		switch (c) {
		case 'o':
			if (strcmp(optarg, "truncate") && strcmp(optarg, "punch"))
				usage();
			punch = !strcmp(optarg, "punch");
			break;
		case 'k':
			if (strcmp(optarg, "revocable") && strcmp(optarg, "odp"))
				usage();
			odp = !strcmp(optarg, "odp");
			break;
		case 'n':
			nmr = atoi(optarg);
			break;
		case 'S':
			slices = 1;
			break;
		default:
			usage();
		}
	}
	dir = optind < argc ? argv[optind] : rt_env("RXE_XFS_DAX", "/mnt/xfs-dax");
	size = (size_t)(optind + 1 < argc ? atoi(argv[optind + 1]) : 64) << 20;
	n = optind + 2 < argc ? atoi(argv[optind + 2]) : 9;
	if (!size || n < 1 || n > MAXS || nmr < 0 || nmr > MAXMR)
		usage();
	if (rt_dev_open(&d))
		die("device");
	src = ibv_reg_mr(d.pd, malloc(MSG), MSG, ACCESS);
	anon = ibv_reg_mr(d.pd, calloc(1, 1 << 20), 1 << 20, ACCESS);
	if (!src || !anon)
		die("reg src");
	for (r = 0; r < n; r++)
		t[r] = one(&d, src, anon, dir, size) * 1e3;
	qsort(t, n, sizeof(double), cmp);
	p99 = (99 * n + 99) / 100 - 1;	/* nearest rank */
	printf("truncate_lat: %s %s of a %zu MiB file, %d %s MR%s%s under a WRITE flood, %d samples (ms): median %.3f p99 %.3f min %.3f max %.3f\n",
	       dir, punch ? "punch" : "ftruncate", size >> 20, nmr,
	       odp ? "ODP" : "revocable", nmr == 1 ? "" : "s",
	       slices ? " (slices)" : "", n, t[n / 2], t[p99], t[0], t[n - 1]);
	printf("trunc %s %s %zu %s %d %.3f %.3f %.3f %.3f %d\n", fs_name(dir),
	       punch ? "punch" : "truncate", size >> 20,
	       nmr ? (odp ? "odp" : "revocable") : "none", nmr, t[n / 2], t[p99],
	       t[0], t[n - 1], n);
	return 0;
}
