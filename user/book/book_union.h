/* SPDX-License-Identifier: Apache-2.0 */
/* book_union.h - join two copies of one book (see book_union.c). */
#ifndef MUKAN_BOOK_UNION_H
#define MUKAN_BOOK_UNION_H

#include <stdbool.h>

#include "book.h"

struct book_union_tally {
	unsigned added;	   /* records only `other` held */
	unsigned replaced; /* records both held, changed in live */
	unsigned kept;	   /* records both held, live's already the merged one */
	unsigned refused;  /* records live would not take (first_refusal says why) */
	uint32_t needed;   /* records the union holds */
	char first_refusal[256];
};

/*
 * Every record of `other` into `live`: one only `other` holds is added; for
 * a node ID both hold, the record of the newer side (other's when
 * other_newer) wins, with ban_until the later of the two (and banned when
 * that later ban is the other side's). `other`'s bucket lists are kept when
 * same_keys, else records are placed under live's keys. -ENOSPC (nothing
 * changed, t->needed set) when the union does not fit live's capacity.
 */
int book_union(struct book *live, const struct book *other, bool other_newer, bool same_keys,
	       struct book_union_tally *t);

#endif
