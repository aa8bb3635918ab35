/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_placement.c - bucket placement against Go.
 *
 * tests/vectors/placement.tsv was produced with the real minio/highwayhash
 * package and upstream's calcNewBucket / calcOldBucket formulas
 * (tools/vectors/gen_placement.go); the same key, hash key and addresses
 * must land in the same buckets here, or a mixed network would disagree on
 * where an address lives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "book/book.h"
#include "book/netaddr.h"
#include "book/placement.h"
#include "vectors.h"

#define PLACEMENT_VECTORS "tests/vectors/placement.tsv"
#define PLACEMENT_MIN_CASES 300

static struct netaddr parse_addr(const char *s, const char *where)
{
	struct netaddr na;
	char err[160] = "";
	int rc = netaddr_parse(s, 0, &na, NULL, 0, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: netaddr_parse(\"%s\") = %d: %s", where, s, rc, err);
	return na;
}

Test(placement_vectors, match_go)
{
	struct vectors v;
	char *col[7];
	vectors_begin(&v, PLACEMENT_VECTORS);
	while (vectors_next(&v, col, 7)) {
		const char *where = v.where;
		struct placement_keys k;
		memset(&k, 0, sizeof(k));
		k.key_len = strlen(col[0]);
		cr_assert_leq(k.key_len, BOOK_KEY_MAX, "%s: key too long", where);
		memcpy(k.key, col[0], k.key_len);
		uint8_t hk[BOOK_HASH_KEY_LEN];
		cr_assert_eq(hex_decode(col[1], strlen(col[1]), hk, sizeof(hk)), 0,
			     "%s: bad hash key", where);
		placement_set_hash_key(&k, hk);
		k.strict = col[4][0] == '1';

		struct netaddr addr = parse_addr(col[2], where), src = parse_addr(col[3], where);
		unsigned want_new = (unsigned)strtoul(col[5], NULL, 10);
		unsigned want_old = (unsigned)strtoul(col[6], NULL, 10);
		unsigned got_new = placement_new_bucket(&k, &addr, &src);
		unsigned got_old = placement_old_bucket(&k, &addr);
		cr_assert_eq(got_new, want_new,
			     "%s: new bucket of %s from %s (strict=%d): want %u, got %u", where,
			     col[2], col[3], k.strict, want_new, got_new);
		cr_assert_eq(got_old, want_old, "%s: old bucket of %s (strict=%d): want %u, got %u",
			     where, col[2], k.strict, want_old, got_old);
	}
	vectors_end(&v, PLACEMENT_MIN_CASES);
}

/* minio/highwayhash's own vector: key 00..1f, empty input. */
Test(placement_hash, highwayhash_sanity_vector)
{
	struct placement_keys k;
	uint8_t hk[BOOK_HASH_KEY_LEN];
	memset(&k, 0, sizeof(k));
	for (int i = 0; i < BOOK_HASH_KEY_LEN; i++)
		hk[i] = (uint8_t)i;
	placement_set_hash_key(&k, hk);
	uint64_t h = placement_hash(&k, "", 0);
	cr_assert_eq(h, 0x536ec222de567a90ULL, "H(\"\") = %016llx, want 536ec222de567a90",
		     (unsigned long long)h);
}

Test(placement_hash, key_words_are_little_endian)
{
	struct placement_keys k;
	uint8_t hk[BOOK_HASH_KEY_LEN];
	for (int i = 0; i < BOOK_HASH_KEY_LEN; i++)
		hk[i] = (uint8_t)i;
	placement_set_hash_key(&k, hk);
	cr_assert_eq(k.hh[0], 0x0706050403020100ULL);
	cr_assert_eq(k.hh[3], 0x1f1e1d1c1b1a1918ULL);
}

/* ---- the book places addresses the same way --------------------------- */

#define FIXED_KEY "f6da13e87e0431f6954491ea"
#define ADDR_ID "0123456789abcdef0123456789abcdef01234567"
#define SRC_ID "89abcdef0123456789abcdef0123456789abcdef"

static struct book *book_with_keys(uint64_t seed, const uint8_t hk[BOOK_HASH_KEY_LEN])
{
	struct book *b = NULL;
	struct book_opts opts = { .strict = true, .capacity = 256, .seed = seed };
	cr_assert_eq(book_new(&b, &opts), 0);
	cr_assert_eq(book_set_key(b, FIXED_KEY, strlen(FIXED_KEY)), 0);
	book_set_hash_key(b, hk);
	return b;
}

/* Add addr from src and return the first new bucket it landed in. */
static unsigned add_and_bucket(struct book *b, const struct netaddr *addr,
			       const struct netaddr *src)
{
	int rc = book_add(b, addr, src, 1000);
	cr_assert_eq(rc, 1, "book_add = %d, want 1 (added)", rc);
	int slot = book_find(b, addr->id);
	cr_assert_geq(slot, 0, "book_find after add = %d", slot);
	const struct mukan_peer *p = book_slot(b, (uint32_t)slot);
	cr_assert_eq(p->bucket_type, MUKAN_BUCKET_NEW);
	cr_assert_eq(p->n_buckets, 1);
	return p->buckets[0];
}

Test(placement_book, same_keys_same_bucket)
{
	uint8_t hk[BOOK_HASH_KEY_LEN];
	for (int i = 0; i < BOOK_HASH_KEY_LEN; i++)
		hk[i] = (uint8_t)i;
	struct netaddr addr = parse_addr(ADDR_ID "@1.2.3.4:26656", "addr");
	struct netaddr src = parse_addr(SRC_ID "@5.6.7.8:26656", "src");

	/* Different seeds: the generator must not influence placement. */
	struct book *b1 = book_with_keys(1, hk), *b2 = book_with_keys(2, hk);
	unsigned in1 = add_and_bucket(b1, &addr, &src);
	unsigned in2 = add_and_bucket(b2, &addr, &src);
	cr_assert_eq(in1, in2, "same keys, different buckets: %u vs %u", in1, in2);
	/* The first line of placement.tsv: Go puts it in new bucket 37. */
	cr_assert_eq(in1, 37, "book placed it in %u, Go in 37", in1);
	cr_assert_eq(in1, placement_new_bucket(book_placement(b1), &addr, &src));
	book_free(b1);
	book_free(b2);
}

Test(placement_book, other_hash_key_moves_addresses)
{
	uint8_t hk1[BOOK_HASH_KEY_LEN], hk2[BOOK_HASH_KEY_LEN];
	for (int i = 0; i < BOOK_HASH_KEY_LEN; i++) {
		hk1[i] = (uint8_t)i;
		hk2[i] = (uint8_t)(0xa5 ^ (i * 7));
	}
	struct book *b1 = book_with_keys(7, hk1), *b2 = book_with_keys(7, hk2);
	struct netaddr src = parse_addr(SRC_ID "@5.6.7.8:26656", "src");

	int differ = 0;
	for (int i = 0; i < 50; i++) {
		/* 50 distinct public /16 groups, distinct IDs. */
		char text[NETADDR_STRLEN];
		snprintf(text, sizeof(text), "%038x%02x@%d.%d.1.1:26656", 0, i, 20 + i, i);
		struct netaddr addr = parse_addr(text, "addr");
		if (add_and_bucket(b1, &addr, &src) != add_and_bucket(b2, &addr, &src))
			differ++;
	}
	cr_assert_gt(differ, 0, "a new hash key moved none of 50 addresses");
	book_free(b1);
	book_free(b2);
}
