/* SPDX-License-Identifier: Apache-2.0 */
/* manager_query.c - what operators and the daemon's timer read: states, counts, wake-ups, names. */
#include <errno.h>
#include <string.h>

#include "manager_internal.h"
#include "mukan/rules.h"

/* Bad is what upstream calls marked bad: banned, by the book or the kernel. */
static int record_state(const struct mukan_peer *p, int64_t now)
{
	if ((p->flags & MUKAN_PEER_BANNED) || rules_is_banned(p, now))
		return MANAGER_BAD;
	return MANAGER_CANDIDATE;
}

int manager_peer_state(const struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	int i = mgr_find(m, id);
	if (i >= 0)
		return m->peers[i].state;
	int slot = book_find(m->book, id);
	if (slot < 0)
		return -ENOENT;
	return record_state(book_slot(m->book, (uint32_t)slot), now);
}

int64_t manager_next_wakeup(const struct manager *m, int64_t now)
{
	if (!m->started || m->stopped)
		return MGR_NEVER;
	int64_t t = m->next_round;
	int64_t p = mgr_persist_next(m);
	if (p < t)
		t = p;
	if (m->retry_at < t)
		t = m->retry_at;
	return t < now ? now : t;
}

static const char *name_of(const char *const *names, int n, int v)
{
	return v >= 0 && v < n && names[v] ? names[v] : "unknown";
}

const char *manager_state_name(int state)
{
	static const char *const n[] = { "candidate", "dialing", "reconnecting", "connected", "bad" };
	return name_of(n, MANAGER_N_STATES, state);
}

const char *manager_reason_name(int reason)
{
	static const char *const n[] = { "normal", "persistent", "seed", "fast" };
	return name_of(n, MANAGER_N_REASONS, reason);
}

const char *manager_outcome_name(int outcome)
{
	static const char *const n[] = { "connected", "refused", "timed_out", "unreachable",
					 "local_error", "failed", "cancelled", "rejected" };
	return name_of(n, MANAGER_N_OUTCOMES, outcome);
}

const char *manager_policy_name(int policy)
{
	static const char *const n[] = { "mukan", "cometbft" };
	return name_of(n, 2, policy);
}

int manager_policy_parse(const char *s)
{
	if (s && strcmp(s, "mukan") == 0)
		return MANAGER_POLICY_MUKAN;
	if (s && strcmp(s, "cometbft") == 0)
		return MANAGER_POLICY_COMETBFT;
	return -EINVAL;
}
