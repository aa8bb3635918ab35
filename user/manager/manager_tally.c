/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_tally.c - the counts `status` reports, kept as things change so
 * that reading them never walks the book (manager_counts: O(1) plus the
 * deadlines that have passed since the last read).
 *
 * Tracked peers are counted by state in mgr_set_state and friends. Every
 * book record that is not tracked has a class here: a candidate, a
 * candidate in backoff (next_dial ahead), banned by the ban list, or banned
 * by ban_until alone (a kernel ban not yet on the list). A record's class is
 * recomputed whenever it may have changed:
 *  - the book says so (book_set_observer): a record added, removed, banned,
 *    reinstated or indexed from the slots;
 *  - a peer starts or stops being tracked (its dial or connection ended:
 *    whatever the kernel or the manager wrote meanwhile is read then);
 *  - the daemon passes on a kernel event for a record nobody here dialed
 *    (manager_note_record), or asks for a full recount after the records
 *    were changed wholesale (manager_recount).
 * Classes that end by themselves (a backoff, a ban by time) sit in a min-heap
 * of deadlines, one entry per slot; reading the counts first re-classes the
 * records whose deadline has passed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager_internal.h"
#include "mukan/rules.h"

static void heap_swap(struct mgr_tally *t, uint32_t a, uint32_t b)
{
	struct mgr_deadline x = t->heap[a];
	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->pos[t->heap[a].slot] = a + 1;
	t->pos[t->heap[b].slot] = b + 1;
}

static void heap_up(struct mgr_tally *t, uint32_t i)
{
	while (i > 0 && t->heap[(i - 1) / 2].at > t->heap[i].at) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct mgr_tally *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n_heap && t->heap[l].at < t->heap[m].at)
			m = l;
		if (r < t->n_heap && t->heap[r].at < t->heap[m].at)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void heap_remove(struct mgr_tally *t, uint32_t slot)
{
	uint32_t i = t->pos[slot] - 1;
	t->pos[slot] = 0;
	if (i == --t->n_heap)
		return;
	t->heap[i] = t->heap[t->n_heap];
	t->pos[t->heap[i].slot] = i + 1;
	heap_up(t, i);
	heap_down(t, t->pos[t->heap[i].slot] - 1);
}

/* The slot's deadline becomes `at` (MGR_NEVER: none). */
static void heap_set(struct mgr_tally *t, uint32_t slot, int64_t at)
{
	if (at == MGR_NEVER) {
		if (t->pos[slot])
			heap_remove(t, slot);
		return;
	}
	if (t->pos[slot]) {
		uint32_t i = t->pos[slot] - 1;
		t->heap[i].at = at;
		heap_up(t, i);
		heap_down(t, t->pos[slot] - 1);
		return;
	}
	/* One entry per slot: the heap never outgrows the book. */
	uint32_t i = t->n_heap++;
	t->heap[i] = (struct mgr_deadline){ .at = at, .slot = slot };
	t->pos[slot] = i + 1;
	heap_up(t, i);
}

static uint8_t classify(const struct manager *m, const struct mukan_peer *p, int64_t now,
			int64_t *until)
{
	*until = MGR_NEVER;
	if (!p->in_use || mgr_find(m, p->id) >= 0)
		return TC_NONE;
	if (p->flags & MUKAN_PEER_BANNED)
		return TC_BANNED;
	if (rules_is_banned(p, now)) {
		*until = p->ban_until;
		return TC_BANNED_TIME;
	}
	if (!rules_may_dial(p, now)) {
		*until = p->next_dial;
		return TC_BACKOFF;
	}
	return TC_CANDIDATE;
}

static void tally_slot(struct manager *m, uint32_t slot, int64_t now)
{
	struct mgr_tally *t = &m->tally;
	const struct mukan_peer *p = book_slot(m->book, slot);
	if (!p || slot >= t->cap)
		return;
	int64_t until;
	uint8_t c = classify(m, p, now, &until);
	t->n[t->cls[slot]]--;
	t->n[c]++;
	t->cls[slot] = c;
	heap_set(t, slot, until);
}

/* What the book tells: a record changed its standing (the latest known time). */
static void on_book_change(void *ctx, uint32_t slot)
{
	struct manager *m = ctx;
	tally_slot(m, slot, m->tally.now);
}

int mgr_tally_init(struct manager *m)
{
	struct mgr_tally *t = &m->tally;
	t->cap = book_capacity(m->book);
	t->cls = calloc(t->cap, sizeof(*t->cls));
	t->pos = calloc(t->cap, sizeof(*t->pos));
	t->heap = malloc((size_t)t->cap * sizeof(*t->heap));
	if (!t->cls || !t->pos || !t->heap)
		return -ENOMEM;
	t->n[TC_NONE] = t->cap;
	for (int s = book_next_slot(m->book, 0); s >= 0; s = book_next_slot(m->book, (uint32_t)s + 1))
		tally_slot(m, (uint32_t)s, t->now);
	book_set_observer(m->book, on_book_change, m);
	return 0;
}

void mgr_tally_free(struct manager *m)
{
	struct mgr_tally *t = &m->tally;
	if (t->cls)
		book_set_observer(m->book, NULL, NULL);
	free(t->cls);
	free(t->pos);
	free(t->heap);
}

void mgr_tally_time(struct manager *m, int64_t now)
{
	if (now > m->tally.now)
		m->tally.now = now;
}

void mgr_tally_id(struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	int slot = book_find(m->book, id);
	if (slot >= 0)
		tally_slot(m, (uint32_t)slot, now);
}

void mgr_tally_state(struct manager *m, int from, int to)
{
	if (from >= 0)
		m->tally.tracked[from]--;
	if (to >= 0)
		m->tally.tracked[to]++;
}

void manager_note_record(struct manager *m, uint32_t slot, int64_t now)
{
	mgr_tally_time(m, now);
	tally_slot(m, slot, now);
}

void manager_recount(struct manager *m, int64_t now)
{
	struct mgr_tally *t = &m->tally;
	mgr_tally_time(m, now);
	for (uint32_t s = 0; s < t->cap; s++)
		tally_slot(m, s, now);
}

void manager_counts(struct manager *m, int64_t now, struct manager_counts *out)
{
	struct mgr_tally *t = &m->tally;
	mgr_tally_time(m, now);
	/* Backoffs and bans that ended since the last look. */
	while (t->n_heap > 0 && t->heap[0].at <= now)
		tally_slot(m, t->heap[0].slot, now);
	memset(out, 0, sizeof(*out));
	memcpy(out->state, t->tracked, sizeof(out->state));
	out->state[MANAGER_CANDIDATE] += t->n[TC_CANDIDATE] + t->n[TC_BACKOFF];
	out->state[MANAGER_BAD] += t->n[TC_BANNED] + t->n[TC_BANNED_TIME];
	out->backoff = t->n[TC_BACKOFF];
	out->dialing_out = m->n_dialing_out;
	out->connected_out = m->n_connected_out;
	out->max_outbound = m->cfg.max_outbound;
	out->persistent_connected = m->n_persist_connected;
}
