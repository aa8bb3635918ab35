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
 *
 * Limits: a file loads into a book of some capacity (slots). It may hold at
 * most that many records (addrs + mukan.banned), and at most
 * book_file_max_bytes(capacity) bytes: the size of that many records as the
 * saver lays out the largest record it can write (plus room for upstream's
 * time zone offsets), so every file this program wrote loads again into a
 * book of the capacity it came from.
 */
#ifndef MUKAN_BOOK_FILE_H
#define MUKAN_BOOK_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book.h"

#define BOOK_FILE_FORMAT 1	     /* version of our "mukan" extension */
#define BOOK_MAX_CAPACITY (1u << 20) /* the largest book (256 MiB of slots) */

struct book_file_opts {
	int64_t wall_offset_ns; /* unix ns = book ns + this */
	size_t max_bytes;	/* 0 = book_file_max_bytes(the capacity loaded into) */
	bool upstream_only;	/* write no "mukan" fields (bans are then lost, as upstream) */
	bool no_cache;		/* load: parse the JSON even when PATH.cache matches it;
				 * save: write no PATH.cache (a copy kept aside) */
	/*
	 * load: the book's capacity (book_opts.capacity) is a minimum: a file
	 * with more records gets a book that holds them all, up to
	 * BOOK_MAX_CAPACITY. Without it more records than the capacity is an
	 * error (-ENOSPC, the numbers in err).
	 */
	bool grow;
};

/* The byte limit of a file that loads into a book of `capacity` slots. */
size_t book_file_max_bytes(uint32_t capacity);
/* The most bytes one record takes in a file (the saver's widest record). */
size_t book_file_record_max_bytes(void);

/*
 * The file's generation ("mukan.generation"; 0 for a file without one, e.g.
 * written by CometBFT). book_load sets it, book_save writes it: the daemon
 * advances it on every save, and the pinned map records the generation of
 * the file it holds (docs/live.md).
 */
uint64_t book_file_generation(const struct book *b);
void book_set_file_generation(struct book *b, uint64_t gen);

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

/*
 * What a book file held when this process last read or wrote it: its key,
 * record count and generation, and its identity on disk. A save compares the
 * file with it, so an unchanged file needs no re-parse (book_guard.c).
 */
struct book_file_seen {
	bool known;
	char key[BOOK_KEY_MAX + 1];
	uint32_t count;
	uint64_t generation;
	uint64_t dev, ino;
	int64_t size, mtime_ns;
};

/* Remember PATH as holding b (after loading it, or saving b to it). */
void book_file_note(const char *path, const struct book *b, struct book_file_seen *seen);

/* Records a save of b writes (bucketed and banned). */
uint32_t book_file_count(const struct book *b);

/*
 * book_save that never loses a book: when PATH holds another key or more
 * records than b (found from *seen when the file is unchanged since, else by
 * loading it) or does not load, the old file is first renamed to
 * PATH.replaced-<UTC time> and kept gets one line saying what and where
 * (else kept is ""). *seen describes the new file afterwards.
 */
int book_save_guarded(const struct book *b, const char *path, const struct book_file_opts *fo,
		      struct book_file_seen *seen, char *kept, size_t keptsz, char *err,
		      size_t errsz);

/*
 * A path beside PATH that does not exist yet: PATH.<tag>-<UTC YYYYmmddTHHMMSSZ>
 * (then .1, .2 ... if taken). 0 or -EEXIST.
 */
int book_aside_path(const char *path, const char *tag, char *out, size_t sz);

#endif /* MUKAN_BOOK_FILE_H */
