/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_mconn.c - the MConnection layer: upstream's packet bytes from
 * the kept transcript, messages split into 1024-byte packets and joined
 * again, batching both ways (several packets per chunk, a packet across
 * chunks), a channel we did not announce, size limits, ping/pong timing
 * driven by `now`, and how the stream may end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "wire/mconn.h"
#include "wire/pb.h"
#include "wire/pex.h"
#include "wire_helpers.h"

#define SEC 1000000000LL
#define T0 (1000 * SEC)

static void conn_default(struct mconn *c)
{
	struct mconn_config cfg;
	mconn_config_default(&cfg);
	cr_assert_eq(mconn_init(c, &cfg, T0), 0);
}

/* Take everything c wants written. */
static uint8_t *drain(struct mconn *c, size_t *len)
{
	const uint8_t *p = mconn_output(c, len);
	uint8_t *copy = malloc(*len + 1);
	cr_assert_not_null(copy);
	if (*len)
		memcpy(copy, p, *len);
	mconn_output_done(c, *len);
	size_t left;
	mconn_output(c, &left);
	cr_assert_eq(left, 0, "output not drained");
	return copy;
}

struct got {
	size_t n;
	uint8_t channel[16];
	size_t len[16];
	uint8_t *data[16];
};

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->data[i]);
}

/* Feed in in pieces of `step`; collect the messages. Returns 0 or the first error. */
static int feed(struct mconn *c, const uint8_t *in, size_t n, size_t step, struct got *g)
{
	for (size_t off = 0; off < n;) {
		size_t chunk = n - off < step ? n - off : step;
		const uint8_t *p = in + off;
		size_t left = chunk;
		while (left) {
			struct mconn_msg msg;
			ssize_t r = mconn_read(c, p, left, &msg);
			if (r < 0)
				return (int)r;
			cr_assert(r > 0 || msg.data, "no progress");
			p += r;
			left -= (size_t)r;
			if (msg.data) {
				cr_assert_lt(g->n, 16);
				g->channel[g->n] = msg.channel;
				g->len[g->n] = msg.len;
				g->data[g->n] = malloc(msg.len + 1);
				memcpy(g->data[g->n], msg.data, msg.len);
				g->n++;
			}
		}
		off += chunk;
	}
	return 0;
}

/* ---- upstream's bytes ---------------------------------------------------- */

static json_t *message(json_t *root, size_t i, const char *step)
{
	json_t *m = json_array_get(json_object_get(root, "messages"), i);
	cr_assert_not_null(m, "messages[%zu]", i);
	cr_assert_str_eq(json_string_value(json_object_get(m, "step")), step);
	return m;
}

static uint8_t *field_hex(json_t *m, const char *key, size_t *len)
{
	const char *s = json_string_value(json_object_get(m, key));
	cr_assert_not_null(s, "no %s", key);
	return hex_dup(s, len);
}

/* messages[i] is a PEX message: our send writes upstream's bytes; our read gets the message. */
static void pex_message_both_ways(size_t i, const char *step)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	json_t *m = message(root, i, step);
	size_t msg_len, written_len, out_len;
	uint8_t *msg = field_hex(m, "message_plaintext", &msg_len);
	uint8_t *written = field_hex(m, "written_plaintext", &written_len);
	cr_assert_eq(json_integer_value(json_object_get(m, "channel_id")), PEX_CHANNEL);

	struct mconn tx, rx;
	conn_default(&tx);
	conn_default(&rx);
	cr_assert_eq(mconn_send(&tx, PEX_CHANNEL, msg, msg_len), 0);
	uint8_t *out = drain(&tx, &out_len);
	cr_assert_eq(out_len, written_len, "%s: %zu bytes, upstream wrote %zu", step, out_len,
		     written_len);
	cr_assert_arr_eq(out, written, written_len, "%s: not upstream's bytes", step);

	struct got g = { 0 };
	cr_assert_eq(feed(&rx, written, written_len, written_len, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.channel[0], PEX_CHANNEL);
	cr_assert_eq(g.len[0], msg_len);
	cr_assert_arr_eq(g.data[0], msg, msg_len);
	got_free(&g);
	free(out);
	free(msg);
	free(written);
	mconn_free(&tx);
	mconn_free(&rx);
	json_decref(root);
}

Test(mconn, transcript_pex_request)
{
	pex_message_both_ways(0, "pex_request");
}

Test(mconn, transcript_pex_addrs)
{
	pex_message_both_ways(1, "pex_addrs");
}

/* A pings at its interval with upstream's bytes; B answers with upstream's pong. */
Test(mconn, transcript_ping_pong)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	size_t ping_len, pong_len, n;
	uint8_t *ping = field_hex(message(root, 2, "ping"), "written_plaintext", &ping_len);
	uint8_t *pong = field_hex(message(root, 3, "pong"), "written_plaintext", &pong_len);
	struct mconn a, b;
	conn_default(&a);
	conn_default(&b);

	cr_assert_eq(mconn_next_deadline(&a), T0 + 60 * SEC, "first ping a period after the start");
	cr_assert_eq(mconn_tick(&a, T0 + 60 * SEC - 1), 0);
	mconn_output(&a, &n);
	cr_assert_eq(n, 0, "no ping before its time");
	cr_assert_eq(mconn_tick(&a, T0 + 60 * SEC), 0);
	uint8_t *out = drain(&a, &n);
	cr_assert_eq(n, ping_len);
	cr_assert_arr_eq(out, ping, ping_len, "not upstream's ping");
	free(out);
	cr_assert_eq(mconn_next_deadline(&a), T0 + 105 * SEC, "pong due 45 s after the ping");

	struct got g = { 0 };
	cr_assert_eq(feed(&b, ping, ping_len, ping_len, &g), 0);
	cr_assert_eq(g.n, 0, "a ping is no message");
	out = drain(&b, &n);
	cr_assert_eq(n, pong_len);
	cr_assert_arr_eq(out, pong, pong_len, "not upstream's pong");
	free(out);

	cr_assert_eq(feed(&a, pong, pong_len, 1, &g), 0);
	cr_assert_eq(mconn_next_deadline(&a), T0 + 120 * SEC, "pong in: only the next ping is due");
	cr_assert_eq(mconn_tick(&a, T0 + 110 * SEC), 0, "no timeout after the pong");
	free(ping);
	free(pong);
	mconn_free(&a);
	mconn_free(&b);
	json_decref(root);
}

/* ---- splitting and joining ---------------------------------------------- */

struct packet {
	int32_t channel;
	bool eof;
	size_t data_len;
};

/* Parse our own output back into packets with the generated decoder. */
static size_t packets_of(const uint8_t *out, size_t n, struct packet *pk, size_t max)
{
	size_t count = 0;
	for (size_t off = 0; off < n;) {
		uint64_t len = 0;
		int shift = 0;
		uint8_t b;
		do {
			b = out[off++];
			len |= (uint64_t)(b & 0x7f) << shift;
			shift += 7;
		} while (b & 0x80);
		cr_assert_leq(off + len, n);
		cr_assert_eq(out[off], 0x1a, "a PacketMsg");
		/* Packet{packet_msg = 3}: inner length, then channel (1), eof (2), data (3). */
		size_t p = off + 1;
		uint64_t inner = 0;
		shift = 0;
		do {
			b = out[p++];
			inner |= (uint64_t)(b & 0x7f) << shift;
			shift += 7;
		} while (b & 0x80);
		size_t end = p + inner;
		cr_assert_lt(count, max);
		struct packet *k = &pk[count++];
		memset(k, 0, sizeof(*k));
		while (p < end) {
			uint8_t tag = out[p++];
			if (tag == 0x08) {
				k->channel = out[p++];
			} else if (tag == 0x10) {
				k->eof = out[p++] != 0;
			} else {
				cr_assert_eq(tag, 0x1a);
				uint64_t dl = 0;
				shift = 0;
				do {
					b = out[p++];
					dl |= (uint64_t)(b & 0x7f) << shift;
					shift += 7;
				} while (b & 0x80);
				k->data_len = dl;
				p += dl;
			}
		}
		off += len;
	}
	return count;
}

static void split_case(uint8_t channel, size_t len, size_t want_packets)
{
	struct mconn_config cfg;
	mconn_config_default(&cfg);
	cfg.channels[1].id = 0x20;
	cfg.n_channels = 2;
	struct mconn tx, rx;
	cr_assert_eq(mconn_init(&tx, &cfg, T0), 0);
	cr_assert_eq(mconn_init(&rx, &cfg, T0), 0);
	uint8_t *msg = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	cr_assert_eq(mconn_send(&tx, channel, msg, len), 0);
	size_t n;
	uint8_t *out = drain(&tx, &n);

	struct packet pk[16];
	size_t count = packets_of(out, n, pk, 16);
	cr_assert_eq(count, want_packets, "%zu bytes: %zu packets, want %zu", len, count,
		     want_packets);
	for (size_t i = 0; i < count; i++) {
		cr_assert_eq(pk[i].channel, channel);
		cr_assert_eq(pk[i].eof, i == count - 1, "eof on the last packet only");
		size_t want = i < count - 1 ? MCONN_MAX_PAYLOAD : len - (count - 1) * MCONN_MAX_PAYLOAD;
		cr_assert_eq(pk[i].data_len, want, "packet %zu carries %zu", i, pk[i].data_len);
	}

	struct got g = { 0 };
	cr_assert_eq(feed(&rx, out, n, n, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.channel[0], channel);
	cr_assert_eq(g.len[0], len);
	cr_assert_arr_eq(g.data[0], msg, len);
	got_free(&g);
	free(out);
	free(msg);
	mconn_free(&tx);
	mconn_free(&rx);
}

Test(mconn, split_and_join)
{
	split_case(0x00, 0, 1); /* an empty message is one empty packet with eof */
	split_case(0x00, 1, 1);
	split_case(0x20, 1023, 1);
	split_case(0x20, 1024, 1);
	split_case(0x20, 1025, 2);
	split_case(0x00, 2048, 2);
	split_case(0x00, 2500, 3);
	split_case(0x20, 10 * 1024 + 1, 11);
}

Test(mconn, empty_message_bytes)
{
	struct mconn c;
	conn_default(&c);
	cr_assert_eq(mconn_send(&c, PEX_CHANNEL, NULL, 0), 0);
	size_t n;
	uint8_t *out = drain(&c, &n);
	/* Packet{packet_msg{eof: true}}: channel 0 and empty data omitted, as upstream. */
	const uint8_t want[] = { 0x04, 0x1a, 0x02, 0x10, 0x01 };
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	free(out);
	mconn_free(&c);
}

/* ---- batching ----------------------------------------------------------- */

/*
 * One stream: ping, a 2500-byte message (3 packets), pong, a 5-byte message,
 * ping. Fed in every chunk size from 1 byte to the whole stream, the reader
 * sees the same two messages and owes exactly one pong.
 */
Test(mconn, any_chunking_gives_the_same_messages)
{
	struct mconn tx;
	conn_default(&tx);
	uint8_t big[2500], small[5] = { 1, 2, 3, 4, 5 };
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	cr_assert_eq(mconn_tick(&tx, T0 + 60 * SEC), 0); /* ping */
	cr_assert_eq(mconn_send(&tx, PEX_CHANNEL, big, sizeof(big)), 0);
	const uint8_t pong[] = { 0x02, 0x12, 0x00 };
	size_t n;
	uint8_t *part = drain(&tx, &n);
	uint8_t stream[4096];
	memcpy(stream, part, n);
	free(part);
	memcpy(stream + n, pong, sizeof(pong));
	n += sizeof(pong);
	cr_assert_eq(mconn_send(&tx, PEX_CHANNEL, small, sizeof(small)), 0);
	size_t m;
	part = drain(&tx, &m);
	memcpy(stream + n, part, m);
	n += m;
	free(part);
	const uint8_t ping[] = { 0x02, 0x0a, 0x00 };
	memcpy(stream + n, ping, sizeof(ping));
	n += sizeof(ping);

	for (size_t step = 1; step <= n; step++) {
		struct mconn rx;
		conn_default(&rx);
		struct got g = { 0 };
		cr_assert_eq(feed(&rx, stream, n, step, &g), 0, "step %zu", step);
		cr_assert_eq(g.n, 2, "step %zu: %zu messages", step, g.n);
		cr_assert_eq(g.len[0], sizeof(big));
		cr_assert_arr_eq(g.data[0], big, sizeof(big), "step %zu", step);
		cr_assert_eq(g.len[1], sizeof(small));
		cr_assert_arr_eq(g.data[1], small, sizeof(small), "step %zu", step);
		cr_assert_eq(rx.pings_in, 2);
		cr_assert_eq(rx.pongs_in, 1);
		size_t out_len;
		uint8_t *out = drain(&rx, &out_len);
		cr_assert_eq(out_len, 3, "two pings between writes: one pong");
		cr_assert_arr_eq(out, pong, 3);
		free(out);
		cr_assert_eq(mconn_eof_error(&rx), WIRE_ERR_CLOSED);
		got_free(&g);
		mconn_free(&rx);
	}
	mconn_free(&tx);
}

/* Messages interleaved on two channels are joined per channel. */
Test(mconn, channels_join_separately)
{
	struct mconn_config cfg;
	mconn_config_default(&cfg);
	cfg.channels[1].id = 0x30;
	cfg.n_channels = 2;
	struct mconn rx;
	cr_assert_eq(mconn_init(&rx, &cfg, T0), 0);
	/* ch 0 "ab" (no eof), ch 0x30 "xy" (eof), ch 0 "c" (eof). */
	const uint8_t in[] = {
		0x06, 0x1a, 0x04, 0x1a, 0x02, 'a', 'b',
		0x0a, 0x1a, 0x08, 0x08, 0x30, 0x10, 0x01, 0x1a, 0x02, 'x', 'y',
		0x07, 0x1a, 0x05, 0x10, 0x01, 0x1a, 0x01, 'c',
	};
	struct got g = { 0 };
	cr_assert_eq(feed(&rx, in, sizeof(in), sizeof(in), &g), 0);
	cr_assert_eq(g.n, 2);
	cr_assert_eq(g.channel[0], 0x30);
	cr_assert_arr_eq(g.data[0], "xy", 2);
	cr_assert_eq(g.channel[1], 0x00);
	cr_assert_eq(g.len[1], 3);
	cr_assert_arr_eq(g.data[1], "abc", 3);
	got_free(&g);
	mconn_free(&rx);
}

/* ---- refusals ------------------------------------------------------------ */

static void refused(const uint8_t *in, size_t n, enum wire_error want)
{
	struct mconn rx;
	conn_default(&rx);
	struct got g = { 0 };
	cr_assert_eq(feed(&rx, in, n, n, &g), -EPROTO, "accepted, want %s", wire_error_name(want));
	cr_assert_eq(rx.error, want, "%s, want %s", wire_error_name(rx.error),
		     wire_error_name(want));
	/* Dead from then on: every call refuses, nothing is queued, nothing is due. */
	struct mconn_msg msg;
	cr_assert_eq(mconn_read(&rx, in, n, &msg), -EPROTO);
	cr_assert_eq(mconn_tick(&rx, T0 + 1000 * SEC), -EPROTO);
	cr_assert_eq(mconn_next_deadline(&rx), INT64_MAX);
	got_free(&g);
	mconn_free(&rx);
}

Test(mconn, unknown_channel_drops_the_peer)
{
	/* PacketMsg on channel 0x30: we announced 0x00 only. */
	const uint8_t ch30[] = { 0x08, 0x1a, 0x06, 0x08, 0x30, 0x10, 0x01, 0x1a, 0x00 };
	refused(ch30, sizeof(ch30), WIRE_ERR_UNKNOWN_CHANNEL);
	/* Channel 256: upstream checks the range before cutting it to a byte (0). */
	const uint8_t ch256[] = { 0x07, 0x1a, 0x05, 0x08, 0x80, 0x02, 0x10, 0x01 };
	refused(ch256, sizeof(ch256), WIRE_ERR_UNKNOWN_CHANNEL);
	/* Channel -1 (a ten-byte varint). */
	const uint8_t chneg[] = { 0x0f, 0x1a, 0x0d, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
				  0xff, 0xff, 0xff, 0xff, 0x01, 0x10, 0x01 };
	refused(chneg, sizeof(chneg), WIRE_ERR_UNKNOWN_CHANNEL);
}

Test(mconn, malformed_packets)
{
	const uint8_t empty_packet[] = { 0x00 }; /* Packet with no kind */
	refused(empty_packet, sizeof(empty_packet), WIRE_ERR_MSG_MALFORMED);
	const uint8_t bad_protobuf[] = { 0x02, 0x1a, 0x05 }; /* inner length past the end */
	refused(bad_protobuf, sizeof(bad_protobuf), WIRE_ERR_MSG_MALFORMED);
	const uint8_t bad_varint[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	refused(bad_varint, sizeof(bad_varint), WIRE_ERR_MSG_MALFORMED);
}

Test(mconn, packet_above_upstreams_limit)
{
	struct mconn rx;
	conn_default(&rx);
	cr_assert_eq(rx.max_packet, 1034, "upstream maxPacketMsgSize for 1024-byte payloads");
	mconn_free(&rx);
	/* 1035 announced: refused on the varint alone. */
	const uint8_t too_big[] = { 0x8b, 0x08 };
	refused(too_big, sizeof(too_big), WIRE_ERR_MSG_TOO_LARGE);

	/* Exactly 1034: a full packet on channel 1 passes. */
	struct mconn_config cfg;
	mconn_config_default(&cfg);
	cfg.channels[0].id = 0x01;
	struct mconn tx;
	cr_assert_eq(mconn_init(&tx, &cfg, T0), 0);
	cr_assert_eq(mconn_init(&rx, &cfg, T0), 0);
	uint8_t full[MCONN_MAX_PAYLOAD] = { 0 };
	cr_assert_eq(mconn_send(&tx, 0x01, full, sizeof(full)), 0);
	size_t n;
	uint8_t *out = drain(&tx, &n);
	cr_assert_eq(n, 2 + 1034);
	struct got g = { 0 };
	cr_assert_eq(feed(&rx, out, n, 100, &g), 0);
	cr_assert_eq(g.n, 1);
	got_free(&g);
	free(out);
	mconn_free(&tx);
	mconn_free(&rx);
}

/* The PEX channel takes messages up to 64,000 bytes, as upstream's RecvMessageCapacity. */
Test(mconn, message_above_channel_capacity)
{
	static uint8_t msg[PEX_MAX_MSG_SIZE + 1];
	for (size_t extra = 0; extra <= 1; extra++) {
		struct mconn tx, rx;
		conn_default(&tx);
		conn_default(&rx);
		cr_assert_eq(mconn_send(&tx, PEX_CHANNEL, msg, PEX_MAX_MSG_SIZE + extra), 0,
			     "we do not police what the peer accepts");
		size_t n;
		uint8_t *out = drain(&tx, &n);
		struct got g = { 0 };
		int rc = feed(&rx, out, n, 4096, &g);
		if (extra == 0) {
			cr_assert_eq(rc, 0);
			cr_assert_eq(g.n, 1);
			cr_assert_eq(g.len[0], PEX_MAX_MSG_SIZE);
			/* The 64,000-byte buffer is released by the next read, not kept per peer. */
			struct mconn_msg none;
			cr_assert_eq(mconn_read(&rx, NULL, 0, &none), 0);
			cr_assert_null(rx.chans[0].buf);
		} else {
			cr_assert_eq(rc, -EPROTO, "64,001 bytes accepted");
			cr_assert_eq(rx.error, WIRE_ERR_MSG_TOO_LARGE);
			cr_assert_eq(g.n, 0);
		}
		got_free(&g);
		free(out);
		mconn_free(&tx);
		mconn_free(&rx);
	}
}

Test(mconn, send_only_on_our_channels)
{
	struct mconn c;
	conn_default(&c);
	cr_assert_eq(mconn_send(&c, 0x20, (const uint8_t *)"x", 1), -EINVAL);
	size_t n;
	mconn_output(&c, &n);
	cr_assert_eq(n, 0, "nothing queued");
	mconn_free(&c);
}

/* ---- keep-alive ---------------------------------------------------------- */

Test(mconn, pong_timeout)
{
	struct mconn c;
	conn_default(&c);
	cr_assert_eq(mconn_tick(&c, T0 + 60 * SEC), 0);
	size_t n;
	free(drain(&c, &n));
	cr_assert_eq(n, 3, "a ping");
	cr_assert_eq(mconn_tick(&c, T0 + 105 * SEC - 1), 0, "not yet late");
	cr_assert_eq(mconn_tick(&c, T0 + 105 * SEC), -EPROTO);
	cr_assert_eq(c.error, WIRE_ERR_PONG_TIMEOUT);
	mconn_free(&c);
}

Test(mconn, pings_keep_their_period_and_skip_missed_ticks)
{
	struct mconn c;
	conn_default(&c);
	const uint8_t pong[] = { 0x02, 0x12, 0x00 };
	struct mconn_msg msg;
	size_t n;
	for (int i = 1; i <= 3; i++) {
		int64_t t = T0 + i * 60 * SEC + 5 * SEC; /* the loop runs 5 s late */
		cr_assert_eq(mconn_tick(&c, t), 0);
		free(drain(&c, &n));
		cr_assert_eq(n, 3, "ping %d", i);
		cr_assert_eq(mconn_read(&c, pong, sizeof(pong), &msg), 3);
		cr_assert_eq(mconn_next_deadline(&c), T0 + (i + 1) * 60 * SEC, "period kept");
	}
	/* Asleep for ten minutes: one ping, not ten, then a period from now. */
	int64_t late = T0 + 14 * 60 * SEC;
	cr_assert_eq(mconn_tick(&c, late), 0);
	free(drain(&c, &n));
	cr_assert_eq(n, 3);
	cr_assert_eq(mconn_read(&c, pong, sizeof(pong), &msg), 3);
	cr_assert_eq(mconn_next_deadline(&c), late + 60 * SEC);
	mconn_free(&c);
}

Test(mconn, timers_are_configurable)
{
	struct mconn_config cfg;
	mconn_config_default(&cfg);
	cfg.ping_interval_ns = 2 * SEC;
	cfg.pong_timeout_ns = 1 * SEC;
	struct mconn c;
	cr_assert_eq(mconn_init(&c, &cfg, 0), 0);
	cr_assert_eq(mconn_next_deadline(&c), 2 * SEC);
	cr_assert_eq(mconn_tick(&c, 2 * SEC), 0);
	cr_assert_eq(mconn_next_deadline(&c), 3 * SEC);
	cr_assert_eq(mconn_tick(&c, 3 * SEC), -EPROTO);
	cr_assert_eq(c.error, WIRE_ERR_PONG_TIMEOUT);
	mconn_free(&c);

	/* Upstream refuses a pong timeout that is not shorter than the ping interval. */
	cfg.pong_timeout_ns = 2 * SEC;
	cr_assert_eq(mconn_init(&c, &cfg, 0), -EINVAL);
	cfg.pong_timeout_ns = 1 * SEC;
	cfg.n_channels = 0;
	cr_assert_eq(mconn_init(&c, &cfg, 0), -EINVAL, "no channel");
	cfg.n_channels = 2; /* channels[1] is 0x00 too: a duplicate */
	cr_assert_eq(mconn_init(&c, &cfg, 0), -EINVAL, "duplicate channel");
	cfg.n_channels = 1;
	cfg.max_payload = 0;
	cr_assert_eq(mconn_init(&c, &cfg, 0), -EINVAL, "no payload");
}

Test(mconn, output_may_be_written_in_parts)
{
	struct mconn c;
	conn_default(&c);
	uint8_t msg[3000];
	memset(msg, 0xab, sizeof(msg));
	cr_assert_eq(mconn_send(&c, PEX_CHANNEL, msg, sizeof(msg)), 0);
	size_t total;
	const uint8_t *p = mconn_output(&c, &total);
	uint8_t *all = malloc(total);
	memcpy(all, p, total);
	/* A socket that takes 100 bytes at a time, with more queued in between. */
	uint8_t seen[8192];
	size_t got = 0, n;
	for (int i = 0; i < 5; i++) {
		p = mconn_output(&c, &n);
		memcpy(seen + got, p, 100);
		got += 100;
		mconn_output_done(&c, 100);
	}
	cr_assert_eq(mconn_send(&c, PEX_CHANNEL, msg, 10), 0);
	p = mconn_output(&c, &n);
	/* 10 bytes on channel 0: 10 1a 0e 10 01 1a 0a + data, 17 bytes. */
	cr_assert_eq(n, total - 500 + 17);
	memcpy(seen + got, p, n);
	cr_assert_arr_eq(seen + total, "\x10\x1a\x0e\x10\x01\x1a\x0a", 7);
	mconn_output_done(&c, n + 99); /* more than there is: clamped */
	mconn_output(&c, &n);
	cr_assert_eq(n, 0);
	cr_assert_arr_eq(seen, all, total, "bytes reordered or lost");
	free(all);
	mconn_free(&c);
}

Test(mconn, eof_inside_a_packet_or_a_message_is_truncation)
{
	struct mconn c;
	conn_default(&c);
	cr_assert_eq(mconn_eof_error(&c), WIRE_ERR_CLOSED);
	struct mconn_msg msg;
	const uint8_t half_packet[] = { 0x08, 0x1a, 0x06 };
	cr_assert_eq(mconn_read(&c, half_packet, sizeof(half_packet), &msg), 3);
	cr_assert_eq(mconn_eof_error(&c), WIRE_ERR_TRUNCATED);
	mconn_free(&c);

	conn_default(&c);
	const uint8_t no_eof[] = { 0x05, 0x1a, 0x03, 0x1a, 0x01, 'a' };
	cr_assert_eq(mconn_read(&c, no_eof, sizeof(no_eof), &msg), 6);
	cr_assert_null(msg.data);
	cr_assert_eq(mconn_eof_error(&c), WIRE_ERR_TRUNCATED, "message without its last packet");
	mconn_free(&c);
}
