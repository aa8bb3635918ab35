/* SPDX-License-Identifier: Apache-2.0 */
/* book_helpers.h - small builders shared by the address book tests. */
#ifndef MUKAN_TEST_BOOK_HELPERS_H
#define MUKAN_TEST_BOOK_HELPERS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "book/book.h"
#include "book/netaddr.h"

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC) /* an arbitrary "now" for tests */

/* A deterministic node ID from a number. */
static inline void test_id(uint32_t n, uint8_t id[MUKAN_ID_LEN])
{
	memset(id, 0, MUKAN_ID_LEN);
	for (int i = 0; i < 4; i++)
		id[i] = (uint8_t)(n >> (8 * (3 - i)));
	id[19] = 0xa5;
}

/* "1.2.3.4:26656" plus an ID from n. */
static inline struct netaddr test_addr(uint32_t n, const char *ipport)
{
	struct netaddr na;
	char err[128];
	int e = netaddr_parse(ipport, 0, &na, NULL, 0, err, sizeof(err));
	cr_assert_eq(e, 0, "parse %s: %s", ipport, err);
	test_id(n, na.id);
	na.has_id = true;
	return na;
}

/* The IPv4 address a.b.c.d:26656 with ID n. */
static inline struct netaddr test_v4(uint32_t n, int a, int b, int c, int d)
{
	char s[32];
	snprintf(s, sizeof(s), "%d.%d.%d.%d:26656", a, b, c, d);
	return test_addr(n, s);
}

static inline struct book *test_book(bool strict, uint32_t capacity, uint64_t seed)
{
	struct book *b;
	struct book_opts o = { .strict = strict, .capacity = capacity, .seed = seed };
	cr_assert_eq(book_new(&b, &o), 0);
	static const uint8_t hk[BOOK_HASH_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	book_set_key(b, "f6da13e87e0431f6954491ea", 24);
	book_set_hash_key(b, hk);
	return b;
}

static inline const struct mukan_peer *test_rec(const struct book *b, const struct netaddr *na)
{
	int slot = book_find(b, na->id);
	return slot < 0 ? NULL : book_slot(b, (uint32_t)slot);
}

#endif
