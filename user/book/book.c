/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book.c - slots, buckets and the upstream address book operations.
 *
 * Upstream semantics (p2p/pex/addrbook.go, REFERENCE.md section 1) except
 * where upstream is marked weak, fixed here:
 *  - an entry pushed out of a full old bucket really goes back to a new
 *    bucket (upstream keeps its type "old", so the re-add fails and the
 *    address vanishes);
 *  - a banned address keeps its slot (so the kernel and the saved file
 *    still see the ban) and comes back as a new address when it ends, even
 *    if it was old (upstream's re-add of an old entry fails).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "book_internal.h"
#include "mukan/rules.h"

int ret_err(char *err, size_t errsz, int code, const char *msg)
{
	if (err && errsz)
		snprintf(err, errsz, "%s", msg);
	return code;
}

/* ---- the book's copy of placement, written out to the slot ------------- */

void shadow_store(struct book *b, uint32_t slot)
{
	const struct shadow *h = &b->sh[slot];
	struct mukan_peer *p = &b->slots[slot];
	p->addr = h->addr;
	memcpy(p->id, h->id, MUKAN_ID_LEN);
	p->bucket_type = h->bucket_type;
	p->n_buckets = h->n_buckets;
	for (unsigned i = 0; i < MUKAN_MAX_NEW_BUCKETS_PER_ADDR; i++)
		p->buckets[i] = i < h->n_buckets ? h->buckets[i] : 0;
	uint8_t flags = MUKAN_LOAD(&p->flags);
	flags = h->banned ? (uint8_t)(flags | MUKAN_PEER_BANNED)
			  : (uint8_t)(flags & ~MUKAN_PEER_BANNED);
	MUKAN_STORE(&p->flags, flags);
	/* Last: the kernel takes a slot for a record only once it is whole. */
	MUKAN_STORE(&p->in_use, (uint8_t)1);
}

/* ---- buckets -------------------------------------------------------- */

static struct bucket *bucket_of(struct book *b, int type, unsigned idx)
{
	return type == MUKAN_BUCKET_OLD ? &b->old_b[idx] : &b->new_b[idx];
}

static struct nonempty *nonempty_of(struct book *b, int type)
{
	return type == MUKAN_BUCKET_OLD ? &b->ne_old : &b->ne_new;
}

int bucket_push(struct book *b, int type, unsigned idx, uint32_t slot)
{
	struct bucket *bk = bucket_of(b, type, idx);
	if (bk->n == bk->cap) {
		uint32_t cap = bk->cap ? bk->cap * 2 : BOOK_NEW_BUCKET_SIZE + 1;
		uint32_t *s = realloc(bk->slot, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		bk->slot = s;
		bk->cap = cap;
	}
	bk->slot[bk->n++] = slot;
	if (bk->n == 1) {
		struct nonempty *ne = nonempty_of(b, type);
		ne->pos[idx] = (uint16_t)ne->n;
		ne->idx[ne->n++] = (uint16_t)idx;
	}
	return 0;
}

void bucket_del(struct book *b, int type, unsigned idx, uint32_t slot)
{
	struct bucket *bk = bucket_of(b, type, idx);
	for (uint32_t i = 0; i < bk->n; i++) {
		if (bk->slot[i] != slot)
			continue;
		/* Keep insertion order: "first bad found" depends on it. */
		memmove(&bk->slot[i], &bk->slot[i + 1], (bk->n - i - 1) * sizeof(uint32_t));
		if (--bk->n == 0) {
			struct nonempty *ne = nonempty_of(b, type);
			uint16_t last = ne->idx[--ne->n];
			ne->idx[ne->pos[idx]] = last;
			ne->pos[last] = ne->pos[idx];
		}
		return;
	}
}

static bool in_bucket(const struct shadow *h, unsigned idx)
{
	for (unsigned i = 0; i < h->n_buckets; i++)
		if (h->buckets[i] == idx)
			return true;
	return false;
}

/* ---- counts and the live list ---------------------------------------- */

void count_in(struct book *b, uint32_t slot)
{
	if (b->sh[slot].bucket_type == MUKAN_BUCKET_OLD)
		b->n_old++;
	else
		b->n_new++;
	b->live_pos[slot] = b->n_live;
	b->live[b->n_live++] = slot;
}

static void count_out(struct book *b, uint32_t slot)
{
	if (b->sh[slot].bucket_type == MUKAN_BUCKET_OLD)
		b->n_old--;
	else
		b->n_new--;
	uint32_t last = b->live[--b->n_live];
	b->live[b->live_pos[slot]] = last;
	b->live_pos[last] = b->live_pos[slot];
}

/* ---- slots ------------------------------------------------------------ */

static void tell_index(struct book *b, const struct mukan_addr *a, int slot)
{
	if (b->on_index)
		b->on_index(b->index_ctx, a, slot);
}

/* The address index entry of `a` made true: the record that has it, or none. */
void tell_index_of(struct book *b, const struct mukan_addr *a)
{
	tell_index(b, a, slot_table_find_addr(b, a));
}

void index_addr(struct book *b, uint32_t slot)
{
	if (slot_table_find_addr(b, &b->sh[slot].addr) >= 0) {
		b->addr_dups++;
		return;
	}
	slot_table_put_addr(b, slot);
	tell_index(b, &b->sh[slot].addr, (int)slot);
}

void unindex_addr(struct book *b, uint32_t slot)
{
	const struct mukan_addr *a = &b->sh[slot].addr;
	if (slot_table_find_addr(b, a) != (int)slot) {
		b->addr_dups--;
		return;
	}
	slot_table_del_addr(b, slot);
	/* Another record shares this address: let the table point at it. */
	for (uint32_t i = 0; b->addr_dups > 0 && i < b->capacity; i++) {
		if (i != slot && b->sh[i].state == SHADOW_LIVE && mukan_addr_equal(&b->sh[i].addr, a)) {
			slot_table_put_addr(b, i);
			b->addr_dups--;
			tell_index(b, a, (int)i);
			return;
		}
	}
	tell_index(b, a, -1);
}

/* A record started, ended or changed its standing (book_set_observer). */
void tell_change(struct book *b, uint32_t slot)
{
	if (b->observer)
		b->observer(b->observer_ctx, slot);
}

void book_set_observer(struct book *b, void (*fn)(void *ctx, uint32_t slot), void *ctx)
{
	b->observer = fn;
	b->observer_ctx = ctx;
}

void free_list_push(struct book *b, uint32_t slot)
{
	if (b->sh[slot].on_free_list)
		return;
	b->sh[slot].on_free_list = 1;
	b->free_list[b->n_free++] = slot;
}

/* Out of every index, the slot emptied and free (the record must be in no bucket). */
void slot_release(struct book *b, uint32_t slot)
{
	struct shadow *h = &b->sh[slot];
	struct mukan_peer *p = &b->slots[slot];
	if (h->banned)
		b->n_banned--;
	slot_table_del_id(b, slot);
	unindex_addr(b, slot);
	/* The kernel stops taking the slot before its fields go. */
	MUKAN_STORE(&p->in_use, (uint8_t)0);
	memset(p, 0, sizeof(*p));
	memset(h, 0, sizeof(*h));
	free_list_push(b, slot);
	tell_change(b, slot);
}

void drop_from_buckets(struct book *b, uint32_t slot)
{
	struct shadow *h = &b->sh[slot];
	if (h->n_buckets == 0)
		return;
	for (unsigned i = 0; i < h->n_buckets; i++)
		bucket_del(b, h->bucket_type, h->buckets[i], slot);
	h->n_buckets = 0;
	count_out(b, slot);
}

/* The ban that ends soonest gives up its slot when every slot is taken. */
int slot_alloc(struct book *b)
{
	while (b->n_free > 0) {
		uint32_t s = b->free_list[--b->n_free];
		b->sh[s].on_free_list = 0;
		if (b->sh[s].state == SHADOW_FREE) /* quarantined since it was freed: skip */
			return (int)s;
	}
	int victim = -1;
	int64_t victim_end = 0;
	for (uint32_t i = 0; i < b->capacity; i++) {
		if (b->sh[i].state != SHADOW_LIVE || !b->sh[i].banned)
			continue;
		int64_t end = MUKAN_LOAD(&b->slots[i].ban_until);
		if (victim < 0 || end < victim_end) {
			victim = (int)i;
			victim_end = end;
		}
	}
	if (victim < 0)
		return -ENOSPC;
	slot_release(b, (uint32_t)victim);
	b->sh[victim].on_free_list = 0;
	b->n_free--; /* slot_release pushed it: take it back */
	return victim;
}

/* ---- life cycle ------------------------------------------------------- */

static void random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got <= 0)
			continue; /* EINTR; getrandom never fails otherwise once seeded */
		p += got;
		n -= (size_t)got;
	}
}

int book_new(struct book **out, const struct book_opts *opts)
{
	struct book *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->capacity = opts->capacity ? opts->capacity : BOOK_DEFAULT_CAPACITY;
	b->keys.strict = opts->strict;
	b->on_index = opts->on_index;
	b->index_ctx = opts->index_ctx;
	rng_seed(&b->rng, opts->seed);
	if (opts->slots) {
		b->slots = opts->slots;
	} else {
		b->slots = calloc(b->capacity, sizeof(*b->slots));
		b->own_slots = true;
	}
	b->sh = calloc(b->capacity, sizeof(*b->sh));
	b->free_list = malloc(b->capacity * sizeof(uint32_t));
	b->live = malloc(b->capacity * sizeof(uint32_t));
	b->live_pos = malloc(b->capacity * sizeof(uint32_t));
	b->mark = calloc(b->capacity, sizeof(uint32_t));
	if (!b->slots || !b->sh || !b->free_list || !b->live || !b->live_pos || !b->mark ||
	    slot_table_init(&b->by_id, b->capacity) < 0 ||
	    slot_table_init(&b->by_addr, b->capacity) < 0) {
		book_free(b);
		return -ENOMEM;
	}
	b->now = MUKAN_TIME_NEVER;
	/* Slots that hold something wait for book_reindex. */
	for (uint32_t i = b->capacity; i-- > 0;)
		if (MUKAN_LOAD(&b->slots[i].in_use) == 0)
			free_list_push(b, i);

	/* Upstream: 24 random hex characters; ours also keeps the hash key. */
	uint8_t raw[12 + BOOK_HASH_KEY_LEN + sizeof(b->table_key)];
	if (opts->keys_from_seed) {
		struct rng r;
		rng_seed(&r, opts->seed ^ 0x6b657973ULL);
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (uint8_t)rng_next(&r);
	} else {
		random_bytes(raw, sizeof(raw));
	}
	char hex[25];
	for (int i = 0; i < 12; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	book_set_key(b, hex, 24);
	book_set_hash_key(b, raw + 12);
	memcpy(b->table_key, raw + 12 + BOOK_HASH_KEY_LEN, sizeof(b->table_key));
	*out = b;
	return 0;
}

void book_free(struct book *b)
{
	if (!b)
		return;
	for (int i = 0; i < BOOK_NEW_BUCKETS; i++)
		free(b->new_b[i].slot);
	for (int i = 0; i < BOOK_OLD_BUCKETS; i++)
		free(b->old_b[i].slot);
	slot_table_free(&b->by_id);
	slot_table_free(&b->by_addr);
	if (b->own_slots)
		free(b->slots);
	free(b->sh);
	free(b->free_list);
	free(b->live);
	free(b->live_pos);
	free(b->mark);
	free(b->private_ids);
	free(b);
}

int book_set_key(struct book *b, const char *key, size_t len)
{
	if (len > BOOK_KEY_MAX)
		return -EINVAL;
	memcpy(b->keys.key, key, len);
	b->keys.key[len] = '\0';
	b->keys.key_len = len;
	return 0;
}

const char *book_key(const struct book *b) { return b->keys.key; }

void book_set_hash_key(struct book *b, const uint8_t hk[BOOK_HASH_KEY_LEN])
{
	memcpy(b->hash_key, hk, BOOK_HASH_KEY_LEN);
	placement_set_hash_key(&b->keys, hk);
}

const uint8_t *book_hash_key(const struct book *b) { return b->hash_key; }
bool book_hash_key_from_file(const struct book *b) { return b->hash_key_from_file; }
const struct placement_keys *book_placement(const struct book *b) { return &b->keys; }
bool book_strict(const struct book *b) { return b->keys.strict; }

/* ---- upstream operations --------------------------------------------- */

void book_peer_addr(const struct mukan_peer *p, struct netaddr *addr)
{
	memcpy(addr->id, p->id, MUKAN_ID_LEN);
	addr->has_id = true;
	addr->a = p->addr;
}

void book_peer_src(const struct mukan_peer *p, struct netaddr *src)
{
	memcpy(src->id, p->src_id, MUKAN_ID_LEN);
	src->has_id = !(p->flags & MUKAN_PEER_SRC_NO_ID);
	src->a = p->src;
}

unsigned new_bucket_for(const struct book *b, const struct mukan_peer *p)
{
	struct netaddr addr, src;
	book_peer_addr(p, &addr);
	book_peer_src(p, &src);
	return placement_new_bucket(&b->keys, &addr, &src);
}

/* new_bucket_for with the identity from the book's copy (the source is not placement). */
static unsigned new_bucket_of(const struct book *b, uint32_t slot)
{
	struct mukan_peer p = b->slots[slot];
	p.addr = b->sh[slot].addr;
	memcpy(p.id, b->sh[slot].id, MUKAN_ID_LEN);
	return new_bucket_for(b, &p);
}

static unsigned old_bucket_of(const struct book *b, uint32_t slot)
{
	struct netaddr addr = { .has_id = true, .a = b->sh[slot].addr };
	memcpy(addr.id, b->sh[slot].id, MUKAN_ID_LEN);
	return placement_old_bucket(&b->keys, &addr);
}

static void remove_from_bucket(struct book *b, uint32_t slot, unsigned idx)
{
	struct shadow *h = &b->sh[slot];
	bucket_del(b, h->bucket_type, idx, slot);
	for (unsigned i = 0; i < h->n_buckets; i++) {
		if (h->buckets[i] == idx) {
			h->buckets[i] = h->buckets[--h->n_buckets];
			break;
		}
	}
	if (h->n_buckets == 0) {
		/* Upstream drops an address with no bucket left from the book. */
		count_out(b, slot);
		slot_release(b, slot);
		b->n_expired++;
		return;
	}
	shadow_store(b, slot);
}

/* Is the record in `slot` bad (upstream isBad), judged with the book's bucket type? */
static bool slot_is_bad(const struct book *b, uint32_t slot, int64_t now)
{
	const struct mukan_peer *s = &b->slots[slot];
	struct mukan_peer p = { .bucket_type = b->sh[slot].bucket_type,
				.attempts = MUKAN_LOAD(&s->attempts),
				.last_attempt = MUKAN_LOAD(&s->last_attempt),
				.last_success = MUKAN_LOAD(&s->last_success) };
	return rules_is_bad(&p, now);
}

/*
 * expireNew: the first bad entry, else the one attempted longest ago. Without
 * any time given yet (b->now never set) badness cannot be judged: the oldest.
 */
static void expire_new(struct book *b, unsigned idx, int64_t now)
{
	struct bucket *bk = &b->new_b[idx];
	uint32_t victim = bk->slot[0];
	for (uint32_t i = 0; i < bk->n; i++) {
		if (now != MUKAN_TIME_NEVER && slot_is_bad(b, bk->slot[i], now)) {
			remove_from_bucket(b, bk->slot[i], idx);
			return;
		}
		if (MUKAN_LOAD(&b->slots[bk->slot[i]].last_attempt) <
		    MUKAN_LOAD(&b->slots[victim].last_attempt))
			victim = bk->slot[i];
	}
	remove_from_bucket(b, victim, idx);
}

/* Upstream's capacity check, `len > size` before an insert: at most 65 after it. */
void make_room_new(struct book *b, unsigned idx)
{
	if (b->new_b[idx].n > BOOK_NEW_BUCKET_SIZE)
		expire_new(b, idx, b->now);
}

/* addToNewBucket: 1 when added, 0 when it was there already. */
static int add_to_new_bucket(struct book *b, uint32_t slot, unsigned idx)
{
	struct shadow *h = &b->sh[slot];
	if (in_bucket(h, idx))
		return 0;
	make_room_new(b, idx);
	int err = bucket_push(b, MUKAN_BUCKET_NEW, idx, slot);
	if (err < 0)
		return err;
	h->buckets[h->n_buckets++] = (uint16_t)idx;
	if (h->n_buckets == 1)
		count_in(b, slot);
	shadow_store(b, slot);
	return 1;
}

static uint32_t oldest_in(const struct bucket *bk, const struct mukan_peer *slots)
{
	uint32_t oldest = bk->slot[0];
	for (uint32_t i = 1; i < bk->n; i++)
		if (MUKAN_LOAD(&slots[bk->slot[i]].last_attempt) <
		    MUKAN_LOAD(&slots[oldest].last_attempt))
			oldest = bk->slot[i];
	return oldest;
}

/* A full old bucket demotes its oldest entry to a new bucket, for real (upstream loses it). */
int make_room_old(struct book *b, unsigned idx)
{
	if (b->old_b[idx].n <= BOOK_OLD_BUCKET_SIZE)
		return 0;
	uint32_t oldest = oldest_in(&b->old_b[idx], b->slots);
	drop_from_buckets(b, oldest);
	b->sh[oldest].bucket_type = MUKAN_BUCKET_NEW;
	int err = add_to_new_bucket(b, oldest, new_bucket_of(b, oldest));
	return err < 0 ? err : 0;
}

static int move_to_old(struct book *b, uint32_t slot)
{
	struct shadow *h = &b->sh[slot];
	unsigned oi = old_bucket_of(b, slot);

	drop_from_buckets(b, slot);
	h->bucket_type = MUKAN_BUCKET_OLD;
	int err = make_room_old(b, oi);
	if (err == 0)
		err = bucket_push(b, MUKAN_BUCKET_OLD, oi, slot);
	if (err < 0) {
		shadow_store(b, slot);
		return err;
	}
	h->buckets[0] = (uint16_t)oi;
	h->n_buckets = 1;
	count_in(b, slot);
	shadow_store(b, slot);
	return 0;
}

void book_set_now(struct book *b, int64_t now)
{
	b->now = now;
}

int book_add(struct book *b, const struct netaddr *addr, const struct netaddr *src, int64_t now)
{
	if (!addr || !src || !addr->has_id || !ip_is_valid(&addr->a))
		return -EINVAL;
	b->now = now;
	int slot = slot_table_find_id(b, addr->id);
	if (slot >= 0 && b->sh[slot].banned)
		return -EACCES;
	if (book_is_private_id(b, addr->id) || (src->has_id && book_is_private_id(b, src->id)))
		return -EPERM;
	if (book_is_our_address(b, addr))
		return -EEXIST;
	if (b->keys.strict && !ip_is_routable(&addr->a))
		return -ENETUNREACH;

	if (slot >= 0) {
		const struct shadow *h = &b->sh[slot];
		if (h->bucket_type == MUKAN_BUCKET_OLD)
			return 0;
		if (h->n_buckets >= MUKAN_MAX_NEW_BUCKETS_PER_ADDR)
			return 0;
		/* The more buckets it is in, the less likely one more. */
		if (rng_below(&b->rng, 2u * h->n_buckets) != 0)
			return 0;
		return add_to_new_bucket(b, (uint32_t)slot,
					 placement_new_bucket(&b->keys, addr, src));
	}

	slot = slot_alloc(b);
	if (slot < 0)
		return slot;
	struct mukan_peer *p = &b->slots[slot];
	memset(p, 0, sizeof(*p));
	p->src = src->a;
	if (src->has_id)
		memcpy(p->src_id, src->id, MUKAN_ID_LEN);
	else
		p->flags |= MUKAN_PEER_SRC_NO_ID;
	/* Upstream starts LastAttempt at now; is-bad reads it as "last seen". */
	p->last_attempt = now;
	p->last_success = MUKAN_TIME_NEVER;
	p->ban_until = MUKAN_TIME_NEVER;
	p->next_dial = MUKAN_TIME_NEVER;
	p->last_dial = MUKAN_TIME_NEVER;
	p->last_connected = MUKAN_TIME_NEVER;
	struct shadow *h = &b->sh[slot];
	memset(h, 0, sizeof(*h));
	h->state = SHADOW_LIVE;
	h->addr = addr->a;
	memcpy(h->id, addr->id, MUKAN_ID_LEN);
	h->bucket_type = MUKAN_BUCKET_NEW;
	slot_table_put_id(b, (uint32_t)slot);
	/* The kernel may see the index entry first: it takes the slot only once
	 * add_to_new_bucket has written the record out (in_use last). */
	index_addr(b, (uint32_t)slot);
	int err = add_to_new_bucket(b, (uint32_t)slot, placement_new_bucket(&b->keys, addr, src));
	if (err < 0) {
		slot_release(b, (uint32_t)slot);
		return err;
	}
	tell_change(b, (uint32_t)slot);
	return 1;
}

int book_remove(struct book *b, const uint8_t id[MUKAN_ID_LEN])
{
	int slot = slot_table_find_id(b, id);
	if (slot < 0)
		return slot;
	drop_from_buckets(b, (uint32_t)slot);
	slot_release(b, (uint32_t)slot);
	return 0;
}

/* The record of a live (bucketed, not banned) ID, or a negative errno. */
static int live_slot(const struct book *b, const uint8_t id[MUKAN_ID_LEN])
{
	int slot = slot_table_find_id(b, id);
	if (slot >= 0 && b->sh[slot].banned)
		return -EACCES;
	return slot;
}

int book_mark_attempt(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	int slot = live_slot(b, id);
	if (slot < 0)
		return slot;
	b->now = now;
	struct mukan_peer *p = &b->slots[slot];
	MUKAN_STORE(&p->last_attempt, now);
	rules_attempts_inc(&p->attempts); /* a file may start it anywhere: stops at INT32_MAX */
	return 0;
}

int book_mark_good(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	int slot = live_slot(b, id);
	if (slot < 0)
		return slot;
	b->now = now;
	struct mukan_peer *p = &b->slots[slot];
	MUKAN_STORE(&p->last_attempt, now);
	MUKAN_STORE(&p->attempts, 0);
	MUKAN_STORE(&p->last_success, now);
	if (b->sh[slot].bucket_type == MUKAN_BUCKET_NEW)
		return move_to_old(b, (uint32_t)slot);
	return 0;
}

int book_mark_bad(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t ban_ns, int64_t now)
{
	int slot = slot_table_find_id(b, id);
	if (slot < 0)
		return slot;
	b->now = now;
	struct mukan_peer *p = &b->slots[slot];
	struct shadow *h = &b->sh[slot];
	if (MUKAN_LOAD(&p->flags) & MUKAN_PEER_PERSISTENT)
		return -EPERM; /* persistent peers are never banned */
	if (h->banned)
		return 0; /* upstream: a bad peer is not banned again */
	if (ban_ns < 0)
		return -EINVAL;
	/* Whatever a caller asks for (a network message may say anything), a ban
	 * lasts as long as the rules allow, and its end never overflows. */
	if (ban_ns < MUKAN_MIN_BAN_NS)
		ban_ns = MUKAN_MIN_BAN_NS;
	if (ban_ns > MUKAN_MAX_BAN_NS)
		ban_ns = MUKAN_MAX_BAN_NS;
	__s64 until;
	if (__builtin_add_overflow(now, ban_ns, &until))
		until = INT64_MAX;
	__s64 was;
	rules_raise_time(&p->ban_until, until, &was);
	drop_from_buckets(b, (uint32_t)slot);
	h->bucket_type = MUKAN_BUCKET_NONE;
	h->banned = 1;
	b->n_banned++;
	shadow_store(b, (uint32_t)slot);
	tell_change(b, (uint32_t)slot);
	return 0;
}

unsigned book_reinstate(struct book *b, int64_t now)
{
	unsigned n = 0;
	b->now = now;
	for (uint32_t i = 0; i < b->capacity && b->n_banned > 0; i++) {
		struct shadow *h = &b->sh[i];
		if (h->state != SHADOW_LIVE || !h->banned || rules_is_banned(&b->slots[i], now))
			continue;
		h->banned = 0;
		b->n_banned--;
		h->bucket_type = MUKAN_BUCKET_NEW;
		if (add_to_new_bucket(b, i, new_bucket_of(b, i)) > 0)
			n++;
		else
			shadow_store(b, i);
		tell_change(b, i);
	}
	return n;
}

bool book_is_banned(const struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	(void)now; /* upstream IsBanned: in the ban list, ended or not */
	int slot = slot_table_find_id(b, id);
	return slot >= 0 && b->sh[slot].banned;
}

bool book_is_good(const struct book *b, const uint8_t id[MUKAN_ID_LEN])
{
	int slot = live_slot(b, id);
	return slot >= 0 && b->sh[slot].bucket_type == MUKAN_BUCKET_OLD;
}

bool book_need_more(const struct book *b)
{
	return book_size(b) < BOOK_NEED_ADDRESS_THRESHOLD;
}

/* ---- our addresses, private IDs ---------------------------------------- */

int book_add_our_address(struct book *b, const struct netaddr *na)
{
	if (book_is_our_address(b, na))
		return 0;
	if (b->n_ours == BOOK_MAX_OUR_ADDRS)
		return -ENOSPC;
	b->ours[b->n_ours++] = *na;
	return 0;
}

bool book_is_our_address(const struct book *b, const struct netaddr *na)
{
	for (uint32_t i = 0; i < b->n_ours; i++)
		if (netaddr_equal(&b->ours[i], na))
			return true;
	return false;
}

int book_add_private_id(struct book *b, const uint8_t id[MUKAN_ID_LEN])
{
	if (book_is_private_id(b, id))
		return 0;
	if (b->n_private == b->cap_private) {
		uint32_t cap = b->cap_private ? 2 * b->cap_private : 8;
		void *p = realloc(b->private_ids, cap * sizeof(*b->private_ids));
		if (!p)
			return -ENOMEM;
		b->private_ids = p;
		b->cap_private = cap;
	}
	memcpy(b->private_ids[b->n_private++], id, MUKAN_ID_LEN);
	return 0;
}

bool book_is_private_id(const struct book *b, const uint8_t id[MUKAN_ID_LEN])
{
	for (uint32_t i = 0; i < b->n_private; i++)
		if (memcmp(b->private_ids[i], id, MUKAN_ID_LEN) == 0)
			return true;
	return false;
}

/* ---- inspection -------------------------------------------------------- */

uint32_t book_size(const struct book *b) { return b->n_new + b->n_old; }
uint32_t book_n_new(const struct book *b) { return b->n_new; }
uint32_t book_n_old(const struct book *b) { return b->n_old; }
uint32_t book_n_banned(const struct book *b) { return b->n_banned; }
uint32_t book_capacity(const struct book *b) { return b->capacity; }

const struct mukan_peer *book_slot(const struct book *b, uint32_t slot)
{
	return slot < b->capacity ? &b->slots[slot] : NULL;
}

struct mukan_peer *book_slot_mut(struct book *b, uint32_t slot)
{
	return slot < b->capacity ? &b->slots[slot] : NULL;
}

int book_find(const struct book *b, const uint8_t id[MUKAN_ID_LEN])
{
	return slot_table_find_id(b, id);
}

int book_find_addr(const struct book *b, const struct mukan_addr *a)
{
	return slot_table_find_addr(b, a);
}

uint32_t book_bucket_len(const struct book *b, int type, unsigned idx)
{
	if (type == MUKAN_BUCKET_OLD)
		return idx < BOOK_OLD_BUCKETS ? b->old_b[idx].n : 0;
	return idx < BOOK_NEW_BUCKETS ? b->new_b[idx].n : 0;
}

uint32_t book_bucket_at(const struct book *b, int type, unsigned idx, uint32_t i)
{
	return type == MUKAN_BUCKET_OLD ? b->old_b[idx].slot[i] : b->new_b[idx].slot[i];
}

int book_next_slot(const struct book *b, uint32_t from)
{
	for (uint32_t i = from; i < b->capacity; i++)
		if (b->sh[i].state == SHADOW_LIVE)
			return (int)i;
	return -ENOENT;
}

bool book_copy_record(const struct book *b, uint32_t slot, struct mukan_peer *out)
{
	if (slot >= b->capacity || b->sh[slot].state != SHADOW_LIVE)
		return false;
	const struct shadow *h = &b->sh[slot];
	*out = b->slots[slot];
	out->in_use = 1;
	out->addr = h->addr;
	memcpy(out->id, h->id, MUKAN_ID_LEN);
	out->bucket_type = h->bucket_type;
	out->n_buckets = h->n_buckets;
	for (unsigned i = 0; i < MUKAN_MAX_NEW_BUCKETS_PER_ADDR; i++)
		out->buckets[i] = i < h->n_buckets ? h->buckets[i] : 0;
	out->flags = h->banned ? (uint8_t)(out->flags | MUKAN_PEER_BANNED)
			       : (uint8_t)(out->flags & ~MUKAN_PEER_BANNED);
	return true;
}

uint32_t book_n_expired(const struct book *b) { return b->n_expired; }

