/* SPDX-License-Identifier: Apache-2.0 */
/* conn.c - one accepted connection's protocol (see conn.h). */
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "forge.h"
#include "pex_out.h"

#define MS 1000000LL

void conn_settings_init(struct conn_settings *s, const struct farm_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->handshake_timeout_ns = (int64_t)o->handshake_timeout_ms * MS;
	s->drip_ns = (int64_t)o->drip_ms * MS;
	/* Every channel announced is served: a node may talk on them; only PEX is answered. */
	struct mconn_config *m = &s->mconn;
	mconn_config_default(m);
	m->n_channels = NODE_N_CHANNELS;
	for (size_t i = 0; i < NODE_N_CHANNELS; i++) {
		m->channels[i].id = node_channels[i];
		m->channels[i].recv_capacity =
			node_channels[i] == PEX_CHANNEL ? PEX_MAX_MSG_SIZE : CONN_CHANNEL_CAPACITY;
	}
	m->ping_interval_ns = (int64_t)o->ping_interval_ms * MS;
	m->pong_timeout_ns = (int64_t)o->pong_timeout_ms * MS;
}

static enum farm_variant variant(const struct conn *c)
{
	return c->node->peer->variant;
}

static bool stalls(const struct conn *c)
{
	return variant(c) == VAR_DRIP || variant(c) == VAR_SILENT;
}

/*
 * We end the session: count why; send what is queued, then FIN. A peer that
 * stalls its handshake on purpose just closes: it has nothing to flush.
 */
static void end(struct conn *c, enum wire_error why, int64_t now)
{
	if (c->phase >= CONN_HANGUP)
		return;
	c->why = why;
	c->set->stats->ended[why]++;
	c->phase = stalls(c) ? CONN_DONE : CONN_HANGUP;
	c->deadline = now + CONN_LINGER_NS;
}

static void internal(struct conn *c)
{
	c->set->stats->internal++;
	c->phase = CONN_DONE;
}

/* We sent what we should not have: wait for the dialer to notice and leave. */
static void hold(struct conn *c, int64_t now)
{
	c->phase = CONN_HOLD;
	c->deadline = now + c->set->handshake_timeout_ns;
}

/* Seal what MConnection has for the dialer (a pong, a ping, a reply). */
static void seal_mconn(struct conn *c)
{
	if (!c->mc_live || c->phase > CONN_HANGUP)
		return;
	size_t n;
	const uint8_t *o = mconn_output(&c->mc, &n);
	if (n == 0)
		return;
	if (sc_send(&c->sc, o, n) < 0) {
		internal(c);
		return;
	}
	mconn_output_done(&c->mc, n);
	const uint8_t *p;
	if (sc_tx_peek(&c->sc, &p) > CONN_TX_MAX) {
		c->set->stats->unread++;
		c->phase = CONN_DONE;
	}
}

int conn_start(struct conn *c, const struct farm_node *n, const struct conn_settings *s,
	       int64_t now)
{
	memset(c, 0, sizeof(*c));
	c->node = n;
	c->set = s;
	c->phase = CONN_HANDSHAKE;
	/* A stalling peer outlasts any sane dialer, but not forever. */
	c->deadline = now + s->handshake_timeout_ns * (stalls(c) ? 3 : 1);
	c->next_drip = now;
	struct sc_config cfg = {
		.role = SC_LISTENER,
		.me = &n->peer->key,
		.deadline = c->deadline,
	};
	return sc_init(&c->sc, &cfg);
}

static void on_open(struct conn *c, int64_t now)
{
	c->set->stats->sc_open++;
	c->phase = CONN_NODEINFO;
	sc_set_step(&c->sc, WIRE_STEP_NODE_INFO);
	uint8_t msg[FORGE_MSG_MAX];
	int rc = 0;
	switch (variant(c)) {
	case VAR_FRAME:
		c->raw = malloc(SC_FRAME_SEALED);
		if (!c->raw) {
			internal(c);
			return;
		}
		forge_frame(&c->sc, c->raw);
		hold(c, now);
		return;
	case VAR_NODEINFO:
		rc = sc_send(&c->sc, msg, forge_message(FORGE_NODEINFO_LEN, msg));
		hold(c, now);
		break;
	default:
		rc = sc_send(&c->sc, c->node->info_wire, c->node->info_len);
		break;
	}
	if (rc < 0)
		internal(c);
}

static void flood(struct conn *c)
{
	ssize_t n = pex_out_knows(c->node->f, c->node->index, c->set->scratch, PEX_MAX_MSG_SIZE);
	if (n < 0 || mconn_send(&c->mc, PEX_CHANNEL, c->set->scratch, (size_t)n) < 0)
		internal(c);
}

static void start_session(struct conn *c, int64_t now)
{
	c->set->stats->sessions++;
	if (mconn_init(&c->mc, &c->set->mconn, now) < 0) {
		internal(c);
		return;
	}
	c->mc_live = true;
	pex_peer_init(&c->pex, false, c->node->seed_mode);
	sc_set_step(&c->sc, WIRE_STEP_SESSION);
	c->phase = CONN_SESSION;
	if (variant(c) == VAR_UNSOLICITED) {
		/* Two at once: at most one can be the reply to a request, whatever the timing. */
		flood(c);
		flood(c);
		c->next_flood = now + CONN_FLOOD_EVERY_NS;
	} else if (variant(c) == VAR_PACKET) {
		uint8_t msg[FORGE_MSG_MAX];
		if (sc_send(&c->sc, msg, forge_message(FORGE_PACKET_LEN, msg)) < 0)
			internal(c);
		else
			hold(c, now);
	}
}

static void read_nodeinfo(struct conn *c, int64_t now)
{
	const uint8_t *body;
	size_t len;
	int rc = sc_read_msg(&c->sc, NODEINFO_MAX_SIZE, &body, &len);
	if (rc == -EAGAIN)
		return;
	if (rc < 0) {
		end(c, c->sc.error, now);
		return;
	}
	struct nodeinfo theirs;
	enum wire_error e = WIRE_OK;
	rc = nodeinfo_decode(body, len, &theirs, &e);
	if (rc == -EPROTO) {
		end(c, e, now);
		return;
	}
	if (rc < 0) {
		internal(c);
		return;
	}
	char why[NODEINFO_WHY_LEN];
	rc = nodeinfo_check(&c->node->info, &theirs, c->sc.remote_id, &e, why, sizeof(why));
	nodeinfo_free(&theirs);
	if (rc < 0)
		end(c, e, now);
	else
		start_session(c, now);
}

static void reply(struct conn *c, bool then_close, int64_t now)
{
	const struct farm_node *n = c->node;
	ssize_t len = variant(c) == VAR_OVER_CAP
			      ? pex_out_over_cap(n->f, n->index, c->set->scratch, PEX_MAX_MSG_SIZE)
			      : pex_out_knows(n->f, n->index, c->set->scratch, PEX_MAX_MSG_SIZE);
	if (len < 0 || mconn_send(&c->mc, PEX_CHANNEL, c->set->scratch, (size_t)len) < 0) {
		internal(c);
		return;
	}
	c->set->stats->pex_replies++;
	if (then_close) {
		seal_mconn(c); /* the reply goes out before the FIN */
		end(c, WIRE_OK, now);
	}
}

static void on_pex(struct conn *c, const uint8_t *data, size_t len, int64_t now)
{
	struct pex_msg m;
	enum wire_error e = WIRE_OK;
	int rc = pex_decode(data, len, &m, &e);
	if (rc == 0) {
		enum pex_action act;
		rc = pex_peer_receive(&c->pex, &m, now, &act, &e);
		pex_msg_free(&m);
		if (rc == 0 && (act == PEX_ACT_REPLY || act == PEX_ACT_REPLY_AND_CLOSE))
			reply(c, act == PEX_ACT_REPLY_AND_CLOSE, now);
	}
	/* A farm peer never asks, so addresses are always unsolicited: pex_peer_receive says so. */
	if (rc == -EPROTO)
		end(c, e, now);
	else if (rc < 0)
		internal(c);
}

/* MConnection packets out of the decrypted stream; PEX messages acted on, others dropped. */
static void read_packets(struct conn *c, int64_t now)
{
	const uint8_t *p;
	size_t n;
	while (c->phase == CONN_SESSION && (n = sc_rx_peek(&c->sc, &p)) > 0) {
		struct mconn_msg m;
		ssize_t r = mconn_read(&c->mc, p, n, &m);
		if (r < 0) {
			if (r == -EPROTO)
				end(c, c->mc.error, now);
			else
				internal(c);
			return;
		}
		sc_rx_advance(&c->sc, (size_t)r);
		if (m.data && m.channel == PEX_CHANNEL)
			on_pex(c, m.data, m.len, now);
	}
}

void conn_input(struct conn *c, const uint8_t *p, size_t n, int64_t now)
{
	if (c->phase > CONN_SESSION)
		return; /* hold, hangup, linger: read and dropped */
	if (sc_recv(&c->sc, p, n, now) < 0) {
		end(c, c->sc.error, now);
		return;
	}
	if (c->phase == CONN_HANDSHAKE && c->sc.state == SC_OPEN)
		on_open(c, now);
	if (c->phase == CONN_NODEINFO)
		read_nodeinfo(c, now);
	if (c->phase == CONN_SESSION)
		read_packets(c, now);
	seal_mconn(c);
}

void conn_eof(struct conn *c)
{
	c->phase = CONN_DONE;
}

void conn_tick(struct conn *c, int64_t now)
{
	switch (c->phase) {
	case CONN_HANDSHAKE:
	case CONN_NODEINFO:
		if (now >= c->deadline)
			end(c, WIRE_ERR_TIMEOUT, now);
		break;
	case CONN_SESSION:
		if (mconn_tick(&c->mc, now) < 0) {
			end(c, c->mc.error, now);
			break;
		}
		if (variant(c) == VAR_UNSOLICITED && now >= c->next_flood) {
			flood(c);
			c->next_flood = now + CONN_FLOOD_EVERY_NS;
		}
		seal_mconn(c);
		break;
	case CONN_HOLD:
	case CONN_HANGUP:
	case CONN_LINGER:
		if (now >= c->deadline)
			c->phase = CONN_DONE;
		break;
	case CONN_DONE:
		break;
	}
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t conn_next_deadline(const struct conn *c)
{
	int64_t d = INT64_MAX;
	switch (c->phase) {
	case CONN_SESSION:
		d = mconn_next_deadline(&c->mc);
		if (variant(c) == VAR_UNSOLICITED)
			d = min64(d, c->next_flood);
		break;
	case CONN_DONE:
		return 0;
	default:
		d = c->deadline;
		break;
	}
	const uint8_t *p;
	if (variant(c) == VAR_DRIP && sc_tx_peek(&c->sc, &p) > 0)
		d = min64(d, c->next_drip);
	return d;
}

static int append(struct obuf *o, const uint8_t *p, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 2048;
		while (cap < o->len + n)
			cap *= 2;
		uint8_t *q = realloc(o->p, cap);
		if (!q)
			return -ENOMEM;
		o->p = q;
		o->cap = cap;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return 0;
}

int conn_output(struct conn *c, struct obuf *out, int64_t now)
{
	if (c->phase >= CONN_LINGER || variant(c) == VAR_SILENT)
		return 0;
	const uint8_t *p;
	size_t n = sc_tx_peek(&c->sc, &p);
	if (variant(c) == VAR_DRIP) {
		if (n == 0 || now < c->next_drip)
			return 0;
		n = 1;
		c->next_drip = now + c->set->drip_ns;
	}
	if (n) {
		if (append(out, p, n) < 0)
			return -ENOMEM;
		sc_tx_advance(&c->sc, n);
	}
	if (c->raw && sc_tx_peek(&c->sc, &p) == 0) {
		if (append(out, c->raw, SC_FRAME_SEALED) < 0)
			return -ENOMEM;
		free(c->raw);
		c->raw = NULL;
	}
	return 0;
}

bool conn_flushed(const struct conn *c)
{
	const uint8_t *p;
	return c->phase == CONN_HANGUP && sc_tx_peek(&c->sc, &p) == 0 && !c->raw;
}

void conn_shut(struct conn *c, int64_t now)
{
	c->phase = CONN_LINGER;
	c->deadline = now + CONN_LINGER_NS;
}

void conn_free(struct conn *c)
{
	sc_free(&c->sc);
	if (c->mc_live)
		mconn_free(&c->mc);
	c->mc_live = false;
	free(c->raw);
	c->raw = NULL;
}
