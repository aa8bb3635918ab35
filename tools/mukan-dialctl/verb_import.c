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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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
	"are wall-clock and become CLOCK_BOOTTIME in the map. FILE is only read; it may hold at "
	"most as many records as the live book has slots. While mukan-dialerd runs on the "
	"pin dir, the daemon does the import (one writer at a time) and this prints its "
	"answer. Exit status "
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

/* The same lines whether this process or a daemon applied the edit. */
static int print_answer(json_t *r)
{
	if (dialctl_answer_failed(r))
		return DIALCTL_EXIT_FAIL;
#define N(o, k) ((unsigned)json_integer_value(json_object_get(o, k)))
	unsigned imported = N(r, "imported"), dups = N(r, "duplicates"), refused = N(r, "refused");
	const char *placement = json_string_value(json_object_get(r, "placement"));
	json_t *live = json_object_get(r, "live");
	printf("imported %u record%s from %s into the live book (%u new, %u old, %u banned); "
	       "%u duplicate%s skipped (node ID already there)\n",
	       imported, imported == 1 ? "" : "s", json_string_value(json_object_get(r, "file")),
	       N(r, "new"), N(r, "old"), N(r, "banned"), dups, dups == 1 ? "" : "s");
	if (imported && placement)
		printf("placement: %s\n",
		       !strcmp(placement, "adopted") ? "the file's keys, adopted by the empty live book"
		       : !strcmp(placement, "kept")  ? "the file's buckets (same keys as the live book)"
						     : "placed anew under the live book's keys");
	if (N(r, "expired"))
		printf("bucket sizes: %u record%s left a full new bucket, as upstream's add expires "
		       "them (at most 65 to a bucket)\n",
		       N(r, "expired"), N(r, "expired") == 1 ? "" : "s");
	printf("live book: %u new, %u old, %u banned, %u of %u slots used\n", N(live, "new"),
	       N(live, "old"), N(live, "banned"), N(live, "new") + N(live, "old") + N(live, "banned"),
	       N(live, "capacity"));
	if (refused) {
		fprintf(stderr, DIALCTL_NAME ": %u record%s refused, the first: %s\n", refused,
			refused == 1 ? "" : "s",
			json_string_value(json_object_get(r, "first_refusal")));
		return DIALCTL_EXIT_FAIL;
	}
#undef N
	return DIALCTL_EXIT_OK;
}

int verb_import(int argc, char **argv)
{
	struct import_args a = { 0 };
	argp_parse(&import_argp, argc, argv, 0, NULL, &a);
	/* The daemon, if it applies the edit, has another working directory. */
	char path[PATH_MAX];
	if (!realpath(a.file, path)) {
		fprintf(stderr, DIALCTL_NAME ": %s: %s\n", a.file,
			errno == ENOENT ? "no such file" : strerror(errno));
		return DIALCTL_EXIT_FAIL;
	}
	json_t *req = json_pack("{s:s, s:s}", "edit", "import", "file", path);
	int status;
	json_t *answer = req ? dialctl_live_write(&a.live, a.common.strict, req, &status) : NULL;
	json_decref(req);
	if (!answer)
		return req ? status : DIALCTL_EXIT_FAIL;
	status = print_answer(answer);
	json_decref(answer);
	return status;
}
