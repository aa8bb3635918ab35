/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mconn.h - upstream's MConnection (p2p/conn/connection.go), enough for PEX
 * and keep-alive, as a sans-IO state: plaintext in (what the secret
 * connection decrypted), plaintext out (what it must encrypt), time given
 * as `now`. No sockets, no threads, no clock: one loop drives any number.
 *
 * On the stream every unit is a length-delimited Packet: a ping, a pong,
 * or a PacketMsg carrying up to max_payload (1024) bytes of one channel's
 * message, eof on its last piece. Packets may arrive several per chunk or
 * split across chunks; the output is one byte stream that the caller may
 * cut into frames anywhere.
 *
 *   mconn_init(&c, &cfg, now)
 *   loop:
 *     bytes decrypted  -> while (n) { r = mconn_read(&c, p, n, &msg); r < 0: drop (c.error);
 *                                     p += r; n -= r; if (msg.data) handle msg }
 *     a message to send -> mconn_send(&c, channel, bytes, len)
 *     deadline          -> timer at mconn_next_deadline(&c); then mconn_tick(&c, now) < 0: drop
 *     to write          -> out = mconn_output(&c, &len); encrypt, write; mconn_output_done(&c, n)
 */
#ifndef MUKAN_WIRE_MCONN_H
#define MUKAN_WIRE_MCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/delim_reader.h"
#include "wire/nodeinfo.h"
#include "wire/wire_error.h"

#define MCONN_MAX_PAYLOAD 1024				  /* defaultMaxPacketMsgPayloadSize */
#define MCONN_PING_INTERVAL_NS (60 * 1000000000LL)	  /* defaultPingInterval */
#define MCONN_PONG_TIMEOUT_NS (45 * 1000000000LL)	  /* defaultPongTimeout */
#define MCONN_DEFAULT_RECV_CAPACITY 22020096u		  /* defaultRecvMessageCapacity, 21 MB */
#define MCONN_MAX_CHANNELS NODEINFO_MAX_CHANNELS

/* A channel we serve, and the largest message we take on it. */
struct mconn_channel {
	uint8_t id;
	uint32_t recv_capacity; /* 0: upstream's default, 21 MB */
};

struct mconn_config {
	struct mconn_channel channels[MCONN_MAX_CHANNELS];
	size_t n_channels;
	size_t max_payload;	  /* bytes of a message per packet */
	int64_t ping_interval_ns; /* a ping this often */
	int64_t pong_timeout_ns;  /* its pong due within this; < ping_interval_ns */
};

/* Upstream's defaults, serving the PEX channel 0x00 (64,000-byte messages) alone. */
void mconn_config_default(struct mconn_config *cfg);

/* A complete message received on a channel. */
struct mconn_msg {
	uint8_t channel;
	const uint8_t *data; /* NULL when no message completed */
	size_t len;
};

struct mconn_chan_state {
	uint8_t id;
	size_t capacity;
	uint8_t *buf; /* the message being joined */
	size_t len, cap;
	bool delivered; /* buf was handed out; reset on the next read */
};

struct mconn {
	struct mconn_config cfg;
	struct mconn_chan_state chans[MCONN_MAX_CHANNELS];
	struct delim_reader rd;	 /* packets, limit max_packet */
	size_t max_packet;	 /* upstream maxPacketMsgSize(): 1034 for 1024 */
	int64_t next_ping;	 /* when the next ping is due */
	int64_t pong_due;	 /* INT64_MAX when no ping is waiting for its pong */
	bool pong_owed;		 /* the peer pinged: one pong goes out with the next output */
	enum wire_error error;	 /* set once; the connection is then dead */
	uint8_t *out;		 /* packets to write, from out_off */
	size_t out_off, out_len, out_cap;
	uint64_t pings_in, pongs_in, packets_in, msgs_in;
};

/* -EINVAL for a bad config (no channel, a duplicate, pong >= ping, payload 0). */
int mconn_init(struct mconn *c, const struct mconn_config *cfg, int64_t now);
void mconn_free(struct mconn *c);

/*
 * Consume plaintext from the peer up to the end of the first packet that
 * completes a channel message, or all of it. Returns the bytes consumed;
 * msg->data is set when a message completed (valid until the next
 * mconn_read). -EPROTO with c->error: WIRE_ERR_MSG_TOO_LARGE (a packet above
 * max_packet, or a message above its channel's capacity),
 * WIRE_ERR_MSG_MALFORMED (not a Packet, or an empty one),
 * WIRE_ERR_UNKNOWN_CHANNEL (a channel we did not announce); -ENOMEM.
 * A ping makes a pong owed; a pong clears the pong deadline.
 */
ssize_t mconn_read(struct mconn *c, const uint8_t *in, size_t n, struct mconn_msg *msg);

/*
 * Queue a message on one of our channels: split into PacketMsg of at most
 * max_payload bytes, eof on the last (an empty message is one empty packet
 * with eof). -EINVAL for a channel we do not serve, -ENOMEM.
 */
int mconn_send(struct mconn *c, uint8_t channel, const uint8_t *msg, size_t len);

/*
 * Timers: a ping when due (then its pong is due within pong_timeout), and
 * the pong deadline. -EPROTO with c->error WIRE_ERR_PONG_TIMEOUT when a pong
 * is late. Call at mconn_next_deadline() or whenever convenient.
 */
int mconn_tick(struct mconn *c, int64_t now);
int64_t mconn_next_deadline(const struct mconn *c);

/* The bytes waiting to be written (an owed pong included); len 0 when none. */
const uint8_t *mconn_output(struct mconn *c, size_t *len);
/* n of them were written. */
void mconn_output_done(struct mconn *c, size_t n);

/* Inside a packet: the stream ending now is WIRE_ERR_TRUNCATED, else WIRE_ERR_CLOSED. */
enum wire_error mconn_eof_error(const struct mconn *c);

#endif /* MUKAN_WIRE_MCONN_H */
