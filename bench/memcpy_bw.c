// SPDX-License-Identifier: GPL-2.0
/*
 * memcpy_bw: single-thread memcpy bandwidth for message sizes, the ceiling
 * of a copying software NIC in the same guest.
 *
 *   tools/vm/run -- build/bench/memcpy_bw [SIZE...]
 *
 * For each SIZE (default 64 4096 65536 1048576) copies SIZE bytes between
 * two buffers that stride through 64 MiB (so large sizes are not served
 * from cache more than an RDMA buffer would be) for about 0.5 s; prints
 *   memcpy SIZE GBIT_PER_S
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rxe_test.h"

#define SPAN	(64UL << 20)

int main(int argc, char **argv)
{
	static const char *const def[] = { "64", "4096", "65536", "1048576" };
	const char *const *sz = argc > 1 ? (const char *const *)argv + 1 : def;
	int n = argc > 1 ? argc - 1 : 4, i;
	char *a = malloc(SPAN), *b = malloc(SPAN);
	size_t size, off, bytes;
	double s, t;

	if (!a || !b)
		return 1;
	memset(a, 1, SPAN);
	memset(b, 2, SPAN);
	for (i = 0; i < n; i++) {
		size = strtoul(sz[i], NULL, 0);
		if (!size || size > SPAN) {
			fprintf(stderr, "memcpy_bw: bad size %s\n", sz[i]);
			return 2;
		}
		bytes = 0;
		off = 0;
		s = rt_now();
		do {
			for (int j = 0; j < 64; j++) {
				memcpy(b + off, a + off, size);
				off = (off + size) % (SPAN - size + 1);
				bytes += size;
			}
			/* keep the copies from being optimised away */
			__asm__ volatile("" : : "r"(b) : "memory");
			t = rt_now() - s;
		} while (t < 0.5);
		printf("memcpy %zu %.4f\n", size, bytes * 8 / t / 1e9);
	}
	return 0;
}
