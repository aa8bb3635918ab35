/* SPDX-License-Identifier: Apache-2.0 */
/* hkdf.c - HKDF-SHA256 (RFC 5869) on libsodium's HMAC-SHA256 (see hkdf.h). */
#include "hkdf.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <sodium.h>

/*
 * HMAC keyed with "no salt" (HashLen zeros: HMAC pads its key with zeros, so
 * an empty key is the same) is the same state every time: made once.
 */
static crypto_auth_hmacsha256_state zero_salt_state;
static pthread_once_t zero_salt_once = PTHREAD_ONCE_INIT;

static void make_zero_salt_state(void)
{
	static const uint8_t zero_salt[HKDF_SHA256_LEN];
	crypto_auth_hmacsha256_init(&zero_salt_state, zero_salt, sizeof(zero_salt));
}

void hkdf_sha256_extract(uint8_t prk[HKDF_SHA256_LEN], const uint8_t *salt, size_t salt_len,
			 const uint8_t *ikm, size_t ikm_len)
{
	crypto_auth_hmacsha256_state st;
	if (!salt || salt_len == 0) {
		pthread_once(&zero_salt_once, make_zero_salt_state);
		st = zero_salt_state;
	} else {
		crypto_auth_hmacsha256_init(&st, salt, salt_len);
	}
	crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);
	sodium_memzero(&st, sizeof(st));
}

int hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[HKDF_SHA256_LEN],
		       const uint8_t *info, size_t info_len)
{
	if (out_len > HKDF_SHA256_MAX_OUT)
		return -EINVAL;
	uint8_t t[HKDF_SHA256_LEN];
	size_t t_len = 0; /* T(0) is empty */
	/* Keyed once; each block starts from a copy (saves two compressions a block). */
	crypto_auth_hmacsha256_state keyed, st;
	crypto_auth_hmacsha256_init(&keyed, prk, HKDF_SHA256_LEN);
	for (uint8_t i = 1; out_len > 0; i++) {
		/* T(i) = HMAC(prk, T(i-1) | info | i) */
		st = keyed;
		crypto_auth_hmacsha256_update(&st, t, t_len);
		if (info_len)
			crypto_auth_hmacsha256_update(&st, info, info_len);
		crypto_auth_hmacsha256_update(&st, &i, 1);
		crypto_auth_hmacsha256_final(&st, t);
		sodium_memzero(&st, sizeof(st));
		t_len = sizeof(t);
		size_t n = out_len < t_len ? out_len : t_len;
		memcpy(out, t, n);
		out += n;
		out_len -= n;
	}
	sodium_memzero(t, sizeof(t));
	sodium_memzero(&keyed, sizeof(keyed));
	return 0;
}

int hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
		const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len)
{
	uint8_t prk[HKDF_SHA256_LEN];
	hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len);
	int rc = hkdf_sha256_expand(out, out_len, prk, info, info_len);
	sodium_memzero(prk, sizeof(prk));
	return rc;
}
