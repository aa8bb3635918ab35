/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_manager_pex.c - where addresses come from: the need-more step
 * (reinstated bans, a PEX request to a random peer), PEX replies into the
 * book, the seeds when nothing can be dialed, fast dialing of what a seed
 * sends, and unconditional peers. The wire protocol is not here: its hook
 * is MANAGER_REQUEST_ADDRS out and manager_on_addrs in, driven by a fake
 * address source.
 */
#include "test_manager_env.h"

/* A fake PEX peer: a reply of n fresh addresses numbered from `base`, all in
 * distinct /16s from `first_octet` on. */
static size_t fake_reply(struct netaddr *out, size_t n, uint32_t base, int first_octet)
{
	for (size_t i = 0; i < n; i++)
		out[i] = env_na(base + (uint32_t)i, first_octet + (int)(i / 200), (int)(i % 200), 5, 5);
	return n;
}

static size_t requests_to(const struct env *e, const struct netaddr *na)
{
	size_t n = 0;
	for (size_t i = 0; i < e->n_act; i++)
		n += e->act[i].kind == MANAGER_REQUEST_ADDRS &&
		     memcmp(e->act[i].addr.id, na->id, MUKAN_ID_LEN) == 0;
	return n;
}

Test(manager_pex, expired_bans_are_reinstated_when_addresses_are_needed)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 30);
	struct netaddr a = env_distinct(1), b = env_distinct(2);
	cr_assert_eq(book_mark_bad(e.b, a.id, 10 * SEC, e.now), 0);
	cr_assert_eq(book_mark_bad(e.b, b.id, 3600 * SEC, e.now), 0);
	env_new_manager(&e);
	env_start(&e);
	cr_assert(book_is_banned(e.b, a.id, e.now), "still banned at the first round");
	env_tick(&e, T0 + 30 * SEC);
	cr_assert_not(book_is_banned(e.b, a.id, e.now), "its ban ended: back in the book");
	cr_assert(book_is_banned(e.b, b.id, e.now));
	env_free(&e);
}

Test(manager_pex, asks_one_random_connected_peer_per_round)
{
	size_t asked[10] = { 0 };
	for (uint64_t seed = 1; seed <= 30; seed++) {
		struct env e;
		env_config_seed(&e, MANAGER_POLICY_MUKAN, seed);
		e.cfg.max_outbound = 10;
		env_fill_book(&e, 20);
		env_new_manager(&e);
		for (uint32_t i = 0; i < 10; i++) {
			struct netaddr na = env_distinct(600 + i);
			env_adopt(&e, &na);
		}
		env_start(&e);
		env_tick(&e, manager_next_wakeup(e.m, e.now)); /* the delayed first round */
		cr_assert_eq(env_count(&e, MANAGER_REQUEST_ADDRS, -1), 1, "one peer per round");
		for (uint32_t i = 0; i < 10; i++)
			asked[i] += requests_to(&e, &e.conn[i]);
		/* Never two requests out to one peer: with all 10 asked, nothing more. */
		for (int r = 0; r < 12; r++)
			env_tick(&e, e.now + 30 * SEC);
		cr_assert_eq(env_count(&e, MANAGER_REQUEST_ADDRS, -1), 10);
		for (uint32_t i = 0; i < 10; i++)
			cr_assert_eq(requests_to(&e, &e.conn[i]), 1);
		env_free(&e);
	}
	uint32_t picked = 0;
	for (int i = 0; i < 10; i++)
		picked += asked[i] > 0;
	cr_assert_geq(picked, 7, "the first peer asked is drawn at random (%u of 10 seen)", picked);
}

Test(manager_pex, no_request_when_the_book_is_full_enough)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 1100);
	cr_assert_not(book_need_more(e.b));
	env_new_manager(&e);
	env_start(&e);
	while (e.n_flight)
		env_complete(&e, 0, MANAGER_OUT_CONNECTED);
	env_tick(&e, T0 + 30 * SEC);
	cr_assert_eq(env_count(&e, MANAGER_REQUEST_ADDRS, -1), 0);
	env_free(&e);
}

Test(manager_pex, a_new_outbound_peer_is_asked_at_once_if_the_book_needs_more)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_COMETBFT);
	env_fill_book(&e, 20);
	env_new_manager(&e);
	env_start(&e);
	env_clear(&e);
	struct netaddr first = e.flight[0];
	env_complete(&e, 0, MANAGER_OUT_CONNECTED);
	cr_assert_eq(env_count(&e, MANAGER_REQUEST_ADDRS, -1), 1);
	cr_assert_eq(requests_to(&e, &first), 1, "upstream AddPeer asks the new outbound peer");
	env_free(&e);
}

Test(manager_pex, replies_go_to_the_book_with_the_peer_as_source)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 20);
	env_new_manager(&e);
	env_start(&e);
	struct netaddr peer = e.flight[0];
	env_complete(&e, 0, MANAGER_OUT_CONNECTED); /* asked at once */
	struct netaddr reply[40];
	fake_reply(reply, 40, 300000, 80);
	reply[39] = env_na(300039, 10, 0, 0, 1); /* private: the strict book refuses it */
	reply[38] = reply[0];			 /* twice in one reply */
	int added = manager_on_addrs(e.m, &peer, false, reply, 40, e.now);
	env_drain(&e);
	cr_assert_eq(added, 38);
	cr_assert_eq(book_size(e.b), 20 + 38);
	const struct mukan_peer *p = env_rec(&e, &reply[5]);
	cr_assert(mukan_addr_equal(&p->src, &peer.a), "the replying peer is the source");
	cr_assert_eq(memcmp(p->src_id, peer.id, MUKAN_ID_LEN), 0);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_FAST), 0,
		     "no fast dialing for an ordinary peer");
	/* The request is answered: a second reply is unsolicited. */
	cr_assert_eq(manager_on_addrs(e.m, &peer, false, reply, 3, e.now), -EPROTO);
	env_free(&e);
}

Test(manager_pex, unsolicited_reply_bans_the_sender)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_fill_book(&e, 20);
	struct netaddr liar = env_distinct(3);
	env_new_manager(&e);
	env_start(&e);
	struct netaddr reply[5];
	fake_reply(reply, 5, 310000, 90);
	cr_assert_eq(manager_on_addrs(e.m, &liar, false, reply, 5, e.now), -EPROTO);
	cr_assert_eq(book_size(e.b), 19, "nothing added, the sender banned");
	cr_assert(book_is_banned(e.b, liar.id, e.now));
	cr_assert_eq(manager_stats(e.m)->unsolicited, 1);
	cr_assert_eq(manager_on_addrs(e.m, NULL, false, reply, 5, e.now), -EINVAL);
	env_free(&e);
}

/* A manager with an empty book and three seeds. */
static void seeds_env(struct env *e, enum manager_policy policy, uint64_t seed, struct netaddr s[3])
{
	env_config_seed(e, policy, seed);
	env_new_manager(e);
	for (int i = 0; i < 3; i++) {
		s[i] = env_distinct(800 + (uint32_t)i);
		cr_assert_eq(manager_add_seed(e->m, &s[i]), 0);
	}
}

Test(manager_pex, seeds_one_at_a_time_until_one_connects)
{
	for (int policy = 0; policy < 2; policy++) {
		struct env e;
		struct netaddr s[3];
		seeds_env(&e, (enum manager_policy)policy, 1, s);
		env_start(&e);
		cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_SEED), 1);
		cr_assert_eq(e.n_flight, 1);
		cr_assert_eq(manager_dialing_out(e.m), 1, "a seed dial takes a slot");
		env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
		cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_SEED), 2, "the next at once");
		struct netaddr second = e.flight[0];
		env_complete(&e, 0, MANAGER_OUT_CONNECTED);
		cr_assert_eq(requests_to(&e, &second), 1, "a seed is asked for addresses");
		cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_SEED), 2, "and the rest left");
		cr_assert_eq(manager_peer_state(e.m, second.id, e.now), MANAGER_CONNECTED);
		env_free(&e);
	}
}

Test(manager_pex, seeds_in_random_order_and_again_next_round)
{
	bool first_seen[3] = { false, false, false };
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct env e;
		struct netaddr s[3];
		seeds_env(&e, MANAGER_POLICY_MUKAN, seed, s);
		env_start(&e);
		int first = env_find(s, 3, e.flight[0].id);
		cr_assert_geq(first, 0);
		first_seen[first] = true;
		for (int k = 0; k < 3; k++)
			env_complete(&e, 0, MANAGER_OUT_REFUSED);
		cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_SEED), 3, "each once");
		cr_assert_eq(e.n_flight, 0, "all failed: nothing until the next round");
		env_tick(&e, T0 + 29 * SEC);
		cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 3);
		env_tick(&e, T0 + 30 * SEC);
		cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_SEED), 4);
		env_free(&e);
	}
	cr_assert(first_seen[0] && first_seen[1] && first_seen[2]);
}

Test(manager_pex, no_seeds_while_the_book_has_candidates)
{
	struct env e;
	struct netaddr s[3];
	seeds_env(&e, MANAGER_POLICY_MUKAN, 1, s);
	env_fill_book(&e, 50);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_SEED), 0);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_NORMAL), 10);
	env_free(&e);
}

/* Seed connected and asked; returns the seed. */
static struct netaddr seed_connected(struct env *e)
{
	env_start(e);
	struct netaddr seed = e->flight[0];
	env_complete(e, 0, MANAGER_OUT_CONNECTED);
	cr_assert_eq(requests_to(e, &seed), 1);
	return seed;
}

Test(manager_pex, addresses_from_a_seed_are_dialed_at_once)
{
	struct env e;
	struct netaddr s[3];
	seeds_env(&e, MANAGER_POLICY_MUKAN, 1, s);
	struct netaddr seed = seed_connected(&e);
	env_clear(&e);
	struct netaddr reply[30];
	fake_reply(reply, 30, 400000, 120);
	cr_assert_eq(manager_on_addrs(e.m, &seed, true, reply, 30, e.now), 30);
	env_drain(&e);
	/* In the same call: the 9 free slots (the seed holds one), all from the reply. */
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_FAST), 9);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, -1), 9);
	for (size_t i = 0; i < e.n_act; i++)
		if (e.act[i].kind == MANAGER_DIAL)
			cr_assert_geq(env_find(reply, 30, e.act[i].addr.id), 0);
	cr_assert_eq(manager_connected_out(e.m) + manager_dialing_out(e.m), 10);
	/* The seed leaves (as seeds do): its slot goes to the reply as well. */
	env_gone(&e, (size_t)env_find(e.conn, e.n_conn, seed.id));
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_FAST), 10);
	env_free(&e);
}

Test(manager_pex, fast_dialing_respects_the_limit)
{
	struct env e;
	struct netaddr s[3];
	seeds_env(&e, MANAGER_POLICY_MUKAN, 2, s);
	e.cfg.max_outbound = 3; /* (the manager already copied its config) */
	manager_set_max_outbound(e.m, 3, e.now);
	struct netaddr seed = seed_connected(&e);
	struct netaddr reply[200];
	fake_reply(reply, 200, 500000, 130);
	cr_assert_eq(manager_on_addrs(e.m, &seed, true, reply, 200, e.now), 200);
	env_drain(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_FAST), 2);
	/* Failures refill from the reply, never past the limit. */
	for (int k = 0; k < 50; k++) {
		env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
		cr_assert_leq(manager_connected_out(e.m) + manager_dialing_out(e.m), 3);
	}
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_FAST), 52);
	env_free(&e);
}

Test(manager_pex, cometbft_seed_reply_wakes_a_round)
{
	struct env e;
	struct netaddr s[3];
	seeds_env(&e, MANAGER_POLICY_COMETBFT, 1, s);
	struct netaddr seed = seed_connected(&e);
	env_clear(&e);
	e.now = T0 + 2 * SEC;
	struct netaddr reply[30];
	fake_reply(reply, 30, 600000, 140);
	cr_assert_eq(manager_on_addrs(e.m, &seed, false, reply, 30, e.now), 30, "a configured seed");
	env_drain(&e);
	/* PR 3360: an ensure-peers round now, within the limit, ticker unchanged. */
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_NORMAL), 9);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_FAST), 0);
	cr_assert_eq(manager_next_wakeup(e.m, e.now), T0 + 30 * SEC);
	env_free(&e);
}

Test(manager_pex, unconditional_peers_take_no_slot)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	e.cfg.max_outbound = 2;
	for (uint32_t i = 0; i < 20; i++) {
		struct netaddr na = env_distinct(i);
		env_book_add_from(&e, &na, i);
	}
	env_new_manager(&e);
	for (uint32_t i = 0; i < 20; i++) {
		struct netaddr na = env_distinct(i);
		cr_assert_eq(manager_add_unconditional(e.m, na.id), 0);
	}
	struct netaddr normal = env_distinct(100);
	env_book_add(&e, &normal);
	env_start(&e);
	/* Unconditional dials take no slot: the round keeps picking (up to its
	 * budget) past the 2 slots. */
	size_t dials = env_count(&e, MANAGER_DIAL, -1);
	cr_assert_gt(dials, 2, "%zu dials", dials);
	while (e.n_flight)
		env_complete(&e, 0, MANAGER_OUT_CONNECTED);
	cr_assert_leq(manager_connected_out(e.m), 1, "only the normal one may count");
	struct manager_counts c;
	manager_counts(e.m, e.now, &c);
	cr_assert_eq(c.state[MANAGER_CONNECTED], dials);
	cr_assert_eq(c.connected_out, manager_connected_out(e.m));
	env_free(&e);
}

Test(manager_pex, configuration_lists_are_checked)
{
	struct env e;
	env_config(&e, MANAGER_POLICY_MUKAN);
	env_new_manager(&e);
	struct netaddr noid = env_distinct(1);
	noid.has_id = false;
	cr_assert_eq(manager_add_persistent(e.m, &noid, e.now), -EINVAL);
	cr_assert_eq(manager_add_seed(e.m, &noid), -EINVAL);
	struct netaddr pp = env_distinct(2);
	cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), 0);
	cr_assert_eq(manager_add_persistent(e.m, &pp, e.now), -EEXIST);
	/* Private address, strict book: not in the book, dialed all the same. */
	struct netaddr priv = env_na(3, 192, 168, 1, 2);
	cr_assert_eq(manager_add_persistent(e.m, &priv, e.now), 0);
	cr_assert_lt(book_find(e.b, priv.id), 0);
	env_start(&e);
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_PERSISTENT), 2);
	cr_assert_eq(manager_add_seed(e.m, &pp), -EINVAL, "lists are closed after start");
	env_free(&e);
}

Test(manager_pex, cometbft_round_waits_while_the_seeds_are_dialed)
{
	/* Upstream's routine is inside dialSeeds (one blocking dial after the
	 * other): the tick that comes meanwhile runs when the seeds are done. */
	struct env e;
	struct netaddr s[3];
	seeds_env(&e, MANAGER_POLICY_COMETBFT, 3, s);
	env_start(&e);
	cr_assert_eq(manager_stats(e.m)->rounds, 1);
	env_tick(&e, T0 + 30 * SEC);
	cr_assert_eq(manager_stats(e.m)->rounds, 1, "deferred: a seed dial is still out");
	e.now = T0 + 31 * SEC;
	env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
	env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
	cr_assert_eq(manager_stats(e.m)->rounds, 1);
	env_clear(&e);
	env_complete(&e, 0, MANAGER_OUT_TIMED_OUT);
	cr_assert_eq(manager_stats(e.m)->rounds, 2, "the kept tick runs as the seeds end");
	cr_assert_eq(env_count(&e, MANAGER_DIAL, MANAGER_REASON_SEED), 1, "and tries them again");
	cr_assert_eq(manager_stats(e.m)->seed_rounds, 2);
	cr_assert_eq(manager_next_wakeup(e.m, e.now), T0 + 60 * SEC, "the grid is unchanged");
	env_free(&e);
}

Test(manager_pex, mukan_never_asks_one_peer_twice_within_a_third_of_the_period)
{
	/* A peer stops and bans a node that asks more often than period / 3
	 * (10 s); upstream's round can do just that after an on-connect request. */
	for (int policy = 0; policy < 2; policy++) {
		struct env e;
		env_config(&e, (enum manager_policy)policy);
		e.cfg.max_outbound = 2; /* a free slot: upstream's round reaches its need-more step */
		env_fill_book(&e, 1);
		env_new_manager(&e);
		env_start(&e);
		e.now = T0 + 25 * SEC;
		struct netaddr peer = e.flight[0];
		env_complete(&e, 0, MANAGER_OUT_CONNECTED);
		cr_assert_eq(requests_to(&e, &peer), 1);
		e.now = T0 + 26 * SEC;
		cr_assert_eq(manager_on_addrs(e.m, &peer, false, NULL, 0, e.now), 0);
		env_tick(&e, T0 + 30 * SEC);
		cr_assert_eq(requests_to(&e, &peer), policy == MANAGER_POLICY_MUKAN ? 1 : 2);
		env_tick(&e, T0 + 60 * SEC);
		cr_assert_eq(requests_to(&e, &peer), policy == MANAGER_POLICY_MUKAN ? 2 : 2);
		env_free(&e);
	}
}
