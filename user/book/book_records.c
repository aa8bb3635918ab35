/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_records.c - records that come from outside the book's own operations:
 * a file (book_insert_record), a slot store that outlived the process or that
 * other processes write (book_reindex, book_resync, book_verify_some), and
 * what becomes of the bad ones (quarantine, book_repair, book_drop).
 *
 * A record in shared memory is copied once and everything is decided on the
 * copy: the kernel and operators may write the slot meanwhile, and a field
 * read twice may differ the second time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book_internal.h"
#include "mukan/rules.h"

#define KNOWN_FLAGS                                                                          \
	(MUKAN_PEER_BANNED | MUKAN_PEER_PERSISTENT | MUKAN_PEER_UNCONDITIONAL | MUKAN_PEER_SEED | \
	 MUKAN_PEER_SRC_NO_ID)

static const char *const problem_text[BOOK_PROBLEM_COUNT] = {
	[BOOK_OK] = "no problem",
	[BOOK_BAD_IN_USE] = "in_use is neither 0 nor 1",
	[BOOK_BAD_FAMILY] = "address family is neither IPv4 nor IPv6",
	[BOOK_BAD_ADDR_BYTES] = "address has stray bytes (pad, or past the IPv4 address)",
	[BOOK_BAD_FLAGS] = "flags has unknown bits",
	[BOOK_BAD_BUCKET_TYPE] = "bucket_type must be 1 (new) or 2 (old)",
	[BOOK_BAD_N_BUCKETS] = "more than 4 buckets",
	[BOOK_BAD_BUCKET_INDEX] = "bucket index out of range",
	[BOOK_BAD_COUNTER] = "failures beyond any real count",
	[BOOK_DUP_ID] = "node ID appears twice",
	[BOOK_CHANGED] = "address or node ID changed outside the book",
	[BOOK_MOVED] = "bucket fields changed outside the book",
};

const char *book_problem_text(enum book_problem p)
{
	return (unsigned)p < BOOK_PROBLEM_COUNT ? problem_text[p] : "unknown problem";
}

static unsigned bucket_limit(int type)
{
	return type == MUKAN_BUCKET_OLD ? BOOK_OLD_BUCKETS : BOOK_NEW_BUCKETS;
}

enum book_problem book_record_problem(const struct mukan_peer *p)
{
	if (p->in_use == 0)
		return BOOK_OK;
	if (p->in_use != 1)
		return BOOK_BAD_IN_USE;
	if (p->addr.family != MUKAN_AF_INET && p->addr.family != MUKAN_AF_INET6)
		return BOOK_BAD_FAMILY;
	/* The kernel's keys have these bytes zero: such a record is never found. */
	bool stray = p->addr.pad != 0;
	for (unsigned i = 4; p->addr.family == MUKAN_AF_INET && i < sizeof(p->addr.ip); i++)
		stray = stray || p->addr.ip[i] != 0;
	if (stray)
		return BOOK_BAD_ADDR_BYTES;
	if (p->flags & ~KNOWN_FLAGS)
		return BOOK_BAD_FLAGS;
	if (p->failures > MUKAN_MAX_RECORD_FAILURES)
		return BOOK_BAD_COUNTER;
	if (p->flags & MUKAN_PEER_BANNED)
		return BOOK_OK; /* in no bucket, whatever the bucket fields say */
	if (p->bucket_type != MUKAN_BUCKET_NEW && p->bucket_type != MUKAN_BUCKET_OLD)
		return BOOK_BAD_BUCKET_TYPE;
	if (p->n_buckets > MUKAN_MAX_NEW_BUCKETS_PER_ADDR)
		return BOOK_BAD_N_BUCKETS;
	for (unsigned i = 0; i < p->n_buckets; i++)
		if (p->buckets[i] >= bucket_limit(p->bucket_type))
			return BOOK_BAD_BUCKET_INDEX;
	return BOOK_OK;
}

/* A copy of a slot, taken once. */
static void snapshot(const struct book *b, uint32_t slot, struct mukan_peer *out)
{
	memcpy(out, (const void *)&b->slots[slot], sizeof(*out));
}

/* ---- indexing one record ------------------------------------------------- */

/*
 * Index `rec` (a checked copy) as the record of `slot`: the book's copy of
 * its placement first, then buckets (making room as upstream's add does),
 * tables, the address index, and the placement written out to the slot.
 * 0, a problem (> 0) with nothing changed, or -ENOMEM.
 */
static int index_one(struct book *b, uint32_t slot, const struct mukan_peer *rec)
{
	enum book_problem why = book_record_problem(rec);
	if (why != BOOK_OK)
		return (int)why;
	if (slot_table_find_id(b, rec->id) >= 0)
		return BOOK_DUP_ID;
	struct shadow *h = &b->sh[slot];
	uint8_t on_free_list = h->on_free_list;
	memset(h, 0, sizeof(*h));
	h->on_free_list = on_free_list;
	h->addr = rec->addr;
	memcpy(h->id, rec->id, MUKAN_ID_LEN);
	if (rec->flags & MUKAN_PEER_BANNED) {
		h->banned = 1;
		h->bucket_type = MUKAN_BUCKET_NONE;
	} else {
		h->bucket_type = rec->bucket_type;
		for (unsigned i = 0; i < rec->n_buckets; i++) {
			bool seen = false; /* a file may list a bucket twice */
			for (unsigned j = 0; j < h->n_buckets; j++)
				seen = seen || h->buckets[j] == rec->buckets[i];
			if (!seen)
				h->buckets[h->n_buckets++] = rec->buckets[i];
		}
		if (h->n_buckets == 0) {
			/* No bucket listed: place it where upstream would. */
			struct netaddr addr;
			book_peer_addr(rec, &addr);
			h->buckets[0] = (uint16_t)(h->bucket_type == MUKAN_BUCKET_OLD
							   ? placement_old_bucket(&b->keys, &addr)
							   : new_bucket_for(b, rec));
			h->n_buckets = 1;
		}
		for (unsigned i = 0; i < h->n_buckets; i++) {
			int e = 0;
			if (h->bucket_type == MUKAN_BUCKET_OLD)
				e = make_room_old(b, h->buckets[i]);
			else
				make_room_new(b, h->buckets[i]);
			if (e == 0)
				e = bucket_push(b, h->bucket_type, h->buckets[i], slot);
			if (e < 0) {
				for (unsigned j = 0; j < i; j++)
					bucket_del(b, h->bucket_type, h->buckets[j], slot);
				memset(h, 0, sizeof(*h));
				h->on_free_list = on_free_list;
				return e;
			}
		}
		count_in(b, slot);
	}
	if (h->banned)
		b->n_banned++;
	h->state = SHADOW_LIVE;
	slot_table_put_id(b, slot);
	index_addr(b, slot);
	shadow_store(b, slot);
	tell_change(b, slot);
	return 0;
}

/* ---- quarantine ------------------------------------------------------------ */

static void report(struct book *b, uint32_t slot, const struct mukan_peer *seen)
{
	struct shadow *h = &b->sh[slot];
	if (!b->on_record || h->reported)
		return;
	h->reported = 1;
	b->on_record(b->record_ctx, slot, BOOK_EV_QUARANTINED, (enum book_problem)h->problem, seen);
}

/*
 * Leave `slot` out of the book: in no index, its address entry made true for
 * the kernel (another record's, or none), the slot neither used nor reused.
 * The record must be in no bucket or table (never indexed, or taken out).
 */
static void quarantine(struct book *b, uint32_t slot, enum book_problem why,
		       const struct mukan_peer *seen, bool was_reported)
{
	struct shadow *h = &b->sh[slot];
	uint8_t on_free_list = h->on_free_list;
	memset(h, 0, sizeof(*h));
	h->on_free_list = on_free_list; /* popping skips it */
	h->state = SHADOW_QUARANTINED;
	h->problem = (uint8_t)why;
	h->reported = was_reported;
	h->addr = seen->addr; /* to take its index entry out again when it goes */
	b->n_quarantined++;
	tell_index_of(b, &seen->addr);
	tell_change(b, slot);
	report(b, slot, seen);
}

/* Take an indexed record out of every bucket and table, then quarantine it. */
static void quarantine_live(struct book *b, uint32_t slot, enum book_problem why,
			    const struct mukan_peer *seen)
{
	struct shadow *h = &b->sh[slot];
	drop_from_buckets(b, slot);
	if (h->banned)
		b->n_banned--;
	slot_table_del_id(b, slot);
	unindex_addr(b, slot); /* the entry of the address the book knew it by */
	quarantine(b, slot, why, seen, false);
}

void book_set_record_hook(struct book *b, book_record_fn fn, void *ctx)
{
	b->on_record = fn;
	b->record_ctx = ctx;
	for (uint32_t i = 0; fn && i < b->capacity; i++) {
		if (b->sh[i].state != SHADOW_QUARANTINED || b->sh[i].reported)
			continue;
		struct mukan_peer seen;
		snapshot(b, i, &seen);
		report(b, i, &seen);
	}
}

uint32_t book_n_quarantined(const struct book *b)
{
	return b->n_quarantined;
}

int book_next_quarantined(const struct book *b, uint32_t from, enum book_problem *why)
{
	for (uint32_t i = from; i < b->capacity; i++) {
		if (b->sh[i].state == SHADOW_QUARANTINED) {
			if (why)
				*why = (enum book_problem)b->sh[i].problem;
			return (int)i;
		}
	}
	return -ENOENT;
}

const struct book_sync_tally *book_last_sync(const struct book *b)
{
	return &b->last_sync;
}

/* ---- a file's records ---------------------------------------------------- */

int book_insert_record(struct book *b, const struct mukan_peer *rec, char *err, size_t errsz)
{
	if (slot_table_find_id(b, rec->id) >= 0)
		return ret_err(err, errsz, -EEXIST, "node ID appears twice");
	struct mukan_peer r = *rec;
	r.in_use = 1;
	/* A file's counters went through its own range checks: an impossible
	 * count is cut rather than a reason to refuse the whole file. */
	if (r.failures > MUKAN_MAX_RECORD_FAILURES)
		r.failures = MUKAN_MAX_RECORD_FAILURES;
	enum book_problem why = book_record_problem(&r);
	if (why != BOOK_OK)
		return ret_err(err, errsz, why == BOOK_BAD_BUCKET_INDEX ? -ERANGE : -EINVAL,
			       book_problem_text(why));
	int slot = slot_alloc(b);
	if (slot < 0)
		return ret_err(err, errsz, slot, "more records than the book's capacity");
	r.in_use = 0; /* written out whole by index_one, in_use last */
	b->slots[slot] = r;
	r.in_use = 1;
	int e = index_one(b, (uint32_t)slot, &r);
	if (e != 0) {
		memset(&b->slots[slot], 0, sizeof(b->slots[slot]));
		free_list_push(b, (uint32_t)slot);
		if (e > 0)
			return ret_err(err, errsz, -EINVAL, book_problem_text((enum book_problem)e));
		return ret_err(err, errsz, e, "out of memory");
	}
	return slot;
}

/* ---- a shared slot store ----------------------------------------------------- */

/* Does the slot still hold what the book's copy says? */
static bool placement_matches(const struct shadow *h, const struct mukan_peer *p)
{
	if (p->in_use != 1 || !mukan_addr_equal(&p->addr, &h->addr) ||
	    memcmp(p->id, h->id, MUKAN_ID_LEN) != 0 || p->bucket_type != h->bucket_type ||
	    p->n_buckets != h->n_buckets || !(p->flags & MUKAN_PEER_BANNED) != !h->banned)
		return false;
	for (unsigned i = 0; i < h->n_buckets; i++)
		if (p->buckets[i] != h->buckets[i])
			return false;
	return true;
}

/* Index or quarantine every slot that holds something and the book does not know yet. */
static int index_all(struct book *b)
{
	uint32_t expired = b->n_expired;
	for (uint32_t i = 0; i < b->capacity; i++) {
		struct shadow *h = &b->sh[i];
		if (h->state != SHADOW_FREE)
			continue;
		struct mukan_peer rec;
		snapshot(b, i, &rec);
		if (rec.in_use == 0) {
			free_list_push(b, i);
			continue;
		}
		/* What a quarantine before a resync left, so it is not reported twice. */
		uint8_t problem = h->problem, reported = h->reported;
		int e = index_one(b, i, &rec);
		if (e < 0)
			return e;
		if (e == 0) {
			b->last_sync.indexed++;
			continue;
		}
		quarantine(b, i, (enum book_problem)e, &rec, reported && problem == e);
		b->last_sync.quarantined++;
	}
	/* Both callers start from an empty book: what expired was indexed in this pass. */
	b->last_sync.expired = b->n_expired - expired;
	b->last_sync.indexed -= b->last_sync.expired;
	return (int)b->last_sync.indexed;
}

int book_reindex(struct book *b, char *err, size_t errsz)
{
	memset(&b->last_sync, 0, sizeof(b->last_sync));
	int n = index_all(b);
	if (n < 0)
		return ret_err(err, errsz, n, "out of memory");
	return n;
}

int book_resync(struct book *b, char *err, size_t errsz)
{
	memset(&b->last_sync, 0, sizeof(b->last_sync));
	for (uint32_t i = 0; i < b->capacity; i++) {
		struct shadow *h = &b->sh[i];
		struct mukan_peer rec;
		snapshot(b, i, &rec);
		if (h->state == SHADOW_LIVE ? !placement_matches(h, &rec)
					    : h->state == SHADOW_FREE && rec.in_use != 0)
			b->last_sync.changed++;
		/* Forget it, but for what a quarantine reported. */
		bool keep = h->state == SHADOW_QUARANTINED && h->reported;
		uint8_t problem = h->problem;
		memset(h, 0, sizeof(*h));
		if (keep) {
			h->problem = problem;
			h->reported = 1;
		}
	}
	/* Forget every index; the slots are the truth now. */
	for (int i = 0; i < BOOK_NEW_BUCKETS; i++)
		b->new_b[i].n = 0;
	for (int i = 0; i < BOOK_OLD_BUCKETS; i++)
		b->old_b[i].n = 0;
	b->ne_new.n = b->ne_old.n = 0;
	memset(b->by_id.cell, 0, (b->by_id.mask + 1) * sizeof(*b->by_id.cell));
	memset(b->by_addr.cell, 0, (b->by_addr.mask + 1) * sizeof(*b->by_addr.cell));
	b->n_new = b->n_old = b->n_banned = b->n_live = b->addr_dups = 0;
	b->n_quarantined = 0;
	b->n_free = 0;
	int n = index_all(b);
	/* The free list from the top down, so the lowest free slot goes first. */
	b->n_free = 0;
	for (uint32_t i = b->capacity; i-- > 0;) {
		b->sh[i].on_free_list = 0;
		if (b->sh[i].state == SHADOW_FREE)
			free_list_push(b, i);
	}
	if (n < 0)
		return ret_err(err, errsz, n, "out of memory");
	return n;
}

/* One slot against the book's copy (see book_verify_some). */
static void verify_one(struct book *b, uint32_t i, struct book_verify_tally *t)
{
	struct shadow *h = &b->sh[i];
	if (h->state == SHADOW_QUARANTINED)
		return;
	t->checked++;
	struct mukan_peer rec;
	snapshot(b, i, &rec);
	if (h->state == SHADOW_FREE) {
		if (rec.in_use == 0)
			return;
		/* A record the book never wrote: never followed, kept for the operator. */
		enum book_problem why = book_record_problem(&rec);
		if (why == BOOK_OK)
			why = slot_table_find_id(b, rec.id) >= 0 ? BOOK_DUP_ID : BOOK_CHANGED;
		quarantine(b, i, why, &rec, false);
		t->quarantined++;
		return;
	}
	bool same_record = rec.in_use == 1 && mukan_addr_equal(&rec.addr, &h->addr) &&
			   memcmp(rec.id, h->id, MUKAN_ID_LEN) == 0;
	if (!same_record) {
		/* Say what is wrong with it if anything is: more use to an operator. */
		enum book_problem why = book_record_problem(&rec);
		quarantine_live(b, i, why != BOOK_OK ? why : BOOK_CHANGED, &rec);
		t->quarantined++;
		return;
	}
	if (!placement_matches(h, &rec)) {
		/* Same record, placement scribbled: the book's placement goes back. */
		enum book_problem why = book_record_problem(&rec);
		shadow_store(b, i);
		t->restored++;
		if (b->on_record)
			b->on_record(b->record_ctx, i, BOOK_EV_RESTORED, why != BOOK_OK ? why : BOOK_MOVED,
				     &rec);
		snapshot(b, i, &rec);
	}
	enum book_problem why = book_record_problem(&rec);
	if (why != BOOK_OK) {
		quarantine_live(b, i, why, &rec);
		t->quarantined++;
	}
}

void book_verify_some(struct book *b, uint32_t n, struct book_verify_tally *t)
{
	memset(t, 0, sizeof(*t));
	if (n > b->capacity)
		n = b->capacity;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = b->verify_cursor;
		b->verify_cursor = i + 1 < b->capacity ? i + 1 : 0;
		verify_one(b, i, t);
	}
}

void book_verify_slot(struct book *b, uint32_t slot, struct book_verify_tally *t)
{
	memset(t, 0, sizeof(*t));
	if (slot < b->capacity)
		verify_one(b, slot, t);
}

/* ---- repair and drop ----------------------------------------------------- */

int book_drop(struct book *b, uint32_t slot)
{
	if (slot >= b->capacity || b->sh[slot].state != SHADOW_QUARANTINED)
		return -EINVAL;
	struct mukan_addr a = b->sh[slot].addr;
	struct mukan_peer *p = &b->slots[slot];
	MUKAN_STORE(&p->in_use, (uint8_t)0);
	memset(p, 0, sizeof(*p));
	memset(&b->sh[slot], 0, sizeof(b->sh[slot]));
	b->n_quarantined--;
	tell_index_of(b, &a);
	free_list_push(b, slot);
	tell_change(b, slot);
	return 0;
}

/* Fix what can be fixed in a copy; false with the reason when it cannot be. */
static bool fix_record(const struct book *b, struct mukan_peer *r, char *err, size_t errsz)
{
	if (r->in_use == 0) {
		snprintf(err, errsz, "the slot holds no record (in_use 0): drop it");
		return false;
	}
	r->in_use = 1;
	if (r->addr.family != MUKAN_AF_INET && r->addr.family != MUKAN_AF_INET6) {
		snprintf(err, errsz, "the address family (%u) is unknown, so the address is: drop it",
			 r->addr.family);
		return false;
	}
	int other = slot_table_find_id(b, r->id);
	if (other >= 0) {
		snprintf(err, errsz, "its node ID is the record's in slot %d: drop one of them", other);
		return false;
	}
	r->addr.pad = 0;
	if (r->addr.family == MUKAN_AF_INET)
		memset(r->addr.ip + 4, 0, sizeof(r->addr.ip) - 4);
	r->flags &= KNOWN_FLAGS;
	if (r->failures > MUKAN_MAX_RECORD_FAILURES)
		r->failures = MUKAN_MAX_FAIL_LIMIT;
	if (!(r->flags & MUKAN_PEER_BANNED)) {
		bool placed = r->bucket_type == MUKAN_BUCKET_NEW || r->bucket_type == MUKAN_BUCKET_OLD;
		for (unsigned i = 0; placed && i < r->n_buckets; i++)
			placed = i < MUKAN_MAX_NEW_BUCKETS_PER_ADDR &&
				 r->buckets[i] < bucket_limit(r->bucket_type);
		placed = placed && r->n_buckets <= MUKAN_MAX_NEW_BUCKETS_PER_ADDR;
		if (!placed) {
			/* Placed anew under the book's keys: old stays old, anything else is new. */
			if (r->bucket_type != MUKAN_BUCKET_OLD)
				r->bucket_type = MUKAN_BUCKET_NEW;
			r->n_buckets = 0;
			memset(r->buckets, 0, sizeof(r->buckets));
		}
	}
	return true;
}

int book_repair(struct book *b, uint32_t slot, char *err, size_t errsz)
{
	if (slot >= b->capacity || b->sh[slot].state != SHADOW_QUARANTINED)
		return ret_err(err, errsz, -EINVAL, "the slot is not quarantined");
	struct mukan_peer r;
	snapshot(b, slot, &r);
	if (!fix_record(b, &r, err, errsz))
		return -EINVAL;
	struct mukan_addr was = b->sh[slot].addr;
	/* Out of quarantine, then in like a file's record, in the same slot. */
	memset(&b->sh[slot], 0, sizeof(b->sh[slot]));
	b->n_quarantined--;
	r.in_use = 0;
	b->slots[slot] = r; /* unindexed: nothing else writes it */
	r.in_use = 1;
	int e = index_one(b, slot, &r);
	if (e != 0) {
		/* Cannot happen for a fixed record but out of memory: back to quarantine. */
		b->slots[slot].in_use = 1;
		quarantine(b, slot, e > 0 ? (enum book_problem)e : BOOK_CHANGED, &r, true);
		return ret_err(err, errsz, e > 0 ? -EINVAL : e, "cannot index the repaired record");
	}
	if (!mukan_addr_equal(&was, &r.addr))
		tell_index_of(b, &was);
	return 0;
}
