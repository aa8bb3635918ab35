/* SPDX-License-Identifier: Apache-2.0 */
/* peer_print.c - one book record as text for people and as JSON for scripts. */
#include <stdio.h>
#include <string.h>

#include "book/book.h"
#include "book/timefmt.h"
#include "dialctl.h"
#include "mukan/rules.h"
#include "peer_print.h"

const char *peer_type_name(const struct mukan_peer *p)
{
	if (p->flags & MUKAN_PEER_BANNED)
		return "banned";
	if (p->bucket_type == MUKAN_BUCKET_OLD)
		return "old";
	return p->bucket_type == MUKAN_BUCKET_NEW ? "new" : "invalid";
}

/* A live record may say anything: never read past the bucket array. */
static unsigned n_buckets_shown(const struct mukan_peer *p)
{
	return p->n_buckets < MUKAN_MAX_NEW_BUCKETS_PER_ADDR ? p->n_buckets
							     : MUKAN_MAX_NEW_BUCKETS_PER_ADDR;
}

static void peer_strings(const struct mukan_peer *p, char addr[NETADDR_STRLEN],
			 char src[NETADDR_STRLEN])
{
	struct netaddr na;
	book_peer_addr(p, &na);
	netaddr_format(&na, addr);
	book_peer_src(p, &na);
	netaddr_format(&na, src);
}

/* "never" for MUKAN_TIME_NEVER, else RFC 3339 in UTC. */
static const char *time_text(int64_t t, char out[TIME_STRLEN])
{
	if (t == MUKAN_TIME_NEVER)
		return "never";
	time_format(t, out);
	return out;
}

/* How far t lies from now, for a person: "in 3.2s", "in 12m", "3h ago". */
static void print_relative(FILE *f, int64_t t, int64_t now)
{
	int64_t d = t - now, ns = d < 0 ? -d : d, s = ns / MUKAN_NS_PER_SEC;
	char amount[32];
	if (s < 60) /* close enough that a tenth of a second matters */
		snprintf(amount, sizeof(amount), "%.1fs", (double)ns / MUKAN_NS_PER_SEC);
	else if (s < 2 * 60)
		snprintf(amount, sizeof(amount), "%llds", (long long)s);
	else if (s < 2 * 3600)
		snprintf(amount, sizeof(amount), "%lldm", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(amount, sizeof(amount), "%lldh", (long long)(s / 3600));
	else
		snprintf(amount, sizeof(amount), "%lldd", (long long)(s / 86400));
	if (d >= 0)
		fprintf(f, " (in %s)", amount);
	else
		fprintf(f, " (%s ago)", amount);
}

static const struct {
	unsigned bit;
	const char *name;
} flag_names[] = {
	{ MUKAN_PEER_PERSISTENT, "persistent" },
	{ MUKAN_PEER_UNCONDITIONAL, "unconditional" },
	{ MUKAN_PEER_SEED, "seed" },
	{ MUKAN_PEER_SRC_NO_ID, "src-without-id" },
};

#define N_FLAG_NAMES (sizeof(flag_names) / sizeof(flag_names[0]))

static void print_record(FILE *f, const struct mukan_peer *p, int64_t now, bool live)
{
	char addr[NETADDR_STRLEN], src[NETADDR_STRLEN], t[TIME_STRLEN], eb[16];
	peer_strings(p, addr, src);
	fprintf(f, "%s\n", addr);
	fprintf(f, "  %-13s %s\n", "src", src);
	fprintf(f, "  %-13s %s\n", "type", peer_type_name(p));
	fprintf(f, "  %-13s", "buckets");
	if (p->n_buckets == 0)
		fprintf(f, " none");
	for (unsigned i = 0; i < n_buckets_shown(p); i++)
		fprintf(f, "%s%u", i ? "," : " ", p->buckets[i]);
	if (p->n_buckets > MUKAN_MAX_NEW_BUCKETS_PER_ADDR)
		fprintf(f, " (n_buckets says %u)", p->n_buckets);
	fprintf(f, "\n  %-13s %d\n", "attempts", p->attempts);
	fprintf(f, "  %-13s %s\n", "last attempt", time_text(p->last_attempt, t));
	fprintf(f, "  %-13s %s\n", "last success", time_text(p->last_success, t));
	fprintf(f, "  %-13s %s\n", "bad", rules_is_bad(p, now) ? "yes" : "no");
	if (p->ban_until == MUKAN_TIME_NEVER)
		fprintf(f, "  %-13s none", "ban end");
	else
		fprintf(f, "  %-13s %s (%s)", "ban end", time_text(p->ban_until, t),
			rules_is_banned(p, now) ? "active" : "ended");
	fprintf(f, "\n  %-13s %u\n", "failures", p->failures);
	if (p->last_error)
		fprintf(f, "  %-13s %s (%s)", "last error", dialctl_errno_name(p->last_error, eb),
			strerror(p->last_error));
	else
		fprintf(f, "  %-13s none", "last error");
	fprintf(f, "\n  %-13s %u\n", "dials", p->dials);
	fprintf(f, "  %-13s %s\n", "last dial", time_text(p->last_dial, t));
	if (live) /* only the kernel knows it; files do not keep it */
		fprintf(f, "  %-13s %s\n", "last connect", time_text(p->last_connected, t));
	fprintf(f, "  %-13s", "next dial");
	if (p->next_dial == MUKAN_TIME_NEVER) {
		fprintf(f, " any time (no backoff)");
	} else {
		fprintf(f, " %s", time_text(p->next_dial, t));
		print_relative(f, p->next_dial, now);
	}
	fprintf(f, "\n  %-13s", "flags");
	bool any = false;
	for (size_t i = 0; i < N_FLAG_NAMES; i++) {
		if (p->flags & flag_names[i].bit) {
			fprintf(f, "%s%s", any ? "," : " ", flag_names[i].name);
			any = true;
		}
	}
	fprintf(f, "%s\n", any ? "" : " none");
}

void peer_print_text(FILE *f, const struct mukan_peer *p, int64_t now)
{
	print_record(f, p, now, false);
}

void peer_print_text_live(FILE *f, const struct mukan_peer *p, int64_t now)
{
	print_record(f, p, now, true);
}

void peer_times_to_wall(struct mukan_peer *p, int64_t wall_offset)
{
	__s64 *times[] = { &p->last_attempt, &p->last_success, &p->ban_until,
			     &p->next_dial,    &p->last_dial,	 &p->last_connected };
	/* book_add and book_load leave last_connected 0 rather than never; boot
	 * time 0 cannot be a real dial, so it reads as never. */
	if (p->last_connected == 0)
		p->last_connected = MUKAN_TIME_NEVER;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (*times[i] != MUKAN_TIME_NEVER)
			*times[i] += wall_offset;
}

static json_t *json_time(int64_t t)
{
	char buf[TIME_STRLEN];
	if (t == MUKAN_TIME_NEVER)
		return json_null();
	time_format(t, buf);
	return json_string(buf);
}

static json_t *json_buckets(const struct mukan_peer *p)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < n_buckets_shown(p); i++)
		json_array_append_new(a, json_integer(p->buckets[i]));
	return a;
}

static json_t *json_flags(const struct mukan_peer *p)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < N_FLAG_NAMES; i++)
		if (p->flags & flag_names[i].bit)
			json_array_append_new(a, json_string(flag_names[i].name));
	return a;
}

json_t *peer_time_json(int64_t t)
{
	return json_time(t);
}

json_t *peer_to_json(const struct mukan_peer *p, int64_t now)
{
	char addr[NETADDR_STRLEN], src[NETADDR_STRLEN], id[2 * MUKAN_ID_LEN + 1], eb[16];
	peer_strings(p, addr, src);
	node_id_format(p->id, id);
	json_t *last_error = p->last_error ? json_string(dialctl_errno_name(p->last_error, eb))
					   : json_null();
	/* "o" steals each reference, so nothing here needs a decref. */
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:o, s:o, s:b, s:o, s:b,"
			 " s:I, s:o, s:i, s:I, s:o, s:o, s:o}",
			 "addr", addr, "id", id, "src", src, "type", peer_type_name(p),
			 "buckets", json_buckets(p), "attempts", (int)p->attempts,
			 "last_attempt", json_time(p->last_attempt),
			 "last_success", json_time(p->last_success), "bad", rules_is_bad(p, now),
			 "ban_until", json_time(p->ban_until), "ban_active", rules_is_banned(p, now),
			 "failures", (json_int_t)p->failures, "last_error", last_error,
			 "last_errno", (int)p->last_error, "dials", (json_int_t)p->dials,
			 "last_dial", json_time(p->last_dial), "next_dial", json_time(p->next_dial),
			 "flags", json_flags(p));
}
