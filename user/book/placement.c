/* SPDX-License-Identifier: Apache-2.0 */
/* placement.c - upstream bucket placement formulas (REFERENCE.md section 1). */
#include "placement.h"

#include <string.h>

#include <highwayhash/c_bindings.h>

void placement_set_hash_key(struct placement_keys *k, const uint8_t bytes[BOOK_HASH_KEY_LEN])
{
	for (int w = 0; w < 4; w++) {
		uint64_t v = 0;
		for (int i = 7; i >= 0; i--)
			v = v << 8 | bytes[8 * w + i];
		k->hh[w] = v;
	}
}

uint64_t placement_hash(const struct placement_keys *k, const void *buf, size_t len)
{
	/* Go's digest bytes are the little-endian value; upstream reads them big-endian. */
	return __builtin_bswap64(HighwayHash64(k->hh, buf, len));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Longest input: key + two groups + 8 bytes, or key + an address string. */
#define PLACEMENT_BUF (BOOK_KEY_MAX + 2 * GROUP_STRLEN + NETADDR_STRLEN)

unsigned placement_new_bucket(const struct placement_keys *k, const struct netaddr *addr,
			      const struct netaddr *src)
{
	uint8_t buf[PLACEMENT_BUF];
	char ga[GROUP_STRLEN], gs[GROUP_STRLEN];
	size_t la = ip_group(&addr->a, k->strict, ga);
	size_t ls = ip_group(&src->a, k->strict, gs);
	size_t n = k->key_len;

	memcpy(buf, k->key, n);
	memcpy(buf + n, ga, la);
	memcpy(buf + n + la, gs, ls);
	uint64_t h1 = placement_hash(k, buf, n + la + ls) % BOOK_NEW_BUCKETS_PER_GROUP;

	memcpy(buf + n, gs, ls);
	put_be64(buf + n + ls, h1);
	return (unsigned)(placement_hash(k, buf, n + ls + 8) % BOOK_NEW_BUCKETS);
}

unsigned placement_old_bucket(const struct placement_keys *k, const struct netaddr *addr)
{
	uint8_t buf[PLACEMENT_BUF];
	char ga[GROUP_STRLEN], as[NETADDR_STRLEN];
	size_t n = k->key_len;
	size_t ls = netaddr_format(addr, as);

	memcpy(buf, k->key, n);
	memcpy(buf + n, as, ls);
	uint64_t h1 = placement_hash(k, buf, n + ls) % BOOK_OLD_BUCKETS_PER_GROUP;

	size_t la = ip_group(&addr->a, k->strict, ga);
	memcpy(buf + n, ga, la);
	put_be64(buf + n + la, h1);
	return (unsigned)(placement_hash(k, buf, n + la + 8) % BOOK_OLD_BUCKETS);
}
