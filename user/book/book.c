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

static int ret_err(char *err, size_t errsz, int code, const char *msg)
{
	if (err && errsz)
		snprintf(err, errsz, "%s", msg);
	return code;
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

static int bucket_push(struct book *b, int type, unsigned idx, uint32_t slot)
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

static void bucket_del(struct book *b, int type, unsigned idx, uint32_t slot)
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

static bool in_bucket(const struct mukan_peer *p, unsigned idx)
{
	for (unsigned i = 0; i < p->n_buckets; i++)
		if (p->buckets[i] == idx)
			return true;
	return false;
}

/* ---- counts and the live list ---------------------------------------- */

static void count_in(struct book *b, uint32_t slot)
{
	if (b->slots[slot].bucket_type == MUKAN_BUCKET_OLD)
		b->n_old++;
	else
		b->n_new++;
	b->live_pos[slot] = b->n_live;
	b->live[b->n_live++] = slot;
}

static void count_out(struct book *b, uint32_t slot)
{
	if (b->slots[slot].bucket_type == MUKAN_BUCKET_OLD)
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

static void index_addr(struct book *b, uint32_t slot)
{
	if (slot_table_find_addr(b, &b->slots[slot].addr) >= 0) {
		b->addr_dups++;
		return;
	}
	slot_table_put_addr(b, slot);
	tell_index(b, &b->slots[slot].addr, (int)slot);
}

static void unindex_addr(struct book *b, uint32_t slot)
{
	const struct mukan_addr *a = &b->slots[slot].addr;
	if (slot_table_find_addr(b, a) != (int)slot) {
		b->addr_dups--;
		return;
	}
	slot_table_del_addr(b, slot);
	/* Another record shares this address: let the table point at it. */
	for (uint32_t i = 0; b->addr_dups > 0 && i < b->capacity; i++) {
		if (i != slot && b->slots[i].in_use && mukan_addr_equal(&b->slots[i].addr, a)) {
			slot_table_put_addr(b, i);
			b->addr_dups--;
			tell_index(b, a, (int)i);
			return;
		}
	}
	tell_index(b, a, -1);
}

/* A record started, ended or changed its standing (book_set_observer). */
static void tell_change(struct book *b, uint32_t slot)
{
	if (b->observer)
		b->observer(b->observer_ctx, slot);
}

void book_set_observer(struct book *b, void (*fn)(void *ctx, uint32_t slot), void *ctx)
{
	b->observer = fn;
	b->observer_ctx = ctx;
}

static void slot_release(struct book *b, uint32_t slot)
{
	struct mukan_peer *p = &b->slots[slot];
	if (p->flags & MUKAN_PEER_BANNED)
		b->n_banned--;
	slot_table_del_id(b, slot);
	unindex_addr(b, slot);
	memset(p, 0, sizeof(*p));
	b->free_list[b->n_free++] = slot;
	tell_change(b, slot);
}

static void drop_from_buckets(struct book *b, uint32_t slot)
{
	struct mukan_peer *p = &b->slots[slot];
	if (p->n_buckets == 0)
		return;
	for (unsigned i = 0; i < p->n_buckets; i++)
		bucket_del(b, p->bucket_type, p->buckets[i], slot);
	p->n_buckets = 0;
	count_out(b, slot);
}

/* The ban that ends soonest gives up its slot when every slot is taken. */
static int slot_alloc(struct book *b)
{
	if (b->n_free == 0) {
		int victim = -1;
		for (uint32_t i = 0; i < b->capacity; i++) {
			const struct mukan_peer *p = &b->slots[i];
			if ((p->flags & MUKAN_PEER_BANNED) &&
			    (victim < 0 || p->ban_until < b->slots[victim].ban_until))
				victim = (int)i;
		}
		if (victim < 0)
			return -ENOSPC;
		slot_release(b, (uint32_t)victim);
	}
	return (int)b->free_list[--b->n_free];
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
	b->free_list = malloc(b->capacity * sizeof(uint32_t));
	b->live = malloc(b->capacity * sizeof(uint32_t));
	b->live_pos = malloc(b->capacity * sizeof(uint32_t));
	b->mark = calloc(b->capacity, sizeof(uint32_t));
	if (!b->slots || !b->free_list || !b->live || !b->live_pos || !b->mark ||
	    slot_table_init(&b->by_id, b->capacity) < 0 ||
	    slot_table_init(&b->by_addr, b->capacity) < 0) {
		book_free(b);
		return -ENOMEM;
	}
	for (uint32_t i = b->capacity; i-- > 0;)
		if (!b->slots[i].in_use)
			b->free_list[b->n_free++] = i;

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

static unsigned new_bucket_for(const struct book *b, const struct mukan_peer *p)
{
	struct netaddr addr, src;
	book_peer_addr(p, &addr);
	book_peer_src(p, &src);
	return placement_new_bucket(&b->keys, &addr, &src);
}

static void remove_from_bucket(struct book *b, uint32_t slot, unsigned idx)
{
	struct mukan_peer *p = &b->slots[slot];
	bucket_del(b, p->bucket_type, idx, slot);
	for (unsigned i = 0; i < p->n_buckets; i++) {
		if (p->buckets[i] == idx) {
			p->buckets[i] = p->buckets[--p->n_buckets];
			break;
		}
	}
	if (p->n_buckets == 0) {
		/* Upstream drops an address with no bucket left from the book. */
		count_out(b, slot);
		slot_release(b, slot);
	}
}

/* expireNew: the first bad entry, else the one attempted longest ago. */
static void expire_new(struct book *b, unsigned idx, int64_t now)
{
	struct bucket *bk = &b->new_b[idx];
	uint32_t victim = bk->slot[0];
	for (uint32_t i = 0; i < bk->n; i++) {
		if (rules_is_bad(&b->slots[bk->slot[i]], now)) {
			remove_from_bucket(b, bk->slot[i], idx);
			return;
		}
		if (b->slots[bk->slot[i]].last_attempt < b->slots[victim].last_attempt)
			victim = bk->slot[i];
	}
	remove_from_bucket(b, victim, idx);
}

/* addToNewBucket: 1 when added, 0 when it was there already. */
static int add_to_new_bucket(struct book *b, uint32_t slot, unsigned idx, int64_t now)
{
	struct mukan_peer *p = &b->slots[slot];
	if (in_bucket(p, idx))
		return 0;
	if (b->new_b[idx].n > BOOK_NEW_BUCKET_SIZE)
		expire_new(b, idx, now);
	int err = bucket_push(b, MUKAN_BUCKET_NEW, idx, slot);
	if (err < 0)
		return err;
	p->buckets[p->n_buckets++] = (uint16_t)idx;
	if (p->n_buckets == 1)
		count_in(b, slot);
	return 1;
}

static uint32_t oldest_in(const struct bucket *bk, const struct mukan_peer *slots)
{
	uint32_t oldest = bk->slot[0];
	for (uint32_t i = 1; i < bk->n; i++)
		if (slots[bk->slot[i]].last_attempt < slots[oldest].last_attempt)
			oldest = bk->slot[i];
	return oldest;
}

static int move_to_old(struct book *b, uint32_t slot, int64_t now)
{
	struct mukan_peer *p = &b->slots[slot];
	struct netaddr addr;
	book_peer_addr(p, &addr);
	unsigned oi = placement_old_bucket(&b->keys, &addr);

	drop_from_buckets(b, slot);
	p->bucket_type = MUKAN_BUCKET_OLD;
	if (b->old_b[oi].n > BOOK_OLD_BUCKET_SIZE) {
		/* Full: demote the oldest to a new bucket, for real (upstream loses it). */
		uint32_t oldest = oldest_in(&b->old_b[oi], b->slots);
		drop_from_buckets(b, oldest);
		b->slots[oldest].bucket_type = MUKAN_BUCKET_NEW;
		int err = add_to_new_bucket(b, oldest, new_bucket_for(b, &b->slots[oldest]), now);
		if (err < 0)
			return err;
	}
	int err = bucket_push(b, MUKAN_BUCKET_OLD, oi, slot);
	if (err < 0)
		return err;
	p->buckets[0] = (uint16_t)oi;
	p->n_buckets = 1;
	count_in(b, slot);
	return 0;
}

int book_add(struct book *b, const struct netaddr *addr, const struct netaddr *src, int64_t now)
{
	if (!addr || !src || !addr->has_id || !ip_is_valid(&addr->a))
		return -EINVAL;
	int slot = slot_table_find_id(b, addr->id);
	if (slot >= 0 && (b->slots[slot].flags & MUKAN_PEER_BANNED))
		return -EACCES;
	if (book_is_private_id(b, addr->id) || (src->has_id && book_is_private_id(b, src->id)))
		return -EPERM;
	if (book_is_our_address(b, addr))
		return -EEXIST;
	if (b->keys.strict && !ip_is_routable(&addr->a))
		return -ENETUNREACH;

	if (slot >= 0) {
		struct mukan_peer *p = &b->slots[slot];
		if (p->bucket_type == MUKAN_BUCKET_OLD)
			return 0;
		if (p->n_buckets >= MUKAN_MAX_NEW_BUCKETS_PER_ADDR)
			return 0;
		/* The more buckets it is in, the less likely one more. */
		if (rng_below(&b->rng, 2u * p->n_buckets) != 0)
			return 0;
		return add_to_new_bucket(b, (uint32_t)slot,
					 placement_new_bucket(&b->keys, addr, src), now);
	}

	slot = slot_alloc(b);
	if (slot < 0)
		return slot;
	struct mukan_peer *p = &b->slots[slot];
	memset(p, 0, sizeof(*p));
	p->addr = addr->a;
	p->src = src->a;
	memcpy(p->id, addr->id, MUKAN_ID_LEN);
	if (src->has_id)
		memcpy(p->src_id, src->id, MUKAN_ID_LEN);
	else
		p->flags |= MUKAN_PEER_SRC_NO_ID;
	p->in_use = 1;
	p->bucket_type = MUKAN_BUCKET_NEW;
	/* Upstream starts LastAttempt at now; is-bad reads it as "last seen". */
	p->last_attempt = now;
	p->last_success = MUKAN_TIME_NEVER;
	p->ban_until = MUKAN_TIME_NEVER;
	p->next_dial = MUKAN_TIME_NEVER;
	p->last_dial = MUKAN_TIME_NEVER;
	p->last_connected = MUKAN_TIME_NEVER;
	slot_table_put_id(b, (uint32_t)slot);
	index_addr(b, (uint32_t)slot);
	int err = add_to_new_bucket(b, (uint32_t)slot, placement_new_bucket(&b->keys, addr, src), now);
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
	if (slot >= 0 && (b->slots[slot].flags & MUKAN_PEER_BANNED))
		return -EACCES;
	return slot;
}

int book_mark_attempt(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	int slot = live_slot(b, id);
	if (slot < 0)
		return slot;
	b->slots[slot].last_attempt = now;
	if (b->slots[slot].attempts < INT32_MAX) /* a file may start it anywhere */
		b->slots[slot].attempts++;
	return 0;
}

int book_mark_good(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	int slot = live_slot(b, id);
	if (slot < 0)
		return slot;
	struct mukan_peer *p = &b->slots[slot];
	p->last_attempt = now;
	p->attempts = 0;
	p->last_success = now;
	if (p->bucket_type == MUKAN_BUCKET_NEW)
		return move_to_old(b, (uint32_t)slot, now);
	return 0;
}

int book_mark_bad(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t ban_ns, int64_t now)
{
	int slot = slot_table_find_id(b, id);
	if (slot < 0)
		return slot;
	struct mukan_peer *p = &b->slots[slot];
	if (p->flags & MUKAN_PEER_PERSISTENT)
		return -EPERM; /* persistent peers are never banned */
	if (p->flags & MUKAN_PEER_BANNED)
		return 0; /* upstream: a bad peer is not banned again */
	if (ban_ns < 0)
		return -EINVAL;
	/* Saturate: a ban "for ever" must not wrap into the past. */
	int64_t until = now > 0 && ban_ns > INT64_MAX - now ? INT64_MAX : now + ban_ns;
	if (p->ban_until == MUKAN_TIME_NEVER || p->ban_until < until)
		p->ban_until = until;
	drop_from_buckets(b, (uint32_t)slot);
	p->bucket_type = MUKAN_BUCKET_NONE;
	p->flags |= MUKAN_PEER_BANNED;
	b->n_banned++;
	tell_change(b, (uint32_t)slot);
	return 0;
}

unsigned book_reinstate(struct book *b, int64_t now)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < b->capacity && b->n_banned > 0; i++) {
		struct mukan_peer *p = &b->slots[i];
		if (!p->in_use || !(p->flags & MUKAN_PEER_BANNED) || rules_is_banned(p, now))
			continue;
		p->flags &= (uint8_t)~MUKAN_PEER_BANNED;
		b->n_banned--;
		p->bucket_type = MUKAN_BUCKET_NEW;
		if (add_to_new_bucket(b, i, new_bucket_for(b, p), now) > 0)
			n++;
		tell_change(b, i);
	}
	return n;
}

bool book_is_banned(const struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	(void)now; /* upstream IsBanned: in the ban list, ended or not */
	int slot = slot_table_find_id(b, id);
	return slot >= 0 && (b->slots[slot].flags & MUKAN_PEER_BANNED);
}

bool book_is_good(const struct book *b, const uint8_t id[MUKAN_ID_LEN])
{
	int slot = live_slot(b, id);
	return slot >= 0 && b->slots[slot].bucket_type == MUKAN_BUCKET_OLD;
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
		if (b->slots[i].in_use)
			return (int)i;
	return -ENOENT;
}

/* ---- records from a file or a pinned map -------------------------------- */

/* Index the record already in `slot` as its fields describe it. */
static int index_record(struct book *b, uint32_t slot, char *err, size_t errsz)
{
	struct mukan_peer *p = &b->slots[slot];
	if (p->addr.family != MUKAN_AF_INET && p->addr.family != MUKAN_AF_INET6)
		return ret_err(err, errsz, -EINVAL, "address family is neither IPv4 nor IPv6");
	if (slot_table_find_id(b, p->id) >= 0)
		return ret_err(err, errsz, -EEXIST, "node ID appears twice");
	p->in_use = 1;
	if (p->flags & MUKAN_PEER_BANNED) {
		p->bucket_type = MUKAN_BUCKET_NONE;
		p->n_buckets = 0;
		b->n_banned++;
	} else if (p->bucket_type != MUKAN_BUCKET_NEW && p->bucket_type != MUKAN_BUCKET_OLD) {
		return ret_err(err, errsz, -EINVAL, "bucket_type must be 1 (new) or 2 (old)");
	} else {
		unsigned limit = p->bucket_type == MUKAN_BUCKET_OLD ? BOOK_OLD_BUCKETS : BOOK_NEW_BUCKETS;
		if (p->n_buckets > MUKAN_MAX_NEW_BUCKETS_PER_ADDR)
			return ret_err(err, errsz, -EINVAL, "more than 4 buckets");
		unsigned n = 0;
		for (unsigned i = 0; i < p->n_buckets; i++) {
			if (p->buckets[i] >= limit)
				return ret_err(err, errsz, -ERANGE, "bucket index out of range");
			bool seen = false; /* a file may list a bucket twice */
			for (unsigned j = 0; j < n; j++)
				seen = seen || p->buckets[j] == p->buckets[i];
			if (!seen)
				p->buckets[n++] = p->buckets[i];
		}
		p->n_buckets = (uint8_t)n;
		if (n == 0) {
			/* No bucket listed: place it where upstream would. */
			struct netaddr addr;
			book_peer_addr(p, &addr);
			p->buckets[0] = (uint16_t)(p->bucket_type == MUKAN_BUCKET_OLD
							   ? placement_old_bucket(&b->keys, &addr)
							   : new_bucket_for(b, p));
			p->n_buckets = 1;
		}
		for (unsigned i = 0; i < p->n_buckets; i++) {
			int e = bucket_push(b, p->bucket_type, p->buckets[i], slot);
			if (e < 0) {
				for (unsigned j = 0; j < i; j++)
					bucket_del(b, p->bucket_type, p->buckets[j], slot);
				return ret_err(err, errsz, e, "out of memory");
			}
		}
		count_in(b, slot);
	}
	slot_table_put_id(b, slot);
	index_addr(b, slot);
	tell_change(b, slot);
	return 0;
}

int book_insert_record(struct book *b, const struct mukan_peer *rec, char *err, size_t errsz)
{
	if (slot_table_find_id(b, rec->id) >= 0)
		return ret_err(err, errsz, -EEXIST, "node ID appears twice");
	int slot = slot_alloc(b);
	if (slot < 0)
		return ret_err(err, errsz, slot, "more records than the book's capacity");
	b->slots[slot] = *rec;
	int e = index_record(b, (uint32_t)slot, err, errsz);
	if (e < 0) {
		memset(&b->slots[slot], 0, sizeof(b->slots[slot]));
		b->free_list[b->n_free++] = (uint32_t)slot;
		return e;
	}
	return slot;
}

int book_reindex(struct book *b, char *err, size_t errsz)
{
	int n = 0;
	for (uint32_t i = 0; i < b->capacity; i++) {
		if (!b->slots[i].in_use)
			continue;
		int e = index_record(b, i, err, errsz);
		if (e < 0)
			return e;
		n++;
	}
	return n;
}

int book_resync(struct book *b, char *err, size_t errsz)
{
	/* Forget every index; the slots are the truth. */
	for (int i = 0; i < BOOK_NEW_BUCKETS; i++)
		b->new_b[i].n = 0;
	for (int i = 0; i < BOOK_OLD_BUCKETS; i++)
		b->old_b[i].n = 0;
	b->ne_new.n = b->ne_old.n = 0;
	memset(b->by_id.cell, 0, (b->by_id.mask + 1) * sizeof(*b->by_id.cell));
	memset(b->by_addr.cell, 0, (b->by_addr.mask + 1) * sizeof(*b->by_addr.cell));
	b->n_new = b->n_old = b->n_banned = b->n_live = b->addr_dups = 0;
	b->n_free = 0;
	for (uint32_t i = b->capacity; i-- > 0;)
		if (!b->slots[i].in_use)
			b->free_list[b->n_free++] = i;
	return book_reindex(b, err, errsz);
}
