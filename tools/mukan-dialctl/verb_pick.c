/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_pick.c - `book pick FILE`: the addresses the dialer would choose,
 * with upstream's bias towards new addresses for a given outbound count.
 *
 * Like upstream ensurePeers, repeats are skipped and at most 3 x count
 * picks are drawn, so a small or lopsided book can yield fewer than asked.
 */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "dialctl.h"

#define PICK_MAX_COUNT 100000
#define PICK_TRIES_PER_ADDRESS 3 /* upstream: up to 3 * numToDial picks */

struct pick_args {
	struct common_opts common;
	const char *file;
	int outbound;
	unsigned count;
	uint64_t seed;
	bool seeded;
};

enum { OPT_OUTBOUND = 'o', OPT_COUNT = 'n', OPT_SEED = 's' };

static const struct argp_option options[] = {
	{ "outbound", OPT_OUTBOUND, "N", 0,
	  "Outbound peers the node has now (default 0). The bias towards new addresses is "
	  "min(N, 8) * 10 + 10, as upstream: 10 with no peers, 90 from 8 on.",
	  0 },
	{ "count", OPT_COUNT, "M", 0, "Distinct addresses to pick (default 1).", 0 },
	{ "seed", OPT_SEED, "S", 0,
	  "Seed of the book's random generator (decimal or 0x hex): the same FILE and S give "
	  "the same picks. Default: a random seed.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Pick addresses from a book file the way the dialer does.\n"
	"\n"
	"USAGE: mukan-dialctl book pick [-o N] [-n M] [-s S] [--no-strict] FILE\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book pick addrbook.json --count 10   # node without peers\n"
	"    mukan-dialctl book pick addrbook.json -o 8 -n 2 -s 42  # reproducible\n"
	"\v"
	"Each pick chooses old or new (old with probability sqrt(nOld)*(100-bias) / "
	"(sqrt(nOld)*(100-bias) + sqrt(nNew)*bias)), then a random non-empty bucket of that "
	"side, then a random entry of it; if the chosen side is empty that pick yields "
	"nothing. Addresses picked before are skipped and at most 3*M picks are drawn, as "
	"upstream ensurePeers does, so fewer than M lines may come out (a note on stderr says "
	"so). Output: one id@ip:port per line. Exit status 0, 1 when FILE does not load, 2 "
	"usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct pick_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		return 0;
	case OPT_OUTBOUND:
		a->outbound = (int)dialctl_parse_number(state, "--outbound", arg, 0, 100000);
		return 0;
	case OPT_COUNT:
		a->count = (unsigned)dialctl_parse_number(state, "--count", arg, 1, PICK_MAX_COUNT);
		return 0;
	case OPT_SEED:
		a->seed = dialctl_parse_number(state, "--seed", arg, 0, UINT64_MAX);
		a->seeded = true;
		return 0;
	case ARGP_KEY_ARG:
		return args_file(state, arg, &a->file);
	case ARGP_KEY_END:
		return args_need_file(state, a->file);
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp pick_argp = { options, parse, "FILE", doc, common_children, NULL, NULL };

int verb_pick(int argc, char **argv)
{
	struct pick_args a = { .count = 1 };
	argp_parse(&pick_argp, argc, argv, 0, NULL, &a);

	struct book *b;
	uint64_t seed = a.seeded ? a.seed : dialctl_random_seed();
	int status = dialctl_open_book(a.file, &a.common, seed, &b, NULL);
	if (status != DIALCTL_EXIT_OK)
		return status;

	bool *seen = calloc(book_capacity(b), sizeof(*seen));
	if (!seen) {
		fprintf(stderr, DIALCTL_NAME ": out of memory\n");
		book_free(b);
		return DIALCTL_EXIT_FAIL;
	}
	int bias = book_bias_for_outbound(a.outbound);
	unsigned got = 0, tries = 0, max_tries = PICK_TRIES_PER_ADDRESS * a.count;
	while (got < a.count && tries < max_tries) {
		uint32_t slot;
		tries++;
		if (book_pick(b, bias, &slot) < 0 || seen[slot])
			continue;
		seen[slot] = true;
		got++;
		char text[NETADDR_STRLEN];
		struct netaddr na;
		book_peer_addr(book_slot(b, slot), &na);
		netaddr_format(&na, text);
		printf("%s\n", text);
	}
	if (got < a.count)
		fprintf(stderr, DIALCTL_NAME ": %s: picked %u distinct of %u asked in %u picks "
				"(book: %u new, %u old; bias %d towards new)\n",
			a.file, got, a.count, tries, book_n_new(b), book_n_old(b), bias);
	free(seen);
	book_free(b);
	return DIALCTL_EXIT_OK;
}
