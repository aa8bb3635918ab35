/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_mconn.c - libFuzzer target for MConnection input: the decrypted
 * byte stream of a peer.
 *
 * Input: a control byte (bits 0-5: chunk size - 1; bit 6: serve channel
 * 0x20 as well as PEX 0x00; bit 7: tick the timers between chunks), then
 * the stream. Every message must fit its channel's capacity and come on a
 * channel we serve; an error must be one of the session's codes and final;
 * the output must be whole packets; and each message, sent again through a
 * second connection, must arrive unchanged at a third.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/mconn.h"
#include "wire/pex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC 1000000000LL

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static void config(struct mconn_config *cfg, int two_channels)
{
	mconn_config_default(cfg);
	if (two_channels) {
		cfg->channels[1].id = 0x20;
		cfg->channels[1].recv_capacity = 4096;
		cfg->n_channels = 2;
	}
}

/* Send msg through a fresh connection and read it back through another. */
static void relay(const struct mconn_config *cfg, const struct mconn_msg *msg)
{
	struct mconn tx, rx;
	check(mconn_init(&tx, cfg, 0) == 0 && mconn_init(&rx, cfg, 0) == 0, "init");
	check(mconn_send(&tx, msg->channel, msg->data, msg->len) == 0, "send refused");
	size_t n, got = 0;
	const uint8_t *out = mconn_output(&tx, &n);
	while (got < n) {
		struct mconn_msg back;
		ssize_t r = mconn_read(&rx, out + got, n - got, &back);
		check(r > 0, "our own packets refused");
		got += (size_t)r;
		if (back.data) {
			check(got == n, "a message before the last packet");
			check(back.channel == msg->channel && back.len == msg->len &&
				      memcmp(back.data, msg->data, msg->len) == 0,
			      "message changed on the way");
		}
	}
	check(rx.msgs_in == 1, "relayed message not seen once");
	mconn_free(&tx);
	mconn_free(&rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] & 63) + 1;
	int two = data[0] & 0x40, ticks = data[0] & 0x80;
	struct mconn_config cfg;
	config(&cfg, two);
	struct mconn c;
	check(mconn_init(&c, &cfg, 0) == 0, "init");
	int64_t now = 0;
	int dead = 0;
	for (size_t off = 1; off < size && !dead;) {
		size_t chunk = size - off < step ? size - off : step;
		const uint8_t *p = data + off;
		size_t left = chunk;
		while (left) {
			struct mconn_msg msg;
			ssize_t r = mconn_read(&c, p, left, &msg);
			if (r < 0) {
				check(r == -EPROTO, "unexpected error");
				check(c.error == WIRE_ERR_MSG_TOO_LARGE ||
					      c.error == WIRE_ERR_MSG_MALFORMED ||
					      c.error == WIRE_ERR_UNKNOWN_CHANNEL,
				      "unexpected session code");
				check(mconn_read(&c, p, left, &msg) == -EPROTO, "error not final");
				dead = 1;
				break;
			}
			check(r > 0 || msg.data, "no progress");
			p += r;
			left -= (size_t)r;
			if (msg.data) {
				check(msg.channel == PEX_CHANNEL || (two && msg.channel == 0x20),
				      "message on a channel we do not serve");
				check(msg.len <= (msg.channel == PEX_CHANNEL ? PEX_MAX_MSG_SIZE : 4096),
				      "message above its channel's capacity");
				relay(&cfg, &msg);
			}
		}
		off += chunk;
		if (ticks && !dead) {
			now += 50 * SEC;
			int rc = mconn_tick(&c, now);
			check(rc == 0 || (rc == -EPROTO && c.error == WIRE_ERR_PONG_TIMEOUT),
			      "unexpected tick result");
			dead = rc < 0;
		}
		/* Whatever we owe the peer is whole packets: our own reader takes it. */
		size_t n;
		const uint8_t *out = mconn_output(&c, &n);
		struct mconn echo;
		check(mconn_init(&echo, &cfg, 0) == 0, "init");
		for (size_t got = 0; got < n;) {
			struct mconn_msg m;
			ssize_t r = mconn_read(&echo, out + got, n - got, &m);
			check(r > 0, "our output is not packets");
			got += (size_t)r;
		}
		check(mconn_eof_error(&echo) == WIRE_ERR_CLOSED,
		      "our output ends inside a packet");
		mconn_free(&echo);
		mconn_output_done(&c, n);
	}
	enum wire_error eof = mconn_eof_error(&c);
	check(eof == WIRE_ERR_CLOSED || eof == WIRE_ERR_TRUNCATED, "unexpected end code");
	mconn_free(&c);
	return 0;
}
