/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim.c - see sim.h. The loop: drain the manager's actions into the model
 * engine, then advance the clock to whichever comes first, the next dial
 * completion or the manager's wake-up, and deliver it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "book/rng.h"
#include "mukan/rules.h"
#include "sim.h"

#define SIM_T0 (1000 * MUKAN_NS_PER_SEC) /* book time at start; any value works */

struct sim_dial {
	uint8_t id[MUKAN_ID_LEN];
	int64_t done_at;
	uint8_t outcome;
};

struct sim {
	const struct sim_config *c;
	struct manager *m;
	struct netaddr *addrs;
	bool *live;
	struct sim_dial *flight; /* in the engine's window */
	uint32_t n_flight;
	struct sim_dial *waiting; /* queued behind the window, FIFO */
	uint32_t n_waiting;
	struct sim_result *r;
	int64_t now;
};

static void node_id(uint32_t n, uint8_t id[MUKAN_ID_LEN])
{
	uint64_t x = n * 0x9e3779b97f4a7c15ULL + 1;
	for (int i = 0; i < MUKAN_ID_LEN; i++)
		id[i] = (uint8_t)(rng_splitmix(&x) >> 56);
}

/* Public IPv4 addresses in 11.0.0.0 - 99.255.255.255: routable, mostly distinct /16s. */
static void make_network(struct sim *s, struct rng *g)
{
	const struct sim_config *c = s->c;
	for (uint32_t i = 0; i < c->n_addrs; i++) {
		struct netaddr *na = &s->addrs[i];
		memset(na, 0, sizeof(*na));
		na->has_id = true;
		node_id(i + 1, na->id);
		na->a.family = MUKAN_AF_INET;
		na->a.port = 26656;
		na->a.ip[0] = (uint8_t)(11 + rng_below(g, 89));
		for (int k = 1; k < 4; k++)
			na->a.ip[k] = (uint8_t)rng_below(g, 256);
		na->a.ip[3] |= 1;
	}
	/* Exactly live_percent of them live, chosen at random. */
	uint32_t n_live = c->n_addrs * c->live_percent / 100;
	for (uint32_t i = 0; i < c->n_addrs; i++)
		s->live[i] = i < n_live;
	for (uint32_t i = c->n_addrs; i > 1; i--) {
		uint32_t j = rng_below(g, i);
		bool t = s->live[i - 1];
		s->live[i - 1] = s->live[j];
		s->live[j] = t;
	}
}

static int index_of(const struct sim *s, const uint8_t id[MUKAN_ID_LEN])
{
	for (uint32_t i = 0; i < s->c->n_addrs; i++)
		if (memcmp(s->addrs[i].id, id, MUKAN_ID_LEN) == 0)
			return (int)i;
	return -1;
}

static void engine_start(struct sim *s, const struct sim_dial *d)
{
	struct sim_dial *f = &s->flight[s->n_flight++];
	*f = *d;
	int i = index_of(s, d->id);
	bool up = i >= 0 && s->live[i];
	f->outcome = up ? MANAGER_OUT_CONNECTED : MANAGER_OUT_TIMED_OUT;
	f->done_at = s->now + (up ? (int64_t)s->c->live_rtts * s->c->rtt_ns : s->c->dial_timeout_ns);
	if (s->n_flight > s->r->peak_in_flight)
		s->r->peak_in_flight = s->n_flight;
}

static void engine_submit(struct sim *s, const uint8_t id[MUKAN_ID_LEN])
{
	struct sim_dial d = { 0 };
	memcpy(d.id, id, MUKAN_ID_LEN);
	if (s->c->window == 0 || s->n_flight < s->c->window)
		engine_start(s, &d);
	else
		s->waiting[s->n_waiting++] = d;
	s->r->dials++;
}

static void engine_refill(struct sim *s)
{
	while (s->n_waiting > 0 && (s->c->window == 0 || s->n_flight < s->c->window)) {
		struct sim_dial d = s->waiting[0];
		memmove(s->waiting, s->waiting + 1, (s->n_waiting - 1) * sizeof(d));
		s->n_waiting--;
		engine_start(s, &d);
	}
}

static void watch(struct sim *s)
{
	uint32_t conn = manager_connected_out(s->m), sum = conn + manager_dialing_out(s->m);
	if (conn > s->r->peak_connected)
		s->r->peak_connected = conn;
	if (sum > s->r->peak_slot_sum)
		s->r->peak_slot_sum = sum;
}

static void report(struct sim *s, const uint8_t id[MUKAN_ID_LEN], int outcome)
{
	int v = manager_on_dial_done(s->m, id, (enum manager_outcome)outcome, 0, s->now);
	if (outcome == MANAGER_OUT_CONNECTED)
		s->r->connects++;
	if (outcome == MANAGER_OUT_TIMED_OUT)
		s->r->timeouts++;
	if (v == MANAGER_DROP && outcome == MANAGER_OUT_CONNECTED)
		s->r->dropped++;
	watch(s);
}

/* A cancel ends a queued dial at once and an in-flight one now. */
static void engine_cancel(struct sim *s, const uint8_t id[MUKAN_ID_LEN])
{
	for (uint32_t i = 0; i < s->n_waiting; i++) {
		if (memcmp(s->waiting[i].id, id, MUKAN_ID_LEN) != 0)
			continue;
		s->waiting[i] = s->waiting[--s->n_waiting];
		report(s, id, MANAGER_OUT_CANCELLED);
		return;
	}
	for (uint32_t i = 0; i < s->n_flight; i++) {
		if (memcmp(s->flight[i].id, id, MUKAN_ID_LEN) != 0)
			continue;
		uint8_t cid[MUKAN_ID_LEN];
		memcpy(cid, id, MUKAN_ID_LEN);
		s->flight[i] = s->flight[--s->n_flight];
		engine_refill(s);
		report(s, cid, MANAGER_OUT_CANCELLED);
		return;
	}
}

static void drain(struct sim *s)
{
	struct manager_action a;
	while (manager_next_action(s->m, &a)) {
		if (a.kind == MANAGER_DIAL)
			engine_submit(s, a.addr.id);
		else if (a.kind == MANAGER_CANCEL)
			engine_cancel(s, a.addr.id);
		/* REQUEST_ADDRS: this network speaks no PEX. */
	}
	watch(s);
}

static int next_completion(const struct sim *s)
{
	int best = -1;
	for (uint32_t i = 0; i < s->n_flight; i++)
		if (best < 0 || s->flight[i].done_at < s->flight[best].done_at)
			best = (int)i;
	return best;
}

static int run(struct sim *s)
{
	const struct sim_config *c = s->c;
	int64_t end = SIM_T0 + c->limit_ns;
	s->now = SIM_T0;
	int err = manager_start(s->m, s->now);
	if (err < 0)
		return err;
	for (;;) {
		drain(s);
		if (manager_connected_out(s->m) >= c->mgr.max_outbound) {
			s->r->fill_ns = s->now - SIM_T0;
			return 0;
		}
		int k = next_completion(s);
		int64_t wake = manager_next_wakeup(s->m, s->now);
		int64_t t = k >= 0 && s->flight[k].done_at < wake ? s->flight[k].done_at : wake;
		if (t > end)
			return 0;
		s->now = t;
		if (k >= 0 && s->flight[k].done_at == t) {
			struct sim_dial d = s->flight[k];
			s->flight[k] = s->flight[--s->n_flight];
			engine_refill(s);
			report(s, d.id, d.outcome);
		} else {
			manager_tick(s->m, s->now);
		}
	}
}

void sim_config_defaults(struct sim_config *c, enum manager_policy policy)
{
	memset(c, 0, sizeof(*c));
	manager_config_defaults(&c->mgr, policy);
	c->n_addrs = 200;
	c->live_percent = 10;
	c->window = 0;
	c->dial_timeout_ns = MUKAN_NS_PER_SEC;
	c->rtt_ns = 20 * 1000 * 1000;
	c->live_rtts = 3;
	c->limit_ns = 3600 * MUKAN_NS_PER_SEC;
	c->seed = 1;
}

int sim_bootstrap(const struct sim_config *c, struct sim_result *r)
{
	if (!c || !r || c->n_addrs == 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->fill_ns = -1;
	struct sim s = { .c = c, .r = r };
	struct rng g;
	rng_seed(&g, c->seed);
	s.addrs = calloc(c->n_addrs, sizeof(*s.addrs));
	s.live = calloc(c->n_addrs, sizeof(*s.live));
	s.flight = calloc(c->n_addrs, sizeof(*s.flight));
	s.waiting = calloc(c->n_addrs, sizeof(*s.waiting));
	struct book *b = NULL;
	int err = -ENOMEM;
	if (!s.addrs || !s.live || !s.flight || !s.waiting)
		goto out;
	make_network(&s, &g);
	struct book_opts bo = { .strict = true, .capacity = 4 * c->n_addrs + 64,
				.seed = rng_next(&g), .keys_from_seed = true };
	if ((err = book_new(&b, &bo)) < 0)
		goto out;
	/* One source for all: an imported addrbook.json. */
	struct netaddr src = s.addrs[0];
	src.a.ip[0] = 9;
	for (uint32_t i = 0; i < c->n_addrs; i++)
		book_add(b, &s.addrs[i], &src, SIM_T0);
	struct manager_config mc = c->mgr;
	mc.record_outcomes = true;
	mc.seed = rng_next(&g);
	if ((err = manager_new(&s.m, b, &mc)) < 0)
		goto out;
	err = run(&s);
	const struct manager_stats *st = manager_stats(s.m);
	r->cancels = st->cancels;
	r->rounds = st->rounds;
out:
	manager_free(s.m);
	book_free(b);
	free(s.addrs);
	free(s.live);
	free(s.flight);
	free(s.waiting);
	return err;
}
