/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - mukan-dialctl: find the command group and verb, hand the rest of
 * the command line to that verb's own argp parser.
 *
 * Parsing stops at the first word that is not an option (ARGP_IN_ORDER), so
 * `mukan-dialctl book add --help` reaches the `add` parser and the flags of
 * a verb are never mistaken for global ones.
 */
#include <stdio.h>
#include <string.h>

#include "dialctl.h"

const char *argp_program_version = DIALCTL_NAME " 0.1";
const char *argp_program_bug_address = NULL;

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct verb book_verbs[] = {
	{ "check", verb_check },   { "stats", verb_stats }, { "show", verb_show },
	{ "add", verb_add },	   { "remove", verb_remove }, { "pick", verb_pick },
	{ "buckets", verb_buckets },
};

static const char top_doc[] =
	"Operator tool for the mukan-dialer address book (CometBFT addrbook.json).\n"
	"\n"
	"USAGE: mukan-dialctl [--help] [--version] book VERB [OPTION...] ARGS...\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book check addrbook.json        # does it load?\n"
	"    mukan-dialctl book stats addrbook.json --json # counts, bucket fill\n"
	"    mukan-dialctl book show addrbook.json ID      # one record\n"
	"    mukan-dialctl book add addrbook.json ID@1.2.3.4:26656\n"
	"    mukan-dialctl book remove addrbook.json ID    # drop one record\n"
	"    mukan-dialctl book pick addrbook.json -o 3 -n 10 -s 1\n"
	"    mukan-dialctl book buckets addrbook.json ID@1.2.3.4:26656\n"
	"    mukan-dialctl book add --help                 # a verb's flags\n"
	"\n"
	"VERBS of the `book` group (offline, on a file; no root needed):\n"
	"  check FILE                   load FILE: a summary, or why it fails\n"
	"  stats FILE [--json]          new/old/bad/banned counts, bucket fill\n"
	"  show FILE [ADDR] [--json]    every record, or the one of ADDR's ID\n"
	"  add FILE ADDR [--src ADDR]   add as the node would (creates FILE)\n"
	"  remove FILE ADDR             drop the record with ADDR's node ID\n"
	"  pick FILE [-o N] [-n M] [-s S]  addresses the dialer would pick\n"
	"  buckets FILE ADDR [--src ADDR] [--hash-key HEX64]\n"
	"                               ADDR's new and old bucket\n"
	"\n"
	"ID is a node ID (40 hex characters). Every book verb takes --no-strict.\n"
	"Exit status: 0 success, 1 the operation failed, 2 usage error."
	"\v"
	"Times are UTC (RFC 3339). A file that does not load is reported and left "
	"exactly as it is: never moved aside, never rewritten.";

static const char book_doc[] =
	"Offline verbs on an address book file (CometBFT addrbook.json).\n"
	"\n"
	"USAGE: mukan-dialctl book VERB [OPTION...] ARGS...\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book check addrbook.json\n"
	"    mukan-dialctl book add --help\n"
	"\n"
	"VERBS: check, stats, show, add, remove, pick, buckets.\n"
	"Run `mukan-dialctl --help` for a line on each, and\n"
	"`mukan-dialctl book VERB --help` for its flags.";

/* Where the next level's words start (argv[0] is the word just found). */
struct rest {
	int argc;
	char **argv;
};

static error_t rest_parse(int key, char *arg, struct argp_state *state)
{
	struct rest *r = state->input;
	(void)arg;
	switch (key) {
	case ARGP_KEY_ARG:
		r->argc = state->argc - state->next + 1;
		r->argv = &state->argv[state->next - 1];
		state->next = state->argc; /* the rest belongs to the next level */
		return 0;
	case ARGP_KEY_NO_ARGS:
		argp_usage(state);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp top_argp = { NULL, rest_parse, "book VERB [ARGS...]", top_doc,
				      NULL, NULL, NULL };
static const struct argp book_argp = { NULL, rest_parse, "VERB [ARGS...]", book_doc,
				       NULL, NULL, NULL };

static int run_book(int argc, char **argv)
{
	struct rest r = { 0 };
	argv[0] = DIALCTL_NAME " book";
	argp_parse(&book_argp, argc, argv, ARGP_IN_ORDER, NULL, &r);

	for (size_t i = 0; i < sizeof(book_verbs) / sizeof(book_verbs[0]); i++) {
		if (strcmp(r.argv[0], book_verbs[i].name) != 0)
			continue;
		/* Usage and errors then read "mukan-dialctl book add: ...". */
		static char name[64];
		snprintf(name, sizeof(name), DIALCTL_NAME " book %s", book_verbs[i].name);
		r.argv[0] = name;
		return book_verbs[i].run(r.argc, r.argv);
	}
	fprintf(stderr, DIALCTL_NAME " book: unknown verb '%s'\n", r.argv[0]);
	fprintf(stderr, "Try `" DIALCTL_NAME " --help' for the list of verbs.\n");
	return DIALCTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	argp_err_exit_status = DIALCTL_EXIT_USAGE;
	struct rest r = { 0 };
	argp_parse(&top_argp, argc, argv, ARGP_IN_ORDER, NULL, &r);

	int status;
	if (strcmp(r.argv[0], "book") == 0) {
		status = run_book(r.argc, r.argv);
	} else {
		fprintf(stderr, DIALCTL_NAME ": unknown command group '%s' (want: book)\n",
			r.argv[0]);
		fprintf(stderr, "Try `" DIALCTL_NAME " --help' for more information.\n");
		status = DIALCTL_EXIT_USAGE;
	}
	/* Output that never reached its reader (full disk, closed pipe) is a failure. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, DIALCTL_NAME ": writing the output failed\n");
		if (status == DIALCTL_EXIT_OK)
			status = DIALCTL_EXIT_FAIL;
	}
	return status;
}
