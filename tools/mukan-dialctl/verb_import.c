/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_import.c - `book import --live FILE`: every record of an
 * addrbook.json into the live book, dial state and bans included.
 *
 * Placement: into an empty live book the file's keys are adopted first, so
 * every record keeps the buckets the file lists (a switch-over keeps the
 * node's book as it was). Into a non-empty book with other keys, records are
 * placed anew under the live keys, as bucket numbers are only meaningful
 * under the keys that made them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "book/book_file.h"
#include "dialctl.h"
#include "kern/kern.h"

struct import_args {
	struct common_opts common;
	struct live_opts live;
	const char *file;
};

static const char doc[] =
	"Import an address book file (CometBFT addrbook.json) into the live book.\n"
	"\n"
	"USAGE: mukan-dialctl book import --live [--no-strict] [--pin-dir DIR] FILE\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book import --live ~/.cometbft/config/addrbook.json\n"
	"    mukan-dialctl book import --live --pin-dir /sys/fs/bpf/mukan-test book.json\n"
	"\v"
	"Records keep their type (new, old, banned), attempts, times, and the dialer's "
	"counters and bans from the file's \"mukan\" fields. A record whose node ID the live "
	"book already has is skipped and counted as a duplicate. When the live book is empty "
	"the file's key and hash key become the live book's, so placement is exactly the "
	"file's; otherwise records are placed under the live book's keys. Times in the file "
	"are wall-clock and become CLOCK_BOOTTIME in the map. FILE is only read. Exit status "
	"0 every record imported or a duplicate, 1 FILE does not load, nothing is pinned, or "
	"a record was refused (the first reason is printed), 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct import_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		state->child_inputs[1] = &a->live;
		return 0;
	case ARGP_KEY_ARG:
		return args_file(state, arg, &a->file);
	case ARGP_KEY_END:
		args_need_file(state, a->file);
		if (!a->live.live)
			argp_error(state, "import fills the live book: give --live");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp import_argp = { NULL, parse, "FILE", doc, book_live_children, NULL,
					 NULL };

static int import(const void *args, struct kern *k)
{
	const struct import_args *a = args;
	uint32_t cap = kern_capacity(k);
	struct book_opts bo = { .strict = a->common.strict, .seed = dialctl_random_seed(),
				.capacity = cap > BOOK_DEFAULT_CAPACITY ? cap : 0 };
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	struct book *file, *live;
	char err[512] = "";
	int e = book_load(a->file, &bo, &fo, &file, err, sizeof(err));
	if (e < 0) {
		fprintf(stderr, DIALCTL_NAME ": %s\n", e == -ENOENT ? "no such file" : err);
		return DIALCTL_EXIT_FAIL;
	}
	struct kern_import_tally t;
	e = kern_book_import(k, a->common.strict, dialctl_random_seed(), file, &live, &t, err,
			     sizeof(err));
	if (e < 0) {
		book_free(file);
		return dialctl_kern_fail("cannot open the live book", e, err);
	}
	bool adopted = t.adopted, keep = t.kept_buckets;
	int status = DIALCTL_EXIT_OK;
	printf("imported %u record%s from %s into the live book (%u new, %u old, %u banned); "
	       "%u duplicate%s skipped (node ID already there)\n",
	       t.imported, t.imported == 1 ? "" : "s", a->file, t.n_new, t.n_old, t.n_banned,
	       t.duplicates, t.duplicates == 1 ? "" : "s");
	if (t.imported)
		printf("placement: %s\n", adopted ? "the file's keys, adopted by the empty live book"
				       : keep  ? "the file's buckets (same keys as the live book)"
					       : "placed anew under the live book's keys");
	if (t.expired)
		printf("bucket sizes: %u record%s left a full new bucket, as upstream's add expires "
		       "them (at most 65 to a bucket)\n",
		       t.expired, t.expired == 1 ? "" : "s");
	printf("live book: %u new, %u old, %u banned, %u of %u slots used\n", book_n_new(live),
	       book_n_old(live), book_n_banned(live),
	       book_size(live) + book_n_banned(live), book_capacity(live));
	if (t.refused) {
		fprintf(stderr, DIALCTL_NAME ": %u record%s refused, the first: %s\n", t.refused,
			t.refused == 1 ? "" : "s", t.first_refusal);
		status = DIALCTL_EXIT_FAIL;
	}
	book_free(live);
	book_free(file);
	return status;
}

int verb_import(int argc, char **argv)
{
	struct import_args a = { 0 };
	argp_parse(&import_argp, argc, argv, 0, NULL, &a);
	return dialctl_with_pinned(&a.live, import, &a);
}
