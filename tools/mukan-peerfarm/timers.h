/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timers.h - the farm's deadlines (connections, flapping listeners) in one
 * binary min-heap: the loop arms a single ring timeout for the earliest.
 * A timer is embedded in its owner and knows its place in the heap, so
 * moving or removing one is O(log n) and needs no search.
 */
#ifndef MUKAN_PEERFARM_TIMERS_H
#define MUKAN_PEERFARM_TIMERS_H

#include <stddef.h>
#include <stdint.h>

struct timer {
	int64_t when;
	uint32_t pos; /* 1 + index in the heap; 0 when not in it */
	uint8_t kind; /* the owner's type, for the caller */
};

struct timer_heap {
	struct timer **v;
	uint32_t n, cap;
};

/* Room for cap timers up front (one per owner: a set never allocates). -ENOMEM. */
int heap_init(struct timer_heap *h, uint32_t cap);
void heap_free(struct timer_heap *h);

/*
 * Put t in the heap at when (moving it if it is there); INT64_MAX takes it
 * out. 0, or -ENOSPC when the heap holds cap timers already.
 */
int heap_set(struct timer_heap *h, struct timer *t, int64_t when);
void heap_remove(struct timer_heap *h, struct timer *t);

/* The earliest timer, or NULL. */
static inline struct timer *heap_min(const struct timer_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

#endif /* MUKAN_PEERFARM_TIMERS_H */
