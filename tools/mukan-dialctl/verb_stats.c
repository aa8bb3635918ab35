/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_stats.c - `book stats FILE`: counts and how full the buckets are.
 *
 * Full means 65 entries: upstream checks `len > 64` before inserting, so a
 * bucket really holds one more than its nominal size, and the 66th address
 * pushes an old or bad one out.
 */
#include <stdio.h>

#include <jansson.h>

#include "args.h"
#include "dialctl.h"
#include "json_out.h"
#include "mukan/rules.h"

#define BUCKET_FULL (BOOK_NEW_BUCKET_SIZE + 1)
#define HIST_STEP 8
#define HIST_BINS (2 + BOOK_NEW_BUCKET_SIZE / HIST_STEP) /* 0, 1-8, ..., 57-64, 65+ */
#define HIST_BAR 40

struct stats_args {
	struct common_opts common;
	const char *file;
	bool json;
	bool per_bucket;
};

/* Bucket fill of one side (new or old). */
struct side {
	const char *name;
	unsigned n;
	uint32_t fill[BOOK_NEW_BUCKETS];
	unsigned in_use, full;
	uint64_t entries;
};

struct counts {
	uint32_t bad, banned, bans_ended;
	struct side new_side, old_side;
};

enum { OPT_JSON = 'j', OPT_PER_BUCKET = 'b' };

static const struct argp_option options[] = {
	{ "json", OPT_JSON, NULL, 0,
	  "Print one JSON object: total, new, old, bad, banned, bans_ended, and for "
	  "new_buckets/old_buckets: count, in_use, full, entries and fill (entries per bucket, "
	  "by index).",
	  0 },
	{ "per-bucket", OPT_PER_BUCKET, NULL, 0,
	  "Also list the number of entries of every bucket, by index (16 to a line).", 0 },
	{ 0 },
};

static const char doc[] =
	"Count the records of an address book and show how full its buckets are.\n"
	"\n"
	"USAGE: mukan-dialctl book stats [--json] [--per-bucket] [--no-strict] FILE\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book stats addrbook.json         # counts, fill histograms\n"
	"    mukan-dialctl book stats addrbook.json -b      # and each bucket's fill\n"
	"    mukan-dialctl book stats addrbook.json --json | jq .bad\n"
	"\v"
	"total = new + old (bucketed records, as upstream Size()); bad = new records that "
	"upstream's isBad rule finds bad now (old ones never are); banned = records in the ban "
	"list, of which bans_ended have a ban end in the past (the node reinstates them when it "
	"needs addresses). A bucket is full at 65 entries. Exit status 0, 1 when FILE does not "
	"load, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct stats_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		return 0;
	case OPT_JSON:
		a->json = true;
		return 0;
	case OPT_PER_BUCKET:
		a->per_bucket = true;
		return 0;
	case ARGP_KEY_ARG:
		return args_file(state, arg, &a->file);
	case ARGP_KEY_END:
		return args_need_file(state, a->file);
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp stats_argp = { options, parse, "FILE", doc, common_children, NULL, NULL };

static void count_side(const struct book *b, int type, struct side *s)
{
	s->name = type == MUKAN_BUCKET_OLD ? "old" : "new";
	s->n = type == MUKAN_BUCKET_OLD ? BOOK_OLD_BUCKETS : BOOK_NEW_BUCKETS;
	for (unsigned i = 0; i < s->n; i++) {
		uint32_t len = book_bucket_len(b, type, i);
		s->fill[i] = len;
		s->entries += len;
		s->in_use += len > 0;
		s->full += len >= BUCKET_FULL;
	}
}

static void count_book(const struct book *b, int64_t now, struct counts *c)
{
	for (int s = book_next_slot(b, 0); s >= 0; s = book_next_slot(b, (uint32_t)s + 1)) {
		const struct mukan_peer *p = book_slot(b, (uint32_t)s);
		if (p->flags & MUKAN_PEER_BANNED) {
			c->banned++;
			c->bans_ended += !rules_is_banned(p, now);
		} else if (rules_is_bad(p, now)) {
			c->bad++;
		}
	}
	count_side(b, MUKAN_BUCKET_NEW, &c->new_side);
	count_side(b, MUKAN_BUCKET_OLD, &c->old_side);
}

static void print_hist(const struct side *s)
{
	unsigned bins[HIST_BINS] = { 0 }, max = 0;
	for (unsigned i = 0; i < s->n; i++) {
		uint32_t f = s->fill[i];
		unsigned bin = f == 0 ? 0 : f >= BUCKET_FULL ? HIST_BINS - 1 : 1 + (f - 1) / HIST_STEP;
		bins[bin]++;
	}
	for (unsigned i = 0; i < HIST_BINS; i++)
		max = bins[i] > max ? bins[i] : max;
	printf("%s buckets: %u of %u in use, %u full, %llu entries\n", s->name, s->in_use, s->n,
	       s->full, (unsigned long long)s->entries);
	printf("  %-10s : %-7s distribution\n", "entries", "buckets");
	for (unsigned i = 0; i < HIST_BINS; i++) {
		char label[16];
		if (i == 0)
			snprintf(label, sizeof(label), "0");
		else if (i == HIST_BINS - 1)
			snprintf(label, sizeof(label), "%d+", BUCKET_FULL);
		else
			snprintf(label, sizeof(label), "%u-%u", (i - 1) * HIST_STEP + 1, i * HIST_STEP);
		unsigned bar = max ? (bins[i] * HIST_BAR + max - 1) / max : 0;
		printf("  %-10s : %-7u |%-*.*s|\n", label, bins[i], HIST_BAR, bar,
		       "****************************************");
	}
}

static void print_per_bucket(const struct side *s)
{
	printf("%s bucket fill by index:\n", s->name);
	for (unsigned i = 0; i < s->n; i++)
		printf("%s%u", i % 16 == 0 ? (i ? "\n  " : "  ") : " ", s->fill[i]);
	printf("\n");
}

static void print_text(const struct stats_args *a, const struct book *b, const struct counts *c)
{
	printf("%s: %u addresses (%u new, %u old), %u bad, %u banned (%u ban%s ended), key %s\n",
	       a->file, book_size(b), book_n_new(b), book_n_old(b), c->bad, c->banned,
	       c->bans_ended, c->bans_ended == 1 ? "" : "s", book_key(b));
	print_hist(&c->new_side);
	print_hist(&c->old_side);
	if (a->per_bucket) {
		print_per_bucket(&c->new_side);
		print_per_bucket(&c->old_side);
	}
}

static json_t *side_json(const struct side *s)
{
	json_t *fill = json_array();
	for (unsigned i = 0; fill && i < s->n; i++)
		json_array_append_new(fill, json_integer(s->fill[i]));
	return json_pack("{s:i, s:i, s:i, s:I, s:o}", "count", (int)s->n, "in_use", (int)s->in_use,
			 "full", (int)s->full, "entries", (json_int_t)s->entries, "fill", fill);
}

static int print_json(const struct stats_args *a, const struct book *b, const struct counts *c)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "file",
			      a->file, "key", book_key(b), "strict", a->common.strict, "total",
			      (json_int_t)book_size(b), "new", (json_int_t)book_n_new(b), "old",
			      (json_int_t)book_n_old(b), "bad", (json_int_t)c->bad, "banned",
			      (json_int_t)c->banned, "bans_ended", (json_int_t)c->bans_ended,
			      "new_buckets", side_json(&c->new_side), "old_buckets",
			      side_json(&c->old_side));
	return json_out(o, JSON_COMPACT);
}

int verb_stats(int argc, char **argv)
{
	struct stats_args a = { 0 };
	argp_parse(&stats_argp, argc, argv, 0, NULL, &a);

	struct book *b;
	int status = dialctl_open_book(a.file, &a.common, 0, &b, NULL);
	if (status != DIALCTL_EXIT_OK)
		return status;
	struct counts c = { 0 };
	count_book(b, dialctl_now(), &c);
	if (a.json)
		status = print_json(&a, b, &c);
	else
		print_text(&a, b, &c);
	book_free(b);
	return status;
}
