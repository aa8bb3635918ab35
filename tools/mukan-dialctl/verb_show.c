/* SPDX-License-Identifier: Apache-2.0 */
/* verb_show.c - `book show FILE [ADDR]`: the records, for people or for jq. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "args.h"
#include "dialctl.h"
#include "json_out.h"
#include "peer_print.h"

struct show_args {
	struct common_opts common;
	const char *file;
	const char *peer; /* NULL: every record */
	uint8_t id[MUKAN_ID_LEN];
	bool json;
};

enum { OPT_JSON = 'j' };

static const struct argp_option options[] = {
	{ "json", OPT_JSON, NULL, 0,
	  "Print a JSON array of objects (one per record): addr, id, src, type, buckets, "
	  "attempts, last_attempt, last_success, bad, ban_until, ban_active, failures, "
	  "last_error, last_errno, dials, last_dial, next_dial, flags. Times are RFC 3339 "
	  "strings, null for never.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Print the records of an address book, or the one record of a node.\n"
	"\n"
	"USAGE: mukan-dialctl book show [--json] [--no-strict] FILE [ADDR]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book show addrbook.json           # every record\n"
	"    mukan-dialctl book show addrbook.json \\\n"
	"        d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e    # one node, by ID\n"
	"    mukan-dialctl book show addrbook.json --json ID@77.145.180.81:28569\n"
	"(ID: a node ID, 40 hex characters)\n"
	"With --live the verb works on the live book (the pinned BPF map) instead of a\n"
	"file: `mukan-dialctl book show --live --help`.\n"
	"\v"
	"ADDR is a node ID (40 hex characters) or a full id@ip:port; either way the record "
	"is found by node ID, as the book keys records by ID. Each record shows its address, "
	"source, type (new, old or banned), buckets, attempts, last attempt and success, "
	"whether upstream's isBad rule finds it bad now, ban end, the dialer's failures and "
	"last error (errno name), dials, and the earliest next dial (backoff). Times are UTC, "
	"\"never\" when unset. Exit status 0, 1 when FILE does not load or ADDR is not in it, "
	"2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct show_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		return 0;
	case OPT_JSON:
		a->json = true;
		return 0;
	case ARGP_KEY_ARG:
		if (args_file_then_addr(state, arg, &a->file, "FILE [ADDR]"))
			args_peer(state, arg, a->id, &a->peer);
		return 0;
	case ARGP_KEY_END:
		return args_need_file(state, a->file);
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp show_argp = { options, parse, "FILE [ADDR]", doc, common_children,
				       NULL, NULL };

/* Walk every used slot, or just `only` when it is a slot (>= 0). */
static int first_record(const struct book *b, int only)
{
	return only >= 0 ? only : book_next_slot(b, 0);
}

static int next_record(const struct book *b, int only, int s)
{
	return only >= 0 ? -1 : book_next_slot(b, (uint32_t)s + 1);
}

static int show_json(const struct book *b, int only, int64_t now)
{
	json_t *arr = json_array();
	for (int s = first_record(b, only); arr && s >= 0; s = next_record(b, only, s)) {
		json_t *o = peer_to_json(book_slot(b, (uint32_t)s), now);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return json_out(arr, JSON_INDENT(2));
}

static void show_text(const struct book *b, int only, int64_t now)
{
	bool first = true;
	for (int s = first_record(b, only); s >= 0; s = next_record(b, only, s)) {
		if (!first)
			printf("\n");
		first = false;
		peer_print_text(stdout, book_slot(b, (uint32_t)s), now);
	}
}

int verb_show(int argc, char **argv)
{
	struct show_args a = { 0 };
	argp_parse(&show_argp, argc, argv, 0, NULL, &a);

	struct book *b;
	int status = dialctl_open_book(a.file, &a.common, 0, &b, NULL);
	if (status != DIALCTL_EXIT_OK)
		return status;
	int only = -1;
	if (a.peer) {
		only = book_find(b, a.id);
		if (only < 0) {
			char hex[2 * MUKAN_ID_LEN + 1];
			node_id_format(a.id, hex);
			fprintf(stderr, DIALCTL_NAME ": %s: no record with node ID %s\n", a.file, hex);
			book_free(b);
			return DIALCTL_EXIT_FAIL;
		}
	}
	int64_t now = dialctl_now();
	if (a.json)
		status = show_json(b, only, now);
	else
		show_text(b, only, now);
	book_free(b);
	return status;
}
