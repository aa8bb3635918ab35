/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_gate.c - the connect gate (cgroup/connect4) and bans: a dial to an
 * address still backing off or banned is refused with EPERM before any SYN
 * (the record's dial count does not move), until the time has passed; the
 * config's gate flag turns this off; persistent peers are never gated.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"
#include "mukan/rules.h"

#define MS 1000000LL
#define PORT 26656
#define IP "127.0.0.1"

TestSuite(gate, .init = bt_setup, .fini = bt_teardown, .timeout = 20);

/* Backoff and ban lengths the tests can wait out. */
static struct mukan_config quick_config(uint32_t fail_limit)
{
	struct mukan_config c = bt_config_defaults();
	c.fail_limit = fail_limit;
	c.backoff_base_ns = c.backoff_cap_ns = MUKAN_MIN_BACKOFF_NS;
	c.backoff_jitter_ns = 0;
	c.ban_ns = MUKAN_MIN_BAN_NS;
	return c;
}

/* Sleep until book time t has passed (bounded by the caller's t). */
static void sleep_past(int64_t t)
{
	int64_t left = t - kern_now();
	cr_assert_leq(left, 2000 * MS, "asked to sleep %lld ms", (long long)(left / MS));
	if (left > 0)
		usleep((useconds_t)(left / 1000) + 20 * 1000);
}

Test(gate, backoff_refuses_with_eperm)
{
	struct mukan_config c = bt_config_defaults(); /* 2 s backoff after a failure */
	bt_config_set(&c);
	int slot = bt_add(IP, PORT);
	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);

	struct bt_dial d = bt_dial(IP, PORT);
	cr_assert_eq(d.err, EPERM, "connect during backoff: %s", strerror(d.err));
	struct mukan_peer p = bt_peer(slot);
	cr_assert_eq(p.dials, 1, "a gated connect sends no SYN and is not a dial");
	cr_assert_eq(p.failures, 1);
	cr_assert_gt(p.next_dial, d.end_ns);

	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.gated, 1);
	cr_assert_eq(s.connects, 1);
	struct mukan_event ev[4];
	cr_assert_eq(bt_events(ev, 4), 3);
	cr_assert_eq(ev[2].kind, MUKAN_EV_GATED);
	cr_assert_eq(ev[2].slot, (uint32_t)slot);
	cr_assert_eq(ev[2].err, EPERM);
	cr_assert_eq(ev[2].failures, 1);
}

Test(gate, ban_at_fail_limit_then_allowed)
{
	struct mukan_config c = quick_config(2);
	bt_config_set(&c);
	int slot = bt_add(IP, PORT);

	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	cr_assert_eq(bt_peer(slot).ban_until, MUKAN_TIME_NEVER, "one failure of two: no ban");
	sleep_past(bt_peer(slot).next_dial);
	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	struct mukan_peer p = bt_peer(slot);
	cr_assert_eq(p.failures, 2);
	cr_assert_eq(p.ban_until, p.last_attempt + (int64_t)c.ban_ns, "ban = failure time + ban_ns");
	cr_assert_eq(bt_stats().bans, 1);

	struct bt_dial d = bt_dial(IP, PORT);
	cr_assert_eq(d.err, EPERM, "connect while banned: %s", strerror(d.err));
	cr_assert_eq(bt_peer(slot).dials, 2);
	cr_assert_eq(bt_stats().gated, 1);

	sleep_past(p.ban_until); /* ~1 s */
	d = bt_dial(IP, PORT);
	cr_assert_eq(d.err, ECONNREFUSED, "connect after the ban: %s", strerror(d.err));
	struct mukan_peer q = bt_peer(slot);
	cr_assert_eq(q.dials, 3);
	cr_assert_eq(q.failures, 3);
	cr_assert_eq(q.ban_until, q.last_attempt + (int64_t)c.ban_ns,
		     "still at the limit: banned again");
	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.bans, 2);
	cr_assert_eq(s.gated, 1);
	cr_assert_eq(s.refused, 3);

	struct mukan_event ev[16];
	size_t n = bt_events(ev, 16);
	unsigned banned = 0;
	for (size_t i = 0; i < n && i < 16; i++)
		banned += ev[i].kind == MUKAN_EV_BANNED;
	cr_assert_eq(banned, 2);
}

Test(gate, flag_off_lets_everything_through)
{
	struct mukan_config c = quick_config(1);
	c.flags = 0;
	c.backoff_base_ns = c.backoff_cap_ns = 60 * MUKAN_NS_PER_SEC;
	bt_config_set(&c);
	int slot = bt_add(IP, PORT);

	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	struct mukan_peer p = bt_peer(slot);
	cr_assert_gt(p.ban_until, kern_now(), "banned, so a gate would refuse");
	cr_assert_gt(p.next_dial, kern_now());

	struct bt_dial d = bt_dial(IP, PORT);
	cr_assert_eq(d.err, ECONNREFUSED, "gate off: %s", strerror(d.err));
	cr_assert_eq(bt_peer(slot).dials, 2);
	cr_assert_eq(bt_peer(slot).failures, 2);
	cr_assert_eq(bt_stats().gated, 0);
}

Test(gate, persistent_peer_never_gated_or_banned)
{
	struct mukan_config c = quick_config(1);
	c.backoff_base_ns = c.backoff_cap_ns = 60 * MUKAN_NS_PER_SEC;
	bt_config_set(&c);
	int slot = bt_add(IP, PORT);
	kern_slots(bt.k)[slot].flags |= MUKAN_PEER_PERSISTENT;

	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	struct mukan_peer p = bt_peer(slot);
	cr_assert_eq(p.ban_until, MUKAN_TIME_NEVER, "persistent peers are not banned");
	cr_assert_gt(p.next_dial, kern_now(), "but their backoff is still recorded");

	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED, "persistent peers are not gated");
	cr_assert_eq(bt_peer(slot).dials, 2);
	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.gated, 0);
	cr_assert_eq(s.bans, 0);
}
