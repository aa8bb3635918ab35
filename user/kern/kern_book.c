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

int kern_book_open(struct kern *k, bool strict, uint64_t seed, struct book **out, char *err,
		   size_t errsz)
{
	struct book_opts o = { .strict = strict, .capacity = k->capacity, .seed = seed,
			       .slots = k->slots, .on_index = kern_index_hook, .index_ctx = k };
	struct mukan_book_meta m;
	int e = kern_meta_read(k, &m);
	if (e < 0) {
		snprintf(err, errsz, "cannot read the meta map: %s", strerror(-e));
		return e;
	}
	struct book *b;
	if ((e = book_new(&b, &o)) < 0) {
		snprintf(err, errsz, "out of memory");
		return e;
	}
	if (m.key_len > 0 && m.key_len <= BOOK_KEY_MAX) {
		/* The keys of the records already in the map. */
		book_set_key(b, (const char *)m.key, m.key_len);
		book_set_hash_key(b, m.hash_key);
	} else {
		memset(&m, 0, sizeof(m));
		m.key_len = (uint32_t)strlen(book_key(b));
		memcpy(m.key, book_key(b), m.key_len);
		memcpy(m.hash_key, book_hash_key(b), sizeof(m.hash_key));
		m.strict = strict;
		m.capacity = k->capacity;
		if ((e = kern_meta_write(k, &m)) < 0) {
			snprintf(err, errsz, "cannot write the meta map: %s", strerror(-e));
			book_free(b);
			return e;
		}
	}
	book_set_now(b, kern_now());
	if ((e = book_reindex(b, err, errsz)) < 0) {
		book_free(b);
		return e;
	}
	kern_index_sync(k, b); /* entries no record backs: a dead writer's, bpftool's */
	*out = b;
	return 0;
}

int kern_book_adopt_keys(struct kern *k, const struct book *from)
{
	struct mukan_book_meta m;
	int e = kern_meta_read(k, &m);
	if (e < 0)
		return e;
	m.key_len = (uint32_t)strlen(book_key(from));
	memset(m.key, 0, sizeof(m.key));
	memcpy(m.key, book_key(from), m.key_len);
	memcpy(m.hash_key, book_hash_key(from), sizeof(m.hash_key));
	m.generation++;
	return kern_meta_write(k, &m);
}

int kern_book_touch(struct kern *k)
{
	struct mukan_book_meta m;
	int e = kern_meta_read(k, &m);
	if (e < 0)
		return e;
	m.generation++;
	return kern_meta_write(k, &m);
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

int kern_book_import(struct kern *k, bool strict, uint64_t seed, const struct book *file,
		     struct book **live, struct kern_import_tally *t, char *err, size_t errsz)
{
	memset(t, 0, sizeof(*t));
	int e = kern_book_open(k, strict, seed, live, err, errsz);
	if (e == 0 && book_size(*live) == 0 && book_n_banned(*live) == 0 &&
	    !same_keys(*live, file)) {
		/* An empty live book takes the file's keys: every bucket stays as listed. */
		book_free(*live);
		*live = NULL;
		if ((e = kern_book_adopt_keys(k, file)) < 0)
			snprintf(err, errsz, "cannot write the meta map: %s", strerror(-e));
		else
			e = kern_book_open(k, strict, seed, live, err, errsz);
		t->adopted = e == 0;
	}
	if (e < 0)
		return e;
	t->kept_buckets = same_keys(*live, file);
	book_set_now(*live, kern_now()); /* full buckets expire their bad entries first */
	uint32_t expired = book_n_expired(*live);
	insert_all(*live, file, t->kept_buckets, t);
	t->expired = book_n_expired(*live) - expired;
	kern_book_touch(k); /* a running daemon re-reads the records */
	return 0;
}
