// SPDX-License-Identifier: GPL-2.0
/*
 * reg_file: register a shared mapping of a file with an RDMA device and say
 * what happened. Used by the demo to show how a registration on fsdax is
 * treated.
 *
 *   reg_file [-d DEV] [-o] [-s SIZE] FILE
 *     -o   ask for an on-demand-paging MR (IBV_ACCESS_ON_DEMAND)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <infiniband/verbs.h>

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return ctx;
}

int main(int argc, char **argv)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	const char *dev = "rxe0", *kind = "pinned";
	size_t size = 2 << 20;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	void *buf;
	int fd, c;

	while ((c = getopt(argc, argv, "d:os:")) != -1) {
		switch (c) {
		case 'd':
			dev = optarg;
			break;
		case 'o':
			access |= IBV_ACCESS_ON_DEMAND;
			kind = "ODP";
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-d DEV] [-o] [-s SIZE] FILE\n",
				argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1 || !size) {
		fprintf(stderr, "usage: %s [-d DEV] [-o] [-s SIZE] FILE\n", argv[0]);
		return 2;
	}
	fd = open(argv[optind], O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		perror(argv[optind]);
		return 1;
	}
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	ctx = open_dev(dev);
	if (!ctx) {
		fprintf(stderr, "cannot open %s\n", dev);
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	if (!pd) {
		perror("ibv_alloc_pd");
		return 1;
	}
	mr = ibv_reg_mr(pd, buf, size, access);
	if (!mr) {
		int err = errno;

		printf("%s ibv_reg_mr of %zu bytes of %s: failed, errno %d (%s)\n",
		       kind, size, argv[optind], err, strerror(err));
		return 3;
	}
	printf("%s ibv_reg_mr of %zu bytes of %s: ok, lkey 0x%x rkey 0x%x\n",
	       kind, size, argv[optind], mr->lkey, mr->rkey);
	ibv_dereg_mr(mr);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	munmap(buf, size);
	close(fd);
	return 0;
}
