/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_queue.c - the actions the daemon drains, oldest first.
 *
 * The queue grows on demand and never drops an action: its length is
 * bounded anyway, since a tracked peer has at most one dial, one cancel and
 * one PEX request outstanding at a time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager_internal.h"

static int grow(struct mgr_queue *q)
{
	uint32_t cap = q->cap ? q->cap * 2 : 64;
	struct manager_action *a = malloc(cap * sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->n; i++)
		a[i] = q->a[(q->head + i) % q->cap];
	free(q->a);
	q->a = a;
	q->head = 0;
	q->cap = cap;
	return 0;
}

int mgr_queue_push(struct manager *m, uint8_t kind, uint8_t reason, const struct netaddr *na)
{
	struct mgr_queue *q = &m->q;
	if (q->n == q->cap && grow(q) < 0)
		return -ENOMEM;
	struct manager_action *a = &q->a[(q->head + q->n) % q->cap];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->reason = reason;
	a->addr = *na;
	int slot = book_find(m->book, na->id);
	a->slot = slot >= 0 ? slot : -1;
	q->n++;
	return 0;
}

void mgr_queue_free(struct mgr_queue *q)
{
	free(q->a);
	memset(q, 0, sizeof(*q));
}

bool manager_next_action(struct manager *m, struct manager_action *out)
{
	struct mgr_queue *q = &m->q;
	if (q->n == 0)
		return false;
	*out = q->a[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return true;
}

size_t manager_pending(const struct manager *m)
{
	return m->q.n;
}
