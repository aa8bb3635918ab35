/* SPDX-License-Identifier: Apache-2.0 */
/* sc_internal.h - what the SecretConnection sources share, not its callers. */
#ifndef MUKAN_WIRE_SC_INTERNAL_H
#define MUKAN_WIRE_SC_INTERNAL_H

#include "secret_conn.h"

/* The 3 bytes before the key in the ephemeral message: delimited BytesValue{value: 32 B}. */
extern const uint8_t sc_eph_prefix[3];

/* Make room for extra more bytes in b (compacting first); -ENOMEM, -ENOBUFS above max. */
int sc_buf_reserve(struct sc_buf *b, size_t extra, size_t max);

/* Mark the session failed (the first reason stays) and wipe its keys; -EPROTO. */
int sc_set_failed(struct secret_conn *c, enum wire_error why);

/* Seal the concatenation of iov into frames at the end of c->tx, in any state. */
int sc_seal_iov(struct secret_conn *c, const struct iovec *iov, int n);

/* c->in holds the peer's whole ephemeral message: derive, sign, queue our AuthSigMessage. */
int sc_on_eph_msg(struct secret_conn *c);

/* Received plaintext may hold the peer's AuthSigMessage: check it, open the session. */
int sc_try_auth_msg(struct secret_conn *c);

/*
 * AuthSigMessage{pub_key: PublicKey{ed25519: pub}, sig: sig}, length-delimited,
 * into out (SC_AUTH_MSG_MAX bytes); its length.
 */
size_t sc_authsig_encode(const uint8_t pub[NODE_KEY_PUB_LEN], const uint8_t sig[SC_SIG_LEN],
			 uint8_t out[SC_AUTH_MSG_MAX]);

/*
 * The body of a received AuthSigMessage: WIRE_OK with the ed25519 key and a
 * 64-byte signature; WIRE_ERR_MSG_MALFORMED when it does not decode;
 * WIRE_ERR_AUTH_KEY_TYPE for no key or one that is not a 32-byte ed25519
 * key; WIRE_ERR_BAD_SIGNATURE for a signature that is not 64 bytes.
 */
enum wire_error sc_authsig_decode(const uint8_t *body, size_t len,
				  uint8_t pub[NODE_KEY_PUB_LEN], uint8_t sig[SC_SIG_LEN]);

#endif /* MUKAN_WIRE_SC_INTERNAL_H */
