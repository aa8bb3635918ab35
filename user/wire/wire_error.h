/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire_error.h - why a CometBFT session with a peer failed, one code per
 * reason, shared by every layer of user/wire/ (SecretConnection, NodeInfo,
 * MConnection, PEX). The daemon logs the name, `mukan-dialctl` shows it as
 * the dial's failed step, and the manager maps the step to the book rule
 * (a rejected peer is banned as upstream bans it; a timeout is a failure).
 *
 * Library functions return -EPROTO (or another -errno) and put the code in
 * their session's `error` field; wire_error_name() gives the stable text.
 */
#ifndef MUKAN_WIRE_ERROR_H
#define MUKAN_WIRE_ERROR_H

enum wire_step {
	WIRE_STEP_NONE = 0,
	WIRE_STEP_KEY_EXCHANGE = 1, /* ephemeral X25519 keys */
	WIRE_STEP_AUTH = 2,	    /* AuthSigMessage: signature, remote ID */
	WIRE_STEP_NODE_INFO = 3,    /* NodeInfo exchange and compatibility */
	WIRE_STEP_SESSION = 4,	    /* MConnection after the handshake: packets, ping/pong */
	WIRE_STEP_PEX = 5,	    /* PEX rules */
	WIRE_N_STEPS = 6,
};

enum wire_error {
	WIRE_OK = 0,
	/* key exchange */
	WIRE_ERR_EPH_KEY_MALFORMED,   /* not a 35-byte delimited BytesValue with 32 bytes */
	WIRE_ERR_LOW_ORDER_DH,	      /* all-zero X25519 result (low-order point) */
	WIRE_ERR_SAME_EPH_KEY,	      /* the peer echoed our ephemeral key */
	/* frames (any step after the key exchange) */
	WIRE_ERR_BAD_MAC,	      /* ChaCha20-Poly1305 tag mismatch (corrupt, replayed or reordered) */
	WIRE_ERR_FRAME_TOO_LARGE,     /* data length field above 1024 */
	WIRE_ERR_TRUNCATED,	      /* the peer closed inside a frame or a message */
	WIRE_ERR_MSG_TOO_LARGE,	      /* a delimited message above its read limit */
	WIRE_ERR_MSG_MALFORMED,	      /* bad varint or protobuf that does not decode */
	/* authentication */
	WIRE_ERR_AUTH_KEY_TYPE,	      /* public key is not ed25519 */
	WIRE_ERR_BAD_SIGNATURE,	      /* signature of the challenge does not verify */
	WIRE_ERR_WRONG_ID,	      /* the key's ID is not the ID we dialed */
	/* NodeInfo */
	WIRE_ERR_NODEINFO_INVALID,    /* fails upstream's Validate (address, moniker, channels...) */
	WIRE_ERR_NODEINFO_ID_MISMATCH, /* NodeInfo ID differs from the authenticated key's ID */
	WIRE_ERR_NETWORK_MISMATCH,    /* another chain ID */
	WIRE_ERR_VERSION_MISMATCH,    /* another block protocol version */
	WIRE_ERR_NO_COMMON_CHANNEL,   /* no channel in common */
	WIRE_ERR_SELF,		      /* the peer is this node (our own ID): upstream's isSelf */
	/* session */
	WIRE_ERR_UNKNOWN_CHANNEL,     /* a packet on a channel we did not announce */
	WIRE_ERR_PONG_TIMEOUT,	      /* no pong within the pong timeout */
	WIRE_ERR_TIMEOUT,	      /* a handshake step missed its deadline */
	WIRE_ERR_CLOSED,	      /* the peer closed the connection */
	/* PEX */
	WIRE_ERR_PEX_UNSOLICITED,     /* addresses nobody asked for */
	WIRE_ERR_PEX_TOO_FREQUENT,    /* requests closer than allowed */
	WIRE_ERR_PEX_TOO_MANY_ADDRS,  /* a reply over the size cap */
	WIRE_ERR_PEX_MALFORMED,	      /* addresses that do not decode */
	WIRE_N_ERRORS,
};

/* "bad_mac", "wrong_id", ...: stable names for logs, JSON and tests. */
const char *wire_error_name(enum wire_error e);
/*
 * The handshake or session step a code belongs to (for the dial outcome).
 * WIRE_STEP_NONE for codes that can happen at any step (frames, messages,
 * timeout, closed): the session that failed records its step.
 */
enum wire_step wire_error_step(enum wire_error e);
const char *wire_step_name(enum wire_step s);

#endif /* MUKAN_WIRE_ERROR_H */
