/* SPDX-License-Identifier: Apache-2.0 */
/* test_backoff.c - the dial rules the kernel and userspace share (rules.h). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "mukan/rules.h"

#define SEC MUKAN_NS_PER_SEC

static struct mukan_config defaults(void)
{
	struct mukan_config c;
	rules_config_defaults(&c);
	return c;
}

Test(backoff, doubles_from_base_like_upstream)
{
	struct mukan_config c = defaults();
	c.backoff_jitter_ns = 0;
	/* Upstream: 2^n s after n failed dials. */
	cr_assert_eq(rules_backoff_ns(&c, 1, 0), 2 * SEC);
	cr_assert_eq(rules_backoff_ns(&c, 2, 0), 4 * SEC);
	cr_assert_eq(rules_backoff_ns(&c, 5, 0), 32 * SEC);
	cr_assert_eq(rules_backoff_ns(&c, 11, 0), 2048 * SEC);
	cr_assert_eq(rules_backoff_ns(&c, 12, 0), 3600 * SEC, "capped at 1 h");
	cr_assert_eq(rules_backoff_ns(&c, 1000, 0), 3600 * SEC, "no shift overflow");
	cr_assert_eq(rules_backoff_ns(&c, 0, 0), 2 * SEC, "0 treated as the first failure");
}

Test(backoff, jitter_stays_within_bounds)
{
	struct mukan_config c = defaults();
	cr_assert_eq(rules_backoff_ns(&c, 1, 0), 2 * SEC);
	cr_assert_eq(rules_backoff_ns(&c, 1, SEC), 3 * SEC, "rand == jitter gives the top");
	cr_assert_eq(rules_backoff_ns(&c, 1, SEC + 1), 2 * SEC, "then wraps");
	cr_assert_leq(rules_backoff_ns(&c, 1, UINT64_MAX), 3 * SEC);
}

Test(backoff, ban_at_the_failure_limit_but_never_persistent)
{
	struct mukan_config c = defaults();
	struct mukan_peer p = { 0 };
	p.failures = 15;
	cr_assert_not(rules_should_ban(&c, &p));
	p.failures = 16;
	cr_assert(rules_should_ban(&c, &p));
	p.flags = MUKAN_PEER_PERSISTENT;
	cr_assert_not(rules_should_ban(&c, &p));
}

Test(backoff, may_dial_after_backoff_and_ban)
{
	struct mukan_peer p = { .next_dial = MUKAN_TIME_NEVER, .ban_until = MUKAN_TIME_NEVER };
	cr_assert(rules_may_dial(&p, 100));
	p.next_dial = 101;
	cr_assert_not(rules_may_dial(&p, 100));
	cr_assert(rules_may_dial(&p, 101), "the moment backoff ends");
	p.ban_until = 200;
	cr_assert_not(rules_may_dial(&p, 150));
	cr_assert(rules_may_dial(&p, 200));
	p.flags = MUKAN_PEER_PERSISTENT;
	cr_assert(rules_may_dial(&p, 150), "persistent peers have their own schedule");
}

Test(config, defaults_are_valid)
{
	struct mukan_config c = defaults();
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_OK);
}

Test(config, each_invalid_field_is_named)
{
	struct mukan_config c;
	c = defaults(), c.flags = 0x80;
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_BAD_FLAGS);
	c = defaults(), c.fail_limit = 0;
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_BAD_FAIL_LIMIT);
	c = defaults(), c.fail_limit = 1001;
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_BAD_FAIL_LIMIT);
	c = defaults(), c.dial_timeout_ms = 60001;
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_BAD_DIAL_TIMEOUT);
	c = defaults(), c.backoff_base_ns = 0;
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_BAD_BASE);
	c = defaults(), c.backoff_cap_ns = c.backoff_base_ns - 1;
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_BAD_CAP);
	c = defaults(), c.backoff_jitter_ns = c.backoff_cap_ns + 1;
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_BAD_JITTER);
	c = defaults(), c.ban_ns = 0;
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_BAD_BAN);
}

Test(config, clamp_makes_any_config_safe)
{
	struct mukan_config c;
	memset(&c, 0, sizeof(c));
	rules_config_clamp(&c);
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_OK, "all zero becomes valid");
	cr_assert_eq(c.fail_limit, 1);
	cr_assert_eq(c.backoff_base_ns, MUKAN_MIN_BACKOFF_NS);
	cr_assert_eq(c.ban_ns, MUKAN_MIN_BAN_NS);

	memset(&c, 0xff, sizeof(c));
	rules_config_clamp(&c);
	cr_assert_eq(rules_config_check(&c), MUKAN_CFG_OK, "all ones becomes valid");
	cr_assert_eq(c.fail_limit, MUKAN_MAX_FAIL_LIMIT);
	cr_assert_eq(c.backoff_cap_ns, MUKAN_MAX_BACKOFF_NS);

	c = defaults();
	c.backoff_base_ns = 10 * SEC;
	c.backoff_cap_ns = SEC; /* cap below base */
	rules_config_clamp(&c);
	cr_assert_eq(c.backoff_cap_ns, 10 * SEC, "cap raised to base");
	struct mukan_config d = defaults();
	rules_config_clamp(&d);
	struct mukan_config e = defaults();
	cr_assert_arr_eq(&d, &e, sizeof(d), "a valid config is left as it is");
}

/* The same bookkeeping whether the kernel or userspace saw the failure. */
Test(record, failures_back_off_then_ban_and_success_clears)
{
	struct mukan_config c = defaults();
	c.fail_limit = 3;
	c.backoff_jitter_ns = 0;
	struct mukan_peer p = { .next_dial = MUKAN_TIME_NEVER, .ban_until = MUKAN_TIME_NEVER,
				.last_connected = MUKAN_TIME_NEVER };
	cr_assert_eq(rules_record_failure(&p, &c, 111, 100 * SEC, 0), 0);
	cr_assert_eq(p.failures, 1);
	cr_assert_eq(p.attempts, 1);
	cr_assert_eq(p.last_error, 111);
	cr_assert_eq(p.last_attempt, 100 * SEC);
	cr_assert_eq(p.next_dial, 102 * SEC);
	cr_assert_eq(rules_record_failure(&p, &c, 110, 103 * SEC, 0), 0);
	cr_assert_eq(p.next_dial, 107 * SEC, "4 s after the second");
	cr_assert_eq(rules_record_failure(&p, &c, 113, 108 * SEC, 0), 1, "third: banned");
	cr_assert_eq(p.ban_until, 108 * SEC + MUKAN_DEF_BAN_NS);
	cr_assert_not(rules_may_dial(&p, 200 * SEC));

	rules_record_success(&p, 300 * SEC);
	cr_assert_eq(p.failures, 0);
	cr_assert_eq(p.last_error, 0);
	cr_assert_eq(p.next_dial, MUKAN_TIME_NEVER);
	cr_assert_eq(p.last_connected, 300 * SEC);
	cr_assert_eq(p.attempts, 3, "attempts are upstream's: only mark good resets them");

	p.attempts = 0x7fffffff;
	rules_record_failure(&p, &c, 111, 400 * SEC, 0);
	cr_assert_eq(p.attempts, 0x7fffffff, "saturates, never overflows");
}

/* The failure that reaches the limit reports the ban; the ones after it only
 * extend it (today's main reported a "ban" on every one of them). */
Test(record, a_ban_is_reported_once_when_it_starts)
{
	struct mukan_config c = defaults();
	c.fail_limit = 3;
	struct mukan_peer p = { .next_dial = MUKAN_TIME_NEVER, .ban_until = MUKAN_TIME_NEVER };
	cr_assert_eq(rules_record_failure(&p, &c, 111, 100 * SEC, 0), 0);
	cr_assert_eq(rules_record_failure(&p, &c, 111, 101 * SEC, 0), 0);
	cr_assert_eq(rules_record_failure(&p, &c, 111, 102 * SEC, 0), 1, "the limit: a ban starts");
	for (int i = 0; i < 10; i++)
		cr_assert_eq(rules_record_failure(&p, &c, 111, (103 + i) * SEC, 0), 0,
			     "failure %d past the limit started no new ban", 4 + i);
	cr_assert_eq(p.ban_until, 112 * SEC + (int64_t)c.ban_ns, "each failure extends it");
	/* Once it has ended, the next failure at the limit starts a new one. */
	int64_t later = p.ban_until + SEC;
	cr_assert_eq(rules_record_failure(&p, &c, 111, later, 0), 1);
}

/* Persistent peers are never banned, however many failures. */
Test(record, persistent_peers_never_start_a_ban)
{
	struct mukan_config c = defaults();
	c.fail_limit = 1;
	struct mukan_peer p = { .flags = MUKAN_PEER_PERSISTENT, .next_dial = MUKAN_TIME_NEVER,
				.ban_until = MUKAN_TIME_NEVER };
	for (int i = 0; i < 5; i++)
		cr_assert_eq(rules_record_failure(&p, &c, 111, (100 + i) * SEC, 0), 0);
	cr_assert_eq(p.ban_until, MUKAN_TIME_NEVER);
	cr_assert_eq(p.failures, 5);
}

/* next_dial and ban_until only move forward under failures, whatever the order. */
Test(record, times_are_raised_never_lowered)
{
	__s64 t = MUKAN_TIME_NEVER, was = 0;
	cr_assert_eq(rules_raise_time(&t, 50, &was), 1);
	cr_assert_eq(was, MUKAN_TIME_NEVER);
	cr_assert_eq(rules_raise_time(&t, 40, &was), 0);
	cr_assert_eq(t, 50);
	cr_assert_eq(rules_raise_time(&t, 60, &was), 1);
	cr_assert_eq(was, 50);
	cr_assert_eq(t, 60);
}

#define RACE_THREADS 2
#define RACE_FAILURES 200000

struct race {
	struct mukan_peer *p;
	const struct mukan_config *c;
};

static void *race_main(void *arg)
{
	const struct race *r = arg;
	for (int i = 0; i < RACE_FAILURES; i++) {
		rules_record_dial(r->p, i);
		rules_record_failure(r->p, r->c, 111, i, (uint64_t)i);
	}
	return NULL;
}

/*
 * Two writers on one record at once (the kernel on two CPUs, or the kernel
 * and the daemon): every dial and every failure is counted. Plain
 * read-modify-writes lose some (99,992 of 100,000 on today's main).
 */
Test(record, concurrent_writers_lose_no_count)
{
	struct mukan_config c = defaults();
	c.fail_limit = MUKAN_MAX_FAIL_LIMIT;
	struct mukan_peer p = { .flags = MUKAN_PEER_PERSISTENT, .next_dial = MUKAN_TIME_NEVER,
				.ban_until = MUKAN_TIME_NEVER };
	struct race r = { &p, &c };
	pthread_t t[RACE_THREADS];
	for (int i = 0; i < RACE_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, race_main, &r), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(p.dials, RACE_THREADS * RACE_FAILURES);
	cr_assert_eq(p.failures, RACE_THREADS * RACE_FAILURES);
	cr_assert_eq(p.attempts, RACE_THREADS * RACE_FAILURES);
}
