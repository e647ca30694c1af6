// SPDX-License-Identifier: GPL-2.0
/*
 * odp_fault: cost of ODP page faults, measured by RDMA WRITEs of SIZE bytes
 * (default 64 MiB, in 1 MiB messages) into a target buffer that is:
 *   pinned     a pinned MR (the reference)
 *   odp-cold   an ODP MR over pages the CPU has never touched (each page
 *              is faulted in by the responder; anonymous memory is
 *              allocated and zeroed on the way)
 *   odp-warm   the same ODP MR again, all pages present
 *   odp-pref   a fresh ODP MR after a synchronous PREFETCH_WRITE (the
 *              prefetch time is counted)
 *   odp-touch  a fresh ODP MR over pages the CPU has touched (faults that
 *              only look the pages up)
 * Prints MiB/s and pages/s for each; run in the VM:
 *   tools/vm/run -- build/bench/odp_fault [-m MSG_BYTES] [-k KINDS] [SIZE_MIB] [ROUNDS]
 * MSG_BYTES is the message size (default 1 MiB, at most SIZE); KINDS a
 * comma-separated subset of pinned,cold,warm,pref,touch (default all;
 * "pinned" alone also runs on stock rxe, for a baseline in the same boot).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "rxe_test.h"
#include "rxe_revoke.h"

static size_t msg = 1 << 20;
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ)

static void die(const char *what)
{
	fprintf(stderr, "odp_fault: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* WRITE size bytes from src into dst in MSG messages; seconds taken. */
static double write_all(struct rt_qp *q, struct ibv_mr *src, struct ibv_mr *dst,
			size_t size)
{
	double t = rt_now();
	struct ibv_wc wc;
	size_t off;

	for (off = 0; off + msg <= size; off += msg) {
		if (rt_post_rdma(q, IBV_WR_RDMA_WRITE, src, (char *)src->addr + off,
				 msg, (uintptr_t)dst->addr + off, dst->rkey, off))
			die("post");
		if (rt_poll(q->cq, &wc) || wc.status != IBV_WC_SUCCESS) {
			fprintf(stderr, "odp_fault: WRITE failed: %s\n",
				ibv_wc_status_str(wc.status));
			exit(1);
		}
	}
	return rt_now() - t;
}

static void *fresh(size_t size, int touch)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	if (touch)
		memset(p, 1, size);
	return p;
}

enum { PINNED, COLD, WARM, PREF, TOUCH, NKIND };
static const char *const kind_name[NKIND] = {
	"pinned", "odp-cold", "odp-warm", "odp-pref", "odp-touch",
};
static const char *const kind_opt[NKIND] = {
	"pinned", "cold", "warm", "pref", "touch",
};
static unsigned int kinds = (1 << NKIND) - 1;

static struct ibv_mr *reg(struct rt_dev *d, void *p, size_t size, int odp)
{
	struct ibv_mr *mr = ibv_reg_mr(d->pd, p, size,
				       ACCESS | (odp ? IBV_ACCESS_ON_DEMAND : 0));

	if (!mr)
		die("reg_mr");
	return mr;
}

/* One round: the seconds each kind took for size bytes. */
static void round_once(struct rt_dev *d, struct rt_qp *q, struct ibv_mr *src,
		       size_t size, double t[NKIND])
{
	struct ibv_mr *dst;
	struct ibv_sge sge;
	double s;
	void *p;

	p = fresh(size, 1);
	dst = reg(d, p, size, 0);
	write_all(q, src, dst, size);	/* warm-up, not counted */
	t[PINNED] = write_all(q, src, dst, size);
	ibv_dereg_mr(dst);
	munmap(p, size);
	if (!(kinds & ~(1u << PINNED)))
		return;

	p = fresh(size, 0);
	dst = reg(d, p, size, 1);
	t[COLD] = write_all(q, src, dst, size);
	t[WARM] = write_all(q, src, dst, size);
	ibv_dereg_mr(dst);
	munmap(p, size);
	if (!(kinds & (1u << PREF | 1u << TOUCH)))
		return;

	p = fresh(size, 0);
	dst = reg(d, p, size, 1);
	s = rt_now();
	sge = (struct ibv_sge){ (uintptr_t)p, (uint32_t)size, dst->lkey };
	errno = rxer_advise_mr(d->pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			       IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	if (errno)
		die("prefetch");
	t[PREF] = rt_now() - s + write_all(q, src, dst, size);
	ibv_dereg_mr(dst);
	munmap(p, size);
	if (!(kinds & (1u << TOUCH)))
		return;

	p = fresh(size, 1);
	dst = reg(d, p, size, 1);
	t[TOUCH] = write_all(q, src, dst, size);
	ibv_dereg_mr(dst);
	munmap(p, size);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static unsigned int parse_kinds(char *arg)
{
	unsigned int m = 0;
	char *tok;
	int k;

	for (tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		for (k = 0; k < NKIND && strcmp(tok, kind_opt[k]); k++)
			;
		if (k == NKIND) {
			fprintf(stderr, "odp_fault: unknown kind %s\n", tok);
			exit(2);
		}
		m |= 1u << k;
	}
	return m | 1u << PINNED;	/* the reference of the ratios */
}

int main(int argc, char **argv)
{
	double t[16][NKIND], v[16], med[NKIND];
	struct rt_qp a, b;
	struct rt_dev d;
	struct ibv_mr *src;
	size_t size;
	int r, k, c, rounds;

	while ((c = getopt(argc, argv, "m:k:")) != -1) {
		switch (c) {
		case 'm':
			msg = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			kinds = parse_kinds(optarg);
			break;
		default:
			errno = EINVAL;
			die("usage: odp_fault [-m MSG] [-k KINDS] [SIZE_MIB] [ROUNDS <= 16]");
		}
	}
	size = (size_t)(optind < argc ? atoi(argv[optind]) : 64) << 20;
	rounds = optind + 1 < argc ? atoi(argv[optind + 1]) : 3;
	if (!size || !msg || msg > size || msg > (1u << 30) || rounds < 1 ||
	    rounds > 16) {
		errno = EINVAL;
		die("usage: odp_fault [-m MSG] [-k KINDS] [SIZE_MIB] [ROUNDS <= 16]");
	}
	if (rt_dev_open(&d) || rt_qp_create(&d, &a, 16) ||
	    rt_qp_create(&d, &b, 16) || rt_rc_connect(&d, &a, &b))
		die("setup");
	src = reg(&d, fresh(size, 1), size, 0);
	printf("odp_fault: %zu MiB in %zu B WRITEs, median of %d rounds\n",
	       size >> 20, msg, rounds);
	for (r = 0; r < rounds; r++)
		round_once(&d, &a, src, size, t[r]);
	for (k = 0; k < NKIND; k++) {
		if (!(kinds & (1u << k)))
			continue;
		for (r = 0; r < rounds; r++)
			v[r] = t[r][k];
		qsort(v, rounds, sizeof(v[0]), cmp_double);
		med[k] = v[rounds / 2];
		printf("%-10s %8.2f MiB/s %8.0f pages/s  %.3f x pinned  (min %.2f max %.2f MiB/s)\n",
		       kind_name[k], size / med[k] / (1 << 20),
		       size / 4096.0 / med[k], med[PINNED] / med[k],
		       size / v[rounds - 1] / (1 << 20),
		       size / v[0] / (1 << 20));
	}
	return 0;
}
