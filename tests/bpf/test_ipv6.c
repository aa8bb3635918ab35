/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ipv6.c - IPv6 dials are recorded under their IPv6 key (sockops) and
 * gated by cgroup/connect6; an IPv4-mapped address (::ffff:a.b.c.d) dialed
 * from an AF_INET6 socket is the IPv4 record, as in the book and in Go.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fixture.h"
#include "mukan/rules.h"

#define PORT 26656

TestSuite(ipv6, .init = bt_setup, .fini = bt_teardown, .timeout = 20);

Test(ipv6, refused_recorded_under_ipv6_key)
{
	struct mukan_config c = bt_config_defaults();
	bt_config_set(&c);
	int v6 = bt_add("::1", PORT);
	int v4 = bt_add("127.0.0.1", PORT);
	struct mukan_peer v4_before = bt_peer(v4);
	struct in6_addr loopback = IN6ADDR_LOOPBACK_INIT;

	struct mukan_peer p = bt_peer(v6);
	cr_assert_eq(p.addr.family, MUKAN_AF_INET6);
	cr_assert_eq(memcmp(p.addr.ip, &loopback, 16), 0);

	struct bt_dial d = bt_dial("::1", PORT);
	cr_assert_eq(d.err, ECONNREFUSED, "connect [::1]: %s", strerror(d.err));
	p = bt_peer(v6);
	cr_assert_eq(p.dials, 1);
	cr_assert_eq(p.failures, 1);
	cr_assert_eq(p.last_error, ECONNREFUSED);
	bt_assert_between(p.last_attempt, d.start_ns, d.end_ns, "last_attempt");
	bt_assert_peer_unchanged(v4_before, v4);

	struct mukan_event ev[4];
	cr_assert_eq(bt_events(ev, 4), 2);
	cr_assert_eq(ev[1].kind, MUKAN_EV_FAILED);
	cr_assert_eq(ev[1].addr.family, MUKAN_AF_INET6);
	cr_assert_eq(ev[1].addr.port, PORT);

	d = bt_dial("::1", PORT);
	cr_assert_eq(d.err, EPERM, "connect6 gate during backoff: %s", strerror(d.err));
	cr_assert_eq(bt_peer(v6).dials, 1);
	cr_assert_eq(bt_stats().gated, 1);
}

Test(ipv6, v4_mapped_is_the_ipv4_record)
{
	struct mukan_config c = bt_config_defaults();
	bt_config_set(&c);
	int v4 = bt_add("127.0.0.1", PORT);
	cr_assert_eq(bt_peer(v4).addr.family, MUKAN_AF_INET);

	struct bt_dial d = bt_dial("::ffff:127.0.0.1", PORT);
	cr_assert_eq(d.err, ECONNREFUSED, "connect [::ffff:127.0.0.1]: %s", strerror(d.err));
	struct mukan_peer p = bt_peer(v4);
	cr_assert_eq(p.dials, 1);
	cr_assert_eq(p.failures, 1);
	cr_assert_eq(p.last_error, ECONNREFUSED);
	cr_assert_eq(kern_index_count(bt.k), 1);
	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.connects, 1);
	cr_assert_eq(s.not_in_book, 0);

	struct mukan_event ev[4];
	cr_assert_eq(bt_events(ev, 4), 2);
	cr_assert_eq(ev[1].addr.family, MUKAN_AF_INET);

	/* Both gates know it is the same address. */
	cr_assert_eq(bt_dial("::ffff:127.0.0.1", PORT).err, EPERM);
	cr_assert_eq(bt_dial("127.0.0.1", PORT).err, EPERM);
	cr_assert_eq(bt_peer(v4).dials, 1);
	cr_assert_eq(bt_stats().gated, 2);
}
