/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_manager_schedule.c - time in the manager: upstream's 30 s rounds
 * under policy cometbft, the first-round delay, upstream's dial history,
 * the persistent-peer redial schedule, wake-ups.
 */
#include "test_manager_env.h"

/* Run the fake engine for `span`: every dial fails `fail_after` after it
 * started (refused); returns how many dials started off the 30 s grid. */
static uint32_t dials_off_the_grid(struct env *e, int64_t span, int64_t fail_after)
{
	static int64_t start[ENV_MAX];
	uint32_t off = 0;
	memset(start, 0, sizeof(start));
	int64_t end = e->now + span;
	size_t seen = 0;
	while (e->now < end) {
		for (; seen < e->n_act; seen++) {
			if (e->act[seen].kind != MANAGER_DIAL)
				continue;
			off += (e->now - T0) % (30 * SEC) != 0;
		}
		for (size_t i = 0; i < e->n_flight; i++)
			start[i] = start[i] ? start[i] : e->now;
		/* Next event: the earliest failure due, or the manager's wake-up. */
		int64_t next = manager_next_wakeup(e->m, e->now);
		int due = -1;
		for (size_t i = 0; i < e->n_flight; i++)
			if (start[i] + fail_after < next) {
				next = start[i] + fail_after;
				due = (int)i;
			}
		if (next > end)
			break;
		if (due >= 0) {
			e->now = next;
			start[due] = start[e->n_flight - 1];
			start[e->n_flight - 1] = 0;
			env_complete(e, (size_t)due, MANAGER_OUT_REFUSED);
		} else {
			env_tick(e, next);
		}
		cr_assert_lt(e->n_act, ENV_MAX - 64);
	}
	return off;
}

Test(manager_schedule, cometbft_dials_only_in_30s_rounds)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_COMETBFT);
	env_fill_book(&e, 300);
	env_new_manager(&e);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 10, "the first round at once (no peers)");
	/* Failures 1.3 s after each dial: the slots wait for the next round. */
	uint32_t off = dials_off_the_grid(&e, 600 * SEC, 1300 * MS);
	cr_assert_eq(off, 0, "%u dials between rounds", off);
	cr_assert_eq(manager_stats(e.m)->rounds, 21, "rounds at 0, 30, ..., 600 s");
	cr_assert_eq(manager_stats(e.m)->fills, 0, "no event-driven refill");
	cr_assert_gt(env_count(&e, MANAGER_DIAL, -1), 100);
	env_free(&e);
}

Test(manager_schedule, mukan_refills_between_rounds)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 300);
	env_new_manager(&e);
	env_start(&e);
	uint32_t off = dials_off_the_grid(&e, 120 * SEC, 1300 * MS);
	cr_assert_gt(off, 100, "refills follow the failures, not the ticker (%u)", off);
	env_free(&e);
}

Test(manager_schedule, cometbft_round_waits_for_the_tick)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_COMETBFT);
	env_fill_book(&e, 100);
	env_new_manager(&e);
	env_start(&e);
	env_clear(&e);
	e.now = T0 + SEC;
	for (int i = 0; i < 4; i++)
		env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
	cr_assert_eq(manager_next_wakeup(e.m, e.now), T0 + 30 * SEC);
	env_tick(&e, T0 + 30 * SEC - 1);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0);
	env_tick(&e, T0 + 30 * SEC);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 4, "numToDial = 10 - (0 + 6)");
	cr_assert_eq(manager_next_wakeup(e.m, e.now), T0 + 60 * SEC);
	/* A late tick runs one round and keeps the grid (Go's ticker). */
	env_tick(&e, T0 + 95 * SEC);
	cr_assert_eq(manager_next_wakeup(e.m, e.now), T0 + 120 * SEC);
	env_free(&e);
}

/* The first round's time for a manager that starts with one inbound peer. */
static int64_t first_round_with_peers(enum manager_policy policy, uint64_t seed, bool inbound)
{
	struct env e;
	env_config_seed(&e, policy, seed);
	env_fill_book(&e, 50);
	env_new_manager(&e);
	if (inbound) {
		manager_on_inbound_count(e.m, 1);
	} else {
		struct netaddr na = env_distinct(900);
		env_adopt(&e, &na);
	}
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0, "nothing before the delayed first round");
	int64_t at = manager_next_wakeup(e.m, e.now);
	if (at > T0) {
		env_tick(&e, at - 1);
		cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0);
	}
	env_tick(&e, at);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), inbound ? 10 : 9, "the round runs at its time");
	env_free(&e);
	return at - T0;
}

Test(manager_schedule, first_round_delay_when_peers_exist)
{
	for (int policy = 0; policy < 2; policy++) {
		int64_t lo = INT64_MAX, hi = 0;
		for (uint64_t seed = 1; seed <= 40; seed++) {
			int64_t d = first_round_with_peers((enum manager_policy)policy, seed, seed % 2);
			cr_assert_geq(d, 0);
			cr_assert_lt(d, 30 * SEC, "delay %lld ns beyond the period", (long long)d);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		cr_assert_lt(lo, 8 * SEC, "U[0, 30 s): the low end is reached (%lld)", (long long)lo);
		cr_assert_gt(hi, 22 * SEC, "U[0, 30 s): the high end is reached (%lld)", (long long)hi);
	}
}

Test(manager_schedule, first_round_at_once_without_peers)
{
	for (int policy = 0; policy < 2; policy++) {
		struct env e;
		env_config(&e, (enum manager_policy)policy);
		env_fill_book(&e, 50);
		env_new_manager(&e);
		env_start(&e);
		cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 10);
		env_free(&e);
	}
}

Test(manager_schedule, cometbft_history_backoff_and_ban_after_16_attempts)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_COMETBFT);
	e.cfg.max_outbound = 1;
	env_fill_book(&e, 1);
	struct netaddr na = env_distinct(0);
	env_new_manager(&e);
	env_start(&e);
	int64_t last_fail = 0;
	uint32_t dials = 0;
	/* Every dial fails 1 s later; 2^attempts s + U[0,1) s must pass before
	 * the next, checked only at a round. Upstream: ~35 h in all. */
	while (e.now < T0 + 48 * 3600 * SEC && !book_is_banned(e.b, na.id, e.now)) {
		if (e.n_flight == 1) {
			if (dials > 0) {
				int64_t gap = e.now - last_fail, need = ((int64_t)1 << dials) * SEC;
				cr_assert_geq(gap, need, "dial %u after %lld ns", dials + 1, (long long)gap);
				cr_assert_lt(gap, need + SEC + 30 * SEC, "dial %u one round late", dials + 1);
			}
			dials++;
			e.now += SEC;
			last_fail = e.now;
			env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
			cr_assert_eq(env_rec(&e, &na)->attempts, (int32_t)dials, "book MarkAttempt");
		}
		env_tick(&e, manager_next_wakeup(e.m, e.now));
	}
	cr_assert(book_is_banned(e.b, na.id, e.now), "banned 24 h once attempts > 16");
	cr_assert_eq(dials, 17);
	cr_assert_gt(manager_stats(e.m)->too_early, 1000, "rounds that found it too early");
	int64_t total = e.now - T0;
	cr_assert_gt(total, 30 * 3600 * SEC, "about 35 h of redials (%lld s)", (long long)(total / SEC));
	cr_assert_lt(total, 40 * 3600 * SEC);
	env_free(&e);
}

/* Dial times of persistent peer `pp`, which refuses every dial at once. */
static size_t persistent_dial_times(struct env *e, const struct netaddr *pp, int64_t *t, size_t max,
				    int64_t span)
{
	size_t n = 0;
	int64_t end = e->now + span;
	for (;;) {
		int i;
		while ((i = env_find(e->flight, e->n_flight, pp->id)) >= 0) {
			cr_assert_eq(e->flight_reason[i], MANAGER_REASON_PERSISTENT);
			cr_assert_lt(n, max);
			t[n++] = e->now;
			env_complete(e, (size_t)i, MANAGER_OUT_REFUSED);
		}
		int64_t w = manager_next_wakeup(e->m, e->now);
		if (w > end)
			return n;
		env_tick(e, w);
	}
}

static void persistent_env(struct env *e, enum manager_policy policy, struct netaddr *pp)
{
	env_config(e, policy);
	e->cfg.max_outbound = 2;
	*pp = env_distinct(77);
	env_new_manager(e);
	cr_assert_eq(manager_add_persistent(e->m, pp, e->now), 0);
}

Test(manager_schedule, persistent_upstream_schedule)
{
	for (int policy = 0; policy < 2; policy++) {
		struct env e;
		struct netaddr pp;
		persistent_env(&e, (enum manager_policy)policy, &pp);
		env_start(&e);
		int64_t t[64];
		size_t n = persistent_dial_times(&e, &pp, t, 64, 40 * 3600 * SEC);
		if (policy == MANAGER_POLICY_COMETBFT) {
			cr_assert_lt(t[0] - T0, 3 * SEC, "DialPeersAsync: U[0, 3 s) at start");
			cr_assert_eq(n, 31, "the startup dial, then 20 + 10 tries, then it gives up");
			cr_assert_eq(manager_peer_state(e.m, pp.id, e.now), MANAGER_CANDIDATE);
		} else {
			cr_assert_eq(t[0], T0, "dialed at start");
			cr_assert_geq(n, 32, "mukan keeps trying after the schedule");
			cr_assert_eq(manager_peer_state(e.m, pp.id, e.now), MANAGER_RECONNECTING);
		}
		/* The failed startup dial starts an episode: its first try is at once. */
		cr_assert_eq(t[1], t[0]);
		for (size_t k = 1; k < 20; k++) {
			int64_t gap = t[k + 1] - t[k];
			cr_assert_geq(gap, 5 * SEC, "quick try %zu: %lld", k, (long long)gap);
			cr_assert_lt(gap, 8 * SEC, "quick try %zu: %lld", k, (long long)gap);
		}
		/* After the 20th: the last 5 s sleep plus the first 3^0 s one. */
		cr_assert_geq(t[21] - t[20], 6 * SEC);
		cr_assert_lt(t[21] - t[20], 12 * SEC);
		int64_t p3 = 3 * SEC;
		for (size_t k = 21; k < 30; k++, p3 *= 3) {
			int64_t gap = t[k + 1] - t[k];
			cr_assert_geq(gap, p3, "backoff try %zu: %lld", k, (long long)gap);
			cr_assert_lt(gap, p3 + 3 * SEC, "backoff try %zu: %lld", k, (long long)gap);
		}
		if (policy == MANAGER_POLICY_MUKAN) {
			cr_assert_geq(t[31] - t[30], 19683 * SEC, "then every 3^9 s");
			cr_assert_lt(t[31] - t[30], 19686 * SEC);
		}
		env_free(&e);
	}
}

Test(manager_schedule, persistent_schedule_is_configurable)
{
	struct env e;
	struct netaddr pp;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.persist.quick_tries = 2;
	e.cfg.persist.quick_interval_ns = SEC;
	e.cfg.persist.jitter_ns = 0;
	e.cfg.persist.backoff_tries = 3;
	e.cfg.persist.backoff_base = 2;
	e.cfg.persist.forever = false;
	pp = env_distinct(77);
	env_new_manager(&e);
	cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), 0);
	env_start(&e);
	int64_t t[16];
	size_t n = persistent_dial_times(&e, &pp, t, 16, 3600 * SEC);
	/* start, at once, +1, +(1 + 2^0), +2^1, +2^2, then give up. */
	static const int64_t want[] = { 0, 0, 1, 3, 5, 9 };
	cr_assert_eq(n, 6);
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(t[k], T0 + want[k] * SEC, "try %zu at %lld s", k, (long long)((t[k] - T0) / SEC));
	env_free(&e);
}

Test(manager_schedule, persistent_max_dial_period_caps_every_wait)
{
	struct env e;
	struct netaddr pp;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.persist.max_period_ns = 10 * SEC;
	pp = env_distinct(77);
	env_new_manager(&e);
	cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), 0);
	env_start(&e);
	int64_t t[256];
	size_t n = persistent_dial_times(&e, &pp, t, 256, 1800 * SEC);
	cr_assert_gt(n, 150, "1800 s at most 10 s apart: %zu tries", n);
	for (size_t k = 1; k + 1 < n; k++)
		cr_assert_leq(t[k + 1] - t[k], 10 * SEC);
	env_free(&e);
}

Test(manager_schedule, persistent_peers_ignore_the_outbound_limit)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.max_outbound = 2;
	env_fill_book(&e, 50);
	env_new_manager(&e);
	struct netaddr p1 = env_distinct(501), p2 = env_distinct(502);
	cr_assert_eq(manager_add_persistent(e.m, &p1, e.now), 0);
	cr_assert_eq(manager_add_persistent(e.m, &p2, e.now), 0);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_PERSISTENT), 2);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_NORMAL), 2);
	cr_assert_eq(manager_dialing_out(e.m), 2);
	env_complete_id(&e, p1.id, MANAGER_OUT_CONNECTED);
	env_complete_id(&e, p2.id, MANAGER_OUT_CONNECTED);
	cr_assert_eq(manager_connected_out(e.m), 0);
	struct manager_counts c;
	manager_counts(e.m, e.now, &c);
	cr_assert_eq(c.persistent_connected, 2);
	cr_assert_eq(c.state[MANAGER_CONNECTED], 2);
	env_free(&e);
}

Test(manager_schedule, persistent_peers_are_never_banned)
{
	struct env e;
	struct netaddr pp;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.rules.fail_limit = 1;
	pp = env_distinct(77);
	env_new_manager(&e);
	cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), 0);
	cr_assert(env_rec(&e, &pp)->flags & MUKAN_PEER_PERSISTENT);
	env_start(&e);
	int64_t t[64];
	persistent_dial_times(&e, &pp, t, 64, 600 * SEC);
	cr_assert_geq(env_rec(&e, &pp)->failures, 20);
	cr_assert_not(book_is_banned(e.b, pp.id, e.now));
	/* Nor for a failed handshake. */
	while (env_find(e.flight, e.n_flight, pp.id) < 0)
		env_tick(&e, manager_next_wakeup(e.m, e.now));
	cr_assert_eq(env_complete_id(&e, pp.id, MANAGER_OUT_REJECTED), 0);
	cr_assert_not(book_is_banned(e.b, pp.id, e.now));
	cr_assert_geq(book_find(e.b, pp.id), 0, "never removed");
	env_free(&e);
}

Test(manager_schedule, persistent_peer_lost_is_redialed_at_once)
{
	struct env e;
	struct netaddr pp;
	persistent_env(&e, MANAGER_POLICY_MUKAN, &pp);
	env_start(&e);
	env_complete_id(&e, pp.id, MANAGER_OUT_CONNECTED);
	cr_assert_eq(manager_peer_state(e.m, pp.id, e.now), MANAGER_CONNECTED);
	env_clear(&e);
	e.now += 3600 * SEC;
	env_gone(&e, (size_t)env_find(e.conn, e.n_conn, pp.id));
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_PERSISTENT), 1);
	cr_assert_eq(manager_peer_state(e.m, pp.id, e.now), MANAGER_DIALING);
	env_free(&e);
}

Test(manager_schedule, persistent_peers_are_never_dialed_as_normal_peers)
{
	/* Upstream bug 3522: the PEX reactor dialed persistent peers it found
	 * in the book. Here not even after upstream gave up on one. */
	struct env e;
	struct netaddr pp;
	env_config(&e, MANAGER_POLICY_COMETBFT);
	e.cfg.max_outbound = 2;
	pp = env_distinct(77);
	struct netaddr other = env_distinct(78);
	env_book_add(&e, &other);
	env_new_manager(&e);
	cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), 0);
	env_start(&e);
	int64_t t[64];
	persistent_dial_times(&e, &pp, t, 64, 30 * 3600 * SEC);
	cr_assert_eq(manager_peer_state(e.m, pp.id, e.now), MANAGER_CANDIDATE, "given up");
	env_clear(&e);
	for (int k = 0; k < 100; k++)
		env_tick(&e, e.now + 30 * SEC);
	for (size_t i = 0; i < e.n_act; i++)
		cr_assert(memcmp(e.act[i].addr.id, pp.id, MUKAN_ID_LEN) != 0, "dialed by a round");
	env_free(&e);
}

Test(manager_schedule, adopted_persistent_peer_is_not_redialed)
{
	struct env e;
	struct netaddr pp;
	persistent_env(&e, MANAGER_POLICY_MUKAN, &pp);
	env_adopt(&e, &pp);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_PERSISTENT), 0);
	cr_assert_eq(manager_peer_state(e.m, pp.id, e.now), MANAGER_CONNECTED);
	env_free(&e);
}

Test(manager_schedule, next_wakeup_is_the_earliest_timer)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 50);
	struct netaddr pp = env_distinct(777);
	env_new_manager(&e);
	cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), 0);
	env_start(&e);
	cr_assert_eq(manager_next_wakeup(e.m, e.now), T0 + 30 * SEC, "the next round");
	env_complete_id(&e, pp.id, MANAGER_OUT_REFUSED);
	env_complete_id(&e, pp.id, MANAGER_OUT_REFUSED);
	int64_t w = manager_next_wakeup(e.m, e.now);
	cr_assert_geq(w, T0 + 5 * SEC, "the persistent redial, before the round");
	cr_assert_lt(w, T0 + 8 * SEC);
	cr_assert_eq(manager_next_wakeup(e.m, T0 + 3600 * SEC), T0 + 3600 * SEC, "overdue: now");
	env_free(&e);
}
