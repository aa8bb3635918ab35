/* SPDX-License-Identifier: Apache-2.0 */
/* book_internal.h - the book's private state, shared by the user/book sources only. */
#ifndef MUKAN_BOOK_INTERNAL_H
#define MUKAN_BOOK_INTERNAL_H

#include "book.h"
#include "rng.h"

/* One bucket: slot numbers, in insertion order. Grows only past 65 entries
 * when a file says so. */
struct bucket {
	uint32_t *slot;
	uint32_t n, cap;
};

/* Which buckets of one side are non-empty, so a pick needs no retry loop. */
struct nonempty {
	uint16_t idx[BOOK_NEW_BUCKETS];
	uint16_t pos[BOOK_NEW_BUCKETS];
	uint32_t n;
};

/* Open-addressing table (linear probing, backward-shift delete) of slot+1. */
struct slot_table {
	uint32_t *cell;
	uint32_t mask;
};

struct book {
	struct placement_keys keys;
	uint8_t hash_key[BOOK_HASH_KEY_LEN];
	bool hash_key_from_file; /* false: drawn at random (new book, upstream file) */
	bool from_cache;	 /* loaded from PATH.cache rather than parsed */
	uint64_t table_key[2]; /* SipHash key for the lookup tables */
	struct rng rng;

	struct mukan_peer *slots;
	uint32_t capacity;
	bool own_slots;
	uint32_t *free_list;
	uint32_t n_free;

	struct bucket new_b[BOOK_NEW_BUCKETS];
	struct bucket old_b[BOOK_OLD_BUCKETS];
	struct nonempty ne_new, ne_old;
	uint32_t n_new, n_old, n_banned;

	struct slot_table by_id, by_addr;
	void (*on_index)(void *ctx, const struct mukan_addr *a, int slot);
	void *index_ctx;
	void (*observer)(void *ctx, uint32_t slot); /* book_set_observer */
	void *observer_ctx;
	uint32_t addr_dups; /* records whose address another record also has */

	/* Bucketed records, dense, for uniform PEX selection. */
	uint32_t *live, *live_pos;
	uint32_t n_live;

	struct netaddr ours[BOOK_MAX_OUR_ADDRS];
	uint32_t n_ours;
	uint8_t (*private_ids)[MUKAN_ID_LEN];
	uint32_t n_private, cap_private;

	uint32_t *mark; /* per-slot generation marks for de-duplication */
	uint32_t mark_gen;
};

/* book_index.c */
int slot_table_init(struct slot_table *t, uint32_t capacity);
void slot_table_free(struct slot_table *t);
int slot_table_find_id(const struct book *b, const uint8_t id[MUKAN_ID_LEN]);
int slot_table_find_addr(const struct book *b, const struct mukan_addr *a);
void slot_table_put_id(struct book *b, uint32_t slot);
void slot_table_put_addr(struct book *b, uint32_t slot);
void slot_table_del_id(struct book *b, uint32_t slot);
void slot_table_del_addr(struct book *b, uint32_t slot);

#endif /* MUKAN_BOOK_INTERNAL_H */
