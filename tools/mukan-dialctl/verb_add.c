/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_add.c - `book add FILE ADDR`: what the node does when it learns an
 * address (upstream AddAddress), then an atomic save. A refused address
 * leaves FILE exactly as it was, and a missing FILE is not created for it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "dialctl.h"

struct add_args {
	struct common_opts common;
	const char *file;
	struct addr_src as;
};

enum { OPT_SRC = 's' };

static const struct argp_option options[] = {
	{ "src", OPT_SRC, "ADDR", 0,
	  "The peer that told us about the address (id@ip:port, or ip:port for a source "
	  "without ID); its group decides the new bucket. Default: ADDR itself, as the node "
	  "does for configured peers.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Add an address to a book file as the node would, creating the file if needed.\n"
	"\n"
	"USAGE: mukan-dialctl book add [--src ADDR] [--no-strict] FILE ADDR\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book add addrbook.json \\\n"
	"        d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e@77.145.180.81:28569 \\\n"
	"        --src 73135b4bcf16b49f04ce3b1315e9aacd0a64267e@[2a01:7a7e::1]:26656\n"
	"    mukan-dialctl book add --no-strict test.json ID@127.0.0.1:26656\n"
	"        # a local testnet (ID: a node ID, 40 hex characters)\n"
	"With --live the verb works on the live book (the pinned BPF map) instead of a\n"
	"file: `mukan-dialctl book add --live --help`.\n"
	"\v"
	"ADDR is id@ip:port (IPv6 in brackets; no host names). A FILE that does not exist is "
	"created with a fresh random key. Refusals, as upstream: the address is banned, a "
	"private ID, one of our own, invalid (0.0.0.0, 255.255.255.255, 2001:db8::/32), or not "
	"routable in strict mode (loopback, 10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, "
	"...; use --no-strict). An address already known may gain one more new bucket (chance "
	"1/(2n) with n buckets, at most 4) or nothing; the file is rewritten only when the book "
	"changed, by a temporary file and a rename. Stop the node first: a running node "
	"rewrites FILE from memory every 2 minutes. Exit status 0 added or already known, 1 "
	"refused or FILE unusable (FILE untouched), 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct add_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		return 0;
	case OPT_SRC:
		return args_src(state, arg, &a->as);
	case ARGP_KEY_ARG:
		if (args_file_then_addr(state, arg, &a->file, "FILE ADDR"))
			args_addr(state, arg, &a->as);
		return 0;
	case ARGP_KEY_END:
		args_need_file_addr(state, a->file, a->as.addr_text);
		args_src_default(&a->as);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp add_argp = { options, parse, "FILE ADDR", doc, common_children, NULL,
				      NULL };

int verb_add(int argc, char **argv)
{
	struct add_args a = { 0 };
	argp_parse(&add_argp, argc, argv, 0, NULL, &a);

	struct book *b;
	bool created;
	int status = dialctl_open_book(a.file, &a.common, dialctl_random_seed(), &b, &created);
	if (status != DIALCTL_EXIT_OK)
		return status;

	char shown[NETADDR_STRLEN], eb[16];
	netaddr_format(&a.as.addr, shown);
	int rc = book_add(b, &a.as.addr, &a.as.src, dialctl_now());
	if (rc < 0) {
		fprintf(stderr, DIALCTL_NAME ": %s: cannot add %s: %s (%s)\n", a.file, shown,
			dialctl_add_refusal(rc), dialctl_errno_name(-rc, eb));
		book_free(b);
		return DIALCTL_EXIT_FAIL;
	}
	if (rc == 0) {
		printf("%s: %s is already known; book unchanged\n", a.file, shown);
		book_free(b);
		return DIALCTL_EXIT_OK;
	}

	if (dialctl_save_book(b, a.file) != DIALCTL_EXIT_OK) {
		book_free(b);
		return DIALCTL_EXIT_FAIL;
	}
	int slot = book_find(b, a.as.addr.id);
	const struct mukan_peer *p = slot >= 0 ? book_slot(b, (uint32_t)slot) : NULL;
	printf("%s: added %s", a.file, shown);
	if (p && p->n_buckets > 0) /* the bucket just added is the last one listed */
		printf(" to new bucket %u", p->buckets[p->n_buckets - 1]);
	if (created)
		printf("; created the file with key %s", book_key(b));
	printf("\n");
	book_free(b);
	return DIALCTL_EXIT_OK;
}
