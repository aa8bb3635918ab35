/* SPDX-License-Identifier: Apache-2.0 */
/* config_keys.c - struct mukan_config field by field, in operator terms. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_keys.h"
#include "daemon/go_duration.h"
#include "kern/kern.h"
#include "mukan/rules.h"

const struct cfg_key cfg_keys[CFG_KEY_COUNT] = {
	{ "gate", "flags", CFG_SWITCH, MUKAN_CFG_BAD_FLAGS,
	  "on/off: refuse connects (EPERM) to addresses backing off or banned" },
	{ "fail_limit", "fail_limit", CFG_NUMBER, MUKAN_CFG_BAD_FAIL_LIMIT,
	  "consecutive failures that ban an address (1..1000)" },
	{ "dial_timeout_ms", "dial_timeout_ms", CFG_NUMBER, MUKAN_CFG_BAD_DIAL_TIMEOUT,
	  "the kernel's SYN deadline in ms (0..60000, 0 = kernel default)" },
	{ "backoff_base", "backoff_base_ns", CFG_DURATION, MUKAN_CFG_BAD_BASE,
	  "wait after the first failure, doubled per failure (1ms..168h)" },
	{ "backoff_cap", "backoff_cap_ns", CFG_DURATION, MUKAN_CFG_BAD_CAP,
	  "longest wait (backoff_base..168h)" },
	{ "backoff_jitter", "backoff_jitter_ns", CFG_DURATION, MUKAN_CFG_BAD_JITTER,
	  "random extra wait, 0..this (at most backoff_cap)" },
	{ "ban", "ban_ns", CFG_DURATION, MUKAN_CFG_BAD_BAN,
	  "ban length once fail_limit is reached (1s..720h)" },
};
const size_t cfg_n_keys = CFG_KEY_COUNT;

const struct cfg_key *cfg_key_find(const char *name)
{
	for (size_t i = 0; i < cfg_n_keys; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

const struct cfg_key *cfg_key_of_problem(int problem)
{
	for (size_t i = 0; i < cfg_n_keys; i++)
		if (cfg_keys[i].problem == problem)
			return &cfg_keys[i];
	return NULL;
}

/* The field a key stands for; switches read the gate bit. */
static uint64_t get(const struct cfg_key *k, const struct mukan_config *c)
{
	switch (k->problem) {
	case MUKAN_CFG_BAD_FLAGS:
		return (c->flags & MUKAN_CFG_GATE) != 0;
	case MUKAN_CFG_BAD_FAIL_LIMIT:
		return c->fail_limit;
	case MUKAN_CFG_BAD_DIAL_TIMEOUT:
		return c->dial_timeout_ms;
	case MUKAN_CFG_BAD_BASE:
		return c->backoff_base_ns;
	case MUKAN_CFG_BAD_CAP:
		return c->backoff_cap_ns;
	case MUKAN_CFG_BAD_JITTER:
		return c->backoff_jitter_ns;
	default:
		return c->ban_ns;
	}
}

static void put(const struct cfg_key *k, struct mukan_config *c, uint64_t v)
{
	switch (k->problem) {
	case MUKAN_CFG_BAD_FLAGS:
		c->flags = v ? (c->flags | MUKAN_CFG_GATE) : (c->flags & ~(uint32_t)MUKAN_CFG_GATE);
		break;
	case MUKAN_CFG_BAD_FAIL_LIMIT:
		c->fail_limit = (uint32_t)v;
		break;
	case MUKAN_CFG_BAD_DIAL_TIMEOUT:
		c->dial_timeout_ms = (uint32_t)v;
		break;
	case MUKAN_CFG_BAD_BASE:
		c->backoff_base_ns = v;
		break;
	case MUKAN_CFG_BAD_CAP:
		c->backoff_cap_ns = v;
		break;
	case MUKAN_CFG_BAD_JITTER:
		c->backoff_jitter_ns = v;
		break;
	default:
		c->ban_ns = v;
	}
}

static int parse_switch(const char *t, uint64_t *v)
{
	static const char *const on[] = { "on", "1", "true", "yes" };
	static const char *const off[] = { "off", "0", "false", "no" };
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(t, on[i]) == 0 || strcmp(t, off[i]) == 0) {
			*v = strcmp(t, on[i]) == 0;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_u32(const char *t, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(t, &end, 10);
	if (t[0] < '0' || t[0] > '9' || *end || errno || n > UINT32_MAX)
		return -EINVAL;
	*v = n;
	return 0;
}

int cfg_key_parse(const struct cfg_key *k, const char *text, struct mukan_config *c, char *err,
		  size_t errsz)
{
	uint64_t v = 0;
	int e;
	switch (k->kind) {
	case CFG_SWITCH:
		if ((e = parse_switch(text, &v)) < 0)
			snprintf(err, errsz, "%s wants on or off, not '%s'", k->name, text);
		break;
	case CFG_NUMBER:
		if ((e = parse_u32(text, &v)) < 0)
			snprintf(err, errsz, "%s wants a whole number, not '%s'", k->name, text);
		break;
	default:
		if ((e = go_duration_parse(text, &v)) < 0)
			snprintf(err, errsz,
				 "%s wants a duration such as 500ms, 2s, 1m30s, 24h or plain "
				 "nanoseconds, not '%s'%s",
				 k->name, text, e == -ERANGE ? " (too long)" : "");
		break;
	}
	if (e < 0)
		return -EINVAL;
	put(k, c, v);
	return 0;
}

void cfg_key_format(const struct cfg_key *k, const struct mukan_config *c, char *out, size_t sz)
{
	uint64_t v = get(k, c);
	char d[GO_DURATION_STRLEN];
	switch (k->kind) {
	case CFG_SWITCH:
		/* Unknown bits are worth seeing: only bpftool can set them. */
		if (c->flags & ~(uint32_t)MUKAN_CFG_GATE)
			snprintf(out, sz, "%s (flags 0x%x)", v ? "on" : "off", c->flags);
		else
			snprintf(out, sz, "%s", v ? "on" : "off");
		break;
	case CFG_NUMBER:
		snprintf(out, sz, "%llu", (unsigned long long)v);
		break;
	default:
		go_duration_format(v, d);
		snprintf(out, sz, "%s", d);
	}
}

void cfg_print_text(FILE *f, const struct mukan_config *c, const struct mukan_config *in_force)
{
	for (size_t i = 0; i < cfg_n_keys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		char v[64], applied[64];
		cfg_key_format(k, c, v, sizeof(v));
		fprintf(f, "  %-16s %s", k->name, v);
		if (k->kind == CFG_DURATION)
			fprintf(f, " (%llu ns)", (unsigned long long)get(k, c));
		if (in_force && get(k, c) != get(k, in_force)) {
			cfg_key_format(k, in_force, applied, sizeof(applied));
			fprintf(f, "   <- invalid; the kernel applies %s", applied);
		}
		fprintf(f, "\n");
	}
}

/* The raw fields, plus durations as text, into o. */
static int fields_to_json(json_t *o, const struct mukan_config *c)
{
	int bad = json_object_set_new(o, "flags", json_integer(c->flags));
	for (size_t i = 0; i < cfg_n_keys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		uint64_t v = get(k, c);
		if (k->kind == CFG_SWITCH) {
			bad |= json_object_set_new(o, k->name, json_boolean(v));
			continue;
		}
		bad |= json_object_set_new(o, k->field, json_integer((json_int_t)v));
		if (k->kind == CFG_DURATION) {
			char d[GO_DURATION_STRLEN];
			go_duration_format(v, d);
			bad |= json_object_set_new(o, k->name, json_string(d));
		}
	}
	return bad;
}

json_t *cfg_to_json(const struct mukan_config *c)
{
	struct mukan_config clamped = *c;
	rules_config_clamp(&clamped);
	const char *why = kern_config_problem(c);
	json_t *o = json_object(), *force = json_object();
	if (!o || !force || json_object_set_new(o, "valid", json_boolean(why == NULL)) ||
	    json_object_set_new(o, "problem", why ? json_string(why) : json_null()) ||
	    json_object_set_new(o, "generation", json_integer(c->generation)) ||
	    fields_to_json(o, c) || fields_to_json(force, &clamped) ||
	    json_object_set(o, "in_force", force)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(force);
	return o;
}
