/* SPDX-License-Identifier: Apache-2.0 */
/*
 * placement.h - which bucket an address goes to, computed exactly as
 * upstream calcNewBucket / calcOldBucket do (HighwayHash-64, big-endian
 * digest), so that the same key, hash key and addresses give the same
 * buckets as CometBFT.
 */
#ifndef MUKAN_PLACEMENT_H
#define MUKAN_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"

#define BOOK_NEW_BUCKETS 256
#define BOOK_OLD_BUCKETS 64
#define BOOK_NEW_BUCKETS_PER_GROUP 32
#define BOOK_OLD_BUCKETS_PER_GROUP 4
#define BOOK_KEY_MAX 64	      /* upstream writes 24 hex characters */
#define BOOK_HASH_KEY_LEN 32 /* HighwayHash key */

struct placement_keys {
	char key[BOOK_KEY_MAX + 1]; /* the book's `key`, a byte-string prefix */
	size_t key_len;
	uint64_t hh[4]; /* the hash key as HighwayHash wants it */
	bool strict;	/* addr_book_strict decides the group keys */
};

/* Set the hash key from its 32 bytes (little-endian words, as Go's package). */
void placement_set_hash_key(struct placement_keys *k, const uint8_t bytes[BOOK_HASH_KEY_LEN]);

/* H(b): the 8 digest bytes of HighwayHash-64 read big-endian. */
uint64_t placement_hash(const struct placement_keys *k, const void *buf, size_t len);

unsigned placement_new_bucket(const struct placement_keys *k, const struct netaddr *addr,
			      const struct netaddr *src);
unsigned placement_old_bucket(const struct placement_keys *k, const struct netaddr *addr);

#endif /* MUKAN_PLACEMENT_H */
