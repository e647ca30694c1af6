// SPDX-License-Identifier: GPL-2.0
/*
 * revoke_scale: cost of punching one 4 KiB page out of a DAX file as a
 * function of the size of the MR registered over the whole file.
 *
 *   tools/vm/run -- build/bench/revoke_scale [-r ROUNDS] DIR SIZE_MIB...
 *
 * For each SIZE a file of that size on DIR is written through its mapping;
 * each round maps every page of it again (MADV_POPULATE_WRITE: the punch
 * before zapped the whole file's page table, see BENCHMARKS.md), then
 * punches a different 4 KiB page near its middle (fallocate(PUNCH_HOLE))
 * with
 *   none       no MR
 *   revocable  a plain ibv_reg_mr of the whole mapping (revocable on fsdax),
 *              registered anew each round; the revoke event tells the
 *              range that was revoked
 *   odp        an ODP MR of the whole mapping, prefetched for writing
 *              before each punch (every page mapped)
 * and times that one call. Every kind punches with the same page table, so
 * the difference to none is what the MR adds. Prints a line per SIZE and
 * kind:
 *   scale KIND SIZE_MIB MEDIAN_MS MIN_MS MAX_MS ROUNDS REVOKED_KIB
 * (REVOKED_KIB: the length of the revoked range the event reported, -1
 * when there is no event).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rxe_test.h"
#include "rxe_revoke.h"

#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ)
#define MAXR	32

static void die(const char *what)
{
	fprintf(stderr, "revoke_scale: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

enum { NONE, REVOCABLE, ODP, NKIND };
static const char *const kind_name[NKIND] = { "none", "revocable", "odp" };

int main(int argc, char **argv)
{
	struct rxe_revoke_event ev[8];
	int rounds = 5, c, i, k, r, fd, ch, nev;
	double t[MAXR], s;
	struct ibv_mr *mr;
	struct ibv_sge sge;
	struct rt_dev d;
	long long revoked;
	char path[256];
	size_t size;
	off_t off;
	void *p;

	while ((c = getopt(argc, argv, "r:")) != -1) {
		if (c != 'r')
			goto usage;
		rounds = atoi(optarg);
	}
	if (optind + 2 > argc || rounds < 1 || rounds > MAXR)
		goto usage;
	if (rt_dev_open(&d))
		die("device");
	ch = rxer_create_event_channel(d.ctx);
	if (ch < 0)
		die("event channel");
	if (fcntl(ch, F_SETFL, O_NONBLOCK))
		die("fcntl");
	for (i = optind + 1; i < argc; i++) {
		size = (size_t)atoi(argv[i]) << 20;
		if (size < (1 << 20))
			goto usage;
		snprintf(path, sizeof(path), "%s/revoke_scale.%d", argv[optind],
			 getpid());
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)size))
			die(path);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			die("mmap");
		memset(p, 0x5a, size);
		for (k = 0; k < NKIND; k++) {
			revoked = -1;
			for (r = 0; r < rounds; r++) {
				off = (off_t)size / 2 + ((off_t)k * MAXR + r) * 4096;
				/*
				 * In every kind the whole mapping is mapped,
				 * as the MR's pin or prefetch would map it.
				 */
				if (madvise(p, size, MADV_POPULATE_WRITE))
					die("MADV_POPULATE_WRITE");
				mr = NULL;
				if (k != NONE) {
					mr = ibv_reg_mr(d.pd, p, size, ACCESS |
							(k == ODP ? IBV_ACCESS_ON_DEMAND : 0));
					if (!mr)
						die("reg_mr");
				}
				if (k == ODP) {
					sge = (struct ibv_sge){ (uintptr_t)p,
						(uint32_t)size, mr->lkey };
					errno = rxer_advise_mr(d.pd,
						IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
						IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
					if (errno)
						die("prefetch");
				}
				s = rt_now();
				if (fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					      FALLOC_FL_KEEP_SIZE, off, 4096))
					die("fallocate");
				t[r] = (rt_now() - s) * 1e3;
				if (k == REVOCABLE) {
					nev = rxer_read_events(ch, ev, 8);
					if (nev < 1) {
						fprintf(stderr, "revoke_scale: no revoke event for a punch in a %zu MiB MR\n",
							size >> 20);
						return 1;
					}
					revoked = (long long)(ev[0].end - ev[0].start);
				}
				if (mr)
					ibv_dereg_mr(mr);
			}
			qsort(t, rounds, sizeof(t[0]), cmp);
			printf("scale %s %zu %.3f %.3f %.3f %d %lld\n",
			       kind_name[k], size >> 20, t[rounds / 2], t[0],
			       t[rounds - 1], rounds,
			       revoked < 0 ? -1 : revoked >> 10);
			fflush(stdout);
		}
		munmap(p, size);
		close(fd);
		unlink(path);
	}
	return 0;
usage:
	fprintf(stderr, "usage: revoke_scale [-r ROUNDS <= %d] DIR SIZE_MIB...\n", MAXR);
	return 2;
}
