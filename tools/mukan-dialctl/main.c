/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - mukan-dialctl: find the command group and verb, hand the rest of
 * the command line to that verb's own argp parser. `book show` and `book
 * add` with --live go to their live forms (the pinned maps, not a file).
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
	int (*run_live)(int argc, char **argv); /* the --live form, if any */
};

static const struct verb book_verbs[] = {
	{ "check", verb_check, NULL },		{ "stats", verb_stats, NULL },
	{ "show", verb_show, verb_live_show },	{ "add", verb_add, verb_live_add },
	{ "remove", verb_remove, NULL },	{ "pick", verb_pick, NULL },
	{ "buckets", verb_buckets, NULL },	{ "import", verb_import, NULL },
	{ "export", verb_export, NULL },
};

static const struct verb bpf_verbs[] = {
	{ "attach", verb_bpf_attach, NULL },
	{ "detach", verb_bpf_detach, NULL },
	{ "status", verb_bpf_status, NULL },
};

static const struct verb config_verbs[] = {
	{ "get", verb_config_get, NULL },
	{ "set", verb_config_set, NULL },
};

static const struct verb wire_verbs[] = {
	{ "check", verb_wire_check, NULL },
};

static const char top_doc[] =
	"Operator tool for mukan-dialer: the address book (CometBFT addrbook.json)\n"
	"and the kernel side (BPF programs, pinned maps, live config and events).\n"
	"\n"
	"USAGE: mukan-dialctl [--help] [--version] GROUP VERB [OPTION...] ARGS...\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book check addrbook.json        # does it load?\n"
	"    mukan-dialctl book stats addrbook.json --json # counts, bucket fill\n"
	"    mukan-dialctl book show addrbook.json ID      # one record\n"
	"    mukan-dialctl book add addrbook.json ID@1.2.3.4:26656\n"
	"    mukan-dialctl book remove addrbook.json ID    # drop one record\n"
	"    mukan-dialctl book pick addrbook.json -o 3 -n 10 -s 1\n"
	"    mukan-dialctl book buckets addrbook.json ID@1.2.3.4:26656\n"
	"    mukan-dialctl bpf attach                      # load, attach, pin, exit\n"
	"    mukan-dialctl book import --live addrbook.json\n"
	"    mukan-dialctl book show --live 1.2.3.4:26656  # what the kernel recorded\n"
	"    mukan-dialctl config set fail_limit 8 backoff_base 500ms\n"
	"    mukan-dialctl events --count 10               # outcomes as they happen\n"
	"    mukan-dialctl wire check transcript.json      # replay upstream's bytes\n"
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
	"LIVE VERBS (root; on the maps pinned under --pin-dir, default\n"
	"/sys/fs/bpf/mukan):\n"
	"  book show --live [ADDR] [--json]   records as the kernel updated them\n"
	"  book add --live ADDR [--src ADDR]  add to the live book\n"
	"  book import --live FILE      an addrbook.json into the live book\n"
	"  book export --live FILE      the live book as an addrbook.json\n"
	"  bpf attach [--cgroup PATH] [--capacity N]  load, attach, pin (idempotent)\n"
	"  bpf detach [--purge --yes]   programs off (with --purge: maps deleted)\n"
	"  bpf status [--json]          links, maps, book fill, counters, config\n"
	"  config get [--json]          the kernel config and whether it is valid\n"
	"  config set KEY VALUE...      change it (checked; all or nothing)\n"
	"  events [--count N] [--duration S]  follow dial outcomes\n"
	"  status [--json] [--control PATH]   a running mukan-dialerd: slots, states, outcomes\n"
	"  peers [--json] [--control PATH]    its connected peers and dials in flight\n"
	"\n"
	"VERBS of the `wire` group (offline; no root needed):\n"
	"  check [-v] FILE              replay an upstream wire transcript, compare every byte\n"
	"\n"
	"ID is a node ID (40 hex characters). Every book verb takes --no-strict.\n"
	"Exit status: 0 success, 1 the operation failed, 2 usage error."
	"\v"
	"Times are UTC (RFC 3339). A file that does not load is reported and left "
	"exactly as it is: never moved aside, never rewritten.";

static const char book_doc[] =
	"Verbs on an address book: a file (CometBFT addrbook.json), or with --live the\n"
	"records in the pinned BPF map.\n"
	"\n"
	"USAGE: mukan-dialctl book VERB [OPTION...] ARGS...\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book check addrbook.json\n"
	"    mukan-dialctl book show --live\n"
	"    mukan-dialctl book add --help\n"
	"\n"
	"VERBS: check, stats, show, add, remove, pick, buckets, import, export.\n"
	"Run `mukan-dialctl --help` for a line on each, and\n"
	"`mukan-dialctl book VERB --help` for its flags.";

static const char bpf_doc[] =
	"Load, attach, inspect and detach the kernel side (root).\n"
	"\n"
	"USAGE: mukan-dialctl bpf VERB [OPTION...]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl bpf attach\n"
	"    mukan-dialctl bpf status --json\n"
	"    mukan-dialctl bpf detach\n"
	"\n"
	"VERBS: attach, detach, status. `mukan-dialctl bpf VERB --help` for flags.";

static const char wire_doc[] =
	"The CometBFT wire protocol as this project speaks it (user/wire/).\n"
	"\n"
	"USAGE: mukan-dialctl wire VERB [OPTION...] ARGS...\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl wire check cometbft-v0.34.35-transcript-1.json\n"
	"\n"
	"VERBS: check. `mukan-dialctl wire check --help` for its flags.";

static const char config_doc[] =
	"Read and change the kernel config (the pinned `config` map; root).\n"
	"\n"
	"USAGE: mukan-dialctl config VERB [OPTION...] [KEY VALUE...]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl config get\n"
	"    mukan-dialctl config set fail_limit 8\n"
	"\n"
	"VERBS: get, set. `mukan-dialctl config set --help` lists the keys.";

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

static const struct argp top_argp = { NULL, rest_parse, "GROUP VERB [ARGS...]", top_doc,
				      NULL, NULL, NULL };

struct group {
	const char *name;
	const char *doc;
	const struct verb *verbs;
	size_t n_verbs;
};

#define GROUP(name, doc, verbs) { name, doc, verbs, sizeof(verbs) / sizeof(verbs[0]) }

static const struct group groups[] = {
	GROUP("book", book_doc, book_verbs),
	GROUP("bpf", bpf_doc, bpf_verbs),
	GROUP("config", config_doc, config_verbs),
	GROUP("wire", wire_doc, wire_verbs),
};

static int run_group(const struct group *g, int argc, char **argv)
{
	static char group_name[64], verb_name[64];
	struct rest r = { 0 };
	struct argp group_argp = { NULL, rest_parse, "VERB [ARGS...]", g->doc, NULL, NULL, NULL };
	snprintf(group_name, sizeof(group_name), DIALCTL_NAME " %s", g->name);
	argv[0] = group_name;
	argp_parse(&group_argp, argc, argv, ARGP_IN_ORDER, NULL, &r);

	for (size_t i = 0; i < g->n_verbs; i++) {
		const struct verb *v = &g->verbs[i];
		if (strcmp(r.argv[0], v->name) != 0)
			continue;
		/* Usage and errors then read "mukan-dialctl book add: ...". */
		snprintf(verb_name, sizeof(verb_name), DIALCTL_NAME " %s %s", g->name, v->name);
		r.argv[0] = verb_name;
		if (v->run_live && dialctl_wants_live(r.argc, r.argv))
			return v->run_live(r.argc, r.argv);
		return v->run(r.argc, r.argv);
	}
	fprintf(stderr, DIALCTL_NAME " %s: unknown verb '%s'\n", g->name, r.argv[0]);
	fprintf(stderr, "Try `" DIALCTL_NAME " --help' for the list of verbs.\n");
	return DIALCTL_EXIT_USAGE;
}

static int run(int argc, char **argv)
{
	if (strcmp(argv[0], "events") == 0) { /* a verb without a group */
		argv[0] = DIALCTL_NAME " events";
		return verb_events(argc, argv);
	}
	if (strcmp(argv[0], "status") == 0) {
		argv[0] = DIALCTL_NAME " status";
		return verb_status(argc, argv);
	}
	if (strcmp(argv[0], "peers") == 0) {
		argv[0] = DIALCTL_NAME " peers";
		return verb_peers(argc, argv);
	}
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(argv[0], groups[i].name) == 0)
			return run_group(&groups[i], argc, argv);
	fprintf(stderr, DIALCTL_NAME ": unknown command group '%s' (want: book, bpf, config, "
		"wire, events, status, peers)\n", argv[0]);
	fprintf(stderr, "Try `" DIALCTL_NAME " --help' for more information.\n");
	return DIALCTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	argp_err_exit_status = DIALCTL_EXIT_USAGE;
	struct rest r = { 0 };
	argp_parse(&top_argp, argc, argv, ARGP_IN_ORDER, NULL, &r);

	int status = run(r.argc, r.argv);
	/* Output that never reached its reader (full disk, closed pipe) is a failure. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, DIALCTL_NAME ": writing the output failed\n");
		if (status == DIALCTL_EXIT_OK)
			status = DIALCTL_EXIT_FAIL;
	}
	return status;
}
