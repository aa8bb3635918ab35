/* SPDX-License-Identifier: Apache-2.0 */
/* book_out.c - book_new, book_add per peer, check, book_save. */
#include "book_out.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "book/book_file.h"
#include "outfiles.h"

void book_out_opts(const struct farm_opts *o, struct book_opts *bo)
{
	/* Keys from --seed: the same plan always lands in the same buckets. */
	*bo = (struct book_opts){ .strict = false, .seed = o->seed, .keys_from_seed = true };
}

static int add_all(struct book *b, const struct farm *f, char *err, size_t errsz)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	for (uint32_t i = 0; i < f->n_peers; i++) {
		int e = book_add(b, &f->peers[i].na, &f->source, now);
		if (e < 0) {
			char s[NETADDR_STRLEN];
			netaddr_format(&f->peers[i].na, s);
			snprintf(err, errsz, "book_add %s: %s", s, strerror(-e));
			return e;
		}
	}
	/* A full bucket evicts silently: count what stayed. */
	uint32_t kept = 0;
	for (uint32_t i = 0; i < f->n_peers; i++)
		kept += book_find(b, f->peers[i].na.id) >= 0;
	if (kept != f->n_peers) {
		snprintf(err, errsz,
			 "the book kept %u of %u addresses (a full bucket pushed the others out); "
			 "ask for fewer", kept, f->n_peers);
		return -ENOSPC;
	}
	return 0;
}

int book_out_write(const struct farm *f, const char *dir, char *err, size_t errsz)
{
	struct book *b;
	struct book_opts bo;
	book_out_opts(&f->opts, &bo);
	if (book_new(&b, &bo) < 0) {
		snprintf(err, errsz, "book: out of memory");
		return -ENOMEM;
	}
	int e = add_all(b, f, err, errsz);
	if (!e) {
		char path[PATH_MAX];
		struct book_file_opts fo = { .upstream_only = !f->opts.mukan_fields };
		snprintf(path, sizeof(path), "%s/" OUT_BOOK, dir);
		e = book_save(b, path, &fo, err, errsz);
	}
	book_free(b);
	return e;
}
