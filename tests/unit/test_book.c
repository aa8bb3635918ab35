/* SPDX-License-Identifier: Apache-2.0 */
/* test_book.c - the address book operations against upstream's rules. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "book_helpers.h"
#include "mukan/rules.h"

static const struct netaddr *src5678(void)
{
	static struct netaddr src;
	src = test_v4(999999, 5, 6, 7, 8);
	return &src;
}

Test(book_add, new_address_lands_in_its_new_bucket)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr a = test_v4(1, 1, 2, 3, 4);
	cr_assert_eq(book_add(b, &a, src5678(), T0), 1);
	cr_assert_eq(book_size(b), 1);
	cr_assert_eq(book_n_new(b), 1);
	const struct mukan_peer *p = test_rec(b, &a);
	cr_assert_not_null(p);
	cr_assert_eq(p->bucket_type, MUKAN_BUCKET_NEW);
	cr_assert_eq(p->n_buckets, 1);
	cr_assert_eq(p->buckets[0], placement_new_bucket(book_placement(b), &a, src5678()));
	cr_assert_eq(p->attempts, 0);
	cr_assert_eq(p->last_attempt, T0, "upstream starts LastAttempt at now");
	cr_assert_eq(p->last_success, MUKAN_TIME_NEVER);
	cr_assert_eq(book_find_addr(b, &a.a), book_find(b, a.id));
	book_free(b);
}

Test(book_add, refusals_name_their_reason)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr noid = test_v4(1, 1, 2, 3, 4);
	noid.has_id = false;
	cr_assert_eq(book_add(b, &noid, src5678(), T0), -EINVAL, "no node ID");
	struct netaddr unspec = test_v4(2, 0, 0, 0, 0);
	cr_assert_eq(book_add(b, &unspec, src5678(), T0), -EINVAL, "0.0.0.0 is invalid");
	struct netaddr doc = test_addr(3, "[2001:db8::1]:26656");
	cr_assert_eq(book_add(b, &doc, src5678(), T0), -EINVAL, "RFC3849 is invalid");
	struct netaddr loop = test_v4(4, 127, 0, 0, 1);
	cr_assert_eq(book_add(b, &loop, src5678(), T0), -ENETUNREACH, "strict refuses loopback");
	struct netaddr priv = test_v4(5, 10, 1, 2, 3);
	cr_assert_eq(book_add(b, &priv, src5678(), T0), -ENETUNREACH, "strict refuses RFC1918");

	struct netaddr p = test_v4(6, 1, 2, 3, 6);
	book_add_private_id(b, p.id);
	cr_assert_eq(book_add(b, &p, src5678(), T0), -EPERM, "private ID");
	struct netaddr q = test_v4(7, 1, 2, 3, 7);
	struct netaddr privsrc = test_v4(8, 9, 9, 9, 9);
	book_add_private_id(b, privsrc.id);
	cr_assert_eq(book_add(b, &q, &privsrc, T0), -EPERM, "private source ID");

	struct netaddr self = test_v4(9, 1, 2, 3, 9);
	book_add_our_address(b, &self);
	cr_assert(book_is_our_address(b, &self));
	cr_assert_eq(book_add(b, &self, src5678(), T0), -EEXIST, "our own address");
	cr_assert_eq(book_size(b), 0);
	book_free(b);
}

Test(book_add, non_strict_accepts_private_and_loopback)
{
	struct book *b = test_book(false, 0, 1);
	struct netaddr loop = test_v4(4, 127, 0, 0, 1);
	struct netaddr priv = test_v4(5, 10, 1, 2, 3);
	cr_assert_eq(book_add(b, &loop, src5678(), T0), 1);
	cr_assert_eq(book_add(b, &priv, src5678(), T0), 1);
	cr_assert_eq(book_size(b), 2);
	book_free(b);
}

/* Re-adding a known address joins one more bucket with probability 1/(2n). */
Test(book_add, known_address_spreads_with_upstream_probability)
{
	struct book *b = test_book(true, 0, 42);
	int gained = 0, trials = 4000;
	for (int i = 0; i < trials; i++) {
		struct netaddr a = test_v4((uint32_t)i, 20 + i % 100, i / 100, 1, 1);
		struct netaddr s1 = test_v4(100000, 30, 1, 1, 1);
		struct netaddr s2 = test_v4(100001, 40, (i * 7) % 256, 1, 1);
		cr_assert_eq(book_add(b, &a, &s1, T0), 1);
		unsigned before = test_rec(b, &a)->n_buckets;
		cr_assert_geq(book_add(b, &a, &s2, T0), 0);
		gained += test_rec(b, &a)->n_buckets > before;
	}
	double f = (double)gained / trials;
	/* 1/2, less the odd case where the second source maps to the same bucket. */
	cr_assert(f > 0.44 && f < 0.53, "fraction that joined a 2nd bucket: %.3f", f);

	/* However often it is offered, an address is in at most 4 new buckets. */
	struct netaddr x = test_v4(777777, 88, 1, 2, 3);
	for (int i = 0; i < 2000; i++) {
		struct netaddr s = test_v4(200000 + (uint32_t)i, 50 + i % 150, i % 256, 0, 1);
		book_add(b, &x, &s, T0);
	}
	cr_assert_eq(test_rec(b, &x)->n_buckets, 4);
	book_free(b);
}

/*
 * Addresses of one /16 from one source all hash to one new bucket, which
 * holds 65 (upstream checks len > 64 before inserting).
 */
static void fill_one_bucket(struct book *b, int n, struct netaddr *out)
{
	for (int i = 0; i < n; i++) {
		out[i] = test_v4((uint32_t)i + 1, 1, 2, i / 200, i % 200 + 1);
		cr_assert_eq(book_add(b, &out[i], src5678(), T0 + i * SEC), 1);
	}
}

Test(book_bucket, new_bucket_holds_65_and_evicts_the_oldest)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr a[70];
	fill_one_bucket(b, 65, a);
	unsigned idx = test_rec(b, &a[0])->buckets[0];
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, idx), 65);
	cr_assert_eq(book_add(b, &a[0], src5678(), T0), 0, "same bucket again: no change");

	struct netaddr extra = test_v4(5000, 1, 2, 9, 9);
	cr_assert_eq(book_add(b, &extra, src5678(), T0 + 100 * SEC), 1);
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, idx), 65);
	cr_assert_null(test_rec(b, &a[0]), "the entry attempted longest ago leaves");
	cr_assert_not_null(test_rec(b, &a[1]));
	cr_assert_eq(book_size(b), 65);
	book_free(b);
}

Test(book_bucket, a_bad_entry_is_evicted_before_the_oldest)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr a[70];
	fill_one_bucket(b, 65, a);
	/* Three failed attempts, never a success, not in the last minute: bad. */
	for (int i = 0; i < 3; i++)
		book_mark_attempt(b, a[30].id, T0 + 100 * SEC);
	int64_t now = T0 + 220 * SEC;
	cr_assert(rules_is_bad(test_rec(b, &a[30]), now));
	cr_assert_not(rules_is_bad(test_rec(b, &a[0]), now));

	struct netaddr extra = test_v4(5000, 1, 2, 9, 9);
	cr_assert_eq(book_add(b, &extra, src5678(), now), 1);
	cr_assert_null(test_rec(b, &a[30]), "bad entry evicted");
	cr_assert_not_null(test_rec(b, &a[0]), "oldest kept while a bad one exists");
	book_free(b);
}

Test(book_mark, good_moves_to_its_old_bucket)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr a = test_v4(1, 1, 2, 3, 4);
	book_add(b, &a, src5678(), T0);
	book_mark_attempt(b, a.id, T0 + SEC);
	cr_assert_eq(test_rec(b, &a)->attempts, 1);
	cr_assert_eq(test_rec(b, &a)->last_attempt, T0 + SEC);
	cr_assert_eq(book_mark_good(b, a.id, T0 + 2 * SEC), 0);
	const struct mukan_peer *p = test_rec(b, &a);
	cr_assert_eq(p->bucket_type, MUKAN_BUCKET_OLD);
	cr_assert_eq(p->n_buckets, 1);
	cr_assert_eq(p->buckets[0], placement_old_bucket(book_placement(b), &a));
	cr_assert_eq(p->attempts, 0);
	cr_assert_eq(p->last_success, T0 + 2 * SEC);
	cr_assert_eq(p->last_attempt, T0 + 2 * SEC);
	cr_assert_eq(book_n_old(b), 1);
	cr_assert_eq(book_n_new(b), 0);
	cr_assert(book_is_good(b, a.id));
	cr_assert_eq(book_add(b, &a, src5678(), T0), 0, "old addresses are not re-added");

	uint8_t unknown[MUKAN_ID_LEN];
	test_id(424242, unknown);
	cr_assert_eq(book_mark_good(b, unknown, T0), -ENOENT);
	cr_assert_eq(book_mark_attempt(b, unknown, T0), -ENOENT);
	book_free(b);
}

/*
 * Upstream weak: an entry pushed out of a full old bucket keeps type "old",
 * its re-add to a new bucket fails and the address is lost. Here none is.
 */
Test(book_mark, demoted_from_full_old_bucket_goes_back_to_new)
{
	struct book *b = test_book(true, 0, 1);
	enum { N = 400 };
	static struct netaddr a[N];
	for (int i = 0; i < N; i++) {
		a[i] = test_v4((uint32_t)i + 1, 1, 2, i / 250, i % 250 + 1);
		struct netaddr s = test_v4(100000 + (uint32_t)i, 60 + i / 256, i % 256, 0, 1);
		cr_assert_eq(book_add(b, &a[i], &s, T0 + i * SEC), 1);
	}
	cr_assert_eq(book_size(b), N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(book_mark_good(b, a[i].id, T0 + (N + i) * SEC), 0);

	/* One /16 spreads over at most 4 old buckets of 65. */
	cr_assert_leq(book_n_old(b), 4 * 65);
	cr_assert_eq(book_size(b), N, "nobody vanished: %u", book_size(b));
	unsigned demoted = 0;
	for (int i = 0; i < N; i++) {
		const struct mukan_peer *p = test_rec(b, &a[i]);
		cr_assert_not_null(p);
		cr_assert_geq(p->n_buckets, 1);
		for (unsigned k = 0; k < p->n_buckets; k++) {
			uint32_t len = book_bucket_len(b, p->bucket_type, p->buckets[k]);
			cr_assert_leq(len, 65);
		}
		demoted += p->bucket_type == MUKAN_BUCKET_NEW;
	}
	cr_assert_eq(demoted, book_n_new(b));
	cr_assert_geq(demoted, N - 4 * 65);
	book_free(b);
}

Test(book_ban, mark_bad_bans_and_reinstate_brings_back)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr a = test_v4(1, 1, 2, 3, 4), c = test_v4(2, 3, 4, 5, 6);
	book_add(b, &a, src5678(), T0);
	book_add(b, &c, src5678(), T0);
	book_mark_good(b, a.id, T0); /* old, to check it comes back as new */
	cr_assert_eq(book_mark_bad(b, a.id, 3600 * SEC, T0), 0);

	const struct mukan_peer *p = test_rec(b, &a);
	cr_assert_not_null(p, "a banned record keeps its slot (so the kernel sees the ban)");
	cr_assert(p->flags & MUKAN_PEER_BANNED);
	cr_assert_eq(p->n_buckets, 0);
	cr_assert_eq(p->ban_until, T0 + 3600 * SEC);
	cr_assert_eq(book_size(b), 1);
	cr_assert_eq(book_n_banned(b), 1);
	cr_assert(book_is_banned(b, a.id, T0));
	cr_assert_not(book_is_good(b, a.id));
	cr_assert_eq(book_add(b, &a, src5678(), T0), -EACCES);
	cr_assert_eq(book_mark_attempt(b, a.id, T0), -EACCES);
	cr_assert_eq(book_mark_bad(b, a.id, 7200 * SEC, T0), 0);
	cr_assert_eq(p->ban_until, T0 + 3600 * SEC, "upstream: a bad peer is not banned again");

	cr_assert_eq(book_reinstate(b, T0 + 3600 * SEC - 1), 0, "ban still running");
	cr_assert_eq(book_reinstate(b, T0 + 3600 * SEC), 1, "ban ended at its end time");
	p = test_rec(b, &a);
	cr_assert_eq(p->flags & MUKAN_PEER_BANNED, 0);
	cr_assert_eq(p->bucket_type, MUKAN_BUCKET_NEW, "an old address returns as new");
	cr_assert_eq(p->buckets[0], placement_new_bucket(book_placement(b), &a, src5678()));
	cr_assert_eq(book_size(b), 2);
	cr_assert_eq(book_n_banned(b), 0);
	book_free(b);
}

/* A ban "for ever" (INT64_MAX from the node) saturates instead of wrapping into the past. */
Test(book_ban, a_ban_for_ever_does_not_wrap)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr a = test_v4(1, 1, 2, 3, 4), c = test_v4(2, 3, 4, 5, 6);
	book_add(b, &a, src5678(), T0);
	book_add(b, &c, src5678(), T0);
	cr_assert_eq(book_mark_bad(b, a.id, INT64_MAX, T0), 0);
	cr_assert_eq(test_rec(b, &a)->ban_until, INT64_MAX);
	cr_assert_eq(book_reinstate(b, T0 + 365 * 86400 * SEC), 0, "the ban still runs");
	cr_assert_eq(book_mark_bad(b, c.id, -1, T0), -EINVAL, "a negative length is refused");
	cr_assert_eq(book_n_banned(b), 1);
	book_free(b);
}

Test(book_ban, persistent_peers_are_never_banned)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr a = test_v4(1, 1, 2, 3, 4);
	book_add(b, &a, src5678(), T0);
	book_slot_mut(b, (uint32_t)book_find(b, a.id))->flags |= MUKAN_PEER_PERSISTENT;
	cr_assert_eq(book_mark_bad(b, a.id, 3600 * SEC, T0), -EPERM);
	cr_assert_eq(book_size(b), 1);
	book_free(b);
}

Test(book_slots, full_book_recycles_the_ban_ending_first)
{
	struct book *b = test_book(true, 4, 1);
	struct netaddr a[5];
	for (int i = 0; i < 4; i++) {
		a[i] = test_v4((uint32_t)i + 1, 1 + i, 2, 3, 4);
		cr_assert_eq(book_add(b, &a[i], src5678(), T0), 1);
	}
	a[4] = test_v4(5, 9, 9, 9, 9);
	cr_assert_eq(book_add(b, &a[4], src5678(), T0), -ENOSPC);
	book_mark_bad(b, a[1].id, 100 * SEC, T0);
	book_mark_bad(b, a[2].id, 50 * SEC, T0);
	cr_assert_eq(book_add(b, &a[4], src5678(), T0), 1);
	cr_assert_null(test_rec(b, &a[2]), "shortest ban gave its slot");
	cr_assert_not_null(test_rec(b, &a[1]));
	cr_assert_eq(book_n_banned(b), 1);
	book_free(b);
}

Test(book_slots, remove_frees_the_slot_and_indexes)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr a = test_v4(1, 1, 2, 3, 4);
	book_add(b, &a, src5678(), T0);
	cr_assert_eq(book_remove(b, a.id), 0);
	cr_assert_eq(book_remove(b, a.id), -ENOENT);
	cr_assert_eq(book_find(b, a.id), -ENOENT);
	cr_assert_eq(book_find_addr(b, &a.a), -ENOENT);
	cr_assert_eq(book_size(b), 0);
	cr_assert_eq(book_next_slot(b, 0), -ENOENT);
	book_free(b);
}

Test(book_slots, two_ids_on_one_address_keep_the_address_index_true)
{
	struct book *b = test_book(true, 0, 1);
	struct netaddr x = test_v4(1, 1, 2, 3, 4), y = test_v4(2, 1, 2, 3, 4);
	book_add(b, &x, src5678(), T0);
	book_add(b, &y, src5678(), T0);
	cr_assert_eq(book_find_addr(b, &x.a), book_find(b, x.id));
	book_remove(b, x.id);
	cr_assert_eq(book_find_addr(b, &y.a), book_find(b, y.id), "index moves to the other ID");
	book_remove(b, y.id);
	cr_assert_eq(book_find_addr(b, &y.a), -ENOENT);
	book_free(b);
}

/* A book with n_new new and n_old old addresses spread over many groups. */
static struct book *mixed_book(unsigned n_new, unsigned n_old, uint64_t seed)
{
	struct book *b = test_book(true, 0, seed);
	for (unsigned i = 0; i < n_new + n_old; i++) {
		struct netaddr a = test_v4(i + 1, 11 + i % 100, i / 100, 7, 7);
		struct netaddr s = test_v4(900000 + i, 100 + i % 100, i % 250, 1, 1);
		cr_assert_eq(book_add(b, &a, &s, T0), 1);
		if (i < n_old)
			cr_assert_eq(book_mark_good(b, a.id, T0), 0);
	}
	cr_assert_eq(book_n_old(b), n_old);
	cr_assert_eq(book_n_new(b), n_new);
	return b;
}

Test(book_pick, bias_matches_the_upstream_formula)
{
	struct book *b = mixed_book(400, 100, 7);
	const int n = 40000;
	for (int bias = 0; bias <= 100; bias += 10) {
		int old = 0;
		for (int i = 0; i < n; i++) {
			uint32_t slot;
			cr_assert_eq(book_pick(b, bias, &slot), 0);
			old += book_slot(b, slot)->bucket_type == MUKAN_BUCKET_OLD;
		}
		double oc = sqrt(100.0) * (100 - bias), nc = sqrt(400.0) * bias;
		double p = oc / (oc + nc), got = (double)old / n;
		double sigma = sqrt(p * (1 - p) / n) + 1e-9;
		cr_assert(fabs(got - p) <= 5 * sigma, "bias %d: old fraction %.4f, formula %.4f",
			  bias, got, p);
	}
	book_free(b);
}

Test(book_pick, bias_from_outbound_count)
{
	cr_assert_eq(book_bias_for_outbound(0), 10);
	cr_assert_eq(book_bias_for_outbound(3), 40);
	cr_assert_eq(book_bias_for_outbound(8), 90);
	cr_assert_eq(book_bias_for_outbound(40), 90);
}

Test(book_pick, empty_sides)
{
	struct book *b = test_book(true, 0, 1);
	uint32_t slot;
	cr_assert_eq(book_pick(b, 50, &slot), -ENOENT, "empty book");
	struct netaddr a = test_v4(1, 1, 2, 3, 4);
	book_add(b, &a, src5678(), T0);
	cr_assert_eq(book_pick(b, 0, &slot), 0, "only new: bias 0 still picks new");
	book_mark_good(b, a.id, T0);
	cr_assert_eq(book_pick(b, 100, &slot), -ENOENT, "only old, full bias to new: none");
	cr_assert_eq(book_pick(b, 50, &slot), 0);
	cr_assert_eq(slot, (uint32_t)book_find(b, a.id));
	book_free(b);
}

Test(book_pick, same_seed_same_picks)
{
	struct book *x = mixed_book(300, 50, 99), *y = mixed_book(300, 50, 99);
	for (int i = 0; i < 1000; i++) {
		uint32_t s1, s2;
		book_pick(x, 40, &s1);
		book_pick(y, 40, &s2);
		cr_assert_eq(s1, s2);
	}
	book_free(x);
	book_free(y);
}

Test(book_selection, size_rule_at_several_book_sizes)
{
	static const size_t sizes[][2] = { { 0, 0 },	 { 10, 10 },   { 32, 32 },   { 100, 32 },
					   { 139, 32 },	 { 140, 32 },  { 200, 46 },  { 1000, 230 },
					   { 1087, 250 }, { 5000, 250 }, { 20000, 250 } };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		cr_assert_eq(book_selection_size(sizes[i][0]), sizes[i][1], "size %zu",
			     sizes[i][0]);

	unsigned books[] = { 5, 50, 600, 1500 };
	for (unsigned k = 0; k < 4; k++) {
		struct book *b = mixed_book(books[k] - books[k] / 5, books[k] / 5, k);
		uint32_t out[300];
		size_t n = book_selection(b, out, 300);
		cr_assert_eq(n, book_selection_size(books[k]));
		for (size_t i = 0; i < n; i++) {
			const struct mukan_peer *p = book_slot(b, out[i]);
			cr_assert(p->in_use && p->n_buckets > 0);
			for (size_t j = 0; j < i; j++)
				cr_assert_neq(out[i], out[j], "no repeats");
		}
		book_free(b);
	}
}

Test(book_selection, bias_fills_new_first_then_old)
{
	struct book *b = mixed_book(800, 200, 3);
	uint32_t out[300];
	size_t n = book_selection_bias(b, 30, out, 300);
	cr_assert_eq(n, 230);
	unsigned new_n = 0;
	for (size_t i = 0; i < n; i++) {
		new_n += book_slot(b, out[i])->bucket_type == MUKAN_BUCKET_NEW;
		for (size_t j = 0; j < i; j++)
			cr_assert_neq(out[i], out[j]);
	}
	cr_assert_eq(new_n, 69, "round(30%% of 230) new addresses, the rest old");
	book_free(b);

	/* Too few old addresses: new ones make up the difference. */
	b = mixed_book(990, 10, 4);
	n = book_selection_bias(b, 30, out, 300);
	new_n = 0;
	for (size_t i = 0; i < n; i++)
		new_n += book_slot(b, out[i])->bucket_type == MUKAN_BUCKET_NEW;
	cr_assert_eq(n, 230);
	cr_assert_eq(new_n, 220);
	book_free(b);
}

Test(book_misc, need_more_below_1000)
{
	struct book *b = mixed_book(999, 0, 1);
	cr_assert(book_need_more(b));
	struct netaddr a = test_v4(5000, 1, 2, 3, 4);
	book_add(b, &a, src5678(), T0);
	cr_assert_not(book_need_more(b));
	book_free(b);
}

/* Another process wrote into the shared slots: resync finds what is there now. */
Test(book_slots, resync_rebuilds_every_index_from_the_slots)
{
	struct book *b = test_book(true, 64, 1);
	struct netaddr a = test_v4(1, 1, 2, 3, 4), c = test_v4(2, 5, 6, 7, 8);
	book_add(b, &a, src5678(), T0);
	book_add(b, &c, src5678(), T0);
	book_mark_good(b, c.id, T0);
	/* Behind the book's back: one record cleared, one written by hand. */
	struct mukan_peer *pa = book_slot_mut(b, (uint32_t)book_find(b, a.id));
	struct mukan_peer copy = *pa;
	memset(pa, 0, sizeof(*pa));
	struct mukan_peer *free_slot = book_slot_mut(b, 40);
	*free_slot = copy;
	test_id(3, free_slot->id);
	char err[128];
	cr_assert_eq(book_resync(b, err, sizeof(err)), 2, "%s", err);
	cr_assert_eq(book_find(b, a.id), -ENOENT);
	uint8_t id3[MUKAN_ID_LEN];
	test_id(3, id3);
	cr_assert_eq(book_find(b, id3), 40);
	cr_assert_eq(book_n_new(b), 1);
	cr_assert_eq(book_n_old(b), 1);
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, copy.buckets[0]), 1);
	uint32_t slot;
	cr_assert_eq(book_pick(b, 100, &slot), 0);
	cr_assert_eq(slot, 40, "only new record left to pick at bias 100");
	/* New records still go to free slots, never over the hand-written one. */
	struct netaddr e = test_v4(4, 9, 9, 9, 9);
	cr_assert_eq(book_add(b, &e, src5678(), T0), 1);
	cr_assert_neq(book_find(b, e.id), 40);
	book_free(b);
}
