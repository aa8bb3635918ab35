/* SPDX-License-Identifier: Apache-2.0 */
/* mconn.c - MConnection packets, channels and keep-alive, sans-IO (see mconn.h). */
#include "mconn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tendermint/p2p/conn.pb-c.h"
#include "wire/pb.h"
#include "wire/pex.h"

#define MCONN_KEEP_BUF 4096 /* a channel buffer above this is released once used */

void mconn_config_default(struct mconn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->channels[0].id = PEX_CHANNEL;
	cfg->channels[0].recv_capacity = PEX_MAX_MSG_SIZE;
	cfg->n_channels = 1;
	cfg->max_payload = MCONN_MAX_PAYLOAD;
	cfg->ping_interval_ns = MCONN_PING_INTERVAL_NS;
	cfg->pong_timeout_ns = MCONN_PONG_TIMEOUT_NS;
}

/*
 * Upstream's maxPacketMsgSize(): the packed size of a full packet on
 * channel 1 (08 01), eof (10 01), data of max_payload bytes, inside Packet
 * field 3. Its read limit for every packet: 1034 for 1024.
 */
static size_t max_packet_size(size_t payload)
{
	size_t msg = 2 + 2 + 1 + pb_varint_len(payload) + payload;
	return 1 + pb_varint_len(msg) + msg;
}

static int check_config(const struct mconn_config *cfg)
{
	if (cfg->n_channels == 0 || cfg->n_channels > MCONN_MAX_CHANNELS)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_channels; i++)
		for (size_t j = 0; j < i; j++)
			if (cfg->channels[i].id == cfg->channels[j].id)
				return -EINVAL;
	/* Upstream panics on pong >= ping: the next ping would reset the pong timer. */
	if (cfg->max_payload == 0 || cfg->ping_interval_ns <= 0 || cfg->pong_timeout_ns <= 0 ||
	    cfg->pong_timeout_ns >= cfg->ping_interval_ns)
		return -EINVAL;
	return 0;
}

int mconn_init(struct mconn *c, const struct mconn_config *cfg, int64_t now)
{
	memset(c, 0, sizeof(*c));
	int rc = check_config(cfg);
	if (rc < 0)
		return rc;
	c->cfg = *cfg;
	for (size_t i = 0; i < cfg->n_channels; i++) {
		c->chans[i].id = cfg->channels[i].id;
		c->chans[i].capacity = cfg->channels[i].recv_capacity ? cfg->channels[i].recv_capacity
								      : MCONN_DEFAULT_RECV_CAPACITY;
	}
	c->max_packet = max_packet_size(cfg->max_payload);
	delim_reader_init(&c->rd, c->max_packet);
	c->next_ping = now + cfg->ping_interval_ns;
	c->pong_due = INT64_MAX;
	return 0;
}

void mconn_free(struct mconn *c)
{
	for (size_t i = 0; i < c->cfg.n_channels; i++)
		free(c->chans[i].buf);
	delim_reader_free(&c->rd);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

static int fail(struct mconn *c, enum wire_error e)
{
	c->error = e;
	return -EPROTO;
}

static struct mconn_chan_state *find_chan(struct mconn *c, int32_t id)
{
	for (size_t i = 0; i < c->cfg.n_channels; i++)
		if (c->chans[i].id == id)
			return &c->chans[i];
	return NULL;
}

/* Upstream Channel.recvPacketMsg: join, refuse past the capacity, hand out on eof. */
static int join(struct mconn *c, const Tendermint__P2p__PacketMsg *pm, struct mconn_msg *msg)
{
	static const uint8_t empty[1];
	/* Upstream refuses a channel ID outside 0..255 before truncating it to a byte. */
	struct mconn_chan_state *ch =
		pm->channel_id >= 0 && pm->channel_id <= 255 ? find_chan(c, pm->channel_id) : NULL;
	if (!ch)
		return fail(c, WIRE_ERR_UNKNOWN_CHANNEL);
	size_t add = pm->data.len;
	if (add > ch->capacity - ch->len)
		return fail(c, WIRE_ERR_MSG_TOO_LARGE);
	if (ch->len + add > ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 1024;
		if (cap < ch->len + add)
			cap = ch->len + add;
		if (cap > ch->capacity)
			cap = ch->capacity;
		uint8_t *p = realloc(ch->buf, cap);
		if (!p)
			return -ENOMEM;
		ch->buf = p;
		ch->cap = cap;
	}
	if (add)
		memcpy(ch->buf + ch->len, pm->data.data, add);
	ch->len += add;
	if (pm->eof) {
		msg->channel = ch->id;
		msg->data = ch->buf ? ch->buf : empty;
		msg->len = ch->len;
		ch->delivered = true;
		c->msgs_in++;
	}
	return 0;
}

static int on_packet(struct mconn *c, const uint8_t *body, size_t len, struct mconn_msg *msg)
{
	Tendermint__P2p__Packet *p = tendermint__p2p__packet__unpack(NULL, len, body);
	if (!p)
		return fail(c, WIRE_ERR_MSG_MALFORMED);
	int rc = 0;
	c->packets_in++;
	switch (p->sum_case) {
	case TENDERMINT__P2P__PACKET__SUM_PACKET_PING:
		/* Upstream's pong channel holds one: pings in a burst get one pong. */
		c->pong_owed = true;
		c->pings_in++;
		break;
	case TENDERMINT__P2P__PACKET__SUM_PACKET_PONG:
		c->pong_due = INT64_MAX;
		c->pongs_in++;
		break;
	case TENDERMINT__P2P__PACKET__SUM_PACKET_MSG:
		rc = join(c, p->packet_msg, msg);
		break;
	default: /* an empty Packet: upstream's "unknown message type" */
		rc = fail(c, WIRE_ERR_MSG_MALFORMED);
		break;
	}
	tendermint__p2p__packet__free_unpacked(p, NULL);
	return rc;
}

ssize_t mconn_read(struct mconn *c, const uint8_t *in, size_t n, struct mconn_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	if (c->error)
		return -EPROTO;
	for (size_t i = 0; i < c->cfg.n_channels; i++) {
		struct mconn_chan_state *ch = &c->chans[i];
		if (!ch->delivered)
			continue;
		ch->delivered = false;
		ch->len = 0;
		/* Large messages are rare (a PEX reply every 30 s at most): do not keep
		 * up to 64,000 bytes per channel for each of thousands of peers. */
		if (ch->cap > MCONN_KEEP_BUF) {
			free(ch->buf);
			ch->buf = NULL;
			ch->cap = 0;
		}
	}
	size_t used = 0;
	while (used < n && !msg->data) {
		const uint8_t *body;
		size_t len;
		ssize_t r = delim_reader_feed(&c->rd, in + used, n - used, &body, &len);
		if (r == -EMSGSIZE)
			return fail(c, WIRE_ERR_MSG_TOO_LARGE);
		if (r == -EBADMSG)
			return fail(c, WIRE_ERR_MSG_MALFORMED);
		if (r < 0)
			return r;
		used += (size_t)r;
		if (body) {
			int rc = on_packet(c, body, len, msg);
			if (rc < 0)
				return rc;
		}
	}
	return (ssize_t)used;
}

static int reserve_out(struct mconn *c, size_t more)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + more <= c->out_cap)
		return 0;
	if (c->out_off) { /* slide the unwritten bytes down before growing */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_len + more <= c->out_cap)
			return 0;
	}
	size_t cap = c->out_cap ? c->out_cap * 2 : 2048;
	if (cap < c->out_len + more)
		cap = c->out_len + more;
	uint8_t *p = realloc(c->out, cap);
	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

/* Append one packet; room was reserved. */
static void put_packet(struct mconn *c, const Tendermint__P2p__Packet *p)
{
	ssize_t n = pb_write_delimited(&p->base, c->out + c->out_len, c->out_cap - c->out_len);
	c->out_len += (size_t)n;
}

static int send_control(struct mconn *c, bool ping)
{
	Tendermint__P2p__Packet p;
	Tendermint__P2p__PacketPing pi;
	Tendermint__P2p__PacketPong po;
	tendermint__p2p__packet__init(&p);
	tendermint__p2p__packet_ping__init(&pi);
	tendermint__p2p__packet_pong__init(&po);
	if (ping) {
		p.sum_case = TENDERMINT__P2P__PACKET__SUM_PACKET_PING;
		p.packet_ping = &pi;
	} else {
		p.sum_case = TENDERMINT__P2P__PACKET__SUM_PACKET_PONG;
		p.packet_pong = &po;
	}
	int rc = reserve_out(c, pb_delimited_size(&p.base));
	if (rc == 0)
		put_packet(c, &p);
	return rc;
}

/* Packet i of a message of len bytes (upstream Channel.nextPacketMsg). */
static void piece(const struct mconn *c, uint8_t channel, const uint8_t *msg, size_t len,
		  size_t off, Tendermint__P2p__Packet *p, Tendermint__P2p__PacketMsg *pm)
{
	size_t take = len - off < c->cfg.max_payload ? len - off : c->cfg.max_payload;
	tendermint__p2p__packet__init(p);
	tendermint__p2p__packet_msg__init(pm);
	pm->channel_id = channel;
	pm->eof = off + take == len;
	pm->data.len = take;
	pm->data.data = (uint8_t *)(uintptr_t)(msg + off);
	p->sum_case = TENDERMINT__P2P__PACKET__SUM_PACKET_MSG;
	p->packet_msg = pm;
}

int mconn_send(struct mconn *c, uint8_t channel, const uint8_t *msg, size_t len)
{
	if (!find_chan(c, channel))
		return -EINVAL;
	Tendermint__P2p__Packet p;
	Tendermint__P2p__PacketMsg pm;
	/* Room for every packet first, so a failed send queues nothing. */
	size_t total = 0, off = 0;
	do {
		piece(c, channel, msg, len, off, &p, &pm);
		total += pb_delimited_size(&p.base);
		off += pm.data.len;
	} while (off < len);
	int rc = reserve_out(c, total);
	if (rc < 0)
		return rc;
	off = 0;
	do {
		piece(c, channel, msg, len, off, &p, &pm);
		put_packet(c, &p);
		off += pm.data.len;
	} while (off < len);
	return 0;
}

int mconn_tick(struct mconn *c, int64_t now)
{
	if (c->error)
		return -EPROTO;
	if (now >= c->pong_due)
		return fail(c, WIRE_ERR_PONG_TIMEOUT);
	if (now >= c->next_ping) {
		int rc = send_control(c, true);
		if (rc < 0)
			return rc;
		c->pong_due = now + c->cfg.pong_timeout_ns;
		/* A ticker: the next one a period later; late ticks are dropped, not bunched. */
		c->next_ping += c->cfg.ping_interval_ns;
		if (c->next_ping <= now)
			c->next_ping = now + c->cfg.ping_interval_ns;
	}
	return 0;
}

int64_t mconn_next_deadline(const struct mconn *c)
{
	if (c->error)
		return INT64_MAX;
	return c->pong_due < c->next_ping ? c->pong_due : c->next_ping;
}

const uint8_t *mconn_output(struct mconn *c, size_t *len)
{
	/* An owed pong waits here so that a burst of pings costs one pong. */
	if (c->pong_owed && !c->error && send_control(c, false) == 0)
		c->pong_owed = false;
	*len = c->out_len - c->out_off;
	return c->out ? c->out + c->out_off : NULL;
}

void mconn_output_done(struct mconn *c, size_t n)
{
	if (n > c->out_len - c->out_off)
		n = c->out_len - c->out_off;
	c->out_off += n;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

enum wire_error mconn_eof_error(const struct mconn *c)
{
	if (delim_reader_partial(&c->rd))
		return WIRE_ERR_TRUNCATED;
	for (size_t i = 0; i < c->cfg.n_channels; i++)
		if (c->chans[i].len && !c->chans[i].delivered)
			return WIRE_ERR_TRUNCATED;
	return WIRE_ERR_CLOSED;
}
