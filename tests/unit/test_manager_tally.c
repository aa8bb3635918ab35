/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_manager_tally.c - the counts `status` reports, kept as things change
 * (manager_tally.c), against a full walk of the book after every event: many
 * seeds, each a random run of dial outcomes, lost peers, bans and removals,
 * additions, reinstatements, records the kernel changed (backoff, bans) and
 * time passing across their ends. The walk is the one manager_counts did
 * before the counts were kept: tracked peers by state, every other record a
 * candidate (in backoff or not) or bad.
 */
#include <stdlib.h>

#include "book/rng.h"
#include "manager/manager_internal.h"
#include "test_manager_env.h"

#define TALLY_SEEDS 60
#define TALLY_STEPS 400

/* What manager_counts must say, counted the slow way. */
static void walk_counts(const struct manager *m, int64_t now, struct manager_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < m->cap_peers; i++)
		if (m->peers[i].in_use)
			out->state[m->peers[i].state]++;
	for (int s = book_next_slot(m->book, 0); s >= 0; s = book_next_slot(m->book, (uint32_t)s + 1)) {
		const struct mukan_peer *p = book_slot(m->book, (uint32_t)s);
		if (mgr_find(m, p->id) >= 0)
			continue;
		bool bad = (p->flags & MUKAN_PEER_BANNED) || rules_is_banned(p, now);
		out->state[bad ? MANAGER_BAD : MANAGER_CANDIDATE]++;
		out->backoff += !bad && !rules_may_dial(p, now);
	}
}

static void check(struct env *e, uint64_t seed, int step, const char *what)
{
	struct manager_counts got, want;
	manager_counts(e->m, e->now, &got);
	walk_counts(e->m, e->now, &want);
	for (int s = 0; s < MANAGER_N_STATES; s++)
		cr_assert_eq(got.state[s], want.state[s],
			     "seed %llu step %d (%s): %s %u, the book says %u",
			     (unsigned long long)seed, step, what, manager_state_name(s), got.state[s],
			     want.state[s]);
	cr_assert_eq(got.backoff, want.backoff, "seed %llu step %d (%s): backoff %u, the book says %u",
		     (unsigned long long)seed, step, what, got.backoff, want.backoff);
}

/* A random record of the book (any slot in use), or -1. */
static int random_slot(struct env *e, struct rng *g)
{
	uint32_t cap = book_capacity(e->b);
	for (int tries = 0; tries < 64; tries++) {
		int s = book_next_slot(e->b, rng_below(g, cap));
		if (s >= 0)
			return s;
	}
	return book_next_slot(e->b, 0);
}

Test(manager_tally, counts_kept_as_things_change_equal_a_walk_of_the_book)
{
	for (uint64_t seed = 1; seed <= TALLY_SEEDS; seed++) {
		struct env e;
		struct rng g;
		rng_seed(&g, seed);
		env_config_seed(&e, (enum manager_policy)rng_below(&g, 2), seed);
		e.cfg.max_outbound = 1 + rng_below(&g, 8);
		e.cfg.rules.fail_limit = 1 + rng_below(&g, 3); /* bans come soon */
		e.cfg.rules.backoff_base_ns = SEC;
		e.cfg.rules.backoff_cap_ns = 20 * SEC;
		if (e.cfg.policy == MANAGER_POLICY_MUKAN)
			e.cfg.overdial = 1 + rng_below(&g, 4);
		uint32_t next = 0;
		for (uint32_t i = rng_below(&g, 200); i > 0; i--, next++) {
			struct netaddr na = env_distinct(next);
			env_book_add_from(&e, &na, next);
		}
		env_new_manager(&e);
		for (uint32_t i = rng_below(&g, 3); i > 0; i--, next++) {
			struct netaddr pp = env_distinct(next);
			if (rng_below(&g, 2))
				env_book_add_from(&e, &pp, next);
			cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), 0);
		}
		env_start(&e);
		check(&e, seed, 0, "start");
		for (int step = 1; step <= TALLY_STEPS; step++) {
			env_clear(&e);
			const char *what = "";
			unsigned op = rng_below(&g, 10);
			if (op <= 2 && e.n_flight > 0) {
				what = "dial done";
				size_t i = rng_below(&g, (uint32_t)e.n_flight);
				static const enum manager_outcome outs[] = {
					MANAGER_OUT_CONNECTED, MANAGER_OUT_REFUSED, MANAGER_OUT_TIMED_OUT,
					MANAGER_OUT_UNREACHABLE, MANAGER_OUT_REJECTED,
				};
				enum manager_outcome o = e.flight_cancelled[i] ? MANAGER_OUT_CANCELLED
									       : outs[rng_below(&g, 5)];
				env_complete(&e, i, o);
			} else if (op == 3 && e.n_conn > 0) {
				what = "peer gone";
				env_gone(&e, rng_below(&g, (uint32_t)e.n_conn));
			} else if (op == 4) {
				what = "mark bad";
				int s = random_slot(&e, &g);
				if (s >= 0) {
					uint8_t id[MUKAN_ID_LEN];
					memcpy(id, book_slot(e.b, (uint32_t)s)->id, MUKAN_ID_LEN);
					book_mark_bad(e.b, id, (int64_t)(1 + rng_below(&g, 60)) * SEC, e.now);
				}
			} else if (op == 5) {
				what = "remove or add";
				int s = random_slot(&e, &g);
				if (s >= 0 && rng_below(&g, 2)) {
					uint8_t id[MUKAN_ID_LEN];
					memcpy(id, book_slot(e.b, (uint32_t)s)->id, MUKAN_ID_LEN);
					book_remove(e.b, id);
				} else {
					struct netaddr na = env_distinct(next);
					env_book_add_from(&e, &na, next++);
				}
			} else if (op == 6) {
				/* The kernel recorded a connect the manager did not make. */
				what = "kernel write";
				int s = random_slot(&e, &g);
				if (s >= 0) {
					struct mukan_peer *p = book_slot_mut(e.b, (uint32_t)s);
					int64_t later = e.now + (int64_t)(1 + rng_below(&g, 30)) * SEC;
					if (rng_below(&g, 3) == 0)
						p->ban_until = later;
					else if (rng_below(&g, 2))
						p->next_dial = later;
					else
						p->next_dial = MUKAN_TIME_NEVER; /* it connected */
					manager_note_record(e.m, (uint32_t)s, e.now);
				}
			} else if (op == 7) {
				what = "reinstate";
				book_reinstate(e.b, e.now);
			} else {
				what = "time";
				env_tick(&e, e.now + (int64_t)rng_below(&g, 8000) * MS);
			}
			check(&e, seed, step, what);
		}
		/* Long after every backoff and ban of the run. */
		e.now += 3600 * SEC;
		check(&e, seed, TALLY_STEPS + 1, "an hour later");
		manager_recount(e.m, e.now);
		check(&e, seed, TALLY_STEPS + 2, "recount");
		env_free(&e);
	}
}
