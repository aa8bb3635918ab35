/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book.h - a CometBFT-compatible address book over a flat array of
 * struct mukan_peer slots (include/mukan/abi.h).
 *
 * The slots may be ordinary memory or an mmapped BPF array the kernel writes
 * into; the bucket lists and lookup tables are this library's own index over
 * them. Every operation takes `now` (book time, in ns) from the caller, and
 * every random choice comes from a seeded generator, so behaviour can be
 * replayed exactly. Functions return 0 or a positive count on success and
 * -errno on failure; nothing here prints, exits or touches the network.
 *
 * Error codes of book_add (upstream's AddAddress errors):
 *   -EINVAL      invalid address (bad IP, no ID)
 *   -EACCES      the address is banned
 *   -EPERM       the address or its source is a private ID
 *   -EEXIST      one of our own addresses
 *   -ENETUNREACH not routable in strict mode
 *   -ENOSPC      every slot is in use
 */
#ifndef MUKAN_BOOK_H
#define MUKAN_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mukan/abi.h"
#include "netaddr.h"
#include "placement.h"

#define BOOK_NEW_BUCKET_SIZE 64 /* nominal; `len > size` allows 65 */
#define BOOK_OLD_BUCKET_SIZE 64
#define BOOK_NEED_ADDRESS_THRESHOLD 1000
#define BOOK_DEFAULT_CAPACITY 32768 /* 8 MiB of slots: every bucket full + bans */
#define BOOK_MAX_OUR_ADDRS 32

/* PEX reply size rule: min(250, max(min(32, size), size * 23 / 100)). */
#define BOOK_SELECTION_PERCENT 23
#define BOOK_SELECTION_MIN 32
#define BOOK_SELECTION_MAX 250

struct book;

struct book_opts {
	bool strict;		  /* addr_book_strict (upstream default true) */
	uint32_t capacity;	  /* slots; 0 = BOOK_DEFAULT_CAPACITY */
	uint64_t seed;		  /* generator seed */
	struct mukan_peer *slots; /* caller's slot store (capacity entries), or NULL */
	bool keys_from_seed;	  /* derive key and hash key from seed (tests, benchmarks) */
	/*
	 * Told whenever the address -> slot index changes (slot -1: removed), so
	 * a kernel-side copy of the index (the BPF book_idx map) stays true.
	 */
	void (*on_index)(void *ctx, const struct mukan_addr *a, int slot);
	void *index_ctx;
};

/*
 * Create an empty book with a fresh random key and hash key. With
 * opts->slots the records live in the caller's memory, which must be zeroed
 * or hold records from an earlier run (they are indexed, see book_reindex).
 */
int book_new(struct book **out, const struct book_opts *opts);
void book_free(struct book *b);

/* The `key` prefix (any byte string up to BOOK_KEY_MAX) and the hash key. */
int book_set_key(struct book *b, const char *key, size_t len);
const char *book_key(const struct book *b);
void book_set_hash_key(struct book *b, const uint8_t hk[BOOK_HASH_KEY_LEN]);
const uint8_t *book_hash_key(const struct book *b);
/* Did the hash key come from a loaded file (ours), or was it drawn at random? */
bool book_hash_key_from_file(const struct book *b);
const struct placement_keys *book_placement(const struct book *b);
bool book_strict(const struct book *b);

/* Upstream operations. */
int book_add(struct book *b, const struct netaddr *addr, const struct netaddr *src, int64_t now);
int book_remove(struct book *b, const uint8_t id[MUKAN_ID_LEN]);
int book_mark_attempt(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now);
int book_mark_good(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now);
/* A ban of ban_ns (cut to the rules' 1 s .. 30 days; negative: -EINVAL); ban_until only grows. */
int book_mark_bad(struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t ban_ns, int64_t now);
/* Put every record whose ban has ended back into a new bucket; the count. */
unsigned book_reinstate(struct book *b, int64_t now);
bool book_is_banned(const struct book *b, const uint8_t id[MUKAN_ID_LEN], int64_t now);
bool book_is_good(const struct book *b, const uint8_t id[MUKAN_ID_LEN]);
bool book_need_more(const struct book *b);

/*
 * Pick an address to dial with upstream's bias towards new addresses
 * (0..100, clamped): old iff (oldC + newC) * U[0,1) < oldC where
 * oldC = sqrt(nOld) * (100 - bias), newC = sqrt(nNew) * bias; then a uniform
 * non-empty bucket of that side and a uniform entry of it. 0 or -ENOENT.
 */
int book_pick(struct book *b, int bias, uint32_t *slot);

/* Upstream bias from the outbound peer count: min(outbound, 8) * 10 + 10. */
static inline int book_bias_for_outbound(int outbound)
{
	if (outbound < 0)
		outbound = 0;
	return (outbound < 8 ? outbound : 8) * 10 + 10;
}

/* Addresses for a PEX reply (GetSelection / GetSelectionWithBias). */
size_t book_selection_size(size_t book_size);
size_t book_selection(struct book *b, uint32_t *out, size_t max);
size_t book_selection_bias(struct book *b, int bias, uint32_t *out, size_t max);

/* Our own addresses and private IDs are never added. */
int book_add_our_address(struct book *b, const struct netaddr *na);
bool book_is_our_address(const struct book *b, const struct netaddr *na);
int book_add_private_id(struct book *b, const uint8_t id[MUKAN_ID_LEN]);
bool book_is_private_id(const struct book *b, const uint8_t id[MUKAN_ID_LEN]);

/*
 * Told, after the fact, whenever a slot's record starts or ends, joins or
 * leaves the ban list, or is indexed from the slots: what counts kept
 * outside the book (the manager's, for status) need to stay true without
 * scanning. NULL stops it.
 */
void book_set_observer(struct book *b, void (*fn)(void *ctx, uint32_t slot), void *ctx);

/* Inspection. Sizes count bucketed (not banned) records, as upstream Size(). */
uint32_t book_size(const struct book *b);
uint32_t book_n_new(const struct book *b);
uint32_t book_n_old(const struct book *b);
uint32_t book_n_banned(const struct book *b);
uint32_t book_capacity(const struct book *b);
const struct mukan_peer *book_slot(const struct book *b, uint32_t slot);
struct mukan_peer *book_slot_mut(struct book *b, uint32_t slot);
/* Slot of an ID or an address, or -ENOENT. */
int book_find(const struct book *b, const uint8_t id[MUKAN_ID_LEN]);
int book_find_addr(const struct book *b, const struct mukan_addr *a);
uint32_t book_bucket_len(const struct book *b, int type, unsigned idx);
uint32_t book_bucket_at(const struct book *b, int type, unsigned idx, uint32_t i);
/* Next used slot at or after `from`, or -ENOENT: for iterating records. */
int book_next_slot(const struct book *b, uint32_t from);

/* The addresses of a record as netaddr values. */
void book_peer_addr(const struct mukan_peer *p, struct netaddr *addr);
void book_peer_src(const struct mukan_peer *p, struct netaddr *src);

/*
 * The record in a slot as the book holds it: a copy of the slot taken once,
 * with the identity and placement fields from the book's own copy (what the
 * book's buckets say, whatever the shared slot says meanwhile). For saving
 * and showing. Returns false for a slot that holds no indexed record.
 */
bool book_copy_record(const struct book *b, uint32_t slot, struct mukan_peer *out);

/*
 * The time inserts judge "bad" by when a full bucket must give up an entry
 * (book_insert_record, book_reindex, book_resync take no time of their own).
 * Every operation that takes `now` sets it too.
 */
void book_set_now(struct book *b, int64_t now);

/*
 * Insert a record as a file describes it: its bucket type and bucket list
 * are kept as given (a list that is empty is recomputed). A record flagged
 * MUKAN_PEER_BANNED goes to the ban list. Returns the slot, or -errno with
 * a reason in err: duplicate ID, bucket index out of range, wrong type.
 *
 * Buckets hold at most 65 entries on every path, as upstream's add allows:
 * a record listed in a full new bucket first expires an entry of it (the
 * first bad one, else the one attempted longest ago; an entry left in no
 * bucket leaves the book and is counted in book_n_expired); a record listed
 * in a full old bucket first moves that bucket's longest-unattempted entry
 * back to a new bucket, as marking good does.
 */
int book_insert_record(struct book *b, const struct mukan_peer *rec, char *err, size_t errsz);
/* Records that left the book because a new bucket was full (since book_new). */
uint32_t book_n_expired(const struct book *b);

/* ---- records in shared memory: checks, quarantine, repair ---------------- */

/* What can be wrong with a record found in a slot. */
enum book_problem {
	BOOK_OK = 0,
	BOOK_BAD_IN_USE,       /* in_use is neither 0 nor 1 */
	BOOK_BAD_FAMILY,       /* neither IPv4 nor IPv6: the address is unknown */
	BOOK_BAD_ADDR_BYTES,   /* pad, or bytes past an IPv4 address, are not zero */
	BOOK_BAD_FLAGS,	       /* flag bits no version defines */
	BOOK_BAD_BUCKET_TYPE,  /* not banned, and neither new (1) nor old (2) */
	BOOK_BAD_N_BUCKETS,    /* more than 4 buckets */
	BOOK_BAD_BUCKET_INDEX, /* a bucket number past the bucket count */
	BOOK_BAD_COUNTER,      /* failures beyond any real count */
	BOOK_DUP_ID,	       /* another record has this node ID */
	BOOK_CHANGED,	       /* its address or node ID changed under the book */
	BOOK_MOVED,	       /* its bucket fields changed under the book (valid, but not its) */
	BOOK_PROBLEM_COUNT,
};

/* One short phrase for people ("bucket index out of range"). */
const char *book_problem_text(enum book_problem p);

/*
 * What is wrong with a record on its own (everything but duplicates), for a
 * copy taken once: BOOK_OK when nothing is. A free slot (in_use 0) is fine.
 */
enum book_problem book_record_problem(const struct mukan_peer *p);

/*
 * Records of a shared slot store are checked whenever they are read
 * (book_reindex, book_resync, book_verify_some): a bad one is quarantined,
 * i.e. left out of every bucket and table, its address taken out of the
 * address index (on_index), its slot neither used nor reused, and the rest
 * of the book goes on. A record whose bucket fields were changed under the
 * book gets the book's placement back (restored). The hook hears of each
 * once: when it happens or, for quarantines before it was set, when it is
 * set. `seen` is the slot as it was found.
 */
enum book_event {
	BOOK_EV_QUARANTINED = 1,
	BOOK_EV_RESTORED = 2,
};
typedef void (*book_record_fn)(void *ctx, uint32_t slot, enum book_event ev,
			       enum book_problem why, const struct mukan_peer *seen);
void book_set_record_hook(struct book *b, book_record_fn fn, void *ctx);
uint32_t book_n_quarantined(const struct book *b);
/* The next quarantined slot at or after `from`, or -ENOENT; *why says what was wrong. */
int book_next_quarantined(const struct book *b, uint32_t from, enum book_problem *why);

/* What the last book_reindex / book_resync found. */
struct book_sync_tally {
	uint32_t indexed;     /* records indexed */
	uint32_t quarantined; /* records left out, bad or duplicate */
	uint32_t changed;     /* resync: slots that differed from the book's copy */
	uint32_t expired;     /* records that left the book because a bucket was full */
};
const struct book_sync_tally *book_last_sync(const struct book *b);

/*
 * Re-index records already present in the slot store (a pinned map that
 * outlived the daemon). Each slot is copied once and checked; bad records
 * and later duplicates of a node ID are quarantined, never a reason to stop.
 * Returns the number indexed or -ENOMEM.
 */
int book_reindex(struct book *b, char *err, size_t errsz);

/*
 * Rebuild every index from the slots, after another process (the operator's
 * CLI) changed records in a shared slot store: valid records are taken as
 * they now are, bad ones quarantined (book_last_sync has the counts).
 * Returns the number indexed.
 */
int book_resync(struct book *b, char *err, size_t errsz);

/*
 * Check up to n slots against the book's copy, going on where the last call
 * stopped (call it often with a small n: the whole store is covered every
 * capacity / n calls). A record whose placement fields were changed under
 * the book gets the book's placement back; one whose identity changed, that
 * appeared in a free slot, or that is bad, is quarantined.
 */
struct book_verify_tally {
	uint32_t checked, restored, quarantined;
};
void book_verify_some(struct book *b, uint32_t n, struct book_verify_tally *t);
/* The same for one slot, now (before a repair names it). */
void book_verify_slot(struct book *b, uint32_t slot, struct book_verify_tally *t);

/*
 * A quarantined record back into the book: what can be fixed is fixed
 * (placement recomputed under the book's keys, unknown flags and stray
 * address bytes cleared, an impossible failure count cut to the largest
 * fail_limit), then it is indexed like any other. -EINVAL with the reason in
 * err when it cannot be (unknown family, the node ID is in another record,
 * not quarantined).
 */
int book_repair(struct book *b, uint32_t slot, char *err, size_t errsz);
/* Drop a quarantined record: its slot becomes free. -EINVAL when not quarantined. */
int book_drop(struct book *b, uint32_t slot);

#endif /* MUKAN_BOOK_H */
