/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_events.c - what the daemon reports: dial outcomes, lost peers,
 * PEX replies. Under the mukan policy each one that frees a slot refills it
 * before returning (event-driven); under the cometbft policy slots wait for
 * the next round, as upstream.
 */
#include <errno.h>
#include <string.h>

#include "manager_internal.h"
#include "mukan/rules.h"

#define UPSTREAM_BAN_NS MUKAN_NS_PER_DAY

/* The engine did not take the dial at all (its window was full), or the
 * host had no descriptor or memory for it: the next try waits a little. */
static bool engine_refused(int outcome, int err)
{
	return outcome == MANAGER_OUT_LOCAL_ERROR &&
	       (err == EBUSY || err == EALREADY || mgr_out_of_resources(err));
}

static void after_seed_failed(struct manager *m, const struct mgr_peer *p, int64_t now)
{
	if ((p->kind & MGR_SEED) && m->seed_active)
		mgr_seeds_next(m, now);
}

static int connected(struct manager *m, uint32_t i, int64_t now)
{
	struct mgr_peer *p = &m->peers[i];
	bool seed = p->kind & MGR_SEED;
	if (p->counted && m->n_connected_out >= m->cfg.max_outbound) {
		/* Only over-dialing (or a lowered limit) gets here: never keep more. */
		m->st.dropped++;
		mgr_peer_release(m, i);
		if (seed && m->seed_active) {
			m->seed_active = false;
			mgr_after_seeds(m, now);
		}
		return MANAGER_DROP;
	}
	mgr_set_state(m, i, MANAGER_CONNECTED, now);
	p->in_episode = false;
	p->tries = 0;
	/* Upstream AddPeer: ask a new outbound peer for addresses if the book needs more. */
	if (seed || book_need_more(m->book))
		mgr_request_addrs(m, i, now);
	if (seed && m->seed_active) {
		m->seed_active = false;
		mgr_after_seeds(m, now);
	}
	mgr_cancel_surplus(m);
	return MANAGER_KEEP;
}

int manager_on_dial_done(struct manager *m, const uint8_t id[MUKAN_ID_LEN],
			 enum manager_outcome outcome, int err, int64_t now)
{
	if ((unsigned)outcome >= MANAGER_N_OUTCOMES)
		return -EINVAL;
	int i = mgr_find(m, id);
	if (i < 0 || m->peers[i].state != MANAGER_DIALING)
		return -ENOENT;
	struct mgr_peer *p = &m->peers[i];
	m->st.outcomes[outcome]++;
	mgr_record_outcome(m, &p->na, p->since, outcome, err, now);
	int slot = book_find(m->book, p->na.id);
	if (slot >= 0)
		mgr_sync_ban(m, (uint32_t)slot, now); /* a ban the kernel set joins the ban list */
	if (m->cfg.policy == MANAGER_POLICY_COMETBFT && p->reason == MANAGER_REASON_NORMAL)
		mgr_hist_outcome(m, &p->na, outcome, now);
	if (outcome == MANAGER_OUT_CONNECTED)
		return connected(m, (uint32_t)i, now);

	struct mgr_peer gone = *p;
	if (p->kind & MGR_PERSISTENT)
		mgr_persist_failed(m, (uint32_t)i, now);
	else
		mgr_peer_release(m, (uint32_t)i);
	after_seed_failed(m, &gone, now);
	if (engine_refused(outcome, err)) {
		/* The engine is full: a dial queued now would be refused the same
		 * way, over and over. The next completion refills, or the retry. */
		if (now + m->cfg.refill_retry_ns < m->retry_at)
			m->retry_at = now + m->cfg.refill_retry_ns;
		return 0;
	}
	mgr_fill(m, now);
	return 0;
}

int manager_on_peer_gone(struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	int i = mgr_find(m, id);
	if (i < 0 || m->peers[i].state != MANAGER_CONNECTED)
		return -ENOENT;
	struct mgr_peer *p = &m->peers[i];
	p->request_out = false;
	if (m->cfg.min_session_ns > 0 && now - p->since < m->cfg.min_session_ns)
		mgr_record_short_session(m, id, now);
	if (p->kind & MGR_PERSISTENT)
		mgr_persist_lost(m, (uint32_t)i, now);
	else
		mgr_peer_release(m, (uint32_t)i);
	mgr_fill(m, now);
	return 0;
}

static bool is_configured_seed(const struct manager *m, const uint8_t id[MUKAN_ID_LEN])
{
	for (uint32_t k = 0; k < m->n_seeds; k++)
		if (memcmp(m->seeds[k].id, id, MUKAN_ID_LEN) == 0)
			return true;
	return false;
}

static void shuffle_fast(struct manager *m)
{
	for (uint32_t i = m->n_fast; i > 1; i--) {
		uint32_t j = rng_below(&m->rng, i);
		uint8_t t[MUKAN_ID_LEN];
		memcpy(t, m->fast[i - 1], MUKAN_ID_LEN);
		memcpy(m->fast[i - 1], m->fast[j], MUKAN_ID_LEN);
		memcpy(m->fast[j], t, MUKAN_ID_LEN);
	}
}

/* PR 3360: addresses from a seed wake the ensure-peers routine at once. */
static void cometbft_wake(struct manager *m, int64_t now)
{
	if (!m->first_round_done)
		return; /* the first round is on its way anyway */
	mgr_round(m, now);
}

int manager_on_addrs(struct manager *m, const struct netaddr *from, bool from_seed,
		     const struct netaddr *addrs, size_t n, int64_t now)
{
	if (!from || !from->has_id || (!addrs && n > 0))
		return -EINVAL;
	int i = mgr_find(m, from->id);
	if (i < 0 || !m->peers[i].request_out) {
		/* Upstream: an unsolicited list stops the peer and bans it 24 h. */
		m->st.unsolicited++;
		book_mark_bad(m->book, from->id, UPSTREAM_BAN_NS, now);
		return -EPROTO;
	}
	m->peers[i].request_out = false;
	bool seed = from_seed || (m->peers[i].kind & MGR_SEED) || is_configured_seed(m, from->id);
	bool fast = seed && m->cfg.policy == MANAGER_POLICY_MUKAN;
	if (fast)
		m->n_fast = 0; /* the newest reply wins */
	int added = 0;
	for (size_t k = 0; k < n; k++) {
		int r = book_add(m->book, &addrs[k], from, now);
		if (r < 0)
			continue; /* invalid, banned, ours, unroutable: skipped, as upstream */
		added += r > 0;
		if (fast && m->n_fast < MGR_FAST_MAX)
			memcpy(m->fast[m->n_fast++], addrs[k].id, MUKAN_ID_LEN);
	}
	if (fast) {
		shuffle_fast(m);
		mgr_fill(m, now);
	} else if (seed) {
		cometbft_wake(m, now);
	}
	return added;
}

int manager_adopt_peer(struct manager *m, const struct netaddr *na, int64_t now)
{
	if (!na || !na->has_id)
		return -EINVAL;
	int i = mgr_find(m, na->id);
	if (i < 0)
		i = mgr_peer_new(m, na, 0, now);
	if (i < 0)
		return i;
	if (m->peers[i].state == MANAGER_DIALING || m->peers[i].state == MANAGER_CONNECTED)
		return -EALREADY;
	mgr_set_state(m, (uint32_t)i, MANAGER_CONNECTED, now);
	m->peers[i].next_try = MGR_NEVER;
	return 0;
}

void manager_on_inbound_count(struct manager *m, uint32_t n)
{
	m->inbound = n;
}
