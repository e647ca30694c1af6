/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rxe-revoke selftests: small verbs helpers shared by the tests.
 *
 * The tests run inside the VM of tools/vm/run, where the environment names
 * the device (RXE_DEV), the DAX mounts (RXE_XFS_DAX, RXE_EXT4_DAX) and a
 * directory for results (RXE_VM_OUT).
 */
#ifndef RXE_TEST_H
#define RXE_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

/*
 * Completion timeout of rt_poll(): TCG is 10-50x slower than hardware.
 * RXE_POLL_TIMEOUT (seconds) overrides it; make check-debug sets 120, as
 * KASAN and lockdep slow every copy down again.
 */
#define RT_POLL_TIMEOUT_MS	30000

/*
 * The harness kills a test after TEST_TIMEOUT_DEFAULT (30 s). Under TCG on
 * the debug kernel (KASAN, lockdep) tests run about ten times slower than on
 * Debian's: e.g. odp_test's thp took longer than 30 s there. Included after
 * kselftest_harness.h, this raises the default of every TEST()/TEST_F()
 * that follows; a hung test is still killed, and run.sh bounds each
 * program (RXE_TEST_TIMEOUT).
 */
#ifdef TEST_TIMEOUT_DEFAULT
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	300
#endif

struct rt_dev {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	uint8_t port;
	int gid_index;		/* the RoCEv2 GID of the IPv4 address */
	union ibv_gid gid;
	bool borrowed;		/* rt_peer_open() of no peer: d's ctx and pd */
};

struct rt_qp {
	struct ibv_cq *cq;
	struct ibv_qp *qp;
};

/* Open $RXE_DEV (default rxe0), allocate a PD and find the RoCEv2 GID. */
int rt_dev_open(struct rt_dev *d);
void rt_dev_close(struct rt_dev *d);

/*
 * The requester side of a test: $RXE_PEER_DEV when it is set (a second rxe
 * device, e.g. at the other end of the wire of selftests/wire_test.sh), else
 * d itself, borrowed (rt_dev_close() of it then closes nothing). Tests put
 * the memory and QP under test on d and the requester's on the peer, so
 * that the same test runs in loopback and across a wire.
 */
int rt_peer_open(const struct rt_dev *d, struct rt_dev *p);

/* An RC QP with its own CQ for sends and receives. */
int rt_qp_create(struct rt_dev *d, struct rt_qp *q, int depth);
void rt_qp_destroy(struct rt_qp *q);
/* An address handle of d to its own RoCEv2 GID. */
struct ibv_ah *rt_ah_self(struct rt_dev *d, int hop_limit);
/* A UD QP of d on cq (send and receive), in RTS with qkey; 4 WRs, 1 SGE. */
struct ibv_qp *rt_ud_qp_create(struct rt_dev *d, struct ibv_cq *cq,
			       uint32_t qkey);

/* Where an RC QP connects to. */
struct rt_conn {
	uint32_t dest_qpn;
	union ibv_gid dgid;
	uint32_t sq_psn, rq_psn;
	int timeout;		/* IBV_QP_TIMEOUT */
	int retry_cnt;		/* IBV_QP_RETRY_CNT */
	int min_rnr_timer;
	int hop_limit;
};

/* Move an RC QP of d to RTS, connected as c says. */
int rt_qp_connect(struct rt_dev *d, struct ibv_qp *qp,
		  const struct rt_conn *c);

/* Move an RC QP to RTS, connected to dest_qpn on the same GID. */
extern int rt_qp_timeout;	/* IBV_QP_TIMEOUT, default 14 (67 ms) */
extern int rt_qp_retry_cnt;	/* IBV_QP_RETRY_CNT, default 7 (rxe: unbounded) */
int rt_qp_to_rts(struct rt_dev *d, struct ibv_qp *qp, uint32_t dest_qpn);

/* Move two RC QPs of the device to RTS, connected to each other. */
int rt_rc_connect(struct rt_dev *d, struct rt_qp *a, struct rt_qp *b);
/*
 * Destroy a and b (if they exist) and make a fresh connected pair of d:
 * after an error completion the old ones are in the error state.
 */
int rt_rc_renew(struct rt_dev *d, struct rt_qp *a, struct rt_qp *b);
/* The same for QP a of device da and QP b of device db. */
int rt_rc_connect2(struct rt_dev *da, struct rt_qp *a,
		   struct rt_dev *db, struct rt_qp *b);

/* Wait for one completion; returns 0, or -ETIMEDOUT / -EIO. */
int rt_poll(struct ibv_cq *cq, struct ibv_wc *wc);
/* The same with a bound of its own, in seconds. */
int rt_poll_for(struct ibv_cq *cq, struct ibv_wc *wc, double seconds);

/* Post one signaled RDMA WRITE/READ, or SEND (raddr and rkey unused). */
int rt_post_rdma(struct rt_qp *q, enum ibv_wr_opcode op, struct ibv_mr *mr,
		 void *laddr, uint32_t len, uint64_t raddr, uint32_t rkey,
		 uint64_t wr_id);
/* Post one signaled atomic; the 8-byte original value lands at laddr. */
int rt_post_atomic(struct rt_qp *q, enum ibv_wr_opcode op, struct ibv_mr *mr,
		   void *laddr, uint64_t raddr, uint32_t rkey,
		   uint64_t compare_add, uint64_t swap, uint64_t wr_id);
int rt_post_recv(struct rt_qp *q, struct ibv_mr *mr, void *addr,
		 uint32_t len, uint64_t wr_id);

/* Fill with / compare against a pattern derived from seed and offset. */
void rt_fill(void *buf, size_t len, uint32_t seed);
/* Returns the offset of the first mismatch, or -1 if the buffer matches. */
long rt_check(const void *buf, size_t len, uint32_t seed);

/* Memory the tests register: where it comes from. */
enum rt_mem_kind {
	RT_MEM_ANON,		/* MAP_PRIVATE | MAP_ANONYMOUS */
	RT_MEM_SHM,		/* MAP_SHARED | MAP_ANONYMOUS (shmem) */
	RT_MEM_PAGECACHE,	/* a file on ext4 without DAX ($RXE_EXT4_PC) */
	RT_MEM_XFS_DAX,		/* a file on XFS -o dax ($RXE_XFS_DAX) */
	RT_MEM_EXT4_DAX,	/* a file on ext4 -o dax ($RXE_EXT4_DAX) */
};

struct rt_mem {
	enum rt_mem_kind kind;
	void *addr;
	size_t len;
	int fd;			/* file kinds, else -1 */
	char path[256];
};

/*
 * Map len bytes of the kind (a new sparse file of that size for the file
 * kinds, which must really be DAX for the DAX kinds). Returns 0 or -errno.
 */
int rt_mem_map(struct rt_mem *m, enum rt_mem_kind kind, size_t len);
void rt_mem_unmap(struct rt_mem *m);
/* Free the pages of [off, off + len) so that they read back as zeroes. */
int rt_mem_discard(struct rt_mem *m, size_t off, size_t len);

/*
 * Does the kernel refuse to pin a page-cache file long term for writing?
 * Linux 6.5 and later do (GUP refuses FOLL_LONGTERM | FOLL_WRITE on a
 * file mapping that needs dirty tracking: ibv_reg_mr() with write access
 * on an ext4 page-cache mapping fails with EFAULT, on stock rxe and
 * every other driver); 6.1 does not. Tests that need a pinned writable
 * page-cache MR (to make it revocable) skip on such a kernel, saying so;
 * see Documentation/kernels.rst. The answer is measured once.
 */
bool rt_pagecache_pin_refused(void);
#define RT_PAGECACHE_PIN_REFUSED \
	"this kernel refuses long-term writable pins of page-cache files (Linux 6.5+, EFAULT), so there is no pinned MR to make revocable (Documentation/kernels.rst)"

/*
 * An rxe hw counter of port 1 of $RXE_DEV, plus that of $RXE_PEER_DEV when
 * a peer is set (a test's traffic then counts on both ends), or -1.
 */
long long rt_counter(const char *name);

/* CLOCK_MONOTONIC in seconds. */
double rt_now(void);

/* Environment helpers. */
const char *rt_env(const char *name, const char *def);

/*
 * Is the wire lossy (wire_test.sh with RXE_WIRE_LOSS)? There a request
 * whose NAK is lost is retried into a responder QP that the NAK already
 * moved to the error state, and ends IBV_WC_RETRY_EXC_ERR instead of the
 * NAK's error. rt_refused(st, want): st is want, or want is the error of
 * a NAK (remote access, operation or invalid request) and st that end on
 * a lossy wire.
 */
bool rt_wire_lossy(void);
bool rt_refused(enum ibv_wc_status st, enum ibv_wc_status want);
/* Is the file on a mount that maps it with DAX (STATX_ATTR_DAX)? */
bool rt_file_is_dax(int fd);

#endif /* RXE_TEST_H */
