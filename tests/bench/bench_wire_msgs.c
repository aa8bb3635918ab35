/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_wire_msgs.c - the message layers above the SecretConnection, per
 * operation, on this machine: what one peer costs the daemon's one thread
 * after its handshake.
 *
 *  1. NodeInfo: decode a peer's DefaultNodeInfo (the transcript's shape,
 *     10 channels) and run every upstream check on it;
 *  2. PEX: encode and decode a full 250-address reply (3 IPv4 : 1 IPv6);
 *  3. MConnection: that reply through mconn_send (split into 1024-byte
 *     packets) and mconn_read (joined), and one ping answered with a pong;
 *  4. the memory a connected peer's message state holds.
 *
 * Each figure is the median of 9 batches of thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID), divided by the batch size. Upstream publishes
 * no figure for these steps (REFERENCE.md section 7 has the handshake
 * only), so none is printed beside them. Output: `bench: <name> <value> <unit>`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/mconn.h"
#include "wire/nodeinfo.h"
#include "wire/pex.h"

#define BATCHES 9

static volatile uint64_t sink;

static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void machine(const char *name, double value, const char *unit)
{
	printf("bench: %s %.*f %s\n", name, value >= 100 ? 0 : 2, value, unit);
}

/* Median ns per call of fn over BATCHES batches of n calls. */
static double per_call(int (*fn)(void *), void *arg, int n)
{
	double t[BATCHES];
	for (int b = 0; b < BATCHES; b++) {
		int64_t start = cpu_ns();
		for (int i = 0; i < n; i++)
			if (fn(arg) < 0) {
				fprintf(stderr, "bench_wire_msgs: an operation failed\n");
				exit(1);
			}
		t[b] = (double)(cpu_ns() - start) / n;
	}
	qsort(t, BATCHES, sizeof(t[0]), cmp_double);
	return t[BATCHES / 2];
}

/* ---- NodeInfo ------------------------------------------------------------ */

struct ni_case {
	struct nodeinfo ours;
	uint8_t body[512];
	size_t len;
	uint8_t peer_id[MUKAN_ID_LEN];
};

static int ni_decode_check(void *arg)
{
	struct ni_case *c = arg;
	struct nodeinfo theirs;
	enum wire_error err;
	if (nodeinfo_decode(c->body, c->len, &theirs, &err) < 0)
		return -1;
	int rc = nodeinfo_check(&c->ours, &theirs, c->peer_id, &err, NULL, 0);
	sink += theirs.n_channels;
	nodeinfo_free(&theirs);
	return rc;
}

static int setup_nodeinfo(struct ni_case *c)
{
	static const uint8_t channels[] = { 0x40, 0x20, 0x21, 0x22, 0x23,
					    0x30, 0x38, 0x60, 0x61, 0x00 };
	struct nodeinfo_params p;
	nodeinfo_params_default(&p);
	memset(p.id, 0x56, sizeof(p.id));
	p.listen_addr = "tcp://192.0.2.10:26656";
	p.network = "mukan-testnet";
	p.version = "0.34.35";
	p.moniker = "bench-dialer";
	if (nodeinfo_build(&c->ours, &p, NULL, 0) < 0)
		return -1;
	memset(c->peer_id, 0xc6, sizeof(c->peer_id));
	memcpy(p.id, c->peer_id, sizeof(p.id));
	p.listen_addr = "tcp://198.51.100.7:26656";
	p.moniker = "mukan-seed-b";
	p.tx_index = "off";
	p.rpc_address = "tcp://0.0.0.0:26657";
	p.channels = channels;
	p.n_channels = sizeof(channels);
	struct nodeinfo peer;
	if (nodeinfo_build(&peer, &p, NULL, 0) < 0)
		return -1;
	ssize_t n = nodeinfo_encode(&peer, c->body, sizeof(c->body));
	nodeinfo_free(&peer);
	if (n < 2)
		return -1;
	/* The body after its one- or two-byte length. */
	size_t hdr = c->body[0] & 0x80 ? 2 : 1;
	memmove(c->body, c->body + hdr, (size_t)n - hdr);
	c->len = (size_t)n - hdr;
	return 0;
}

/* ---- PEX and MConnection ------------------------------------------------- */

struct pex_case {
	struct netaddr addrs[PEX_MAX_ADDRS];
	uint8_t msg[PEX_MAX_MSG_SIZE];
	size_t len;
	struct mconn tx, rx;
};

static void fill_addrs(struct netaddr *a, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < n; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].has_id = true;
		for (size_t k = 0; k < MUKAN_ID_LEN; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			a[i].id[k] = (uint8_t)(x >> 56);
		}
		if (i % 4 == 3) {
			a[i].a.family = MUKAN_AF_INET6;
			a[i].a.ip[0] = 0x26;
			a[i].a.ip[1] = 0x06;
			for (int k = 2; k < 16; k++)
				a[i].a.ip[k] = (uint8_t)(x >> (k * 3));
		} else {
			a[i].a.family = MUKAN_AF_INET;
			a[i].a.ip[0] = (uint8_t)(1 + i % 200);
			a[i].a.ip[1] = (uint8_t)(x >> 8);
			a[i].a.ip[2] = (uint8_t)(x >> 16);
			a[i].a.ip[3] = (uint8_t)(1 + (x >> 24) % 250);
		}
		a[i].a.port = 26656;
	}
}

static int pex_encode(void *arg)
{
	struct pex_case *c = arg;
	ssize_t n = pex_encode_addrs(c->addrs, PEX_MAX_ADDRS, c->msg, sizeof(c->msg));
	sink += (uint64_t)n;
	return n > 0 ? 0 : -1;
}

static int pex_decode_one(void *arg)
{
	struct pex_case *c = arg;
	struct pex_msg m;
	enum wire_error err;
	if (pex_decode(c->msg, c->len, &m, &err) < 0 || m.n_addrs != PEX_MAX_ADDRS)
		return -1;
	sink += m.n_addrs;
	pex_msg_free(&m);
	return 0;
}

/* The reply through MConnection: split into packets, then read and joined. */
static int mconn_reply(void *arg)
{
	struct pex_case *c = arg;
	if (mconn_send(&c->tx, PEX_CHANNEL, c->msg, c->len) < 0)
		return -1;
	size_t n, used = 0;
	const uint8_t *out = mconn_output(&c->tx, &n);
	int got = 0;
	while (used < n) {
		struct mconn_msg m;
		ssize_t r = mconn_read(&c->rx, out + used, n - used, &m);
		if (r <= 0)
			return -1;
		used += (size_t)r;
		got += m.data != NULL;
	}
	mconn_output_done(&c->tx, n);
	return got == 1 ? 0 : -1;
}

static int ping_pong(void *arg)
{
	struct pex_case *c = arg;
	static const uint8_t ping[] = { 0x02, 0x0a, 0x00 };
	struct mconn_msg m;
	if (mconn_read(&c->rx, ping, sizeof(ping), &m) != 3)
		return -1;
	size_t n;
	mconn_output(&c->rx, &n);
	mconn_output_done(&c->rx, n);
	return n == 3 ? 0 : -1;
}

int main(void)
{
	static struct ni_case ni;
	static struct pex_case px;
	if (setup_nodeinfo(&ni) < 0) {
		fprintf(stderr, "bench_wire_msgs: NodeInfo setup failed\n");
		return 1;
	}
	fill_addrs(px.addrs, PEX_MAX_ADDRS);
	ssize_t len = pex_encode_addrs(px.addrs, PEX_MAX_ADDRS, px.msg, sizeof(px.msg));
	struct mconn_config cfg;
	mconn_config_default(&cfg);
	if (len <= 0 || mconn_init(&px.tx, &cfg, 0) < 0 || mconn_init(&px.rx, &cfg, 0) < 0) {
		fprintf(stderr, "bench_wire_msgs: PEX setup failed\n");
		return 1;
	}
	px.len = (size_t)len;

	printf("message layers, median of %d batches of thread CPU time\n", BATCHES);
	double ni_ns = per_call(ni_decode_check, &ni, 20000);
	printf("  NodeInfo decode + every check (%zu bytes):   %8.0f ns\n", ni.len, ni_ns);
	double enc = per_call(pex_encode, &px, 500);
	double dec = per_call(pex_decode_one, &px, 500);
	printf("  PEX reply of 250 addresses (%zu bytes): encode %.1f us, decode %.1f us\n", px.len,
	       enc / 1000, dec / 1000);
	double mc = per_call(mconn_reply, &px, 500);
	printf("  the reply through MConnection (%zu packets): %.1f us\n",
	       (px.len + MCONN_MAX_PAYLOAD - 1) / MCONN_MAX_PAYLOAD, mc / 1000);
	double pp = per_call(ping_pong, &px, 100000);
	printf("  a ping read and its pong queued:            %8.0f ns\n", pp);
	size_t per_peer = sizeof(struct mconn) + sizeof(struct pex_peer) + sizeof(struct nodeinfo);
	printf("  per connected peer: struct mconn %zu + pex_peer %zu + nodeinfo %zu bytes,\n"
	       "    plus buffers that grow with traffic (packets ~1 KiB, PEX channel up to 64,000)\n",
	       sizeof(struct mconn), sizeof(struct pex_peer), sizeof(struct nodeinfo));

	machine("nodeinfo_decode_check_ns", ni_ns, "ns");
	machine("pex_reply250_encode_us", enc / 1000, "us");
	machine("pex_reply250_decode_us", dec / 1000, "us");
	machine("mconn_reply250_us", mc / 1000, "us");
	machine("mconn_ping_pong_ns", pp, "ns");
	machine("wire_msgs_peer_state_bytes", (double)per_peer, "bytes");
	mconn_free(&px.tx);
	mconn_free(&px.rx);
	nodeinfo_free(&ni.ours);
	return (int)(sink == 0xdeadbeef);
}
