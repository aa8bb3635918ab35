/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_live_add.c - `book add --live ADDR`: upstream AddAddress on the live
 * book. The record lands in the mmapped map and its address in book_idx, so
 * the kernel tracks the next dial to it at once.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "dialctl.h"
#include "kern/kern.h"

struct live_add_args {
	struct common_opts common;
	struct live_opts live;
	struct addr_src as;
};

enum { OPT_SRC = 's' };

static const struct argp_option options[] = {
	{ "src", OPT_SRC, "ADDR", 0,
	  "The peer that told us about the address (id@ip:port, or ip:port); its group decides "
	  "the new bucket. Default: ADDR itself.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Add an address to the live book (the pinned map), as the node would.\n"
	"\n"
	"USAGE: mukan-dialctl book add --live [--src ADDR] [--no-strict]\n"
	"                                     [--pin-dir DIR] ADDR\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book add --live \\\n"
	"        d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e@77.145.180.81:28569\n"
	"    mukan-dialctl book add --live --no-strict ID@127.0.0.1:26656  # testnet\n"
	"(ID: a node ID, 40 hex characters)\n"
	"\v"
	"The same rules as the offline `book add` (bans, private IDs, our own addresses, "
	"strict routability; --no-strict for loopback and private ranges), applied to the "
	"records in the pinned map under the placement keys kept in its `meta` map. From then "
	"on the kernel counts every dial to ADDR from the attached cgroup. Exit status 0 added "
	"or already known, 1 refused or nothing pinned, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct live_add_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		state->child_inputs[1] = &a->live;
		return 0;
	case OPT_SRC:
		return args_src(state, arg, &a->as);
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			argp_error(state, "too many arguments (want ADDR; --live takes no FILE)");
		args_addr(state, arg, &a->as);
		return 0;
	case ARGP_KEY_END:
		if (!a->as.addr_text)
			argp_error(state, "missing ADDR");
		args_src_default(&a->as);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp live_add_argp = { options, parse, "ADDR", doc, book_live_children,
					   NULL, NULL };

static int add(const void *args, struct kern *k)
{
	const struct live_add_args *a = args;
	struct book *b;
	char err[512] = "", shown[NETADDR_STRLEN], eb[16];
	int e = kern_book_open(k, a->common.strict, dialctl_random_seed(), &b, err, sizeof(err));
	if (e < 0)
		return dialctl_kern_fail("cannot open the live book", e, err);
	netaddr_format(&a->as.addr, shown);
	int rc = book_add(b, &a->as.addr, &a->as.src, kern_now());
	if (rc < 0) {
		fprintf(stderr, DIALCTL_NAME ": live book: cannot add %s: %s (%s)\n", shown,
			dialctl_add_refusal(rc), dialctl_errno_name(-rc, eb));
		book_free(b);
		return DIALCTL_EXIT_FAIL;
	}
	int slot = book_find(b, a->as.addr.id);
	const struct mukan_peer *p = slot >= 0 ? book_slot(b, (uint32_t)slot) : NULL;
	if (rc == 0) {
		printf("live book: %s is already known (slot %d); unchanged\n", shown, slot);
	} else {
		kern_book_touch(k); /* a running daemon re-reads the records */
		printf("live book: added %s", shown);
		if (p && p->n_buckets > 0)
			printf(" to new bucket %u", p->buckets[p->n_buckets - 1]);
		printf(" (slot %d)\n", slot);
	}
	book_free(b);
	return DIALCTL_EXIT_OK;
}

int verb_live_add(int argc, char **argv)
{
	struct live_add_args a = { 0 };
	argp_parse(&live_add_argp, argc, argv, 0, NULL, &a);
	return dialctl_with_pinned(&a.live, add, &a);
}
