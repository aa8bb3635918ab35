/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules.h - pure decision rules over a peer record.
 *
 * Static inline, no libc, only bounded loops: the same text is
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

/* ---- dial backoff and bans (the kernel and the engine both apply these) ---- */

/* Defaults follow upstream's dialPeer: 2^n s + U[0,1) s after n failures,
 * a 24 h ban after 16; the cap is ours (upstream lets 2^16 s pass). */
#define MUKAN_DEF_FAIL_LIMIT 16
#define MUKAN_DEF_BACKOFF_BASE_NS (2 * MUKAN_NS_PER_SEC)
#define MUKAN_DEF_BACKOFF_CAP_NS (60 * MUKAN_NS_PER_MIN)
#define MUKAN_DEF_JITTER_NS MUKAN_NS_PER_SEC
#define MUKAN_DEF_BAN_NS MUKAN_NS_PER_DAY
#define MUKAN_DEF_DIAL_TIMEOUT_MS 1000
#define MUKAN_DEF_CONFIG_FLAGS MUKAN_CFG_GATE

/* The accepted range of each field. */
#define MUKAN_MIN_FAIL_LIMIT 1
#define MUKAN_MAX_FAIL_LIMIT 1000
#define MUKAN_MIN_BACKOFF_NS 1000000LL /* 1 ms */
#define MUKAN_MAX_BACKOFF_NS (7 * MUKAN_NS_PER_DAY)
#define MUKAN_MIN_BAN_NS MUKAN_NS_PER_SEC
#define MUKAN_MAX_BAN_NS (30 * MUKAN_NS_PER_DAY)
#define MUKAN_MAX_DIAL_TIMEOUT_MS 60000

/* No run counts this many failed dials of one address (2^31 at one a
 * millisecond is 24 days without pause): a record that says so was written
 * by something else, and the count must never reach its wrap at 2^32. */
#define MUKAN_MAX_RECORD_FAILURES 0x7fffffffu

static inline void rules_config_defaults(struct mukan_config *c)
{
	c->flags = MUKAN_DEF_CONFIG_FLAGS;
	c->fail_limit = MUKAN_DEF_FAIL_LIMIT;
	c->dial_timeout_ms = MUKAN_DEF_DIAL_TIMEOUT_MS;
	c->generation = 0;
	c->backoff_base_ns = MUKAN_DEF_BACKOFF_BASE_NS;
	c->backoff_cap_ns = MUKAN_DEF_BACKOFF_CAP_NS;
	c->backoff_jitter_ns = MUKAN_DEF_JITTER_NS;
	c->ban_ns = MUKAN_DEF_BAN_NS;
}

/* Which field of a config is out of range (0 = all valid). */
enum mukan_config_problem {
	MUKAN_CFG_OK = 0,
	MUKAN_CFG_BAD_FLAGS,
	MUKAN_CFG_BAD_FAIL_LIMIT,
	MUKAN_CFG_BAD_DIAL_TIMEOUT,
	MUKAN_CFG_BAD_BASE,
	MUKAN_CFG_BAD_CAP,
	MUKAN_CFG_BAD_JITTER,
	MUKAN_CFG_BAD_BAN,
};

static inline int rules_config_check(const struct mukan_config *c)
{
	if (c->flags & ~(__u32)MUKAN_CFG_GATE)
		return MUKAN_CFG_BAD_FLAGS;
	if (c->fail_limit < MUKAN_MIN_FAIL_LIMIT || c->fail_limit > MUKAN_MAX_FAIL_LIMIT)
		return MUKAN_CFG_BAD_FAIL_LIMIT;
	if (c->dial_timeout_ms > MUKAN_MAX_DIAL_TIMEOUT_MS)
		return MUKAN_CFG_BAD_DIAL_TIMEOUT;
	if (c->backoff_base_ns < MUKAN_MIN_BACKOFF_NS || c->backoff_base_ns > MUKAN_MAX_BACKOFF_NS)
		return MUKAN_CFG_BAD_BASE;
	if (c->backoff_cap_ns < c->backoff_base_ns || c->backoff_cap_ns > MUKAN_MAX_BACKOFF_NS)
		return MUKAN_CFG_BAD_CAP;
	if (c->backoff_jitter_ns > c->backoff_cap_ns)
		return MUKAN_CFG_BAD_JITTER;
	if (c->ban_ns < MUKAN_MIN_BAN_NS || c->ban_ns > MUKAN_MAX_BAN_NS)
		return MUKAN_CFG_BAD_BAN;
	return MUKAN_CFG_OK;
}

static inline __u64 rules_clamp_u64(__u64 v, __u64 lo, __u64 hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * What the kernel applies when an operator wrote nonsense with bpftool:
 * every field forced into its range (a zero base becomes the minimum, a cap
 * below the base becomes the base), never a division by zero or a shift past
 * 63, never a ban of zero length.
 */
static inline void rules_config_clamp(struct mukan_config *c)
{
	c->flags &= MUKAN_CFG_GATE;
	c->fail_limit = (__u32)rules_clamp_u64(c->fail_limit, MUKAN_MIN_FAIL_LIMIT, MUKAN_MAX_FAIL_LIMIT);
	c->dial_timeout_ms = (__u32)rules_clamp_u64(c->dial_timeout_ms, 0, MUKAN_MAX_DIAL_TIMEOUT_MS);
	c->backoff_base_ns = rules_clamp_u64(c->backoff_base_ns, MUKAN_MIN_BACKOFF_NS, MUKAN_MAX_BACKOFF_NS);
	c->backoff_cap_ns = rules_clamp_u64(c->backoff_cap_ns, c->backoff_base_ns, MUKAN_MAX_BACKOFF_NS);
	c->backoff_jitter_ns = rules_clamp_u64(c->backoff_jitter_ns, 0, c->backoff_cap_ns);
	c->ban_ns = rules_clamp_u64(c->ban_ns, MUKAN_MIN_BAN_NS, MUKAN_MAX_BAN_NS);
}

/*
 * How long to wait after `failures` consecutive failures (>= 1):
 * base * 2^(failures-1), at most cap, plus rand % (jitter + 1).
 * `c` must be clamped (rules_config_clamp) or valid.
 */
static inline __u64 rules_backoff_ns(const struct mukan_config *c, __u32 failures, __u64 rand)
{
	__u64 wait = c->backoff_cap_ns;
	__u32 shift = failures > 0 ? failures - 1 : 0;
	if (shift < 63 && c->backoff_base_ns <= (c->backoff_cap_ns >> shift))
		wait = c->backoff_base_ns << shift;
	return wait + rand % (c->backoff_jitter_ns + 1);
}

/* Reaching the failure limit bans the address, unless it is persistent. */
static inline int rules_should_ban(const struct mukan_config *c, const struct mukan_peer *p)
{
	return !(p->flags & MUKAN_PEER_PERSISTENT) && p->failures >= c->fail_limit;
}

/*
 * ---- shared dial fields: atomics ----
 *
 * A record's dial fields have several writers at once: the kernel programs on
 * every CPU and the record writer in userspace. Counters are fetch-and-add
 * (nothing is lost; whatever follows from the count uses the value this add
 * produced), times that only move forward (next_dial, ban_until) are raised
 * with a compare-and-swap "max", single stores are single stores. The same
 * text compiles for BPF (needs -mcpu=v3 for 32-bit atomics) and userspace.
 * Retry loops are bounded for the verifier: a CAS only fails when another
 * writer changed the field in between, and each of those raised it too.
 */
#define MUKAN_CAS_TRIES 16

#ifdef __bpf__
#define MUKAN_LOAD(p) (*(volatile __typeof__(*(p)) *)(p))
#define MUKAN_STORE(p, v) (*(volatile __typeof__(*(p)) *)(p) = (v))
#else
#define MUKAN_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define MUKAN_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#endif

/*
 * Raise *t to at least v ("never" is below every time). 1 when this call
 * raised it, with the value it replaced in *was; 0 when it already was
 * at least v (or every try lost to another writer).
 */
static inline int rules_raise_time(__s64 *t, __s64 v, __s64 *was)
{
	__s64 old = MUKAN_LOAD(t);
	for (int i = 0; i < MUKAN_CAS_TRIES; i++) {
		if (old >= v)
			return 0;
		__s64 seen = __sync_val_compare_and_swap(t, old, v);
		if (seen == old) {
			*was = old;
			return 1;
		}
		old = seen;
	}
	return 0;
}

/* attempts + 1, stopping at INT32_MAX (a file may start it anywhere); the new value. */
static inline __s32 rules_attempts_inc(__s32 *a)
{
	__s32 old = MUKAN_LOAD(a);
	for (int i = 0; i < MUKAN_CAS_TRIES; i++) {
		if (old == 0x7fffffff)
			return old;
		__s32 seen = __sync_val_compare_and_swap(a, old, old + 1);
		if (seen == old)
			return old + 1;
		old = seen;
	}
	/* Contended every time: count it anyway rather than lose it. */
	return (__s32)(__sync_fetch_and_add((__u32 *)a, 1) + 1);
}

/* A ban that ended (or never was) when this one began is a new ban. */
static inline int rules_ban_started(__s64 was, __s64 now)
{
	return was == MUKAN_TIME_NEVER || was <= now;
}

/*
 * Record a failed dial (refused, timed out, unreachable, local error) the
 * same way wherever it was seen: by the kernel program, or by userspace for
 * the errors the kernel cannot see and when BPF is off. Returns 1 only when
 * this failure started a ban (the address was not banned before): a ban is
 * reported once, however many failures follow it.
 */
static inline int rules_record_failure(struct mukan_peer *p, const struct mukan_config *c,
				       int err, __s64 now, __u64 rand)
{
	__u32 failures = __sync_fetch_and_add(&p->failures, 1) + 1;
	rules_attempts_inc(&p->attempts); /* upstream MarkAttempt on a failed dial */
	MUKAN_STORE(&p->last_attempt, now);
	MUKAN_STORE(&p->last_error, err);
	__s64 was = MUKAN_TIME_NEVER;
	rules_raise_time(&p->next_dial, now + (__s64)rules_backoff_ns(c, failures, rand), &was);
	if ((MUKAN_LOAD(&p->flags) & MUKAN_PEER_PERSISTENT) || failures < c->fail_limit)
		return 0;
	if (!rules_raise_time(&p->ban_until, now + (__s64)c->ban_ns, &was))
		return 0;
	return rules_ban_started(was, now);
}

/* Record a dial that reached ESTABLISHED. */
static inline void rules_record_success(struct mukan_peer *p, __s64 now)
{
	MUKAN_STORE(&p->failures, 0);
	MUKAN_STORE(&p->last_error, 0);
	MUKAN_STORE(&p->next_dial, MUKAN_TIME_NEVER);
	MUKAN_STORE(&p->last_connected, now);
}

/* A dial seen (every outcome counts). */
static inline void rules_record_dial(struct mukan_peer *p, __s64 now)
{
	__sync_fetch_and_add(&p->dials, 1);
	MUKAN_STORE(&p->last_dial, now);
}

/* May a connect to this record go out now? (The connect gate's question.) */
static inline int rules_may_dial(const struct mukan_peer *p, __s64 now)
{
	if (MUKAN_LOAD(&p->flags) & MUKAN_PEER_PERSISTENT)
		return 1; /* persistent peers follow their own schedule */
	__s64 ban_until = MUKAN_LOAD(&p->ban_until), next_dial = MUKAN_LOAD(&p->next_dial);
	if (ban_until != MUKAN_TIME_NEVER && ban_until > now)
		return 0;
	return next_dial == MUKAN_TIME_NEVER || next_dial <= now;
}

#endif /* MUKAN_RULES_H */
