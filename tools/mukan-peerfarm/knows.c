/* SPDX-License-Identifier: Apache-2.0 */
/* knows.c - the PEX "knows" graph: ring, cover, fill (see knows.h). */
#include "knows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each peer's list while it is built: KNOWS_MAX slots per peer. */
struct lists {
	uint32_t *slot;
	uint32_t *len;
};

static bool has(const struct lists *l, uint32_t p, uint32_t t)
{
	const uint32_t *s = l->slot + (size_t)p * KNOWS_MAX;
	for (uint32_t i = 0; i < l->len[p]; i++)
		if (s[i] == t)
			return true;
	return false;
}

/* Add t to p's list if it fits and is new; true if t is (now) in it. */
static bool add(struct lists *l, uint32_t p, uint32_t t)
{
	if (p == t)
		return false;
	if (has(l, p, t))
		return true;
	if (l->len[p] >= KNOWS_MAX)
		return false;
	l->slot[(size_t)p * KNOWS_MAX + l->len[p]++] = t;
	return true;
}

static void shuffle(struct rng *r, uint32_t *v, uint32_t n)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		uint32_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* A live peer other than t with room for t, at random: a few draws, then a scan. */
static bool cover(struct lists *l, struct rng *r, const uint32_t *live, uint32_t n_live,
		  uint32_t t)
{
	for (int k = 0; k < 8; k++)
		if (add(l, live[rng_below(r, n_live)], t))
			return true;
	uint32_t start = rng_below(r, n_live);
	for (uint32_t k = 0; k < n_live; k++)
		if (add(l, live[(start + k) % n_live], t))
			return true;
	return false;
}

static uint32_t target_size(const struct farm *f, const struct farm_peer *p)
{
	uint32_t want = p->seed ? f->opts.seed_knows : f->opts.knows;
	if (want > KNOWS_MAX)
		want = KNOWS_MAX;
	return want < f->n_peers - 1 ? want : f->n_peers - 1;
}

/* Up to p's target size, others at random (a partial shuffle of all peers). */
static void fill(struct lists *l, struct rng *r, const struct farm *f, uint32_t p,
		 uint32_t *perm)
{
	uint32_t want = target_size(f, &f->peers[p]);
	for (uint32_t j = 0; j < f->n_peers && l->len[p] < want; j++) {
		uint32_t k = j + rng_below(r, f->n_peers - j);
		uint32_t t = perm[k];
		perm[k] = perm[j];
		perm[j] = t;
		add(l, p, t);
	}
}

static int cover_all(struct lists *l, struct rng *r, const struct farm *f, const uint32_t *live,
		     uint32_t n_live, uint32_t *order, char *err, size_t errsz)
{
	/* Listening peers first: they must be covered; dead addresses while there is room. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t k = 0; k < f->n_peers; k++) {
			uint32_t t = order[k];
			enum farm_cat c = f->peers[t].cat;
			if (c == CAT_LIVE || farm_cat_listens(c) != (pass == 0))
				continue;
			if (cover(l, r, live, n_live, t) || pass == 1)
				continue;
			snprintf(err, errsz, "%u live peers cannot tell all %u listening peers "
				 "(a PEX reply holds at most %d addresses): add live peers",
				 n_live, f->n_peers - f->count[CAT_CLOSED] - f->count[CAT_BLACKHOLE] -
				 f->count[CAT_UNREACHABLE], KNOWS_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

int knows_build(struct farm *f, struct rng *r, char *err, size_t errsz)
{
	uint32_t n = f->n_peers;
	struct lists l = { calloc((size_t)n * KNOWS_MAX, sizeof(uint32_t)),
			   calloc(n, sizeof(uint32_t)) };
	uint32_t *live = malloc(n * sizeof(uint32_t)), *perm = malloc(n * sizeof(uint32_t));
	int e = 0;
	if (!l.slot || !l.len || !live || !perm) {
		snprintf(err, errsz, "out of memory");
		e = -ENOMEM;
		goto out;
	}
	uint32_t n_live = 0;
	for (uint32_t i = 0; i < n; i++) {
		perm[i] = i;
		if (f->peers[i].cat == CAT_LIVE)
			live[n_live++] = i;
	}
	shuffle(r, live, n_live);
	if (n_live > 1)
		for (uint32_t k = 0; k < n_live; k++)
			add(&l, live[k], live[(k + 1) % n_live]);
	if (n_live > 0) {
		shuffle(r, perm, n);
		if ((e = cover_all(&l, r, f, live, n_live, perm, err, errsz)) < 0)
			goto out;
	}
	for (uint32_t p = 0; p < n; p++)
		if (farm_cat_serves_pex(f->peers[p].cat))
			fill(&l, r, f, p, perm);

	uint32_t total = 0;
	for (uint32_t p = 0; p < n; p++)
		total += l.len[p];
	f->knows = malloc((total ? total : 1) * sizeof(uint32_t));
	if (!f->knows) {
		snprintf(err, errsz, "out of memory");
		e = -ENOMEM;
		goto out;
	}
	f->n_knows = total;
	uint32_t off = 0;
	for (uint32_t p = 0; p < n; p++) {
		f->peers[p].knows_off = off;
		f->peers[p].n_knows = l.len[p];
		memcpy(f->knows + off, l.slot + (size_t)p * KNOWS_MAX, l.len[p] * sizeof(uint32_t));
		off += l.len[p];
	}
out:
	free(l.slot), free(l.len), free(live), free(perm);
	return e;
}
