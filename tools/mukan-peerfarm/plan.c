/* SPDX-License-Identifier: Apache-2.0 */
/* plan.c - categories, node IDs, seeds and the source, drawn from --seed. */
#include "plan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/rng.h"
#include "keys.h"
#include "knows.h"
#include "spread.h"

static const char *const cat_names[CAT_COUNT] = {
	"live",	    "closed",	 "blackhole",	   "unreachable", "slow",	     "flapping",
	"wrong_id", "wrong_network", "slow_handshake", "pex_flood",   "oversized_frame",
};

static const char *const cat_flags[CAT_COUNT] = {
	"live",	    "closed",	 "blackhole",	   "unreachable", "slow",	     "flapping",
	"wrong-id", "wrong-network", "slow-handshake", "pex-flood",   "oversized-frame",
};

static const char *const variant_names[VAR_COUNT] = {
	NULL, "drip", "silent", "unsolicited", "over_cap", "frame", "nodeinfo", "packet",
};

/* The variants of a category, in the order its peers take them. */
static const enum farm_variant cat_variants[CAT_COUNT][4] = {
	[CAT_SLOW_HANDSHAKE] = { VAR_DRIP, VAR_SILENT },
	[CAT_PEX_FLOOD] = { VAR_UNSOLICITED, VAR_OVER_CAP },
	[CAT_OVERSIZED_FRAME] = { VAR_FRAME, VAR_NODEINFO, VAR_PACKET },
};

/*
 * The default mix, in percent of --total: the network a dialer meets
 * without protocol misbehaviour; the protocol categories are asked for.
 */
static const uint32_t default_percent[CAT_COUNT] = { 10, 40, 40, 5, 3, 2 };

const char *farm_cat_name(enum farm_cat c)
{
	return (unsigned)c < CAT_COUNT ? cat_names[c] : "?";
}

const char *farm_cat_flag(enum farm_cat c)
{
	return (unsigned)c < CAT_COUNT ? cat_flags[c] : "?";
}

const char *farm_variant_name(enum farm_variant v)
{
	return (unsigned)v < VAR_COUNT ? variant_names[v] : NULL;
}

/* The k-th peer of category c gets this variant (they take turns). */
static enum farm_variant variant_of(enum farm_cat c, uint32_t k)
{
	uint32_t n = 0;
	while (n < 4 && cat_variants[c][n] != VAR_NONE)
		n++;
	return n ? cat_variants[c][k % n] : VAR_NONE;
}

/* Largest remainder, so the default mix adds up to exactly --total. */
static void split_default(uint32_t total, uint32_t count[CAT_COUNT])
{
	uint32_t sum = 0, rem[CAT_COUNT];
	for (int c = 0; c < CAT_COUNT; c++) {
		count[c] = (uint32_t)((uint64_t)total * default_percent[c] / 100);
		rem[c] = (uint32_t)((uint64_t)total * default_percent[c] % 100);
		sum += count[c];
	}
	/* The percentages add up to 100, so fewer than CAT_COUNT are missing. */
	for (int k = 0; k < CAT_COUNT && sum < total; k++) {
		int best = 0;
		for (int c = 1; c < CAT_COUNT; c++)
			if (rem[c] > rem[best])
				best = c;
		count[best]++;
		rem[best] = 0;
		sum++;
	}
}

static void resolve_counts(const struct farm_opts *o, uint32_t count[CAT_COUNT])
{
	bool any = false;
	for (int c = 0; c < CAT_COUNT; c++)
		any |= o->share[c].given;
	if (!any) {
		split_default(o->total, count);
		return;
	}
	for (int c = 0; c < CAT_COUNT; c++) {
		const struct farm_share *sh = &o->share[c];
		if (!sh->given)
			count[c] = 0;
		else if (sh->percent)
			count[c] = (uint32_t)llround((double)o->total * sh->value / 100.0);
		else
			count[c] = sh->value;
	}
}

static void shuffle_u8(struct rng *r, uint8_t *v, uint32_t n)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		uint8_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* The first live peer is the first seed, and the source of the book's addresses. */
static int64_t source_index(const struct farm *f, const uint8_t *cats)
{
	if (f->opts.seeds == 0)
		return -1;
	for (uint32_t i = 0; i < f->n_peers; i++)
		if (cats[i] == CAT_LIVE)
			return i;
	return -1;
}

/* No seed to name: a fixed 127.0.0.1 that is not a farm peer, with a key of its own. */
static void fixed_source(struct farm *f)
{
	struct node_key k;
	keys_derive(f->opts.seed, UINT32_MAX, 0, &k);
	memset(&f->source, 0, sizeof(f->source));
	f->source.has_id = true;
	memcpy(f->source.id, k.id, MUKAN_ID_LEN);
	node_key_wipe(&k);
	f->source.a.family = MUKAN_AF_INET;
	f->source.a.ip[0] = 127;
	f->source.a.ip[3] = 1;
	f->source.a.port = f->opts.port;
}

static int draw_addresses(struct farm *f, struct rng *r, const uint8_t *cats, const uint8_t *v6,
			  char *err, size_t errsz)
{
	struct spread *sp;
	if (spread_new(&sp, &f->opts) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	int64_t src = source_index(f, cats);
	if (src >= 0) {
		spread_draw_source(sp, r, v6[src], &f->peers[src].na.a);
		f->peers[src].na.a.port = f->opts.port;
		f->source = f->peers[src].na;
	} else {
		fixed_source(f);
	}
	spread_set_source(sp, &f->source, src >= 0);
	int e = 0;
	uint32_t placed = src >= 0;
	for (uint32_t i = 0; i < f->n_peers && !e; i++) {
		if ((int64_t)i == src)
			continue;
		if ((e = spread_draw(sp, r, v6[i], &f->peers[i].na.a)) < 0)
			snprintf(err, errsz, "only %u of %u addresses fit in the book's buckets (one "
				 "source fills at most %d new buckets); ask for fewer", placed,
				 f->n_peers, BOOK_NEW_BUCKETS_PER_GROUP);
		f->peers[i].na.a.port = f->opts.port;
		placed++;
	}
	spread_free(sp);
	return e;
}

int plan_build(struct farm *f, char *err, size_t errsz)
{
	const struct farm_opts *o = &f->opts;
	uint32_t n = 0;
	resolve_counts(o, f->count);
	for (int c = 0; c < CAT_COUNT; c++)
		n += f->count[c];
	if (n == 0) {
		snprintf(err, errsz, "no addresses: every category is 0");
		return -EINVAL;
	}
	if (n > FARM_MAX_ADDRS) {
		snprintf(err, errsz, "%u addresses asked, at most %u (one source fills at most "
			 "%d buckets of the book)", n, FARM_MAX_ADDRS, BOOK_NEW_BUCKETS_PER_GROUP);
		return -EINVAL;
	}
	uint8_t *cats = malloc(n), *v6 = calloc(n, 1);
	f->peers = calloc(n, sizeof(*f->peers));
	if (!cats || !v6 || !f->peers) {
		free(cats), free(v6);
		plan_free(f);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	f->n_peers = n;

	struct rng r;
	rng_seed(&r, o->seed ^ 0x706565726661726dULL); /* "peerfarm" */
	uint32_t i = 0;
	for (int c = 0; c < CAT_COUNT; c++)
		for (uint32_t k = 0; k < f->count[c]; k++)
			cats[i++] = (uint8_t)c;
	shuffle_u8(&r, cats, n);
	f->n_ipv6 = (uint32_t)llround((double)n * o->ipv6_percent / 100.0);
	for (i = 0; i < f->n_ipv6; i++)
		v6[i] = 1;
	shuffle_u8(&r, v6, n);

	uint32_t seeds = 0, rank[CAT_COUNT] = { 0 };
	for (i = 0; i < n; i++) {
		struct farm_peer *p = &f->peers[i];
		p->cat = (enum farm_cat)cats[i];
		p->variant = variant_of(p->cat, rank[p->cat]++);
		/* The book lists key 0's ID; a wrong_id peer authenticates with key 1. */
		keys_derive(o->seed, i, p->cat == CAT_WRONG_ID, &p->key);
		p->na.has_id = true;
		if (p->cat == CAT_WRONG_ID) {
			struct node_key listed;
			keys_derive(o->seed, i, 0, &listed);
			memcpy(p->na.id, listed.id, MUKAN_ID_LEN);
			node_key_wipe(&listed);
		} else {
			memcpy(p->na.id, p->key.id, MUKAN_ID_LEN);
		}
		if (p->cat == CAT_LIVE && seeds < o->seeds) {
			p->seed = true;
			seeds++;
		}
	}
	int e = draw_addresses(f, &r, cats, v6, err, errsz);
	free(cats), free(v6);
	if (!e)
		e = knows_build(f, &r, err, errsz);
	if (e)
		plan_free(f);
	return e;
}

void plan_free(struct farm *f)
{
	for (uint32_t i = 0; i < f->n_peers; i++)
		node_key_wipe(&f->peers[i].key);
	free(f->peers);
	free(f->knows);
	f->peers = NULL;
	f->knows = NULL;
	f->n_peers = f->n_knows = 0;
}
