/* SPDX-License-Identifier: Apache-2.0 */
/* verb_check.c - `book check FILE`: does the file load, and what is in it. */
#include <stdio.h>

#include "args.h"
#include "dialctl.h"

struct check_args {
	struct common_opts common;
	const char *file;
};

static const char doc[] =
	"Load an address book file and report whether it is usable.\n"
	"\n"
	"USAGE: mukan-dialctl book check [--no-strict] FILE\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book check ~/.cometbft/config/addrbook.json\n"
	"    mukan-dialctl book check addrbook.json || echo broken\n"
	"\n"
	"OUTPUT:\n"
	"    addrbook.json: ok: 1234 addresses (1000 new, 234 old), 3 banned,\n"
	"    key f6da13e87e0431f6954491ea\n"
	"(on one line)\n"
	"\v"
	"Exit status 0 when FILE loads; 1 with the loader's one-line reason on stderr "
	"(not JSON, a wrong type, an out-of-range bucket, a duplicate ID, ...); 2 usage error. "
	"FILE is only read: it is never rewritten or moved aside.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct check_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		return 0;
	case ARGP_KEY_ARG:
		return args_file(state, arg, &a->file);
	case ARGP_KEY_END:
		return args_need_file(state, a->file);
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp check_argp = { NULL, parse, "FILE", doc, common_children, NULL, NULL };

int verb_check(int argc, char **argv)
{
	struct check_args a = { 0 };
	argp_parse(&check_argp, argc, argv, 0, NULL, &a);

	struct book *b;
	int status = dialctl_open_book(a.file, &a.common, 0, &b, NULL);
	if (status != DIALCTL_EXIT_OK)
		return status;
	printf("%s: ok: %u addresses (%u new, %u old), %u banned, key %s\n", a.file,
	       book_size(b), book_n_new(b), book_n_old(b), book_n_banned(b), book_key(b));
	book_free(b);
	return DIALCTL_EXIT_OK;
}
