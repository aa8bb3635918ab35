/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_isolation.c - what the programs must not touch: dials from processes
 * outside the attached cgroup (neither recorded nor gated), and dials from
 * inside it to addresses the book does not know (counted as not_in_book,
 * nothing else).
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fixture.h"
#include "mukan/rules.h"

#define PORT 26656
#define IP "127.0.0.1"

TestSuite(isolation, .init = bt_setup, .fini = bt_teardown, .timeout = 20);

static void assert_no_counts(const struct mukan_stats *s)
{
	cr_assert_eq(s->connects + s->established + s->refused + s->timed_out + s->unreachable +
			     s->other_error + s->abandoned + s->bans + s->gated,
		     0);
}

Test(isolation, outside_cgroup_not_recorded)
{
	int slot = bt_add(IP, PORT);
	struct mukan_peer before = bt_peer(slot);

	struct bt_dial d = bt_dial_outside(IP, PORT);
	cr_assert_eq(d.err, ECONNREFUSED, "connect: %s", strerror(d.err));
	bt_assert_peer_unchanged(before, slot);
	cr_assert_eq(kern_index_count(bt.k), 1);
	struct mukan_stats s = bt_stats();
	assert_no_counts(&s);
	cr_assert_eq(s.not_in_book, 0, "outside the cgroup nothing is seen at all");
	struct mukan_event ev[2];
	cr_assert_eq(bt_events(ev, 2), 0);
}

Test(isolation, outside_cgroup_not_gated)
{
	struct mukan_config c = bt_config_defaults(); /* 2 s backoff */
	bt_config_set(&c);
	int slot = bt_add(IP, PORT);
	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	struct mukan_peer backing_off = bt_peer(slot);
	cr_assert_gt(backing_off.next_dial, kern_now());

	struct bt_dial d = bt_dial_outside(IP, PORT);
	cr_assert_eq(d.err, ECONNREFUSED, "the gate is for the cgroup only: %s", strerror(d.err));
	bt_assert_peer_unchanged(backing_off, slot);
	cr_assert_eq(bt_stats().gated, 0);
}

Test(isolation, address_not_in_book)
{
	int slot = bt_add(IP, PORT);
	struct mukan_peer before = bt_peer(slot);

	struct bt_dial d = bt_dial(IP, PORT + 1); /* same IP, another port: another address */
	cr_assert_eq(d.err, ECONNREFUSED, "connect: %s", strerror(d.err));
	d = bt_dial("127.0.0.5", PORT);
	cr_assert_eq(d.err, ECONNREFUSED, "connect: %s", strerror(d.err));
	bt_assert_peer_unchanged(before, slot);
	cr_assert_eq(kern_index_count(bt.k), 1, "book_idx is userspace's to write");
	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.not_in_book, 2);
	assert_no_counts(&s);
	struct mukan_event ev[2];
	cr_assert_eq(bt_events(ev, 2), 0);
}
