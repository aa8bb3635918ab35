/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_book_json.c - libFuzzer target for addrbook.json loading.
 *
 * Input: one control byte, then the file text. The control byte picks
 * strict mode (bit 0), a tiny or a normal capacity (bit 1; tiny forces the
 * "book full" paths), the pick bias (bits 2-4) and the clock (bit 6: book
 * time starts an hour before "now", as CLOCK_BOOTTIME does, so file times
 * are shifted by a large wall offset and the overflow clamps are used).
 *
 * A file that loads must be valid JSON, must render to text that loads to
 * the same book, and the book must then survive ordinary use (pick,
 * selection, mark attempt/good/bad, reinstate, add, remove) with its counts
 * and bucket lists in agreement. Broken invariants abort.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "book/book.h"
#include "book/book_file.h"
#include "mukan/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-11-20T00:00:00Z, as a wall-clock time. */
#define FUZZ_NOW (1795132800LL * MUKAN_NS_PER_SEC)
#define FUZZ_BAN_NS (3600LL * MUKAN_NS_PER_SEC)

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static bool slot_in_bucket(const struct book *b, int type, unsigned idx, uint32_t slot)
{
	for (uint32_t i = 0; i < book_bucket_len(b, type, idx); i++)
		if (book_bucket_at(b, type, idx, i) == slot)
			return true;
	return false;
}

/* Counts, records and bucket lists describe the same book. */
static void check_consistent(const struct book *b)
{
	uint32_t n_new = 0, n_old = 0, n_banned = 0;
	uint64_t listed = 0, held = 0;
	for (int s = book_next_slot(b, 0); s >= 0; s = book_next_slot(b, (uint32_t)s + 1)) {
		const struct mukan_peer *p = book_slot(b, (uint32_t)s);
		check(book_find(b, p->id) == s, "ID table does not find a record");
		if (p->flags & MUKAN_PEER_BANNED) {
			check(p->n_buckets == 0, "banned record still in a bucket");
			n_banned++;
			continue;
		}
		check(p->n_buckets >= 1 && p->n_buckets <= MUKAN_MAX_NEW_BUCKETS_PER_ADDR,
		      "live record with no bucket or too many");
		check(p->bucket_type == MUKAN_BUCKET_NEW || p->bucket_type == MUKAN_BUCKET_OLD,
		      "live record with no bucket type");
		if (p->bucket_type == MUKAN_BUCKET_OLD)
			n_old++;
		else
			n_new++;
		for (unsigned i = 0; i < p->n_buckets; i++)
			check(slot_in_bucket(b, p->bucket_type, p->buckets[i], (uint32_t)s),
			      "record lists a bucket that does not hold it");
		listed += p->n_buckets;
	}
	for (unsigned i = 0; i < BOOK_NEW_BUCKETS; i++)
		held += book_bucket_len(b, MUKAN_BUCKET_NEW, i);
	for (unsigned i = 0; i < BOOK_OLD_BUCKETS; i++)
		held += book_bucket_len(b, MUKAN_BUCKET_OLD, i);
	check(n_new == book_n_new(b) && n_old == book_n_old(b), "new/old counts are off");
	check(n_banned == book_n_banned(b), "banned count is off");
	check(book_size(b) == n_new + n_old, "size is not new + old");
	check(listed == held, "buckets hold entries no record lists");
}

static void check_slot_live(const struct book *b, uint32_t slot)
{
	const struct mukan_peer *p = book_slot(b, slot);
	check(p && p->in_use && !(p->flags & MUKAN_PEER_BANNED), "picked a dead or banned slot");
}

static void check_selection(const struct book *b, const uint32_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		check_slot_live(b, out[i]);
		for (size_t j = 0; j < i; j++)
			check(out[i] != out[j], "selection repeats an address");
	}
}

/*
 * render -> load must give the same book, and rendering that gives the same
 * text; the upstream-only rendering must load to the same buckets.
 */
static void check_roundtrip(const struct book *b, const struct book_opts *opts,
			    const struct book_file_opts *fo)
{
	char *text, *again, err[256] = "";
	size_t len, again_len;
	struct book *r;
	check(book_render(b, fo, &text, &len) == 0, "render failed");
	int rc = book_load_buffer(text, len, "rendered", opts, fo, &r, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "reload: %d %s\n%.*s\n", rc, err, (int)(len < 4000 ? len : 4000), text);
		check(0, "rendered book does not load");
	}
	check(book_size(r) == book_size(b), "reload changed book_size");
	check(book_n_new(r) == book_n_new(b), "reload changed n_new");
	check(book_n_old(r) == book_n_old(b), "reload changed n_old");
	check(book_n_banned(r) == book_n_banned(b), "reload changed n_banned");
	check(strcmp(book_key(r), book_key(b)) == 0, "reload changed the key");
	check(memcmp(book_hash_key(r), book_hash_key(b), BOOK_HASH_KEY_LEN) == 0,
	      "reload changed the hash key");
	check(book_render(r, fo, &again, &again_len) == 0, "second render failed");
	check(again_len == len && memcmp(again, text, len) == 0, "render is not a fixed point");
	free(again);
	free(text);
	book_free(r);

	/* Upstream's format alone: the same buckets and key, and no bans. */
	struct book_file_opts up = *fo;
	up.upstream_only = true;
	check(book_render(b, &up, &text, &len) == 0, "upstream-only render failed");
	rc = book_load_buffer(text, len, "upstream-only", opts, &up, &r, err, sizeof(err));
	check(rc == 0, "upstream-only render does not load");
	check(book_n_new(r) == book_n_new(b) && book_n_old(r) == book_n_old(b),
	      "upstream-only reload changed the counts");
	check(book_n_banned(r) == 0, "upstream-only file kept bans");
	check(strcmp(book_key(r), book_key(b)) == 0, "upstream-only reload changed the key");
	free(text);
	book_free(r);
}

/* A handful of operations at book time `now`. */
static void exercise(struct book *b, int bias, int64_t now)
{
	uint32_t sel[BOOK_SELECTION_MAX], slot;
	uint8_t id[MUKAN_ID_LEN];

	size_t n = book_selection(b, sel, BOOK_SELECTION_MAX);
	check(n == book_selection_size(book_size(b)), "selection has the wrong size");
	check_selection(b, sel, n);
	n = book_selection_bias(b, bias, sel, BOOK_SELECTION_MAX);
	check_selection(b, sel, n);

	for (int round = 0; round < 4; round++) {
		int rc = book_pick(b, bias, &slot);
		check(rc == 0 || rc == -ENOENT, "pick failed oddly");
		if (rc != 0)
			break;
		check_slot_live(b, slot);
		const struct mukan_peer *p = book_slot(b, slot);
		memcpy(id, p->id, sizeof(id));
		struct netaddr addr, src;
		book_peer_addr(p, &addr);
		book_peer_src(p, &src);

		switch (round) {
		case 0:
			check(book_mark_attempt(b, id, now) == 0, "mark attempt failed");
			check(book_mark_good(b, id, now) == 0, "mark good failed");
			check(book_is_good(b, id), "marked good but not old");
			break;
		case 1:
			check(book_mark_bad(b, id, FUZZ_BAN_NS, now) == 0 ||
				      (p->flags & MUKAN_PEER_PERSISTENT),
			      "mark bad failed");
			break;
		case 2: {
			/* The same address under a new ID, then the original again. */
			struct netaddr twin = addr;
			twin.id[0] ^= 0x5a;
			book_add(b, &twin, &src, now);
			book_add(b, &addr, &src, now);
			break;
		}
		default:
			book_remove(b, id);
			break;
		}
		check_consistent(b);
	}
	book_reinstate(b, now + 2 * FUZZ_BAN_NS);
	check_consistent(b);
	if (book_pick(b, 100 - bias, &slot) == 0)
		check_slot_live(b, slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	static const int biases[] = { 30, 70, 0, 100, -20, 250, 50, 10 };
	struct book_opts opts = {
		.strict = ctl & 1,
		.capacity = (ctl & 2) ? 8 : 4096,
		.seed = 1,
	};
	struct book_file_opts fo = { 0 };
	if (ctl & 0x40)
		fo.wall_offset_ns = FUZZ_NOW - FUZZ_BAN_NS;
	int bias = biases[(ctl >> 2) & 7];

	char err[256];
	memset(err, 'x', sizeof(err));
	struct book *b = NULL;
	int rc = book_load_buffer((const char *)data + 1, size - 1, "fuzz", &opts, &fo, &b, err,
				  sizeof(err));
	if (rc != 0) {
		check(rc < 0 && b == NULL, "failed load returned a book");
		check(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0',
		      "failed load gave no reason");
		return 0;
	}
	/* Whatever the loader does to the text, it must not accept invalid JSON. */
	json_error_t jerr;
	json_t *strict = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
	check(strict != NULL, "loaded a file that is not valid JSON");
	json_decref(strict);
	check_consistent(b);
	check_roundtrip(b, &opts, &fo);
	exercise(b, bias, FUZZ_NOW - fo.wall_offset_ns);
	check_roundtrip(b, &opts, &fo);
	book_free(b);
	return 0;
}
