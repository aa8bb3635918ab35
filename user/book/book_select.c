/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_select.c - choosing addresses: one to dial (PickAddress) and a set
 * for a PEX reply (GetSelection, GetSelectionWithBias).
 *
 * Same distributions as upstream; the difference is cost. Upstream retries
 * random buckets until it hits a non-empty one and walks a Go map to reach
 * the n-th entry; here the non-empty buckets are kept in a dense list and a
 * bucket is an array, so a pick is three random numbers and two loads.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "book_internal.h"

static int clamp_bias(int bias)
{
	return bias < 0 ? 0 : bias > 100 ? 100 : bias;
}

int book_pick(struct book *b, int bias, uint32_t *slot)
{
	if (b->n_new + b->n_old == 0)
		return -ENOENT;
	bias = clamp_bias(bias);
	double old_c = sqrt((double)b->n_old) * (100.0 - bias);
	double new_c = sqrt((double)b->n_new) * bias;
	bool pick_old = (old_c + new_c) * rng_unit(&b->rng) < old_c;
	if (pick_old ? b->n_old == 0 : b->n_new == 0)
		return -ENOENT;

	const struct nonempty *ne = pick_old ? &b->ne_old : &b->ne_new;
	unsigned idx = ne->idx[rng_below(&b->rng, ne->n)];
	const struct bucket *bk = pick_old ? &b->old_b[idx] : &b->new_b[idx];
	*slot = bk->slot[rng_below(&b->rng, bk->n)];
	return 0;
}

size_t book_selection_size(size_t size)
{
	size_t n = size < BOOK_SELECTION_MIN ? size : BOOK_SELECTION_MIN;
	size_t pct = size * BOOK_SELECTION_PERCENT / 100;
	if (pct > n)
		n = pct;
	return n < BOOK_SELECTION_MAX ? n : BOOK_SELECTION_MAX;
}

/* GetSelection: a uniform sample without repeats (partial Fisher-Yates). */
size_t book_selection(struct book *b, uint32_t *out, size_t max)
{
	size_t n = book_selection_size(b->n_live);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		uint32_t j = (uint32_t)i + rng_below(&b->rng, b->n_live - (uint32_t)i);
		uint32_t si = b->live[i], sj = b->live[j];
		b->live[i] = sj;
		b->live[j] = si;
		b->live_pos[sj] = (uint32_t)i;
		b->live_pos[si] = j;
		out[i] = sj;
	}
	return n;
}

/*
 * randomPickAddresses: shuffle every bucket entry of one side (an address in
 * several new buckets appears several times) and keep the first `num`
 * distinct ones. Appends to out[*n]; returns -ENOMEM or 0.
 */
static int pick_side(struct book *b, int type, size_t num, uint32_t *out, size_t *n)
{
	unsigned nb = type == MUKAN_BUCKET_OLD ? BOOK_OLD_BUCKETS : BOOK_NEW_BUCKETS;
	const struct bucket *bks = type == MUKAN_BUCKET_OLD ? b->old_b : b->new_b;
	size_t total = 0;
	for (unsigned i = 0; i < nb; i++)
		total += bks[i].n;
	if (total == 0 || num == 0)
		return 0;
	uint32_t *all = malloc(total * sizeof(*all));
	if (!all)
		return -ENOMEM;
	size_t k = 0;
	for (unsigned i = 0; i < nb; i++)
		for (uint32_t j = 0; j < bks[i].n; j++)
			all[k++] = bks[i].slot[j];

	if (++b->mark_gen == 0) { /* wrapped: old marks could collide */
		memset(b->mark, 0, b->capacity * sizeof(*b->mark));
		b->mark_gen = 1;
	}
	uint32_t gen = b->mark_gen;
	size_t taken = 0;
	for (size_t i = 0; i < total && taken < num; i++) {
		size_t j = i + rng_below(&b->rng, (uint32_t)(total - i));
		uint32_t s = all[j];
		all[j] = all[i];
		if (b->mark[s] == gen)
			continue;
		b->mark[s] = gen;
		out[(*n)++] = s;
		taken++;
	}
	free(all);
	return 0;
}

size_t book_selection_bias(struct book *b, int bias, uint32_t *out, size_t max)
{
	size_t num = book_selection_size(b->n_live);
	if (num > max)
		num = max;
	bias = clamp_bias(bias);
	long want_new = lround(bias / 100.0 * (double)num);
	long short_old = (long)num - (long)b->n_old;
	size_t need_new = (size_t)(want_new > short_old ? want_new : short_old);
	if (need_new > num)
		need_new = num;
	size_t n = 0;
	if (pick_side(b, MUKAN_BUCKET_NEW, need_new, out, &n) < 0)
		return 0;
	if (pick_side(b, MUKAN_BUCKET_OLD, num - n, out, &n) < 0)
		return 0;
	return n;
}
