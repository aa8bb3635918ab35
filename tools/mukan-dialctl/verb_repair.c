/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_repair.c - `book repair --live [--drop] [SLOT...]`: the quarantined
 * records of the live book (bad ones the book leaves out, see `bpf status`)
 * repaired where that can be done, or dropped.
 *
 * It writes records, so it is a record writer: dialctl_live_writer_begin()
 * is where it waits for its turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dialctl.h"
#include "kern/kern.h"

#define MAX_SLOTS 256

struct repair_args {
	struct common_opts common;
	struct live_opts live;
	bool drop;
	uint32_t slot[MAX_SLOTS];
	size_t n_slots;
};

enum { OPT_DROP = 'd' };

static const struct argp_option options[] = {
	{ "drop", OPT_DROP, NULL, 0,
	  "Drop the records instead: their slots become free. For what cannot be repaired "
	  "(an unknown address family, a node ID another record has).",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Repair or drop the quarantined records of the live book.\n"
	"\n"
	"USAGE: mukan-dialctl book repair --live [--drop] [--pin-dir DIR] [SLOT...]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl bpf status                 # lists quarantined records by slot\n"
	"    mukan-dialctl book repair --live         # repair every one that can be\n"
	"    mukan-dialctl book repair --live --drop 17\n"
	"\v"
	"A record in the pinned map that is not valid (written by hand with bpftool, or by a "
	"tool of another version) is quarantined: the book leaves it out, the kernel stops "
	"tracking it, the rest of the book works, and `bpf status` names its slot and what is "
	"wrong. Repair fixes what can be fixed and puts the record back: its buckets are "
	"computed anew under the book's keys (an old record stays old, anything else becomes "
	"new), unknown flag bits and stray address bytes are cleared, an impossible failure "
	"count is cut to 1000. A record whose address family is unknown, or whose node ID "
	"another record has, cannot be repaired: drop it. Without SLOT every quarantined record "
	"is handled. Exit status 0 every record handled (or none quarantined), 1 a record could "
	"not be repaired, a SLOT is not quarantined, or nothing is pinned, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct repair_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		state->child_inputs[1] = &a->live;
		return 0;
	case OPT_DROP:
		a->drop = true;
		return 0;
	case ARGP_KEY_ARG:
		if (a->n_slots == MAX_SLOTS)
			argp_error(state, "at most %d slots at a time", MAX_SLOTS);
		a->slot[a->n_slots++] =
			(uint32_t)dialctl_parse_number(state, "SLOT", arg, 0, UINT32_MAX - 1);
		return 0;
	case ARGP_KEY_END:
		if (!a->live.live)
			argp_error(state, "repair works on the live book: give --live");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp repair_argp = { options, parse, "[SLOT...]", doc, book_live_children,
					 NULL, NULL };

/* One slot: repaired or dropped (true), or why not (false). */
static bool handle(struct book *b, uint32_t slot, bool drop)
{
	enum book_problem why;
	if (book_next_quarantined(b, slot, &why) != (int)slot) {
		fprintf(stderr, DIALCTL_NAME ": slot %u is not quarantined: nothing to do\n", slot);
		return false;
	}
	if (drop) {
		book_drop(b, slot);
		printf("slot %u: dropped (%s)\n", slot, book_problem_text(why));
		return true;
	}
	char err[256];
	if (book_repair(b, slot, err, sizeof(err)) < 0) {
		fprintf(stderr, DIALCTL_NAME ": slot %u: cannot repair (%s): %s\n", slot,
			book_problem_text(why), err);
		return false;
	}
	const struct mukan_peer *p = book_slot(b, slot);
	printf("slot %u: repaired (%s): back in the book as %s", slot, book_problem_text(why),
	       p->flags & MUKAN_PEER_BANNED	   ? "banned"
	       : p->bucket_type == MUKAN_BUCKET_OLD ? "old"
						   : "new");
	if (!(p->flags & MUKAN_PEER_BANNED))
		printf(", bucket %u", p->buckets[0]);
	printf("\n");
	return true;
}

static int repair(const void *args, struct kern *k)
{
	const struct repair_args *a = args;
	int status = dialctl_live_writer_begin(&a->live);
	if (status != DIALCTL_EXIT_OK)
		return status;
	struct book *b;
	char err[512] = "";
	int e = kern_book_open(k, a->common.strict, dialctl_random_seed(), &b, err, sizeof(err));
	if (e < 0) {
		dialctl_live_writer_end(&a->live);
		return dialctl_kern_fail("cannot open the live book", e, err);
	}
	unsigned done = 0, failed = 0;
	if (a->n_slots == 0 && book_n_quarantined(b) == 0)
		printf("live book: no quarantined records\n");
	for (size_t i = 0; i < a->n_slots; i++)
		handle(b, a->slot[i], a->drop) ? done++ : failed++;
	if (a->n_slots == 0) {
		for (int s = book_next_quarantined(b, 0, NULL); s >= 0;
		     s = book_next_quarantined(b, (uint32_t)s + 1, NULL))
			handle(b, (uint32_t)s, a->drop) ? done++ : failed++;
	}
	if (done > 0) {
		kern_index_sync(k, b);
		kern_book_touch(k); /* a running daemon re-reads the records */
	}
	if (failed > 0 && !a->drop)
		fprintf(stderr, DIALCTL_NAME ": %u record%s left quarantined; `" DIALCTL_NAME
			" book repair --live --drop SLOT` drops one\n",
			failed, failed == 1 ? "" : "s");
	book_free(b);
	dialctl_live_writer_end(&a->live);
	return failed ? DIALCTL_EXIT_FAIL : DIALCTL_EXIT_OK;
}

int verb_repair(int argc, char **argv)
{
	struct repair_args a = { 0 };
	argp_parse(&repair_argp, argc, argv, 0, NULL, &a);
	return dialctl_with_pinned(&a.live, repair, &a);
}
