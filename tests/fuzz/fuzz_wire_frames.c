/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_wire_frames.c - libFuzzer target for what a peer's bytes reach in a
 * SecretConnection: the ephemeral key message, the frame opener, the
 * partial-frame buffer, the received plaintext and the varint reader.
 *
 * Input: one mode byte, then data.
 *  - mode bit 0 clear: the data is a peer's raw byte stream to a fresh
 *    listener (ephemeral message, then "frames"), delivered in chunks of
 *    (mode >> 1) + 1 bytes.
 *  - mode bit 0 set: the data is a program for a peer that knows the keys
 *    of an open session: records [op][len lo][len hi][payload...]:
 *      op % 4 == 0  seal payload (up to 1024 bytes) as a proper frame
 *      op % 4 == 1  seal payload as the whole 1028-byte frame plaintext
 *                   (any length field, any padding)
 *      op % 4 == 2  append payload raw (garbage, a torn frame)
 *      op % 4 == 3  flip bit (payload[0] % 8) at stream byte (op >> 2) * 37
 *    The stream is delivered in chunks of (mode >> 1) + 1 bytes; after each,
 *    messages are read (limit from the mode byte) until none is complete.
 *
 * Invariants (a broken one aborts): every call returns a documented code;
 * a failed session has a reason and stays failed; when only proper frames
 * were sent and nothing flipped, the session stays open and the plaintext
 * read is exactly the plaintext sealed; nothing read exceeds its limit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wire/delim.h"
#include "wire/secret_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static struct node_key key_a, key_b;
/* An open session (b, listener) and the sending state of its peer (a). */
static struct secret_conn open_b;
static struct sc_dir peer_send;

static void pump(struct secret_conn *from, struct secret_conn *to)
{
	const uint8_t *p;
	size_t n;
	while ((n = sc_tx_peek(from, &p)) > 0) {
		check(sc_recv(to, p, n, 0) == 0, "setup handshake failed");
		sc_tx_advance(from, n);
	}
}

/* One real handshake at start-up; each input then starts from a copy of it. */
static void setup_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	check(sodium_init() >= 0, "libsodium");
	uint8_t seed[32], eph_a[32], eph_b[32];
	memset(seed, 1, sizeof(seed));
	node_key_from_seed(&key_a, seed);
	memset(seed, 2, sizeof(seed));
	node_key_from_seed(&key_b, seed);
	memset(eph_a, 3, sizeof(eph_a));
	memset(eph_b, 4, sizeof(eph_b));
	struct secret_conn a;
	struct sc_config ca = { .role = SC_DIALER, .me = &key_a, .expect_id = key_b.id,
				.eph_priv = eph_a, .deadline = INT64_MAX };
	struct sc_config cb = { .role = SC_LISTENER, .me = &key_b, .eph_priv = eph_b,
				.deadline = INT64_MAX };
	check(sc_init(&a, &ca) == 0 && sc_init(&open_b, &cb) == 0, "sc_init");
	for (int i = 0; i < 3; i++) {
		pump(&a, &open_b);
		pump(&open_b, &a);
	}
	check(a.state == SC_OPEN && open_b.state == SC_OPEN, "setup handshake did not open");
	peer_send = a.send;
	sc_free(&a);
}

/* A private copy of the open session: its own (empty) buffers. */
static void clone_open(struct secret_conn *c)
{
	*c = open_b;
	memset(&c->tx, 0, sizeof(c->tx));
	memset(&c->rx, 0, sizeof(c->rx));
}

static void check_rc(const struct secret_conn *c, int rc)
{
	check(rc == 0 || rc == -EPROTO || rc == -ENOMEM, "undocumented return code");
	check((rc == -EPROTO) == (c->state == SC_FAILED) || rc == 0, "-EPROTO without failing");
	if (c->state == SC_FAILED)
		check(c->error != WIRE_OK && c->error < WIRE_N_ERRORS, "failed without a reason");
}

static void raw_stream(uint8_t mode, const uint8_t *data, size_t size)
{
	struct secret_conn c;
	struct sc_config cfg = { .role = SC_LISTENER, .me = &key_b, .deadline = INT64_MAX };
	check(sc_init(&c, &cfg) == 0, "sc_init");
	size_t chunk = (size_t)(mode >> 1) + 1;
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		int rc = sc_recv(&c, data + off, n, 0);
		check_rc(&c, rc);
		if (rc < 0)
			break;
	}
	/* Without the session keys nothing past the ephemeral message can open. */
	check(c.state != SC_OPEN, "opened with bytes from nobody");
	int rc = sc_recv_eof(&c);
	check(rc == -EPROTO && c.state == SC_FAILED, "eof did not end the session");
	sc_free(&c);
}

struct stream {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct stream *s, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (s->len + n > s->cap) {
		size_t cap = (s->len + n) * 2;
		s->p = realloc(s->p, cap);
		check(s->p != NULL, "out of memory");
		s->cap = cap;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

static void peer_program(uint8_t mode, const uint8_t *data, size_t size)
{
	struct sc_dir tx = peer_send;
	struct stream wire = { 0 }, sent = { 0 };
	bool clean = true;
	while (size >= 3) {
		uint8_t op = data[0];
		size_t len = (size_t)data[1] | (size_t)data[2] << 8;
		data += 3, size -= 3;
		if (len > size)
			len = size;
		const uint8_t *payload = data;
		data += len, size -= len;
		uint8_t frame[SC_FRAME_SEALED], plain[SC_FRAME_PLAIN] = { 0 };
		switch (op % 4) {
		case 0:
			if (len > SC_DATA_MAX)
				len = SC_DATA_MAX;
			check(sc_frame_seal(&tx, payload, len, frame) == 0, "seal");
			put(&wire, frame, sizeof(frame));
			put(&sent, payload, len);
			break;
		case 1: {
			memcpy(plain, payload, len < sizeof(plain) ? len : sizeof(plain));
			uint8_t nonce[SC_NONCE_LEN];
			unsigned long long clen;
			sc_nonce(nonce, tx.counter++);
			crypto_aead_chacha20poly1305_ietf_encrypt(frame, &clen, plain, sizeof(plain),
								  NULL, 0, NULL, nonce, tx.key);
			put(&wire, frame, sizeof(frame));
			uint32_t n = (uint32_t)plain[0] | (uint32_t)plain[1] << 8 |
				     (uint32_t)plain[2] << 16 | (uint32_t)plain[3] << 24;
			if (n <= SC_DATA_MAX)
				put(&sent, plain + SC_LEN_BYTES, n);
			else
				clean = false;
			break;
		}
		case 2:
			put(&wire, payload, len);
			clean = clean && len == 0;
			break;
		default:
			if (wire.len && len) {
				wire.p[((size_t)(op >> 2) * 37) % wire.len] ^= (uint8_t)(1 << (payload[0] % 8));
				clean = false;
			}
		}
	}

	struct secret_conn c;
	clone_open(&c);
	size_t chunk = (size_t)(mode >> 1) + 1, limit = (size_t)(mode >> 4) * 700 + 1;
	bool read_messages = mode & 0x02; /* else collect the raw plaintext stream */
	struct stream got = { 0 };
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < wire.len; off += chunk) {
		size_t n = wire.len - off < chunk ? wire.len - off : chunk;
		rc = sc_recv(&c, wire.p + off, n, 0);
		check_rc(&c, rc);
		while (rc == 0 && read_messages) {
			const uint8_t *body;
			size_t blen;
			int r = sc_read_msg(&c, limit, &body, &blen);
			check(r == 0 || r == -EAGAIN || r == -EPROTO, "sc_read_msg code");
			check_rc(&c, r == -EAGAIN ? 0 : r);
			if (r != 0) {
				rc = r == -EPROTO ? r : 0;
				break;
			}
			check(blen <= limit, "message above its limit");
			put(&got, (const uint8_t *)&blen, sizeof(blen));
			put(&got, body, blen);
		}
		if (rc == 0 && !read_messages) {
			const uint8_t *p;
			size_t m = sc_rx_peek(&c, &p);
			put(&got, p, m);
			sc_rx_advance(&c, m);
		}
	}
	if (clean && read_messages) {
		/* The messages in what was sealed, framed the same way as got (the
		 * sender's varints may be non-minimal, so compare lengths, not bytes). */
		struct stream want = { 0 };
		size_t hdr, n;
		for (size_t at = 0; sent.p && delim_parse(sent.p + at, sent.len - at, SIZE_MAX, &hdr, &n) == 0;
		     at += hdr + n) {
			put(&want, (const uint8_t *)&n, sizeof(n));
			put(&want, sent.p + at + hdr, n);
		}
		free(sent.p);
		sent = want;
	}
	if (clean) {
		check(c.state == SC_OPEN || (read_messages && c.state == SC_FAILED &&
					     (c.error == WIRE_ERR_MSG_TOO_LARGE ||
					      c.error == WIRE_ERR_MSG_MALFORMED)),
		      "proper frames failed the session");
		/* What was read is a prefix of what was sealed (all of it when raw). */
		check(got.len <= sent.len && (got.len == 0 || memcmp(got.p, sent.p, got.len) == 0),
		      "plaintext read is not the plaintext sealed");
		if (!read_messages)
			check(got.len == sent.len, "raw stream lost bytes");
	}
	rc = sc_recv_eof(&c);
	check(rc == -EPROTO && c.state == SC_FAILED, "eof did not end the session");
	sc_free(&c);
	free(wire.p);
	free(sent.p);
	free(got.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup_once();
	if (size < 1)
		return 0;
	if (data[0] & 1)
		peer_program(data[0], data + 1, size - 1);
	else
		raw_stream(data[0], data + 1, size - 1);
	return 0;
}
