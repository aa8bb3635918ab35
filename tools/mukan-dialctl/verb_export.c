/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_export.c - `book export --live FILE`: the live book as an
 * addrbook.json that CometBFT loads, with wall-clock times and the dialer's
 * counters and bans in the "mukan" fields. Written atomically.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "book/book_file.h"
#include "dialctl.h"
#include "kern/kern.h"

struct export_args {
	struct common_opts common;
	struct live_opts live;
	const char *file;
	bool upstream_only;
};

enum { OPT_UPSTREAM = 'u' };

static const struct argp_option options[] = {
	{ "upstream-only", OPT_UPSTREAM, NULL, 0,
	  "Write only upstream's fields: no hash key, no bans, no dial counters (what CometBFT "
	  "itself would write).",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Save the live book (the pinned map) to an address book file.\n"
	"\n"
	"USAGE: mukan-dialctl book export --live [--upstream-only] [--pin-dir DIR] FILE\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book export --live /var/lib/mukan/addrbook.json\n"
	"    mukan-dialctl book export --live --upstream-only for-cometbft.json\n"
	"\v"
	"The file is CometBFT's addrbook.json (loadable by the node and by `book import "
	"--live`), written through a temporary file, fsync and rename, so FILE is either the "
	"old or the new book, never half of one. CLOCK_BOOTTIME times of the map become "
	"wall-clock times. Exit status 0 written, 1 nothing pinned or FILE cannot be written, "
	"2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct export_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		state->child_inputs[1] = &a->live;
		return 0;
	case OPT_UPSTREAM:
		a->upstream_only = true;
		return 0;
	case ARGP_KEY_ARG:
		return args_file(state, arg, &a->file);
	case ARGP_KEY_END:
		args_need_file(state, a->file);
		if (!a->live.live)
			argp_error(state, "export saves the live book: give --live");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp export_argp = { options, parse, "FILE", doc, book_live_children, NULL,
					 NULL };

static int export(const void *args, struct kern *k)
{
	const struct export_args *a = args;
	struct book *live;
	char err[512] = "";
	/* A reader: a copy of the records, nothing in the maps written, no lock. */
	int e = kern_book_snapshot(k, a->common.strict, &live, err, sizeof(err));
	if (e < 0)
		return dialctl_kern_fail("cannot read the live book", e, err);
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset(),
				     .upstream_only = a->upstream_only };
	if ((e = book_save(live, a->file, &fo, err, sizeof(err))) < 0) {
		fprintf(stderr, DIALCTL_NAME ": %s\n", err);
		book_free(live);
		return DIALCTL_EXIT_FAIL;
	}
	printf("exported the live book to %s: %u new, %u old, %u banned%s\n", a->file,
	       book_n_new(live), book_n_old(live), book_n_banned(live),
	       a->upstream_only ? " (bans not written: --upstream-only)" : "");
	if (book_n_quarantined(live) > 0)
		fprintf(stderr, DIALCTL_NAME ": %u quarantined record%s not exported (`" DIALCTL_NAME
			" bpf status` names them, `" DIALCTL_NAME " book repair --live` repairs or "
			"drops them)\n",
			book_n_quarantined(live), book_n_quarantined(live) == 1 ? "" : "s");
	book_free(live);
	return DIALCTL_EXIT_OK;
}

int verb_export(int argc, char **argv)
{
	struct export_args a = { 0 };
	argp_parse(&export_argp, argc, argv, 0, NULL, &a);
	return dialctl_with_pinned(&a.live, export, &a);
}
