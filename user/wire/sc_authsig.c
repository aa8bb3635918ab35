/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sc_authsig.c - the AuthSigMessage of SecretConnection's handshake through
 * the protobuf-c code generated from proto/tendermint/p2p/conn.proto:
 *
 *   AuthSigMessage { tendermint.crypto.PublicKey pub_key = 1; bytes sig = 2; }
 *   PublicKey { oneof sum { bytes ed25519 = 1; bytes secp256k1 = 2; ... } }
 */
#include "sc_internal.h"

#include <string.h>

#include "delim.h"
#include "tendermint/p2p/conn.pb-c.h"

size_t sc_authsig_encode(const uint8_t pub[NODE_KEY_PUB_LEN], const uint8_t sig[SC_SIG_LEN],
			 uint8_t out[SC_AUTH_MSG_MAX])
{
	Tendermint__Crypto__PublicKey key;
	tendermint__crypto__public_key__init(&key); /* the INIT macro trips -Wmissing-braces */
	key.sum_case = TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519;
	key.ed25519.data = (uint8_t *)pub;
	key.ed25519.len = NODE_KEY_PUB_LEN;
	Tendermint__P2p__AuthSigMessage msg = TENDERMINT__P2P__AUTH_SIG_MESSAGE__INIT;
	msg.pub_key = &key;
	msg.sig.data = (uint8_t *)sig;
	msg.sig.len = SC_SIG_LEN;
	/* 102 bytes: far inside the buffer whatever the varint takes. */
	size_t body = tendermint__p2p__auth_sig_message__get_packed_size(&msg);
	size_t hdr = delim_put_len(out, body);
	return hdr + tendermint__p2p__auth_sig_message__pack(&msg, out + hdr);
}

enum wire_error sc_authsig_decode(const uint8_t *body, size_t len,
				  uint8_t pub[NODE_KEY_PUB_LEN], uint8_t sig[SC_SIG_LEN])
{
	Tendermint__P2p__AuthSigMessage *m =
		tendermint__p2p__auth_sig_message__unpack(NULL, len, body);
	if (!m)
		return WIRE_ERR_MSG_MALFORMED;
	enum wire_error why = WIRE_OK;
	const Tendermint__Crypto__PublicKey *k = m->pub_key;
	/* Upstream: PubKeyFromProto refuses a wrong size, then only ed25519 is accepted. */
	if (!k || k->sum_case != TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519 ||
	    k->ed25519.len != NODE_KEY_PUB_LEN)
		why = WIRE_ERR_AUTH_KEY_TYPE;
	else if (m->sig.len != SC_SIG_LEN)
		why = WIRE_ERR_BAD_SIGNATURE;
	else {
		memcpy(pub, k->ed25519.data, NODE_KEY_PUB_LEN);
		memcpy(sig, m->sig.data, SC_SIG_LEN);
	}
	tendermint__p2p__auth_sig_message__free_unpacked(m, NULL);
	return why;
}
