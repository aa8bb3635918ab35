/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mukan-bookgen - write a sample addrbook.json in CometBFT's own format, as
 * a node that has run for a while would have it: random public addresses,
 * each learned from its own source, a share of them promoted to old, some
 * with failed attempts. For the demo, the tests and the benchmarks.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/book.h"
#include "book/book_file.h"
#include "book/rng.h"

static const char doc[] =
	"Write a sample addrbook.json (CometBFT format) with random public addresses.\n"
	"\n"
	"EXAMPLES:\n"
	"  mukan-bookgen /tmp/addrbook.json                 # 2000 addresses, 25% old\n"
	"  mukan-bookgen -n 20000 --old 25 --seed 7 book.json\n"
	"  mukan-bookgen --mukan book.json                   # keep mukan's extra fields";

static const struct argp_option options[] = {
	{ "count", 'n', "N", 0, "Addresses to offer (default 2000)", 0 },
	{ "old", 'o', "PERCENT", 0, "Share to mark good, i.e. move to old (default 25)", 0 },
	{ "seed", 's', "S", 0, "Seed for every random choice (default 1)", 0 },
	{ "ipv6", '6', "PERCENT", 0, "Share of IPv6 addresses (default 20)", 0 },
	{ "mukan", 'm', NULL, 0, "Also write mukan's extension (hash key, bans)", 0 },
	{ 0 }
};

struct args {
	const char *file;
	unsigned long count, old_pct, v6_pct;
	uint64_t seed;
	bool mukan;
};

static int parse_num(struct argp_state *st, const char *arg, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (errno || *end || end == arg || v > max)
		argp_error(st, "'%s' is not a number from 0 to %lu", arg, max);
	*out = v;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *st)
{
	struct args *a = st->input;
	unsigned long v;
	switch (key) {
	case 'n':
		return parse_num(st, arg, 1000000, &a->count);
	case 'o':
		return parse_num(st, arg, 100, &a->old_pct);
	case '6':
		return parse_num(st, arg, 100, &a->v6_pct);
	case 's':
		parse_num(st, arg, ULONG_MAX, &v);
		a->seed = v;
		return 0;
	case 'm':
		a->mukan = true;
		return 0;
	case ARGP_KEY_ARG:
		if (a->file)
			argp_error(st, "one FILE only");
		a->file = arg;
		return 0;
	case ARGP_KEY_END:
		if (!a->file)
			argp_error(st, "FILE is missing");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* A random routable address: IPv4 outside the special ranges, or 2000::/3. */
static void random_addr(struct rng *r, unsigned v6_pct, struct netaddr *na)
{
	memset(na, 0, sizeof(*na));
	for (int i = 0; i < MUKAN_ID_LEN; i++)
		na->id[i] = (uint8_t)rng_next(r);
	na->has_id = true;
	na->a.port = 26656;
	do {
		if (rng_below(r, 100) < v6_pct) {
			na->a.family = MUKAN_AF_INET6;
			for (int i = 0; i < 16; i++)
				na->a.ip[i] = (uint8_t)rng_next(r);
			na->a.ip[0] = (uint8_t)(0x20 | (na->a.ip[0] & 0x0f)); /* 2000::/4 */
		} else {
			na->a.family = MUKAN_AF_INET;
			for (int i = 0; i < 4; i++)
				na->a.ip[i] = (uint8_t)(1 + rng_below(r, 223));
		}
	} while (!ip_is_routable(&na->a));
}

int main(int argc, char **argv)
{
	struct args a = { .count = 2000, .old_pct = 25, .v6_pct = 20, .seed = 1 };
	struct argp argp = { options, parse_opt, "FILE", doc, NULL, NULL, NULL };
	argp_parse(&argp, argc, argv, 0, NULL, &a);

	struct book *b;
	struct book_opts o = { .strict = true, .seed = a.seed };
	if (book_new(&b, &o) < 0) {
		fprintf(stderr, "mukan-bookgen: out of memory\n");
		return 1;
	}
	struct rng r;
	rng_seed(&r, a.seed ^ 0x6d756b616eULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	int64_t start = now - 3 * 86400 * 1000000000LL; /* learned over three days */

	for (unsigned long i = 0; i < a.count; i++) {
		struct netaddr addr, src;
		random_addr(&r, (unsigned)a.v6_pct, &addr);
		random_addr(&r, (unsigned)a.v6_pct, &src);
		int64_t t = start + (int64_t)((now - start) / (int64_t)a.count) * (int64_t)i;
		if (book_add(b, &addr, &src, t) <= 0)
			continue;
		unsigned roll = rng_below(&r, 100);
		if (roll < a.old_pct)
			book_mark_good(b, addr.id, t + 1000000000LL);
		else if (roll < a.old_pct + 10)
			book_mark_attempt(b, addr.id, t + 2000000000LL);
	}

	char err[512];
	struct book_file_opts fo = { .upstream_only = !a.mukan };
	int e = book_save(b, a.file, &fo, err, sizeof(err));
	if (e < 0)
		fprintf(stderr, "mukan-bookgen: %s\n", err);
	else
		printf("%s: %u addresses (%u new, %u old)\n", a.file, book_size(b), book_n_new(b),
		       book_n_old(b));
	book_free(b);
	return e < 0 ? 1 : 0;
}
