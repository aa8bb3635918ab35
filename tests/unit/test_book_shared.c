/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_book_shared.c - a book over slots other writers share (the pinned
 * map: the kernel, bpftool, other processes). What is tried: garbage written
 * into records the book indexes, records copied over others, records that
 * appear in free slots; what must hold: the book never follows a field it
 * did not write, bad records are quarantined (named, out of every index, the
 * kernel's address index included) and the rest of the book works; repair
 * and drop take them out of quarantine.
 */
#include <errno.h>
#include <stdlib.h>

#include "book_helpers.h"
#include "mukan/rules.h"

#define CAP 64

/* A stand-in for the kernel's book_idx map, fed by the book's on_index hook. */
struct fake_idx {
	struct mukan_addr key[CAP];
	int slot[CAP];
	unsigned n;
};

static int fake_find(const struct fake_idx *x, const struct mukan_addr *a)
{
	for (unsigned i = 0; i < x->n; i++)
		if (memcmp(&x->key[i], a, sizeof(*a)) == 0)
			return (int)i;
	return -1;
}

static void fake_on_index(void *ctx, const struct mukan_addr *a, int slot)
{
	struct fake_idx *x = ctx;
	int i = fake_find(x, a);
	if (slot < 0) {
		if (i >= 0) {
			x->key[i] = x->key[x->n - 1];
			x->slot[i] = x->slot[--x->n];
		}
		return;
	}
	if (i < 0) {
		cr_assert_lt(x->n, CAP);
		i = (int)x->n++;
		x->key[i] = *a;
	}
	x->slot[i] = slot;
}

struct seen_q {
	uint32_t slot[CAP];
	enum book_problem why[CAP];
	unsigned n;
	uint32_t restored[CAP];
	unsigned n_restored;
};

static void on_quarantine(void *ctx, uint32_t slot, enum book_event ev, enum book_problem why,
			  const struct mukan_peer *seen)
{
	struct seen_q *q = ctx;
	(void)seen;
	if (ev == BOOK_EV_RESTORED) {
		cr_assert_lt(q->n_restored, CAP);
		q->restored[q->n_restored++] = slot;
		return;
	}
	cr_assert_lt(q->n, CAP);
	q->slot[q->n] = slot;
	q->why[q->n++] = why;
}

static struct mukan_peer shared[CAP]; /* the "map" */
static struct fake_idx idx;

static struct book *open_shared(void)
{
	struct book *b;
	struct book_opts o = { .strict = true, .capacity = CAP, .seed = 3, .slots = shared,
			       .on_index = fake_on_index, .index_ctx = &idx };
	cr_assert_eq(book_new(&b, &o), 0);
	static const uint8_t hk[BOOK_HASH_KEY_LEN] = { 9, 8, 7 };
	book_set_key(b, "0123456789abcdef01234567", 24);
	book_set_hash_key(b, hk);
	return b;
}

static const struct netaddr *src(void)
{
	static struct netaddr s;
	s = test_v4(999999, 5, 6, 7, 8);
	return &s;
}

/* n records 1.2.3.(i+1), IDs 1..n; their slots in out[]. */
static struct book *fill(unsigned n, int out[])
{
	memset(shared, 0, sizeof(shared));
	memset(&idx, 0, sizeof(idx));
	struct book *b = open_shared();
	for (unsigned i = 0; i < n; i++) {
		struct netaddr a = test_v4(i + 1, 1, 2, 3, (int)i + 1);
		cr_assert_eq(book_add(b, &a, src(), T0), 1);
		out[i] = book_find(b, a.id);
	}
	return b;
}

/*
 * What the loader does after a re-index (kern_index_sync): entries the book
 * does not back go, e.g. one left from before a record's family was
 * overwritten (its old key is no key the book can compute any more).
 */
static void fake_prune(const struct book *b)
{
	for (unsigned i = 0; i < idx.n;) {
		if (book_find_addr(b, &idx.key[i]) == idx.slot[i]) {
			i++;
			continue;
		}
		idx.key[i] = idx.key[idx.n - 1];
		idx.slot[i] = idx.slot[--idx.n];
	}
}

/* Every entry of the kernel's index names a slot that holds its key and the
 * book's record of it; every record the book indexes has its entry. */
static void assert_index_true(const struct book *b)
{
	for (unsigned i = 0; i < idx.n; i++) {
		int s = idx.slot[i];
		cr_assert(s >= 0 && s < CAP);
		cr_assert_eq(shared[s].in_use, 1, "index entry names free slot %d", s);
		cr_assert(mukan_addr_equal(&shared[s].addr, &idx.key[i]),
			  "index entry names slot %d holding another address", s);
		cr_assert_eq(book_find_addr(b, &idx.key[i]), s);
	}
	unsigned records = 0;
	for (int s = book_next_slot(b, 0); s >= 0; s = book_next_slot(b, (uint32_t)s + 1)) {
		records++;
		cr_assert_geq(fake_find(&idx, &shared[s].addr), 0, "record %d has no index entry", s);
	}
	cr_assert_eq(records, book_size(b) + book_n_banned(b));
}

/* The buckets hold exactly the records the counts say. */
static void assert_buckets_consistent(const struct book *b)
{
	uint32_t entries = 0;
	for (unsigned i = 0; i < BOOK_NEW_BUCKETS; i++) {
		cr_assert_leq(book_bucket_len(b, MUKAN_BUCKET_NEW, i), BOOK_NEW_BUCKET_SIZE + 1);
		entries += book_bucket_len(b, MUKAN_BUCKET_NEW, i);
	}
	for (unsigned i = 0; i < BOOK_OLD_BUCKETS; i++)
		entries += book_bucket_len(b, MUKAN_BUCKET_OLD, i);
	cr_assert_geq(entries, book_size(b));
}

/*
 * bpftool-style garbage in the slot of an indexed record, then the calls the
 * daemon makes on a failed dial (book_mark_bad), a good one, a pick. Today's
 * main follows the slot's bucket fields: SIGSEGV in bucket_del.
 */
Test(book_shared, garbage_in_a_live_slot_never_steers_the_buckets)
{
	int slot[4];
	struct book *b = fill(4, slot);
	struct mukan_peer *p = &shared[slot[0]];
	p->bucket_type = 9;
	p->n_buckets = 200;
	p->buckets[0] = 0xffff;
	p->failures = 0xfffffffe;
	struct netaddr a1 = test_v4(1, 1, 2, 3, 1), a2 = test_v4(2, 1, 2, 3, 2);
	cr_assert_eq(book_mark_bad(b, a1.id, MUKAN_NS_PER_DAY, T0), 0);
	cr_assert(book_is_banned(b, a1.id, T0));
	cr_assert_eq(book_size(b), 3);
	cr_assert_eq(book_mark_good(b, a2.id, T0), 0);
	cr_assert_eq(book_n_old(b), 1);
	uint32_t s;
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(book_pick(b, 50, &s), 0);
		cr_assert_neq(s, (uint32_t)slot[0], "a banned record is picked");
	}
	assert_buckets_consistent(b);
	assert_index_true(b);
	book_free(b);
}

/* A slot scribbled so its placement is another's: remove and re-add stay exact. */
Test(book_shared, a_scribbled_bucket_list_cannot_unlink_another_record)
{
	int slot[2];
	struct book *b = fill(2, slot);
	/* Record 0 now claims record 1's bucket. */
	shared[slot[0]].buckets[0] = shared[slot[1]].buckets[0] ^ 1;
	struct netaddr a0 = test_v4(1, 1, 2, 3, 1);
	cr_assert_eq(book_remove(b, a0.id), 0);
	cr_assert_eq(book_size(b), 1);
	uint32_t s;
	cr_assert_eq(book_pick(b, 100, &s), 0);
	cr_assert_eq(s, (uint32_t)slot[1]);
	assert_index_true(b);
	book_free(b);
}

/*
 * Re-index a store with one of each kind of bad record: every good record is
 * indexed, every bad one quarantined and reported once with its slot and
 * problem, none of them in the kernel's index. Today's main stops at the
 * first and the whole book fails to open.
 */
Test(book_shared, reindex_quarantines_each_bad_record_and_keeps_the_rest)
{
	int slot[8];
	struct book *b = fill(8, slot);
	book_free(b);
	shared[slot[0]].addr.family = 7;
	shared[slot[1]].bucket_type = 9;
	shared[slot[2]].buckets[0] = 0xffff;
	shared[slot[3]].failures = 0xfffffffe;
	shared[slot[4]].flags |= 0x80;
	shared[slot[5]].in_use = 3;
	shared[40] = shared[slot[6]]; /* a copied record: same ID, same address */
	struct seen_q q = { 0 };
	b = open_shared();
	char err[128] = "";
	cr_assert_eq(book_reindex(b, err, sizeof(err)), 2, "%s", err);
	fake_prune(b);
	cr_assert_eq(book_last_sync(b)->indexed, 2);
	cr_assert_eq(book_last_sync(b)->quarantined, 7);
	cr_assert_eq(book_n_quarantined(b), 7);
	cr_assert_eq(q.n, 0, "told only once the hook is set");

	static const enum book_problem want[] = {
		BOOK_BAD_FAMILY,  BOOK_BAD_BUCKET_TYPE, BOOK_BAD_BUCKET_INDEX,
		BOOK_BAD_COUNTER, BOOK_BAD_FLAGS,	BOOK_BAD_IN_USE,
	};
	book_set_record_hook(b, on_quarantine, &q);
	cr_assert_eq(q.n, 7, "each quarantined record reported");
	for (unsigned i = 0; i < 6; i++) {
		enum book_problem why;
		cr_assert_eq(book_next_quarantined(b, (uint32_t)slot[i], &why), slot[i]);
		cr_assert_eq(why, want[i], "slot %d: %s", slot[i], book_problem_text(why));
	}
	enum book_problem why;
	cr_assert_eq(book_next_quarantined(b, 9, &why), 40);
	cr_assert_eq(why, BOOK_DUP_ID);
	book_set_record_hook(b, on_quarantine, &q);
	cr_assert_eq(q.n, 7, "never reported twice");

	assert_index_true(b);
	cr_assert_eq(idx.n, 2, "only the good records are in the kernel's index");
	/* The rest works: add, pick, and quarantined slots are never reused. */
	for (unsigned i = 0; i < 20; i++) {
		struct netaddr a = test_v4(100 + i, 1, 2, 4, (int)i + 1);
		cr_assert_eq(book_add(b, &a, src(), T0), 1);
		int s = book_find(b, a.id);
		for (unsigned k = 0; k < 6; k++)
			cr_assert_neq(s, slot[k], "a quarantined slot was reused");
		cr_assert_neq(s, 40);
	}
	uint32_t s;
	cr_assert_eq(book_pick(b, 50, &s), 0);
	assert_index_true(b);
	book_free(b);
}

/* The daemon's incremental check: placement scribbled on the same record is
 * put back; a record whose identity changed, or that appeared in a free
 * slot, or that went bad, is quarantined. */
Test(book_shared, verify_restores_placement_and_quarantines_what_changed)
{
	int slot[4];
	struct book *b = fill(4, slot);
	struct seen_q q = { 0 };
	book_set_record_hook(b, on_quarantine, &q);
	uint16_t bucket = shared[slot[0]].buckets[0];
	shared[slot[0]].buckets[0] = 0xffff;
	shared[slot[0]].bucket_type = 9;
	shared[slot[1]].addr.ip[3] = 77; /* another address now */
	shared[slot[2]].failures = 0xfffffffe;
	shared[30] = shared[slot[3]];
	test_id(555, shared[30].id);
	shared[30].addr.ip[3] = 99;
	struct book_verify_tally t;
	book_verify_some(b, CAP / 2, &t);
	book_verify_some(b, CAP / 2, &t);
	cr_assert_eq(shared[slot[0]].buckets[0], bucket, "the book's placement is back");
	cr_assert_eq(shared[slot[0]].bucket_type, MUKAN_BUCKET_NEW);
	cr_assert_eq(q.n_restored, 1, "the put-right record is reported");
	cr_assert_eq(q.restored[0], slot[0]);
	cr_assert_eq(book_n_quarantined(b), 3);
	cr_assert_eq(q.n, 3);
	enum book_problem why;
	cr_assert_eq(book_next_quarantined(b, 0, &why), slot[1]);
	cr_assert_eq(why, BOOK_CHANGED);
	cr_assert_eq(book_next_quarantined(b, (uint32_t)slot[1] + 1, &why), slot[2]);
	cr_assert_eq(why, BOOK_BAD_COUNTER);
	cr_assert_eq(book_next_quarantined(b, (uint32_t)slot[2] + 1, &why), 30);
	cr_assert_eq(book_size(b), 2);
	assert_index_true(b);
	assert_buckets_consistent(b);
	/* Nothing more to find: a second full pass changes nothing. */
	book_verify_some(b, CAP, &t);
	cr_assert_eq(t.checked, CAP - 3);
	cr_assert_eq(t.restored + t.quarantined, 0);
	book_free(b);
}

Test(book_shared, repair_places_anew_and_drop_frees)
{
	int slot[4];
	struct book *b = fill(4, slot);
	book_free(b);
	shared[slot[0]].buckets[0] = 0xffff;
	shared[slot[1]].addr.family = 7;
	shared[slot[2]].failures = 0xfffffffe;
	shared[slot[2]].flags |= 0x40;
	b = open_shared();
	char err[200];
	cr_assert_eq(book_reindex(b, err, sizeof(err)), 1);
	fake_prune(b);
	cr_assert_eq(book_repair(b, (uint32_t)slot[3], err, sizeof(err)), -EINVAL,
		     "a good record is not quarantined");

	cr_assert_eq(book_repair(b, (uint32_t)slot[0], err, sizeof(err)), 0, "%s", err);
	struct netaddr a0 = test_v4(1, 1, 2, 3, 1);
	cr_assert_eq(book_find(b, a0.id), slot[0]);
	cr_assert_eq(shared[slot[0]].n_buckets, 1);
	cr_assert_eq(shared[slot[0]].buckets[0],
		     placement_new_bucket(book_placement(b), &a0, src()), "placed as upstream would");

	cr_assert_eq(book_repair(b, (uint32_t)slot[1], err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "family") != NULL, "%s", err);

	cr_assert_eq(book_repair(b, (uint32_t)slot[2], err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(shared[slot[2]].failures, MUKAN_MAX_FAIL_LIMIT);
	cr_assert_eq(shared[slot[2]].flags & 0x40, 0);

	cr_assert_eq(book_drop(b, (uint32_t)slot[1]), 0);
	cr_assert_eq(shared[slot[1]].in_use, 0);
	cr_assert_eq(book_n_quarantined(b), 0);
	cr_assert_eq(book_drop(b, (uint32_t)slot[1]), -EINVAL);
	cr_assert_eq(book_size(b), 3);
	assert_index_true(b);
	/* The dropped slot is free again. */
	unsigned reused = 0;
	for (unsigned i = 0; i < CAP - 3; i++) {
		struct netaddr a = test_v4(200 + i, 1, 2, 5, (int)i + 1);
		cr_assert_eq(book_add(b, &a, src(), T0), 1);
		reused += book_find(b, a.id) == slot[1];
	}
	cr_assert_eq(reused, 1);
	book_free(b);
}

/* Another process rewrote records (a live add): resync takes valid changes,
 * quarantines bad ones, and counts what differed. */
Test(book_shared, resync_takes_valid_changes_and_quarantines_bad_ones)
{
	int slot[3];
	struct book *b = fill(3, slot);
	shared[20] = shared[slot[0]];
	test_id(77, shared[20].id);
	shared[20].addr.ip[3] = 200; /* a valid new record */
	shared[21] = shared[slot[1]]; /* a copy: duplicate ID */
	shared[slot[2]].bucket_type = 9;
	char err[128];
	cr_assert_eq(book_resync(b, err, sizeof(err)), 3, "%s", err);
	cr_assert_eq(book_last_sync(b)->changed, 3);
	cr_assert_eq(book_last_sync(b)->quarantined, 2);
	uint8_t id77[MUKAN_ID_LEN];
	test_id(77, id77);
	cr_assert_eq(book_find(b, id77), 20);
	enum book_problem why;
	cr_assert_eq(book_next_quarantined(b, 0, &why), slot[2]);
	cr_assert_eq(why, BOOK_BAD_BUCKET_TYPE);
	cr_assert_eq(book_next_quarantined(b, (uint32_t)slot[2] + 1, &why), 21);
	cr_assert_eq(why, BOOK_DUP_ID);
	assert_index_true(b);
	book_free(b);
}

/* What a save writes is the book's placement, not what the slot says. */
Test(book_shared, copy_record_has_the_books_placement)
{
	int slot[1];
	struct book *b = fill(1, slot);
	uint16_t bucket = shared[slot[0]].buckets[0];
	shared[slot[0]].buckets[0] = 0xffff;
	shared[slot[0]].dials = 5;
	struct mukan_peer r;
	cr_assert(book_copy_record(b, (uint32_t)slot[0], &r));
	cr_assert_eq(r.buckets[0], bucket);
	cr_assert_eq(r.dials, 5, "the dial fields are the slot's");
	cr_assert_not(book_copy_record(b, (uint32_t)slot[0] + 1, &r));
	book_free(b);
}
