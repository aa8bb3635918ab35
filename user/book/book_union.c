/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_union.c - two copies of one book that went apart (the pinned map and
 * its file) become one again without dropping anything either holds: a
 * record only one side has is kept; for a node ID both have, the newer
 * side's record wins, except that a ban lasts until the later of the two.
 * Only public book operations are used, so every index stays true.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book_union.h"

/* The record to keep for an ID both sides hold. */
static struct mukan_peer merged(const struct mukan_peer *newer, const struct mukan_peer *older)
{
	struct mukan_peer m = *newer;
	if (older->ban_until > m.ban_until) {
		m.ban_until = older->ban_until;
		if (older->flags & MUKAN_PEER_BANNED)
			m.flags |= MUKAN_PEER_BANNED; /* the later ban is the older side's */
	}
	return m;
}

static void note_refusal(struct book_union_tally *t, const struct mukan_peer *rec,
			 const char *why)
{
	if (t->refused++ > 0)
		return;
	struct netaddr na;
	char shown[NETADDR_STRLEN];
	book_peer_addr(rec, &na);
	netaddr_format(&na, shown);
	snprintf(t->first_refusal, sizeof(t->first_refusal), "%s: %s", shown, why);
}

/* Put rec where the live record of its ID is (or was not), keeping the old one on failure. */
static void replace(struct book *live, int slot, struct mukan_peer rec, bool keep_buckets,
		    struct book_union_tally *t)
{
	struct mukan_peer old = *book_slot(live, (uint32_t)slot);
	char why[128];
	if (!keep_buckets && !(rec.flags & MUKAN_PEER_BANNED))
		rec.n_buckets = 0; /* placed under the live keys */
	book_remove(live, old.id);
	if (book_insert_record(live, &rec, why, sizeof(why)) >= 0) {
		t->replaced++;
		return;
	}
	note_refusal(t, &rec, why);
	book_insert_record(live, &old, why, sizeof(why)); /* its slot was just freed */
}

int book_union(struct book *live, const struct book *other, bool other_newer, bool same_keys,
	       struct book_union_tally *t)
{
	memset(t, 0, sizeof(*t));
	uint32_t used = 0, extra = 0;
	for (int s = book_next_slot(live, 0); s >= 0; s = book_next_slot(live, (uint32_t)s + 1))
		used++;
	for (int s = book_next_slot(other, 0); s >= 0; s = book_next_slot(other, (uint32_t)s + 1))
		extra += book_find(live, book_slot(other, (uint32_t)s)->id) < 0;
	t->needed = used + extra;
	if (t->needed > book_capacity(live))
		return -ENOSPC; /* nothing changed */

	for (int s = book_next_slot(other, 0); s >= 0; s = book_next_slot(other, (uint32_t)s + 1)) {
		const struct mukan_peer *o = book_slot(other, (uint32_t)s);
		int ls = book_find(live, o->id);
		if (ls < 0) {
			struct mukan_peer rec = *o;
			char why[128];
			if (!same_keys && !(rec.flags & MUKAN_PEER_BANNED))
				rec.n_buckets = 0;
			if (book_insert_record(live, &rec, why, sizeof(why)) >= 0)
				t->added++;
			else
				note_refusal(t, &rec, why);
			continue;
		}
		const struct mukan_peer *l = book_slot(live, (uint32_t)ls);
		struct mukan_peer m = other_newer ? merged(o, l) : merged(l, o);
		if (memcmp(&m, l, sizeof(m)) == 0) {
			t->kept++;
			continue;
		}
		/* The live record keeps its place when it wins; the other's needs
		 * the same keys for its buckets to mean anything here. */
		replace(live, ls, m, other_newer ? same_keys : true, t);
	}
	return 0;
}
