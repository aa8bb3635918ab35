/* SPDX-License-Identifier: Apache-2.0 */
/* sc_frame.c - seal and open SecretConnection frames (see sc_frame.h). */
#include "sc_frame.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

void sc_nonce(uint8_t nonce[SC_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 4; i < SC_NONCE_LEN; i++, counter >>= 8)
		nonce[i] = (uint8_t)counter;
}

int sc_frame_seal(struct sc_dir *d, const uint8_t *data, size_t len,
		  uint8_t out[SC_FRAME_SEALED])
{
	if (len > SC_DATA_MAX)
		return -EMSGSIZE;
	if (d->counter == UINT64_MAX)
		return -EOVERFLOW;
	uint8_t *plain = out; /* sealed in place: libsodium allows c == m */
	memmove(plain + SC_LEN_BYTES, data, len);
	for (int i = 0; i < SC_LEN_BYTES; i++)
		plain[i] = (uint8_t)(len >> (8 * i));
	memset(plain + SC_LEN_BYTES + len, 0, SC_DATA_MAX - len);
	uint8_t nonce[SC_NONCE_LEN];
	sc_nonce(nonce, d->counter);
	unsigned long long clen;
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, plain, SC_FRAME_PLAIN, NULL, 0, NULL,
						  nonce, d->key);
	d->counter++;
	return 0;
}

int sc_frame_open(struct sc_dir *d, const uint8_t in[SC_FRAME_SEALED],
		  uint8_t data[SC_DATA_MAX], size_t *len, enum wire_error *why)
{
	uint8_t plain[SC_FRAME_PLAIN], nonce[SC_NONCE_LEN];
	unsigned long long plen;
	sc_nonce(nonce, d->counter);
	/* libsodium checks the tag in constant time before it decrypts anything. */
	if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plen, NULL, in, SC_FRAME_SEALED,
						      NULL, 0, nonce, d->key) != 0) {
		*why = WIRE_ERR_BAD_MAC;
		return -EPROTO;
	}
	uint32_t n = (uint32_t)plain[0] | (uint32_t)plain[1] << 8 | (uint32_t)plain[2] << 16 |
		     (uint32_t)plain[3] << 24;
	if (n > SC_DATA_MAX) {
		*why = WIRE_ERR_FRAME_TOO_LARGE;
		return -EPROTO;
	}
	memcpy(data, plain + SC_LEN_BYTES, n); /* the padding is ignored, whatever it holds */
	*len = n;
	d->counter++;
	return 0;
}
