/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - parse and check mukan-dialerd's settings (see config.h). */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go_duration.h"

void config_defaults(struct dialer_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->home, sizeof(c->home), "/var/lib/mukan-dialer");
	snprintf(c->pin_dir, sizeof(c->pin_dir), "/sys/fs/bpf/mukan");
	c->max_outbound = 10;
	c->max_inflight = 256;
	c->overdial = 16;
	c->book_capacity = 32768; /* BOOK_DEFAULT_CAPACITY */
	c->dial_timeout_ns = 1000000000LL;
	c->handshake_timeout_ns = 3000000000LL;
	c->ensure_period_ns = 30000000000LL;
	c->save_interval_ns = 120000000000LL;
	c->strict = true;
	c->bpf = true;
	c->policy = POLICY_MUKAN;
}

static int why_fail(char *why, size_t whysz, const char *fmt, const char *v)
{
	snprintf(why, whysz, fmt, v);
	return -EINVAL;
}

static int set_str(char *dst, size_t sz, const char *v, char *why, size_t whysz)
{
	if (strlen(v) >= sz)
		return why_fail(why, whysz, "value is longer than the limit (%s)", "too long");
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_bool(bool *dst, const char *v, char *why, size_t whysz)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
		*dst = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
		*dst = false;
	else
		return why_fail(why, whysz, "'%s' is not true or false", v);
	return 0;
}

static int set_uint(unsigned *dst, const char *v, unsigned lo, unsigned hi, char *why, size_t whysz)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		snprintf(why, whysz, "'%s' is not a whole number from %u to %u", v, lo, hi);
		return -EINVAL;
	}
	*dst = (unsigned)n;
	return 0;
}

static int set_duration(int64_t *dst, const char *v, int64_t lo, int64_t hi, char *why,
			size_t whysz)
{
	uint64_t ns;
	if (go_duration_parse(v, &ns) < 0 || ns < (uint64_t)lo || ns > (uint64_t)hi) {
		snprintf(why, whysz, "'%s' is not a duration from %lld ms to %lld s (e.g. 500ms, 3s, 2m)",
			 v, (long long)(lo / 1000000), (long long)(hi / 1000000000));
		return -EINVAL;
	}
	*dst = (int64_t)ns;
	return 0;
}

#define MS 1000000LL
#define S 1000000000LL

int config_set(struct dialer_config *c, const char *key, const char *v, char *why, size_t whysz)
{
#define STR(name, field) if (!strcmp(key, name)) return set_str(c->field, sizeof(c->field), v, why, whysz)
	STR("home", home);
	STR("book", book);
	STR("control", control);
	STR("handoff", handoff);
	STR("cgroup", cgroup);
	STR("pin_dir", pin_dir);
	STR("seeds", seeds);
	STR("persistent_peers", persistent_peers);
	STR("unconditional_peer_ids", unconditional_peer_ids);
	STR("private_peer_ids", private_peer_ids);
#undef STR
	if (!strcmp(key, "max_outbound") || !strcmp(key, "max_num_outbound_peers"))
		return set_uint(&c->max_outbound, v, 0, 1000, why, whysz);
	if (!strcmp(key, "max_inflight"))
		return set_uint(&c->max_inflight, v, 1, 4096, why, whysz);
	if (!strcmp(key, "overdial"))
		return set_uint(&c->overdial, v, 1, 64, why, whysz);
	if (!strcmp(key, "book_capacity"))
		return set_uint(&c->book_capacity, v, 64, 1u << 20, why, whysz);
	if (!strcmp(key, "dial_timeout"))
		return set_duration(&c->dial_timeout_ns, v, 10 * MS, 60 * S, why, whysz);
	if (!strcmp(key, "handshake_timeout"))
		return set_duration(&c->handshake_timeout_ns, v, 10 * MS, 300 * S, why, whysz);
	if (!strcmp(key, "ensure_period"))
		return set_duration(&c->ensure_period_ns, v, 100 * MS, 3600 * S, why, whysz);
	if (!strcmp(key, "save_interval"))
		return set_duration(&c->save_interval_ns, v, 1 * S, 86400 * S, why, whysz);
	if (!strcmp(key, "persistent_peers_max_dial_period"))
		return set_duration(&c->persistent_max_dial_period_ns, v, 0, 86400 * S, why, whysz);
	if (!strcmp(key, "strict") || !strcmp(key, "addr_book_strict"))
		return set_bool(&c->strict, v, why, whysz);
	if (!strcmp(key, "allow_duplicate_ip"))
		return set_bool(&c->allow_duplicate_ip, v, why, whysz);
	if (!strcmp(key, "bpf"))
		return set_bool(&c->bpf, v, why, whysz);
	if (!strcmp(key, "policy")) {
		if (!strcmp(v, "mukan"))
			c->policy = POLICY_MUKAN;
		else if (!strcmp(v, "cometbft"))
			c->policy = POLICY_COMETBFT;
		else
			return why_fail(why, whysz, "'%s' is not mukan or cometbft", v);
		return 0;
	}
	return why_fail(why, whysz, "unknown key (%s)", "see docs/config.md");
}

struct ini_ctx {
	struct dialer_config *c;
	bool toml; /* CometBFT config.toml: only [p2p], quoted strings */
	char why[256];
	char key[64];
};

/* TOML strings are quoted and may carry a trailing "# comment". */
static void toml_value(const char *in, char *out, size_t sz)
{
	size_t n = 0;
	if (*in == '"' || *in == '\'') {
		char q = *in++;
		while (*in && *in != q && n + 1 < sz)
			out[n++] = *in++;
	} else {
		while (*in && *in != '#' && n + 1 < sz)
			out[n++] = *in++;
		while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
			n--;
	}
	out[n] = '\0';
}

/* The [p2p] keys we take from config.toml, and what they are called here. */
static const char *const toml_keys[][2] = {
	{ "seeds", "seeds" },
	{ "persistent_peers", "persistent_peers" },
	{ "max_num_outbound_peers", "max_outbound" },
	{ "unconditional_peer_ids", "unconditional_peer_ids" },
	{ "private_peer_ids", "private_peer_ids" },
	{ "addr_book_strict", "strict" },
	{ "allow_duplicate_ip", "allow_duplicate_ip" },
	{ "dial_timeout", "dial_timeout" },
	{ "handshake_timeout", "handshake_timeout" },
	{ "persistent_peers_max_dial_period", "persistent_peers_max_dial_period" },
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	snprintf(x->key, sizeof(x->key), "%s", name);
	if (x->toml) {
		if (strcmp(section, "p2p") != 0)
			return 1;
		for (size_t i = 0; i < sizeof(toml_keys) / sizeof(toml_keys[0]); i++) {
			if (strcmp(name, toml_keys[i][0]) != 0)
				continue;
			char v[CONFIG_LIST_MAX];
			toml_value(value, v, sizeof(v));
			return config_set(x->c, toml_keys[i][1], v, x->why, sizeof(x->why)) == 0;
		}
		return 1; /* other [p2p] keys do not concern dialing */
	}
	if (strcmp(section, "dialer") != 0 && strcmp(section, "peers") != 0) {
		snprintf(x->why, sizeof(x->why), "unknown section [%s] (want [dialer] or [peers])",
			 section);
		return 0;
	}
	return config_set(x->c, name, value, x->why, sizeof(x->why)) == 0;
}

static int parse(struct dialer_config *c, const char *path, bool toml, char *err, size_t errsz)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = -errno;
		if (e != -ENOENT || toml)
			snprintf(err, errsz, "%s: %s", path, strerror(-e));
		return e;
	}
	struct ini_ctx x = { .c = c, .toml = toml };
	int line = ini_parse_file(f, on_ini, &x);
	fclose(f);
	if (line == 0)
		return 0;
	if (x.why[0])
		snprintf(err, errsz, "%s:%d: %s: %s", path, line, x.key, x.why);
	else
		snprintf(err, errsz, "%s:%d: not a 'key = value' line", path, line);
	return -EINVAL;
}

int config_load_file(struct dialer_config *c, const char *path, char *err, size_t errsz)
{
	return parse(c, path, false, err, errsz);
}

int config_import_cometbft(struct dialer_config *c, const char *path, char *err, size_t errsz)
{
	return parse(c, path, true, err, errsz);
}

int config_apply_flags(struct dialer_config *c, const struct config_flags *f, char *err,
		       size_t errsz)
{
	for (int i = 0; i < f->n; i++) {
		char why[256];
		if (config_set(c, f->key[i], f->value[i], why, sizeof(why)) < 0) {
			snprintf(err, errsz, "--%s: %s", f->key[i], why);
			return -EINVAL;
		}
	}
	return 0;
}

bool config_flag_given(const struct config_flags *f, const char *key)
{
	for (int i = 0; i < f->n; i++)
		if (strcmp(f->key[i], key) == 0)
			return true;
	return false;
}

void config_finish(struct dialer_config *c)
{
	if (!c->book[0])
		snprintf(c->book, sizeof(c->book), "%.900s/addrbook.json", c->home);
	if (!c->control[0])
		snprintf(c->control, sizeof(c->control), "%.900s/control.sock", c->home);
}
