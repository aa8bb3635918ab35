/* SPDX-License-Identifier: Apache-2.0 */
/* timers.c - a min-heap of embedded timers (see timers.h). */
#include "timers.h"

#include <errno.h>
#include <stdlib.h>

int heap_init(struct timer_heap *h, uint32_t cap)
{
	h->n = 0;
	h->cap = cap;
	h->v = calloc(cap ? cap : 1, sizeof(*h->v));
	return h->v ? 0 : -ENOMEM;
}

void heap_free(struct timer_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

static void place(struct timer_heap *h, uint32_t i, struct timer *t)
{
	h->v[i] = t;
	t->pos = i + 1;
}

static void sift_up(struct timer_heap *h, uint32_t i)
{
	struct timer *t = h->v[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (h->v[parent]->when <= t->when)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void sift_down(struct timer_heap *h, uint32_t i)
{
	struct timer *t = h->v[i];
	for (;;) { /* ends: i grows each pass, bounded by n */
		uint32_t kid = 2 * i + 1;
		if (kid >= h->n)
			break;
		if (kid + 1 < h->n && h->v[kid + 1]->when < h->v[kid]->when)
			kid++;
		if (t->when <= h->v[kid]->when)
			break;
		place(h, i, h->v[kid]);
		i = kid;
	}
	place(h, i, t);
}

void heap_remove(struct timer_heap *h, struct timer *t)
{
	if (!t->pos)
		return;
	uint32_t i = t->pos - 1;
	t->pos = 0;
	struct timer *last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	sift_down(h, i);
	sift_up(h, last->pos - 1);
}

int heap_set(struct timer_heap *h, struct timer *t, int64_t when)
{
	if (when == INT64_MAX) {
		heap_remove(h, t);
		return 0;
	}
	if (t->pos) {
		int64_t old = t->when;
		t->when = when;
		if (when < old)
			sift_up(h, t->pos - 1);
		else
			sift_down(h, t->pos - 1);
		return 0;
	}
	if (h->n == h->cap)
		return -ENOSPC;
	t->when = when;
	place(h, h->n++, t);
	sift_up(h, h->n - 1);
	return 0;
}
