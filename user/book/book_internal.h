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

/*
 * The book's own copy of what places a record: its identity and its buckets.
 * Slots may be shared memory that the kernel, operators (bpftool) and other
 * processes write; every bucket and table operation reads only this copy and
 * writes it out to the slot, so nothing written there can steer the book's
 * arrays. A slot that no longer matches its copy is found by book_verify_some
 * and book_resync.
 */
enum shadow_state {
	SHADOW_FREE = 0,	/* no record; may be on the free list */
	SHADOW_LIVE = 1,	/* an indexed record */
	SHADOW_QUARANTINED = 2, /* a record left out of every index until repaired or dropped */
};

struct shadow {
	uint8_t id[MUKAN_ID_LEN];
	struct mukan_addr addr;
	uint8_t state; /* enum shadow_state */
	uint8_t bucket_type;
	uint8_t n_buckets;
	uint8_t banned;
	uint16_t buckets[MUKAN_MAX_NEW_BUCKETS_PER_ADDR];
	uint8_t problem;  /* quarantined: enum book_problem */
	uint8_t reported; /* quarantined: the hook was told */
	uint8_t on_free_list;
	uint8_t pad;
};

struct book {
	struct placement_keys keys;
	uint8_t hash_key[BOOK_HASH_KEY_LEN];
	bool hash_key_from_file; /* false: drawn at random (new book, upstream file) */
	bool from_cache;	 /* loaded from PATH.cache rather than parsed */
	uint64_t file_generation; /* "mukan.generation" of the file (book_file.h) */
	uint64_t table_key[2]; /* SipHash key for the lookup tables */
	struct rng rng;

	struct mukan_peer *slots;
	struct shadow *sh; /* one per slot: the book's truth about placement */
	uint32_t capacity;
	bool own_slots;
	uint32_t *free_list; /* may hold slots no longer free: popping skips them */
	uint32_t n_free;
	uint32_t n_quarantined;
	uint32_t n_expired; /* records dropped because their new bucket was full */
	uint32_t verify_cursor;
	int64_t now; /* the latest time an operation was given (MUKAN_TIME_NEVER: none) */
	struct book_sync_tally last_sync;
	book_record_fn on_record;
	void *record_ctx;

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

/* book.c: what book_records.c builds on */
int bucket_push(struct book *b, int type, unsigned idx, uint32_t slot);
void bucket_del(struct book *b, int type, unsigned idx, uint32_t slot);
void count_in(struct book *b, uint32_t slot);
void index_addr(struct book *b, uint32_t slot);
void unindex_addr(struct book *b, uint32_t slot);
void tell_index_of(struct book *b, const struct mukan_addr *a);
void tell_change(struct book *b, uint32_t slot);
void drop_from_buckets(struct book *b, uint32_t slot);
void free_list_push(struct book *b, uint32_t slot);
int slot_alloc(struct book *b);
void slot_release(struct book *b, uint32_t slot);
void shadow_store(struct book *b, uint32_t slot);
void make_room_new(struct book *b, unsigned idx);
int make_room_old(struct book *b, unsigned idx);
unsigned new_bucket_for(const struct book *b, const struct mukan_peer *p);
int ret_err(char *err, size_t errsz, int code, const char *msg);

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
