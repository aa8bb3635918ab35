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
	if ((e = book_reindex(b, err, errsz)) < 0) {
		book_free(b);
		return e;
	}
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
