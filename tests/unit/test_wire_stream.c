/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_stream.c - SecretConnection after the handshake: sealed frames
 * (nonces, padding, length field, tags), the varint framing of messages,
 * and the stream in both directions: messages spanning frames, several
 * messages in one frame, bytes arriving in any split; and every frame a
 * peer can get wrong: corrupt, replayed, reordered, an oversized length
 * field, a truncated end, oversized or malformed messages, a flood.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "wire/delim.h"
#include "wire/sc_frame.h"
#include "wire/secret_conn.h"
#include "wire_helpers.h"

/* ---- frames ---------------------------------------------------------- */

Test(wire_frame, nonce_is_four_zero_bytes_then_le64)
{
	uint8_t n[SC_NONCE_LEN];
	sc_nonce(n, 0x0102030405060708ULL);
	static const uint8_t want[SC_NONCE_LEN] = { 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1 };
	cr_assert_arr_eq(n, want, sizeof(want));
}

Test(wire_frame, seal_open_every_size)
{
	struct sc_dir tx = { .key = { 9 } }, rx = { .key = { 9 } };
	uint8_t data[SC_DATA_MAX + 1], frame[SC_FRAME_SEALED], out[SC_DATA_MAX];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	static const size_t sizes[] = { 0, 1, 4, 1000, 1023, 1024 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cr_assert_eq(sc_frame_seal(&tx, data, sizes[i], frame), 0);
		size_t n;
		enum wire_error why;
		cr_assert_eq(sc_frame_open(&rx, frame, out, &n, &why), 0, "size %zu", sizes[i]);
		cr_assert_eq(n, sizes[i]);
		cr_assert_arr_eq(out, data, n);
	}
	cr_assert_eq(tx.counter, 6);
	cr_assert_eq(rx.counter, 6);
	cr_assert_eq(sc_frame_seal(&tx, data, SC_DATA_MAX + 1, frame), -EMSGSIZE);
	cr_assert_eq(tx.counter, 6, "a refused seal must not spend a nonce");
}

Test(wire_frame, sealed_padding_is_zero)
{
	/* What upstream's transcripts show, and what reproducing them needs. */
	struct sc_dir tx = { .key = { 1 } };
	uint8_t frame[SC_FRAME_SEALED], plain[SC_FRAME_PLAIN], nonce[SC_NONCE_LEN];
	cr_assert_eq(sc_frame_seal(&tx, (const uint8_t *)"abc", 3, frame), 0);
	sc_nonce(nonce, 0);
	unsigned long long n;
	uint8_t key[32] = { 1 };
	cr_assert_eq(crypto_aead_chacha20poly1305_ietf_decrypt(plain, &n, NULL, frame,
							       sizeof(frame), NULL, 0, nonce, key),
		     0);
	static const uint8_t head[7] = { 3, 0, 0, 0, 'a', 'b', 'c' };
	cr_assert_arr_eq(plain, head, sizeof(head));
	for (size_t i = sizeof(head); i < SC_FRAME_PLAIN; i++)
		cr_assert_eq(plain[i], 0, "padding byte %zu is %u", i, plain[i]);
}

/* Seal a raw 1028-byte plaintext (any length field, any padding) as a peer could. */
static void seal_raw(const uint8_t key[32], uint64_t counter, const uint8_t plain[SC_FRAME_PLAIN],
		     uint8_t out[SC_FRAME_SEALED])
{
	uint8_t nonce[SC_NONCE_LEN];
	unsigned long long n;
	sc_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &n, plain, SC_FRAME_PLAIN, NULL, 0, NULL,
						  nonce, key);
}

Test(wire_frame, open_ignores_padding)
{
	/* A real upstream peer leaves its old buffer contents after the data. */
	uint8_t key[32] = { 5 }, plain[SC_FRAME_PLAIN], frame[SC_FRAME_SEALED], out[SC_DATA_MAX];
	memset(plain, 0xee, sizeof(plain));
	plain[0] = 2, plain[1] = plain[2] = plain[3] = 0;
	seal_raw(key, 0, plain, frame);
	struct sc_dir rx = { .key = { 5 } };
	size_t n;
	enum wire_error why;
	cr_assert_eq(sc_frame_open(&rx, frame, out, &n, &why), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(out[0], 0xee);
}

Test(wire_frame, rejects_length_field_above_1024)
{
	static const uint32_t lens[] = { SC_DATA_MAX + 1, 1028, 0xffffffffu };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t key[32] = { 5 }, plain[SC_FRAME_PLAIN] = { 0 }, frame[SC_FRAME_SEALED];
		uint8_t out[SC_DATA_MAX];
		for (int b = 0; b < 4; b++)
			plain[b] = (uint8_t)(lens[i] >> (8 * b));
		seal_raw(key, 0, plain, frame);
		struct sc_dir rx = { .key = { 5 } };
		size_t n;
		enum wire_error why = WIRE_OK;
		cr_assert_eq(sc_frame_open(&rx, frame, out, &n, &why), -EPROTO);
		cr_assert_eq(why, WIRE_ERR_FRAME_TOO_LARGE, "length %u", lens[i]);
		cr_assert_eq(rx.counter, 0);
	}
}

Test(wire_frame, rejects_wrong_key_counter_or_any_flipped_bit)
{
	struct sc_dir tx = { .key = { 3 } };
	uint8_t frame[SC_FRAME_SEALED], out[SC_DATA_MAX];
	cr_assert_eq(sc_frame_seal(&tx, (const uint8_t *)"hello", 5, frame), 0);
	size_t n;
	enum wire_error why;
	struct sc_dir other_key = { .key = { 4 } }, other_counter = { .key = { 3 }, .counter = 1 };
	cr_assert_eq(sc_frame_open(&other_key, frame, out, &n, &why), -EPROTO);
	cr_assert_eq(why, WIRE_ERR_BAD_MAC);
	cr_assert_eq(sc_frame_open(&other_counter, frame, out, &n, &why), -EPROTO);
	cr_assert_eq(why, WIRE_ERR_BAD_MAC);
	/* A flipped bit anywhere: length field, data, padding, tag. */
	static const size_t at[] = { 0, 3, 4, 8, 600, 1027, 1028, 1043 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct sc_dir rx = { .key = { 3 } };
		frame[at[i]] ^= 0x10;
		why = WIRE_OK;
		cr_assert_eq(sc_frame_open(&rx, frame, out, &n, &why), -EPROTO, "byte %zu", at[i]);
		cr_assert_eq(why, WIRE_ERR_BAD_MAC);
		frame[at[i]] ^= 0x10;
	}
}

Test(wire_frame, counter_exhausted)
{
	struct sc_dir tx = { .key = { 3 }, .counter = UINT64_MAX };
	uint8_t frame[SC_FRAME_SEALED];
	cr_assert_eq(sc_frame_seal(&tx, (const uint8_t *)"x", 1, frame), -EOVERFLOW);
}

/* ---- varint framing ----------------------------------------------------- */

Test(wire_delim, round_trip_and_partial)
{
	static const uint64_t vals[] = { 0, 1, 127, 128, 300, 16383, 16384, 1u << 20 };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[DELIM_MAX_HDR + 8];
		size_t h = delim_put_len(buf, vals[i]), hdr, body;
		cr_assert_eq(delim_parse(buf, h, SIZE_MAX, &hdr, &body), vals[i] ? -EAGAIN : 0);
		for (size_t cut = 0; cut < h; cut++)
			cr_assert_eq(delim_parse(buf, cut, SIZE_MAX, &hdr, &body), -EAGAIN);
		if (vals[i] <= 8) {
			cr_assert_eq(delim_parse(buf, h + vals[i], SIZE_MAX, &hdr, &body), 0);
			cr_assert_eq(hdr, h);
			cr_assert_eq(body, vals[i]);
		}
	}
	uint8_t big[DELIM_MAX_HDR];
	cr_assert_eq(delim_put_len(big, UINT64_MAX), 10);
	cr_assert_eq(big[9], 1);
	static const uint8_t pex_request[] = { 0x08, 0x1a, 0x06, 0x10, 0x01, 0x1a, 0x02, 0x0a, 0x00 };
	size_t hdr, body;
	cr_assert_eq(delim_parse(pex_request, sizeof(pex_request), 64000, &hdr, &body), 0);
	cr_assert_eq(hdr, 1);
	cr_assert_eq(body, 8);
}

Test(wire_delim, limits_and_bad_varints)
{
	uint8_t buf[12];
	size_t hdr, body, h = delim_put_len(buf, 10241);
	cr_assert_eq(delim_parse(buf, h, 10240, &hdr, &body), -EMSGSIZE, "known from the varint");
	cr_assert_eq(delim_parse(buf, h, 10241, &hdr, &body), -EAGAIN);
	memset(buf, 0xff, sizeof(buf));
	cr_assert_eq(delim_parse(buf, 11, SIZE_MAX, &hdr, &body), -EBADMSG, "over 10 bytes");
	buf[9] = 0x02; /* the 10th byte may only carry bit 63 */
	cr_assert_eq(delim_parse(buf, 10, SIZE_MAX, &hdr, &body), -EBADMSG);
}

/* ---- the stream ------------------------------------------------------- */

Test(wire_stream, message_spanning_frames)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	size_t len = 5000;
	uint8_t *msg = malloc(len);
	for (size_t i = 0; i < len; i++)
		msg[i] = (uint8_t)(i ^ (i >> 8));
	cr_assert_eq(sc_send_msg(&p.a, msg, len), 0);
	const uint8_t *q, *body;
	size_t n = sc_tx_peek(&p.a, &q), blen;
	cr_assert_eq(n, 5 * SC_FRAME_SEALED, "5002 bytes take 5 frames");
	/* All but the last frame: not yet a message. */
	cr_assert_eq(sc_recv(&p.b, q, 4 * SC_FRAME_SEALED, 0), 0);
	cr_assert_eq(sc_read_msg(&p.b, 10240, &body, &blen), -EAGAIN);
	cr_assert_eq(sc_recv(&p.b, q + 4 * SC_FRAME_SEALED, SC_FRAME_SEALED, 0), 0);
	sc_tx_advance(&p.a, n);
	cr_assert_eq(sc_read_msg(&p.b, 10240, &body, &blen), 0);
	cr_assert_eq(blen, len);
	cr_assert_arr_eq(body, msg, len);
	cr_assert_eq(sc_read_msg(&p.b, 10240, &body, &blen), -EAGAIN);
	free(msg);
	pair_free(&p);
}

Test(wire_stream, several_messages_in_one_frame)
{
	/* As a live MConnection batches: three packets, one write, one frame. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	static const uint8_t ping[] = { 0x02, 0x0a, 0x00 }, pong[] = { 0x02, 0x12, 0x00 };
	static const uint8_t req[] = { 0x08, 0x1a, 0x06, 0x10, 0x01, 0x1a, 0x02, 0x0a, 0x00 };
	struct iovec iov[3] = { { (void *)ping, 3 }, { (void *)req, 9 }, { (void *)pong, 3 } };
	cr_assert_eq(sc_sendv(&p.b, iov, 3), 0);
	const uint8_t *q;
	cr_assert_eq(sc_tx_peek(&p.b, &q), SC_FRAME_SEALED);
	cr_assert_eq(pump(&p.b, &p.a, 0), 0);
	const uint8_t *body;
	size_t len;
	cr_assert_eq(sc_read_msg(&p.a, 1024, &body, &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_eq(body[0], 0x0a);
	cr_assert_eq(sc_read_msg(&p.a, 1024, &body, &len), 0);
	cr_assert_eq(len, 8);
	cr_assert_arr_eq(body, req + 1, 8);
	cr_assert_eq(sc_read_msg(&p.a, 1024, &body, &len), 0);
	cr_assert_eq(body[0], 0x12);
	cr_assert_eq(sc_read_msg(&p.a, 1024, &body, &len), -EAGAIN);
	pair_free(&p);
}

Test(wire_stream, sendv_gathers_across_iov_and_frames)
{
	/* 700 + 700 + 700 bytes: frames of 1024, 1024, 52, in order. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	uint8_t parts[3][700];
	for (int k = 0; k < 3; k++)
		memset(parts[k], 'a' + k, sizeof(parts[k]));
	struct iovec iov[3] = { { parts[0], 700 }, { parts[1], 700 }, { parts[2], 700 } };
	cr_assert_eq(sc_sendv(&p.a, iov, 3), 0);
	const uint8_t *q;
	cr_assert_eq(sc_tx_peek(&p.a, &q), 3 * SC_FRAME_SEALED);
	cr_assert_eq(pump(&p.a, &p.b, 7), 0);
	cr_assert_eq(sc_rx_peek(&p.b, &q), 2100);
	for (size_t i = 0; i < 2100; i++)
		cr_assert_eq(q[i], 'a' + i / 700, "byte %zu", i);
	sc_rx_advance(&p.b, 2100);
	cr_assert_eq(sc_rx_peek(&p.b, &q), 0);
	cr_assert_eq(sc_send(&p.a, "", 0), 0);
	cr_assert_eq(sc_tx_peek(&p.a, &q), 0, "an empty write sends no frame");
	pair_free(&p);
}

Test(wire_stream, both_directions_interleaved_any_split)
{
	static const size_t chunks[] = { 1, 13, 1044, 3000 };
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct sc_pair p;
		pair_init(&p, 7, 8);
		pair_handshake(&p, chunks[c]);
		for (int round = 0; round < 20; round++) {
			uint8_t msg[1500];
			size_t len = (size_t)(round * 97) % sizeof(msg);
			memset(msg, round, len);
			struct secret_conn *from = round % 2 ? &p.a : &p.b;
			struct secret_conn *to = round % 2 ? &p.b : &p.a;
			cr_assert_eq(sc_send_msg(from, msg, len), 0);
			cr_assert_eq(pump(from, to, chunks[c]), 0);
			const uint8_t *body;
			size_t blen;
			cr_assert_eq(sc_read_msg(to, sizeof(msg), &body, &blen), 0);
			cr_assert_eq(blen, len);
			cr_assert_arr_eq(body, msg, len);
		}
		pair_free(&p);
	}
}

/* ---- what a peer can get wrong after the handshake -------------------- */

/* An open pair, then a's next two frames (sealed, not yet delivered) copied out. */
static void two_frames(struct sc_pair *p, uint8_t f[2][SC_FRAME_SEALED])
{
	pair_init(p, 1, 2);
	pair_handshake(p, 0);
	cr_assert_eq(sc_send(&p->a, "first", 5), 0);
	cr_assert_eq(sc_send(&p->a, "second", 6), 0);
	const uint8_t *q;
	cr_assert_eq(sc_tx_peek(&p->a, &q), 2 * SC_FRAME_SEALED);
	memcpy(f, q, 2 * SC_FRAME_SEALED);
	sc_tx_advance(&p->a, 2 * SC_FRAME_SEALED);
}

static void expect_fail(struct secret_conn *c, int rc, enum wire_error why)
{
	cr_assert_eq(rc, -EPROTO);
	cr_assert_eq(c->state, SC_FAILED);
	cr_assert_eq(c->error, why, "error %s, want %s", wire_error_name(c->error),
		     wire_error_name(why));
}

Test(wire_stream, rejects_replayed_frame)
{
	struct sc_pair p;
	uint8_t f[2][SC_FRAME_SEALED];
	two_frames(&p, f);
	cr_assert_eq(sc_recv(&p.b, f[0], SC_FRAME_SEALED, 0), 0);
	expect_fail(&p.b, sc_recv(&p.b, f[0], SC_FRAME_SEALED, 0), WIRE_ERR_BAD_MAC);
	cr_assert_eq(p.b.step, WIRE_STEP_SESSION);
	pair_free(&p);
}

Test(wire_stream, rejects_reordered_frames)
{
	struct sc_pair p;
	uint8_t f[2][SC_FRAME_SEALED];
	two_frames(&p, f);
	expect_fail(&p.b, sc_recv(&p.b, f[1], SC_FRAME_SEALED, 0), WIRE_ERR_BAD_MAC);
	const uint8_t *q;
	cr_assert_eq(sc_rx_peek(&p.b, &q), 0, "nothing of a rejected frame is delivered");
	pair_free(&p);
}

Test(wire_stream, rejects_dropped_frame)
{
	/* The second frame without the first: its counter is one ahead. */
	struct sc_pair p;
	uint8_t f[2][SC_FRAME_SEALED];
	two_frames(&p, f);
	sc_set_step(&p.b, WIRE_STEP_NODE_INFO);
	expect_fail(&p.b, sc_recv(&p.b, f[1], SC_FRAME_SEALED, 0), WIRE_ERR_BAD_MAC);
	cr_assert_eq(p.b.step, WIRE_STEP_NODE_INFO, "counted against the step it carried");
	pair_free(&p);
}

Test(wire_stream, rejects_corrupt_frame_split_anywhere)
{
	struct sc_pair p;
	uint8_t f[2][SC_FRAME_SEALED];
	two_frames(&p, f);
	f[0][1030] ^= 0x80;
	/* Delivered in pieces, so the frame goes through the partial-frame buffer. */
	cr_assert_eq(sc_recv(&p.b, f[0], 1000, 0), 0);
	expect_fail(&p.b, sc_recv(&p.b, f[0] + 1000, SC_FRAME_SEALED - 1000, 0),
		    WIRE_ERR_BAD_MAC);
	pair_free(&p);
}

Test(wire_stream, rejects_oversized_length_field_in_session)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	uint8_t plain[SC_FRAME_PLAIN] = { 0x01, 0x04, 0, 0 }, frame[SC_FRAME_SEALED]; /* 1025 */
	seal_raw(p.a.send.key, p.a.send.counter, plain, frame);
	expect_fail(&p.b, sc_recv(&p.b, frame, sizeof(frame), 0), WIRE_ERR_FRAME_TOO_LARGE);
	pair_free(&p);
}

Test(wire_stream, eof_clean_inside_frame_inside_message)
{
	struct sc_pair p;
	uint8_t f[2][SC_FRAME_SEALED];
	two_frames(&p, f);
	cr_assert_eq(sc_recv(&p.b, f[0], SC_FRAME_SEALED, 0), 0);
	cr_assert_eq(sc_recv(&p.b, f[1], 100, 0), 0);
	expect_fail(&p.b, sc_recv_eof(&p.b), WIRE_ERR_TRUNCATED);
	pair_free(&p);

	/* A message whose frames stopped coming: plaintext left unread. */
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	uint8_t big[3000] = { 0 };
	cr_assert_eq(sc_send_msg(&p.a, big, sizeof(big)), 0);
	const uint8_t *q, *body;
	size_t len;
	sc_tx_peek(&p.a, &q);
	cr_assert_eq(sc_recv(&p.b, q, SC_FRAME_SEALED, 0), 0);
	cr_assert_eq(sc_read_msg(&p.b, 4096, &body, &len), -EAGAIN);
	expect_fail(&p.b, sc_recv_eof(&p.b), WIRE_ERR_TRUNCATED);
	pair_free(&p);

	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	expect_fail(&p.b, sc_recv_eof(&p.b), WIRE_ERR_CLOSED);
	pair_free(&p);
}

Test(wire_stream, rejects_oversized_and_malformed_messages)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	uint8_t hdr[DELIM_MAX_HDR];
	cr_assert_eq(sc_send(&p.a, hdr, delim_put_len(hdr, 10241)), 0);
	cr_assert_eq(pump(&p.a, &p.b, 0), 0);
	const uint8_t *body;
	size_t len;
	expect_fail(&p.b, sc_read_msg(&p.b, 10240, &body, &len), WIRE_ERR_MSG_TOO_LARGE);
	pair_free(&p);

	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	memset(hdr, 0xff, sizeof(hdr));
	cr_assert_eq(sc_send(&p.a, hdr, sizeof(hdr)), 0);
	cr_assert_eq(pump(&p.a, &p.b, 0), 0);
	expect_fail(&p.b, sc_read_msg(&p.b, 10240, &body, &len), WIRE_ERR_MSG_MALFORMED);
	pair_free(&p);
}

Test(wire_stream, flood_without_reading_is_refused)
{
	/* A caller that reads nothing holds at most SC_RX_MAX bytes for the peer. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	static uint8_t chunk[64 * 1024];
	int rc = 0;
	for (int i = 0; i < 8 && rc == 0; i++) {
		cr_assert_eq(sc_send(&p.a, chunk, sizeof(chunk)), 0);
		rc = pump(&p.a, &p.b, 0);
	}
	expect_fail(&p.b, rc, WIRE_ERR_MSG_TOO_LARGE);
	cr_assert_leq(p.b.rx.cap, 2 * SC_RX_MAX);
	pair_free(&p);
}

Test(wire_stream, partial_tx_advance)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	cr_assert_eq(sc_send(&p.a, "abc", 3), 0);
	const uint8_t *q;
	cr_assert_eq(sc_tx_peek(&p.a, &q), SC_FRAME_SEALED);
	uint8_t first[10];
	memcpy(first, q, 10);
	sc_tx_advance(&p.a, 10);
	cr_assert_eq(sc_recv(&p.b, first, 10, 0), 0);
	cr_assert_eq(sc_tx_peek(&p.a, &q), SC_FRAME_SEALED - 10);
	cr_assert_eq(sc_recv(&p.b, q, SC_FRAME_SEALED - 10, 0), 0);
	sc_tx_advance(&p.a, SIZE_MAX); /* more than pending: clamps */
	cr_assert_eq(sc_tx_peek(&p.a, &q), 0);
	cr_assert_eq(sc_rx_peek(&p.b, &q), 3);
	cr_assert_arr_eq(q, "abc", 3);
	pair_free(&p);
}

Test(wire_stream, a_layer_above_fails_the_session)
{
	/* NodeInfo refused: the session ends with that reason and step, keys wiped. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	pair_handshake(&p, 0);
	cr_assert_eq(sc_fail(&p.a, WIRE_ERR_NETWORK_MISMATCH, WIRE_STEP_NODE_INFO), -EPROTO);
	cr_assert_eq(p.a.state, SC_FAILED);
	cr_assert_eq(p.a.error, WIRE_ERR_NETWORK_MISMATCH);
	cr_assert_eq(p.a.step, WIRE_STEP_NODE_INFO);
	static const uint8_t zero[32];
	cr_assert_arr_eq(p.a.send.key, zero, 32);
	/* A second failure does not overwrite the first. */
	cr_assert_eq(sc_fail(&p.a, WIRE_ERR_TIMEOUT, WIRE_STEP_SESSION), -EPROTO);
	cr_assert_eq(p.a.error, WIRE_ERR_NETWORK_MISMATCH);
	cr_assert_eq(p.a.step, WIRE_STEP_NODE_INFO);
	cr_assert_eq(sc_recv_eof(&p.a), -EPROTO);
	cr_assert_eq(p.a.error, WIRE_ERR_NETWORK_MISMATCH);
	pair_free(&p);
}
