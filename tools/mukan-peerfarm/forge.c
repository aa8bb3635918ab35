/* SPDX-License-Identifier: Apache-2.0 */
/* forge.c - oversized frames and messages (see forge.h). */
#include "forge.h"

#include <string.h>

#include <sodium.h>

void forge_frame(const struct secret_conn *c, uint8_t out[SC_FRAME_SEALED])
{
	uint8_t plain[SC_FRAME_PLAIN] = { 0 }, nonce[SC_NONCE_LEN];
	for (int i = 0; i < SC_LEN_BYTES; i++)
		plain[i] = (uint8_t)(FORGE_FRAME_LEN >> (8 * i));
	/* A frame's nonce is its counter: this is the frame the dialer expects next. */
	sc_nonce(nonce, c->send.counter);
	unsigned long long clen;
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, plain, SC_FRAME_PLAIN, NULL, 0, NULL,
						  nonce, c->send.key);
}

size_t forge_message(uint32_t len, uint8_t out[FORGE_MSG_MAX])
{
	size_t n = delim_put_len(out, len);
	memset(out + n, 0x5a, FORGE_BODY_BYTES);
	return n + FORGE_BODY_BYTES;
}
