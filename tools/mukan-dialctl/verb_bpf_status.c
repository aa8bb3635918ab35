/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_bpf_status.c - `bpf status`: what is pinned and attached, how full
 * the book is, the counters, and the config in force.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include "bpf_report.h"
#include "config_keys.h"
#include "dialctl.h"
#include "json_out.h"
#include "kern/kern.h"
#include "mukan/rules.h"

struct status_args {
	struct live_opts live;
	bool json;
};

enum { OPT_JSON = 'j' };

static const struct argp_option options[] = {
	{ "json", OPT_JSON, NULL, 0,
	  "Print one JSON object: pin_dir, links (name, pinned, attached, prog_id, prog_name, "
	  "cgroup_id, cgroup, programs_on_hook), maps (pin name: true/false), maps_pinned, "
	  "book (capacity, used, index_entries, quarantined, and from meta: path, key, state, "
	  "book_generation, records_generation, owner_pid, control), quarantined (one object "
	  "per record the book leaves out: slot, problem, addr or null), stats (the counters) "
	  "and config (as `config get --json`); book, quarantined, stats and config are null "
	  "when the maps are not pinned.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Show what is attached and pinned, the book's fill, the counters and the config.\n"
	"\n"
	"USAGE: mukan-dialctl bpf status [--json] [--pin-dir DIR]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl bpf status\n"
	"    mukan-dialctl bpf status --json | jq '.links[] | {name, attached}'\n"
	"\v"
	"A link is `attached` when its program is on the cgroup's hook as the kernel reports "
	"it (BPF_PROG_QUERY); `programs_on_hook` counts every program on that hook, ours or "
	"not, so a double attachment shows. Records that are not valid (written by hand or by "
	"a tool of another version: a bad family, bucket type or bucket number, unknown flags, "
	"an impossible failure count, a node ID twice) are listed by slot with what is wrong: "
	"the book leaves them out and the kernel no longer tracks them until `mukan-dialctl "
	"book repair --live` repairs or drops them. Counters are summed over CPUs since the maps "
	"were created. Nothing pinned is a state, not an error: exit status 0 whenever the status "
	"could be read, 1 when it could not (not root), 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct status_args *a = state->input;
	(void)arg;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->live;
		return 0;
	case OPT_JSON:
		a->json = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "bpf status takes no arguments");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp status_argp = { options, parse, NULL, doc, live_children, NULL, NULL };

/* What only the pinned maps can tell: counters, config, quarantined records. */
struct map_view {
	bool ok;
	struct mukan_stats stats;
	struct mukan_config config;
	struct book *snap; /* a private copy of the records, checked */
};

/* "slot 5: bucket index out of range (id@1.2.3.4:26656)" parts, for text and JSON. */
static void quarantined_addr(const struct book *b, uint32_t slot, char out[NETADDR_STRLEN])
{
	const struct mukan_peer *p = book_slot(b, slot);
	struct netaddr na;
	book_peer_addr(p, &na);
	out[0] = '\0';
	if (p->addr.family == MUKAN_AF_INET || p->addr.family == MUKAN_AF_INET6)
		netaddr_format(&na, out);
}

static json_t *quarantined_json(const struct book *b)
{
	json_t *arr = json_array();
	enum book_problem why;
	for (int s = book_next_quarantined(b, 0, &why); arr && s >= 0;
	     s = book_next_quarantined(b, (uint32_t)s + 1, &why)) {
		char addr[NETADDR_STRLEN];
		quarantined_addr(b, (uint32_t)s, addr);
		json_array_append_new(arr, json_pack("{s:i, s:s, s:o}", "slot", s, "problem",
						     book_problem_text(why), "addr",
						     addr[0] ? json_string(addr) : json_null()));
	}
	return arr;
}

static void quarantined_text(const struct book *b)
{
	uint32_t n = book_n_quarantined(b);
	if (n == 0)
		return;
	printf("QUARANTINED %u record%s left out of the book (the kernel no longer tracks them; "
	       "`" DIALCTL_NAME " book repair --live [--drop] [SLOT...]`):\n",
	       n, n == 1 ? "" : "s");
	enum book_problem why;
	for (int s = book_next_quarantined(b, 0, &why); s >= 0;
	     s = book_next_quarantined(b, (uint32_t)s + 1, &why)) {
		char addr[NETADDR_STRLEN];
		quarantined_addr(b, (uint32_t)s, addr);
		printf("          slot %d: %s%s%s%s\n", s, book_problem_text(why), addr[0] ? " (" : "",
		       addr, addr[0] ? ")" : "");
	}
}

static int read_maps(const char *pin_dir, struct map_view *v)
{
	struct kern *k;
	char err[512] = "";
	v->ok = false;
	int e = kern_open_pinned(&k, pin_dir, err, sizeof(err));
	if (e == -ENOENT)
		return 0;
	if (e < 0) {
		dialctl_kern_fail(NULL, e, err);
		return e;
	}
	e = kern_stats_read(k, &v->stats);
	if (e == 0)
		e = kern_config_read(k, &v->config);
	if (e == 0 && kern_book_snapshot(k, false, &v->snap, err, sizeof(err)) < 0)
		v->snap = NULL; /* the rest of the status is still worth showing */
	kern_close(k);
	if (e < 0) {
		dialctl_kern_fail("cannot read the maps", e, NULL);
		return e;
	}
	v->ok = true;
	return 0;
}

static json_t *maps_json(const char *pin_dir)
{
	bool pinned[REPORT_N_MAPS];
	report_maps_pinned(pin_dir, pinned);
	json_t *o = json_object();
	for (int i = 0; o && i < REPORT_N_MAPS; i++)
		json_object_set_new(o, report_map_pins[i], json_boolean(pinned[i]));
	return o;
}

static const char *state_name(uint32_t state)
{
	return state == MUKAN_META_READY	 ? "ready"
	       : state == MUKAN_META_IMPORTING ? "importing"
	       : state == MUKAN_META_EMPTY     ? "empty"
					       : "unknown";
}

/* meta's strings, NUL-terminated whatever the map holds. */
struct meta_text {
	char key[65], path[MUKAN_META_PATH_LEN + 1], control[MUKAN_META_CONTROL_LEN + 1];
};

static void meta_text(const struct mukan_book_meta *m, struct meta_text *t)
{
	snprintf(t->key, sizeof(t->key), "%.*s", (int)(m->key_len <= 64 ? m->key_len : 0),
		 (const char *)m->key);
	snprintf(t->path, sizeof(t->path), "%.*s", MUKAN_META_PATH_LEN, (const char *)m->book_path);
	snprintf(t->control, sizeof(t->control), "%.*s", MUKAN_META_CONTROL_LEN,
		 (const char *)m->control);
}

static int print_json(const char *pin_dir, const struct kern_status *st, const struct map_view *v)
{
	struct meta_text mt;
	meta_text(&st->meta, &mt);
	json_t *book = v->ok ? json_pack("{s:I, s:I, s:I, s:o, s:s?, s:s, s:s, s:I, s:I, s:i, s:s?}",
					 "capacity", (json_int_t)st->book_capacity, "used",
					 (json_int_t)st->book_used, "index_entries",
					 (json_int_t)st->index_entries, "quarantined",
					 v->snap ? json_integer(book_n_quarantined(v->snap))
						 : json_null(),
					 "path",
					 mt.path[0] ? mt.path : NULL, "key", mt.key, "state",
					 state_name(st->meta.state), "book_generation",
					 (json_int_t)st->meta.book_gen, "records_generation",
					 (json_int_t)st->meta.records_gen, "owner_pid",
					 st->meta.owner_pid, "control",
					 mt.control[0] ? mt.control : NULL)
			     : json_null();
	json_t *o = json_pack("{s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "pin_dir", pin_dir,
			      "links", report_links_json(st), "maps", maps_json(pin_dir),
			      "maps_pinned", st->maps_pinned, "book", book, "quarantined",
			      v->snap ? quarantined_json(v->snap) : json_null(), "stats",
			      v->ok ? report_stats_json(&v->stats) : json_null(), "config",
			      v->ok ? cfg_to_json(&v->config) : json_null());
	return json_out(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

static void print_text(const char *pin_dir, const struct kern_status *st, const struct map_view *v)
{
	bool pinned[REPORT_N_MAPS];
	report_maps_pinned(pin_dir, pinned);
	printf("pin dir   %s\n", pin_dir);
	printf("links\n");
	report_links_text(stdout, st);
	printf("maps     ");
	for (int i = 0; i < REPORT_N_MAPS; i++)
		printf(" %s%s", report_map_pins[i], pinned[i] ? "" : " (missing)");
	printf("\n");
	if (!v->ok) {
		printf("          nothing usable is pinned: `mukan-dialctl bpf attach` loads it\n");
		return;
	}
	printf("book      %u of %u slots used, %u index entries\n", st->book_used,
	       st->book_capacity, st->index_entries);
	struct meta_text mt;
	meta_text(&st->meta, &mt);
	printf("          %s, key %s, generation %llu, %s; records generation %llu\n",
	       mt.path[0] ? mt.path : "no book file recorded", mt.key[0] ? mt.key : "none",
	       (unsigned long long)st->meta.book_gen, state_name(st->meta.state),
	       (unsigned long long)st->meta.records_gen);
	if (st->meta.owner_pid && kill(st->meta.owner_pid, 0) == 0)
		printf("          held by mukan-dialerd pid %d (control %s)\n", st->meta.owner_pid,
		       mt.control[0] ? mt.control : "unknown");
	else if (st->meta.owner_pid)
		printf("          last held by mukan-dialerd pid %d, which is gone\n",
		       st->meta.owner_pid);
	if (v->snap)
		quarantined_text(v->snap);
	printf("counters\n");
	report_stats_text(stdout, &v->stats);
	const char *why = kern_config_problem(&v->config);
	printf("config    generation %u, %s%s\n", v->config.generation, why ? "INVALID: " : "valid",
	       why ? why : "");
	struct mukan_config in_force = v->config;
	rules_config_clamp(&in_force);
	cfg_print_text(stdout, &v->config, why ? &in_force : NULL);
}

int verb_bpf_status(int argc, char **argv)
{
	struct status_args a = { 0 };
	argp_parse(&status_argp, argc, argv, 0, NULL, &a);

	struct kern_status st;
	char err[512] = "";
	int e = kern_status(a.live.pin_dir, &st, err, sizeof(err));
	if (e < 0)
		return dialctl_kern_fail(NULL, e, err);
	struct map_view v = { 0 };
	if (st.maps_pinned && read_maps(a.live.pin_dir, &v) < 0)
		return DIALCTL_EXIT_FAIL;
	if (!st.maps_pinned)
		v.ok = false;
	int status = DIALCTL_EXIT_OK;
	if (a.json)
		status = print_json(a.live.pin_dir, &st, &v);
	else
		print_text(a.live.pin_dir, &st, &v);
	book_free(v.snap);
	return status;
}
