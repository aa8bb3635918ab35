/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_file.h - CometBFT's addrbook.json, both ways.
 *
 * A file CometBFT wrote loads with the same key and buckets; a file we write
 * loads in CometBFT, which ignores the extra "mukan" fields we keep beside
 * upstream's: the hash key (so placement survives a restart), the ban list
 * (upstream forgets bans on restart, issue 3572) and the kernel's dial
 * counters. Files hold wall-clock times; the book holds book time, and
 * wall = book + wall_offset_ns.
 *
 * Errors come back as -errno plus one line "PATH: problem" in err.
 *
 * book_save also writes PATH.cache, a binary copy that book_load uses instead
 * of parsing the JSON when the JSON is exactly the text saved with it
 * (book_cache.c): a restart reads the book in milliseconds.
 */
#ifndef MUKAN_BOOK_FILE_H
#define MUKAN_BOOK_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book.h"

#define BOOK_FILE_MAX_BYTES (64u << 20) /* a full upstream book is ~9 MiB */
#define BOOK_FILE_FORMAT 1		/* version of our "mukan" extension */

struct book_file_opts {
	int64_t wall_offset_ns; /* unix ns = book ns + this */
	size_t max_bytes;	/* 0 = BOOK_FILE_MAX_BYTES */
	bool upstream_only;	/* write no "mukan" fields (bans are then lost, as upstream) */
	bool no_cache;		/* load: parse the JSON even when PATH.cache matches it */
};

/*
 * Load PATH into a new book made with `opts`. -ENOENT (and no message) when
 * there is no file. Any other problem - unreadable, too large, not JSON,
 * wrong types, out-of-range values, duplicate IDs - fails the whole load and
 * leaves the file as it is.
 */
int book_load(const char *path, const struct book_opts *opts,
	      const struct book_file_opts *fo, struct book **out, char *err, size_t errsz);

/* The same from memory; `name` stands for the path in messages. */
int book_load_buffer(const char *data, size_t len, const char *name,
		     const struct book_opts *opts, const struct book_file_opts *fo,
		     struct book **out, char *err, size_t errsz);

/* Write atomically: temp file in the same directory, fsync, rename, fsync dir. */
int book_save(const struct book *b, const char *path, const struct book_file_opts *fo,
	      char *err, size_t errsz);

/* Did book_load take this book from PATH.cache (true) or parse the JSON? */
bool book_loaded_from_cache(const struct book *b);

/* Render the file's text into a malloc'ed buffer (for book_save and tests). */
int book_render(const struct book *b, const struct book_file_opts *fo, char **text,
		size_t *len);

/* Move a corrupt file aside to PATH.corrupt (or .corrupt.N); never deletes. */
int book_quarantine(const char *path, char *moved_to, size_t sz);

#endif /* MUKAN_BOOK_FILE_H */
