/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_outcomes.c - sockops records each outcome of a dial from the cgroup
 * into the book record: established, refused, timed out (the kernel's own
 * TCP_USER_TIMEOUT), ICMP unreachable; and a local route error, which never
 * reaches sockops, leaves the record alone.
 *
 * Every dial runs in a child inside the test cgroup and in the test's own
 * network namespace; black holes and ICMP errors are nft rules there.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "fixture.h"
#include "mukan/rules.h"

#define MS 1000000LL
#define PORT 26656

TestSuite(outcomes, .init = bt_setup, .fini = bt_teardown, .timeout = 20);

/* A table with input and output filter chains, for drop and reject rules. */
static void nft_table(void)
{
	bt_run_ok("nft add table ip mukan_test");
	bt_run_ok("nft add chain ip mukan_test in { type filter hook input priority 0 ; }");
	bt_run_ok("nft add chain ip mukan_test out { type filter hook output priority 0 ; }");
}

static void assert_event(const struct mukan_event *e, int kind, int slot, int err,
			 unsigned failures)
{
	cr_assert_eq(e->kind, kind, "event kind %u, want %d", e->kind, kind);
	cr_assert_eq(e->slot, (uint32_t)slot, "event slot %u, want %d", e->slot, slot);
	cr_assert_eq(e->err, err, "event err %d, want %d", e->err, err);
	cr_assert_eq(e->failures, failures, "event failures %u, want %u", e->failures, failures);
}

/* Everything a single failed dial must leave in the record and the stats. */
static struct mukan_peer assert_one_failure(int slot, const struct bt_dial *d, int err)
{
	struct mukan_peer p = bt_peer(slot);
	cr_assert_eq(p.dials, 1);
	cr_assert_eq(p.failures, 1);
	cr_assert_eq(p.attempts, 1);
	cr_assert_eq(p.last_error, err, "last_error %d, want %d", p.last_error, err);
	bt_assert_between(p.last_dial, d->start_ns, d->end_ns, "last_dial");
	bt_assert_between(p.last_attempt, p.last_dial, d->end_ns, "last_attempt");
	cr_assert_eq(p.ban_until, MUKAN_TIME_NEVER);
	cr_assert_eq(p.last_connected, MUKAN_TIME_NEVER, "never connected");
	return p;
}

Test(outcomes, established)
{
	struct mukan_config c = bt_config_defaults();
	bt_config_set(&c);
	int slot = bt_add("127.0.0.1", PORT);
	int64_t added = bt_peer(slot).last_attempt;
	int lfd = bt_listen("127.0.0.1", PORT);

	struct bt_dial d = bt_dial("127.0.0.1", PORT);
	cr_assert_eq(d.err, 0, "connect: %s", strerror(d.err));

	struct mukan_peer p = bt_peer(slot);
	cr_assert_eq(p.dials, 1);
	cr_assert_eq(p.failures, 0);
	cr_assert_eq(p.last_error, 0);
	cr_assert_eq(p.attempts, 0);
	cr_assert_eq(p.last_attempt, added, "success is not an attempt (upstream marks failures)");
	cr_assert_eq(p.next_dial, MUKAN_TIME_NEVER);
	cr_assert_eq(p.ban_until, MUKAN_TIME_NEVER);
	bt_assert_between(p.last_dial, d.start_ns, d.end_ns, "last_dial");
	bt_assert_between(p.last_connected, p.last_dial, d.end_ns, "last_connected");

	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.connects, 1);
	cr_assert_eq(s.established, 1);
	cr_assert_eq(s.refused + s.timed_out + s.unreachable + s.other_error + s.abandoned, 0);
	cr_assert_eq(s.not_in_book, 0);

	struct mukan_event ev[4];
	cr_assert_eq(bt_events(ev, 4), 2);
	assert_event(&ev[0], MUKAN_EV_CONNECT, slot, 0, 0);
	assert_event(&ev[1], MUKAN_EV_ESTABLISHED, slot, 0, 0);
	cr_assert_eq(ev[1].addr.port, PORT);
	close(lfd);
}

Test(outcomes, established_clears_failures)
{
	struct mukan_config c = bt_config_defaults();
	c.backoff_base_ns = c.backoff_cap_ns = MUKAN_MIN_BACKOFF_NS;
	c.backoff_jitter_ns = 0;
	bt_config_set(&c);
	int slot = bt_add("127.0.0.1", PORT);

	struct bt_dial d = bt_dial("127.0.0.1", PORT);
	cr_assert_eq(d.err, ECONNREFUSED);
	struct mukan_peer p = assert_one_failure(slot, &d, ECONNREFUSED);
	cr_assert_eq(p.next_dial - p.last_attempt, MUKAN_MIN_BACKOFF_NS);

	usleep(5 * 1000); /* past the 1 ms backoff, so the gate lets it through */
	int lfd = bt_listen("127.0.0.1", PORT);
	d = bt_dial("127.0.0.1", PORT);
	cr_assert_eq(d.err, 0, "connect: %s", strerror(d.err));
	struct mukan_peer q = bt_peer(slot);
	cr_assert_eq(q.dials, 2);
	cr_assert_eq(q.failures, 0);
	cr_assert_eq(q.last_error, 0);
	cr_assert_eq(q.next_dial, MUKAN_TIME_NEVER);
	cr_assert_eq(q.attempts, 1, "attempts are upstream's, only mark-good resets them");
	cr_assert_eq(q.last_attempt, p.last_attempt);
	bt_assert_between(q.last_connected, d.start_ns, d.end_ns, "last_connected");
	close(lfd);
}

Test(outcomes, refused)
{
	struct mukan_config c = bt_config_defaults();
	bt_config_set(&c);
	int slot = bt_add("127.0.0.1", PORT);

	struct bt_dial d = bt_dial("127.0.0.1", PORT);
	cr_assert_eq(d.err, ECONNREFUSED, "connect: %s", strerror(d.err));

	struct mukan_peer p = assert_one_failure(slot, &d, ECONNREFUSED);
	/* rules_backoff_ns after one failure: base + U[0, jitter]. */
	bt_assert_between(p.next_dial - p.last_attempt, c.backoff_base_ns,
			  c.backoff_base_ns + c.backoff_jitter_ns, "backoff");

	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.connects, 1);
	cr_assert_eq(s.refused, 1);
	cr_assert_eq(s.established + s.timed_out + s.unreachable + s.other_error, 0);
	cr_assert_eq(s.bans, 0);

	struct mukan_event ev[4];
	cr_assert_eq(bt_events(ev, 4), 2);
	assert_event(&ev[0], MUKAN_EV_CONNECT, slot, 0, 0);
	assert_event(&ev[1], MUKAN_EV_FAILED, slot, ECONNREFUSED, 1);
	bt_assert_between((int64_t)ev[1].time_ns, p.last_attempt, p.last_attempt, "event time");
}

/*
 * A SYN that vanishes (dropped on arrival): the program set TCP_USER_TIMEOUT
 * to dial_timeout_ms at connect, and at TIMEOUT_INIT lowered the first SYN
 * timeout to the same deadline (the kernel's is a fixed 1 s), so the kernel
 * gives up by itself with ETIMEDOUT about dial_timeout_ms after the SYN left.
 * With dial_timeout_ms = 0 the
 * program sets nothing and the kernel's default applies: tcp_syn_retries = 6,
 * i.e. 1+2+4+8+16+32+64 = 127 s before ETIMEDOUT (not tested: far too slow).
 */
Test(outcomes, timed_out)
{
	nft_table();
	bt_run_ok("nft add rule ip mukan_test in ip daddr 127.0.0.3 tcp dport 26656 drop");
	struct mukan_config c = bt_config_defaults();
	c.dial_timeout_ms = 300;
	bt_config_set(&c);
	int slot = bt_add("127.0.0.3", PORT);

	struct bt_dial d = bt_dial("127.0.0.3", PORT);
	cr_assert_eq(d.err, ETIMEDOUT, "connect: %s", strerror(d.err));
	int64_t took = d.end_ns - d.start_ns;
	cr_log_info("timed_out: connect gave ETIMEDOUT after %lld ms (dial_timeout_ms 300)",
		    (long long)(took / MS));
	bt_assert_between(took, 300 * MS, 700 * MS, "time to ETIMEDOUT");

	assert_one_failure(slot, &d, ETIMEDOUT);
	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.timed_out, 1);
	cr_assert_eq(s.refused + s.unreachable + s.other_error, 0);
}

/*
 * ICMP host- and net-unreachable, sent back by an nft reject on the way out.
 * On loopback the ICMP arrives while connect() still owns the socket, so
 * tcp_v4_err keeps it as a soft error and the kernel reports it when the
 * first SYN retransmission is due (~1 s); the record gets it all the same.
 */
Test(outcomes, icmp_unreachable)
{
	nft_table();
	bt_run_ok("nft add rule ip mukan_test out ip daddr 127.0.0.2 tcp dport 26656 "
		  "reject with icmp type host-unreachable");
	bt_run_ok("nft add rule ip mukan_test out ip daddr 127.0.0.4 tcp dport 26656 "
		  "reject with icmp type net-unreachable");
	struct mukan_config c = bt_config_defaults();
	c.dial_timeout_ms = 300;
	bt_config_set(&c);
	int host = bt_add("127.0.0.2", PORT);
	int net = bt_add("127.0.0.4", PORT);

	struct bt_dial d = bt_dial("127.0.0.2", PORT);
	cr_assert_eq(d.err, EHOSTUNREACH, "connect: %s", strerror(d.err));
	cr_log_info("icmp_unreachable: host-unreachable after %lld ms",
		    (long long)((d.end_ns - d.start_ns) / MS));
	assert_one_failure(host, &d, EHOSTUNREACH);

	d = bt_dial("127.0.0.4", PORT);
	cr_assert_eq(d.err, ENETUNREACH, "connect: %s", strerror(d.err));
	assert_one_failure(net, &d, ENETUNREACH);

	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.unreachable, 2);
	cr_assert_eq(s.refused + s.timed_out + s.other_error, 0);
}

/*
 * A local route error fails inside connect() before the SYN exists, so no
 * sockops callback runs: the record stays as it was (userspace records such
 * errors itself).
 */
Test(outcomes, local_route_error_untouched)
{
	bt_run_ok("ip route add unreachable 10.99.0.0/24");
	int slot = bt_add("10.99.0.1", PORT);
	struct mukan_peer before = bt_peer(slot);

	struct bt_dial d = bt_dial("10.99.0.1", PORT);
	cr_assert_eq(d.err, EHOSTUNREACH, "connect: %s", strerror(d.err));
	bt_assert_peer_unchanged(before, slot);

	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.connects + s.unreachable + s.not_in_book, 0);
	struct mukan_event ev[2];
	cr_assert_eq(bt_events(ev, 2), 0);
}
