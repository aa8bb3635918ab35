/* SPDX-License-Identifier: Apache-2.0 */
/* engine_dial.c - taking a slot for a dial, and giving it up early (cancel). */
#include <errno.h>
#include <string.h>

#include "engine_internal.h"

int engine_dial(struct engine *e, const struct mukan_addr *a, uint64_t cookie)
{
	union engine_sa sa;
	socklen_t len;
	if (!e || !a)
		return -EINVAL;
	int r = engine_sockaddr(a, &sa, &len);
	if (r < 0)
		return r;
	if (e->n_to_close)
		engine_flush_closes(e);
	if (engine_cookie_find(e, cookie) >= 0)
		return -EALREADY;
	if (e->n_free == 0)
		return -EBUSY;

	uint32_t i = e->free_slots[e->n_free - 1];
	struct dial_slot *s = &e->slots[i];
	uint16_t gen = s->gen;
	memset(s, 0, sizeof(*s));
	s->gen = gen;
	s->cookie = cookie;
	s->addr = *a;
	s->sa = sa;
	s->salen = len;
	s->fd = -1;
	r = engine_queue_chain(e, i);
	if (r < 0)
		return r; /* the slot stays free */

	e->n_free--;
	s->state = SLOT_DIALING;
	s->start_ns = engine_now_ns();
	engine_cookie_put(e, cookie, i);
	e->inflight++;
	e->st.dials++;
	return 0;
}

static int cancel_slot(struct engine *e, uint32_t i)
{
	struct dial_slot *s = &e->slots[i];
	if (s->cancel)
		return 0;
	s->cancel = true;
	/*
	 * No room for the cancel SQE: the dial still ends by itself within its
	 * timeout, and the flag makes that end a cancellation.
	 */
	engine_queue_cancel(e, i);
	return 0;
}

int engine_cancel(struct engine *e, uint64_t cookie)
{
	if (!e)
		return -EINVAL;
	int i = engine_cookie_find(e, cookie);
	if (i < 0)
		return -ENOENT;
	return cancel_slot(e, (uint32_t)i);
}

void engine_cancel_all(struct engine *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; i < e->o.max_inflight; i++)
		if (e->slots[i].state == SLOT_DIALING)
			cancel_slot(e, i);
}
