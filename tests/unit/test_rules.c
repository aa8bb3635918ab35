/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rules.c - rules_is_bad / rules_is_banned at each threshold, one
 * nanosecond either side, since the kernel and userspace both rely on the
 * same edges as upstream knownAddress.isBad / isBanned (strict Before/After).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "mukan/rules.h"

/* Far from zero so that `now - 7 days` stays an ordinary time. */
#define NOW (1000 * MUKAN_NS_PER_DAY)
#define WEEK (7 * MUKAN_NS_PER_DAY)

/* A new-bucket record that no rule finds bad: just attempted, just succeeded. */
static struct mukan_peer fresh_new_peer(void)
{
	struct mukan_peer p;
	memset(&p, 0, sizeof(p));
	p.in_use = 1;
	p.bucket_type = MUKAN_BUCKET_NEW;
	p.last_attempt = NOW;
	p.last_success = NOW;
	p.ban_until = MUKAN_TIME_NEVER;
	return p;
}

Test(rules_is_bad, fresh_new_record_is_not_bad)
{
	struct mukan_peer p = fresh_new_peer();
	cr_assert_eq(rules_is_bad(&p, NOW), 0);
}

Test(rules_is_bad, old_is_never_bad)
{
	struct mukan_peer p = fresh_new_peer();
	p.bucket_type = MUKAN_BUCKET_OLD;
	p.last_attempt = MUKAN_TIME_NEVER;
	p.last_success = MUKAN_TIME_NEVER;
	p.attempts = 1000;
	cr_assert_eq(rules_is_bad(&p, NOW), 0);
	/* The same record in a new bucket is bad: only the type saved it. */
	p.bucket_type = MUKAN_BUCKET_NEW;
	cr_assert_eq(rules_is_bad(&p, NOW), 1);
}

Test(rules_is_bad, attempt_within_the_last_minute_protects)
{
	/* Would be bad by "never succeeded, 3 attempts" if not for the minute. */
	struct mukan_peer p = fresh_new_peer();
	p.last_success = MUKAN_TIME_NEVER;
	p.attempts = 3;

	p.last_attempt = NOW - 59 * MUKAN_NS_PER_SEC;
	cr_assert_eq(rules_is_bad(&p, NOW), 0, "59 s ago is within the minute");
	p.last_attempt = NOW - MUKAN_NS_PER_MIN + 1;
	cr_assert_eq(rules_is_bad(&p, NOW), 0, "1 ns inside the minute");
	p.last_attempt = NOW - MUKAN_NS_PER_MIN;
	cr_assert_eq(rules_is_bad(&p, NOW), 1, "exactly 60 s is not After(now - 1 min)");
	p.last_attempt = NOW - 61 * MUKAN_NS_PER_SEC;
	cr_assert_eq(rules_is_bad(&p, NOW), 1, "61 s ago goes on to the other rules");
}

Test(rules_is_bad, attempt_61s_ago_without_other_faults_is_not_bad)
{
	struct mukan_peer p = fresh_new_peer();
	p.last_attempt = NOW - 61 * MUKAN_NS_PER_SEC;
	cr_assert_eq(rules_is_bad(&p, NOW), 0);
}

Test(rules_is_bad, not_attempted_for_a_week)
{
	struct mukan_peer p = fresh_new_peer();
	p.last_attempt = NOW - WEEK;
	cr_assert_eq(rules_is_bad(&p, NOW), 0, "exactly 7 days is not Before(now - 7 days)");
	p.last_attempt = NOW - WEEK - 1;
	cr_assert_eq(rules_is_bad(&p, NOW), 1, "7 days + 1 ns is");
}

Test(rules_is_bad, never_succeeded_after_three_attempts)
{
	struct mukan_peer p = fresh_new_peer();
	p.last_attempt = NOW - 2 * MUKAN_NS_PER_MIN;
	p.last_success = MUKAN_TIME_NEVER;
	p.attempts = 2;
	cr_assert_eq(rules_is_bad(&p, NOW), 0, "2 attempts");
	p.attempts = 3;
	cr_assert_eq(rules_is_bad(&p, NOW), 1, "3 attempts");
}

Test(rules_is_bad, no_success_for_a_week_after_ten_attempts)
{
	struct mukan_peer p = fresh_new_peer();
	p.last_attempt = NOW - 2 * MUKAN_NS_PER_MIN;
	p.last_success = NOW - WEEK - 1;
	p.attempts = 9;
	cr_assert_eq(rules_is_bad(&p, NOW), 0, "9 attempts");
	p.attempts = 10;
	cr_assert_eq(rules_is_bad(&p, NOW), 1, "10 attempts");
	p.last_success = NOW - WEEK;
	cr_assert_eq(rules_is_bad(&p, NOW), 0, "success exactly 7 days ago is not Before");
}

Test(rules_is_bad, recent_success_with_ten_attempts_is_not_bad)
{
	struct mukan_peer p = fresh_new_peer();
	p.last_attempt = NOW - 2 * MUKAN_NS_PER_MIN;
	p.last_success = NOW - 6 * MUKAN_NS_PER_DAY;
	p.attempts = 10;
	cr_assert_eq(rules_is_bad(&p, NOW), 0);
}

Test(rules_is_bad, never_attempted_counts_as_long_ago)
{
	/* Go's zero time is Before everything, so "never" must be too. */
	struct mukan_peer p = fresh_new_peer();
	p.last_attempt = MUKAN_TIME_NEVER;
	cr_assert_eq(rules_is_bad(&p, NOW), 1);
}

Test(rules_is_bad, never_succeeded_is_only_bad_with_attempts)
{
	struct mukan_peer p = fresh_new_peer();
	p.last_attempt = NOW - 2 * MUKAN_NS_PER_MIN;
	p.last_success = MUKAN_TIME_NEVER;
	p.attempts = 0;
	cr_assert_eq(rules_is_bad(&p, NOW), 0);
}

Test(rules_is_banned, only_while_ban_end_is_in_the_future)
{
	struct mukan_peer p = fresh_new_peer();
	p.ban_until = NOW + 1;
	cr_assert_eq(rules_is_banned(&p, NOW), 1, "ends 1 ns from now");
	p.ban_until = NOW;
	cr_assert_eq(rules_is_banned(&p, NOW), 0, "ends now: not After(now)");
	p.ban_until = NOW - 1;
	cr_assert_eq(rules_is_banned(&p, NOW), 0, "ended 1 ns ago");
}

Test(rules_is_banned, never_banned)
{
	struct mukan_peer p = fresh_new_peer();
	p.ban_until = MUKAN_TIME_NEVER;
	cr_assert_eq(rules_is_banned(&p, NOW), 0);
	cr_assert_eq(rules_is_banned(&p, MUKAN_TIME_NEVER), 0, "even at the earliest time");
}
