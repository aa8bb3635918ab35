/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_manager_prop.c - the outbound limit under random interleavings: many
 * seeds, each a random book (few groups, shared IPs), a random config and a
 * long random run of completions in any order, lost peers, PEX replies and
 * ticks. After every single event the invariants must hold:
 *  - exact mode: connected + dialing <= max_outbound, always;
 *  - over-dialing: connected <= max_outbound, slot dials <= max_dialing,
 *    a full set of slots leaves no slot dial uncancelled, DROP only when full;
 *  - the manager's counts equal what the fake engine holds;
 *  - one dial per ID, one per IP (checked by the fake engine on every action);
 *  - a persistent peer is only ever dialed as persistent.
 * Plus the bootstrap simulator's own promises.
 */
#include <stdlib.h>

#include "book/rng.h"
#include "manager/sim.h"
#include "test_manager_env.h"

#define PROP_SEEDS 300
#define PROP_STEPS 1500

struct prop {
	struct env e;
	struct rng g;
	struct netaddr persist[4];
	uint32_t n_persist;
	struct netaddr asked[ENV_MAX]; /* peers with a PEX request out */
	size_t n_asked;
	uint32_t next_addr;
};

static bool is_persistent(const struct prop *p, const uint8_t id[MUKAN_ID_LEN])
{
	return env_find(p->persist, p->n_persist, id) >= 0;
}

/* Few groups and shared IPs, so the group and IP rules are exercised. */
static struct netaddr random_addr(struct prop *p)
{
	int g = (int)rng_below(&p->g, 6);
	struct netaddr na = env_na(20000 + p->next_addr++, 30 + g, g * 7, (int)rng_below(&p->g, 4),
				   1 + (int)rng_below(&p->g, 3));
	na.a.port = (uint16_t)(26656 + rng_below(&p->g, 3));
	return na;
}

static void prop_setup(struct prop *p, uint64_t seed, bool overdial)
{
	memset(p, 0, sizeof(*p));
	rng_seed(&p->g, seed);
	struct env *e = &p->e;
	env_config_seed(e, (enum manager_policy)rng_below(&p->g, 2), seed);
	e->cfg.max_outbound = 1 + rng_below(&p->g, 12);
	e->cfg.allow_duplicate_ip = rng_below(&p->g, 4) == 0;
	e->cfg.prefer_distinct_groups = rng_below(&p->g, 2);
	e->cfg.persist.jitter_ns = rng_below(&p->g, 2) ? 3 * SEC : 0;
	if (overdial && e->cfg.policy == MANAGER_POLICY_MUKAN) {
		e->cfg.overdial = 2 + rng_below(&p->g, 9);
		e->cfg.max_dialing = rng_below(&p->g, 2) ? 0 : 1 + rng_below(&p->g, 40);
	}
	uint32_t n_book = rng_below(&p->g, 300);
	for (uint32_t i = 0; i < n_book; i++) {
		struct netaddr na = random_addr(p);
		env_book_add_from(e, &na, i);
	}
	env_new_manager(e);
	p->n_persist = rng_below(&p->g, 4);
	for (uint32_t i = 0; i < p->n_persist; i++) {
		p->persist[i] = random_addr(p);
		cr_assert_eq(manager_add_persistent(e->m, &p->persist[i], e->now), 0);
	}
	uint32_t n_seeds = rng_below(&p->g, 4);
	for (uint32_t i = 0; i < n_seeds; i++) {
		struct netaddr s = random_addr(p);
		cr_assert_eq(manager_add_seed(e->m, &s), 0);
	}
	if (rng_below(&p->g, 4) == 0)
		manager_on_inbound_count(e->m, 1 + rng_below(&p->g, 5));
}

static void check(struct prop *p, size_t from_act)
{
	struct env *e = &p->e;
	const struct manager_config *c = &e->cfg;
	uint32_t conn = manager_connected_out(e->m), dial = manager_dialing_out(e->m);
	uint32_t f_dial = 0, f_conn = 0;
	for (size_t i = 0; i < e->n_flight; i++)
		f_dial += !is_persistent(p, e->flight[i].id);
	for (size_t i = 0; i < e->n_conn; i++)
		f_conn += !is_persistent(p, e->conn[i].id);
	cr_assert_eq(dial, f_dial, "manager says %u slot dials, the engine holds %u", dial, f_dial);
	cr_assert_eq(conn, f_conn, "manager says %u connected, the engine holds %u", conn, f_conn);
	cr_assert_leq(conn, c->max_outbound, "%u connected, limit %u", conn, c->max_outbound);
	if (c->overdial <= 1) {
		cr_assert_leq(conn + dial, c->max_outbound, "%u + %u over the limit %u", conn, dial,
			      c->max_outbound);
	} else {
		if (c->max_dialing)
			cr_assert_leq(dial, c->max_dialing);
		for (size_t i = 0; conn >= c->max_outbound && i < e->n_flight; i++)
			cr_assert(is_persistent(p, e->flight[i].id) || e->flight_cancelled[i],
				  "a slot dial left running with every slot connected");
	}
	for (size_t i = from_act; i < e->n_act; i++) {
		const struct manager_action *a = &e->act[i];
		if (a->kind == MANAGER_DIAL)
			cr_assert_eq(is_persistent(p, a->addr.id), a->reason == MANAGER_REASON_PERSISTENT,
				     "persistent peers are dialed as persistent, and only they");
		if (a->kind == MANAGER_REQUEST_ADDRS && env_find(p->asked, p->n_asked, a->addr.id) < 0)
			p->asked[p->n_asked++] = a->addr;
	}
}

static enum manager_outcome random_failure(struct rng *g)
{
	static const enum manager_outcome f[] = { MANAGER_OUT_REFUSED, MANAGER_OUT_TIMED_OUT,
						  MANAGER_OUT_UNREACHABLE, MANAGER_OUT_LOCAL_ERROR,
						  MANAGER_OUT_FAILED, MANAGER_OUT_REJECTED };
	return f[rng_below(g, 6)];
}

static void step(struct prop *p)
{
	struct env *e = &p->e;
	e->now += rng_below(&p->g, 2000) * MS;
	uint32_t r = rng_below(&p->g, 100);
	if (r < 45 && e->n_flight > 0) {
		size_t i = rng_below(&p->g, (uint32_t)e->n_flight);
		enum manager_outcome o;
		if (e->flight_cancelled[i])
			o = rng_below(&p->g, 4) ? MANAGER_OUT_CANCELLED : MANAGER_OUT_CONNECTED;
		else
			o = rng_below(&p->g, 3) == 0 ? MANAGER_OUT_CONNECTED : random_failure(&p->g);
		uint32_t full = manager_connected_out(e->m) >= e->cfg.max_outbound;
		int v = env_complete(e, i, o);
		if (v == MANAGER_DROP)
			cr_assert(full, "a connection dropped while a slot was free");
	} else if (r < 55 && e->n_conn > 0) {
		size_t i = rng_below(&p->g, (uint32_t)e->n_conn);
		int k = env_find(p->asked, p->n_asked, e->conn[i].id);
		if (k >= 0)
			p->asked[k] = p->asked[--p->n_asked];
		env_gone(e, i);
	} else if (r < 65 && p->n_asked > 0) {
		/* A PEX reply from a peer that was asked (the fake address source). */
		size_t k = rng_below(&p->g, (uint32_t)p->n_asked);
		struct netaddr from = p->asked[k], reply[20];
		p->asked[k] = p->asked[--p->n_asked];
		uint32_t n = rng_below(&p->g, 20);
		for (uint32_t i = 0; i < n; i++)
			reply[i] = random_addr(p);
		cr_assert_geq(manager_on_addrs(e->m, &from, rng_below(&p->g, 3) == 0, reply, n, e->now), 0);
		env_drain(e);
	} else if (r < 67) {
		manager_on_inbound_count(e->m, rng_below(&p->g, 3));
	} else {
		int64_t w = manager_next_wakeup(e->m, e->now);
		int64_t at = rng_below(&p->g, 2) && w < e->now + 60 * SEC ? w : e->now;
		env_tick(e, at + rng_below(&p->g, 5) * SEC);
	}
}

static void run_property(bool overdial)
{
	uint64_t dials = 0, drops = 0;
	for (uint64_t seed = 1; seed <= PROP_SEEDS; seed++) {
		struct prop *p = calloc(1, sizeof(*p));
		cr_assert_not_null(p);
		prop_setup(p, seed, overdial);
		env_start(&p->e);
		check(p, 0);
		for (int s = 0; s < PROP_STEPS; s++) {
			env_clear(&p->e);
			step(p);
			check(p, 0);
		}
		dials += manager_stats(p->e.m)->dials[MANAGER_REASON_NORMAL];
		drops += manager_stats(p->e.m)->dropped;
		env_free(&p->e);
		free(p);
	}
	cr_assert_gt(dials, 10000, "the runs did dial (%llu)", (unsigned long long)dials);
	if (overdial)
		cr_assert_gt(drops, 0, "surplus connections were met and dropped");
}

Test(manager_prop, exact_limit_under_random_interleavings, .timeout = 120)
{
	run_property(false);
}

Test(manager_prop, overdial_never_keeps_more_than_the_limit, .timeout = 120)
{
	run_property(true);
}

/* ---- the bootstrap simulator ---- */

Test(manager_prop, sim_mukan_beats_cometbft_on_the_same_networks)
{
	for (uint64_t seed = 1; seed <= 5; seed++) {
		struct sim_config c;
		struct sim_result rm, rc;
		sim_config_defaults(&c, MANAGER_POLICY_MUKAN);
		c.seed = seed;
		cr_assert_eq(sim_bootstrap(&c, &rm), 0);
		sim_config_defaults(&c, MANAGER_POLICY_COMETBFT);
		c.seed = seed;
		cr_assert_eq(sim_bootstrap(&c, &rc), 0);
		cr_assert_gt(rm.fill_ns, 0);
		cr_assert_eq(rm.peak_connected, 10);
		cr_assert_leq(rm.peak_slot_sum, 10, "the exact limit held in the simulation");
		cr_assert_leq(rc.peak_slot_sum, 10);
		cr_assert(rc.fill_ns < 0 || rc.fill_ns > 5 * rm.fill_ns,
			  "seed %llu: mukan %lld ns, cometbft %lld ns", (unsigned long long)seed,
			  (long long)rm.fill_ns, (long long)rc.fill_ns);
		/* Upstream dials only on its 30 s rounds: fill lands just after one. */
		if (rc.fill_ns > 0)
			cr_assert_lt(rc.fill_ns % (30 * SEC), 2 * SEC);
	}
}

Test(manager_prop, sim_overdial_fills_within_a_timeout_or_two)
{
	struct sim_config c;
	struct sim_result r;
	sim_config_defaults(&c, MANAGER_POLICY_MUKAN);
	c.window = 64;
	c.mgr.overdial = 16;
	c.mgr.max_dialing = 64;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		c.seed = seed;
		cr_assert_eq(sim_bootstrap(&c, &r), 0);
		cr_assert_eq(r.peak_connected, 10, "never more than the 10 slots");
		cr_assert_leq(r.peak_in_flight, 64);
		cr_assert_gt(r.fill_ns, 0);
		cr_assert_lt(r.fill_ns, 3 * SEC + SEC / 2, "seed %llu: %lld ns",
			     (unsigned long long)seed, (long long)r.fill_ns);
	}
}

Test(manager_prop, sim_is_deterministic)
{
	struct sim_config c;
	struct sim_result a, b;
	sim_config_defaults(&c, MANAGER_POLICY_MUKAN);
	c.seed = 9;
	cr_assert_eq(sim_bootstrap(&c, &a), 0);
	cr_assert_eq(sim_bootstrap(&c, &b), 0);
	cr_assert_eq(a.fill_ns, b.fill_ns);
	cr_assert_eq(a.dials, b.dials);
	c.n_addrs = 0;
	cr_assert_eq(sim_bootstrap(&c, &a), -EINVAL);
}
