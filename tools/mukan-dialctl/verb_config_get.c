/* SPDX-License-Identifier: Apache-2.0 */
/* verb_config_get.c - `config get`: the kernel config in the pinned map, and whether it is valid. */
#include <stdio.h>

#include "config_keys.h"
#include "dialctl.h"
#include "json_out.h"
#include "kern/kern.h"
#include "mukan/rules.h"

struct get_args {
	struct live_opts live;
	bool json;
};

enum { OPT_JSON = 'j' };

static const struct argp_option options[] = {
	{ "json", OPT_JSON, NULL, 0,
	  "Print one JSON object: valid, problem, generation, flags, gate, fail_limit, "
	  "dial_timeout_ms, backoff_base_ns, backoff_cap_ns, backoff_jitter_ns, ban_ns (and the "
	  "durations as text under backoff_base, backoff_cap, backoff_jitter, ban), and in_force: "
	  "the same fields as the kernel applies them.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Print the kernel config (the pinned `config` map) and whether it is valid.\n"
	"\n"
	"USAGE: mukan-dialctl config get [--json] [--pin-dir DIR]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl config get\n"
	"    mukan-dialctl config get --json | jq .fail_limit\n"
	"\v"
	"The programs read the map at every dial and clamp each field into its safe range, so "
	"a value written with bpftool that is out of range is never applied as written: the "
	"output marks such a field and shows what the kernel applies instead. Exit status 0, "
	"1 when nothing is pinned or the map cannot be read, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct get_args *a = state->input;
	(void)arg;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->live;
		return 0;
	case OPT_JSON:
		a->json = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "config get takes no arguments");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp get_argp = { options, parse, NULL, doc, live_children, NULL, NULL };

int verb_config_get(int argc, char **argv)
{
	struct get_args a = { 0 };
	argp_parse(&get_argp, argc, argv, 0, NULL, &a);

	struct kern *k;
	int status = dialctl_open_pinned(&a.live, &k);
	if (status != DIALCTL_EXIT_OK)
		return status;
	struct mukan_config c;
	int e = kern_config_read(k, &c);
	kern_close(k);
	if (e < 0)
		return dialctl_kern_fail("cannot read the config map", e, NULL);
	if (a.json)
		return json_out(cfg_to_json(&c), JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	const char *why = kern_config_problem(&c);
	printf("config in %s/config, generation %u: %s%s\n", a.live.pin_dir, c.generation,
	       why ? "INVALID: " : "valid", why ? why : "");
	struct mukan_config in_force = c;
	rules_config_clamp(&in_force);
	cfg_print_text(stdout, &c, why ? &in_force : NULL);
	return DIALCTL_EXIT_OK;
}
