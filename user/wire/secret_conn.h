/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret_conn.h - CometBFT's SecretConnection (p2p/conn/secret_connection.go)
 * as a sans-IO state machine: it consumes the bytes a socket delivered and
 * produces the bytes to send, never touches a socket, a clock or a thread.
 * The daemon's one ring drives thousands of them; `now` and the deadline are
 * in the caller's clock (ns).
 *
 * The handshake, both roles alike (the dialer also checks the peer's ID):
 *  1. each side sends its ephemeral X25519 public key as a length-delimited
 *     protobuf BytesValue, 35 bytes: 22 0a 20 + key (queued by sc_init);
 *  2. on the peer's key: refuse our own key echoed and an all-zero DH
 *     result, sort the two keys, Merlin transcript over lo, hi and the DH
 *     secret, HKDF-SHA256 of the DH secret for the two frame keys, the
 *     32-byte challenge from the transcript;
 *  3. each side sends, in the first sealed frame, a delimited
 *     AuthSigMessage{PublicKey{ed25519}, ed25519 signature of the challenge};
 *  4. on the peer's: only ed25519, the signature must verify, and (dialer)
 *     the key's node ID must be the ID dialed. Then the session is open.
 * After that both directions are a byte stream in sealed frames (sc_frame.h).
 *
 * Driving it:
 *   sc_init(&c, &cfg)                  queues our ephemeral key
 *   loop:
 *     sc_tx_peek / sc_tx_advance       send what is queued
 *     sc_recv(&c, bytes, n, now)       everything the socket delivered
 *     sc_read_msg(...) until -EAGAIN   delimited messages once open
 *     sc_send / sc_sendv               seal plaintext once open
 *     sc_check_deadline(&c, now)       on the caller's timer
 *   sc_recv_eof(&c) when the peer closes; sc_free(&c) at the end.
 * A function that fails the session returns -EPROTO and leaves the reason
 * in c->error and the step in c->step; every later call returns -EPROTO.
 * Fields of struct secret_conn are read-only for callers.
 */
#ifndef MUKAN_WIRE_SECRET_CONN_H
#define MUKAN_WIRE_SECRET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mukan/abi.h"
#include "nodekey.h"
#include "sc_frame.h"
#include "wire_error.h"

#define SC_EPH_KEY_LEN 32
#define SC_EPH_MSG_LEN 35     /* 22 0a 20 + the key */
#define SC_CHALLENGE_LEN 32
#define SC_SIG_LEN 64
/*
 * Read limit of the AuthSigMessage. Upstream reads up to 1 MiB; the largest
 * message any upstream key type makes is under 200 bytes, and only ed25519
 * (102 bytes) is accepted, so a larger one is refused at its length.
 */
#define SC_AUTH_MSG_MAX 1024
/*
 * Plaintext received and not yet read that a session holds at most: the
 * largest message a layer above reads is far smaller, so more means the
 * peer floods faster than messages are read (WIRE_ERR_MSG_TOO_LARGE).
 */
#define SC_RX_MAX (256 * 1024)

enum sc_role {
	SC_DIALER = 0,	 /* outbound: we know the ID we want */
	SC_LISTENER = 1, /* inbound: any ID */
};

enum sc_state {
	SC_WAIT_EPH = 0,  /* our key queued, the peer's not complete */
	SC_WAIT_AUTH = 1, /* keys derived, our AuthSigMessage queued */
	SC_OPEN = 2,	  /* authenticated both ways */
	SC_FAILED = 3,	  /* see error and step */
};

struct sc_config {
	enum sc_role role;
	/* Our identity; must outlive the session (one key serves every session). */
	const struct node_key *me;
	/* The ID we dialed (dialer); NULL accepts any (listener, or a dial by address). */
	const uint8_t *expect_id;
	/* Our ephemeral X25519 private key; NULL draws one (only tests fix it). */
	const uint8_t *eph_priv;
	/* When the handshake must be done, in the caller's clock; INT64_MAX for none. */
	int64_t deadline;
};

/* A growable byte queue: unread bytes are p[off..len). */
struct sc_buf {
	uint8_t *p;
	size_t off, len, cap;
};

struct secret_conn {
	enum sc_role role;
	enum sc_state state;
	enum wire_error error;
	enum wire_step step; /* where the session is, or where it failed */
	int64_t deadline;
	const struct node_key *me;
	bool check_id;
	uint8_t expect_id[MUKAN_ID_LEN];

	uint8_t eph_priv[SC_EPH_KEY_LEN]; /* wiped once the DH secret is made */
	uint8_t eph_pub[SC_EPH_KEY_LEN];
	uint8_t remote_eph[SC_EPH_KEY_LEN];
	bool loc_is_least;
	uint8_t challenge[SC_CHALLENGE_LEN];
	struct sc_dir send, recv;

	uint8_t remote_pub[NODE_KEY_PUB_LEN]; /* once open */
	uint8_t remote_id[MUKAN_ID_LEN];

	uint8_t in[SC_FRAME_SEALED]; /* the partial ephemeral message or sealed frame */
	size_t in_len;
	struct sc_buf tx; /* bytes to send */
	struct sc_buf rx; /* plaintext received, not yet read */
};

/*
 * Start a session: our ephemeral key pair, its message queued. 0, -ENOMEM,
 * or -ENOSYS when libsodium cannot start (no entropy source).
 */
int sc_init(struct secret_conn *c, const struct sc_config *cfg);

/* Free the buffers and wipe the keys. The struct can be sc_init'ed again. */
void sc_free(struct secret_conn *c);

/*
 * Bytes the peer sent, all of them consumed: the handshake advances (and
 * may queue bytes to send), frames after it are opened into the received
 * plaintext. 0, -EPROTO (failed: see c->error), -ENOMEM (the session cannot
 * go on: free it). A handshake past its deadline fails with
 * WIRE_ERR_TIMEOUT before the bytes are looked at.
 */
int sc_recv(struct secret_conn *c, const uint8_t *data, size_t len, int64_t now);

/*
 * The peer closed its side: -EPROTO always, with WIRE_ERR_TRUNCATED when it
 * stopped inside the ephemeral message, a frame or a message (plaintext
 * left unread), else WIRE_ERR_CLOSED.
 */
int sc_recv_eof(struct secret_conn *c);

/* Fail a handshake not done by its deadline (WIRE_ERR_TIMEOUT): 0 or -EPROTO. */
int sc_check_deadline(struct secret_conn *c, int64_t now);

/* Fail the session for a reason found by a layer above (e.g. NodeInfo); -EPROTO. */
int sc_fail(struct secret_conn *c, enum wire_error why, enum wire_step step);

/*
 * Once open, the layer above names its step (NodeInfo, then the session),
 * so a frame that fails later is counted against the step it carried.
 */
void sc_set_step(struct secret_conn *c, enum wire_step step);

/* Bytes queued for the socket: their length, *p at the first. */
size_t sc_tx_peek(const struct secret_conn *c, const uint8_t **p);

/* n bytes of them were sent. */
void sc_tx_advance(struct secret_conn *c, size_t n);

/*
 * Once open: seal len bytes into frames of up to 1024 bytes, as one upstream
 * Write does (empty data writes nothing). 0, -ENOTCONN before the session
 * is open, -EPROTO after a failure, -ENOMEM.
 */
int sc_send(struct secret_conn *c, const void *data, size_t len);

/* The same for the concatenation of iov[0..n): several messages share frames. */
int sc_sendv(struct secret_conn *c, const struct iovec *iov, int n);

/* A protobuf message body sent length-delimited (varint + body), one write. */
int sc_send_msg(struct secret_conn *c, const void *body, size_t len);

/* Received plaintext not yet read: its length, *p at the first byte. */
size_t sc_rx_peek(const struct secret_conn *c, const uint8_t **p);

/* n bytes of it were read. */
void sc_rx_advance(struct secret_conn *c, size_t n);

/*
 * Once open: the next length-delimited message of at most limit bytes. 0
 * with *body and *len (valid until the next sc_recv) and the message
 * consumed; -EAGAIN until it is complete; -EPROTO for a length above limit
 * (WIRE_ERR_MSG_TOO_LARGE) or a bad varint (WIRE_ERR_MSG_MALFORMED).
 */
int sc_read_msg(struct secret_conn *c, size_t limit, const uint8_t **body, size_t *len);

#endif /* MUKAN_WIRE_SECRET_CONN_H */
