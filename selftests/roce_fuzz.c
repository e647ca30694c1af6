// SPDX-License-Identifier: GPL-2.0
/*
 * roce_fuzz: a seeded fuzzer of RoCEv2 packets on a real wire.
 *
 * Runs in the VM under selftests/fuzz_test.sh, which sets up the wire: a
 * veth pair rxefz0 <-> rxefz1, an rxe device "rxefz" on rxefz0
 * (198.18.2.1/24) and a static neighbour 198.18.2.2 = rxefz1's MAC. This
 * program plays the peer 198.18.2.2 from userspace: it writes Ethernet
 * frames on rxefz1 with an AF_PACKET socket (IPv4 198.18.2.2 -> 198.18.2.1,
 * UDP dport 4791), so that they enter through the netdev, the IP and UDP
 * stack and rxe's ICRC check, and it reads rxe's answers (ACKs, NAKs, READ
 * responses, and the requests of the QPs it connected to itself) back from
 * the same socket. The ICRC is computed as rxe_icrc.c does.
 *
 * Targets: QPs of rxefz in every state (RC, UC, UD: RESET, INIT, RTR, RTS,
 * ERR; an RC QP on an SRQ; one that wanders between states), whose remote
 * is this program; pinned, read-only, ODP (with unmapped and discarded
 * pages), revocable XFS-DAX (live, revoked, hole-punched), revocable anon
 * (revoked and re-registered in turn) MRs and a memory window. Meanwhile a
 * second thread runs WRITE+READ with checked data between two QPs of
 * another PD on the same device, which must keep working.
 *
 * Environment: RXE_FUZZ_SEED (replay), RXE_FUZZ_PKTS (default 20000),
 * RXE_FUZZ_DEV (rxefz), RXE_FUZZ_IF (rxefz1), RXE_FUZZ_PEER_IF (rxefz0),
 * RXE_FUZZ_AVOID (comma-separated classes the generator must not produce:
 * "zlwrite" = a zero-length RETH WRITE with payload), RXE_FUZZ_KMSG=1 (log
 * every packet to /dev/kmsg before it is sent, so that a crash's console
 * shows the packet that caused it), RXE_FUZZ_VERBOSE=1 (the same on stdout).
 *
 *   roce_fuzz --plan     prints the number of TAP checks and exits
 *
 * Output: TAP lines "ok N name" / "not ok N name", numbered from 1 (the
 * script appends its own checks and the plan). See Documentation/fuzzing.rst.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rxe_test.h"
#include "rxe_revoke.h"

#define NCHECKS		16
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING	23
#endif

#define PAGE		4096u
#define ROCE_PORT	4791
#define FRAME_MAX	9216
#define ETH_HDR		14
#define IP_HDR		20
#define UDP_HDR		8
#define BTH_LEN		12
#define ICRC_LEN	4
#define PSN_MASK	0xffffffu
#define GSI_QKEY	0x80010000u
#define FAKE_QPN_BASE	0xabc000u

/* ---------------------------------------------------------------- TAP */

static int tap_n;
static int tap_failed;

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d ", ok ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_failed++;
}

static void tap_skip(const char *name, const char *why)
{
	printf("ok %d %s # SKIP %s\n", ++tap_n, name, why);
	fflush(stdout);
}

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/*
 * Make every page this process has present now, and grow the stack first.
 * QEMU 7.2's TCG (the VM's default) sometimes loses the flags of a TEST
 * when the SETcc that follows stores to a page that faults: a boolean
 * computed on a first-touched page can come out wrong (reproducer:
 * Documentation/fuzzing.rst). Fewer first touches, fewer such flips.
 */
static void __attribute__((noinline)) prefault(size_t stack)
{
	volatile char pad[64 << 10];
	size_t i;

	for (i = 0; i < sizeof(pad); i += PAGE)
		pad[i] = 0;
	if (stack > sizeof(pad))
		prefault(stack - sizeof(pad));
	if (!mlockall(MCL_CURRENT))
		munlockall();
}

/* ---------------------------------------------------------------- RNG */

/*
 * splitmix64 streams: the generator's own, the emulated responder's and
 * housekeeping's, so that a replay makes the same choices as far as the
 * device's answers (PSNs, errors) are the same.
 */
struct rng {
	uint64_t s;
};

static struct rng g_rng, r_rng, h_rng;

static uint64_t rnd64(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd32(struct rng *r)
{
	return (uint32_t)rnd64(r);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd64(r) % n) : 0;
}

static bool pct(struct rng *r, unsigned int p)
{
	return below(r, 100) < p;
}

/* ------------------------------------------------------- opcodes */

enum {
	H_RDETH		= 1 << 0,
	H_DETH		= 1 << 1,
	H_RETH		= 1 << 2,
	H_AETH		= 1 << 3,
	H_ATMETH	= 1 << 4,
	H_ATMACK	= 1 << 5,
	H_IMMDT		= 1 << 6,
	H_IETH		= 1 << 7,
	H_ALL		= 0xff,
	F_PAYLOAD	= 1 << 8,
	F_REQ		= 1 << 9,
	F_ACK		= 1 << 10,
	F_SEND		= 1 << 11,
	F_WRITE		= 1 << 12,
	F_READ		= 1 << 13,
	F_ATOMIC	= 1 << 14,
	F_START		= 1 << 15,
	F_MIDDLE	= 1 << 16,
	F_END		= 1 << 17,
	F_VALID		= 1 << 18,
};

/* IBTA opcodes within a transport (the low 5 bits) */
enum {
	OP_SEND_FIRST, OP_SEND_MIDDLE, OP_SEND_LAST, OP_SEND_LAST_IMM,
	OP_SEND_ONLY, OP_SEND_ONLY_IMM, OP_WRITE_FIRST, OP_WRITE_MIDDLE,
	OP_WRITE_LAST, OP_WRITE_LAST_IMM, OP_WRITE_ONLY, OP_WRITE_ONLY_IMM,
	OP_READ_REQ, OP_READ_RESP_FIRST, OP_READ_RESP_MIDDLE,
	OP_READ_RESP_LAST, OP_READ_RESP_ONLY, OP_ACK, OP_ATOMIC_ACK,
	OP_CMP_SWAP, OP_FETCH_ADD, OP_RESYNC, OP_SEND_LAST_INV,
	OP_SEND_ONLY_INV,
};

#define T_RC	0x00
#define T_UC	0x20
#define T_RD	0x40
#define T_UD	0x60

/* rxe_opcode[] of rxe_opcode.c, as header masks; zero = not an rxe opcode */
static unsigned int opmask[256];

static void init_opcodes(void)
{
	static const unsigned int rc[24] = {
		[OP_SEND_FIRST] = F_PAYLOAD | F_REQ | F_SEND | F_START,
		[OP_SEND_MIDDLE] = F_PAYLOAD | F_REQ | F_SEND | F_MIDDLE,
		[OP_SEND_LAST] = F_PAYLOAD | F_REQ | F_SEND | F_END,
		[OP_SEND_LAST_IMM] = H_IMMDT | F_PAYLOAD | F_REQ | F_SEND |
				     F_END,
		[OP_SEND_ONLY] = F_PAYLOAD | F_REQ | F_SEND | F_START | F_END,
		[OP_SEND_ONLY_IMM] = H_IMMDT | F_PAYLOAD | F_REQ | F_SEND |
				     F_START | F_END,
		[OP_WRITE_FIRST] = H_RETH | F_PAYLOAD | F_REQ | F_WRITE |
				   F_START,
		[OP_WRITE_MIDDLE] = F_PAYLOAD | F_REQ | F_WRITE | F_MIDDLE,
		[OP_WRITE_LAST] = F_PAYLOAD | F_REQ | F_WRITE | F_END,
		[OP_WRITE_LAST_IMM] = H_IMMDT | F_PAYLOAD | F_REQ | F_WRITE |
				      F_END,
		[OP_WRITE_ONLY] = H_RETH | F_PAYLOAD | F_REQ | F_WRITE |
				  F_START | F_END,
		[OP_WRITE_ONLY_IMM] = H_RETH | H_IMMDT | F_PAYLOAD | F_REQ |
				      F_WRITE | F_START | F_END,
		[OP_READ_REQ] = H_RETH | F_REQ | F_READ | F_START | F_END,
		[OP_READ_RESP_FIRST] = H_AETH | F_PAYLOAD | F_ACK | F_START,
		[OP_READ_RESP_MIDDLE] = F_PAYLOAD | F_ACK | F_MIDDLE,
		[OP_READ_RESP_LAST] = H_AETH | F_PAYLOAD | F_ACK | F_END,
		[OP_READ_RESP_ONLY] = H_AETH | F_PAYLOAD | F_ACK | F_START |
				      F_END,
		[OP_ACK] = H_AETH | F_ACK | F_START | F_END,
		[OP_ATOMIC_ACK] = H_AETH | H_ATMACK | F_ACK | F_START | F_END,
		[OP_CMP_SWAP] = H_ATMETH | F_REQ | F_ATOMIC | F_START | F_END,
		[OP_FETCH_ADD] = H_ATMETH | F_REQ | F_ATOMIC | F_START | F_END,
		[OP_SEND_LAST_INV] = H_IETH | F_PAYLOAD | F_REQ | F_SEND |
				     F_END,
		[OP_SEND_ONLY_INV] = H_IETH | F_PAYLOAD | F_REQ | F_SEND |
				     F_START | F_END,
	};
	int i;

	for (i = 0; i < 24; i++) {
		if (!rc[i])
			continue;
		opmask[T_RC + i] = rc[i] | F_VALID;
		if (i <= OP_WRITE_ONLY_IMM)
			opmask[T_UC + i] = rc[i] | F_VALID;
		if (i <= OP_FETCH_ADD)
			opmask[T_RD + i] = rc[i] | H_RDETH | F_VALID |
					   ((rc[i] & F_REQ) ? H_DETH : 0);
	}
	opmask[T_UD + OP_SEND_ONLY] = rc[OP_SEND_ONLY] | H_DETH | F_VALID;
	opmask[T_UD + OP_SEND_ONLY_IMM] = rc[OP_SEND_ONLY_IMM] | H_DETH |
					  F_VALID;
}

/* header bytes of the extension headers in hdrs, in IBTA order */
static unsigned int hdr_len(unsigned int hdrs)
{
	return BTH_LEN + ((hdrs & H_RDETH) ? 4 : 0) +
	       ((hdrs & H_DETH) ? 8 : 0) + ((hdrs & H_RETH) ? 16 : 0) +
	       ((hdrs & H_AETH) ? 4 : 0) + ((hdrs & H_ATMETH) ? 28 : 0) +
	       ((hdrs & H_ATMACK) ? 8 : 0) + ((hdrs & H_IMMDT) ? 4 : 0) +
	       ((hdrs & H_IETH) ? 4 : 0);
}

static const char *op_name(uint8_t op)
{
	static const char *const n[24] = {
		"SEND_FIRST", "SEND_MIDDLE", "SEND_LAST", "SEND_LAST_IMM",
		"SEND_ONLY", "SEND_ONLY_IMM", "WRITE_FIRST", "WRITE_MIDDLE",
		"WRITE_LAST", "WRITE_LAST_IMM", "WRITE_ONLY", "WRITE_ONLY_IMM",
		"READ_REQ", "READ_RESP_FIRST", "READ_RESP_MIDDLE",
		"READ_RESP_LAST", "READ_RESP_ONLY", "ACK", "ATOMIC_ACK",
		"CMP_SWAP", "FETCH_ADD", "RESYNC", "SEND_LAST_INV",
		"SEND_ONLY_INV",
	};
	static const char *const t[8] = {
		"RC", "UC", "RD", "UD", "CNP", "X5", "X6", "X7"
	};
	static char buf[8][32];
	static int k;
	char *b = buf[k++ & 7];

	if (opmask[op] || (op & 0x1f) < 24)
		snprintf(b, 32, "%s_%s%s", t[op >> 5], n[op & 0x1f],
			 opmask[op] ? "" : "(rsvd)");
	else
		snprintf(b, 32, "%s_0x%02x(rsvd)", t[op >> 5], op);
	return b;
}

/* ------------------------------------------------------------- CRC */

/* crc32_le() of the kernel: reflected, polynomial 0xedb88320, no inversion */
static uint32_t crc_tab[8][256];

static void crc_init(void)
{
	uint32_t c;
	int i, j;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ ((c & 1) ? 0xedb88320u : 0);
		crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_tab[j][i] = (crc_tab[j - 1][i] >> 8) ^
					crc_tab[0][crc_tab[j - 1][i] & 0xff];
}

static uint32_t crc32_le(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint32_t a = crc ^ (p[0] | p[1] << 8 | p[2] << 16 |
				    (uint32_t)p[3] << 24);

		crc = crc_tab[7][a & 0xff] ^ crc_tab[6][(a >> 8) & 0xff] ^
		      crc_tab[5][(a >> 16) & 0xff] ^ crc_tab[4][a >> 24] ^
		      crc_tab[3][p[4]] ^ crc_tab[2][p[5]] ^
		      crc_tab[1][p[6]] ^ crc_tab[0][p[7]];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
	return crc;
}

/*
 * The ICRC as rxe_icrc_hdr() + rxe_icrc_check() compute it for IPv4: seed
 * 0xdebb20e3 (a masked LRH), then crc32_le over the first 28 bytes from the
 * IP header (rxe copies sizeof(iphdr) + sizeof(udphdr), so with IP options
 * these are options) with tos, ttl, the IP checksum and the UDP checksum
 * (at byte 26) set to ones, the BTH with byte 4 (resv8a) set to 0xff, then
 * everything after the BTH up to the ICRC: the rest of the transport
 * headers, the payload and the pad. The field is ~crc, stored as the CPU
 * holds it (little-endian on x86).
 */
static uint32_t roce_icrc(const uint8_t *ip, const uint8_t *roce,
			  size_t paylen)
{
	uint8_t ps[28 + BTH_LEN];
	uint32_t crc;

	memcpy(ps, ip, 28);
	ps[1] = 0xff;
	ps[8] = 0xff;
	ps[10] = 0xff;
	ps[11] = 0xff;
	ps[26] = 0xff;
	ps[27] = 0xff;
	memcpy(ps + 28, roce, BTH_LEN);
	ps[28 + 4] = 0xff;
	crc = crc32_le(0xdebb20e3u, ps, sizeof(ps));
	crc = crc32_le(crc, roce + BTH_LEN, paylen - BTH_LEN - ICRC_LEN);
	return ~crc;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += p[n - 1] << 8;
	return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* ------------------------------------------------------------ wire */

static struct {
	int fd;
	int ifindex;
	uint8_t mac[6];		/* rxefz1: ours */
	uint8_t peer_mac[6];	/* rxefz0: rxe's netdev */
	uint32_t saddr;		/* 198.18.2.2, host order */
	uint32_t daddr;		/* 198.18.2.1 */
	uint16_t ip_id;
	bool kmsg;
	int kmsg_level;
	bool verbose;
	int kmsg_fd;
	unsigned long sent;		/* frames */
	unsigned long pkts;		/* packets (a fragmented one once) */
	unsigned long send_err;
	unsigned long rx_roce, rx_icrc_bad, rx_other;
} w;

enum { ICRC_GOOD, ICRC_FLIP, ICRC_ZERO, ICRC_RANDOM };

/* one RoCEv2 packet to build */
struct pkt {
	uint8_t opcode;
	uint8_t flags;		/* SE, M, pad, tver as on the wire */
	uint16_t pkey;
	uint32_t qpn;		/* 24 bits */
	uint8_t resv8a;		/* BTH byte 4: F, B, resv6a */
	uint8_t resv7;		/* BTH byte 8 below the AckReq bit */
	bool ackreq;
	uint32_t psn;
	unsigned int hdrs;	/* H_* present */
	uint32_t rdeth;
	uint32_t qkey, sqp;
	uint64_t va;
	uint32_t rkey, dmalen;
	uint32_t aeth;
	uint64_t atm_va;
	uint32_t atm_rkey;
	uint64_t swap_add, comp;
	uint64_t atmack;
	uint32_t imm, ieth;
	uint32_t paylen;
	const uint8_t *payload;	/* paylen bytes */
	uint32_t padbytes;	/* bytes appended after the payload */
	/* network and wire mutations */
	int icrc;
	int cut;		/* >= 0: UDP payload cut to this length */
	bool cut_recrc;		/* and the ICRC computed for the cut packet */
	int ipopt;		/* bytes of IP options (multiple of 4) */
	bool bad_ipsum;
	int udpsum;		/* 0 none, 1 right, 2 wrong */
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint16_t udplen_delta;	/* added to the UDP length field */
	uint8_t ttl, tos;
	int frags;		/* > 1: IP fragments */
	int trailer;		/* junk bytes after the IP packet */
	const char *why;	/* what the generator meant */
};

static uint8_t junk[1 << 16];	/* random bytes payloads come from */

static void pkt_init(struct pkt *p, uint8_t opcode, uint32_t qpn,
		     uint32_t psn)
{
	memset(p, 0, sizeof(*p));
	p->opcode = opcode;
	p->pkey = 0xffff;
	p->qpn = qpn & 0xffffff;
	p->psn = psn & PSN_MASK;
	p->hdrs = opmask[opcode] & H_ALL;
	p->cut = -1;
	p->saddr = w.saddr;
	p->daddr = w.daddr;
	p->sport = 0xc000 | (qpn & 0x3fff);
	p->dport = ROCE_PORT;
	p->ttl = 64;
}

static void pkt_payload(struct pkt *p, const void *data, uint32_t len)
{
	p->payload = data;
	p->paylen = len;
	p->padbytes = (-len) & 3;
	p->flags = (p->flags & ~0x30) | (p->padbytes << 4);
}

/* BTH .. pad into r; returns the length before the ICRC */
static size_t put_roce(const struct pkt *p, uint8_t *r)
{
	size_t n = BTH_LEN;

	r[0] = p->opcode;
	r[1] = p->flags;
	put16(r + 2, p->pkey);
	put32(r + 4, (uint32_t)p->resv8a << 24 | p->qpn);
	put32(r + 8, (p->ackreq ? 0x80000000u : 0) |
	      (uint32_t)(p->resv7 & 0x7f) << 24 | p->psn);
	if (p->hdrs & H_RDETH) {
		put32(r + n, p->rdeth);
		n += 4;
	}
	if (p->hdrs & H_DETH) {
		put32(r + n, p->qkey);
		put32(r + n + 4, p->sqp);
		n += 8;
	}
	if (p->hdrs & H_RETH) {
		put64(r + n, p->va);
		put32(r + n + 8, p->rkey);
		put32(r + n + 12, p->dmalen);
		n += 16;
	}
	if (p->hdrs & H_AETH) {
		put32(r + n, p->aeth);
		n += 4;
	}
	if (p->hdrs & H_ATMETH) {
		put64(r + n, p->atm_va);
		put32(r + n + 8, p->atm_rkey);
		put64(r + n + 12, p->swap_add);
		put64(r + n + 20, p->comp);
		n += 28;
	}
	if (p->hdrs & H_ATMACK) {
		put64(r + n, p->atmack);
		n += 8;
	}
	if (p->hdrs & H_IMMDT) {
		put32(r + n, p->imm);
		n += 4;
	}
	if (p->hdrs & H_IETH) {
		put32(r + n, p->ieth);
		n += 4;
	}
	if (p->paylen)
		memcpy(r + n, p->payload, p->paylen);
	n += p->paylen;
	memset(r + n, 0, p->padbytes);
	return n + p->padbytes;
}

static bool avoid_zlwrite;

/*
 * zlwrite: whatever the generator did to headers, pad and payload, what
 * rxe parses must not be a WRITE with a zero RETH length and a payload:
 * give such a packet a RETH length of 1.
 */
static void zlwrite_guard(uint8_t *r, size_t rlen)
{
	unsigned int m = opmask[r[0]];
	size_t off = BTH_LEN + ((m & H_RDETH) ? 4 : 0) + ((m & H_DETH) ? 8 : 0);
	long pay = (long)rlen - hdr_len(m & H_ALL) - ((r[1] >> 4) & 3);

	if ((m & H_RETH) && (m & F_WRITE) && rlen >= off + 16 &&
	    !get32(r + off + 12) && pay > 0)
		put32(r + off + 12, 1);
}

static void ip_fix(uint8_t *ip, int ihl, bool bad)
{
	uint16_t s;

	ip[10] = 0;
	ip[11] = 0;
	s = csum_fold(csum_add(0, ip, ihl));
	if (bad)
		s ^= 0x0101;
	put16(ip + 10, s);
}

static void log_pkt(const char *dir, const uint8_t *f, size_t len,
		    const struct pkt *p)
{
	char line[900];
	size_t i, n, show = len < 320 ? len : 320;

	n = snprintf(line, sizeof(line),
		     "roce_fuzz: %s %lu %s qpn %#x psn %#x%s%s len %zu:",
		     dir, w.pkts, op_name(p->opcode), p->qpn, p->psn,
		     p->why ? " " : "", p->why ? p->why : "", len);
	for (i = ETH_HDR; i < show && n + 3 < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - n, "%02x", f[i]);
	if (w.verbose)
		printf("# %s\n", line);
	if (w.kmsg && w.kmsg_fd >= 0) {
		char k[sizeof(line) + 4];
		int m = snprintf(k, sizeof(k), "<%d>%s\n", w.kmsg_level,
				 line);

		if (write(w.kmsg_fd, k, m) < 0) {
			note("/dev/kmsg: %s: no more packets logged there",
			     strerror(errno));
			w.kmsg = false;
		}
	}
}

static void send_frame(const uint8_t *f, size_t len)
{
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		if (send(w.fd, f, len, 0) == (ssize_t)len) {
			w.sent++;
			return;
		}
		if (errno != ENOBUFS && errno != EAGAIN)
			break;
		usleep(100);
	}
	w.send_err++;
}

struct fqp;
static struct fqp *qp_by_qpn(uint32_t qpn);
static void hev_add(struct fqp *q, char dir, uint8_t op, uint32_t psn,
		    uint8_t syn, bool ackreq, const char *why, uint64_t x,
		    int mangled);

/* Build p as a frame (or IP fragments) and send it. */
static void send_pkt(const struct pkt *p)
{
	static uint8_t f[FRAME_MAX + 64];
	uint8_t *ip = f + ETH_HDR, *udp, *roce;
	int ihl = IP_HDR + (p->ipopt & ~3);
	size_t rlen, ulen, tot;

	memcpy(f, w.peer_mac, 6);
	memcpy(f + 6, w.mac, 6);
	put16(f + 12, ETH_P_IP);
	udp = ip + ihl;
	roce = udp + UDP_HDR;
	{
		struct fqp *hq = qp_by_qpn(p->qpn);

		if (hq)
			hev_add(hq, 't', p->opcode, p->psn, 0, p->ackreq,
				p->why, p->swap_add,
				(p->icrc != ICRC_GOOD) | (p->cut >= 0) << 1 |
				(p->pkey != 0xffff) << 2 |
				(p->hdrs != (opmask[p->opcode] & H_ALL)) << 3 |
				(p->udplen_delta != 0) << 4 |
				(p->bad_ipsum || p->udpsum == 2) << 5 |
				(p->daddr != w.daddr) << 6 |
				(p->frags > 1) << 7 | (p->flags & 0xf) << 8);
	}
	rlen = put_roce(p, roce);
	if (avoid_zlwrite)
		zlwrite_guard(roce, rlen);
	if (ETH_HDR + ihl + UDP_HDR + rlen + ICRC_LEN > FRAME_MAX)
		rlen = FRAME_MAX - ETH_HDR - ihl - UDP_HDR - ICRC_LEN;
	ulen = UDP_HDR + rlen + ICRC_LEN;

	ip[0] = 0x40 | (ihl / 4);
	ip[1] = p->tos;
	ip[4] = w.ip_id >> 8;
	ip[5] = w.ip_id;
	w.ip_id++;
	/* DF, except for fragments: rxe sees the reassembled header */
	ip[6] = p->frags > 1 ? 0 : 0x40;
	ip[7] = 0;
	ip[8] = p->ttl;
	ip[9] = IPPROTO_UDP;
	put32(ip + 12, p->saddr);
	put32(ip + 16, p->daddr);
	if (ihl > IP_HDR) {
		/* NOPs, then an end of options list */
		memset(ip + IP_HDR, 1, ihl - IP_HDR);
		ip[ihl - 1] = 0;
	}
	put16(udp, p->sport);
	put16(udp + 2, p->dport);
	udp[6] = 0;
	udp[7] = 0;

	/* the ICRC of the whole packet, then maybe cut it */
	put16(ip + 2, ihl + ulen);
	put16(udp + 4, ulen);
	{
		uint32_t c = roce_icrc(ip, roce, rlen + ICRC_LEN);

		memcpy(roce + rlen, &c, 4);
	}
	if (p->cut >= 0 && (size_t)p->cut < rlen + ICRC_LEN) {
		rlen = p->cut >= ICRC_LEN ? p->cut - ICRC_LEN : 0;
		ulen = UDP_HDR + p->cut;
		put16(ip + 2, ihl + ulen);
		put16(udp + 4, ulen);
		if (p->cut_recrc && p->cut >= BTH_LEN + ICRC_LEN) {
			uint32_t c = roce_icrc(ip, roce, p->cut);

			memcpy(roce + rlen, &c, 4);
		}
	}
	if (ulen - UDP_HDR >= ICRC_LEN) {
		uint8_t *ic = roce + ulen - UDP_HDR - ICRC_LEN;

		switch (p->icrc) {
		case ICRC_FLIP:
			ic[below(&g_rng, 4)] ^= 1 << below(&g_rng, 8);
			break;
		case ICRC_ZERO:
			memset(ic, 0, 4);
			break;
		case ICRC_RANDOM: {
			uint32_t x = rnd32(&g_rng);

			memcpy(ic, &x, 4);
			break;
		}
		}
	}
	put16(udp + 4, ulen + p->udplen_delta);
	if (p->udpsum) {
		uint32_t s = 0;
		uint8_t ph[12];
		uint16_t c;

		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = IPPROTO_UDP;
		put16(ph + 10, ulen);
		s = csum_add(s, ph, 12);
		s = csum_add(s, udp, ulen);
		c = csum_fold(s);
		if (!c)
			c = 0xffff;
		if (p->udpsum == 2)
			c ^= 0x8001;
		put16(udp + 6, c);
	}
	tot = ihl + ulen;
	put16(ip + 2, tot);
	w.pkts++;

	if (p->frags > 1 && ihl == IP_HDR && ulen > 16) {
		/* IP fragments of at least 8 bytes each, 8-byte aligned */
		static uint8_t fr[FRAME_MAX + 64];
		size_t off = 0, chunk;
		int i, n = p->frags;

		chunk = ((ulen / n) + 7) & ~7ul;
		if (!chunk)
			chunk = 8;
		for (i = 0; off < ulen; i++) {
			size_t len = ulen - off < chunk ? ulen - off : chunk;
			bool more = off + len < ulen;

			memcpy(fr, f, ETH_HDR + IP_HDR);
			memcpy(fr + ETH_HDR + IP_HDR, udp + off, len);
			put16(fr + ETH_HDR + 2, IP_HDR + len);
			put16(fr + ETH_HDR + 6, (more ? 0x2000 : 0) |
			      (uint16_t)(off / 8));
			ip_fix(fr + ETH_HDR, IP_HDR, p->bad_ipsum);
			if (w.kmsg || w.verbose)
				log_pkt("frag", fr, ETH_HDR + IP_HDR + len, p);
			send_frame(fr, ETH_HDR + IP_HDR + len);
			off += len;
		}
		return;
	}
	ip_fix(ip, ihl, p->bad_ipsum);
	if (p->trailer) {
		memcpy(ip + tot, junk + below(&g_rng, 4096), p->trailer);
		tot += p->trailer;
	}
	if (w.kmsg || w.verbose)
		log_pkt("tx", f, ETH_HDR + tot, p);
	send_frame(f, ETH_HDR + tot);
}

static int if_info(const char *name, uint8_t mac[6], int *ifindex)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (!ret && ifindex) {
		if (ioctl(fd, SIOCGIFINDEX, &ifr))
			ret = -errno;
		else
			*ifindex = ifr.ifr_ifindex;
	}
	close(fd);
	return ret;
}

static int wire_open(const char *ifname, const char *peer_ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int one = 1, sz = 8 << 20, ret;

	ret = if_info(ifname, w.mac, &w.ifindex);
	if (!ret)
		ret = if_info(peer_ifname, w.peer_mac, NULL);
	if (ret)
		return ret;
	w.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (w.fd < 0)
		return -errno;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = w.ifindex;
	if (bind(w.fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	setsockopt(w.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		   sizeof(one));
	setsockopt(w.fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(w.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	return 0;
}

/*
 * RXE_FUZZ_AVOID classes: what the generator must not produce (known open
 * findings that would fail every run; Documentation/fuzzing.rst).
 * zlwrite: a zero-length RETH WRITE with payload (NULL dereference in
 * stock 6.1). comperr: answers that rxe's completer rejects without
 * setting a status (check_ack() returning COMPST_ERROR: a reserved or NAK
 * AETH where an ACK must be, an ATOMIC ACK for another request, a READ
 * response out of sequence, also after a RESET in the middle of a READ
 * response), which WARNs in rxe_completer() and completes the WR as
 * successful.
 */
static bool avoid_comperr;

/* ------------------------------------------------------ verbs targets */

enum mr_kind {
	MK_PIN,		/* pinned anon, remote read/write/atomic, MW bind */
	MK_RO,		/* pinned anon, remote read only */
	MK_ODP,		/* ODP anon; a hole is unmapped, pages discarded */
	MK_DAX,		/* plain ibv_reg_mr on XFS-DAX: revocable */
	MK_DAX_REVOKED,	/* the same, revoked by its owner at the start */
	MK_REV_ANON,	/* revocable anon: revoked and re-registered in turn */
	MK_DAX_PUNCH,	/* revocable XFS-DAX, its file hole-punched mid-run */
	MK_ODP_DAX,	/* ODP on XFS-DAX, pages punched out in turn */
	MK_VALID,	/* pinned anon: only the checked valid traffic */
	NMR
};

struct tmr {
	const char *name;
	enum rt_mem_kind mem_kind;
	size_t size;
	int access;
	bool revocable;		/* rxer_reg_mr(RXER_REG_REVOCABLE) */
	struct rt_mem mem;
	struct ibv_mr *mr;
	uint64_t addr;
	size_t len;
	uint32_t rkey, lkey;
	bool usable;
	bool revoked;
	const char *why_not;
};

#define ACC_REMOTE	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

enum { NQ_VALID_SLICE = 16384 };
/* the checked ops' bytes of a slice; the 8 after them: the probe's nonce */
#define VOP_AREA	(NQ_VALID_SLICE - 8)

#define TMR(n, k, sz, acc, rv)	{ .name = n, .mem_kind = k, .size = sz, \
				  .access = acc, .revocable = rv }
static struct tmr mrs[NMR] = {
	[MK_PIN] = TMR("pinned", RT_MEM_ANON, 256 << 10,
		       ACC_REMOTE | IBV_ACCESS_MW_BIND, false),
	[MK_RO] = TMR("read-only", RT_MEM_ANON, 64 << 10,
		      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ, false),
	[MK_ODP] = TMR("odp", RT_MEM_ANON, 256 << 10,
		       ACC_REMOTE | IBV_ACCESS_ON_DEMAND, false),
	[MK_DAX] = TMR("xfs-dax", RT_MEM_XFS_DAX, 256 << 10, ACC_REMOTE,
		       false),
	[MK_DAX_REVOKED] = TMR("xfs-dax-revoked", RT_MEM_XFS_DAX, 64 << 10,
			       ACC_REMOTE, false),
	[MK_REV_ANON] = TMR("revocable-anon", RT_MEM_ANON, 64 << 10,
			    ACC_REMOTE, true),
	[MK_DAX_PUNCH] = TMR("xfs-dax-punched", RT_MEM_XFS_DAX, 64 << 10,
			     ACC_REMOTE, false),
	[MK_ODP_DAX] = TMR("odp-xfs-dax", RT_MEM_XFS_DAX, 128 << 10,
			   ACC_REMOTE | IBV_ACCESS_ON_DEMAND, false),
	[MK_VALID] = TMR("valid", RT_MEM_ANON, 0, ACC_REMOTE, false),
};

/* the ODP MR's hole: unmapped after registration */
#define ODP_HOLE_OFF	(64 << 10)
#define ODP_HOLE_LEN	(16 << 10)

static struct {
	struct rt_dev d;
	struct ibv_cq *scq, *rcq;
	struct ibv_srq *srq;
	int srq_out;
	struct ibv_mw *mw;
	uint32_t mw_rkey;
	uint64_t mw_addr;
	uint32_t mw_len;
	struct ibv_mw *mw2;	/* type 2, never bound */
	uint32_t mw2_rkey;
	uint32_t dead_rkey;	/* of a deregistered MR */
	uint32_t legit_rkey;	/* of an MR in the legit PD */
	bool have_revoke;	/* our module: rxer_* work */
} v;

enum vop_kind { V_NONE, V_PROBE, V_WRITE, V_READ, V_ATOMIC };

struct vop {
	enum vop_kind kind;
	uint32_t first_psn, last_psn;
	uint64_t off;		/* in the QP's slice of the valid MR */
	uint32_t len;
	const uint8_t *data;	/* WRITE: what was sent */
	uint64_t orig, want;	/* ATOMIC: before, expected after */
	uint32_t got;		/* READ: bytes checked */
	uint64_t nonce;		/* PROBE: what it writes */
	int replays;		/* READ: duplicates still to send */
	double deadline;
	/* V_PROBE: the op to send once the PSN is confirmed */
	enum vop_kind next;
	uint64_t noff;
	uint32_t nlen;
	const uint8_t *ndata;
	int nreplays;
	bool ncas;
	int tries;
};

/* what went to a QP and came from it lately: for the report of a bad op */
struct hev {
	unsigned long n;	/* w.pkts when it happened */
	char dir;		/* t sent, r answered, R recycled */
	uint8_t op, syn;
	bool ackreq;
	uint32_t psn;
	const char *why;
	uint64_t x;		/* ATOMIC ACK: the original; R: state */
	int mangled;
};

#define NHEV	32

struct fqp {
	char name[16];
	enum ibv_qp_type type;
	enum ibv_qp_state want;
	bool wander;
	bool on_srq;
	enum ibv_mtu path_mtu;
	int access;
	int max_dest_rd;
	uint32_t qkey;
	struct ibv_qp *qp;
	uint32_t qpn, rqpn;
	uint32_t mtu;
	uint32_t epsn;		/* the responder's next PSN, as far as we know */
	uint32_t ans_first, ans_last, ans_len;	/* the last READ we answered */
	uint32_t sq_psn;
	int recv_out, send_out;
	bool need_check;
	struct vop v;
	uint64_t slice;
	/* the last answer of the device to our requests */
	uint8_t last_op;
	uint8_t last_syn;
	uint32_t last_psn;
	unsigned long answers;
	unsigned long recycles, fuzzed;
	struct hev hev[NHEV];
	unsigned int nhev;
};

#define NQ	17
#define QRC(n, t, st, mtu, acc, rd)	{ .name = n, .type = t, .want = st, \
					  .path_mtu = mtu, .access = acc, \
					  .max_dest_rd = rd }
#define QUD(n, st, k)	{ .name = n, .type = IBV_QPT_UD, .want = st, .qkey = k }
static struct fqp qps[NQ] = {
	QRC("rc0", IBV_QPT_RC, IBV_QPS_RTS, IBV_MTU_1024, ACC_REMOTE, 16),
	QRC("rc1", IBV_QPT_RC, IBV_QPS_RTS, IBV_MTU_256, ACC_REMOTE, 4),
	QRC("rc2", IBV_QPT_RC, IBV_QPS_RTS, IBV_MTU_4096, ACC_REMOTE, 1),
	QRC("rc3-wo", IBV_QPT_RC, IBV_QPS_RTS, IBV_MTU_1024,
	    IBV_ACCESS_REMOTE_WRITE, 0),
	QRC("rc4-srq", IBV_QPT_RC, IBV_QPS_RTS, IBV_MTU_512, ACC_REMOTE, 16),
	QRC("rc5-wander", IBV_QPT_RC, IBV_QPS_RTS, IBV_MTU_2048, ACC_REMOTE,
	    8),
	QRC("rc-reset", IBV_QPT_RC, IBV_QPS_RESET, IBV_MTU_1024, ACC_REMOTE,
	    16),
	QRC("rc-init", IBV_QPT_RC, IBV_QPS_INIT, IBV_MTU_1024, ACC_REMOTE,
	    16),
	QRC("rc-rtr", IBV_QPT_RC, IBV_QPS_RTR, IBV_MTU_1024, ACC_REMOTE, 16),
	QRC("rc-err", IBV_QPT_RC, IBV_QPS_ERR, IBV_MTU_1024, ACC_REMOTE, 16),
	QRC("uc0", IBV_QPT_UC, IBV_QPS_RTS, IBV_MTU_1024,
	    IBV_ACCESS_REMOTE_WRITE, 0),
	QUD("ud-reset", IBV_QPS_RESET, 0x11110000),
	QUD("ud-init", IBV_QPS_INIT, 0x11110000),
	QUD("ud-rtr", IBV_QPS_RTR, 0x11110000),
	QUD("ud0", IBV_QPS_RTS, 0x11110000),
	QUD("ud1", IBV_QPS_RTS, 0x22220000),
	QUD("ud-err", IBV_QPS_ERR, 0x11110000),
};

static struct {
	unsigned long fuzz, valid_sent, valid_ok, valid_bad, valid_lost;
	unsigned long replays_ok, probes, probes_lost;
	unsigned long acks, naks[8], rnr, seq, read_resp, atomic_acks;
	unsigned long stray;
	unsigned long req_seen, req_answered;
	unsigned long recycles, wander_ok, wander_fail, unexpected;
	unsigned long wc_ok, wc_err, wc_weird;
	unsigned long recv_posted, send_posted;
	unsigned long revokes, rereg, punches, discards;
	unsigned long by_class[8];
} st;

static uint8_t *valid_mem(const struct fqp *q, uint64_t off)
{
	return (uint8_t *)(uintptr_t)mrs[MK_VALID].addr + q->slice + off;
}

static struct fqp *qp_by_rqpn(uint32_t rqpn)
{
	uint32_t i = rqpn - FAKE_QPN_BASE;

	return i < NQ ? &qps[i] : NULL;
}

static struct fqp *qp_by_qpn(uint32_t qpn)
{
	int i;

	for (i = 0; i < NQ; i++)
		if (qps[i].qp && qps[i].qpn == qpn)
			return &qps[i];
	return NULL;
}

static void hev_add(struct fqp *q, char dir, uint8_t op, uint32_t psn,
		    uint8_t syn, bool ackreq, const char *why, uint64_t x,
		    int mangled)
{
	struct hev *e = &q->hev[q->nhev++ % NHEV];

	e->n = w.pkts;
	e->dir = dir;
	e->op = op;
	e->psn = psn;
	e->syn = syn;
	e->ackreq = ackreq;
	e->why = why;
	e->x = x;
	e->mangled = mangled;
}

static void hev_dump(struct fqp *q)
{
	unsigned int k = q->nhev > NHEV ? q->nhev - NHEV : 0;

	for (; k < q->nhev; k++) {
		const struct hev *e = &q->hev[k % NHEV];

		note("  %s hist %lu %c %-24s psn %#x%s syn %#x x %#" PRIx64
		     " %s%s", q->name, e->n, e->dir, op_name(e->op), e->psn,
		     e->ackreq ? " A" : "", e->syn, e->x,
		     e->why ? e->why : "", e->mangled ? " (mangled)" : "");
	}
}

static int mr_register(struct tmr *m)
{
	int ret;

	if (m->mem_kind == RT_MEM_XFS_DAX && !getenv("RXE_XFS_DAX")) {
		m->why_not = "no $RXE_XFS_DAX";
		return -ENOENT;
	}
	ret = rt_mem_map(&m->mem, m->mem_kind, m->size);
	if (ret) {
		m->why_not = "cannot map its memory";
		return ret;
	}
	memset(m->mem.addr, 0x5a, m->size);
	if (m->revocable)
		m->mr = rxer_reg_mr(v.d.pd, m->mem.addr, m->size, m->access,
				    RXER_REG_REVOCABLE);
	else
		m->mr = ibv_reg_mr(v.d.pd, m->mem.addr, m->size, m->access);
	if (!m->mr) {
		ret = -errno;
		m->why_not = strerror(errno);
		rt_mem_unmap(&m->mem);
		return ret;
	}
	m->addr = (uintptr_t)m->mem.addr;
	m->len = m->size;
	m->rkey = m->mr->rkey;
	m->lkey = m->mr->lkey;
	m->usable = true;
	return 0;
}

static void mr_sync_keys(struct tmr *m)
{
	m->rkey = m->mr->rkey;
	m->lkey = m->mr->lkey;
}

static bool early_hole;
static const char *hole_state(void);

static int setup_mrs(void)
{
	struct ibv_mr *dead;
	char buf[64];
	int i;

	mrs[MK_VALID].size = NQ * NQ_VALID_SLICE;
	for (i = 0; i < NMR; i++) {
		struct tmr *m = &mrs[i];

		if (mr_register(m)) {
			note("MR %s: not available (%s)", m->name,
			     m->why_not);
			if (i == MK_PIN || i == MK_RO || i == MK_VALID)
				return -1;
			continue;
		}
		note("MR %-16s %7zu bytes at %#" PRIx64 " rkey %#x lkey %#x",
		     m->name, m->len, m->addr, m->rkey, m->lkey);
	}
	/*
	 * RXE_FUZZ_EARLY_HOLE=1: the hole before the queues are mapped (the
	 * first version did that: a queue ring mapped into it then received
	 * the peer's WRITEs through the ODP MR)
	 */
	early_hole = atoi(rt_env("RXE_FUZZ_EARLY_HOLE", "0")) > 0;
	if (early_hole && mrs[MK_ODP].usable)
		munmap((char *)mrs[MK_ODP].mem.addr + ODP_HOLE_OFF,
		       ODP_HOLE_LEN);
	/* revoked by its owner before any traffic */
	if (mrs[MK_DAX_REVOKED].usable) {
		int ret = rxer_revoke_mr(mrs[MK_DAX_REVOKED].mr);

		if (ret)
			note("rxer_revoke_mr: %s", strerror(ret));
		else
			mrs[MK_DAX_REVOKED].revoked = true;
	}
	v.have_revoke = mrs[MK_DAX_REVOKED].revoked;
	/* the rkey of an MR that is gone */
	dead = ibv_reg_mr(v.d.pd, buf, sizeof(buf), ACC_REMOTE);
	if (dead) {
		v.dead_rkey = dead->rkey;
		ibv_dereg_mr(dead);
	}
	return 0;
}

/*
 * A type 1 memory window over the first 64 KiB of the pinned MR, and a
 * type 2 window never bound: the key of a window with no QP and no MR
 * (SEND_WITH_INV of it oopsed stock rxe, patch 0033).
 */
static void setup_mw(struct fqp *q)
{
	struct ibv_mw_bind bind = { .wr_id = 0x4d57, .send_flags =
				    IBV_SEND_SIGNALED };
	struct ibv_wc wc;
	int ret;

	v.mw2 = ibv_alloc_mw(v.d.pd, IBV_MW_TYPE_2);
	if (v.mw2) {
		v.mw2_rkey = v.mw2->rkey;
		note("MW type 2 rkey %#x, unbound", v.mw2_rkey);
	}
	v.mw = ibv_alloc_mw(v.d.pd, IBV_MW_TYPE_1);
	if (!v.mw) {
		note("memory window: ibv_alloc_mw: %s", strerror(errno));
		return;
	}
	bind.bind_info.mr = mrs[MK_PIN].mr;
	bind.bind_info.addr = mrs[MK_PIN].addr;
	bind.bind_info.length = 64 << 10;
	bind.bind_info.mw_access_flags = IBV_ACCESS_REMOTE_WRITE |
					 IBV_ACCESS_REMOTE_READ |
					 IBV_ACCESS_REMOTE_ATOMIC;
	ret = ibv_bind_mw(q->qp, v.mw, &bind);
	if (ret) {
		note("memory window: ibv_bind_mw: %s", strerror(ret));
		return;
	}
	if (rt_poll_for(v.scq, &wc, 10) || wc.status != IBV_WC_SUCCESS) {
		note("memory window: bind did not complete");
		return;
	}
	v.mw_rkey = v.mw->rkey;
	v.mw_addr = mrs[MK_PIN].addr;
	v.mw_len = 64 << 10;
	note("MW type 1 rkey %#x over the pinned MR's first 64 KiB",
	     v.mw_rkey);
}

static const union ibv_gid *peer_gid(void)
{
	static union ibv_gid g;

	g.raw[10] = 0xff;
	g.raw[11] = 0xff;
	put32(g.raw + 12, w.saddr);
	return &g;
}

static int modify(struct fqp *q, struct ibv_qp_attr *a, int mask)
{
	int ret = ibv_modify_qp(q->qp, a, mask);

	if (ret)
		note("%s: modify to state %d: %s", q->name, a->qp_state,
		     strerror(ret));
	return ret;
}

/* RESET, then up to state st (or ERR); new PSNs */
static int qp_goto(struct fqp *q, enum ibv_qp_state st)
{
	struct ibv_qp_attr a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RESET;
	ret = modify(q, &a, IBV_QP_STATE);
	if (ret)
		return ret;
	hev_add(q, 'R', 0, 0, 0, false, "reset", st, 0);
	q->recv_out = 0;
	q->send_out = 0;
	memset(&q->v, 0, sizeof(q->v));
	q->need_check = false;
	if (st == IBV_QPS_RESET)
		return 0;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = v.d.port;
	if (q->type == IBV_QPT_UD) {
		a.qkey = q->qkey;
		ret = modify(q, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_QKEY);
	} else {
		a.qp_access_flags = q->access;
		ret = modify(q, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	}
	if (!ret && st == IBV_QPS_ERR) {
		/* RESET -> ERR is not a transition; INIT -> ERR is */
		memset(&a, 0, sizeof(a));
		a.qp_state = IBV_QPS_ERR;
		return modify(q, &a, IBV_QP_STATE);
	}
	if (ret || st == IBV_QPS_INIT)
		return ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	q->epsn = rnd32(&h_rng) & PSN_MASK;
	hev_add(q, 'R', 0, q->epsn, 0, false, "rtr", st, 0);
	if (q->type == IBV_QPT_UD) {
		ret = modify(q, &a, IBV_QP_STATE);
	} else {
		int mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			   IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;

		a.path_mtu = q->path_mtu;
		a.dest_qp_num = q->rqpn;
		a.rq_psn = q->epsn;
		a.ah_attr.is_global = 1;
		a.ah_attr.port_num = v.d.port;
		a.ah_attr.grh.dgid = *peer_gid();
		a.ah_attr.grh.sgid_index = v.d.gid_index;
		a.ah_attr.grh.hop_limit = 64;
		if (q->type == IBV_QPT_RC) {
			a.max_dest_rd_atomic = q->max_dest_rd;
			a.min_rnr_timer = 1;
			mask |= IBV_QP_MAX_DEST_RD_ATOMIC |
				IBV_QP_MIN_RNR_TIMER;
		}
		ret = modify(q, &a, mask);
	}
	if (ret || st == IBV_QPS_RTR)
		return ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	q->sq_psn = rnd32(&h_rng) & PSN_MASK;
	a.sq_psn = q->sq_psn;
	if (q->type == IBV_QPT_RC) {
		/* unanswered requests fail fast: 67 ms x 3 */
		a.timeout = 14;
		a.retry_cnt = 2;
		a.rnr_retry = 1;
		a.max_rd_atomic = 4;
		ret = modify(q, &a, IBV_QP_STATE | IBV_QP_SQ_PSN |
			     IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			     IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
	} else {
		ret = modify(q, &a, IBV_QP_STATE | IBV_QP_SQ_PSN);
	}
	return ret;
}

static int qp_state(struct fqp *q)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr ia;

	if (ibv_query_qp(q->qp, &a, IBV_QP_STATE, &ia))
		return -1;
	return a.qp_state;
}

static int setup_qps(void)
{
	int i;

	v.scq = ibv_create_cq(v.d.ctx, 8192, NULL, NULL, 0);
	v.rcq = ibv_create_cq(v.d.ctx, 8192, NULL, NULL, 0);
	if (!v.scq || !v.rcq)
		return -errno;
	{
		struct ibv_srq_init_attr sa = {
			.attr = { .max_wr = 256, .max_sge = 2 },
		};

		v.srq = ibv_create_srq(v.d.pd, &sa);
		if (!v.srq)
			return -errno;
	}
	for (i = 0; i < NQ; i++) {
		struct fqp *q = &qps[i];
		struct ibv_qp_init_attr ia = {
			.send_cq = v.scq,
			.recv_cq = v.rcq,
			.srq = q->on_srq ? v.srq : NULL,
			.qp_type = q->type,
			.cap = {
				.max_send_wr = 64,
				.max_recv_wr = 64,
				.max_send_sge = 2,
				.max_recv_sge = 2,
			},
		};

		q->qp = ibv_create_qp(v.d.pd, &ia);
		if (!q->qp) {
			note("%s: ibv_create_qp: %s", q->name,
			     strerror(errno));
			return -errno;
		}
		q->qpn = q->qp->qp_num;
		q->rqpn = FAKE_QPN_BASE + i;
		q->mtu = q->type == IBV_QPT_UD ? 1024 :
			 128u << q->path_mtu;
		q->slice = (uint64_t)i * NQ_VALID_SLICE;
		if (qp_goto(q, q->want))
			return -EIO;
	}
	return 0;
}

/* ------------------------------------------------- receives and sends */

static const int sge_mrs[] = {
	MK_PIN, MK_PIN, MK_ODP, MK_ODP, MK_DAX, MK_DAX_REVOKED, MK_REV_ANON,
	MK_RO, MK_ODP_DAX, MK_DAX_PUNCH,
};

/* an SGE somewhere in a target MR (never the valid one) */
static void pick_sge(struct rng *r, struct ibv_sge *s, uint32_t maxlen)
{
	const struct tmr *m;
	uint32_t len;
	int tries;

	for (tries = 0; tries < 16; tries++) {
		m = &mrs[sge_mrs[below(r, ARRAY_SIZE(sge_mrs))]];
		if (m->usable)
			break;
	}
	if (!m->usable)
		m = &mrs[MK_PIN];
	switch (below(r, 8)) {
	case 0:
		len = 0;
		break;
	case 1:
	case 2:
		len = 1 + below(r, 64);
		break;
	case 3:
	case 4:
	case 5:
		len = 1 + below(r, maxlen);
		break;
	default:
		len = maxlen;
		break;
	}
	s->lkey = m->lkey;
	s->addr = m->addr + below(r, m->len);
	if (pct(r, 85) && s->addr + len > m->addr + m->len)
		s->addr = m->addr + m->len - len;	/* fits, mostly */
	if (pct(r, 3))
		s->lkey ^= 1 << below(r, 8);
	s->length = len;
}

static void post_recvs(struct fqp *q, int want)
{
	struct ibv_sge sge[2];
	struct ibv_recv_wr wr, *bad;

	while (q->recv_out < want) {
		memset(&wr, 0, sizeof(wr));
		wr.wr_id = (uint64_t)(q - qps) << 32 | 0x52;
		wr.sg_list = sge;
		wr.num_sge = pct(&h_rng, 20) ? 2 : 1;
		pick_sge(&h_rng, &sge[0], q->type == IBV_QPT_UD ?
			 40 + 4096 : 4 * q->mtu);
		pick_sge(&h_rng, &sge[1], 2 * q->mtu);
		if (ibv_post_recv(q->qp, &wr, &bad))
			return;
		q->recv_out++;
		st.recv_posted++;
	}
}

static void post_srq_recvs(int want)
{
	struct ibv_sge sge[2];
	struct ibv_recv_wr wr, *bad;

	while (v.srq_out < want) {
		memset(&wr, 0, sizeof(wr));
		wr.wr_id = 0x5352510000000000ull;
		wr.sg_list = sge;
		wr.num_sge = pct(&h_rng, 20) ? 2 : 1;
		pick_sge(&h_rng, &sge[0], 2048);
		pick_sge(&h_rng, &sge[1], 1024);
		if (ibv_post_srq_recv(v.srq, &wr, &bad))
			return;
		v.srq_out++;
		st.recv_posted++;
	}
}

/* a few WRs on an RC QP's requester: the emulated peer answers them */
static void post_sends(struct fqp *q)
{
	static const enum ibv_wr_opcode ops[] = {
		IBV_WR_RDMA_WRITE, IBV_WR_RDMA_WRITE_WITH_IMM, IBV_WR_SEND,
		IBV_WR_SEND_WITH_IMM, IBV_WR_RDMA_READ, IBV_WR_RDMA_READ,
		IBV_WR_RDMA_READ, IBV_WR_ATOMIC_CMP_AND_SWP,
		IBV_WR_ATOMIC_FETCH_AND_ADD,
	};
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	int i, n = 1 + below(&h_rng, 3);

	for (i = 0; i < n; i++) {
		memset(&wr, 0, sizeof(wr));
		wr.wr_id = (uint64_t)(q - qps) << 32 | 0x53;
		wr.opcode = ops[below(&h_rng, ARRAY_SIZE(ops))];
		/*
		 * comperr: a READ answered in part leaves the completer's
		 * opcode set through a RESET (rxe_qp_reset() does not clear
		 * comp.opcode): the next answer then trips check_ack()
		 */
		if (avoid_comperr && wr.opcode == IBV_WR_RDMA_READ)
			wr.opcode = IBV_WR_RDMA_WRITE;
		wr.send_flags = IBV_SEND_SIGNALED;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		wr.imm_data = rnd32(&h_rng);
		pick_sge(&h_rng, &sge, 3 * q->mtu);
		if (wr.opcode == IBV_WR_ATOMIC_CMP_AND_SWP ||
		    wr.opcode == IBV_WR_ATOMIC_FETCH_AND_ADD) {
			sge.addr &= ~7ull;
			sge.length = 8;
			wr.wr.atomic.remote_addr = rnd64(&h_rng) & ~7ull;
			wr.wr.atomic.rkey = rnd32(&h_rng);
			wr.wr.atomic.compare_add = rnd64(&h_rng);
			wr.wr.atomic.swap = rnd64(&h_rng);
		} else {
			wr.wr.rdma.remote_addr = rnd64(&h_rng);
			wr.wr.rdma.rkey = rnd32(&h_rng);
		}
		if (ibv_post_send(q->qp, &wr, &bad))
			return;
		q->send_out++;
		st.send_posted++;
	}
}

static void wc_count(const struct ibv_wc *wc, const char *cq)
{
	if (wc->status == IBV_WC_SUCCESS)
		st.wc_ok++;
	else
		st.wc_err++;
	if (wc->status > IBV_WC_GENERAL_ERR && ++st.wc_weird <= 5)
		note("%s completion with status %d: wr_id %#" PRIx64
		     " opcode %d qp %#x byte_len %u vendor_err %#x", cq,
		     wc->status, wc->wr_id, wc->opcode, wc->qp_num,
		     wc->byte_len, wc->vendor_err);
}

static void poll_cqs(void)
{
	struct ibv_wc wc[32];
	int i, n;

	while ((n = ibv_poll_cq(v.rcq, 32, wc)) > 0) {
		for (i = 0; i < n; i++) {
			struct fqp *q = qp_by_qpn(wc[i].qp_num);

			wc_count(&wc[i], "recv");
			if (!q)
				continue;
			if (q->on_srq) {
				if (v.srq_out > 0)
					v.srq_out--;
			} else if (q->recv_out > 0) {
				q->recv_out--;
			}
			if (wc[i].status != IBV_WC_SUCCESS)
				q->need_check = true;
		}
	}
	while ((n = ibv_poll_cq(v.scq, 32, wc)) > 0) {
		for (i = 0; i < n; i++) {
			struct fqp *q = qp_by_qpn(wc[i].qp_num);

			wc_count(&wc[i], "send");
			if (!q)
				continue;
			if (q->send_out > 0)
				q->send_out--;
			if (wc[i].status != IBV_WC_SUCCESS)
				q->need_check = true;
		}
	}
}

/* ------------------------------------------------ valid (checked) traffic */

static double vop_timeout = 0.5;

static void vop_end(struct fqp *q, bool ok, const char *why)
{
	if (q->v.kind == V_NONE)
		return;
	if (q->v.kind == V_PROBE && !why) {
		st.probes_lost++;
		q->v.kind = V_NONE;
		return;
	}
	if (ok) {
		st.valid_ok++;
	} else if (why) {
		st.valid_bad++;
		if (st.valid_bad <= 10) {
			note("valid op on %s (psn %#x..%#x, off %" PRIu64
			     ", len %u): %s", q->name, q->v.first_psn,
			     q->v.last_psn, q->v.off, q->v.len, why);
			hev_dump(q);
		}
	} else {
		st.valid_lost++;
	}
	q->v.kind = V_NONE;
}

static uint32_t npkts(uint32_t len, uint32_t mtu)
{
	return len ? (len + mtu - 1) / mtu : 1;
}

/* a WRITE of len bytes from data to off in the QP's slice, at q->epsn */
static void send_valid_write(struct fqp *q, uint64_t off, uint32_t len,
			     const uint8_t *data, const char *why)
{
	uint32_t n = npkts(len, q->mtu), k, psn = q->epsn;
	struct pkt p;

	for (k = 0; k < n; k++) {
		uint32_t chunk = len - k * q->mtu;
		uint8_t op;

		if (chunk > q->mtu)
			chunk = q->mtu;
		if (n == 1)
			op = OP_WRITE_ONLY;
		else if (!k)
			op = OP_WRITE_FIRST;
		else
			op = k == n - 1 ? OP_WRITE_LAST : OP_WRITE_MIDDLE;
		pkt_init(&p, T_RC + op, q->qpn, psn + k);
		p.va = mrs[MK_VALID].addr + q->slice + off;
		p.rkey = mrs[MK_VALID].rkey;
		p.dmalen = len;
		p.ackreq = k == n - 1;
		p.why = why;
		pkt_payload(&p, data + k * q->mtu, chunk);
		send_pkt(&p);
	}
	q->v.kind = V_WRITE;
	q->v.first_psn = psn;
	q->v.last_psn = (psn + n - 1) & PSN_MASK;
	q->v.off = off;
	q->v.len = len;
	q->v.data = data;
	q->v.deadline = rt_now() + vop_timeout;
	st.valid_sent++;
}

static void send_read_req(struct fqp *q, uint32_t psn, uint64_t off,
			  uint32_t len, const char *why)
{
	struct pkt p;

	pkt_init(&p, T_RC + OP_READ_REQ, q->qpn, psn);
	p.va = mrs[MK_VALID].addr + q->slice + off;
	p.rkey = mrs[MK_VALID].rkey;
	p.dmalen = len;
	p.ackreq = true;
	p.why = why;
	send_pkt(&p);
}

static void send_valid_read(struct fqp *q, uint64_t off, uint32_t len,
			    int replays, const char *why)
{
	uint32_t n = npkts(len, q->mtu);

	send_read_req(q, q->epsn, off, len, why);
	q->v.kind = V_READ;
	q->v.first_psn = q->epsn;
	q->v.last_psn = (q->epsn + n - 1) & PSN_MASK;
	q->v.off = off;
	q->v.len = len;
	q->v.got = 0;
	q->v.replays = replays;
	q->v.deadline = rt_now() + vop_timeout;
	st.valid_sent++;
}

static void send_valid_atomic(struct fqp *q, uint64_t off, bool cas)
{
	volatile uint64_t *a = (volatile uint64_t *)valid_mem(q, off);
	struct pkt p;

	pkt_init(&p, T_RC + (cas ? OP_CMP_SWAP : OP_FETCH_ADD), q->qpn,
		 q->epsn);
	p.atm_va = mrs[MK_VALID].addr + q->slice + off;
	p.atm_rkey = mrs[MK_VALID].rkey;
	p.swap_add = rnd64(&g_rng);
	p.comp = pct(&g_rng, 50) ? *a : rnd64(&g_rng);
	p.ackreq = true;
	p.why = "valid";
	q->v.orig = *a;
	if (cas)
		q->v.want = q->v.orig == p.comp ? p.swap_add : q->v.orig;
	else
		q->v.want = q->v.orig + p.swap_add;
	send_pkt(&p);
	q->v.kind = V_ATOMIC;
	q->v.first_psn = q->epsn;
	q->v.last_psn = q->epsn;
	q->v.off = off;
	q->v.len = 8;
	q->v.deadline = rt_now() + vop_timeout;
	st.valid_sent++;
}

/*
 * The generator's packets may have moved the responder's PSN, and their
 * answers may still be on the way: a checked op starts with a probe, a
 * WRITE with AckReq at the PSN we expect, of a nonce into the 8 bytes of
 * the QP's slice after VOP_AREA. A sequence NAK tells the right PSN.
 *
 * An ACK at the probe's PSN alone does not confirm it: a generator's
 * packet sent to the QP at that PSN before the probe may have been
 * executed (and ACKed) in its place, and later ones at the next PSNs too;
 * the probe is then a duplicate, and so would the checked op be, answered
 * as one from the responder's resources, with the result of the
 * generator's packet at its PSN, or not at all. So the ACK counts only
 * with the nonce in memory: the probe itself was executed at that PSN,
 * after every packet sent to the QP before it, and the checked op at the
 * next PSN is new.
 */
static void send_probe(struct fqp *q)
{
	static uint64_t seq;
	struct pkt p;

	q->v.nonce = 0x9e3779b97f4a7c15ull * ++seq;
	pkt_init(&p, T_RC + OP_WRITE_ONLY, q->qpn, q->epsn);
	p.va = mrs[MK_VALID].addr + q->slice + VOP_AREA;
	p.rkey = mrs[MK_VALID].rkey;
	p.dmalen = 8;
	p.ackreq = true;
	p.why = "probe";
	pkt_payload(&p, &q->v.nonce, 8);
	send_pkt(&p);
	q->v.kind = V_PROBE;
	q->v.first_psn = q->epsn;
	q->v.last_psn = q->epsn;
	q->v.deadline = rt_now() + vop_timeout;
	st.probes++;
}

static void vop_launch(struct fqp *q)
{
	struct vop o = q->v;

	q->epsn = (o.first_psn + 1) & PSN_MASK;
	switch (o.next) {
	case V_WRITE:
		send_valid_write(q, o.noff, o.nlen, o.ndata, "valid");
		break;
	case V_READ:
		send_valid_read(q, o.noff, o.nlen, o.nreplays, "valid");
		break;
	default:
		send_valid_atomic(q, o.noff, o.ncas);
	}
}

static bool psn_in(uint32_t psn, uint32_t first, uint32_t last)
{
	return ((psn - first) & PSN_MASK) <= ((last - first) & PSN_MASK);
}

static void vop_on_read_resp(struct fqp *q, uint8_t op, uint32_t psn,
			     const uint8_t *pay, uint32_t plen)
{
	struct vop *o = &q->v;
	uint32_t k = (psn - o->first_psn) & PSN_MASK;
	uint64_t at = (uint64_t)k * q->mtu;
	uint32_t want = o->len - at > q->mtu ? q->mtu : o->len - at;

	if (o->len == 0)
		want = 0;
	if (plen != want) {
		vop_end(q, false, "READ response of the wrong length");
		return;
	}
	if (plen && memcmp(pay, valid_mem(q, o->off + at), plen)) {
		vop_end(q, false, "READ response data differs from memory");
		return;
	}
	o->got += plen;
	if (!(opmask[op] & F_END))
		return;
	if (psn != o->last_psn || o->got != o->len) {
		vop_end(q, false, "READ response ends early");
		return;
	}
	q->epsn = (psn + 1) & PSN_MASK;
	if (o->replays > 0) {
		/*
		 * a duplicate of the same READ (C9-150): the responder
		 * replays it from its resources, the expected PSN stays
		 */
		o->replays--;
		o->got = 0;
		st.replays_ok++;
		o->deadline = rt_now() + vop_timeout;
		send_read_req(q, o->first_psn, o->off, o->len, "dup");
		return;
	}
	vop_end(q, true, NULL);
}

/* ------------------------------------------------------------ receive */

static void answer(struct fqp *q, uint8_t op, uint32_t psn,
		   const uint8_t *roce, uint32_t plen, uint32_t dmalen);

static void rx_from_device(struct fqp *q, uint8_t op, uint32_t psn,
			   const uint8_t *hdr, const uint8_t *pay,
			   uint32_t plen)
{
	unsigned int m = opmask[op];
	uint32_t aeth = (m & H_AETH) ? get32(hdr) : 0;
	uint8_t syn = aeth >> 24;
	struct vop *o = &q->v;

	hev_add(q, 'r', op, psn, syn, false, NULL,
		op == T_RC + OP_ATOMIC_ACK ? get64(hdr + 4) : 0, 0);
	q->last_op = op;
	q->last_psn = psn;
	q->last_syn = syn;
	q->answers++;
	switch (op) {
	case T_RC + OP_ACK:
		if ((syn & 0xe0) == 0x00) {
			st.acks++;
			q->epsn = (psn + 1) & PSN_MASK;
			if (o->kind == V_PROBE && psn == o->first_psn &&
			    !memcmp(valid_mem(q, VOP_AREA), &o->nonce, 8)) {
				vop_launch(q);
			} else if (o->kind == V_WRITE && psn == o->last_psn) {
				if (memcmp(valid_mem(q, o->off), o->data,
					   o->len))
					vop_end(q, false,
						"WRITE ACKed, data not in memory");
				else
					vop_end(q, true, NULL);
			}
		} else if ((syn & 0xe0) == 0x20) {
			st.rnr++;
			q->epsn = psn;
			vop_end(q, false, NULL);
		} else if (syn == 0x60) {
			st.seq++;
			q->epsn = psn;
			if (o->kind == V_PROBE && ++o->tries < 3)
				send_probe(q);
			else
				vop_end(q, false, NULL);
		} else {
			st.naks[syn & 7]++;
			q->need_check = true;
			vop_end(q, false, NULL);
		}
		break;
	case T_RC + OP_READ_RESP_FIRST:
	case T_RC + OP_READ_RESP_MIDDLE:
	case T_RC + OP_READ_RESP_LAST:
	case T_RC + OP_READ_RESP_ONLY:
		st.read_resp++;
		if (o->kind == V_READ &&
		    psn_in(psn, o->first_psn, o->last_psn))
			vop_on_read_resp(q, op, psn, pay, plen);
		else if (m & F_END)
			q->epsn = (psn + 1) & PSN_MASK;
		break;
	case T_RC + OP_ATOMIC_ACK:
		st.atomic_acks++;
		q->epsn = (psn + 1) & PSN_MASK;
		if (o->kind == V_ATOMIC && psn == o->first_psn) {
			uint64_t orig = get64(hdr + 4);
			uint64_t now = *(volatile uint64_t *)valid_mem(q,
								       o->off);

			if (orig != o->orig) {
				note("%s: atomic at psn %#x: original %#" PRIx64
				     " expected, %#" PRIx64 " returned, %#"
				     PRIx64 " in memory (%#" PRIx64
				     " expected after)", q->name, psn, o->orig,
				     orig, now, o->want);
				vop_end(q, false,
					"atomic returned a wrong original");
			}
			else if (now != o->want)
				vop_end(q, false,
					"atomic left a wrong value");
			else
				vop_end(q, true, NULL);
		}
		break;
	default:
		st.stray++;
	}
}

/* the requests of one QP, held back from the emulated responder */
static struct {
	struct fqp *q;
	uint8_t op;
	uint32_t psn;
	unsigned long n;
} caught;

static void rx_frame(const uint8_t *f, size_t n)
{
	const uint8_t *ip = f + ETH_HDR, *udp, *roce;
	uint32_t ulen, paylen, ic, qpn, psn, hl, pad;
	unsigned int m;
	struct fqp *q;
	int ihl;
	uint8_t op;

	if (n < ETH_HDR + IP_HDR + UDP_HDR || get16(f + 12) != ETH_P_IP ||
	    (ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP) {
		w.rx_other++;
		return;
	}
	ihl = (ip[0] & 15) * 4;
	udp = ip + ihl;
	if (ihl < IP_HDR || (get16(ip + 6) & 0x3fff) ||
	    (size_t)(ETH_HDR + ihl + UDP_HDR) > n ||
	    get16(udp + 2) != ROCE_PORT) {
		w.rx_other++;
		return;
	}
	ulen = get16(udp + 4);
	if (ulen < UDP_HDR + BTH_LEN + ICRC_LEN || ETH_HDR + ihl + ulen > n) {
		w.rx_other++;
		return;
	}
	roce = udp + UDP_HDR;
	paylen = ulen - UDP_HDR;
	w.rx_roce++;
	memcpy(&ic, roce + paylen - ICRC_LEN, 4);
	if (ic != roce_icrc(ip, roce, paylen)) {
		if (++w.rx_icrc_bad <= 5)
			note("rx: packet of opcode %#x with a bad ICRC",
			     roce[0]);
		return;
	}
	op = roce[0];
	qpn = get32(roce + 4) & 0xffffff;
	psn = get32(roce + 8) & PSN_MASK;
	q = qp_by_rqpn(qpn);
	m = opmask[op];
	hl = hdr_len(m & H_ALL);
	pad = (roce[1] >> 4) & 3;
	if (!q || !m || paylen < hl + pad + ICRC_LEN) {
		st.stray++;
		return;
	}
	if ((m & F_REQ) && q == caught.q) {
		/* a reproducer answers this one itself */
		caught.op = op;
		caught.psn = psn;
		caught.n++;
	} else if (m & F_REQ) {
		answer(q, op, psn, roce, paylen - hl - pad - ICRC_LEN,
		       (m & H_RETH) ? get32(roce + BTH_LEN + 12) : 0);
	} else {
		rx_from_device(q, op, psn, roce + BTH_LEN, roce + hl,
			       paylen - hl - pad - ICRC_LEN);
	}
}

static void rx_drain(void)
{
	static uint8_t b[FRAME_MAX + 64];
	ssize_t n;

	while ((n = recv(w.fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		rx_frame(b, n);
}

static uint8_t answer_syn(struct rng *r, bool ack_only)
{
	static const uint8_t syns[] = {
		0x1f, 0x00, 0x0a, 0x20, 0x21, 0x3f, 0x60, 0x61, 0x62, 0x63,
		0x64, 0x65, 0x7f, 0x40, 0x5f, 0x80, 0xff,
	};

	if (avoid_comperr && ack_only)
		return below(r, 0x20);
	if (avoid_comperr)
		return syns[below(r, 13)];
	return syns[below(r, sizeof(syns))];
}

/* the peer answers the requests of a QP connected to it, mostly right */
static void answer(struct fqp *q, uint8_t op, uint32_t psn,
		   const uint8_t *roce, uint32_t plen, uint32_t dmalen)
{
	struct rng *r = &r_rng;
	unsigned int kind = op & 0x1f;
	bool ackreq = roce[8] & 0x80;
	bool fuzz = pct(r, 20);
	struct pkt p;
	uint32_t k, k0 = 0, n;

	(void)plen;
	st.req_seen++;
	if (pct(r, 8))
		return;		/* lost: the requester retries */
	st.req_answered++;
	if (kind == OP_READ_REQ) {
		n = npkts(dmalen, q->mtu);
		if (n > 64)
			n = 64;
		/*
		 * a retry of a READ answered in part starts in its middle:
		 * go on with MIDDLE/LAST, as rxe's responder does
		 */
		if (psn_in(psn, q->ans_first, q->ans_last) &&
		    psn != q->ans_first) {
			k0 = (psn - q->ans_first) & PSN_MASK;
			n = ((q->ans_last - q->ans_first) & PSN_MASK) + 1;
			psn = q->ans_first;
			dmalen = q->ans_len;
		} else {
			q->ans_first = psn;
			q->ans_last = (psn + n - 1) & PSN_MASK;
			q->ans_len = dmalen;
		}
		for (k = k0; k < n; k++) {
			uint32_t chunk = dmalen - k * q->mtu;
			uint8_t rop;

			if (chunk > q->mtu)
				chunk = q->mtu;
			if (n == 1)
				rop = OP_READ_RESP_ONLY;
			else if (!k)
				rop = OP_READ_RESP_FIRST;
			else
				rop = k == n - 1 ? OP_READ_RESP_LAST :
				      OP_READ_RESP_MIDDLE;
			pkt_init(&p, T_RC + rop, q->qpn, psn + k);
			p.aeth = 0x1f000000u | (q->answers & 0xffffff);
			p.why = "answer";
			pkt_payload(&p, junk + below(r, 8192), chunk);
			if (fuzz && pct(r, 30)) {
				switch (below(r, 6)) {
				case 0:
					pkt_payload(&p, junk,
						    below(r, 2 * q->mtu + 8));
					break;
				case 1:
					if (avoid_comperr)
						break;
					p.psn = (p.psn + below(r, 5) - 2) &
						PSN_MASK;
					break;
				case 2:
					if (avoid_comperr)
						break;
					p.opcode = T_RC + OP_READ_RESP_FIRST +
						   below(r, 6);
					p.hdrs = opmask[p.opcode] & H_ALL;
					break;
				case 3:
					p.aeth = (uint32_t)answer_syn(r, true)
						 << 24;
					break;
				case 4:
					if (avoid_comperr)
						break;
					continue;	/* a lost packet */
				default:
					p.flags ^= 0x30;
				}
			}
			send_pkt(&p);
		}
		return;
	}
	if (kind == OP_CMP_SWAP || kind == OP_FETCH_ADD) {
		pkt_init(&p, T_RC + OP_ATOMIC_ACK, q->qpn, psn);
		p.aeth = 0x1f000000u;
		p.atmack = rnd64(r);
	} else if (ackreq || pct(r, 5)) {
		pkt_init(&p, T_RC + OP_ACK, q->qpn, psn);
		p.aeth = 0x1f000000u;
	} else {
		return;
	}
	p.why = "answer";
	if (fuzz) {
		switch (below(r, 5)) {
		case 0:
			p.aeth = (uint32_t)answer_syn(r, p.opcode !=
						      T_RC + OP_ACK) << 24 |
				 below(r, 1 << 24);
			break;
		case 1:
			p.psn = (p.psn + below(r, 9) - 4) & PSN_MASK;
			break;
		case 2:
			p.psn = rnd32(r) & PSN_MASK;
			break;
		case 3:
			if (avoid_comperr)
				break;
			p.opcode = T_RC + OP_READ_RESP_FIRST + below(r, 6);
			p.hdrs = opmask[p.opcode] & H_ALL;
			pkt_payload(&p, junk, below(r, 2 * q->mtu));
			break;
		default:
			send_pkt(&p);	/* twice */
		}
	}
	send_pkt(&p);
}

/* ---------------------------------------------------------- generator */

static uint32_t pick_rkey(struct rng *r, const struct tmr **mp)
{
	const struct tmr *m;
	uint32_t k;
	int i;

	for (i = 0; i < 16; i++) {
		m = &mrs[below(r, MK_VALID)];
		if (m->usable)
			break;
	}
	if (!m->usable)
		m = &mrs[MK_PIN];
	*mp = m;
	switch (below(r, 20)) {
	case 0:
		k = m->lkey;
		break;
	case 1:
		k = mrs[MK_DAX_REVOKED].usable ? mrs[MK_DAX_REVOKED].rkey :
		    m->rkey;
		break;
	case 2:
		k = v.mw_rkey ? v.mw_rkey : m->rkey;
		break;
	case 3:		/* an index in the MW range, random key */
		k = (0x80001u + below(r, 0x80000)) << 8 | below(r, 256);
		break;
	case 4:
		k = v.dead_rkey;
		break;
	case 5:
		k = v.legit_rkey;
		break;
	case 6:
		k = m->rkey ^ (1u << below(r, 8));
		break;
	case 7:
		k = m->rkey + 0x100;
		break;
	case 8:
		k = rnd32(r);
		break;
	case 9:
		k = pct(r, 50) ? 0 : 0xffffffffu;
		break;
	case 10:
		k = v.mw2_rkey ? v.mw2_rkey : m->rkey;
		break;
	default:
		k = m->rkey;
	}
	if (k == mrs[MK_VALID].rkey)
		k ^= 0x80;
	return k;
}

static uint64_t pick_va(struct rng *r, const struct tmr *m, uint32_t rkey,
			uint32_t len)
{
	uint64_t base = m->addr, size = m->len;

	if (rkey == v.mw_rkey && v.mw_rkey) {
		base = v.mw_addr;
		size = v.mw_len;
	}
	switch (below(r, 20)) {
	case 0:
	case 1:
		return base;
	case 2:
	case 3:
		return base + size - (len < size ? len : size);
	case 4:
	case 5:		/* straddles the end */
		return base + size - 1 - below(r, len ? len : 1);
	case 6:
		return base - 1 - below(r, 4096);
	case 7:
		return pct(r, 50) ? 0 : ~0ull - below(r, 4096);
	case 8:
		return rnd64(r);
	case 9:
		return base + (1ull << 32) + below(r, size);
	case 10:	/* the ODP MR's unmapped hole */
		if (mrs[MK_ODP].usable)
			return mrs[MK_ODP].addr + ODP_HOLE_OFF +
			       below(r, ODP_HOLE_LEN);
		return base;
	default:
		return base + below(r, size);
	}
}

static uint32_t pick_len(struct rng *r, uint32_t mtu, uint32_t mrlen)
{
	switch (below(r, 24)) {
	case 0:
	case 1:
	case 2:
		return 0;
	case 3:
	case 4:
		return 1;
	case 5:
		return mtu - 1;
	case 6:
		return mtu;
	case 7:
		return mtu + 1;
	case 8:
		return 1u << 31;
	case 9:
		return 0xffffffffu;
	case 10:
		return (1u << 31) - 1;
	case 11:
		return 0u - mtu;
	case 12:
	case 13:
		return 1 + below(r, mrlen);
	default:
		return 1 + below(r, 4 * mtu);
	}
}

static const uint8_t aeth_syns[] = {
	0x1f, 0x00, 0x01, 0x0f, 0x20, 0x21, 0x3f, 0x40, 0x5f, 0x60, 0x61,
	0x62, 0x63, 0x64, 0x65, 0x7f, 0x80, 0xc0, 0xff,
};

/* the opcodes a QP of this type serves as a responder or a requester */
static uint8_t pick_opcode(struct rng *r, const struct fqp *q)
{
	static const uint8_t rc_req[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 19, 20, 22, 23,
		4, 10, 10, 12, 12, 6, 8, 19, 20,
	};
	enum ibv_qp_type t = q ? q->type : IBV_QPT_RC;
	uint32_t x = below(r, 100);
	uint8_t op;

	if (x < 35) {
		do {
			op = below(r, 256);
		} while ((x >= 20 && !opmask[op]) ||
			 (avoid_comperr && q && q->send_out &&
			  (opmask[op] & F_ACK)));
		return op;
	}
	if (t == IBV_QPT_UD)
		return T_UD + (pct(r, 50) ? OP_SEND_ONLY : OP_SEND_ONLY_IMM);
	if (x < 45 && t == IBV_QPT_RC &&
	    (!avoid_comperr || !q || !q->send_out))
		return T_RC + OP_READ_RESP_FIRST + below(r, 6);
	op = rc_req[below(r, sizeof(rc_req))];
	if (t == IBV_QPT_UC)
		return op <= OP_WRITE_ONLY_IMM ? T_UC + op : T_UC + OP_SEND_ONLY;
	return T_RC + op;
}

static struct fqp *pick_target(struct rng *r)
{
	uint32_t x = below(r, 100);

	if (x < 62) {
		struct fqp *q = &qps[below(r, 6)];	/* rc0..rc5 */

		/* not one with a checked op under way */
		return q->v.kind == V_NONE ? q : &qps[5];
	}
	if (x < 70)
		return &qps[6 + below(r, 4)];		/* RC, other states */
	if (x < 75)
		return &qps[10];			/* uc0 */
	if (x < 83)
		return &qps[14 + below(r, 2)];		/* ud0, ud1 */
	if (x < 90)
		return &qps[11 + below(r, 6)];		/* any UD */
	return NULL;
}

static uint32_t pick_qpn(struct rng *r)
{
	switch (below(r, 8)) {
	case 0:
		return 0;
	case 1:
		return 1;	/* the GSI QP: to the MAD layer */
	case 2:
		return 0xffffff;	/* multicast */
	case 3:
		return qps[below(r, NQ)].qpn + 1;
	case 4:
		return qps[below(r, NQ)].qpn - 1;
	case 5:
		return 2 + below(r, 64);
	default:
		return rnd32(r) & 0xffffff;
	}
}

static uint32_t pick_psn(struct rng *r, uint32_t epsn)
{
	switch (below(r, 20)) {
	case 0:
	case 1:
		return epsn + 1 + below(r, 4);
	case 2:
	case 3:
		return epsn - 1 - below(r, 4);
	case 4:
		return rnd32(r);
	case 5:
		return epsn + (1u << 23) + below(r, 2) - 1;
	case 6:
		return epsn - (1u << 23);
	default:
		return epsn;
	}
}

/* a packet aimed at a QP (or at a number), valid-looking or not */
static void gen_fuzz(struct pkt *p)
{
	struct rng *r = &g_rng;
	struct fqp *q = pick_target(r);
	uint8_t op = pick_opcode(r, q);
	unsigned int m = opmask[op];
	uint32_t mtu = q ? q->mtu : 1024;
	const struct tmr *mr = &mrs[MK_PIN];
	uint32_t len, plen;

	pkt_init(p, op, q ? q->qpn : pick_qpn(r),
		 q ? pick_psn(r, q->epsn) : rnd32(r));
	if (!q) {
		const struct fqp *t = qp_by_qpn(p->qpn);

		/* as pick_target(): not a QP with a checked op under way */
		if (t && t->v.kind != V_NONE)
			p->qpn ^= 0x800000;
	}
	if (q)
		q->fuzzed++;
	p->why = "fuzz";
	st.fuzz++;
	st.by_class[op >> 5]++;
	if (!m)
		p->hdrs = pct(r, 50) ? 0 : below(r, 256);
	else if (pct(r, 3))
		p->hdrs = below(r, 256);	/* headers not of the opcode */
	p->ackreq = pct(r, 60);
	if (pct(r, 15))
		p->flags |= 0x80;		/* solicited event */
	if (pct(r, 5))
		p->flags |= 0x40;		/* MigReq */
	if (pct(r, 3))
		p->flags |= 1 + below(r, 15);	/* TVer */
	switch (below(r, 50)) {
	case 0:
		p->pkey = 0x7fff;
		break;
	case 1:
		p->pkey = rnd32(r);
		break;
	case 2:
		p->pkey = 0;
		break;
	}
	if (pct(r, 8))
		p->resv8a = rnd32(r);
	if (pct(r, 4))
		p->resv7 = rnd32(r);

	/* RETH: a target, a length */
	p->rkey = pick_rkey(r, &mr);
	len = pick_len(r, mtu, mr->len);
	p->va = pick_va(r, mr, p->rkey, len);
	p->dmalen = len;
	/* ATMETH: aligned mostly */
	p->atm_rkey = pick_rkey(r, &mr);
	p->atm_va = pick_va(r, mr, p->atm_rkey, 8);
	if (pct(r, 70))
		p->atm_va &= ~7ull;
	else if (pct(r, 50))
		p->atm_va = (p->atm_va & ~7ull) + 1 + below(r, 7);
	p->swap_add = rnd64(r);
	p->comp = pct(r, 30) ? 0x5a5a5a5a5a5a5a5aull : rnd64(r);
	/* DETH */
	if (q && pct(r, 75))
		p->qkey = q->qkey;
	else
		p->qkey = pct(r, 30) ? GSI_QKEY : rnd32(r);
	p->sqp = rnd32(r) & 0xffffff;
	p->rdeth = rnd32(r);
	p->aeth = (uint32_t)aeth_syns[below(r, sizeof(aeth_syns))] << 24 |
		  below(r, 1 << 24);
	p->atmack = rnd64(r);
	p->imm = rnd32(r);
	switch (below(r, 4)) {
	case 0:
		p->ieth = rnd32(r);
		break;
	default:
		p->ieth = pick_rkey(r, &mr);
	}

	/* the payload: consistent with the RETH and the MTU, or not */
	switch (below(r, 10)) {
	case 0:
	case 1:
	case 2:
	case 3:
		if ((m & H_RETH) && (m & F_WRITE))
			plen = len < mtu ? len : mtu;
		else if (m & (F_MIDDLE | F_START))
			plen = mtu;
		else
			plen = below(r, mtu + 1);
		break;
	case 4:
		plen = 0;
		break;
	case 5:
		plen = mtu - 1 + below(r, 3);
		break;
	case 6:
		plen = 4096 + below(r, 256);
		break;
	default:
		plen = below(r, pct(r, 80) ? 256 : mtu + 1);
	}
	if (!(m & F_PAYLOAD) && m && pct(r, 80))
		plen = 0;
	if (avoid_zlwrite && (m & H_RETH) && (m & F_WRITE) &&
	    p->dmalen == 0)
		plen = 0;
	if (plen > 8000)
		plen = 8000;
	pkt_payload(p, junk + below(r, sizeof(junk) - 8192), plen);
	if (pct(r, 8)) {		/* a pad count that is off */
		p->flags = (p->flags & ~0x30) | below(r, 4) << 4;
		if (pct(r, 50))
			p->padbytes = below(r, 4);
	}

	/* the wire */
	switch (below(r, 100)) {
	case 0:
	case 1:
	case 2:
		p->icrc = ICRC_FLIP;
		break;
	case 3:
		p->icrc = ICRC_ZERO;
		break;
	case 4:
		p->icrc = ICRC_RANDOM;
		break;
	case 5:
	case 6:
		p->cut = below(r, hdr_len(p->hdrs) + 8);
		break;
	case 7:
	case 8:
		p->cut = below(r, hdr_len(p->hdrs) + p->paylen + 4);
		p->cut_recrc = true;
		break;
	case 9:
		p->ipopt = 4 * (1 + below(r, 3));
		break;
	case 10:
		p->bad_ipsum = true;
		break;
	case 11:
	case 12:
		p->frags = 2 + below(r, 3);
		break;
	case 13:
		p->trailer = 1 + below(r, 64);
		break;
	case 14:
		p->udpsum = 1 + below(r, 2);
		break;
	case 15:
		p->udplen_delta = pct(r, 50) ? 0u - (1 + below(r, 8)) :
				  1 + below(r, 8);
		break;
	case 16:
		p->saddr = w.saddr + 1 + below(r, 8);
		break;
	case 17:
		p->daddr = pct(r, 50) ? w.daddr | 0xff : 0xe0000001u;
		break;
	case 18:
		p->tos = rnd32(r);
		p->ttl = 1 + below(r, 255);
		break;
	case 19:
		p->sport = ROCE_PORT;
		break;
	}
}

/* ------------------------------------------------------- housekeeping */

static unsigned long pkts_target;

static void recycle(struct fqp *q)
{
	enum ibv_qp_state to = q->want;

	if (q->wander)
		to = IBV_QPS_RTS;
	if (!qp_goto(q, to))
		q->recycles++;
	st.recycles++;
}

static void wander(struct fqp *q)
{
	static const enum ibv_qp_state to[] = {
		IBV_QPS_RESET, IBV_QPS_INIT, IBV_QPS_RTR, IBV_QPS_RTS,
		IBV_QPS_SQD, IBV_QPS_ERR,
	};
	struct ibv_qp_attr a = { .qp_state = to[below(&h_rng, 6)] };

	if (pct(&h_rng, 50) && a.qp_state != IBV_QPS_SQD) {
		if (qp_goto(q, a.qp_state))
			st.wander_fail++;
		else
			st.wander_ok++;
		return;
	}
	/* a bare state change: refused unless the spec allows it */
	if (ibv_modify_qp(q->qp, &a, IBV_QP_STATE))
		st.wander_fail++;
	else
		st.wander_ok++;
}

static void revoke_cycle(void)
{
	struct tmr *m = &mrs[MK_REV_ANON];
	int ret;

	if (!m->usable || !v.have_revoke)
		return;
	if (!m->revoked) {
		ret = rxer_revoke_mr(m->mr);
		if (!ret) {
			m->revoked = true;
			st.revokes++;
		}
		return;
	}
	ret = rxer_rereg_mr(m->mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
			    m->mem.addr, m->len, 0);
	if (!ret) {
		m->revoked = false;
		mr_sync_keys(m);
		st.rereg++;
	}
}

static void discard_pages(void)
{
	struct tmr *m = &mrs[MK_ODP];
	uint64_t off, len;

	if (m->usable) {
		/* anon ODP: the pages go, the next access faults them in */
		off = (uint64_t)below(&h_rng, m->len / PAGE) * PAGE;
		len = PAGE * (1 + below(&h_rng, 4));
		if (off + len > m->len)
			len = m->len - off;
		if (off + len <= ODP_HOLE_OFF || off >= ODP_HOLE_OFF +
		    ODP_HOLE_LEN) {
			madvise((char *)m->mem.addr + off, len,
				MADV_DONTNEED);
			st.discards++;
		}
	}
	m = &mrs[MK_ODP_DAX];
	if (m->usable) {
		/* ODP on DAX: punch a block out of the file */
		off = (uint64_t)below(&h_rng, m->len / PAGE) * PAGE;
		if (!rt_mem_discard(&m->mem, off, PAGE))
			st.discards++;
	}
}

static void housekeeping(unsigned long i)
{
	int k;

	poll_cqs();
	for (k = 0; k < NQ; k++) {
		struct fqp *q = &qps[k];
		int s;

		if (q->v.kind != V_NONE && rt_now() > q->v.deadline) {
			/*
			 * no answer: the PSN we expect is wrong and the
			 * responder, having NAKed once, stays silent
			 */
			vop_end(q, false, NULL);
			recycle(q);
		}
		if (q->need_check || !(i & 1023)) {
			q->need_check = false;
			s = qp_state(q);
			if (s != (int)q->want && !q->wander &&
			    (q->want == IBV_QPS_RESET ||
			     q->want == IBV_QPS_INIT ||
			     q->want == IBV_QPS_ERR)) {
				/* packets cannot move these */
				if (++st.unexpected <= 5)
					note("%s: in state %d, left in %d",
					     q->name, s, q->want);
			}
			if (s != (int)q->want && !q->wander &&
			    q->v.kind == V_NONE)
				recycle(q);
		}
		s = q->want;
		if (q->wander)
			s = qp_state(q);
		if (s >= IBV_QPS_INIT && s != IBV_QPS_ERR && !q->on_srq)
			post_recvs(q, q->type == IBV_QPT_UD ? 32 : 16);
		if (q->type == IBV_QPT_RC && s == IBV_QPS_RTS &&
		    !q->send_out && pct(&h_rng, 6))
			post_sends(q);
	}
	post_srq_recvs(64);
	if (!(i & 255))
		discard_pages();
	if (!(i & 2047))
		revoke_cycle();
	if (!(i & 127))
		wander(&qps[5]);
	if (i >= pkts_target / 2 && mrs[MK_DAX_PUNCH].usable &&
	    !mrs[MK_DAX_PUNCH].revoked) {
		/* the file's blocks go: the kernel revokes the MR */
		if (!rt_mem_discard(&mrs[MK_DAX_PUNCH].mem, PAGE, 4 * PAGE)) {
			mrs[MK_DAX_PUNCH].revoked = true;
			st.punches++;
		}
	}
}

/* a checked operation on an idle RC QP in RTS, after a probe */
static bool valid_step(void)
{
	struct rng *r = &g_rng;
	struct fqp *q = &qps[below(r, 5)];	/* rc0..rc4 */
	struct vop *o = &q->v;
	uint32_t len, max;
	uint64_t off;

	if (o->kind != V_NONE || q->want != IBV_QPS_RTS)
		return false;
	max = 3 * q->mtu < VOP_AREA ? 3 * q->mtu : VOP_AREA;
	len = pct(r, 10) ? 0 : 1 + below(r, max);
	off = below(r, VOP_AREA - len + 1);
	memset(o, 0, sizeof(*o));
	switch (below(r, q->access & IBV_ACCESS_REMOTE_READ ? 4 : 1)) {
	case 0:
		o->next = V_WRITE;
		o->nlen = len ? len : 1;
		o->ndata = junk + below(r, 16384);
		break;
	case 1:
	case 2:
		o->next = V_READ;
		o->nlen = len;
		o->nreplays = pct(r, 25);
		break;
	default:
		o->next = V_ATOMIC;
		off &= ~7ull;
		if (off > VOP_AREA - 8)
			off = VOP_AREA - 8;
		o->ncas = pct(r, 50);
	}
	o->noff = off;
	send_probe(q);
	return true;
}

/* ---------------------------------------------------- legit traffic */

#define LEGIT_LEN	(64 << 10)

static struct {
	struct ibv_pd *pd;
	struct rt_qp a, b;
	struct ibv_mr *src_mr, *dst_mr, *rd_mr;
	uint8_t *src, *dst, *rd;
	pthread_t th;
	volatile bool stop;
	volatile unsigned long ops, errors, mismatches;
	char err[256];
	double err_at;
	bool running;
} lg;

static int legit_qp(struct rt_qp *q)
{
	struct ibv_qp_init_attr ia = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 16, .max_recv_wr = 16,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};

	q->cq = ibv_create_cq(v.d.ctx, 32, NULL, NULL, 0);
	if (!q->cq)
		return -errno;
	ia.send_cq = q->cq;
	ia.recv_cq = q->cq;
	q->qp = ibv_create_qp(lg.pd, &ia);
	return q->qp ? 0 : -errno;
}

static void legit_err(const char *op, uint32_t len, int ret,
		      const struct ibv_wc *wc)
{
	if (ret == -EPROTO)
		snprintf(lg.err, sizeof(lg.err),
			 "%s %u bytes: status %d (%s), wr_id %" PRIu64
			 ", opcode %d, qp %#x, vendor_err %#x, byte_len %u",
			 op, len, wc->status, ibv_wc_status_str(wc->status),
			 wc->wr_id, wc->opcode, wc->qp_num, wc->vendor_err,
			 wc->byte_len);
	else
		snprintf(lg.err, sizeof(lg.err), "%s %u bytes: %s", op, len,
			 strerror(-ret));
	lg.err_at = rt_now();
}

/* one WRITE + READ back, checked; 0 or an error recorded in lg */
static int legit_round(struct rng *r, uint32_t seed)
{
	uint32_t len = 1 + below(r, 32 << 10);
	uint32_t off = below(r, LEGIT_LEN - len);
	struct ibv_wc wc;
	long bad;
	int ret;

	rt_fill(lg.src, len, seed);
	ret = rt_post_rdma(&lg.a, IBV_WR_RDMA_WRITE, lg.src_mr, lg.src, len,
			   (uintptr_t)lg.dst + off, lg.dst_mr->rkey, 1);
	if (!ret)
		ret = rt_poll(lg.a.cq, &wc);
	if (!ret && wc.status != IBV_WC_SUCCESS)
		ret = -EPROTO;
	if (ret) {
		legit_err("WRITE", len, ret, &wc);
		return ret;
	}
	memset(lg.rd, 0, len);
	ret = rt_post_rdma(&lg.a, IBV_WR_RDMA_READ, lg.rd_mr, lg.rd, len,
			   (uintptr_t)lg.dst + off, lg.dst_mr->rkey, 2);
	if (!ret)
		ret = rt_poll(lg.a.cq, &wc);
	if (!ret && wc.status != IBV_WC_SUCCESS)
		ret = -EPROTO;
	if (ret) {
		legit_err("READ", len, ret, &wc);
		return ret;
	}
	bad = rt_check(lg.dst + off, len, seed);
	if (bad < 0)
		bad = rt_check(lg.rd, len, seed);
	if (bad >= 0) {
		lg.mismatches++;
		snprintf(lg.err, sizeof(lg.err),
			 "data differs at byte %ld of %u", bad, len);
		return -EILSEQ;
	}
	lg.ops++;
	return 0;
}

static void *legit_thread(void *arg)
{
	struct rng r = { .s = (uintptr_t)arg };
	uint32_t seed = 1;

	prefault(256 << 10);

	while (!lg.stop) {
		if (legit_round(&r, seed++)) {
			lg.errors++;
			break;
		}
	}
	return NULL;
}

static int legit_start(void)
{
	lg.pd = ibv_alloc_pd(v.d.ctx);
	if (!lg.pd)
		return -errno;
	lg.src = mmap(NULL, 3 * LEGIT_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (lg.src == MAP_FAILED)
		return -errno;
	lg.dst = lg.src + LEGIT_LEN;
	lg.rd = lg.dst + LEGIT_LEN;
	lg.src_mr = ibv_reg_mr(lg.pd, lg.src, LEGIT_LEN, ACC_REMOTE);
	lg.dst_mr = ibv_reg_mr(lg.pd, lg.dst, LEGIT_LEN, ACC_REMOTE);
	lg.rd_mr = ibv_reg_mr(lg.pd, lg.rd, LEGIT_LEN, ACC_REMOTE);
	if (!lg.src_mr || !lg.dst_mr || !lg.rd_mr)
		return -errno;
	v.legit_rkey = lg.dst_mr->rkey;
	if (legit_qp(&lg.a) || legit_qp(&lg.b))
		return -errno;
	if (rt_rc_connect(&v.d, &lg.a, &lg.b))
		return -EIO;
	if (pthread_create(&lg.th, NULL, legit_thread,
			   (void *)(uintptr_t)rnd64(&h_rng)))
		return -EAGAIN;
	lg.running = true;
	return 0;
}

static void legit_stop(void)
{
	if (!lg.running)
		return;
	lg.stop = true;
	pthread_join(lg.th, NULL);
	lg.running = false;
}

/* ------------------------------------------------------ directed checks */

/* drain the wire until q is idle (its checked op done) or the time is up */
static bool wait_idle(struct fqp *q, double secs)
{
	double end = rt_now() + secs;

	do {
		rx_drain();
		if (q->v.kind == V_NONE)
			return true;
		usleep(200);
	} while (rt_now() < end);
	return false;
}

/* drain the wire until q has more than mark answers */
static bool wait_answer(struct fqp *q, unsigned long mark, double secs)
{
	double end = rt_now() + secs;

	do {
		rx_drain();
		if (q->answers > mark)
			return true;
		usleep(200);
	} while (rt_now() < end);
	return false;
}

static int post_one_recv(struct fqp *q, void *addr, uint32_t len,
			 uint64_t id)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)addr, .length = len,
		.lkey = mrs[MK_PIN].lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = id, .sg_list = &sge,
				  .num_sge = 1 }, *bad;

	return ibv_post_recv(q->qp, &wr, &bad);
}

/* a valid WRITE then READ (with dup replays) through the wire, checked */
static bool write_read(struct fqp *q, uint32_t len, int replays,
		       unsigned long *replayed)
{
	unsigned long ok = st.valid_ok, bad = st.valid_bad;
	unsigned long r0 = st.replays_ok;

	send_valid_write(q, 8, len, junk + 4321, "check");
	if (!wait_idle(q, 10) || st.valid_ok != ok + 1)
		return false;
	send_valid_read(q, 8, len, replays, "check");
	if (!wait_idle(q, 10) || st.valid_ok != ok + 2 ||
	    st.valid_bad != bad)
		return false;
	if (replayed)
		*replayed = st.replays_ok - r0;
	return true;
}

static void check_icrc(void)
{
	struct fqp *q = &qps[0];
	uint8_t *buf = (uint8_t *)(uintptr_t)mrs[MK_PIN].addr + (128 << 10);
	long long c0, c1;
	struct ibv_wc wc;
	unsigned long mark;
	struct pkt p;
	bool ok;

	/* a SEND built here, ICRC and all, lands in the posted receive */
	memset(buf, 0, 4096);
	post_one_recv(q, buf, 4096, 0xd1);
	c0 = rt_counter("rcvd_pkts");
	mark = q->answers;
	pkt_init(&p, T_RC + OP_SEND_ONLY, q->qpn, q->epsn);
	p.ackreq = true;
	p.why = "icrc-good";
	pkt_payload(&p, junk + 100, 201);
	send_pkt(&p);
	ok = !rt_poll_for(v.rcq, &wc, 10) && wc.wr_id == 0xd1 &&
	     wc.status == IBV_WC_SUCCESS && wc.byte_len == 201 &&
	     !memcmp(buf, junk + 100, 201);
	ok = ok && wait_answer(q, mark, 5) && q->last_op == OP_ACK &&
	     q->last_psn == p.psn;
	c1 = rt_counter("rcvd_pkts");
	note("valid SEND: rcvd_pkts %lld -> %lld, receive %s, answer %s psn %#x",
	     c0, c1, ok ? "completed with the data" : "MISSING",
	     op_name(q->last_op), q->last_psn);
	tap(ok && c1 == c0 + 1, "icrc_valid_send_accepted");

	/* one bit of the ICRC flipped: dropped, nothing lands */
	memset(buf, 0, 4096);
	post_one_recv(q, buf, 4096, 0xd2);
	c0 = rt_counter("rcvd_pkts");
	mark = q->answers;
	pkt_init(&p, T_RC + OP_SEND_ONLY, q->qpn, q->epsn);
	p.ackreq = true;
	p.why = "icrc-flipped";
	p.icrc = ICRC_FLIP;
	pkt_payload(&p, junk + 300, 64);
	send_pkt(&p);
	ok = rt_poll_for(v.rcq, &wc, 1) == -ETIMEDOUT &&
	     !wait_answer(q, mark, 0.5);
	c1 = rt_counter("rcvd_pkts");
	note("flipped ICRC bit: rcvd_pkts %lld -> %lld, %s", c0, c1,
	     ok ? "no receive, no answer" : "it got through");
	ok = ok && c1 == c0;
	/* the same packet with its ICRC right gets through */
	p.icrc = ICRC_GOOD;
	p.why = "icrc-fixed";
	send_pkt(&p);
	ok = ok && !rt_poll_for(v.rcq, &wc, 10) && wc.wr_id == 0xd2 &&
	     wc.status == IBV_WC_SUCCESS && !memcmp(buf, junk + 300, 64);
	ok = ok && wait_answer(q, mark, 5);
	tap(ok, "icrc_flipped_bit_dropped");
}

static void check_write_read(void)
{
	struct fqp *q = &qps[0];
	unsigned long replayed = 0;
	bool ok = write_read(q, 2 * q->mtu + 17, 2, &replayed);

	tap(ok, "valid_write_and_read_through_the_wire");
	tap(ok && replayed == 2,
	    "duplicate_read_replayed (%lu of 2 replays checked)", replayed);
}

static void check_zero_length_write(void)
{
	struct fqp *q = &qps[0];
	unsigned long mark = q->answers;
	struct pkt p;
	bool ok;
	int s;

	/* without payload: a valid no-op, ACKed */
	pkt_init(&p, T_RC + OP_WRITE_ONLY, q->qpn, q->epsn);
	p.ackreq = true;
	p.rkey = 0x12345678;
	p.why = "zero-length";
	send_pkt(&p);
	ok = wait_answer(q, mark, 5) && q->last_op == OP_ACK &&
	     q->last_syn < 0x20;
	note("zero-length WRITE without payload: %s syndrome %#x",
	     op_name(q->last_op), q->last_syn);
	if (avoid_zlwrite) {
		tap_skip("zero_length_write_with_payload_naked",
			 "RXE_FUZZ_AVOID=zlwrite");
		return;
	}
	/* with a payload: an invalid request (it crashes stock 6.1) */
	mark = q->answers;
	pkt_init(&p, T_RC + OP_WRITE_ONLY, q->qpn, q->epsn);
	p.ackreq = true;
	p.va = mrs[MK_VALID].addr + q->slice;
	p.rkey = mrs[MK_VALID].rkey;
	p.dmalen = 0;
	p.why = "zero-length-with-payload";
	pkt_payload(&p, junk, 64);
	send_pkt(&p);
	ok = ok && wait_answer(q, mark, 5) && q->last_op == OP_ACK &&
	     q->last_syn == 0x61 && q->last_psn == p.psn;
	note("zero-length WRITE with 64 bytes: %s syndrome %#x psn %#x",
	     op_name(q->last_op), q->last_syn, q->last_psn);
	usleep(100000);
	s = qp_state(q);
	note("then the QP is in state %d (%d = ERR)", s, IBV_QPS_ERR);
	tap(ok && s == IBV_QPS_ERR, "zero_length_write_with_payload_naked");
	recycle(q);
}

/* every opcode 0-255, with plausible headers, at an RC, UC and UD QP */
static void check_sweep(void)
{
	struct fqp *tq[3] = { &qps[1], &qps[10], &qps[14] };
	int op, t, k, fails = 0, sent = 0;
	struct pkt p;

	for (op = 0; op < 256; op++) {
		for (t = 0; t < 3; t++) {
			struct fqp *q = tq[t];

			pkt_init(&p, op, q->qpn, q->epsn);
			p.why = "sweep";
			p.ackreq = true;
			if (!opmask[op])
				p.hdrs = below(&g_rng, 256);
			p.va = mrs[MK_PIN].addr + 4096;
			p.rkey = mrs[MK_PIN].rkey;
			p.dmalen = 16;
			p.atm_va = mrs[MK_PIN].addr + 8192;
			p.atm_rkey = mrs[MK_PIN].rkey;
			p.qkey = q->qkey;
			p.aeth = 0x1f000000;
			p.ieth = mrs[MK_PIN].rkey;
			pkt_payload(&p, junk + op * 16, 16);
			send_pkt(&p);
			sent++;
			rx_drain();
			if (!(op & 15) || q->need_check) {
				poll_cqs();
				if (q->type != IBV_QPT_UD &&
				    qp_state(q) != IBV_QPS_RTS)
					recycle(q);
				post_recvs(q, 16);
			}
		}
	}
	usleep(200000);
	rx_drain();
	poll_cqs();
	for (k = 0; k < NQ; k++)
		if (qp_state(&qps[k]) < 0)
			fails++;
	for (t = 0; t < 3; t++)
		recycle(tq[t]);
	note("opcode sweep: %d packets, %d QPs not queryable", sent, fails);
	tap(!fails && sent == 768 && write_read(&qps[0], 100, 0, NULL),
	    "opcode_sweep_0_255 (then a checked WRITE+READ works)");
}

/*
 * RXE_FUZZ_REPRO=NAME: one answer to a request of rc0, sent by hand, then
 * its completion and the QP's state; see Documentation/fuzzing.rst.
 */
/*
 * RXE_FUZZ_REPRO=stale-probe-ack: a checked FETCH_ADD on rc1 whose probe
 * follows two generator packets not yet answered: a zero-length WRITE
 * with AckReq at the PSN expected, a FETCH_ADD into the pinned MR at the
 * next one. The responder executes both; the probe and the checked atomic
 * are duplicates. The WRITE's ACK has the probe's PSN and the generator's
 * ATOMIC ACK the checked atomic's: taken for theirs, they make "atomic
 * returned a wrong original" (the pinned MR's word, not the slice's).
 */
static void repro_stale_probe_ack(void)
{
	const char *name = "stale-probe-ack";
	unsigned long bad = st.valid_bad, ok = st.valid_ok;
	unsigned long lost = st.valid_lost + st.probes_lost;
	volatile uint64_t *pin = (volatile uint64_t *)(uintptr_t)
				  mrs[MK_PIN].addr;
	struct fqp *q = &qps[1];
	double end;
	struct pkt p;
	uint32_t x;

	recycle(q);	/* the responder expects q->epsn */
	x = q->epsn;
	*pin = 0x2222222222222222ull;
	*(volatile uint64_t *)valid_mem(q, 0) = 0x1111111111111111ull;
	w.verbose = true;
	pkt_init(&p, T_RC + OP_WRITE_ONLY, q->qpn, x);
	p.ackreq = true;
	p.why = "fuzz";
	send_pkt(&p);
	pkt_init(&p, T_RC + OP_FETCH_ADD, q->qpn, x + 1);
	p.atm_va = mrs[MK_PIN].addr;
	p.atm_rkey = mrs[MK_PIN].rkey;
	p.swap_add = 1;
	p.ackreq = true;
	p.why = "fuzz";
	send_pkt(&p);
	memset(&q->v, 0, sizeof(q->v));
	q->v.next = V_ATOMIC;
	q->v.noff = 0;
	send_probe(q);
	end = rt_now() + 3;
	while (q->v.kind != V_NONE && rt_now() < end)
		rx_drain();
	w.verbose = false;
	vop_end(q, false, NULL);
	note("repro %s: generator's WRITE at %#x and FETCH_ADD at %#x, then a checked FETCH_ADD: %lu wrong, %lu ok, %lu lost or not confirmed",
	     name, x, (x + 1) & PSN_MASK, st.valid_bad - bad,
	     st.valid_ok - ok, st.valid_lost + st.probes_lost - lost);
	hev_dump(q);
}

/*
 * RXE_FUZZ_REPRO=dup-atomic-on-read: on rc1, an 8-byte READ at PSN X,
 * then a FETCH_ADD at X: a duplicate at a READ's PSN, of another kind.
 * Not a duplicate of the READ: dropped (patch 0036), not answered with
 * an ATOMIC ACK carrying the READ's address as its original.
 */
static void repro_dup_atomic_on_read(void)
{
	const char *name = "dup-atomic-on-read";
	struct fqp *q = &qps[1];
	uint64_t va = mrs[MK_VALID].addr + q->slice;
	unsigned long n;
	double end;
	struct pkt p;
	uint32_t x;

	recycle(q);
	x = q->epsn;
	w.verbose = true;
	send_read_req(q, x, 0, 8, name);
	n = q->answers;
	end = rt_now() + 2;
	while (q->answers == n && rt_now() < end)
		rx_drain();
	note("repro %s: READ at %#x of %#" PRIx64 ": answered %s", name, x,
	     va, q->answers == n ? "not" : op_name(q->last_op));
	pkt_init(&p, T_RC + OP_FETCH_ADD, q->qpn, x);
	p.atm_va = va + 8;
	p.atm_rkey = mrs[MK_VALID].rkey;
	p.swap_add = 1;
	p.ackreq = true;
	p.why = name;
	send_pkt(&p);
	n = q->answers;
	end = rt_now() + 1;
	while (q->answers == n && rt_now() < end)
		rx_drain();
	w.verbose = false;
	if (q->answers == n)
		note("repro %s: FETCH_ADD at %#x: no answer (dropped: right)",
		     name, x);
	else
		note("repro %s: FETCH_ADD at %#x: answered %s psn %#x%s",
		     name, x, op_name(q->last_op), q->last_psn,
		     q->last_op == T_RC + OP_ATOMIC_ACK ?
		     " (wrong: a READ replayed as an atomic)" : "");
	hev_dump(q);
}

static void repro(const char *name)
{
	struct fqp *q = &qps[0];
	uint8_t *buf = (uint8_t *)(uintptr_t)mrs[MK_PIN].addr + (160 << 10);
	struct ibv_sge sge = { .addr = (uintptr_t)buf, .length = 256,
			       .lkey = mrs[MK_PIN].lkey };
	struct ibv_send_wr wr = { .wr_id = 0x5250, .sg_list = &sge,
				  .num_sge = 1,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;
	struct ibv_qp_attr a = { .timeout = 18 };
	bool read = strstr(name, "read");

	if (!strcmp(name, "stale-probe-ack")) {
		repro_stale_probe_ack();
		return;
	}
	if (!strcmp(name, "dup-atomic-on-read")) {
		repro_dup_atomic_on_read();
		return;
	}
	memset(buf, 0xa5, 3 * 4096);
	double end = rt_now() + 10;
	struct ibv_wc wc;
	struct pkt p;
	int ret;

	/* 1 s transport timeout: time to answer by hand */
	ibv_modify_qp(q->qp, &a, IBV_QP_TIMEOUT);
	caught.q = q;
	wr.opcode = read ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
	wr.wr.rdma.remote_addr = 0x10000;
	wr.wr.rdma.rkey = 0x1234;
	if (!strcmp(name, "reset-mid-read"))
		sge.length = 3 * q->mtu;
	ret = ibv_post_send(q->qp, &wr, &bad);
	while (!ret && !caught.n && rt_now() < end)
		rx_drain();
	note("repro %s: %s posted, request %s psn %#x seen", name,
	     read ? "RDMA READ" : "RDMA WRITE", op_name(caught.op),
	     caught.psn);
	if (!caught.n)
		return;
	if (!strcmp(name, "reset-mid-read")) {
		/*
		 * the first packet of a 3-packet READ response, then the QP
		 * goes through RESET to RTS (a new connection) and posts an
		 * RDMA WRITE, which is ACKed properly
		 */
		pkt_init(&p, T_RC + OP_READ_RESP_FIRST, q->qpn, caught.psn);
		p.aeth = 0x1f000000;
		p.why = name;
		pkt_payload(&p, junk, q->mtu);
		send_pkt(&p);
		usleep(200000);
		recycle(q);
		a.timeout = 18;
		ibv_modify_qp(q->qp, &a, IBV_QP_TIMEOUT);
		poll_cqs();
		caught.n = 0;
		wr.opcode = IBV_WR_RDMA_WRITE;
		sge.length = 256;
		ret = ibv_post_send(q->qp, &wr, &bad);
		end = rt_now() + 10;
		while (!ret && !caught.n && rt_now() < end)
			rx_drain();
		note("repro %s: after RESET..RTS, RDMA WRITE posted, request %s psn %#x seen",
		     name, op_name(caught.op), caught.psn);
		if (!caught.n)
			return;
		pkt_init(&p, T_RC + OP_ACK, q->qpn, caught.psn);
		p.aeth = 0x1f000000;
	} else if (!strcmp(name, "rsvd-aeth")) {
		pkt_init(&p, T_RC + OP_ACK, q->qpn, caught.psn);
		p.aeth = 0x40000000;
	} else if (!strcmp(name, "read-middle-first")) {
		pkt_init(&p, T_RC + OP_READ_RESP_MIDDLE, q->qpn, caught.psn);
		pkt_payload(&p, junk, 256);
	} else if (!strcmp(name, "read-nak-aeth")) {
		pkt_init(&p, T_RC + OP_READ_RESP_ONLY, q->qpn, caught.psn);
		p.aeth = 0x60000000;
		pkt_payload(&p, junk, 256);
	} else if (!strcmp(name, "atomic-ack-for-write")) {
		pkt_init(&p, T_RC + OP_ATOMIC_ACK, q->qpn, caught.psn);
		p.aeth = 0x1f000000;
	} else if (!strcmp(name, "ack-for-read")) {
		pkt_init(&p, T_RC + OP_ACK, q->qpn, caught.psn);
		p.aeth = 0x1f000000;
	} else {
		note("repro %s: unknown; rsvd-aeth, read-middle-first, read-nak-aeth, atomic-ack-for-write, ack-for-read, reset-mid-read, stale-probe-ack, dup-atomic-on-read",
		     name);
		return;
	}
	p.why = name;
	w.verbose = true;
	send_pkt(&p);
	w.verbose = false;
	ret = rt_poll_for(v.scq, &wc, 10);
	note("repro %s: %s, QP state %d (6 = ERR)%s", name, ret ?
	     "no completion" : ibv_wc_status_str(wc.status), qp_state(q),
	     read ? (buf[0] == 0xa5 && buf[255] == 0xa5 ?
		     "; the READ's buffer is untouched" :
		     "; the READ's buffer was written") : "");
	caught.q = NULL;
}

/* ---------------------------------------------------------- teardown */

static int rdma_objects_left(void)
{
	char cmd[160], line[512];
	int n = 0;
	FILE *f;

	f = popen("for r in qp cq mr pd; do rdma resource show $r; done 2>&1",
		  "r");
	if (!f)
		return -1;
	snprintf(cmd, sizeof(cmd), "pid %d ", getpid());
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, cmd)) {
			n++;
			printf("# left: %s", line);
		}
	}
	pclose(f);
	return n;
}

static void teardown_checks(void)
{
	int i, qfail = 0, ofail = 0, left;

	for (i = 0; i < NQ; i++) {
		if (qps[i].qp && ibv_destroy_qp(qps[i].qp)) {
			note("%s: ibv_destroy_qp failed", qps[i].name);
			qfail++;
		}
		qps[i].qp = NULL;
	}
	if (lg.a.qp && ibv_destroy_qp(lg.a.qp))
		qfail++;
	if (lg.b.qp && ibv_destroy_qp(lg.b.qp))
		qfail++;
	tap(!qfail, "qps_destroyed (%d failures)", qfail);

	if (v.srq && ibv_destroy_srq(v.srq))
		ofail++;
	if (v.scq && ibv_destroy_cq(v.scq))
		ofail++;
	if (v.rcq && ibv_destroy_cq(v.rcq))
		ofail++;
	if (lg.a.cq && ibv_destroy_cq(lg.a.cq))
		ofail++;
	if (lg.b.cq && ibv_destroy_cq(lg.b.cq))
		ofail++;
	if (v.mw && ibv_dealloc_mw(v.mw))
		ofail++;
	if (v.mw2 && ibv_dealloc_mw(v.mw2))
		ofail++;
	for (i = 0; i < NMR; i++) {
		if (mrs[i].mr && ibv_dereg_mr(mrs[i].mr)) {
			note("MR %s: ibv_dereg_mr failed", mrs[i].name);
			ofail++;
		}
		if (mrs[i].usable)
			rt_mem_unmap(&mrs[i].mem);
	}
	if (lg.src_mr && ibv_dereg_mr(lg.src_mr))
		ofail++;
	if (lg.dst_mr && ibv_dereg_mr(lg.dst_mr))
		ofail++;
	if (lg.rd_mr && ibv_dereg_mr(lg.rd_mr))
		ofail++;
	if (lg.pd && ibv_dealloc_pd(lg.pd))
		ofail++;
	if (v.d.pd && ibv_dealloc_pd(v.d.pd))
		ofail++;
	v.d.pd = NULL;
	if (v.d.ctx && ibv_close_device(v.d.ctx))
		ofail++;
	v.d.ctx = NULL;
	tap(!ofail, "srq_cqs_mw_mrs_pds_freed_device_closed (%d failures)",
	    ofail);
	left = rdma_objects_left();
	tap(left == 0, "no_rdma_resources_left (%d of this process)", left);
}

/* ---------------------------------------------------------------- main */

/* a crash of this program: where (addr2line -e roce_fuzz OFFSET) */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	void *bt[32];
	char m[128];
	int n, l;

	(void)uc;
	l = snprintf(m, sizeof(m), "# roce_fuzz: signal %d at address %p, packet %lu:\n",
		     sig, si->si_addr, w.pkts);
	if (write(2, m, l) < 0)
		_exit(128 + sig);
	n = backtrace(bt, 32);
	backtrace_symbols_fd(bt, n, 2);
	_exit(128 + sig);
}

static void fail_rest(const char *why)
{
	while (tap_n < NCHECKS)
		tap(false, "not_reached # %s", why);
}

/* is anything mapped in the ODP MR's hole now? */
static const char *hole_state(void)
{
	uint64_t lo = mrs[MK_ODP].addr + ODP_HOLE_OFF, hi = lo + ODP_HOLE_LEN;
	static char line[256];
	unsigned long a, b;
	FILE *f;

	if (!mrs[MK_ODP].usable)
		return "no ODP MR";
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return "?";
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo) {
			fclose(f);
			line[strcspn(line, "\n")] = 0;
			return line;
		}
	}
	fclose(f);
	return "unmapped";
}

static void stats(double secs)
{
	note("%lu packets in %.1f s (%.0f/s): %lu fuzzed, %lu checked ops sent, %lu answers to the QPs' requests",
	     w.pkts, secs, w.pkts / (secs > 0 ? secs : 1), st.fuzz,
	     st.valid_sent, st.req_answered);
	note("by transport: RC %lu, UC %lu, RD %lu, UD %lu, other %lu",
	     st.by_class[0], st.by_class[1], st.by_class[2], st.by_class[3],
	     st.by_class[4] + st.by_class[5] + st.by_class[6] +
	     st.by_class[7]);
	note("checked ops: %lu ok, %lu wrong, %lu lost (QP errors), %lu READ replays; %lu probes, %lu unanswered",
	     st.valid_ok, st.valid_bad, st.valid_lost, st.replays_ok,
	     st.probes, st.probes_lost);
	note("device answers: %lu ACK, %lu seq NAK, %lu RNR NAK, NAK 61/62/63/64: %lu/%lu/%lu/%lu, %lu READ responses, %lu atomic ACKs, %lu stray",
	     st.acks, st.seq, st.rnr, st.naks[1], st.naks[2], st.naks[3],
	     st.naks[4], st.read_resp, st.atomic_acks, st.stray);
	note("rx: %lu RoCE packets (%lu bad ICRC), %lu other frames; the QPs' requests seen: %lu",
	     w.rx_roce, w.rx_icrc_bad, w.rx_other, st.req_seen);
	note("QP recycles %lu, wanderer moves %lu ok / %lu refused; completions %lu ok, %lu error; recvs posted %lu, sends posted %lu",
	     st.recycles, st.wander_ok, st.wander_fail, st.wc_ok, st.wc_err,
	     st.recv_posted, st.send_posted);
	note("MRs: %lu revokes, %lu re-registrations, %lu punched, %lu ODP pages discarded; the ODP hole: %s",
	     st.revokes, st.rereg, st.punches, st.discards, hole_state());
}

int main(int argc, char **argv)
{
	const char *dev = rt_env("RXE_FUZZ_DEV", "rxefz");
	const char *ifname = rt_env("RXE_FUZZ_IF", "rxefz1");
	const char *peer = rt_env("RXE_FUZZ_PEER_IF", "rxefz0");
	const char *avoid = rt_env("RXE_FUZZ_AVOID", "");
	uint64_t seed;
	double t0, t1, deadline;
	unsigned long i = 0, next_note;
	int k, ret, bad_states = 0;
	struct pkt p;
	bool ok, lg_reported = false;

	if (argc > 1 && !strcmp(argv[1], "--plan")) {
		printf("%d\n", NCHECKS);
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	prefault(512 << 10);
	{
		struct sigaction sa = { .sa_sigaction = on_fault,
					.sa_flags = SA_SIGINFO };

		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		sigaction(SIGABRT, &sa, NULL);
	}
	seed = getenv("RXE_FUZZ_SEED") ?
	       strtoull(getenv("RXE_FUZZ_SEED"), NULL, 0) :
	       (uint64_t)time(NULL) << 20 ^ getpid();
	pkts_target = strtoul(rt_env("RXE_FUZZ_PKTS", "20000"), NULL, 0);
	/* stop generating after this many seconds (fuzz_test.sh sets it) */
	deadline = atof(rt_env("RXE_FUZZ_DEADLINE", "0"));
	if (deadline > 0)
		deadline += rt_now();
	avoid_zlwrite = strstr(avoid, "zlwrite");
	avoid_comperr = strstr(avoid, "comperr");
	w.kmsg = atoi(rt_env("RXE_FUZZ_KMSG", "0")) > 0;
	/* 1: on the console too (a panic's last words); 2: the log only */
	w.kmsg_level = atoi(rt_env("RXE_FUZZ_KMSG", "0")) > 1 ? 7 : 3;
	w.verbose = atoi(rt_env("RXE_FUZZ_VERBOSE", "0")) > 0;
	w.kmsg_fd = w.kmsg ? open("/dev/kmsg", O_WRONLY) : -1;
	if (w.kmsg)
		note("each packet is logged to /dev/kmsg (fd %d) at level %d",
		     w.kmsg_fd, w.kmsg_level);
	note("roce_fuzz: seed %#" PRIx64 ", %lu packets, device %s, wire %s -> %s%s%s",
	     seed, pkts_target, dev, ifname, peer,
	     *avoid ? ", avoiding " : "", avoid);
	note("replay: RXE_FUZZ_SEED=%#" PRIx64 " RXE_FUZZ_PKTS=%lu%s%s",
	     seed, pkts_target, *avoid ? " RXE_FUZZ_AVOID=" : "", avoid);
	g_rng.s = seed;
	r_rng.s = seed ^ 0x5265737030000000ull;
	h_rng.s = seed ^ 0x486f757365000000ull;
	{
		struct rng jr = { .s = seed ^ 0x4a756e6b00000000ull };

		for (k = 0; k < (int)sizeof(junk); k += 8) {
			uint64_t x = rnd64(&jr);

			memcpy(junk + k, &x, 8);
		}
	}
	init_opcodes();
	crc_init();
	inet_pton(AF_INET, rt_env("RXE_FUZZ_PEER_IP", "198.18.2.2"), &w.saddr);
	inet_pton(AF_INET, rt_env("RXE_FUZZ_LOCAL_IP", "198.18.2.1"),
		  &w.daddr);
	w.saddr = ntohl(w.saddr);
	w.daddr = ntohl(w.daddr);
	setenv("RXE_DEV", dev, 1);

	/* the device (its IPv4 GID may take a moment), the wire, the targets */
	for (k = 0; k < 100; k++) {
		ret = rt_dev_open(&v.d);
		if (!ret)
			break;
		usleep(100000);
	}
	if (ret) {
		tap(false, "setup: device %s: %s", dev, strerror(-ret));
		fail_rest("no setup");
		return 1;
	}
	ret = wire_open(ifname, peer);
	if (!ret)
		ret = setup_mrs();
	if (!ret)
		ret = setup_qps();
	if (!ret)
		prefault(0);
	if (ret) {
		tap(false, "setup: wire, MRs or QPs: %s", strerror(-ret));
		fail_rest("no setup");
		return 1;
	}
	setup_mw(&qps[0]);
	if (!v.have_revoke)
		note("no revoke uAPI (stock rxe?): no revocable MRs");
	for (k = 0; k < NQ; k++)
		note("QP %-10s qpn %#06x state %d mtu %4u remote qpn %#x, expected psn %#x",
		     qps[k].name, qps[k].qpn, qps[k].want, qps[k].mtu,
		     qps[k].rqpn, qps[k].epsn);
	tap(true, "setup (%s on %s, peer %s, %d QPs, %s)", dev, peer, ifname,
	    NQ, v.have_revoke ? "with revocable and ODP MRs" :
	    "without revoke");

	if (getenv("RXE_FUZZ_REPRO")) {
		repro(getenv("RXE_FUZZ_REPRO"));
		teardown_checks();
		return 0;
	}
	check_icrc();
	check_write_read();
	check_zero_length_write();
	check_sweep();

	/* the fuzz run, with the legit traffic beside it */
	ret = legit_start();
	if (ret)
		note("legit traffic: cannot start: %s", strerror(-ret));
	/*
	 * ODP: unmap a hole inside the registered range, once every queue
	 * of the process is mapped. Whatever is mapped there later is what
	 * the ODP MR reaches (a CQ ring mapped into it got the peer's data).
	 */
	if (mrs[MK_ODP].usable && !early_hole)
		munmap((char *)mrs[MK_ODP].mem.addr + ODP_HOLE_OFF,
		       ODP_HOLE_LEN);
	note("the ODP MR's hole at %#" PRIx64 ": %s",
	     mrs[MK_ODP].addr + ODP_HOLE_OFF, hole_state());
	t0 = rt_now();
	next_note = w.pkts + pkts_target / 10;
	while (w.pkts < pkts_target) {
		i++;
		if (!pct(&g_rng, 12) || !valid_step()) {
			gen_fuzz(&p);
			send_pkt(&p);
		}
		rx_drain();
		if (!(i & 31))
			housekeeping(i);
		if (w.pkts >= next_note) {
			next_note = w.pkts + pkts_target / 10;
			note("%lu packets, %.0f s, %lu checked ops ok, %lu recycles, legit %lu rounds",
			     w.pkts, rt_now() - t0, st.valid_ok, st.recycles,
			     lg.ops);
		}
		if (deadline > 0 && rt_now() > deadline) {
			note("time bound (RXE_FUZZ_DEADLINE) reached after %lu packets",
			     w.pkts);
			break;
		}
		if (lg.errors && !lg_reported) {
			lg_reported = true;
			note("legit traffic failed after %lu packets: %s",
			     w.pkts, lg.err);
		}
	}
	t1 = rt_now();
	for (k = 0; k < 10; k++) {
		usleep(50000);
		rx_drain();
		poll_cqs();
	}
	stats(t1 - t0);
	tap(w.pkts >= pkts_target && !w.send_err,
	    "fuzz_run (%lu packets, seed %#" PRIx64 ", %lu send errors)",
	    w.pkts, seed, w.send_err);
	tap(st.valid_ok >= 10 && !st.valid_bad,
	    "checked_traffic_during_fuzz (%lu ok, %lu wrong)", st.valid_ok,
	    st.valid_bad);

	legit_stop();
	ok = lg.ops > 0 && !lg.errors && !lg.mismatches;
	if (ok && legit_round(&h_rng, 0xfeed))
		ok = false;
	if (!ok)
		note("legit traffic: %s", lg.err);
	tap(ok, "legit_traffic_kept_working (%lu rounds of WRITE+READ, %lu errors)",
	    lg.ops, lg.errors);
	tap(w.rx_roce > 0 && !w.rx_icrc_bad,
	    "device_packets_carry_valid_icrc (%lu packets)", w.rx_roce);

	for (k = 0; k < 5; k++)
		recycle(&qps[k]);
	tap(write_read(&qps[0], 3000, 1, NULL) &&
	    write_read(&qps[2], 9000, 0, NULL),
	    "wire_works_after_fuzz");

	for (k = 0; k < NQ; k++) {
		int s = qp_state(&qps[k]);
		bool fixed = qps[k].want == IBV_QPS_RESET ||
			     qps[k].want == IBV_QPS_INIT ||
			     qps[k].want == IBV_QPS_ERR;

		note("QP %-10s state %d (kept in %d), %lu packets aimed at it, %lu recycles",
		     qps[k].name, s, qps[k].want, qps[k].fuzzed,
		     qps[k].recycles);
		if (s < IBV_QPS_RESET || s > IBV_QPS_ERR ||
		    (fixed && s != (int)qps[k].want))
			bad_states++;
	}
	tap(!bad_states && !st.unexpected,
	    "qp_states_defined (%d bad, %lu unexpected moves)", bad_states,
	    st.unexpected);
	teardown_checks();
	if (w.kmsg_fd >= 0)
		close(w.kmsg_fd);
	close(w.fd);
	return tap_failed ? 1 : 0;
}
