/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_wire.c - what a SecretConnection handshake and its frames cost,
 * beside the cryptography they cannot avoid, and beside upstream
 * (REFERENCE.md section 7: 3,377 two-sided handshakes/s in one process over
 * net.Pipe, 297 us of CPU per two-sided handshake, CometBFT v0.34.35).
 *
 * What it does, in order:
 *  1. the floor: X25519 key pair (crypto_box_keypair: random + base point),
 *     X25519 DH, ed25519 sign of 32 bytes, ed25519 verify: the public-key
 *     operations one side of the handshake must do, nothing else;
 *  2. the dialer's side of real handshakes: our session's calls only
 *     (sc_init, then sc_recv of the listener's ephemeral key and
 *     AuthSigMessage frame), BATCH handshakes side by side so that the
 *     listener's work between them is untimed (dialer_batch);
 *  3. 1 and 2 interleaved in ROUNDS rounds of BATCH each (this VM's speed
 *     drifts); per round the mean per handshake and per floor set; the
 *     figures are the medians over rounds, the ratio the median of the
 *     per-round ratios;
 *  4. whole two-sided handshakes in one thread, both sessions in memory
 *     (upstream's measurement: both ends in one process), per second of
 *     the thread's CPU (and of wall time, which a shared machine lowers);
 *  5. frames: sc_frame_seal and sc_frame_open of full 1024-byte frames
 *     and the stream layer (sc_send_msg, sc_recv, sc_read_msg of 64 KiB
 *     messages on an open pair: a seal, an open and the copies), MiB of
 *     plaintext per second of thread CPU.
 *
 * Every figure is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), read
 * twice per batch, so other processes on the machine do not count; the
 * process runs on one CPU.
 * Output: readable lines, then `bench: <name> <value> <unit>` lines.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wire/secret_conn.h"

#define ROUNDS 25
#define BATCH 40
#define PAIRS_FOR_RATE 600
#define FRAME_MIB 64
#define STREAM_MSG (64 * 1024)

#define UPSTREAM_HANDSHAKES_PER_S 3377.0
#define UPSTREAM_TWO_SIDED_US 297.0

static volatile uint8_t sink;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void machine(const char *name, double value, const char *unit)
{
	bool whole = value >= 1000 || value == (double)(long long)value;
	printf("bench: %s %.*f %s\n", name, whole ? 0 : 3, value, unit);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_wire: %s\n", what);
	exit(1);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct node_key key_a, key_b;

/* Move everything from's tx to to. */
static void deliver(struct secret_conn *from, struct secret_conn *to)
{
	const uint8_t *p;
	size_t n = sc_tx_peek(from, &p);
	if (sc_recv(to, p, n, 0) != 0)
		die("handshake failed");
	sc_tx_advance(from, n);
}

static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct secret_conn dialers[BATCH], listeners[BATCH];

/*
 * BATCH handshakes at once, so only the dialer's calls are timed, with two
 * clock reads per loop and no timer inside a handshake: every dialer
 * starts (timed), every listener answers (untimed), every dialer takes the
 * answer: DH, keys, challenge, signature, the listener's AuthSigMessage
 * verified (timed), every listener finishes (untimed). CPU ns of the dialer.
 */
static int64_t dialer_batch(void)
{
	struct sc_config ca = { .role = SC_DIALER, .me = &key_a, .expect_id = key_b.id,
				.deadline = INT64_MAX };
	struct sc_config cb = { .role = SC_LISTENER, .me = &key_b, .deadline = INT64_MAX };
	int64_t t0 = cpu_ns();
	for (int i = 0; i < BATCH; i++)
		if (sc_init(&dialers[i], &ca) != 0)
			die("sc_init");
	int64_t spent = cpu_ns() - t0;
	for (int i = 0; i < BATCH; i++) {
		if (sc_init(&listeners[i], &cb) != 0)
			die("sc_init");
		deliver(&dialers[i], &listeners[i]);
	}
	t0 = cpu_ns();
	for (int i = 0; i < BATCH; i++)
		deliver(&listeners[i], &dialers[i]);
	spent += cpu_ns() - t0;
	for (int i = 0; i < BATCH; i++) {
		deliver(&dialers[i], &listeners[i]);
		if (dialers[i].state != SC_OPEN || listeners[i].state != SC_OPEN)
			die("handshake did not open");
		sc_free(&dialers[i]);
		sc_free(&listeners[i]);
	}
	return spent;
}

/* One whole two-sided handshake, nothing timed. */
static void handshake(void)
{
	struct secret_conn a, b;
	struct sc_config ca = { .role = SC_DIALER, .me = &key_a, .expect_id = key_b.id,
				.deadline = INT64_MAX };
	struct sc_config cb = { .role = SC_LISTENER, .me = &key_b, .deadline = INT64_MAX };
	if (sc_init(&a, &ca) != 0 || sc_init(&b, &cb) != 0)
		die("sc_init");
	deliver(&a, &b);
	deliver(&b, &a);
	deliver(&a, &b);
	if (a.state != SC_OPEN || b.state != SC_OPEN)
		die("handshake did not open");
	sc_free(&a);
	sc_free(&b);
}

/* The floor: the public-key work one side cannot skip, BATCH times; CPU ns. */
static int64_t floor_batch(void)
{
	uint8_t pk[32], sk[32], peer_pk[BATCH][32], dh[32], msg[32], sig[64], peer_sk[32];
	memset(msg, 7, sizeof(msg));
	for (int i = 0; i < BATCH; i++) { /* fresh peer keys, untimed, as the listener's are */
		randombytes_buf(peer_sk, sizeof(peer_sk));
		crypto_scalarmult_base(peer_pk[i], peer_sk);
	}
	int64_t t0 = cpu_ns();
	for (int i = 0; i < BATCH; i++) {
		crypto_box_keypair(pk, sk);
		if (crypto_scalarmult(dh, sk, peer_pk[i]) != 0)
			die("floor DH");
		crypto_sign_detached(sig, NULL, msg, sizeof(msg), key_a.priv);
		if (crypto_sign_verify_detached(sig, msg, sizeof(msg), key_a.pub) != 0)
			die("floor verify");
		sink ^= dh[0] ^ sig[0];
	}
	return cpu_ns() - t0;
}

/*
 * Whole two-sided handshakes back to back: per CPU second (the thread's
 * CPU time, what one core gives) and per wall second (*wall_per_s; lower
 * when the machine is shared). *us_each: CPU per two-sided handshake.
 */
static double two_sided_per_s(double *us_each, double *wall_per_s)
{
	int64_t t0 = now_ns(), c0 = cpu_ns();
	for (int i = 0; i < PAIRS_FOR_RATE; i++)
		handshake();
	double cpu_s = (double)(cpu_ns() - c0) / 1e9, wall_s = (double)(now_ns() - t0) / 1e9;
	*us_each = cpu_s * 1e6 / PAIRS_FOR_RATE;
	*wall_per_s = PAIRS_FOR_RATE / wall_s;
	return PAIRS_FOR_RATE / cpu_s;
}

/*
 * Full 1024-byte frames sealed into a ring of RING frames (in cache, as a
 * session's send buffer is reused), then each opened; thread CPU time.
 */
#define RING 64
static void frames(double *seal_mib_s, double *open_mib_s)
{
	static uint8_t ring[RING][SC_FRAME_SEALED];
	struct sc_dir tx = { .key = { 1 } }, rx = { .key = { 1 } };
	uint8_t data[SC_DATA_MAX], out[SC_DATA_MAX];
	randombytes_buf(data, sizeof(data));
	size_t n = (size_t)FRAME_MIB * 1024; /* frames of 1 KiB */
	int64_t seal_ns = 0, open_ns = 0;
	for (size_t done = 0; done < n; done += RING) {
		int64_t t0 = cpu_ns();
		for (int i = 0; i < RING; i++)
			sc_frame_seal(&tx, data, SC_DATA_MAX, ring[i]);
		int64_t t1 = cpu_ns();
		for (int i = 0; i < RING; i++) {
			size_t len;
			enum wire_error why;
			if (sc_frame_open(&rx, ring[i], out, &len, &why) != 0)
				die("frame does not open");
		}
		open_ns += cpu_ns() - t1;
		seal_ns += t1 - t0;
	}
	sink ^= out[0];
	*seal_mib_s = FRAME_MIB / ((double)seal_ns / 1e9);
	*open_mib_s = FRAME_MIB / ((double)open_ns / 1e9);
}

/* sc_send + sc_tx_peek/advance + sc_recv + sc_read_msg on an open pair. */
static double stream_mib_s(void)
{
	struct secret_conn a, b;
	struct sc_config ca = { .role = SC_DIALER, .me = &key_a, .deadline = INT64_MAX };
	struct sc_config cb = { .role = SC_LISTENER, .me = &key_b, .deadline = INT64_MAX };
	if (sc_init(&a, &ca) || sc_init(&b, &cb))
		die("sc_init");
	deliver(&a, &b);
	deliver(&b, &a);
	deliver(&a, &b);
	uint8_t *msg = malloc(STREAM_MSG);
	if (!msg)
		die("out of memory");
	randombytes_buf(msg, STREAM_MSG);
	int count = FRAME_MIB * 1024 * 1024 / STREAM_MSG;
	int64_t t0 = cpu_ns();
	for (int i = 0; i < count; i++) {
		if (sc_send_msg(&a, msg, STREAM_MSG) != 0)
			die("sc_send_msg");
		deliver(&a, &b);
		const uint8_t *body;
		size_t len;
		if (sc_read_msg(&b, STREAM_MSG, &body, &len) != 0 || len != STREAM_MSG)
			die("sc_read_msg");
		sink ^= body[len - 1];
	}
	double s = (double)(cpu_ns() - t0) / 1e9;
	free(msg);
	sc_free(&a);
	sc_free(&b);
	return FRAME_MIB / s;
}

int main(void)
{
	if (sodium_init() < 0)
		die("libsodium does not initialise");
	/* One CPU: the figures are one core's, as the daemon's one thread. */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	node_key_generate(&key_a);
	node_key_generate(&key_b);

	dialer_batch(); /* warm up caches and the CPU clock */
	floor_batch();
	double hs[ROUNDS], fl[ROUNDS], ratio[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		/* Alternate which goes first, so neither always follows the other. */
		int64_t h, f;
		if (r % 2)
			f = floor_batch(), h = dialer_batch();
		else
			h = dialer_batch(), f = floor_batch();
		hs[r] = (double)h / BATCH / 1000.0;
		fl[r] = (double)f / BATCH / 1000.0;
		ratio[r] = hs[r] / fl[r];
	}
	double hs_us = median(hs, ROUNDS), fl_us = median(fl, ROUNDS);
	double ratio_med = median(ratio, ROUNDS);
	double two_us, wall_per_s;
	double per_s = two_sided_per_s(&two_us, &wall_per_s);
	double seal, open;
	frames(&seal, &open);
	double stream = stream_mib_s();

	printf("bench_wire: SecretConnection handshake (dialer side) and frames, one CPU\n");
	printf("  dialer side of a handshake      %8.1f us   (median of %d rounds of %d)\n",
	       hs_us, ROUNDS, BATCH);
	printf("  floor: X25519 keygen + DH + ed25519 sign + verify  %8.1f us\n", fl_us);
	printf("  ratio (median of per-round ratios)  %.3f   target <= 1.1\n", ratio_med);
	printf("  two-sided handshakes, one thread  %8.0f per CPU second (%.1f us CPU each; "
	       "upstream %.0f /s, %.0f us: %.2fx); %.0f per wall second here\n",
	       per_s, two_us, UPSTREAM_HANDSHAKES_PER_S, UPSTREAM_TWO_SIDED_US,
	       per_s / UPSTREAM_HANDSHAKES_PER_S, wall_per_s);
	printf("  frames: seal %.0f MiB/s, open %.0f MiB/s; stream (64 KiB messages) %.0f MiB/s\n",
	       seal, open, stream);
	machine("handshake_dialer_us", hs_us, "us");
	machine("handshake_floor_us", fl_us, "us");
	machine("handshake_cpu_ratio_vs_floor", ratio_med, "ratio");
	machine("handshakes_per_s", per_s, "1/s");
	machine("handshake_two_sided_us", two_us, "us");
	machine("handshakes_per_wall_s", wall_per_s, "1/s");
	machine("handshakes_per_s_vs_upstream", per_s / UPSTREAM_HANDSHAKES_PER_S, "ratio");
	machine("frame_seal_mib_s", seal, "MiB/s");
	machine("frame_open_mib_s", open, "MiB/s");
	machine("stream_mib_s", stream, "MiB/s");
	return 0;
}
