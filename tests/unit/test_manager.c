/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_manager.c - the ensure-peers policy: the outbound limit, what is
 * picked and skipped, groups, event-driven refill, outcomes into the records,
 * life-cycle states. Fake clock, fake engine (test_manager_env.h).
 */
#include "test_manager_env.h"

Test(manager, first_round_dials_exactly_the_free_slots)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 100);
	env_new_manager(&e);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_NORMAL), 10);
	cr_assert_eq(e.n_act, 10, "nothing but the dials (no peer to ask, no seeds): %zu", e.n_act);
	cr_assert_eq(manager_dialing_out(e.m), 10);
	cr_assert_eq(manager_connected_out(e.m), 0);
	/* A tick with every slot taken changes nothing. */
	env_clear(&e);
	env_tick(&e, e.now + 31 * SEC);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0);
	env_free(&e);
}

Test(manager, connects_take_the_slot_failures_free_it_at_once)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 100);
	env_new_manager(&e);
	env_start(&e);
	env_clear(&e);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(env_complete(&e, 0, MANAGER_OUT_CONNECTED), MANAGER_KEEP);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0, "a connect refills nothing");
	cr_assert_eq(manager_connected_out(e.m), 3);
	cr_assert_eq(manager_dialing_out(e.m), 7);
	/* Each failure is replaced in the same call: event-driven refill. */
	e.now += SEC;
	env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_NORMAL), 1);
	env_complete(&e, 0, MANAGER_OUT_REFUSED);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_NORMAL), 2);
	cr_assert_eq(manager_dialing_out(e.m) + manager_connected_out(e.m), 10);
	env_free(&e);
}

Test(manager, lost_peer_is_replaced_at_once)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 100);
	env_new_manager(&e);
	env_start(&e);
	while (e.n_flight)
		env_complete(&e, 0, MANAGER_OUT_CONNECTED);
	cr_assert_eq(manager_connected_out(e.m), 10);
	env_clear(&e);
	e.now += 5 * SEC;
	env_gone(&e, 4);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_NORMAL), 1);
	cr_assert_eq(manager_connected_out(e.m), 9);
	cr_assert_eq(manager_dialing_out(e.m), 1);
	cr_assert_eq(manager_on_peer_gone(e.m, e.conn[0].id, e.now) == 0, true);
	cr_assert_eq(manager_on_peer_gone(e.m, e.conn[0].id, e.now), -ENOENT, "gone twice");
	env_free(&e);
}

Test(manager, unknown_completion_is_refused)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 200);
	env_new_manager(&e);
	env_start(&e);
	struct netaddr stranger = env_distinct(5000);
	cr_assert_eq(manager_on_dial_done(e.m, stranger.id, MANAGER_OUT_CONNECTED, 0, e.now), -ENOENT);
	cr_assert_eq(manager_on_dial_done(e.m, e.flight[0].id, (enum manager_outcome)99, 0, e.now),
		     -EINVAL);
	struct netaddr first = e.flight[0];
	env_complete(&e, 0, MANAGER_OUT_REFUSED);
	cr_assert_eq(manager_on_dial_done(e.m, first.id, MANAGER_OUT_REFUSED, 0, e.now), -ENOENT,
		     "a second report of one dial");
	cr_assert_eq(manager_dialing_out(e.m), 10);
	env_free(&e);
}

Test(manager, addresses_in_backoff_or_banned_are_skipped)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 40);
	/* 30 of 40 in backoff or banned: exactly the other 10 may be dialed. */
	for (uint32_t i = 0; i < 30; i++) {
		struct netaddr na = env_distinct(i);
		struct mukan_peer *p = env_rec(&e, &na);
		if (i % 2)
			p->next_dial = e.now + 3600 * SEC;
		else
			p->ban_until = e.now + 3600 * SEC; /* as the kernel bans: no flag */
	}
	env_new_manager(&e);
	env_start(&e);
	uint32_t dialed = 0;
	for (int round = 0; round < 20 && dialed < 10; round++) {
		for (size_t i = 0; i < e.n_act; i++)
			cr_assert_geq(env_num(e.act[i].addr.id) - 1000, 30,
				      "address %u is in backoff or banned",
				      env_num(e.act[i].addr.id) - 1000);
		dialed += (uint32_t)env_count(&e, MANAGER_DIAL, -1);
		env_clear(&e);
		env_tick(&e, e.now + 5 * SEC); /* the refill retry */
	}
	cr_assert_eq(dialed, 10);
	/* A kernel ban met at pick time moves the record to the book's ban list. */
	cr_assert_gt(book_n_banned(e.b), 0);
	struct netaddr banned = env_distinct(0);
	if (book_is_banned(e.b, banned.id, e.now))
		cr_assert_eq(manager_peer_state(e.m, banned.id, e.now), MANAGER_BAD);
	env_free(&e);
}

Test(manager, empty_slots_retry_when_the_backoff_ends)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 5);
	for (uint32_t i = 0; i < 5; i++) {
		struct netaddr na = env_distinct(i);
		env_rec(&e, &na)->next_dial = e.now + 2 * SEC + i * SEC;
	}
	env_new_manager(&e);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0);
	/* The wake-up is the first backoff end the picks met, not 30 s away. */
	int64_t wake = manager_next_wakeup(e.m, e.now);
	cr_assert_geq(wake, T0 + 2 * SEC);
	cr_assert_leq(wake, T0 + 5 * SEC, "retry no later than refill_retry (5 s)");
	env_tick(&e, T0 + 7 * SEC);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 5);
	env_free(&e);
}

Test(manager, pick_budget_is_three_per_free_slot)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 100);
	for (uint32_t i = 0; i < 100; i++) {
		struct netaddr na = env_distinct(i);
		env_rec(&e, &na)->next_dial = e.now + 3600 * SEC;
	}
	env_new_manager(&e);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0);
	cr_assert_eq(manager_stats(e.m)->picks, 30, "upstream: maxAttempts = numToDial * 3");
	env_free(&e);
}

Test(manager, one_dial_per_ip_unless_duplicates_allowed)
{
	for (int allow = 0; allow < 2; allow++) {
		struct env e;
		env_config(&e, MANAGER_POLICY_MUKAN);
		e.cfg.allow_duplicate_ip = allow;
		e.cfg.prefer_distinct_groups = false;
		/* 20 IDs on 2 IPs (different ports). */
		for (uint32_t i = 0; i < 20; i++) {
			struct netaddr na = env_na(7000 + i, 33, 44, 1, 1 + (int)(i % 2));
			na.a.port = (uint16_t)(30000 + i);
			env_book_add(&e, &na);
		}
		env_new_manager(&e);
		env_start(&e);
		for (int k = 0; k < 10; k++)
			env_tick(&e, e.now + 6 * SEC);
		size_t dials = env_count(&e, MANAGER_DIAL, -1);
		if (allow)
			cr_assert_eq(manager_dialing_out(e.m), 10, "distinct ip:port may share an IP");
		else
			cr_assert_eq(dials, 2, "one dial per IP: %zu", dials);
		env_free(&e);
	}
}

Test(manager, bias_follows_the_outbound_count)
{
	/* Upstream bias: 10 towards new with no outbound peer, 90 with 8 or more. */
	uint32_t old_picks[2] = { 0, 0 }, total[2] = { 0, 0 };
	for (uint64_t seed = 1; seed <= 10; seed++) {
		for (int many = 0; many < 2; many++) {
			struct env e;
			env_config_seed(&e, MANAGER_POLICY_MUKAN, seed);
			e.cfg.max_outbound = many ? 10 : 2;
			env_fill_book(&e, 400);
			for (uint32_t i = 0; i < 200; i++) {
				struct netaddr na = env_distinct(i);
				cr_assert_eq(book_mark_good(e.b, na.id, e.now), 0);
			}
			env_new_manager(&e);
			/* Adopted connections stand for 8 outbound peers already up. */
			for (uint32_t i = 0; many && i < 8; i++) {
				struct netaddr na = env_distinct(6000 + i);
				env_adopt(&e, &na);
			}
			env_start(&e);
			env_tick(&e, e.now + 30 * SEC); /* past the first-round delay */
			for (size_t i = 0; i < e.n_act; i++) {
				if (e.act[i].kind != MANAGER_DIAL)
					continue;
				total[many]++;
				old_picks[many] += book_is_good(e.b, e.act[i].addr.id);
			}
			env_free(&e);
		}
	}
	cr_assert_eq(total[0], 20);
	cr_assert_eq(total[1], 20);
	cr_assert_geq(old_picks[0], 15, "bias 10: mostly old (%u of 20)", old_picks[0]);
	cr_assert_leq(old_picks[1], 5, "bias 90: mostly new (%u of 20)", old_picks[1]);
}

/* Dials into 60.70.0.0/16 in the first round, over 5 books of 100 addresses
 * in that /16 and 200 in 200 other /16s. */
static uint32_t dials_into_big_group(bool prefer)
{
	uint32_t in_big = 0;
	for (uint64_t seed = 1; seed <= 5; seed++) {
		struct env e;
		env_config_seed(&e, MANAGER_POLICY_MUKAN, seed);
		e.cfg.prefer_distinct_groups = prefer;
		for (uint32_t i = 0; i < 100; i++) {
			struct netaddr na = env_in_group(i, 60, 70);
			env_book_add_from(&e, &na, i);
		}
		env_fill_book(&e, 200);
		env_new_manager(&e);
		env_start(&e);
		cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 10);
		for (size_t i = 0; i < e.n_act; i++)
			in_big += e.act[i].addr.a.ip[0] == 60 && e.act[i].addr.a.ip[1] == 70;
		env_free(&e);
	}
	return in_big;
}

Test(manager, outbound_peers_come_from_distinct_groups)
{
	/* At random about a third of the 50 dials would go to the one /16. */
	uint32_t without = dials_into_big_group(false), with = dials_into_big_group(true);
	cr_assert_geq(without, 8, "without the preference: %u of 50", without);
	cr_assert_leq(with, 5, "at most one per round while other groups are free: %u of 50", with);
}

Test(manager, group_preference_never_leaves_a_slot_empty)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	/* Two groups only. */
	for (uint32_t i = 0; i < 40; i++) {
		struct netaddr na = env_in_group(i, i % 2 ? 60 : 61, 70);
		env_book_add_from(&e, &na, i);
	}
	env_new_manager(&e);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 10, "all 10 slots in the first round");
	while (e.n_flight)
		env_complete(&e, 0, MANAGER_OUT_CONNECTED);
	cr_assert_eq(manager_connected_out(e.m), 10);
	env_free(&e);
}

Test(manager, failures_are_recorded_with_the_shared_rules)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.rules.backoff_jitter_ns = 0;
	e.cfg.rules.fail_limit = 3;
	e.cfg.max_outbound = 1;
	env_fill_book(&e, 1);
	struct netaddr na = env_distinct(0);
	env_new_manager(&e);
	env_start(&e);
	struct mukan_peer *p = env_rec(&e, &na);
	cr_assert_eq(p->dials, 1);
	cr_assert_eq(p->last_dial, T0);
	e.now = T0 + SEC;
	env_complete(&e, 0, MANAGER_OUT_REFUSED);
	cr_assert_eq(p->failures, 1);
	cr_assert_eq(p->attempts, 1);
	cr_assert_eq(p->last_error, ECONNREFUSED);
	cr_assert_eq(p->next_dial, T0 + SEC + 2 * SEC, "base backoff 2 s");
	cr_assert_eq(manager_peer_state(e.m, na.id, e.now), MANAGER_CANDIDATE);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 1, "not redialed inside its backoff");

	env_tick(&e, p->next_dial);
	cr_assert_eq(e.n_flight, 1);
	env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
	cr_assert_eq(p->failures, 2);
	cr_assert_eq(p->last_error, ETIMEDOUT);
	cr_assert_eq(p->next_dial, e.now + 4 * SEC);

	env_tick(&e, p->next_dial);
	cr_assert_eq(e.n_flight, 1);
	int64_t t = e.now;
	env_complete(&e, 0, MANAGER_OUT_UNREACHABLE);
	cr_assert(book_is_banned(e.b, na.id, t), "banned at the failure limit");
	cr_assert_eq(p->ban_until, t + (int64_t)e.cfg.rules.ban_ns);
	cr_assert_eq(manager_peer_state(e.m, na.id, t), MANAGER_BAD);
	env_free(&e);
}

Test(manager, success_clears_failures)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.max_outbound = 1;
	env_fill_book(&e, 1);
	struct netaddr na = env_distinct(0);
	struct mukan_peer *p = env_rec(&e, &na);
	p->failures = 4;
	p->last_error = ETIMEDOUT;
	env_new_manager(&e);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 1, "only failed candidates: dialed anyway");
	e.now += 50 * MS;
	env_complete(&e, 0, MANAGER_OUT_CONNECTED);
	cr_assert_eq(p->failures, 0);
	cr_assert_eq(p->last_error, 0);
	cr_assert_eq(p->next_dial, MUKAN_TIME_NEVER);
	cr_assert_eq(p->last_connected, e.now);
	env_free(&e);
}

Test(manager, kernel_recorded_outcomes_are_not_written_twice)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.record_outcomes = false; /* BPF on: sock_ops wrote it */
	e.cfg.max_outbound = 3;
	env_fill_book(&e, 3);
	env_new_manager(&e);
	env_start(&e);
	struct netaddr a = e.flight[0], b = e.flight[1], c = e.flight[2];
	env_complete_id(&e, a.id, MANAGER_OUT_TIMED_OUT);
	cr_assert_eq(env_rec(&e, &a)->failures, 0);
	cr_assert_eq(env_rec(&e, &a)->dials, 0, "the kernel counts dials");
	/* What the kernel cannot see: an error before the SYN, a failed handshake. */
	manager_on_dial_done(e.m, b.id, MANAGER_OUT_LOCAL_ERROR, ENETUNREACH, e.now);
	cr_assert_eq(env_rec(&e, &b)->failures, 1);
	cr_assert_eq(env_rec(&e, &b)->last_error, ENETUNREACH);
	manager_on_dial_done(e.m, c.id, MANAGER_OUT_REJECTED, 0, e.now);
	cr_assert(book_is_banned(e.b, c.id, e.now), "a wrong node ID bans 24 h");
	cr_assert_eq(env_rec(&e, &c)->ban_until, e.now + MUKAN_NS_PER_DAY);
	env_free(&e);
}

Test(manager, local_errors_that_are_not_the_peers_add_no_failure)
{
	/* The connect gate (EPERM), an engine window that was full (EBUSY), a
	 * dial the engine already had (EALREADY): nothing left for the peer. */
	static const int ours[] = { EPERM, EBUSY, EALREADY };
	for (int k = 0; k < 3; k++) {
		struct env e;
		env_config(&e, MANAGER_POLICY_MUKAN);
		e.cfg.max_outbound = 1;
		env_fill_book(&e, 1);
		env_new_manager(&e);
		env_start(&e);
		struct netaddr a = e.flight[0];
		cr_assert_eq(manager_on_dial_done(e.m, a.id, MANAGER_OUT_LOCAL_ERROR, ours[k], e.now), 0);
		cr_assert_eq(env_rec(&e, &a)->failures, 0);
		cr_assert_eq(env_rec(&e, &a)->next_dial, MUKAN_TIME_NEVER);
		env_free(&e);
	}
}

Test(manager, states_and_counts)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.max_outbound = 4;
	env_fill_book(&e, 20);
	struct netaddr banned = env_distinct(19), later = env_distinct(18);
	cr_assert_eq(book_mark_bad(e.b, banned.id, 3600 * SEC, e.now), 0);
	env_rec(&e, &later)->next_dial = e.now + 3600 * SEC;
	struct netaddr pp = env_distinct(500);
	env_new_manager(&e);
	cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), 0);
	env_start(&e);
	/* 4 slot dials + the persistent one. */
	cr_assert_eq(e.n_flight, 5);
	int ipp = env_find(e.flight, e.n_flight, pp.id);
	cr_assert_geq(ipp, 0);
	env_complete(&e, (size_t)ipp, MANAGER_OUT_REFUSED); /* redialed at once ... */
	ipp = env_find(e.flight, e.n_flight, pp.id);
	env_complete(&e, (size_t)ipp, MANAGER_OUT_REFUSED); /* ... then waits 5..8 s */
	size_t slot_dial = 0;
	while (memcmp(e.flight[slot_dial].id, pp.id, MUKAN_ID_LEN) == 0)
		slot_dial++;
	struct netaddr up = e.flight[slot_dial];
	env_complete(&e, slot_dial, MANAGER_OUT_CONNECTED);

	cr_assert_eq(manager_peer_state(e.m, pp.id, e.now), MANAGER_RECONNECTING);
	cr_assert_eq(manager_peer_state(e.m, up.id, e.now), MANAGER_CONNECTED);
	cr_assert_eq(manager_peer_state(e.m, e.flight[0].id, e.now), MANAGER_DIALING);
	cr_assert_eq(manager_peer_state(e.m, banned.id, e.now), MANAGER_BAD);
	cr_assert_eq(manager_peer_state(e.m, later.id, e.now), MANAGER_CANDIDATE);
	struct netaddr nobody = env_distinct(7777);
	cr_assert_eq(manager_peer_state(e.m, nobody.id, e.now), -ENOENT);

	struct manager_counts c;
	manager_counts(e.m, e.now, &c);
	cr_assert_eq(c.state[MANAGER_CONNECTED], 1);
	cr_assert_eq(c.state[MANAGER_DIALING], 3);
	cr_assert_eq(c.state[MANAGER_RECONNECTING], 1);
	cr_assert_eq(c.state[MANAGER_BAD], 1);
	/* 21 records (20 + the persistent one): 4 tracked here, 1 bad. */
	cr_assert_eq(c.state[MANAGER_CANDIDATE], 21 - 1 - 4 - 1);
	cr_assert_geq(c.backoff, 1);
	cr_assert_eq(c.dialing_out, 3);
	cr_assert_eq(c.connected_out, 1);
	cr_assert_eq(c.max_outbound, 4);
	cr_assert_str_eq(manager_state_name(MANAGER_RECONNECTING), "reconnecting");
	cr_assert_str_eq(manager_state_name(99), "unknown");
	cr_assert_str_eq(manager_outcome_name(MANAGER_OUT_TIMED_OUT), "timed_out");
	cr_assert_str_eq(manager_reason_name(MANAGER_REASON_FAST), "fast");
	cr_assert_eq(manager_policy_parse("cometbft"), MANAGER_POLICY_COMETBFT);
	cr_assert_eq(manager_policy_parse("go"), -EINVAL);
	env_free(&e);
}

Test(manager, lowering_the_limit_cancels_surplus_dials)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 50);
	env_new_manager(&e);
	env_start(&e);
	for (int i = 0; i < 4; i++)
		env_complete(&e, 0, MANAGER_OUT_CONNECTED);
	env_clear(&e);
	manager_set_max_outbound(e.m, 6, e.now);
	env_drain(&e);
	cr_assert_eq(env_count(&e, MANAGER_CANCEL, -1), 4, "4 connected + 6 dialing -> keep 2 dials");
	/* Cancelled dials hold their slot until the engine reports them. */
	cr_assert_eq(manager_dialing_out(e.m), 6);
	for (size_t i = 0; i < e.n_flight;) {
		if (e.flight_cancelled[i])
			env_complete(&e, i, MANAGER_OUT_CANCELLED);
		else
			i++;
	}
	cr_assert_eq(manager_dialing_out(e.m), 2);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0);
	env_free(&e);
}

Test(manager, stop_cancels_everything_and_dials_nothing)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 50);
	env_new_manager(&e);
	env_start(&e);
	env_clear(&e);
	manager_stop(e.m);
	env_drain(&e);
	cr_assert_eq(env_count(&e, MANAGER_CANCEL, -1), 10);
	while (e.n_flight)
		env_complete(&e, 0, MANAGER_OUT_CANCELLED);
	env_tick(&e, e.now + 60 * SEC);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0);
	cr_assert_eq(manager_next_wakeup(e.m, e.now), INT64_MAX);
	env_free(&e);
}

Test(manager, bad_config_is_refused)
{
	struct manager_config c;
	struct manager *m;
	struct book *b;
	struct book_opts o = { .strict = true, .capacity = 64, .seed = 1, .keys_from_seed = true };
	cr_assert_eq(book_new(&b, &o), 0);
	manager_config_defaults(&c, MANAGER_POLICY_MUKAN);
	c.overdial = 0;
	cr_assert_eq(manager_new(&m, b, &c), -EINVAL);
	manager_config_defaults(&c, MANAGER_POLICY_MUKAN);
	c.ensure_period_ns = 0;
	cr_assert_eq(manager_new(&m, b, &c), -EINVAL);
	manager_config_defaults(&c, (enum manager_policy)7);
	cr_assert_eq(manager_new(&m, b, &c), -EINVAL);
	manager_config_defaults(&c, MANAGER_POLICY_MUKAN);
	cr_assert_eq(manager_new(&m, NULL, &c), -EINVAL);
	cr_assert_eq(manager_new(&m, b, &c), 0);
	cr_assert_eq(manager_tick(m, T0), -EINVAL, "tick before start");
	cr_assert_eq(manager_start(m, T0), 0);
	cr_assert_eq(manager_start(m, T0), -EALREADY);
	manager_free(m);
	book_free(b);
}

Test(manager, engine_full_waits_instead_of_redialing_at_once)
{
	/* A daemon that reports "engine full" as it drains would otherwise get
	 * a new dial for every refusal, for ever. */
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 100);
	env_new_manager(&e);
	env_start(&e);
	env_clear(&e);
	struct netaddr a = e.flight[0];
	e.flight[0] = e.flight[--e.n_flight];
	cr_assert_eq(manager_on_dial_done(e.m, a.id, MANAGER_OUT_LOCAL_ERROR, EBUSY, e.now), 0);
	env_drain(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 0, "no dial in the same call");
	cr_assert_eq(manager_next_wakeup(e.m, e.now), e.now + 5 * SEC, "the refill retry");
	env_complete(&e, 0, MANAGER_OUT_REFUSED);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 2, "the next completion refills both");
	env_free(&e);
}

/* A peer that hangs up before a handshake could finish is a failed dial. */
Test(manager, short_session_counts_as_a_failure)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.min_session_ns = 3 * SEC;
	env_fill_book(&e, 100);
	env_new_manager(&e);
	env_start(&e);
	while (e.n_flight)
		env_complete(&e, 0, MANAGER_OUT_CONNECTED);
	struct netaddr quick = e.conn[0], later = e.conn[1];
	e.now += 1 * SEC;
	env_gone(&e, 0); /* after 1 s: too soon */
	const struct mukan_peer *p = book_slot(e.b, (uint32_t)book_find(e.b, quick.id));
	cr_assert_eq(p->failures, 1);
	cr_assert_eq(p->last_error, ECONNRESET);
	cr_assert_gt(p->next_dial, e.now, "backed off like a failed dial");
	e.now += 5 * SEC;
	size_t i;
	for (i = 0; i < e.n_conn; i++)
		if (memcmp(e.conn[i].id, later.id, MUKAN_ID_LEN) == 0)
			break;
	env_gone(&e, i); /* after 6 s: an ordinary departure */
	p = book_slot(e.b, (uint32_t)book_find(e.b, later.id));
	cr_assert_eq(p->failures, 0);
	env_free(&e);
}
