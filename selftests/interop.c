// SPDX-License-Identifier: GPL-2.0
/*
 * interop: a revocable MR of ours under a flood from an unmodified peer.
 *
 * Two guests of tools/vm/pair, connected by a real (virtio) NIC: the
 * server runs on our rdma_rxe and is the responder, the client runs on
 * Debian's stock rdma_rxe and is the requester. They exchange what RC needs
 * over TCP on the same NIC. For each run the server registers a fresh
 * XFS-DAX file filled with a known pattern (a plain ibv_reg_mr of fsdax
 * memory: revocable), the client floods it with RDMA READs of 64 KiB, or
 * WRITEs, or ATOMIC FETCH_ADDs, and the server revokes the MR during the
 * flood (rxer_revoke_mr(), a hole punch or a truncate, in turn). The stock
 * requester must see:
 *
 *  - every READ that completes successfully carries the pattern in all of
 *    its bytes (the local buffer is filled with a sentinel before each
 *    READ, and every byte is compared); every successful atomic returns
 *    the counter's next value;
 *  - its first failure is a clean IBV_WC_REM_ACCESS_ERR, within 60 s of the
 *    revoke, then only flush errors, and nothing left outstanding;
 *
 * and the server checks that the MR is revoked and, when its file is still
 * there (owner revoke), that it holds only bytes the pattern or the
 * client's WRITEs put there, and a counter that moved once per successful
 * atomic. A kernel splat on either side fails the pair (tools/vm/pair).
 *
 *   interop server [-p PORT] [-c CONNECTIONS]
 *   interop client -P PEER_IP [-p PORT] [-o read|write|atomic] [-r RETRY_CNT]
 *                  [-T TIMEOUT] [-n RUNS] [-s SIZE] [-m MR_BYTES] [-d DEPTH]
 *                  [-S SEED]
 *
 * The client prints TAP, one test per run, with the counts: successes,
 * errors by status, bytes checked. It exits non-zero if a run failed; the
 * server exits non-zero if one of its own checks failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rxe_test.h"
#include "rxe_revoke.h"

#define FIRST_ERROR_BOUND	60.0	/* s from the revoke to the first error */
#define DRAIN_BOUND		60.0	/* s from the first error to the last WR */
#define TRAFFIC_BOUND		120.0	/* s to the first success, to the revoke */
#define CONNECT_BOUND		900.0	/* s: the other guest may boot later */
#define MSG_BOUND		300.0
#define SENTINEL		0xa5
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define ATOMIC_OFF		64	/* the counter the atomics add to */
#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

enum op { OP_READ, OP_WRITE, OP_ATOMIC };
static const char *const op_name[] = { "read", "write", "atomic" };

enum method { M_REVOKE, M_PUNCH, M_TRUNCATE, M_NR };
static const char *const method_name[] = { "revoke", "punch", "truncate" };

enum msg_type {
	MSG_ROUND = 1,	/* client: op, retry, seed, sizes */
	MSG_MR,		/* server: its QP, GID, the MR */
	MSG_QP,		/* client: its QP, GID */
	MSG_READY,	/* server: its QP is connected */
	MSG_GO,		/* client: the flood runs (first success seen) */
	MSG_REVOKING,	/* server: about to revoke */
	MSG_REVOKED,	/* server: revoked; v[0] = duration in us */
	MSG_RESULT,	/* client: its counts */
	MSG_VERDICT,	/* server: status 0 = its checks passed; text */
	MSG_BYE,
};

/* One message layout for everything; both ends are this program. */
struct msg {
	uint32_t type;
	uint32_t op, method, retry_cnt, timeout, seed, delay_ms, status;
	uint32_t qpn, psn, rkey, pad;
	uint64_t addr, len, size;
	uint8_t gid[16];
	uint64_t v[8];
	char text[256];
};

enum { R_SUCC, R_ATOMIC_SUCC };	/* msg.v[] of MSG_RESULT */

static const char *msg_name(uint32_t t)
{
	static const char *const n[] = { "?", "ROUND", "MR", "QP", "READY",
		"GO", "REVOKING", "REVOKED", "RESULT", "VERDICT", "BYE" };

	return t < ARRAY_SIZE(n) ? n[t] : "?";
}

static int xfer(int fd, void *buf, size_t len, bool out, double bound)
{
	double deadline = rt_now() + bound;
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		int ms = (int)((deadline - rt_now()) * 1000);
		ssize_t n;

		if (ms <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ETIMEDOUT;
		n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

static int send_msg(int fd, struct msg *m, uint32_t type)
{
	m->type = type;
	return xfer(fd, m, sizeof(*m), true, MSG_BOUND);
}

/* Receive one message of the type (0: any); -EPROTO for another one. */
static int recv_msg(int fd, struct msg *m, uint32_t type, double bound)
{
	int ret = xfer(fd, m, sizeof(*m), false, bound);

	if (ret) {
		fprintf(stderr, "interop: waiting for %s: %s\n",
			msg_name(type), strerror(-ret));
		return ret;
	}
	if (type && m->type != type) {
		fprintf(stderr, "interop: got %s, expected %s\n",
			msg_name(m->type), msg_name(type));
		return -EPROTO;
	}
	return 0;
}

/* Is a message waiting on fd (no wait)? */
static bool msg_ready(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/* Move an RC QP to RTS towards the peer's QP and GID. */
static int qp_connect(struct rt_dev *d, struct ibv_qp *qp, uint32_t my_psn,
		      const struct msg *peer, int retry_cnt, int timeout)
{
	struct rt_conn c = {
		.dest_qpn = peer->qpn,
		.sq_psn = my_psn,
		.rq_psn = peer->psn,
		.timeout = timeout,
		.retry_cnt = retry_cnt,
		.min_rnr_timer = 12,
		.hop_limit = 64,
	};

	memcpy(c.dgid.raw, peer->gid, 16);
	return rt_qp_connect(d, qp, &c);
}

static void fill_local(struct msg *m, struct rt_dev *d, struct rt_qp *q,
		       uint32_t psn)
{
	m->qpn = q->qp->qp_num;
	m->psn = psn;
	memcpy(m->gid, d->gid.raw, 16);
}

static uint64_t load64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* ---------------------------------------------------------------- server */

struct server_round {
	struct rt_mem mem;
	struct ibv_mr *mr;
	struct rt_qp q;
};

static int do_revoke(struct server_round *s, enum method m)
{
	switch (m) {
	case M_REVOKE:
		return rxer_revoke_mr(s->mr);
	case M_PUNCH:
		/* a part of the file: the whole MR goes */
		return fallocate(s->mem.fd, FALLOC_FL_PUNCH_HOLE |
				 FALLOC_FL_KEEP_SIZE, (off_t)s->mem.len / 4,
				 (off_t)s->mem.len / 4) ? errno : 0;
	default:
		return ftruncate(s->mem.fd, 0) ? errno : 0;
	}
}

/*
 * After an owner revoke the file is intact: every byte is the pattern or
 * what the client's WRITEs put there (the client writes the pattern of
 * seed ^ WRITE_SEED at the same offsets); the atomics' counter moved by one
 * per successful atomic. Returns 0, or -1 with a reason in text.
 */
#define WRITE_SEED	0x5a5a5a5a

static int server_check(struct server_round *s, const struct msg *rq,
			const struct msg *res, char *text, size_t tlen)
{
	size_t len = s->mem.len, i, bad = 0, first = 0;
	uint8_t *a = malloc(len), *b = malloc(len);
	const uint8_t *p = s->mem.addr;
	int ret = 0;

	if (!a || !b) {
		snprintf(text, tlen, "out of memory");
		ret = -1;
		goto out;
	}
	rt_fill(a, len, rq->seed);
	rt_fill(b, len, rq->seed ^ WRITE_SEED);
	if (rq->op == OP_ATOMIC) {
		uint64_t init = load64(a + ATOMIC_OFF);
		uint64_t now = load64(p + ATOMIC_OFF);
		uint64_t n = res->v[R_ATOMIC_SUCC];

		if (now != init + n) {
			snprintf(text, tlen,
				 "counter moved by %llu, %llu atomics succeeded",
				 (unsigned long long)(now - init),
				 (unsigned long long)n);
			ret = -1;
			goto out;
		}
		/* nothing else changed */
		memcpy(a + ATOMIC_OFF, p + ATOMIC_OFF, 8);
	}
	for (i = 0; i < len; i++) {
		if (p[i] == a[i] || (rq->op == OP_WRITE && p[i] == b[i]))
			continue;
		if (!bad++)
			first = i;
	}
	if (bad) {
		snprintf(text, tlen, "%zu bytes of the file neither the pattern nor written (first at %zu)",
			 bad, first);
		ret = -1;
	} else {
		snprintf(text, tlen, "file: %zu bytes as expected%s", len,
			 rq->op == OP_ATOMIC ? ", counter moved once per atomic" : "");
	}
out:
	free(a);
	free(b);
	return ret;
}

/*
 * One run, driven by the client's ROUND message. Returns 0, 1 (a check
 * failed) or -errno (the conversation broke).
 */
static int server_round(struct rt_dev *d, int fd, struct msg *rq)
{
	struct server_round s = { .mem.fd = -1 };
	struct rxe_revoke_mr_state st;
	struct msg m, peer;
	double t0, t1;
	uint32_t psn = (uint32_t)random() & 0xffffff;
	int ret, failed = 0, err;

	memset(&m, 0, sizeof(m));
	ret = rt_mem_map(&s.mem, RT_MEM_XFS_DAX, rq->len);
	if (ret) {
		fprintf(stderr, "interop: XFS-DAX file of %llu bytes: %s\n",
			(unsigned long long)rq->len, strerror(-ret));
		return ret;
	}
	rt_fill(s.mem.addr, s.mem.len, rq->seed);
	/* fsdax: a plain registration is revocable */
	s.mr = ibv_reg_mr(d->pd, s.mem.addr, s.mem.len, ACCESS);
	if (!s.mr) {
		ret = -errno;
		fprintf(stderr, "interop: ibv_reg_mr on XFS-DAX: %s\n", strerror(errno));
		goto out;
	}
	ret = rxer_query_mr(s.mr, &st);
	if (ret || st.kind != RXE_REVOKE_MR_REVOCABLE || st.status != RXE_REVOKE_MR_ACTIVE) {
		fprintf(stderr, "interop: the MR is not an active revocable one (%d)\n", ret);
		ret = -EINVAL;
		goto out;
	}
	ret = rt_qp_create(d, &s.q, 64);
	if (ret)
		goto out;
	fill_local(&m, d, &s.q, psn);
	m.addr = (uintptr_t)s.mem.addr;
	m.len = s.mem.len;
	m.rkey = s.mr->rkey;
	ret = send_msg(fd, &m, MSG_MR);
	if (!ret)
		ret = recv_msg(fd, &peer, MSG_QP, MSG_BOUND);
	if (!ret)
		ret = qp_connect(d, s.q.qp, psn, &peer, rq->retry_cnt, rq->timeout);
	if (!ret)
		ret = send_msg(fd, &m, MSG_READY);
	if (!ret)
		ret = recv_msg(fd, &m, MSG_GO, TRAFFIC_BOUND + 30);
	if (ret)
		goto out;

	usleep(rq->delay_ms * 1000);
	if (rxer_query_mr(s.mr, &st) || st.status != RXE_REVOKE_MR_ACTIVE) {
		printf("# server: the MR was revoked before its owner revoked it\n");
		failed = 1;
	}
	ret = send_msg(fd, &m, MSG_REVOKING);
	if (ret)
		goto out;
	t0 = rt_now();
	err = do_revoke(&s, rq->method);
	t1 = rt_now();
	if (err) {
		printf("# server: %s: %s\n", method_name[rq->method], strerror(err));
		failed = 1;
	}
	if (rxer_query_mr(s.mr, &st) || st.status != RXE_REVOKE_MR_REVOKED) {
		printf("# server: the MR is not revoked after the %s\n",
		       method_name[rq->method]);
		failed = 1;
	}
	m.v[0] = (uint64_t)((t1 - t0) * 1e6);
	ret = send_msg(fd, &m, MSG_REVOKED);
	if (!ret)
		ret = recv_msg(fd, &peer, MSG_RESULT,
			       FIRST_ERROR_BOUND + DRAIN_BOUND + MSG_BOUND);
	if (ret)
		goto out;

	memset(&m, 0, sizeof(m));
	if (rq->method == M_REVOKE) {
		if (server_check(&s, rq, &peer, m.text, sizeof(m.text)))
			failed = 1;
	} else {
		snprintf(m.text, sizeof(m.text), "file gone (%s), not checked",
			 method_name[rq->method]);
	}
	printf("# server: %s by %s after %u ms took %.1f ms, reason %u, revoked [%#llx, %#llx); %s: %s\n",
	       op_name[rq->op], method_name[rq->method], rq->delay_ms,
	       (t1 - t0) * 1e3, st.reason,
	       (unsigned long long)st.revoked_start,
	       (unsigned long long)st.revoked_end, m.text,
	       failed ? "FAILED" : "ok");
	fflush(stdout);
	m.status = failed;
	ret = send_msg(fd, &m, MSG_VERDICT);
out:
	rt_qp_destroy(&s.q);
	if (s.mr)
		ibv_dereg_mr(s.mr);
	rt_mem_unmap(&s.mem);
	return ret ? ret : failed;
}

/* Serve one client connection (all of its runs). */
static int serve(struct rt_dev *d, int lfd, int *rounds, int *failed)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int one = 1, fd, ret;
	struct msg m;

	if (poll(&pfd, 1, (int)(CONNECT_BOUND * 1000)) != 1) {
		fprintf(stderr, "interop: no client within %.0f s\n", CONNECT_BOUND);
		return -ETIMEDOUT;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		perror("interop: accept");
		return -errno;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		ret = recv_msg(fd, &m, 0, CONNECT_BOUND);
		if (ret || m.type == MSG_BYE)
			break;
		if (m.type != MSG_ROUND) {
			ret = -EPROTO;
			break;
		}
		ret = server_round(d, fd, &m);
		(*rounds)++;
		if (ret < 0)
			break;
		*failed += ret;
		ret = 0;
	}
	close(fd);
	return ret;
}

static int server(int port, int conns)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	int one = 1, lfd, ret, i, rounds = 0, failed = 0;
	struct rt_dev d;

	ret = rt_dev_open(&d);
	if (ret) {
		fprintf(stderr, "interop: %s: %s\n", rt_env("RXE_DEV", "rxe0"),
			strerror(-ret));
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		perror("interop: listen");
		return 1;
	}
	printf("# server: listening on port %d for %d connection(s)\n", port, conns);
	for (i = 0; i < conns && !ret; i++)
		ret = serve(&d, lfd, &rounds, &failed);
	close(lfd);
	rt_dev_close(&d);
	printf("# server: %d runs, %d failed its checks%s\n", rounds, failed,
	       ret ? ", then the conversation broke" : "");
	return ret || failed;
}

/* ---------------------------------------------------------------- client */

struct opts {
	const char *peer;
	int port, op, retry_cnt, timeout, runs, depth;
	size_t size, mr_len;
	uint32_t seed;
};

struct counts {
	unsigned long succ, err[32], other_after_error, succ_after_error;
	unsigned long bad_ops, bad_bytes, missing_bytes;
	unsigned long long bytes_checked;
	unsigned long atomic_succ;
	int first_status;	/* -1: none */
	double t_first_error, t_revoking, t_go;
	long first_bad_op, first_bad_off;
};

static void counts_add(struct counts *t, const struct counts *c)
{
	int i;

	t->succ += c->succ;
	for (i = 0; i < 32; i++)
		t->err[i] += c->err[i];
	t->bad_ops += c->bad_ops;
	t->bad_bytes += c->bad_bytes;
	t->missing_bytes += c->missing_bytes;
	t->bytes_checked += c->bytes_checked;
}

static void print_errors(const char *prefix, const struct counts *c)
{
	int i, any = 0;

	printf("%s", prefix);
	for (i = 0; i < 32; i++) {
		if (!c->err[i])
			continue;
		printf("%s%lu %s", any ? ", " : "", c->err[i],
		       ibv_wc_status_str(i));
		any = 1;
	}
	printf("%s", any ? "" : "none");
}

static int client_connect(const struct opts *o)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(o->port),
	};
	double deadline = rt_now() + CONNECT_BOUND;
	int fd, one = 1;

	if (inet_pton(AF_INET, o->peer, &sa.sin_addr) != 1) {
		fprintf(stderr, "interop: bad peer address %s\n", o->peer);
		return -1;
	}
	do {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
		sleep(1);
	} while (rt_now() < deadline);
	fprintf(stderr, "interop: no server at %s:%d within %.0f s\n", o->peer,
		o->port, CONNECT_BOUND);
	return -1;
}

/* Where the k-th operation goes in the MR (offsets vary, some unaligned). */
static uint64_t op_offset(const struct opts *o, unsigned long k)
{
	size_t blocks = o->mr_len / o->size;

	if (o->op == OP_ATOMIC)
		return ATOMIC_OFF;
	return (k * 7 % (blocks - 1)) * o->size + (k % 4) * 1021 % o->size;
}

struct flood {
	const struct opts *o;
	struct rt_qp *q;
	struct ibv_mr *lmr;
	uint8_t *local;		/* depth slots of size bytes */
	const uint8_t *ref;	/* the server's pattern */
	const uint8_t *wref;	/* what the WRITEs write */
	uint64_t raddr, *slot_off;
	uint32_t rkey;
	uint64_t atomic_init;
	unsigned long posted, done;
};

static int flood_post(struct flood *f)
{
	const struct opts *o = f->o;
	unsigned long k = f->posted;
	uint8_t *buf = f->local + (k % o->depth) * o->size;
	uint64_t off = op_offset(o, k);
	int ret;

	f->slot_off[k % o->depth] = off;
	switch (o->op) {
	case OP_READ:
		memset(buf, SENTINEL, o->size);
		ret = rt_post_rdma(f->q, IBV_WR_RDMA_READ, f->lmr, buf, o->size,
				   f->raddr + off, f->rkey, k);
		break;
	case OP_WRITE:
		memcpy(buf, f->wref + off, o->size);
		ret = rt_post_rdma(f->q, IBV_WR_RDMA_WRITE, f->lmr, buf, o->size,
				   f->raddr + off, f->rkey, k);
		break;
	default:
		memset(buf, SENTINEL, 8);
		ret = rt_post_atomic(f->q, IBV_WR_ATOMIC_FETCH_AND_ADD, f->lmr,
				     buf, f->raddr + off, f->rkey, 1, 0, k);
		break;
	}
	if (!ret)
		f->posted++;
	return ret;
}

/* Check a successful completion's data: every byte of a READ. */
static void flood_check(struct flood *f, struct counts *c, unsigned long k)
{
	const struct opts *o = f->o;
	const uint8_t *buf = f->local + (k % o->depth) * o->size;
	uint64_t off = f->slot_off[k % o->depth];
	size_t i, bad = 0, missing = 0;
	long first = -1;

	if (o->op == OP_WRITE)
		return;
	if (o->op == OP_ATOMIC) {
		uint64_t want = f->atomic_init + c->atomic_succ;

		c->atomic_succ++;
		c->bytes_checked += 8;
		if (load64(buf) != want) {
			bad = 8;
			first = 0;
			for (i = 0; i < 8; i++)
				missing += buf[i] == SENTINEL;
		}
	} else {
		c->bytes_checked += o->size;
		for (i = 0; i < o->size; i++) {
			if (buf[i] == f->ref[off + i])
				continue;
			if (first < 0)
				first = (long)i;
			bad++;
			missing += buf[i] == SENTINEL;
		}
	}
	if (!bad)
		return;
	if (!c->bad_ops++) {
		c->first_bad_op = (long)k;
		c->first_bad_off = first;
		printf("# op %lu (remote offset %llu): %zu of %zu bytes wrong, %zu of them never written (sentinel), first at %ld\n",
		       k, (unsigned long long)off, bad,
		       o->op == OP_ATOMIC ? (size_t)8 : o->size, missing, first);
	}
	c->bad_bytes += bad;
	c->missing_bytes += missing;
}

/*
 * Take one of the server's revoke messages: REVOKING (the time it came is
 * noted) or REVOKED (with the revoke's duration, us). Returns 0, or -1 on
 * a broken conversation or any other message.
 */
static int revoke_msg(int fd, struct counts *c, bool *revoking,
		      bool *revoked, double *revoke_us)
{
	struct msg m;

	if (recv_msg(fd, &m, 0, MSG_BOUND))
		return -1;
	if (m.type == MSG_REVOKING) {
		*revoking = true;
		c->t_revoking = rt_now();
	} else if (m.type == MSG_REVOKED) {
		*revoked = true;
		*revoke_us = (double)m.v[0];
	} else {
		return -1;
	}
	return 0;
}

/*
 * One run: connect a fresh QP to a fresh MR, flood until the first error
 * after the server's revoke, drain. Returns 0 (passed), 1 (failed) or -1
 * (the conversation broke).
 */
static int client_round(struct rt_dev *d, int fd, const struct opts *o,
			int run, struct counts *c, uint32_t delay_ms,
			enum method method)
{
	struct flood f = { .o = o };
	struct msg m, srv, verdict;
	struct rt_qp q = { 0 };
	uint32_t psn = (uint32_t)random() & 0xffffff;
	uint8_t *ref = NULL, *wref = NULL;
	bool revoking = false, revoked = false, drained = false;
	double revoke_us = 0, now, t_end = 0;
	const char *why = NULL;
	int ret = -1, failed = 0;
	struct ibv_wc wc[16];
	size_t llen = o->depth * o->size;

	memset(c, 0, sizeof(*c));
	c->first_status = -1;
	memset(&m, 0, sizeof(m));
	m.op = o->op;
	m.method = method;
	m.retry_cnt = o->retry_cnt;
	m.timeout = o->timeout;
	m.seed = o->seed + run;
	m.delay_ms = delay_ms;
	m.len = o->mr_len;
	m.size = o->size;
	if (send_msg(fd, &m, MSG_ROUND) || recv_msg(fd, &srv, MSG_MR, MSG_BOUND))
		return -1;

	ref = malloc(o->mr_len);
	wref = malloc(o->mr_len);
	f.local = mmap(NULL, llen, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f.slot_off = calloc(o->depth, sizeof(*f.slot_off));
	if (!ref || !wref || f.local == MAP_FAILED || !f.slot_off) {
		f.local = f.local == MAP_FAILED ? NULL : f.local;
		goto out;
	}
	rt_fill(ref, o->mr_len, m.seed);
	rt_fill(wref, o->mr_len, m.seed ^ WRITE_SEED);
	f.ref = ref;
	f.wref = wref;
	f.atomic_init = load64(ref + ATOMIC_OFF);
	f.raddr = srv.addr;
	f.rkey = srv.rkey;
	f.lmr = ibv_reg_mr(d->pd, f.local, llen, ACCESS);
	if (!f.lmr || rt_qp_create(d, &q, o->depth))
		goto out;
	f.q = &q;
	fill_local(&m, d, &q, psn);
	if (send_msg(fd, &m, MSG_QP) || recv_msg(fd, &m, MSG_READY, MSG_BOUND))
		goto out;
	if (qp_connect(d, q.qp, psn, &srv, o->retry_cnt, o->timeout)) {
		fprintf(stderr, "interop: connecting the QP failed\n");
		goto out;
	}
	while (f.posted < (unsigned long)o->depth)
		if (flood_post(&f))
			goto out;

	c->t_go = rt_now();
	for (;;) {
		int i, n = ibv_poll_cq(q.cq, 16, wc);

		now = rt_now();
		if (n < 0)
			goto out;
		for (i = 0; i < n; i++) {
			unsigned long k = wc[i].wr_id;

			f.done++;
			if (k != f.done - 1 && !why)
				why = "completions out of order";
			if (wc[i].status == IBV_WC_SUCCESS) {
				if (c->first_status >= 0)
					c->succ_after_error++;
				if (!c->succ++ &&
				    send_msg(fd, &m, MSG_GO))
					goto out;
				flood_check(&f, c, k);
			} else {
				c->err[wc[i].status & 31]++;
				if (c->first_status < 0) {
					c->first_status = wc[i].status;
					c->t_first_error = now;
					if (!c->succ && !why)
						why = "no success before the first error";
				} else if (wc[i].status != IBV_WC_WR_FLUSH_ERR) {
					c->other_after_error++;
				}
			}
			if (c->first_status < 0 && flood_post(&f)) {
				why = "post failed";
				break;
			}
		}
		while (!revoked && msg_ready(fd))
			if (revoke_msg(fd, c, &revoking, &revoked, &revoke_us))
				goto out;
		if (why)
			break;
		if (c->first_status >= 0 && f.done == f.posted) {
			drained = true;
			break;
		}
		if (c->first_status >= 0 && now - c->t_first_error > DRAIN_BOUND) {
			why = "WRs still outstanding 60 s after the first error";
			break;
		}
		if (c->first_status < 0 && revoking &&
		    now - c->t_revoking > FIRST_ERROR_BOUND) {
			why = "no error completion within 60 s of the revoke";
			break;
		}
		if (!revoking && !c->succ && now - c->t_go > TRAFFIC_BOUND) {
			why = "no successful operation before the revoke";
			break;
		}
		if (!revoking && now - c->t_go > TRAFFIC_BOUND + delay_ms / 1000.0 + 30) {
			why = "the server never revoked";
			break;
		}
		if (!n)
			usleep(1000);
	}
	t_end = rt_now();
	/* the server revokes only after GO: let it go on */
	if (!c->succ && send_msg(fd, &m, MSG_GO))
		goto out;
	/* the server's REVOKING and REVOKED, if not seen yet */
	while (!revoked)
		if (revoke_msg(fd, c, &revoking, &revoked, &revoke_us))
			goto out;
	memset(&m, 0, sizeof(m));
	m.v[R_SUCC] = c->succ;
	m.v[R_ATOMIC_SUCC] = c->atomic_succ;
	if (send_msg(fd, &m, MSG_RESULT) ||
	    recv_msg(fd, &verdict, MSG_VERDICT, MSG_BOUND))
		goto out;
	ret = 0;

	if (c->first_status >= 0 && c->first_status != IBV_WC_REM_ACCESS_ERR)
		failed = 1;
	if (c->first_status >= 0 && c->t_first_error < c->t_revoking - 5 && !why)
		why = "the first error came more than 5 s before the revoke";
	failed |= !!why || c->bad_ops || c->other_after_error ||
		  c->succ_after_error || !drained || verdict.status ||
		  c->first_status < 0;
	printf("# run %d: %s %zu B, retry_cnt %d, timeout %d, %s after %u ms (took %.1f ms): %lu ok, %llu bytes checked, %lu bad (%lu bytes wrong, %lu never written); ",
	       run, op_name[o->op], o->op == OP_ATOMIC ? (size_t)8 : o->size,
	       o->retry_cnt, o->timeout, method_name[method], delay_ms,
	       revoke_us / 1e3, c->succ, c->bytes_checked, c->bad_ops,
	       c->bad_bytes, c->missing_bytes);
	print_errors("errors: ", c);
	if (c->first_status >= 0)
		printf("; first error %s %+.2f s from the revoke",
		       ibv_wc_status_str(c->first_status),
		       revoking ? c->t_first_error - c->t_revoking : 0.0);
	printf("\n# run %d: server: %s\n", run, verdict.text);
	if (c->succ_after_error)
		printf("# run %d: %lu successes after the first error\n", run,
		       c->succ_after_error);
	if (c->other_after_error)
		printf("# run %d: %lu errors other than flush after the first\n",
		       run, c->other_after_error);
	if (why || !drained)
		printf("# run %d: %s (%lu of %lu WRs completed, %.1f s after the start)\n",
		       run, why ? why : "not drained", f.done, f.posted,
		       t_end - c->t_go);
	printf("%s %d - %s.retry%d.%s.run%d\n", failed ? "not ok" : "ok", run,
	       op_name[o->op], o->retry_cnt, method_name[method], run);
	fflush(stdout);
out:
	if (ret)
		printf("not ok %d - %s.retry%d.%s.run%d # the conversation broke\n",
		       run, op_name[o->op], o->retry_cnt, method_name[method], run);
	rt_qp_destroy(&q);
	if (f.lmr)
		ibv_dereg_mr(f.lmr);
	if (f.local)
		munmap(f.local, llen);
	free(f.slot_off);
	free(ref);
	free(wref);
	return ret ? ret : failed;
}

static int client(const struct opts *o)
{
	struct counts c, total;
	int fd, run, failed = 0, ret = 0;
	struct rt_dev d;
	struct msg m;

	ret = rt_dev_open(&d);
	if (ret) {
		fprintf(stderr, "interop: %s: %s\n", rt_env("RXE_DEV", "rxe0"),
			strerror(-ret));
		return 1;
	}
	fd = client_connect(o);
	if (fd < 0)
		return 1;
	memset(&total, 0, sizeof(total));
	srandom(o->seed);
	printf("TAP version 13\n1..%d\n", o->runs);
	for (run = 1; run <= o->runs; run++) {
		/* the revoke lands 0.1 to 1.5 s into the flood */
		uint32_t delay = 100 + (uint32_t)(random() % 1400);

		ret = client_round(&d, fd, o, run, &c, delay,
				   (enum method)((run - 1) % M_NR));
		if (ret < 0) {
			failed += o->runs - run + 1;
			break;
		}
		failed += ret;
		counts_add(&total, &c);
		ret = 0;
	}
	memset(&m, 0, sizeof(m));
	if (!ret)
		send_msg(fd, &m, MSG_BYE);
	close(fd);
	rt_dev_close(&d);
	printf("# total %s: %lu ok, %llu bytes checked, %lu bad (%lu bytes wrong, %lu never written); ",
	       op_name[o->op], total.succ, total.bytes_checked, total.bad_ops,
	       total.bad_bytes, total.missing_bytes);
	print_errors("errors: ", &total);
	printf("; %d of %d runs failed\n", failed, o->runs);
	return failed ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: interop server [-p PORT] [-c CONNECTIONS]\n"
		"       interop client -P PEER_IP [-p PORT] [-o read|write|atomic] [-r RETRY_CNT]\n"
		"                      [-T TIMEOUT] [-n RUNS] [-s SIZE] [-m MR_BYTES] [-d DEPTH] [-S SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.port = 18600, .op = OP_READ, .retry_cnt = 7, .timeout = 18,
		.runs = 6, .depth = 8, .size = 65536, .mr_len = 2 << 20,
		.seed = 1,
	};
	int conns = 1;
	const char *role;
	int c;

	if (argc < 2)
		usage();
	role = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "c:p:P:o:r:T:n:s:m:d:S:")) != -1) {
		switch (c) {
		case 'c':
			conns = atoi(optarg);
			break;
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'P':
			o.peer = optarg;
			break;
		case 'o':
			for (o.op = 0; o.op < 3; o.op++)
				if (!strcmp(optarg, op_name[o.op]))
					break;
			if (o.op == 3)
				usage();
			break;
		case 'r':
			o.retry_cnt = atoi(optarg);
			break;
		case 'T':
			o.timeout = atoi(optarg);
			break;
		case 'n':
			o.runs = atoi(optarg);
			break;
		case 's':
			o.size = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			o.mr_len = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			o.depth = atoi(optarg);
			break;
		case 'S':
			o.seed = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(role, "server"))
		return server(o.port, conns);
	if (strcmp(role, "client") || !o.peer || o.runs < 1 || o.depth < 1 ||
	    o.depth > 16 || o.retry_cnt < 0 || o.retry_cnt > 7 ||
	    o.size < 1 || o.mr_len < 2 * o.size + 4096 || o.mr_len > (64 << 20))
		usage();
	return client(&o);
}
