/* SPDX-License-Identifier: Apache-2.0 */
/* keys.c - deterministic peer keys (see keys.h). */
#include "keys.h"

#include <string.h>

#include <sodium.h>

#define KEYS_DOMAIN "mukan-peerfarm node key"

void keys_derive(uint64_t seed, uint32_t index, uint8_t which, struct node_key *k)
{
	uint8_t in[sizeof(KEYS_DOMAIN) - 1 + 8 + 4 + 1], s[crypto_hash_sha256_BYTES];
	size_t n = sizeof(KEYS_DOMAIN) - 1;
	memcpy(in, KEYS_DOMAIN, n);
	for (int i = 0; i < 8; i++)
		in[n++] = (uint8_t)(seed >> (8 * i));
	for (int i = 0; i < 4; i++)
		in[n++] = (uint8_t)(index >> (8 * i));
	in[n++] = which;
	crypto_hash_sha256(s, in, n);
	node_key_from_seed(k, s);
	sodium_memzero(s, sizeof(s));
}
