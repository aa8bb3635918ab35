/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kern_book.c - the address book over the pinned `book` map: the records
 * are the mmapped array, the placement keys live in `meta`, and every change
 * of the address index is mirrored into `book_idx` for the programs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/book.h"
#include "book/netaddr.h"
#include "kern_internal.h"

/* meta's keys into b, when meta has keys (key_len is written last). */
static bool keys_from_meta(struct kern *k, struct book *b)
{
	const struct mukan_book_meta *m = k->meta;
	uint32_t len = __atomic_load_n(&m->key_len, __ATOMIC_ACQUIRE);
	if (len == 0 || len > BOOK_KEY_MAX)
		return false;
	book_set_key(b, (const char *)m->key, len);
	book_set_hash_key(b, m->hash_key);
	return true;
}

/* Keys of b into meta (the lock holder only). */
static void keys_to_meta(struct kern *k, const struct book *b, bool strict)
{
	struct mukan_book_meta *m = k->meta;
	size_t len = strlen(book_key(b));
	__atomic_store_n(&m->key_len, 0, __ATOMIC_RELEASE);
	memset(m->key, 0, sizeof(m->key));
	memcpy(m->key, book_key(b), len);
	memcpy(m->hash_key, book_hash_key(b), sizeof(m->hash_key));
	m->strict = strict;
	m->capacity = k->capacity;
	__atomic_store_n(&m->key_len, (uint32_t)len, __ATOMIC_RELEASE);
}

int kern_book_open(struct kern *k, bool strict, uint64_t seed, struct book **out, char *err,
		   size_t errsz)
{
	struct book_opts o = { .strict = strict, .capacity = k->capacity, .seed = seed,
			       .slots = k->slots, .on_index = kern_index_hook, .index_ctx = k };
	struct book *b;
	int e = book_new(&b, &o);
	if (e < 0) {
		snprintf(err, errsz, "out of memory");
		return e;
	}
	if (!keys_from_meta(k, b))
		keys_to_meta(k, b, strict); /* a map without keys takes this book's */
	book_set_now(b, kern_now()); /* full buckets judge "bad" by it */
	if ((e = book_reindex(b, err, errsz)) < 0) {
		book_free(b);
		return e;
	}
	kern_index_sync(k, b); /* entries no record backs: a dead writer's, bpftool's */
	*out = b;
	return 0;
}

int kern_book_snapshot(struct kern *k, bool strict, struct book **out, char *err, size_t errsz)
{
	struct book_opts o = { .strict = strict, .capacity = k->capacity, .seed = 1 };
	struct book *b;
	int e = book_new(&b, &o);
	if (e < 0) {
		snprintf(err, errsz, "out of memory");
		return e;
	}
	keys_from_meta(k, b);
	/* One copy of each slot, then the book is built on the copy alone: bad
	 * records are quarantined in it as the record writer would. */
	for (uint32_t i = 0; i < k->capacity; i++)
		memcpy(book_slot_mut(b, i), (const void *)&k->slots[i], sizeof(struct mukan_peer));
	book_set_now(b, kern_now());
	if ((e = book_resync(b, err, errsz)) < 0) {
		book_free(b);
		return e;
	}
	*out = b;
	return 0;
}

int kern_book_adopt_keys(struct kern *k, const struct book *from)
{
	keys_to_meta(k, from, book_strict(from));
	return 0;
}

int kern_book_touch(struct kern *k)
{
	kern_records_bump(k);
	return 0;
}

int kern_book_clear(struct kern *k)
{
	/* The index first, so the programs stop finding the records. */
	int fd = kern_map_fd(k, KM_IDX);
	struct mukan_addr key;
	while (bpf_map_get_next_key(fd, NULL, &key) == 0) {
		int e = bpf_map_delete_elem(fd, &key);
		if (e < 0 && e != -ENOENT)
			return e;
	}
	for (uint32_t i = 0; i < k->capacity; i++)
		if (k->slots[i].in_use)
			memset(&k->slots[i], 0, sizeof(k->slots[i]));
	return 0;
}

static bool same_keys(const struct book *x, const struct book *y)
{
	return strcmp(book_key(x), book_key(y)) == 0 &&
	       memcmp(book_hash_key(x), book_hash_key(y), BOOK_HASH_KEY_LEN) == 0;
}

static void insert_all(struct book *live, const struct book *file, bool keep_buckets,
		       struct kern_import_tally *t)
{
	for (int s = book_next_slot(file, 0); s >= 0; s = book_next_slot(file, (uint32_t)s + 1)) {
		struct mukan_peer rec = *book_slot(file, (uint32_t)s);
		char err[256];
		if (!keep_buckets)
			rec.n_buckets = 0; /* placed anew under the live keys */
		int e = book_insert_record(live, &rec, err, sizeof(err));
		if (e == -EEXIST) {
			t->duplicates++;
			continue;
		}
		if (e < 0) {
			if (t->refused++ == 0) {
				struct netaddr na;
				char shown[NETADDR_STRLEN];
				book_peer_addr(&rec, &na);
				netaddr_format(&na, shown);
				snprintf(t->first_refusal, sizeof(t->first_refusal), "%s: %s", shown, err);
			}
			continue;
		}
		t->imported++;
		if (rec.flags & MUKAN_PEER_BANNED)
			t->n_banned++;
		else if (rec.bucket_type == MUKAN_BUCKET_OLD)
			t->n_old++;
		else
			t->n_new++;
	}
}

int kern_book_merge(struct kern *k, struct book *live, const struct book *file,
		    struct kern_import_tally *t, char *err, size_t errsz)
{
	(void)err;
	(void)errsz;
	memset(t, 0, sizeof(*t));
	if (book_size(live) == 0 && book_n_banned(live) == 0 && !same_keys(live, file)) {
		/* An empty live book takes the file's keys: every bucket stays as listed. */
		book_set_key(live, book_key(file), strlen(book_key(file)));
		book_set_hash_key(live, book_hash_key(file));
		kern_book_adopt_keys(k, live);
		t->adopted = true;
	}
	t->kept_buckets = same_keys(live, file);
	book_set_now(live, kern_now()); /* full buckets expire their bad entries first */
	uint32_t expired = book_n_expired(live);
	insert_all(live, file, t->kept_buckets, t);
	t->expired = book_n_expired(live) - expired;
	return 0;
}

int kern_book_import(struct kern *k, bool strict, uint64_t seed, const struct book *file,
		     struct book **live, struct kern_import_tally *t, char *err, size_t errsz)
{
	memset(t, 0, sizeof(*t));
	int e = kern_book_open(k, strict, seed, live, err, errsz);
	if (e < 0)
		return e;
	return kern_book_merge(k, *live, file, t, err, errsz);
}

/* For kern_import.c: the records of file into live, counted as a REPLACE. */
void kern_insert_all(struct book *live, const struct book *file, unsigned *imported,
		     unsigned *refused, char *first_refusal, size_t sz)
{
	struct kern_import_tally t = { 0 };
	insert_all(live, file, true, &t);
	*imported = t.imported;
	*refused = t.refused + t.duplicates;
	snprintf(first_refusal, sz, "%s", t.first_refusal);
}

bool kern_same_keys(const struct book *x, const struct book *y)
{
	return same_keys(x, y);
}
