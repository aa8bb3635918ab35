/* SPDX-License-Identifier: Apache-2.0 */
/* spread.c - bucket loads under the book's keys; addresses drawn where there is room. */
#include "spread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "book/book.h"
#include "book_out.h"

#define V4_GROUPS 254	/* 127.1/16 .. 127.254/16 */
#define V6_TRIES 4096	/* random /32 groups tried before giving up */
#define MAP_BYTES (1u << 21) /* 2^24 bits: one per 24-bit address key */

struct spread {
	struct placement_keys keys;
	struct netaddr src;
	uint16_t load[BOOK_NEW_BUCKETS];
	int16_t v4_bucket[V4_GROUPS]; /* bucket of group 127.(i+1), -1 not computed yet */
	uint32_t cursor;	      /* next v4 group, round robin */
	uint8_t *used4, *used6;	      /* keys taken: a.b.c of 127.a.b.c, the 24 bits of fdXX:XXXX */
};

int spread_new(struct spread **out, const struct farm_opts *o)
{
	struct spread *s = calloc(1, sizeof(*s));
	struct book *b = NULL;
	struct book_opts bo;
	book_out_opts(o, &bo);
	bo.capacity = 16; /* only its keys are wanted */
	if (!s || !(s->used4 = calloc(MAP_BYTES, 1)) || !(s->used6 = calloc(MAP_BYTES, 1)) ||
	    book_new(&b, &bo) < 0) {
		spread_free(s);
		return -ENOMEM;
	}
	s->keys = *book_placement(b);
	book_free(b);
	memset(s->v4_bucket, 0xff, sizeof(s->v4_bucket));
	*out = s;
	return 0;
}

void spread_free(struct spread *s)
{
	if (!s)
		return;
	free(s->used4);
	free(s->used6);
	free(s);
}

static bool take_key(uint8_t *used, uint32_t k)
{
	if (used[k >> 3] & (1u << (k & 7)))
		return false;
	used[k >> 3] |= (uint8_t)(1u << (k & 7));
	return true;
}

static void v4_addr(uint32_t k, struct mukan_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = MUKAN_AF_INET;
	a->ip[0] = 127;
	a->ip[1] = (uint8_t)(k >> 16);
	a->ip[2] = (uint8_t)(k >> 8);
	a->ip[3] = (uint8_t)k;
}

static void v6_addr(uint32_t k, struct mukan_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = MUKAN_AF_INET6;
	a->ip[0] = 0xfd;
	a->ip[1] = (uint8_t)(k >> 16);
	a->ip[2] = (uint8_t)(k >> 8);
	a->ip[3] = (uint8_t)k;
	a->ip[15] = 1;
}

static unsigned bucket_of(const struct spread *s, const struct mukan_addr *a)
{
	struct netaddr na = { .has_id = true, .a = *a };
	return placement_new_bucket(&s->keys, &na, &s->src);
}

/* A 127.a.b.c not taken yet, a fixed; a group holds 65536, far more than we ask. */
static uint32_t v4_key_in_group(struct spread *s, struct rng *r, uint32_t a)
{
	for (;;) { /* ends: at most FARM_MAX_ADDRS of a group's 65536 keys are taken */
		uint32_t k = a << 16 | (uint32_t)(rng_next(r) >> 48);
		if (take_key(s->used4, k))
			return k;
	}
}

static uint32_t v6_key(struct spread *s, struct rng *r)
{
	for (;;) { /* ends: at most V6_TRIES * FARM_MAX_ADDRS of 2^24 keys are taken */
		uint32_t k = (uint32_t)(rng_next(r) >> 40);
		if (take_key(s->used6, k))
			return k;
	}
}

void spread_draw_source(struct spread *s, struct rng *r, bool v6, struct mukan_addr *a)
{
	if (v6)
		v6_addr(v6_key(s, r), a);
	else
		v4_addr(v4_key_in_group(s, r, 1), a);
}

void spread_set_source(struct spread *s, const struct netaddr *src, bool in_book)
{
	s->src = *src;
	if (in_book)
		s->load[bucket_of(s, &src->a)]++;
}

static int draw_v4(struct spread *s, struct rng *r, struct mukan_addr *a)
{
	for (uint32_t t = 0; t < V4_GROUPS; t++) {
		uint32_t g = (s->cursor + t) % V4_GROUPS;
		if (s->v4_bucket[g] < 0) {
			struct mukan_addr probe;
			v4_addr((g + 1) << 16, &probe);
			s->v4_bucket[g] = (int16_t)bucket_of(s, &probe);
		}
		if (s->load[s->v4_bucket[g]] >= SPREAD_BUCKET_ROOM)
			continue;
		v4_addr(v4_key_in_group(s, r, g + 1), a);
		s->load[s->v4_bucket[g]]++;
		s->cursor = (g + 1) % V4_GROUPS;
		return 0;
	}
	return -ENOSPC;
}

static int draw_v6(struct spread *s, struct rng *r, struct mukan_addr *a)
{
	for (int t = 0; t < V6_TRIES; t++) {
		v6_addr(v6_key(s, r), a);
		unsigned bucket = bucket_of(s, a);
		if (s->load[bucket] < SPREAD_BUCKET_ROOM) {
			s->load[bucket]++;
			return 0;
		}
	}
	return -ENOSPC;
}

int spread_draw(struct spread *s, struct rng *r, bool v6, struct mukan_addr *a)
{
	return v6 ? draw_v6(s, r, a) : draw_v4(s, r, a);
}
