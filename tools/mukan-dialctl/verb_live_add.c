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
	"on the kernel counts every dial to ADDR from the attached cgroup. One writer at a "
	"time: while mukan-dialerd runs on the pin dir the daemon makes the edit (its "
	"addr_book_strict applies) and this prints its answer. Exit status 0 added "
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

/* The same lines whether this process or a daemon applied the edit. */
static int print_answer(json_t *r)
{
	const char *shown = json_string_value(json_object_get(r, "addr"));
	json_t *no = json_object_get(r, "errno");
	if (json_is_integer(no) && shown) {
		char eb[16];
		int e = (int)json_integer_value(no);
		fprintf(stderr, DIALCTL_NAME ": live book: cannot add %s: %s (%s)\n", shown,
			dialctl_add_refusal(-e), dialctl_errno_name(e, eb));
		return DIALCTL_EXIT_FAIL;
	}
	if (dialctl_answer_failed(r))
		return DIALCTL_EXIT_FAIL;
	long long slot = json_integer_value(json_object_get(r, "slot"));
	long long bucket = json_integer_value(json_object_get(r, "bucket"));
	if (!json_is_true(json_object_get(r, "added"))) {
		printf("live book: %s is already known (slot %lld); unchanged\n", shown, slot);
		return DIALCTL_EXIT_OK;
	}
	printf("live book: added %s", shown);
	if (bucket >= 0)
		printf(" to new bucket %lld", bucket);
	printf(" (slot %lld)\n", slot);
	return DIALCTL_EXIT_OK;
}

int verb_live_add(int argc, char **argv)
{
	struct live_add_args a = { 0 };
	argp_parse(&live_add_argp, argc, argv, 0, NULL, &a);
	char addr[NETADDR_STRLEN], src[NETADDR_STRLEN];
	netaddr_format(&a.as.addr, addr);
	netaddr_format(&a.as.src, src);
	json_t *req = json_pack("{s:s, s:s, s:s}", "edit", "add", "addr", addr, "src", src);
	int status;
	json_t *answer = req ? dialctl_live_write(&a.live, a.common.strict, req, &status) : NULL;
	json_decref(req);
	if (!answer)
		return req ? status : DIALCTL_EXIT_FAIL;
	status = print_answer(answer);
	json_decref(answer);
	return status;
}
