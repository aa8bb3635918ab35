/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_config_set.c - `config set KEY VALUE...`: change the kernel config
 * all at once or not at all. Every value is parsed and the result checked
 * with the kernel's own rule before one write, so a refused change leaves
 * the map exactly as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_keys.h"
#include "dialctl.h"
#include "kern/kern.h"
#include "mukan/rules.h"

#define MAX_PAIRS 16

struct set_args {
	struct live_opts live;
	const char *words[2 * MAX_PAIRS];
	int n_words;
};

static const char doc[] =
	"Change the kernel config (the pinned `config` map) of the running dialer.\n"
	"\n"
	"USAGE: mukan-dialctl config set [--pin-dir DIR] KEY VALUE [KEY VALUE...]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl config set fail_limit 8\n"
	"    mukan-dialctl config set backoff_base 500ms backoff_cap 10m ban 24h\n"
	"    mukan-dialctl config set gate off                # stop refusing connects\n"
	"\n"
	"KEYS:\n"
	"  gate             on/off: refuse connects (EPERM) while backing off/banned\n"
	"  fail_limit       consecutive failures that ban an address (1..1000)\n"
	"  dial_timeout_ms  the kernel's SYN deadline in ms (0..60000, 0: default)\n"
	"  backoff_base     wait after the 1st failure, doubled each (1ms..168h)\n"
	"  backoff_cap      longest wait (backoff_base..168h)\n"
	"  backoff_jitter   random extra wait, 0..this (at most backoff_cap)\n"
	"  ban              ban length once fail_limit is reached (1s..720h)"
	"\v"
	"Durations are written as in Go and CometBFT's config.toml (500ms, 2s, 1m30s, 24h; "
	"units ns, us, ms, s, m, h) or as plain nanoseconds. The new config is the one in the "
	"map with the given keys changed; it is checked as a whole (the kernel's rule, "
	"rules_config_check) and written once, with its generation bumped so the daemon sees "
	"the change. Anything invalid - an unknown key, a value that does not parse, a value "
	"out of range, or backoff_cap below backoff_base - is refused with the key named and "
	"the map left byte for byte as it was. Exit status 0 written, 1 refused or nothing "
	"pinned, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct set_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->live;
		return 0;
	case ARGP_KEY_ARG:
		if (a->n_words == 2 * MAX_PAIRS)
			argp_error(state, "at most %d KEY VALUE pairs", MAX_PAIRS);
		a->words[a->n_words++] = arg;
		return 0;
	case ARGP_KEY_END:
		if (a->n_words == 0)
			argp_error(state, "missing KEY VALUE");
		if (a->n_words % 2)
			argp_error(state, "key '%s' has no value", a->words[a->n_words - 1]);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp set_argp = { NULL, parse, "KEY VALUE [KEY VALUE...]", doc,
				      live_children, NULL, NULL };

static void list_keys(void)
{
	fprintf(stderr, "keys:");
	for (size_t i = 0; i < cfg_n_keys; i++)
		fprintf(stderr, " %s", cfg_keys[i].name);
	fprintf(stderr, "\n");
}

/* Apply every pair to c; DIALCTL_EXIT_FAIL with the message printed on the first bad one. */
static int apply_pairs(const struct set_args *a, struct mukan_config *c, bool changed[])
{
	for (int i = 0; i < a->n_words; i += 2) {
		const struct cfg_key *k = cfg_key_find(a->words[i]);
		char err[256];
		if (!k) {
			fprintf(stderr, DIALCTL_NAME " config set: unknown key '%s'; config unchanged\n",
				a->words[i]);
			list_keys();
			return DIALCTL_EXIT_FAIL;
		}
		if (cfg_key_parse(k, a->words[i + 1], c, err, sizeof(err)) < 0) {
			fprintf(stderr, DIALCTL_NAME " config set: %s; config unchanged\n", err);
			return DIALCTL_EXIT_FAIL;
		}
		changed[k - cfg_keys] = true;
	}
	return DIALCTL_EXIT_OK;
}

/* Name the field rules_config_check blames, with the value it would have. */
static int refuse(const struct mukan_config *next, const bool changed[])
{
	const struct cfg_key *k = cfg_key_of_problem(rules_config_check(next));
	char v[64] = "?";
	if (k)
		cfg_key_format(k, next, v, sizeof(v));
	fprintf(stderr, DIALCTL_NAME " config set: %s %s is out of range: %s%s; config unchanged\n",
		k ? k->name : "config", v, kern_config_problem(next),
		k && !changed[k - cfg_keys] ? " (the map already held this value: set it too)" : "");
	return DIALCTL_EXIT_FAIL;
}

int verb_config_set(int argc, char **argv)
{
	struct set_args a = { 0 };
	argp_parse(&set_argp, argc, argv, 0, NULL, &a);

	struct kern *k;
	int status = dialctl_open_pinned(&a.live, &k);
	if (status != DIALCTL_EXIT_OK)
		return status;
	struct mukan_config cur, next;
	bool changed[CFG_KEY_COUNT] = { false };
	int e = kern_config_read(k, &cur);
	if (e < 0) {
		kern_close(k);
		return dialctl_kern_fail("cannot read the config map", e, NULL);
	}
	next = cur;
	status = apply_pairs(&a, &next, changed);
	if (status == DIALCTL_EXIT_OK && rules_config_check(&next) != MUKAN_CFG_OK)
		status = refuse(&next, changed);
	if (status != DIALCTL_EXIT_OK) {
		kern_close(k);
		return status;
	}
	char err[256] = "";
	e = kern_config_write(k, &next, err, sizeof(err));
	if (e == 0)
		e = kern_config_read(k, &next); /* the generation as written */
	kern_close(k);
	if (e < 0)
		return dialctl_kern_fail("cannot write the config map", e, err);
	for (size_t i = 0; i < cfg_n_keys; i++) {
		if (!changed[i])
			continue;
		char was[64], now[64];
		cfg_key_format(&cfg_keys[i], &cur, was, sizeof(was));
		cfg_key_format(&cfg_keys[i], &next, now, sizeof(now));
		printf("%-16s %s -> %s\n", cfg_keys[i].name, was, now);
	}
	printf("config written to %s/config, generation %u\n", a.live.pin_dir, next.generation);
	return DIALCTL_EXIT_OK;
}
