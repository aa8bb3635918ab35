/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hkdf.h - HKDF-SHA256 (RFC 5869) on libsodium's HMAC-SHA256: Debian 12's
 * libsodium 1.0.18 has no HKDF, and SecretConnection derives its keys with it.
 */
#ifndef MUKAN_WIRE_HKDF_H
#define MUKAN_WIRE_HKDF_H

#include <stddef.h>
#include <stdint.h>

#define HKDF_SHA256_LEN 32
#define HKDF_SHA256_MAX_OUT (255 * HKDF_SHA256_LEN)

/* Extract: prk = HMAC-SHA256(salt, ikm); no salt (NULL or 0 bytes) means 32 zero bytes. */
void hkdf_sha256_extract(uint8_t prk[HKDF_SHA256_LEN], const uint8_t *salt, size_t salt_len,
			 const uint8_t *ikm, size_t ikm_len);

/* Expand prk with info into out_len bytes: 0, or -EINVAL above 255 * 32. */
int hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[HKDF_SHA256_LEN],
		       const uint8_t *info, size_t info_len);

/* Extract then expand; the intermediate key is wiped. 0 or -EINVAL. */
int hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
		const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

#endif /* MUKAN_WIRE_HKDF_H */
