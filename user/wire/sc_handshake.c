/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sc_handshake.c - the cryptography of SecretConnection's handshake, as
 * upstream's MakeSecretConnection does it: the DH secret, the Merlin
 * transcript and challenge, the HKDF frame keys, our signature, and the
 * checks on the peer's AuthSigMessage.
 */
#include "sc_internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "delim.h"
#include "hkdf.h"
#include "merlin.h"

#define LBL(s) s, sizeof(s) - 1

/* Every handshake's transcript starts the same: made once, copied (a permutation saved). */
static struct merlin transcript_start;
static pthread_once_t transcript_once = PTHREAD_ONCE_INIT;

static void make_transcript_start(void)
{
	merlin_init(&transcript_start, LBL("TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH"));
}

/* The transcript binds both ephemeral keys, in sorted order, and the DH secret. */
static void derive_challenge(struct secret_conn *c, const uint8_t *lo, const uint8_t *hi,
			     const uint8_t dh[32])
{
	pthread_once(&transcript_once, make_transcript_start);
	struct merlin t = transcript_start;
	merlin_append(&t, LBL("EPHEMERAL_LOWER_PUBLIC_KEY"), lo, SC_EPH_KEY_LEN);
	merlin_append(&t, LBL("EPHEMERAL_UPPER_PUBLIC_KEY"), hi, SC_EPH_KEY_LEN);
	merlin_append(&t, LBL("DH_SECRET"), dh, 32);
	merlin_challenge(&t, LBL("SECRET_CONNECTION_MAC"), c->challenge, SC_CHALLENGE_LEN);
	merlin_wipe(&t);
}

/*
 * HKDF-SHA256(dh, no salt, info): the side whose key sorts low receives with
 * bytes 0..31 and sends with 32..63; the other the reverse. (Upstream reads
 * 96 bytes; the last 32 were the old challenge and are not used.)
 */
static void derive_keys(struct secret_conn *c, const uint8_t dh[32])
{
	static const char info[] = "TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN";
	uint8_t okm[2 * SC_KEY_LEN];
	hkdf_sha256(okm, sizeof(okm), NULL, 0, dh, 32, (const uint8_t *)info, sizeof(info) - 1);
	memcpy(c->recv.key, c->loc_is_least ? okm : okm + SC_KEY_LEN, SC_KEY_LEN);
	memcpy(c->send.key, c->loc_is_least ? okm + SC_KEY_LEN : okm, SC_KEY_LEN);
	c->recv.counter = c->send.counter = 0;
	sodium_memzero(okm, sizeof(okm));
}

/* Sign the challenge and queue the AuthSigMessage as the first sealed write. */
static int queue_auth_msg(struct secret_conn *c)
{
	uint8_t sig[SC_SIG_LEN], msg[SC_AUTH_MSG_MAX];
	crypto_sign_detached(sig, NULL, c->challenge, SC_CHALLENGE_LEN, c->me->priv);
	struct iovec iov = { .iov_base = msg,
			     .iov_len = sc_authsig_encode(c->me->pub, sig, msg) };
	return sc_seal_iov(c, &iov, 1);
}

int sc_on_eph_msg(struct secret_conn *c)
{
	memcpy(c->remote_eph, c->in + sizeof(sc_eph_prefix), SC_EPH_KEY_LEN);
	c->in_len = 0;
	/* Our own key sent back would give both sides the same key order. */
	if (sodium_memcmp(c->remote_eph, c->eph_pub, SC_EPH_KEY_LEN) == 0)
		return sc_set_failed(c, WIRE_ERR_SAME_EPH_KEY);
	uint8_t dh[32];
	/* libsodium refuses an all-zero result: the peer's key had low order. */
	int low_order = crypto_scalarmult(dh, c->eph_priv, c->remote_eph) != 0;
	sodium_memzero(c->eph_priv, sizeof(c->eph_priv));
	if (low_order) {
		sodium_memzero(dh, sizeof(dh));
		return sc_set_failed(c, WIRE_ERR_LOW_ORDER_DH);
	}
	/* Public keys: a plain comparison leaks nothing. */
	c->loc_is_least = memcmp(c->eph_pub, c->remote_eph, SC_EPH_KEY_LEN) < 0;
	const uint8_t *lo = c->loc_is_least ? c->eph_pub : c->remote_eph;
	const uint8_t *hi = c->loc_is_least ? c->remote_eph : c->eph_pub;
	derive_challenge(c, lo, hi, dh);
	derive_keys(c, dh);
	sodium_memzero(dh, sizeof(dh));
	c->state = SC_WAIT_AUTH;
	c->step = WIRE_STEP_AUTH;
	int rc = queue_auth_msg(c);
	return rc < 0 ? rc : 0;
}

int sc_try_auth_msg(struct secret_conn *c)
{
	const uint8_t *p = c->rx.p + c->rx.off;
	size_t hdr, n;
	int rc = delim_parse(p, c->rx.len - c->rx.off, SC_AUTH_MSG_MAX, &hdr, &n);
	if (rc == -EAGAIN)
		return 0;
	if (rc == -EMSGSIZE)
		return sc_set_failed(c, WIRE_ERR_MSG_TOO_LARGE);
	if (rc < 0)
		return sc_set_failed(c, WIRE_ERR_MSG_MALFORMED);
	uint8_t pub[NODE_KEY_PUB_LEN], sig[SC_SIG_LEN];
	enum wire_error why = sc_authsig_decode(p + hdr, n, pub, sig);
	if (why != WIRE_OK)
		return sc_set_failed(c, why);
	if (crypto_sign_verify_detached(sig, c->challenge, SC_CHALLENGE_LEN, pub) != 0)
		return sc_set_failed(c, WIRE_ERR_BAD_SIGNATURE);
	memcpy(c->remote_pub, pub, sizeof(pub));
	node_key_id(pub, c->remote_id);
	if (c->check_id && sodium_memcmp(c->remote_id, c->expect_id, MUKAN_ID_LEN) != 0)
		return sc_set_failed(c, WIRE_ERR_WRONG_ID);
	c->rx.off += hdr + n; /* what follows is the layer above's */
	c->state = SC_OPEN;
	c->step = WIRE_STEP_SESSION;
	return 0;
}
