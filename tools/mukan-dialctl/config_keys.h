/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_keys.h - the kernel config (struct mukan_config) as operator keys:
 * `gate on`, `fail_limit 8`, `backoff_base 500ms`, ... Parsing, printing and
 * the JSON form shared by `config get`, `config set` and `bpf status`.
 */
#ifndef MUKAN_DIALCTL_CONFIG_KEYS_H
#define MUKAN_DIALCTL_CONFIG_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "mukan/abi.h"

enum cfg_kind {
	CFG_SWITCH,   /* on/off: a bit of flags */
	CFG_NUMBER,   /* a plain count (u32) */
	CFG_DURATION, /* Go-style duration or plain ns (u64 ns) */
};

struct cfg_key {
	const char *name;  /* the key operators type */
	const char *field; /* the struct mukan_config field (what bpftool prints) */
	enum cfg_kind kind;
	int problem; /* the enum mukan_config_problem that names this field */
	const char *help;
};

#define CFG_KEY_COUNT 7
extern const struct cfg_key cfg_keys[CFG_KEY_COUNT];
extern const size_t cfg_n_keys;

const struct cfg_key *cfg_key_find(const char *name);
/* The key whose field rules_config_check blames (NULL for MUKAN_CFG_OK). */
const struct cfg_key *cfg_key_of_problem(int problem);

/* Parse `text` for key k into c. 0, or -EINVAL with a one-line reason in err. */
int cfg_key_parse(const struct cfg_key *k, const char *text, struct mukan_config *c, char *err,
		  size_t errsz);
/* The value for people: "on", "16", "2s". */
void cfg_key_format(const struct cfg_key *k, const struct mukan_config *c, char *out, size_t sz);

/* Every key as "  name  value" lines; with `in_force` differing values are marked. */
void cfg_print_text(FILE *f, const struct mukan_config *c, const struct mukan_config *in_force);

/*
 * {"valid", "problem", "generation", "flags", "gate", "fail_limit",
 * "dial_timeout_ms", "backoff_base_ns", "backoff_base", ..., "in_force": {...}}
 * where "in_force" is what the kernel applies (the values clamped). NULL on ENOMEM.
 */
json_t *cfg_to_json(const struct mukan_config *c);

#endif /* MUKAN_DIALCTL_CONFIG_KEYS_H */
