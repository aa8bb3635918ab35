/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_repair.c - `book repair --live [--drop] [SLOT...]`: the quarantined
 * records of the live book (bad ones the book leaves out, see `bpf status`)
 * repaired where that can be done, or dropped.
 *
 * It writes records, so it is a live edit like add and import (live_write.c):
 * applied here when the pin-dir lock is free, by the daemon that holds it
 * otherwise, with the same code (daemon/live_edit.c) and the same answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dialctl.h"

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
	"is handled. A running daemon applies it to its own book (the edit goes over its control "
	"socket). Exit status 0 every record handled (or none quarantined), 1 a record could "
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

/* The same lines whether this process or a daemon applied the edit. */
static int print_answer(json_t *r, bool drop)
{
	if (dialctl_answer_failed(r))
		return DIALCTL_EXIT_FAIL;
	json_t *results = json_object_get(r, "results");
	unsigned failed = 0;
	size_t i;
	json_t *e;
	if (json_array_size(results) == 0)
		printf("live book: no quarantined records\n");
	json_array_foreach(results, i, e) {
		long long slot = json_integer_value(json_object_get(e, "slot"));
		const char *problem = json_string_value(json_object_get(e, "problem"));
		const char *error = json_string_value(json_object_get(e, "error"));
		if (!json_is_true(json_object_get(e, "done"))) {
			failed++;
			if (!problem)
				fprintf(stderr, DIALCTL_NAME ": slot %lld: %s\n", slot, error);
			else
				fprintf(stderr, DIALCTL_NAME ": slot %lld: cannot repair (%s): %s\n", slot,
					problem, error ? error : "");
			continue;
		}
		const char *action = json_string_value(json_object_get(e, "action"));
		printf("slot %lld: %s (%s)", slot, action ? action : "done", problem ? problem : "");
		const char *type = json_string_value(json_object_get(e, "type"));
		long long bucket = json_integer_value(json_object_get(e, "bucket"));
		if (type)
			printf(": back in the book as %s", type);
		if (type && bucket >= 0)
			printf(", bucket %lld", bucket);
		printf("\n");
	}
	if (failed > 0 && !drop)
		fprintf(stderr, DIALCTL_NAME ": %u record%s left as %s; `" DIALCTL_NAME
			" book repair --live --drop SLOT` drops one\n",
			failed, failed == 1 ? "" : "s", failed == 1 ? "it was" : "they were");
	return failed ? DIALCTL_EXIT_FAIL : DIALCTL_EXIT_OK;
}

int verb_repair(int argc, char **argv)
{
	struct repair_args a = { 0 };
	argp_parse(&repair_argp, argc, argv, 0, NULL, &a);
	json_t *slots = json_array();
	for (size_t i = 0; slots && i < a.n_slots; i++)
		json_array_append_new(slots, json_integer(a.slot[i]));
	json_t *req = slots ? json_pack("{s:s, s:b, s:o}", "edit", "repair", "drop", a.drop,
					"slots", slots)
			    : NULL;
	int status = DIALCTL_EXIT_FAIL;
	json_t *answer = req ? dialctl_live_write(&a.live, a.common.strict, req, &status) : NULL;
	json_decref(req);
	if (!answer)
		return req ? status : DIALCTL_EXIT_FAIL;
	status = print_answer(answer, a.drop);
	json_decref(answer);
	return status;
}
