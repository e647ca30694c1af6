// SPDX-License-Identifier: GPL-2.0
/*
 * revoke_demo: the life of a revocable MR on a DAX file, step by step.
 *
 *   revoke_demo [-d DEV] FILE      (FILE on an fsdax mount)
 *
 * register the file's mapping (a plain ibv_reg_mr: revocable on fsdax),
 * RDMA WRITE into it, truncate the file (it returns at once and revokes
 * the MR), show the revoke event and the failing WRITE, extend the file
 * again, re-register the MR and WRITE again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rxe_test.h"
#include "rxe_revoke.h"

#define LEN	(4 << 20)
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ)

static const char *const reason_name[] = {
	"none", "truncate", "unmap", "explicit", "admin", "exit",
};

static void die(const char *what, int err)
{
	fprintf(stderr, "revoke_demo: %s: %s\n", what, strerror(err));
	exit(1);
}

static const char *write_once(struct rt_dev *d, struct ibv_mr *src,
			      struct ibv_mr *dst)
{
	static char msg[64];
	struct rt_qp a, b;
	struct ibv_wc wc;

	if (rt_qp_create(d, &a, 4) || rt_qp_create(d, &b, 4) ||
	    rt_rc_connect(d, &a, &b))
		die("qp", errno);
	if (rt_post_rdma(&a, IBV_WR_RDMA_WRITE, src, src->addr, 65536,
			 (uintptr_t)dst->addr, dst->rkey, 1) ||
	    rt_poll(a.cq, &wc))
		die("post/poll", EIO);
	snprintf(msg, sizeof(msg), "%s", ibv_wc_status_str(wc.status));
	rt_qp_destroy(&a);
	rt_qp_destroy(&b);
	return msg;
}

static void show(struct ibv_mr *mr)
{
	struct rxe_revoke_mr_state st;
	int err = rxer_query_mr(mr, &st);

	if (err)
		die("query", err);
	printf("  MR lkey 0x%x rkey 0x%x: %s, %s, revoked %u time(s)%s%s\n",
	       st.lkey, st.rkey,
	       st.kind == RXE_REVOKE_MR_REVOCABLE ? "revocable" :
	       st.kind == RXE_REVOKE_MR_ODP ? "ODP" : "pinned",
	       st.status == RXE_REVOKE_MR_ACTIVE ? "active" : "REVOKED",
	       st.revoke_count, st.revoke_count ? ", last reason: " : "",
	       st.revoke_count ? reason_name[st.reason % 6] : "");
}

int main(int argc, char **argv)
{
	struct rxe_revoke_event ev;
	struct pollfd pfd;
	struct ibv_mr *src, *mr;
	struct rt_dev d;
	char *buf, *back;
	int fd, evfd, err;
	double t;

	if (argc > 2 && !strcmp(argv[1], "-d")) {
		setenv("RXE_DEV", argv[2], 1);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: revoke_demo [-d DEV] FILE\n");
		return 2;
	}
	if (rt_dev_open(&d))
		die("open device", ENODEV);
	evfd = rxer_create_event_channel(d.ctx);
	if (evfd < 0)
		die("event channel", errno);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, LEN))
		die(argv[1], errno);
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED)
		die("mmap", errno);
	src = ibv_reg_mr(d.pd, memset(malloc(65536), 0x42, 65536), 65536,
			 ACCESS);
	if (!src)
		die("reg src", errno);

	printf("1. plain ibv_reg_mr of %d MiB of %s (DAX: %s)\n", LEN >> 20,
	       argv[1], rt_file_is_dax(fd) ? "yes" : "no");
	mr = ibv_reg_mr(d.pd, buf, LEN, ACCESS);
	if (!mr)
		die("ibv_reg_mr", errno);
	show(mr);

	printf("2. RDMA WRITE into it: %s\n", write_once(&d, src, mr));

	t = rt_now();
	if (ftruncate(fd, 0))
		die("ftruncate", errno);
	printf("3. ftruncate(0) returned after %.1f ms (the MR held its pages)\n",
	       (rt_now() - t) * 1e3);
	show(mr);

	pfd = (struct pollfd){ .fd = evfd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || rxer_read_events(evfd, &ev, 1) != 1)
		die("no revoke event", EIO);
	printf("4. event: seq %llu, MR handle %u, lkey 0x%x, rkey 0x%x, reason %s, range 0x%llx-0x%llx\n",
	       (unsigned long long)ev.seq, ev.mr_handle, ev.lkey, ev.rkey,
	       reason_name[ev.reason % 6], (unsigned long long)ev.start,
	       (unsigned long long)ev.end);

	printf("5. RDMA WRITE into the revoked MR: %s\n", write_once(&d, src, mr));

	if (ftruncate(fd, LEN))
		die("ftruncate", errno);
	err = rxer_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, buf,
			    LEN, 0);
	if (err)
		die("rereg", err);
	printf("6. file extended again, MR re-registered (new keys):\n");
	show(mr);
	printf("7. RDMA WRITE again: %s", write_once(&d, src, mr));
	back = malloc(65536);
	if (!back || pread(fd, back, 65536, 0) != 65536)
		die("pread", errno);
	printf(" (file data %s)\n", memcmp(back, src->addr, 65536) ?
	       "WRONG" : "as written");

	ibv_dereg_mr(mr);
	ibv_dereg_mr(src);
	munmap(buf, LEN);
	close(fd);
	unlink(argv[1]);
	close(evfd);
	rt_dev_close(&d);
	return 0;
}
