/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules.h - pure decision rules over a peer record.
 *
 * Static inline, no libc, no loops the verifier would mind: the same text is
 * compiled into the BPF programs and into userspace, so the kernel and the
 * daemon can never disagree on what "bad" or "banned" means.
 */
#ifndef MUKAN_RULES_H
#define MUKAN_RULES_H

#include "abi.h"

#define MUKAN_NS_PER_SEC 1000000000LL
#define MUKAN_NS_PER_MIN (60 * MUKAN_NS_PER_SEC)
#define MUKAN_NS_PER_DAY (24 * 60 * MUKAN_NS_PER_MIN)

/* Upstream is-bad thresholds (p2p/pex/params.go). */
#define MUKAN_NUM_MISSING_DAYS 7
#define MUKAN_NUM_RETRIES 3
#define MUKAN_MAX_FAILURES 10
#define MUKAN_MIN_BAD_DAYS 7

/* t happened strictly before `now - ago`; "never" is before everything. */
static inline int rules_before(__s64 t, __s64 now, __s64 ago)
{
	if (t == MUKAN_TIME_NEVER)
		return 1;
	return t < now - ago;
}

/* t happened strictly after `now - ago`. */
static inline int rules_after(__s64 t, __s64 now, __s64 ago)
{
	if (t == MUKAN_TIME_NEVER)
		return 0;
	return t > now - ago;
}

/* Banned while the ban end lies in the future (upstream isBanned). */
static inline int rules_is_banned(const struct mukan_peer *p, __s64 now)
{
	return p->ban_until != MUKAN_TIME_NEVER && p->ban_until > now;
}

/*
 * Upstream knownAddress.isBad, in its order: only new addresses are ever bad;
 * one attempted in the last minute is not; one not attempted for a week is;
 * one that never succeeded after 3 attempts is; one without success for a
 * week after 10 attempts is.
 */
static inline int rules_is_bad(const struct mukan_peer *p, __s64 now)
{
	if (p->bucket_type == MUKAN_BUCKET_OLD)
		return 0;
	if (rules_after(p->last_attempt, now, MUKAN_NS_PER_MIN))
		return 0;
	if (rules_before(p->last_attempt, now,
			 MUKAN_NUM_MISSING_DAYS * MUKAN_NS_PER_DAY))
		return 1;
	if (p->last_success == MUKAN_TIME_NEVER &&
	    p->attempts >= MUKAN_NUM_RETRIES)
		return 1;
	if (rules_before(p->last_success, now,
			 MUKAN_MIN_BAD_DAYS * MUKAN_NS_PER_DAY) &&
	    p->attempts >= MUKAN_MAX_FAILURES)
		return 1;
	return 0;
}

#endif /* MUKAN_RULES_H */
