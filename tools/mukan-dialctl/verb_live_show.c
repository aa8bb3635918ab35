/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_live_show.c - `book show --live [ADDR]`: the records in the pinned
 * book map, as the kernel has updated them. Read-only: each slot is copied
 * once into a private book (kern_book_snapshot), nothing is written; a
 * record the daemon would quarantine is shown as such, with what is wrong.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "args.h"
#include "dialctl.h"
#include "json_out.h"
#include "kern/kern.h"
#include "peer_print.h"

struct live_show_args {
	struct common_opts common;
	struct live_opts live;
	const char *peer;
	struct netaddr want; /* by ID when want.has_id, else by address */
	bool json;
};

enum { OPT_JSON = 'j' };

static const struct argp_option options[] = {
	{ "json", OPT_JSON, NULL, 0,
	  "Print a JSON array, one object per record: the fields of `book show --json`, plus "
	  "slot, last_connect, next_dial_in_s (seconds from now, negative when past, null "
	  "for no backoff) and quarantined (null, or what is wrong with a record the book "
	  "leaves out).",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Print the records of the live book (the pinned map the kernel writes).\n"
	"\n"
	"USAGE: mukan-dialctl book show --live [--json] [--pin-dir DIR] [ADDR]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book show --live                       # every record\n"
	"    mukan-dialctl book show --live 127.0.0.1:26656       # by address\n"
	"    mukan-dialctl book show --live --json ID | jq '.[0].failures'\n"
	"(ID: a node ID, 40 hex characters)\n"
	"\v"
	"ADDR is a node ID, id@ip:port (found by ID) or ip:port (found by address, as the "
	"kernel sees dials). Besides the fields of the offline `book show`: dials, failures and "
	"the last error by errno name (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ...) as the "
	"kernel recorded them, the next allowed dial (backoff) as a UTC time and as \"in 3.2s\", "
	"the ban end, the last dial and the last dial that connected. A record that is "
	"not valid (written by hand, or by a tool of another version) is shown marked "
	"`quarantined` with the reason; `mukan-dialctl book repair --live` repairs or drops it. "
	"The map keeps "
	"CLOCK_BOOTTIME; times are shown as wall-clock UTC. Exit status 0, 1 nothing pinned or "
	"ADDR not in the book, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct live_show_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		state->child_inputs[1] = &a->live;
		return 0;
	case OPT_JSON:
		a->json = true;
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			argp_error(state, "too many arguments (want at most one ADDR)");
		a->peer = arg;
		if (strlen(arg) == 2 * MUKAN_ID_LEN && node_id_parse(arg, strlen(arg), a->want.id) == 0)
			a->want.has_id = true;
		else
			args_netaddr(state, "ADDR", arg, 0, &a->want);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp live_show_argp = { options, parse, "[ADDR]", doc, book_live_children,
					    NULL, NULL };

static bool wanted(const struct live_show_args *a, const struct mukan_peer *p)
{
	if (!p->in_use)
		return false;
	if (!a->peer)
		return true;
	if (a->want.has_id)
		return memcmp(p->id, a->want.id, MUKAN_ID_LEN) == 0;
	return mukan_addr_equal(&p->addr, &a->want.a);
}

static json_t *live_json(const struct mukan_peer *boot, const struct mukan_peer *wall,
			 uint32_t slot, int64_t boot_now, int64_t wall_now, const char *problem)
{
	json_t *o = peer_to_json(wall, wall_now);
	json_t *in = boot->next_dial == MUKAN_TIME_NEVER
			     ? json_null()
			     : json_real((double)(boot->next_dial - boot_now) / 1e9);
	json_t *q = problem ? json_string(problem) : json_null();
	if (!o || json_object_set_new(o, "slot", json_integer(slot)) ||
	    json_object_set_new(o, "last_connect", peer_time_json(wall->last_connected)) ||
	    json_object_set_new(o, "next_dial_in_s", in) ||
	    json_object_set_new(o, "quarantined", q)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int show(const void *args, struct kern *k)
{
	const struct live_show_args *a = args;
	struct book *b;
	char err[512] = "";
	int e = kern_book_snapshot(k, a->common.strict, &b, err, sizeof(err));
	if (e < 0)
		return dialctl_kern_fail("cannot read the live book", e, err);
	int64_t offset = kern_wall_offset(), boot_now = kern_now(), wall_now = boot_now + offset;
	json_t *arr = a->json ? json_array() : NULL;
	unsigned shown = 0;
	enum book_problem why = BOOK_OK;
	int next_q = book_next_quarantined(b, 0, &why);
	for (uint32_t i = 0; i < book_capacity(b); i++) {
		struct mukan_peer p;
		const char *problem = NULL;
		if (next_q >= 0 && (uint32_t)next_q == i) {
			p = *book_slot(b, i); /* as the slot holds it */
			problem = book_problem_text(why);
			next_q = book_next_quarantined(b, i + 1, &why);
		} else if (!book_copy_record(b, i, &p)) {
			continue;
		}
		if (!wanted(a, &p))
			continue;
		struct mukan_peer wall = p;
		peer_times_to_wall(&wall, offset);
		if (arr) {
			json_t *o = live_json(&p, &wall, i, boot_now, wall_now, problem);
			if (!o || json_array_append_new(arr, o) < 0) {
				fprintf(stderr, DIALCTL_NAME ": out of memory building JSON\n");
				json_decref(arr);
				book_free(b);
				return DIALCTL_EXIT_FAIL;
			}
		} else {
			printf("%s", shown ? "\n" : "");
			peer_print_text_live(stdout, &wall, wall_now);
			printf("  %-13s %u\n", "slot", i);
			if (problem)
				printf("  %-13s %s (`" DIALCTL_NAME " book repair --live` repairs or "
				       "drops it)\n",
				       "QUARANTINED", problem);
		}
		shown++;
	}
	book_free(b);
	if (a->peer && shown == 0) {
		json_decref(arr);
		fprintf(stderr, DIALCTL_NAME ": %s: the live book has no record of %s\n",
			a->live.pin_dir, a->peer);
		return DIALCTL_EXIT_FAIL;
	}
	return arr ? json_out(arr, JSON_INDENT(2)) : DIALCTL_EXIT_OK;
}

int verb_live_show(int argc, char **argv)
{
	struct live_show_args a = { 0 };
	argp_parse(&live_show_argp, argc, argv, 0, NULL, &a);
	return dialctl_with_pinned(&a.live, show, &a);
}
