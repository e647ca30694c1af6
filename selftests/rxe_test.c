// SPDX-License-Identifier: GPL-2.0
/*
 * rxe-revoke selftests: small verbs helpers shared by the tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rxe_test.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

const char *rt_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

bool rt_wire_lossy(void)
{
	const char *v = rt_env("RXE_WIRE_LOSS", "0");

	return strtod(v, NULL) > 0;
}

bool rt_refused(enum ibv_wc_status st, enum ibv_wc_status want)
{
	if (st == want)
		return true;
	/* only where a NAK was the expected end */
	if (want != IBV_WC_REM_ACCESS_ERR && want != IBV_WC_REM_OP_ERR &&
	    want != IBV_WC_REM_INV_REQ_ERR)
		return false;
	return st == IBV_WC_RETRY_EXC_ERR && rt_wire_lossy();
}

static bool gid_is_ipv4(const union ibv_gid *gid)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(gid->raw, prefix, sizeof(prefix));
}

int rt_dev_open(struct rt_dev *d)
{
	const char *name = rt_env("RXE_DEV", "rxe0");
	struct ibv_device **list;
	struct ibv_port_attr pattr;
	int i, n, ret = -ENODEV;

	memset(d, 0, sizeof(*d));
	d->port = 1;
	d->gid_index = -1;
	list = ibv_get_device_list(&n);
	if (!list)
		return -errno;
	for (i = 0; i < n; i++) {
		if (!strcmp(ibv_get_device_name(list[i]), name)) {
			d->ctx = ibv_open_device(list[i]);
			ret = d->ctx ? 0 : -errno;
			break;
		}
	}
	ibv_free_device_list(list);
	if (ret)
		return ret;

	d->pd = ibv_alloc_pd(d->ctx);
	if (!d->pd) {
		ret = -errno;
		goto err;
	}
	ret = ibv_query_port(d->ctx, d->port, &pattr);
	if (ret) {
		ret = -ret;
		goto err;
	}
	for (i = 0; i < pattr.gid_tbl_len; i++) {
		struct ibv_gid_entry e;

		if (ibv_query_gid_ex(d->ctx, d->port, i, &e, 0))
			continue;
		if (e.gid_type == IBV_GID_TYPE_ROCE_V2 && gid_is_ipv4(&e.gid)) {
			d->gid_index = i;
			d->gid = e.gid;
			return 0;
		}
	}
	ret = -ENOENT;
err:
	rt_dev_close(d);
	return ret;
}

int rt_peer_open(const struct rt_dev *d, struct rt_dev *p)
{
	const char *name = rt_env("RXE_PEER_DEV", NULL);
	const char *self = rt_env("RXE_DEV", "rxe0");
	char *saved;
	int ret;

	if (!name || !strcmp(name, self)) {
		*p = *d;
		p->borrowed = true;
		return 0;
	}
	/* rt_dev_open() opens $RXE_DEV */
	saved = strdup(self);
	if (!saved)
		return -ENOMEM;
	setenv("RXE_DEV", name, 1);
	ret = rt_dev_open(p);
	setenv("RXE_DEV", saved, 1);
	free(saved);
	return ret;
}

void rt_dev_close(struct rt_dev *d)
{
	if (d->borrowed) {
		memset(d, 0, sizeof(*d));
		return;
	}
	if (d->pd)
		ibv_dealloc_pd(d->pd);
	if (d->ctx)
		ibv_close_device(d->ctx);
	memset(d, 0, sizeof(*d));
}

int rt_qp_create(struct rt_dev *d, struct rt_qp *q, int depth)
{
	struct ibv_qp_init_attr attr = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = depth,
			.max_recv_wr = depth,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
	};

	memset(q, 0, sizeof(*q));
	q->cq = ibv_create_cq(d->ctx, 2 * depth, NULL, NULL, 0);
	if (!q->cq)
		return -errno;
	attr.send_cq = q->cq;
	attr.recv_cq = q->cq;
	q->qp = ibv_create_qp(d->pd, &attr);
	if (!q->qp) {
		int ret = -errno;

		ibv_destroy_cq(q->cq);
		q->cq = NULL;
		return ret;
	}
	return 0;
}

struct ibv_qp *rt_ud_qp_create(struct rt_dev *d, struct ibv_cq *cq,
			       uint32_t qkey)
{
	struct ibv_qp_init_attr ia = {
		.qp_type = IBV_QPT_UD, .send_cq = cq, .recv_cq = cq,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_qp_attr qa = { .qp_state = IBV_QPS_INIT,
				  .port_num = d->port, .qkey = qkey };
	struct ibv_qp *qp = ibv_create_qp(d->pd, &ia);

	if (!qp)
		return NULL;
	if (ibv_modify_qp(qp, &qa, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_QKEY))
		goto err;
	qa.qp_state = IBV_QPS_RTR;
	if (ibv_modify_qp(qp, &qa, IBV_QP_STATE))
		goto err;
	qa.qp_state = IBV_QPS_RTS;
	if (ibv_modify_qp(qp, &qa, IBV_QP_STATE | IBV_QP_SQ_PSN))
		goto err;
	return qp;
err:
	ibv_destroy_qp(qp);
	return NULL;
}

struct ibv_ah *rt_ah_self(struct rt_dev *d, int hop_limit)
{
	struct ibv_ah_attr aa = { .is_global = 1, .port_num = d->port };

	aa.grh.dgid = d->gid;
	aa.grh.sgid_index = d->gid_index;
	aa.grh.hop_limit = hop_limit;
	return ibv_create_ah(d->pd, &aa);
}

void rt_qp_destroy(struct rt_qp *q)
{
	if (q->qp)
		ibv_destroy_qp(q->qp);
	if (q->cq)
		ibv_destroy_cq(q->cq);
	memset(q, 0, sizeof(*q));
}

/*
 * Transport retries of the RC QPs the helpers connect: 7 retries of about
 * 67 ms. Stock rxe takes a retry_cnt of 7 to mean "retry for ever" (as only
 * rnr_retry 7 does in the spec; ours retries 7 times since patch 0025), so
 * tests that can put a peer in error and must also pass on stock rxe set a
 * smaller count.
 */
int rt_qp_timeout = 14;
int rt_qp_retry_cnt = 7;

int rt_qp_connect(struct rt_dev *d, struct ibv_qp *qp,
		  const struct rt_conn *c)
{
	int access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
		     IBV_ACCESS_REMOTE_ATOMIC;
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = d->port,
		.qp_access_flags = access,
	};
	int ret;

	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (ret)
		return -ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = c->dest_qpn;
	a.rq_psn = c->rq_psn;
	a.max_dest_rd_atomic = 16;
	a.min_rnr_timer = c->min_rnr_timer;
	a.ah_attr.is_global = 1;
	a.ah_attr.port_num = d->port;
	a.ah_attr.grh.dgid = c->dgid;
	a.ah_attr.grh.sgid_index = d->gid_index;
	a.ah_attr.grh.hop_limit = c->hop_limit;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			    IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			    IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
	if (ret)
		return -ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = c->sq_psn;
	a.timeout = c->timeout;
	a.retry_cnt = c->retry_cnt;
	a.rnr_retry = 7;
	a.max_rd_atomic = 16;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN |
			    IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			    IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
	return -ret;
}

/* Connect a QP of d to dest_qpn at dgid with the helpers' defaults. */
static int qp_to_rts_at(struct rt_dev *d, struct ibv_qp *qp,
			uint32_t dest_qpn, const union ibv_gid *dgid)
{
	struct rt_conn c = {
		.dest_qpn = dest_qpn,
		.dgid = *dgid,
		.timeout = rt_qp_timeout,
		.retry_cnt = rt_qp_retry_cnt,
		.min_rnr_timer = 1,
		.hop_limit = 1,
	};

	return rt_qp_connect(d, qp, &c);
}

int rt_qp_to_rts(struct rt_dev *d, struct ibv_qp *qp, uint32_t dest_qpn)
{
	return qp_to_rts_at(d, qp, dest_qpn, &d->gid);
}

int rt_rc_connect2(struct rt_dev *da, struct rt_qp *a,
		   struct rt_dev *db, struct rt_qp *b)
{
	int ret = qp_to_rts_at(da, a->qp, b->qp->qp_num, &db->gid);

	return ret ? ret : qp_to_rts_at(db, b->qp, a->qp->qp_num, &da->gid);
}

int rt_rc_connect(struct rt_dev *d, struct rt_qp *a, struct rt_qp *b)
{
	return rt_rc_connect2(d, a, d, b);
}

int rt_rc_renew(struct rt_dev *d, struct rt_qp *a, struct rt_qp *b)
{
	int ret;

	rt_qp_destroy(a);
	rt_qp_destroy(b);
	ret = rt_qp_create(d, a, 64);
	if (!ret)
		ret = rt_qp_create(d, b, 64);
	if (!ret)
		ret = rt_rc_connect(d, a, b);
	return ret;
}

double rt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int rt_poll(struct ibv_cq *cq, struct ibv_wc *wc)
{
	static double seconds;

	if (!seconds) {
		seconds = atof(rt_env("RXE_POLL_TIMEOUT", "0"));
		if (seconds <= 0)
			seconds = RT_POLL_TIMEOUT_MS / 1000.0;
	}
	return rt_poll_for(cq, wc, seconds);
}

int rt_poll_for(struct ibv_cq *cq, struct ibv_wc *wc, double seconds)
{
	double deadline = rt_now() + seconds;
	int n;

	do {
		n = ibv_poll_cq(cq, 1, wc);
		if (n < 0)
			return -EIO;
		if (n == 1)
			return 0;
		usleep(100);
	} while (rt_now() < deadline);
	return -ETIMEDOUT;
}

int rt_post_rdma(struct rt_qp *q, enum ibv_wr_opcode op, struct ibv_mr *mr,
		 void *laddr, uint32_t len, uint64_t raddr, uint32_t rkey,
		 uint64_t wr_id)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)laddr,
		.length = len,
		.lkey = mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	return -ibv_post_send(q->qp, &wr, &bad);
}

int rt_post_atomic(struct rt_qp *q, enum ibv_wr_opcode op, struct ibv_mr *mr,
		   void *laddr, uint64_t raddr, uint32_t rkey,
		   uint64_t compare_add, uint64_t swap, uint64_t wr_id)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)laddr,
		.length = sizeof(uint64_t),
		.lkey = mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;

	wr.wr.atomic.remote_addr = raddr;
	wr.wr.atomic.rkey = rkey;
	wr.wr.atomic.compare_add = compare_add;
	wr.wr.atomic.swap = swap;
	return -ibv_post_send(q->qp, &wr, &bad);
}

int rt_post_recv(struct rt_qp *q, struct ibv_mr *mr, void *addr,
		 uint32_t len, uint64_t wr_id)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)addr,
		.length = len,
		.lkey = mr->lkey,
	};
	struct ibv_recv_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
	}, *bad;

	return -ibv_post_recv(q->qp, &wr, &bad);
}

static uint8_t pattern_byte(size_t off, uint32_t seed)
{
	uint32_t x = (uint32_t)off * 2654435761u ^ seed;

	x ^= x >> 15;
	return (uint8_t)(x ^ (x >> 8) ^ (off >> 12));
}

void rt_fill(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

long rt_check(const void *buf, size_t len, uint32_t seed)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(i, seed))
			return (long)i;
	return -1;
}

bool rt_file_is_dax(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx))
		return false;
	return (stx.stx_attributes_mask & STATX_ATTR_DAX) &&
	       (stx.stx_attributes & STATX_ATTR_DAX);
}

static const char *mem_dir(enum rt_mem_kind kind)
{
	switch (kind) {
	case RT_MEM_PAGECACHE:
		return rt_env("RXE_EXT4_PC", "/mnt/ext4-pc");
	case RT_MEM_XFS_DAX:
		return rt_env("RXE_XFS_DAX", "/mnt/xfs-dax");
	case RT_MEM_EXT4_DAX:
		return rt_env("RXE_EXT4_DAX", "/mnt/ext4-dax");
	default:
		return NULL;
	}
}

int rt_mem_map(struct rt_mem *m, enum rt_mem_kind kind, size_t len)
{
	static int seq;
	const char *dir = mem_dir(kind);
	int ret;

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->len = len;
	m->fd = -1;
	if (!dir) {
		int flags = kind == RT_MEM_SHM ? MAP_SHARED : MAP_PRIVATE;

		m->addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       flags | MAP_ANONYMOUS, -1, 0);
		if (m->addr == MAP_FAILED) {
			m->addr = NULL;
			return -errno;
		}
		/*
		 * No THP: splitting a huge page that spans a neighbouring
		 * mapping is an MMU_NOTIFY_CLEAR of this range too, which
		 * would make the reason a revoke reports depend on the
		 * layout. The THP tests map their own memory.
		 */
		madvise(m->addr, len, MADV_NOHUGEPAGE);
		return 0;
	}
	snprintf(m->path, sizeof(m->path), "%s/rt.%d.%d", dir, getpid(), seq++);
	m->fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (m->fd < 0)
		return -errno;
	if (ftruncate(m->fd, (off_t)len)) {
		ret = -errno;
		goto err;
	}
	if ((kind == RT_MEM_XFS_DAX || kind == RT_MEM_EXT4_DAX) !=
	    rt_file_is_dax(m->fd)) {
		ret = -ENOTSUP;
		goto err;
	}
	m->addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->addr == MAP_FAILED) {
		m->addr = NULL;
		ret = -errno;
		goto err;
	}
	return 0;
err:
	rt_mem_unmap(m);
	return ret;
}

void rt_mem_unmap(struct rt_mem *m)
{
	if (m->addr)
		munmap(m->addr, m->len);
	if (m->fd >= 0) {
		close(m->fd);
		unlink(m->path);
	}
	m->addr = NULL;
	m->fd = -1;
}

bool rt_pagecache_pin_refused(void)
{
	static int refused = -1;
	struct ibv_mr *mr;
	struct rt_mem m;
	struct rt_dev d;

	if (refused >= 0)
		return refused;
	if (rt_dev_open(&d))
		return false;
	if (rt_mem_map(&m, RT_MEM_PAGECACHE, 4096)) {
		rt_dev_close(&d);
		return false;
	}
	mr = ibv_reg_mr(d.pd, m.addr, 4096,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	refused = !mr && errno == EFAULT;
	if (mr)
		ibv_dereg_mr(mr);
	rt_mem_unmap(&m);
	rt_dev_close(&d);
	return refused;
}

int rt_mem_discard(struct rt_mem *m, size_t off, size_t len)
{
	char *p = (char *)m->addr + off;

	switch (m->kind) {
	case RT_MEM_ANON:
		return madvise(p, len, MADV_DONTNEED) ? -errno : 0;
	case RT_MEM_SHM:
		return madvise(p, len, MADV_REMOVE) ? -errno : 0;
	default:
		return fallocate(m->fd, FALLOC_FL_PUNCH_HOLE |
				 FALLOC_FL_KEEP_SIZE, (off_t)off,
				 (off_t)len) ? -errno : 0;
	}
}

static long long dev_counter(const char *dev, const char *name)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/1/hw_counters/%s", dev, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

long long rt_counter(const char *name)
{
	const char *dev = rt_env("RXE_DEV", "rxe0");
	const char *peer = rt_env("RXE_PEER_DEV", NULL);
	long long v, pv;

	/* rdma core caches hw counters for 10 ms: read a fresh value */
	usleep(30000);
	v = dev_counter(dev, name);
	if (v < 0 || !peer || !strcmp(peer, dev))
		return v;
	pv = dev_counter(peer, name);
	return pv < 0 ? -1 : v + pv;
}
