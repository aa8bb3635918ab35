/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_round.c - the periodic ensure-peers round of each policy, the
 * need-more-addresses step and the seeds (upstream ensurePeers, dialSeeds).
 */
#include <errno.h>

#include "manager_internal.h"
#include "mukan/rules.h"

#define UPSTREAM_MAX_ATTEMPTS_TO_DIAL 16
#define UPSTREAM_BAN_NS MUKAN_NS_PER_DAY

/* A PEX request to one random connected peer (inbound ones are the node's). */
static void request_from_random_peer(struct manager *m, int64_t now)
{
	uint32_t n = 0;
	if (!mgr_scratch(m, m->cap_peers))
		return;
	for (uint32_t i = 0; i < m->cap_peers; i++) {
		const struct mgr_peer *p = &m->peers[i];
		/* Upstream draws among all peers and then skips one with a request
		 * out; mukan draws among those it may ask. */
		if (!p->in_use || p->state != MANAGER_CONNECTED)
			continue;
		if (m->cfg.policy == MANAGER_POLICY_MUKAN && p->request_out)
			continue;
		m->scratch[n++] = i;
	}
	if (n > 0)
		mgr_request_addrs(m, m->scratch[rng_below(&m->rng, n)], now);
}

static void seeds_begin(struct manager *m, int64_t now)
{
	if (m->n_seeds == 0 || m->seed_active)
		return;
	/* A random order, as upstream's cmtrand.Perm. */
	for (uint32_t i = 0; i < m->n_seeds; i++)
		m->seed_perm[i] = i;
	for (uint32_t i = m->n_seeds; i > 1; i--) {
		uint32_t j = rng_below(&m->rng, i), t = m->seed_perm[i - 1];
		m->seed_perm[i - 1] = m->seed_perm[j];
		m->seed_perm[j] = t;
	}
	m->seed_pos = 0;
	m->seed_active = true;
	m->st.seed_rounds++;
	mgr_seeds_next(m, now);
}

/* Dial the next seed; the sequence ends at the first that connects, at one
 * already dialing or connected (as upstream), or when no slot is free. */
void mgr_seeds_next(struct manager *m, int64_t now)
{
	while (m->seed_active && m->seed_pos < m->n_seeds && mgr_free_slots(m) > 0) {
		const struct netaddr *s = &m->seeds[m->seed_perm[m->seed_pos++]];
		if (mgr_find(m, s->id) >= 0 || mgr_ip_busy(m, &s->a))
			break;
		if (mgr_dial(m, s, MGR_SEED, MANAGER_REASON_SEED, now) >= 0)
			return;
	}
	if (!m->seed_active)
		return;
	m->seed_active = false;
	mgr_after_seeds(m, now);
}

/* The seeds are done: a tick that came meanwhile runs now (Go's ticker keeps one). */
void mgr_after_seeds(struct manager *m, int64_t now)
{
	if (m->round_deferred) {
		m->round_deferred = false;
		mgr_round(m, now);
	}
}

/* Upstream's second half of ensurePeers, both policies. */
static void need_more(struct manager *m, bool picked_nothing, int64_t now)
{
	if (!book_need_more(m->book))
		return;
	book_reinstate(m->book, now);
	if (!book_need_more(m->book))
		return;
	request_from_random_peer(m, now);
	if (picked_nothing)
		seeds_begin(m, now);
}

static void mukan_round(struct manager *m, int64_t now)
{
	uint32_t want = mgr_free_slots(m);
	uint32_t got = mgr_fill(m, now);
	need_more(m, want > 0 && got == 0, now);
}

/* upstream dialPeer's checks, before the switch sees the address. */
static int cometbft_dial_peer(struct manager *m, uint32_t slot, int64_t now)
{
	const struct mukan_peer *p = book_slot(m->book, slot);
	struct mgr_hist *h = mgr_hist_of(m, slot);
	int32_t attempts = h ? h->attempts : 0;
	if (attempts > UPSTREAM_MAX_ATTEMPTS_TO_DIAL) {
		book_mark_bad(m->book, p->id, UPSTREAM_BAN_NS, now);
		return -EPERM;
	}
	if (attempts > 0) {
		int64_t jitter = (int64_t)(rng_unit(&m->rng) * (double)MUKAN_NS_PER_SEC);
		int64_t backoff = jitter + ((int64_t)1 << attempts) * MUKAN_NS_PER_SEC;
		if (now - h->last < backoff) {
			m->st.too_early++;
			return -EAGAIN;
		}
	}
	/* DialPeerWithAddress checks again: an earlier pick of this round may
	 * have taken the IP (upstream would dial both and reject one later). */
	if (mgr_find(m, p->id) >= 0 || mgr_ip_busy(m, &p->addr))
		return -EALREADY;
	struct netaddr na;
	book_peer_addr(p, &na);
	return mgr_dial(m, &na, 0, MANAGER_REASON_NORMAL, now);
}

/* Upstream ensurePeers, step for step. */
static void cometbft_round(struct manager *m, int64_t now)
{
	uint32_t max = m->cfg.max_outbound, busy = m->n_connected_out + m->n_dialing_out;
	if (m->stopped || busy >= max)
		return; /* upstream returns before the need-more step too */
	uint32_t to_dial = max - busy, n = 0;
	int bias = book_bias_for_outbound((int)m->n_connected_out);
	if (!mgr_scratch(m, to_dial))
		return;
	for (uint32_t k = 0; k < 3 * to_dial && n < to_dial; k++) {
		uint32_t slot;
		m->st.picks++;
		if (book_pick(m->book, bias, &slot) < 0)
			continue;
		bool seen = false;
		for (uint32_t j = 0; j < n; j++)
			seen |= m->scratch[j] == slot;
		if (seen || !mgr_candidate_ok(m, slot, now, NULL))
			continue;
		m->scratch[n++] = slot;
	}
	/* Each picked address goes through dialPeer, which may refuse it. */
	for (uint32_t j = 0; j < n; j++)
		cometbft_dial_peer(m, m->scratch[j], now);
	need_more(m, n == 0, now);
}

void mgr_round(struct manager *m, int64_t now)
{
	if (m->stopped)
		return;
	/* Upstream's routine is busy inside dialSeeds: the round waits for it. */
	if (m->cfg.policy == MANAGER_POLICY_COMETBFT && m->seed_active) {
		m->round_deferred = true;
		return;
	}
	m->first_round_done = true;
	m->st.rounds++;
	if (m->cfg.policy == MANAGER_POLICY_COMETBFT)
		cometbft_round(m, now);
	else
		mukan_round(m, now);
}
