/* SPDX-License-Identifier: Apache-2.0 */
/* verb_remove.c - `book remove FILE ADDR`: drop one record by node ID, save atomically. */
#include <stdio.h>

#include "args.h"
#include "dialctl.h"

struct remove_args {
	struct common_opts common;
	const char *file;
	const char *peer;
	uint8_t id[MUKAN_ID_LEN];
};

static const char doc[] =
	"Remove the record of one node from a book file.\n"
	"\n"
	"USAGE: mukan-dialctl book remove [--no-strict] FILE ADDR\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book remove addrbook.json \\\n"
	"        d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e\n"
	"    mukan-dialctl book remove addrbook.json ID@77.145.180.81:28569\n"
	"(ID: a node ID, 40 hex characters)\n"
	"\v"
	"ADDR is a node ID (40 hex characters) or id@ip:port; the record with that node ID "
	"goes, whatever its address, from the buckets or the ban list (removing a banned "
	"record ends its ban: the address may be learned again). FILE is rewritten by a "
	"temporary file and a rename; stop the node first, as a running node rewrites FILE "
	"from memory every 2 minutes. Exit status 0 removed, 1 no such record or FILE "
	"unusable (FILE untouched), 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct remove_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		return 0;
	case ARGP_KEY_ARG:
		if (args_file_then_addr(state, arg, &a->file, "FILE ADDR"))
			args_peer(state, arg, a->id, &a->peer);
		return 0;
	case ARGP_KEY_END:
		args_need_file_addr(state, a->file, a->peer);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp remove_argp = { NULL, parse, "FILE ADDR", doc, common_children, NULL,
					 NULL };

int verb_remove(int argc, char **argv)
{
	struct remove_args a = { 0 };
	argp_parse(&remove_argp, argc, argv, 0, NULL, &a);

	struct book *b;
	int status = dialctl_open_book(a.file, &a.common, 0, &b, NULL);
	if (status != DIALCTL_EXIT_OK)
		return status;

	char hex[2 * MUKAN_ID_LEN + 1], shown[NETADDR_STRLEN];
	node_id_format(a.id, hex);
	int slot = book_find(b, a.id);
	if (slot < 0) {
		fprintf(stderr, DIALCTL_NAME ": %s: no record with node ID %s\n", a.file, hex);
		book_free(b);
		return DIALCTL_EXIT_FAIL;
	}
	struct netaddr na;
	book_peer_addr(book_slot(b, (uint32_t)slot), &na);
	netaddr_format(&na, shown);
	book_remove(b, a.id);

	status = dialctl_save_book(b, a.file);
	if (status == DIALCTL_EXIT_OK)
		printf("%s: removed %s\n", a.file, shown);
	book_free(b);
	return status;
}
