/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kern_import.c - a daemon's book file into the map, recorded in meta as it
 * goes: state IMPORTING (with the mode and the file) before the first record
 * changes, READY (with the file's generation) after the last, so an import
 * that a kill -9 cut short is found and redone the same way at the next
 * start. A REPLACE redone clears again; a UNION redone is idempotent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/book.h"
#include "book/book_file.h"
#include "book/book_union.h"
#include "kern_internal.h"

static void set_path(struct mukan_book_meta *m, const char *path)
{
	memset(m->book_path, 0, sizeof(m->book_path));
	if (path && strlen(path) < sizeof(m->book_path))
		memcpy(m->book_path, path, strlen(path));
}

static void set_state(struct mukan_book_meta *m, uint32_t state)
{
	__atomic_store_n(&m->state, state, __ATOMIC_RELEASE);
}

/* The file's keys become meta's; key_len last, so a reader never mixes them. */
static void file_keys_to_meta(struct kern *k, const struct book *file, bool strict)
{
	struct mukan_book_meta *m = k->meta;
	size_t len = strlen(book_key(file));
	__atomic_store_n(&m->key_len, 0, __ATOMIC_RELEASE);
	memset(m->key, 0, sizeof(m->key));
	memcpy(m->key, book_key(file), len);
	memcpy(m->hash_key, book_hash_key(file), sizeof(m->hash_key));
	m->strict = strict;
	__atomic_store_n(&m->key_len, (uint32_t)len, __ATOMIC_RELEASE);
}

static int replace(struct kern *k, bool strict, uint64_t seed, const struct book *file,
		   struct book **live, struct kern_load_tally *t, char *err, size_t errsz)
{
	file_keys_to_meta(k, file, strict);
	int e = kern_book_clear(k);
	if (e < 0) {
		snprintf(err, errsz, "cannot clear the book_idx map: %s", strerror(-e));
		return e;
	}
	if ((e = kern_book_open(k, strict, seed, live, err, errsz)) < 0)
		return e;
	kern_insert_all(*live, file, &t->imported, &t->refused, t->first_refusal,
			sizeof(t->first_refusal));
	t->needed = t->imported;
	return 0;
}

static int join(struct kern *k, bool strict, uint64_t seed, const struct book *file,
		bool file_newer, struct book **live, struct kern_load_tally *t, char *err,
		size_t errsz)
{
	int e = kern_book_open(k, strict, seed, live, err, errsz);
	if (e < 0)
		return e;
	struct book_union_tally u;
	e = book_union(*live, file, file_newer, kern_same_keys(*live, file), &u);
	t->added = u.added;
	t->replaced = u.replaced;
	t->kept = u.kept;
	t->refused = u.refused;
	t->needed = u.needed;
	snprintf(t->first_refusal, sizeof(t->first_refusal), "%s", u.first_refusal);
	if (e == -ENOSPC)
		snprintf(err, errsz,
			 "the map's and the file's records together are %u, more than the map's "
			 "%u slots",
			 u.needed, k->capacity);
	return e;
}

int kern_book_load_file(struct kern *k, bool strict, uint64_t seed, const struct book *file,
			const struct kern_book_load *how, struct book **live,
			struct kern_load_tally *t, char *err, size_t errsz)
{
	struct mukan_book_meta *m = k->meta;
	memset(t, 0, sizeof(*t));
	*live = NULL;
	uint32_t was = m->state, was_mode = m->import_mode;
	m->import_mode = how->mode;
	if (how->mode == MUKAN_IMPORT_REPLACE)
		set_path(m, how->path);
	set_state(m, MUKAN_META_IMPORTING); /* from here a cut-short import is redone */
	int e = how->mode == MUKAN_IMPORT_REPLACE
			? replace(k, strict, seed, file, live, t, err, errsz)
			: join(k, strict, seed, file, how->mode == MUKAN_IMPORT_UNION_FILE_NEWER, live,
			       t, err, errsz);
	if (e == -ENOSPC && how->mode != MUKAN_IMPORT_REPLACE) {
		/* book_union changed nothing: the map is as it was. */
		m->import_mode = was_mode;
		set_state(m, was);
		book_free(*live);
		*live = NULL;
		return e;
	}
	if (e < 0) {
		book_free(*live);
		*live = NULL;
		return e; /* still IMPORTING: the next start redoes it */
	}
	set_path(m, how->path);
	m->book_gen = book_file_generation(file);
	m->synced_unix_ns = how->synced_unix_ns;
	m->import_mode = MUKAN_IMPORT_NONE;
	set_state(m, MUKAN_META_READY);
	return 0;
}
