/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_cache.h - PATH.cache, a binary copy of the book written beside
 * addrbook.json, used at load only when the JSON is exactly the text it was
 * written with (see book_cache.c). Internal to book_load/book_save.
 */
#ifndef MUKAN_BOOK_CACHE_H
#define MUKAN_BOOK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "book_file.h"

void book_cache_path(const char *json_path, char *out, size_t sz);

/* Book time now (the wall clock less the file's offset): what a full bucket's
 * "bad" entries are judged by while a file loads. */
int64_t book_file_now(const struct book_file_opts *fo);

/* Write PATH.cache for the JSON text just saved at json_path (atomically). */
int book_cache_write(const struct book *b, const char *json_path, const char *json, size_t len,
		     const struct book_file_opts *fo);

/*
 * The book from PATH.cache when it describes exactly this JSON text; -ESTALE
 * when the JSON changed since, another -errno when the cache is missing or
 * damaged (the caller then parses the JSON).
 */
int book_cache_load(const char *json_path, const char *json, size_t len,
		    const struct book_opts *opts, const struct book_file_opts *fo, struct book **out);

#endif
