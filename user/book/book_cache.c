/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_cache.c - a binary copy of the book beside addrbook.json, so a restart
 * does not pay for parsing JSON (jansson reads a full book in ~150 ms; this
 * reads it in a few).
 *
 * PATH.cache holds the records exactly as the slots hold them, the keys, and
 * the size and a HighwayHash of the JSON text it was written with. It is used
 * only when the JSON file is byte for byte the one it describes; any other
 * JSON (edited by hand, written by CometBFT) or any damage to the cache
 * (size, magic, version, checksum) and the JSON is parsed as always. The
 * JSON stays the file of record; the cache can be deleted at any time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <highwayhash/c_bindings.h>

#include "book_cache.h"
#include "book_internal.h"
#include "file_io.h"

#define CACHE_MAGIC "MKBOOKC2" /* C2: with the file generation */

struct cache_header {
	char magic[8];
	uint32_t abi_version;	/* MUKAN_ABI_VERSION: the record layout */
	uint32_t record_size;
	uint64_t json_size;
	uint64_t json_hash;
	int64_t wall_offset_ns; /* of the book times in the records */
	uint8_t key[BOOK_KEY_MAX];
	uint32_t key_len;
	uint32_t n_records;
	uint8_t hash_key[BOOK_HASH_KEY_LEN];
	uint8_t hash_key_from_file;
	uint8_t pad[7];
	uint64_t generation; /* "mukan.generation" of the JSON */
};

/* A fixed key: this hash detects change and damage, it is not a secret. */
static const uint64_t cache_hh_key[4] = { 0x6d756b616e2d6469ULL, 0x616c65722d636163ULL,
					  0x68652d6b65792d31ULL, 0x0123456789abcdefULL };

static uint64_t hash(const void *p, size_t n)
{
	return HighwayHash64(cache_hh_key, p, n);
}

void book_cache_path(const char *json_path, char *out, size_t sz)
{
	snprintf(out, sz, "%s.cache", json_path);
}

int book_cache_write(const struct book *b, const char *json_path, const char *json, size_t len,
		     const struct book_file_opts *fo)
{
	uint32_t n = 0;
	for (int s = book_next_slot(b, 0); s >= 0; s = book_next_slot(b, (uint32_t)s + 1))
		n++;
	size_t size = sizeof(struct cache_header) + (size_t)n * sizeof(struct mukan_peer) + 8;
	uint8_t *buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	struct cache_header *h = (struct cache_header *)buf;
	memcpy(h->magic, CACHE_MAGIC, 8);
	h->abi_version = MUKAN_ABI_VERSION;
	h->record_size = sizeof(struct mukan_peer);
	h->json_size = len;
	h->json_hash = hash(json, len);
	h->wall_offset_ns = fo->wall_offset_ns;
	memcpy(h->key, b->keys.key, b->keys.key_len);
	h->key_len = (uint32_t)b->keys.key_len;
	h->n_records = n;
	memcpy(h->hash_key, b->hash_key, BOOK_HASH_KEY_LEN);
	h->hash_key_from_file = 1; /* once saved, the file has its hash key */
	h->generation = b->file_generation;
	struct mukan_peer *rec = (struct mukan_peer *)(buf + sizeof(*h));
	for (uint32_t i = 0; i < b->capacity && n > 0; i++)
		if (book_copy_record(b, i, rec)) {
			rec++;
			n--;
		}
	uint64_t sum = hash(buf, size - 8);
	memcpy(buf + size - 8, &sum, 8);
	char path[4160];
	book_cache_path(json_path, path, sizeof(path));
	const char *step;
	int e = file_replace(path, buf, size, &step);
	free(buf);
	return e;
}

/* Book times move with the clock's offset; "never" and "forever" do not. */
static void shift_time(__s64 *t, int64_t by)
{
	if (*t != MUKAN_TIME_NEVER && *t != INT64_MAX && __builtin_add_overflow(*t, by, t))
		*t = by > 0 ? INT64_MAX : MUKAN_TIME_NEVER;
}

static void shift_record(struct mukan_peer *p, int64_t by)
{
	shift_time(&p->last_attempt, by);
	shift_time(&p->last_success, by);
	shift_time(&p->ban_until, by);
	shift_time(&p->next_dial, by);
	shift_time(&p->last_dial, by);
	shift_time(&p->last_connected, by);
}

int book_cache_load(const char *json_path, const char *json, size_t len,
		    const struct book_opts *opts, const struct book_file_opts *fo, struct book **out)
{
	char path[4160];
	book_cache_path(json_path, path, sizeof(path));
	char *text = NULL;
	size_t size = 0;
	/* The same record limit as the JSON: the capacity loaded into (or grown to). */
	uint32_t cap = opts->capacity ? opts->capacity : BOOK_DEFAULT_CAPACITY;
	uint32_t most = fo->grow && !opts->slots && cap < BOOK_MAX_CAPACITY ? BOOK_MAX_CAPACITY : cap;
	size_t limit = sizeof(struct cache_header) + (size_t)most * sizeof(struct mukan_peer) + 8;
	int e = file_read_all(path, limit, &text, &size);
	if (e < 0)
		return e;
	uint8_t *buf = (uint8_t *)text;
	if (size < sizeof(struct cache_header) + 8) {
		free(buf);
		return -EINVAL;
	}
	const struct cache_header *h = (const struct cache_header *)buf;
	uint64_t sum;
	memcpy(&sum, buf + size - 8, 8);
	e = -EINVAL;
	if (memcmp(h->magic, CACHE_MAGIC, 8) != 0 || h->abi_version != MUKAN_ABI_VERSION ||
	    h->record_size != sizeof(struct mukan_peer) || h->key_len > BOOK_KEY_MAX ||
	    size != sizeof(*h) + (size_t)h->n_records * sizeof(struct mukan_peer) + 8 ||
	    hash(buf, size - 8) != sum)
		goto out; /* damaged or of another version */
	if (h->json_size != len || h->json_hash != hash(json, len)) {
		e = -ESTALE; /* the JSON changed since: it wins */
		goto out;
	}
	struct book_opts o = *opts;
	if (h->n_records > most) {
		e = -ENOSPC; /* the JSON load says so, with the numbers */
		goto out;
	}
	if (h->n_records > cap)
		o.capacity = h->n_records;
	struct book *b;
	if ((e = book_new(&b, &o)) < 0)
		goto out;
	book_set_key(b, (const char *)h->key, h->key_len);
	b->file_generation = h->generation;
	book_set_hash_key(b, h->hash_key);
	book_set_now(b, book_file_now(fo));
	b->hash_key_from_file = h->hash_key_from_file != 0;
	const struct mukan_peer *rec = (const struct mukan_peer *)(buf + sizeof(*h));
	int64_t by = h->wall_offset_ns - fo->wall_offset_ns;
	for (uint32_t i = 0; i < h->n_records; i++) {
		struct mukan_peer p = rec[i];
		char why[128];
		shift_record(&p, by);
		if ((e = book_insert_record(b, &p, why, sizeof(why))) < 0) {
			book_free(b);
			goto out;
		}
	}
	b->from_cache = true;
	*out = b;
	e = 0;
out:
	free(buf);
	return e;
}
