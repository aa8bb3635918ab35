/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.h - one accepted connection's protocol, as upstream's listener runs
 * it, and what its farm peer's category changes in it. Sans-IO like the
 * wire library under it: bytes in, bytes out, time as `now`; the loop
 * (loop.c) owns the socket and the ring.
 *
 *   handshake  SecretConnection, listener role, our key queued at once;
 *              by accept + --handshake-timeout
 *   nodeinfo   ours sent as the session opens; the dialer's read (10,240
 *              bytes at most) and checked as upstream does; same deadline
 *   session    MConnection (ping/pong both ways) + PEX: a request is
 *              answered with what the peer knows (seed mode: then hang up);
 *              a rule broken (unsolicited addresses, requests too often,
 *              a bad packet, a late pong) ends it
 *   hold       we misbehaved on purpose: read and drop until the dialer
 *              leaves, at most --handshake-timeout
 *   hangup     the dialer failed or we are done: send what is queued, then
 *   linger     our FIN is out: read and drop until the dialer's, at most 2 s
 *   done       the loop closes the socket
 *
 * Memory per connection is bounded: the session's structs, the plaintext
 * the SecretConnection holds (256 KiB at most), the channel buffers (each
 * capped), and what waits to be sent (CONN_TX_MAX at most, else the dialer
 * does not read and is dropped).
 */
#ifndef MUKAN_PEERFARM_CONN_H
#define MUKAN_PEERFARM_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "node.h"
#include "wire/mconn.h"
#include "wire/pex.h"
#include "wire/secret_conn.h"

#define CONN_LINGER_NS (2 * 1000000000LL)
#define CONN_FLOOD_EVERY_NS (1000000000LL) /* an unsolicited pex_flood peer, after its first two */
#define CONN_TX_MAX (256 * 1024)	   /* sealed bytes waiting for the socket */
#define CONN_CHANNEL_CAPACITY 65536u	   /* a message on a channel other than PEX */

/* What the farm counts, for the report at exit. */
struct farm_stats {
	uint64_t accepted, over_cap;
	uint64_t sc_open;	    /* SecretConnection handshakes completed */
	uint64_t sessions;	    /* ... and the dialer's NodeInfo accepted */
	uint64_t pex_replies;
	uint64_t ended[WIRE_N_ERRORS]; /* sessions we ended, by reason (WIRE_OK: seed mode) */
	uint64_t unread;	    /* dialers dropped for not reading what we sent */
	uint64_t internal;	    /* out of memory and such */
};

/* What every connection shares. */
struct conn_settings {
	int64_t handshake_timeout_ns;
	int64_t drip_ns;
	struct mconn_config mconn;
	struct farm_stats *stats;
	uint8_t *scratch; /* PEX_MAX_MSG_SIZE bytes for a reply being encoded */
};

/* Builds the settings from the options (scratch and stats are the caller's). */
void conn_settings_init(struct conn_settings *s, const struct farm_opts *o);

enum conn_phase {
	CONN_HANDSHAKE,
	CONN_NODEINFO,
	CONN_SESSION,
	CONN_HOLD,
	CONN_HANGUP,
	CONN_LINGER,
	CONN_DONE,
};

/* Bytes for the socket: p[off..len) not yet sent. */
struct obuf {
	uint8_t *p;
	size_t off, len, cap;
};

struct conn {
	const struct farm_node *node;
	const struct conn_settings *set;
	enum conn_phase phase;
	enum wire_error why; /* why we ended it (WIRE_OK: by design, or the dialer left) */
	int64_t deadline;    /* handshake, hold, hangup or linger end */
	int64_t next_drip, next_flood;
	struct secret_conn sc;
	struct mconn mc;
	bool mc_live;
	struct pex_peer pex;
	uint8_t *raw; /* a forged frame (SC_FRAME_SEALED bytes), sent after everything sealed */
};

/* A dialer was accepted now. 0, -ENOMEM, -ENOSYS (libsodium cannot start). */
int conn_start(struct conn *c, const struct farm_node *n, const struct conn_settings *s,
	       int64_t now);

/* Bytes the dialer sent. */
void conn_input(struct conn *c, const uint8_t *p, size_t n, int64_t now);

/* The dialer closed (or reset) its side: done. */
void conn_eof(struct conn *c);

/* At or after conn_next_deadline(). */
void conn_tick(struct conn *c, int64_t now);
int64_t conn_next_deadline(const struct conn *c);

/*
 * Append what is ready for the socket to out (everything, or a single byte
 * when a drip peer's next one is due). 0 or -ENOMEM.
 */
int conn_output(struct conn *c, struct obuf *out, int64_t now);

/* In CONN_HANGUP with nothing left to output: the loop shuts our side down, then calls conn_shut. */
bool conn_flushed(const struct conn *c);
void conn_shut(struct conn *c, int64_t now);

void conn_free(struct conn *c);

#endif /* MUKAN_PEERFARM_CONN_H */
