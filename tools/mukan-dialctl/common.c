/* SPDX-License-Identifier: Apache-2.0 */
/* common.c - the pieces every book verb uses: --no-strict, the clock, opening and saving FILE. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "book/book_file.h"
#include "dialctl.h"

enum { OPT_NO_STRICT = 0x100 };

static const struct argp_option common_options[] = {
	{ "no-strict", OPT_NO_STRICT, NULL, 0,
	  "Accept non-routable addresses (127.0.0.0/8, 10.0.0.0/8, 192.168.0.0/16, fc00::/7, ...) "
	  "and group them by their /16 or /32 as upstream does with addr_book_strict = false. "
	  "Strict is the default, as in CometBFT.",
	  0 },
	{ 0 },
};

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	struct common_opts *c = state->input;
	(void)arg;
	switch (key) {
	case ARGP_KEY_INIT:
		c->strict = true;
		return 0;
	case OPT_NO_STRICT:
		c->strict = false;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp common_argp = { common_options, common_parse, NULL, NULL, NULL, NULL, NULL };

const struct argp_child common_children[] = {
	{ &common_argp, 0, "Options every book verb takes:", 0 },
	{ 0 },
};

int64_t dialctl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t dialctl_random_seed(void)
{
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)dialctl_now(); /* only reproducibility is at stake, not secrecy */
	return seed;
}

int dialctl_open_book(const char *path, const struct common_opts *c, uint64_t seed,
		      struct book **out, bool *created)
{
	struct book_opts opts = { .strict = c->strict, .seed = seed };
	struct book_file_opts fo = { .wall_offset_ns = 0 };
	char err[512] = "";
	if (created)
		*created = false;
	int e = book_load(path, &opts, &fo, out, err, sizeof(err));
	if (e == -ENOENT && created) {
		e = book_new(out, &opts);
		if (e == 0) {
			*created = true;
			return DIALCTL_EXIT_OK;
		}
		snprintf(err, sizeof(err), "%s: cannot make a new book: %s", path, strerror(-e));
	} else if (e == -ENOENT) {
		snprintf(err, sizeof(err), "%s: no such file", path);
	}
	if (e < 0) {
		fprintf(stderr, DIALCTL_NAME ": %s\n", err[0] ? err : strerror(-e));
		return DIALCTL_EXIT_FAIL;
	}
	return DIALCTL_EXIT_OK;
}

int dialctl_save_book(const struct book *b, const char *path)
{
	struct book_file_opts fo = { .wall_offset_ns = 0 };
	char err[512];
	if (book_save(b, path, &fo, err, sizeof(err)) < 0) {
		fprintf(stderr, DIALCTL_NAME ": %s\n", err);
		return DIALCTL_EXIT_FAIL;
	}
	return DIALCTL_EXIT_OK;
}

int dialctl_parse_peer(const char *s, uint8_t id[MUKAN_ID_LEN], struct netaddr *full,
		       bool *has_full, char *err, size_t errsz)
{
	*has_full = false;
	if (strlen(s) == 2 * MUKAN_ID_LEN && node_id_parse(s, strlen(s), id) == 0)
		return 0;
	if (!strchr(s, '@') && !strchr(s, ':')) {
		snprintf(err, errsz, "'%s' is neither a 40-hex node ID nor id@ip:port", s);
		return -EINVAL;
	}
	int e = netaddr_parse(s, NETADDR_NEED_ID, full, NULL, 0, err, errsz);
	if (e < 0)
		return -EINVAL;
	memcpy(id, full->id, MUKAN_ID_LEN);
	*has_full = true;
	return 0;
}

unsigned long long dialctl_parse_number(struct argp_state *state, const char *flag,
					const char *arg, unsigned long long min,
					unsigned long long max)
{
	/* Base 10 unless 0x: a leading zero must not silently mean octal. */
	bool hex = arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X');
	const char *digits = hex ? arg + 2 : arg;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(digits, &end, hex ? 16 : 10);
	if (!isxdigit((unsigned char)digits[0]) || *end != '\0' || errno || v < min || v > max)
		argp_error(state, "%s wants a number %llu..%llu, not '%s'", flag, min, max, arg);
	return v;
}

const char *dialctl_errno_name(int e, char buf[16])
{
	const char *name = strerrorname_np(e);
	if (name)
		return name;
	snprintf(buf, 16, "E%d", e);
	return buf;
}

/* book_add's refusals, in the operator's terms. */
const char *dialctl_add_refusal(int e)
{
	switch (e) {
	case -EINVAL:
		return "not a valid peer address (unspecified, broadcast or documentation IP)";
	case -EACCES:
		return "banned: the address is in the book's ban list";
	case -EPERM:
		return "a private peer ID (of the address or of its source)";
	case -EEXIST:
		return "one of our own addresses";
	case -ENETUNREACH:
		return "not routable, refused in strict mode (addr_book_strict = true); "
		       "use --no-strict to accept loopback and private addresses";
	case -ENOSPC:
		return "the book is full: every slot is in use";
	default:
		return strerror(-e);
	}
}
