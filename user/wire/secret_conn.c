/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret_conn.c - the SecretConnection session: its buffers, the bytes in
 * and out, and the stream once open (see secret_conn.h). The handshake's
 * cryptography is sc_handshake.c.
 */
#include "sc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "delim.h"

const uint8_t sc_eph_prefix[3] = { 0x22, 0x0a, 0x20 };

/* An idle session keeps no more buffer than this (thousands of sessions are idle). */
#define SC_BUF_KEEP (16 * 1024)

int sc_buf_reserve(struct sc_buf *b, size_t extra, size_t max)
{
	size_t unread = b->len - b->off;
	if (extra > max || unread > max - extra)
		return -ENOBUFS;
	if (b->cap - b->len >= extra)
		return 0;
	if (b->off > 0) { /* compact before growing */
		memmove(b->p, b->p + b->off, unread);
		b->off = 0;
		b->len = unread;
		if (b->cap - b->len >= extra)
			return 0;
	}
	size_t cap = b->cap ? b->cap : 2048;
	while (cap - b->len < extra)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void buf_consumed(struct sc_buf *b, size_t n)
{
	b->off += n;
	if (b->off < b->len)
		return;
	b->off = b->len = 0;
	if (b->cap > SC_BUF_KEEP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

static void buf_free(struct sc_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void wipe_keys(struct secret_conn *c)
{
	sodium_memzero(c->eph_priv, sizeof(c->eph_priv));
	sodium_memzero(&c->send, sizeof(c->send));
	sodium_memzero(&c->recv, sizeof(c->recv));
}

int sc_set_failed(struct secret_conn *c, enum wire_error why)
{
	if (c->state != SC_FAILED) {
		c->state = SC_FAILED;
		c->error = why;
		wipe_keys(c);
	}
	return -EPROTO;
}

int sc_fail(struct secret_conn *c, enum wire_error why, enum wire_step step)
{
	if (c->state != SC_FAILED)
		c->step = step;
	return sc_set_failed(c, why);
}

void sc_set_step(struct secret_conn *c, enum wire_step step)
{
	if (c->state == SC_OPEN)
		c->step = step;
}

int sc_init(struct secret_conn *c, const struct sc_config *cfg)
{
	if (sodium_init() < 0)
		return -ENOSYS;
	memset(c, 0, sizeof(*c));
	c->role = cfg->role;
	c->state = SC_WAIT_EPH;
	c->step = WIRE_STEP_KEY_EXCHANGE;
	c->deadline = cfg->deadline;
	c->me = cfg->me;
	if (cfg->expect_id) {
		c->check_id = true;
		memcpy(c->expect_id, cfg->expect_id, MUKAN_ID_LEN);
	}
	if (cfg->eph_priv)
		memcpy(c->eph_priv, cfg->eph_priv, SC_EPH_KEY_LEN);
	else
		randombytes_buf(c->eph_priv, SC_EPH_KEY_LEN);
	/* X25519 clamps the scalar itself, as Go's box.GenerateKey relies on. */
	crypto_scalarmult_base(c->eph_pub, c->eph_priv);
	if (sc_buf_reserve(&c->tx, SC_EPH_MSG_LEN, SIZE_MAX) < 0) {
		sc_free(c);
		return -ENOMEM;
	}
	memcpy(c->tx.p, sc_eph_prefix, sizeof(sc_eph_prefix));
	memcpy(c->tx.p + sizeof(sc_eph_prefix), c->eph_pub, SC_EPH_KEY_LEN);
	c->tx.len = SC_EPH_MSG_LEN;
	return 0;
}

void sc_free(struct secret_conn *c)
{
	wipe_keys(c);
	sodium_memzero(c->challenge, sizeof(c->challenge));
	if (c->tx.p)
		sodium_memzero(c->tx.p, c->tx.cap);
	if (c->rx.p)
		sodium_memzero(c->rx.p, c->rx.cap);
	buf_free(&c->tx);
	buf_free(&c->rx);
	sodium_memzero(c->in, sizeof(c->in));
	c->in_len = 0;
}

/* The peer's ephemeral message, a byte at a time until it is whole. */
static int take_eph(struct secret_conn *c, const uint8_t **data, size_t *len)
{
	size_t n = SC_EPH_MSG_LEN - c->in_len;
	if (n > *len)
		n = *len;
	for (size_t i = 0; i < n; i++) {
		size_t at = c->in_len + i;
		/* Refuse at the first wrong byte of the fixed prefix, before the rest comes. */
		if (at < sizeof(sc_eph_prefix) && (*data)[i] != sc_eph_prefix[at])
			return sc_set_failed(c, WIRE_ERR_EPH_KEY_MALFORMED);
	}
	memcpy(c->in + c->in_len, *data, n);
	c->in_len += n;
	*data += n;
	*len -= n;
	return c->in_len == SC_EPH_MSG_LEN ? sc_on_eph_msg(c) : 0;
}

/* Open one sealed frame into the received plaintext. */
static int open_frame(struct secret_conn *c, const uint8_t *sealed)
{
	int rc = sc_buf_reserve(&c->rx, SC_DATA_MAX, SC_RX_MAX);
	if (rc == -ENOBUFS)
		return sc_set_failed(c, WIRE_ERR_MSG_TOO_LARGE);
	if (rc < 0)
		return rc;
	size_t n;
	enum wire_error why;
	if (sc_frame_open(&c->recv, sealed, c->rx.p + c->rx.len, &n, &why) < 0)
		return sc_set_failed(c, why);
	c->rx.len += n;
	return c->state == SC_WAIT_AUTH ? sc_try_auth_msg(c) : 0;
}

/* Sealed frames: straight from the caller's bytes when whole, else through c->in. */
static int take_frames(struct secret_conn *c, const uint8_t **data, size_t *len)
{
	while (*len > 0 && c->state != SC_FAILED) {
		int rc;
		if (c->in_len == 0 && *len >= SC_FRAME_SEALED) {
			rc = open_frame(c, *data);
			*data += SC_FRAME_SEALED;
			*len -= SC_FRAME_SEALED;
		} else {
			size_t n = SC_FRAME_SEALED - c->in_len;
			if (n > *len)
				n = *len;
			memcpy(c->in + c->in_len, *data, n);
			c->in_len += n;
			*data += n;
			*len -= n;
			if (c->in_len < SC_FRAME_SEALED)
				return 0;
			c->in_len = 0;
			rc = open_frame(c, c->in);
		}
		if (rc < 0)
			return rc;
	}
	return c->state == SC_FAILED ? -EPROTO : 0;
}

int sc_check_deadline(struct secret_conn *c, int64_t now)
{
	if (c->state == SC_FAILED)
		return -EPROTO;
	if (c->state != SC_OPEN && now >= c->deadline)
		return sc_set_failed(c, WIRE_ERR_TIMEOUT);
	return 0;
}

int sc_recv(struct secret_conn *c, const uint8_t *data, size_t len, int64_t now)
{
	/* Messages read since the last call are gone: an emptied buffer may shrink. */
	if (c->rx.off == c->rx.len)
		buf_consumed(&c->rx, 0);
	int rc = sc_check_deadline(c, now);
	while (rc == 0 && len > 0) {
		if (c->state == SC_WAIT_EPH)
			rc = take_eph(c, &data, &len);
		else
			rc = take_frames(c, &data, &len);
	}
	return rc;
}

int sc_recv_eof(struct secret_conn *c)
{
	if (c->state == SC_FAILED)
		return -EPROTO;
	bool partial = c->in_len > 0 || c->rx.len > c->rx.off;
	return sc_set_failed(c, partial ? WIRE_ERR_TRUNCATED : WIRE_ERR_CLOSED);
}

/* The unread bytes of b (NULL + 0 is undefined, so an empty buffer is special). */
static const uint8_t *buf_unread(const struct sc_buf *b)
{
	return b->p ? b->p + b->off : (const uint8_t *)"";
}

size_t sc_tx_peek(const struct secret_conn *c, const uint8_t **p)
{
	*p = buf_unread(&c->tx);
	return c->tx.len - c->tx.off;
}

void sc_tx_advance(struct secret_conn *c, size_t n)
{
	size_t pending = c->tx.len - c->tx.off;
	buf_consumed(&c->tx, n < pending ? n : pending);
}

int sc_seal_iov(struct secret_conn *c, const struct iovec *iov, int n)
{
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX / 2 - total)
			return -EMSGSIZE;
		total += iov[i].iov_len;
	}
	size_t frames = (total + SC_DATA_MAX - 1) / SC_DATA_MAX;
	if (frames > SIZE_MAX / SC_FRAME_SEALED)
		return -EMSGSIZE;
	int rc = sc_buf_reserve(&c->tx, frames * SC_FRAME_SEALED, SIZE_MAX);
	if (rc < 0)
		return rc;
	int i = 0;
	size_t used = 0; /* of iov[i] */
	for (size_t f = 0; f < frames; f++) {
		uint8_t *frame = c->tx.p + c->tx.len;
		size_t fill = 0;
		/* Gather the next (up to) 1024 bytes across iov boundaries. */
		while (fill < SC_DATA_MAX && i < n) {
			size_t take = iov[i].iov_len - used;
			if (take > SC_DATA_MAX - fill)
				take = SC_DATA_MAX - fill;
			memcpy(frame + SC_LEN_BYTES + fill, (const uint8_t *)iov[i].iov_base + used,
			       take);
			fill += take;
			used += take;
			if (used == iov[i].iov_len)
				i++, used = 0;
		}
		rc = sc_frame_seal(&c->send, frame + SC_LEN_BYTES, fill, frame);
		if (rc < 0)
			return rc;
		c->tx.len += SC_FRAME_SEALED;
	}
	return 0;
}

int sc_sendv(struct secret_conn *c, const struct iovec *iov, int n)
{
	if (c->state == SC_FAILED)
		return -EPROTO;
	if (c->state != SC_OPEN)
		return -ENOTCONN;
	return sc_seal_iov(c, iov, n);
}

int sc_send(struct secret_conn *c, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	return sc_sendv(c, &iov, 1);
}

int sc_send_msg(struct secret_conn *c, const void *body, size_t len)
{
	uint8_t hdr[DELIM_MAX_HDR];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = delim_put_len(hdr, len) },
		{ .iov_base = (void *)body, .iov_len = len },
	};
	return sc_sendv(c, iov, 2);
}

size_t sc_rx_peek(const struct secret_conn *c, const uint8_t **p)
{
	*p = buf_unread(&c->rx);
	return c->rx.len - c->rx.off;
}

void sc_rx_advance(struct secret_conn *c, size_t n)
{
	size_t unread = c->rx.len - c->rx.off;
	buf_consumed(&c->rx, n < unread ? n : unread);
}

int sc_read_msg(struct secret_conn *c, size_t limit, const uint8_t **body, size_t *len)
{
	if (c->state == SC_FAILED)
		return -EPROTO;
	if (c->state != SC_OPEN)
		return -ENOTCONN;
	size_t hdr, n;
	const uint8_t *p = buf_unread(&c->rx);
	int rc = delim_parse(p, c->rx.len - c->rx.off, limit, &hdr, &n);
	if (rc == -EMSGSIZE)
		return sc_set_failed(c, WIRE_ERR_MSG_TOO_LARGE);
	if (rc == -EBADMSG)
		return sc_set_failed(c, WIRE_ERR_MSG_MALFORMED);
	if (rc < 0)
		return rc;
	*body = p + hdr;
	*len = n;
	/* Not buf_consumed: it may free the buffer *body points into. */
	c->rx.off += hdr + n;
	return 0;
}
