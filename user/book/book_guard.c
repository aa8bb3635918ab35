/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_guard.c - saving never loses a book. Before a save replaces a file
 * that holds another book (another key) or more records than the save
 * writes, the old file is renamed aside, so whatever was there can still be
 * loaded. What the file held when this process last read or wrote it is
 * remembered with its identity on disk, so an unchanged file is not parsed
 * again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "book_file.h"
#include "book_internal.h"

uint32_t book_file_count(const struct book *b)
{
	uint32_t n = 0;
	for (int s = book_next_slot(b, 0); s >= 0; s = book_next_slot(b, (uint32_t)s + 1))
		n++;
	return n;
}

static void note_stat(const struct stat *st, struct book_file_seen *seen)
{
	seen->dev = (uint64_t)st->st_dev;
	seen->ino = (uint64_t)st->st_ino;
	seen->size = (int64_t)st->st_size;
	seen->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

void book_file_note(const char *path, const struct book *b, struct book_file_seen *seen)
{
	struct stat st;
	memset(seen, 0, sizeof(*seen));
	if (stat(path, &st) < 0)
		return;
	note_stat(&st, seen);
	snprintf(seen->key, sizeof(seen->key), "%s", book_key(b));
	seen->count = book_file_count(b);
	seen->generation = b->file_generation;
	seen->known = true;
}

/* Is the file at path still the one seen describes? */
static bool unchanged(const struct stat *st, const struct book_file_seen *seen)
{
	struct book_file_seen now;
	note_stat(st, &now);
	return seen->known && now.dev == seen->dev && now.ino == seen->ino &&
	       now.size == seen->size && now.mtime_ns == seen->mtime_ns;
}

/* Key and record count of the file at path; -errno when it does not load. */
static int peek(const char *path, struct book_file_seen *out)
{
	struct book_opts bo = { .seed = 1 };
	struct book_file_opts fo = { .grow = true };
	struct book *b;
	char err[256];
	int e = book_load(path, &bo, &fo, &b, err, sizeof(err));
	if (e < 0)
		return e;
	book_file_note(path, b, out);
	book_free(b);
	return 0;
}

int book_aside_path(const char *path, const char *tag, char *out, size_t sz)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 0; i < 100; i++) {
		int n = i == 0 ? snprintf(out, sz, "%s.%s-%s", path, tag, stamp)
			       : snprintf(out, sz, "%s.%s-%s.%d", path, tag, stamp, i);
		if (n < 0 || (size_t)n >= sz)
			return -ENAMETOOLONG;
		if (access(out, F_OK) < 0 && errno == ENOENT)
			return 0;
	}
	return -EEXIST;
}

int book_save_guarded(const struct book *b, const char *path, const struct book_file_opts *fo,
		      struct book_file_seen *seen, char *kept, size_t keptsz, char *err,
		      size_t errsz)
{
	if (kept && keptsz)
		kept[0] = '\0';
	struct stat st;
	if (stat(path, &st) == 0) {
		struct book_file_seen there = *seen;
		int e = unchanged(&st, seen) ? 0 : peek(path, &there);
		/* A file that does not load is kept as well: it is not ours to drop. */
		bool keep = e < 0 || strcmp(there.key, book_key(b)) != 0 ||
			    there.count > book_file_count(b);
		if (e == -ENOENT)
			keep = false; /* gone meanwhile */
		if (keep) {
			char aside[4200];
			int a = book_aside_path(path, "replaced", aside, sizeof(aside));
			if (a == 0 && rename(path, aside) < 0)
				a = -errno;
			if (a < 0) {
				if (err && errsz)
					snprintf(err, errsz,
						 "%s: not replaced: it holds %s and cannot be kept "
						 "aside: %s",
						 path,
						 e < 0 ? "a file that does not load"
						       : "another book or more records",
						 strerror(-a));
				return a;
			}
			if (kept && keptsz && e < 0)
				snprintf(kept, keptsz, "%s does not load; kept it as %s", path, aside);
			else if (kept && keptsz && strcmp(there.key, book_key(b)) != 0)
				snprintf(kept, keptsz,
					 "%s held another book (key %s, %u records); kept it as %s", path,
					 there.key, there.count, aside);
			else if (kept && keptsz)
				snprintf(kept, keptsz,
					 "%s held %u records, more than the %u this save writes; kept it "
					 "as %s",
					 path, there.count, book_file_count(b), aside);
		}
	}
	int e = book_save(b, path, fo, err, errsz);
	if (e == 0)
		book_file_note(path, b, seen);
	return e;
}
