/* SPDX-License-Identifier: Apache-2.0 */
/* manager.c - configuration, life of a manager, the tick. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager_internal.h"
#include "mukan/rules.h"

#define DEF_ENSURE_PERIOD_NS (30 * MUKAN_NS_PER_SEC)
#define DEF_REFILL_RETRY_NS (5 * MUKAN_NS_PER_SEC)

void manager_config_defaults(struct manager_config *c, enum manager_policy policy)
{
	memset(c, 0, sizeof(*c));
	c->policy = policy;
	c->max_outbound = 10;
	c->ensure_period_ns = DEF_ENSURE_PERIOD_NS;
	c->overdial = 1;
	c->refill_retry_ns = DEF_REFILL_RETRY_NS;
	c->prefer_distinct_groups = policy == MANAGER_POLICY_MUKAN;
	rules_config_defaults(&c->rules);
	c->persist.quick_tries = 20;
	c->persist.quick_interval_ns = 5 * MUKAN_NS_PER_SEC;
	c->persist.jitter_ns = 3 * MUKAN_NS_PER_SEC;
	c->persist.backoff_tries = 10;
	c->persist.backoff_base = 3;
	c->persist.forever = policy == MANAGER_POLICY_MUKAN; /* upstream gives up (cometbft#3267) */
	/* Upstream's DialPeersAsync sleeps U[0, 3 s) before each dial. */
	c->persist.startup_jitter_ns = policy == MANAGER_POLICY_COMETBFT ? 3 * MUKAN_NS_PER_SEC : 0;
}

static int check_config(const struct manager_config *c)
{
	if (c->policy != MANAGER_POLICY_MUKAN && c->policy != MANAGER_POLICY_COMETBFT)
		return -EINVAL;
	if (c->ensure_period_ns <= 0 || c->refill_retry_ns <= 0 || c->overdial == 0)
		return -EINVAL;
	if (c->persist.quick_interval_ns < 0 || c->persist.jitter_ns < 0 ||
	    c->persist.max_period_ns < 0 || c->persist.startup_jitter_ns < 0 ||
	    c->persist.backoff_base == 0)
		return -EINVAL;
	return 0;
}

int manager_new(struct manager **out, struct book *book, const struct manager_config *c)
{
	if (!out || !book || !c)
		return -EINVAL;
	int err = check_config(c);
	if (err < 0)
		return err;
	struct manager *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *c;
	rules_config_clamp(&m->cfg.rules);
	m->book = book;
	rng_seed(&m->rng, c->seed);
	uint64_t hk = rng_next(&m->rng);
	m->retry_at = MGR_NEVER;
	m->next_round = MGR_NEVER;
	uint32_t expect = c->max_outbound * (c->overdial + 1) + 16;
	if (keytab_init(&m->by_id, expect, hk) < 0 || keytab_init(&m->ips, expect, hk + 1) < 0 ||
	    keytab_init(&m->addrs, expect, hk + 2) < 0 || keytab_init(&m->groups, expect, hk + 3) < 0 ||
	    keytab_init(&m->uncond, 16, hk + 4) < 0)
		goto nomem;
	m->fast = calloc(MGR_FAST_MAX, sizeof(*m->fast));
	if (!m->fast)
		goto nomem;
	if (c->policy == MANAGER_POLICY_COMETBFT) {
		m->hist_cap = book_capacity(book);
		m->hist = calloc(m->hist_cap, sizeof(*m->hist));
		if (!m->hist)
			goto nomem;
	}
	if (mgr_tally_init(m) < 0)
		goto nomem;
	*out = m;
	return 0;
nomem:
	manager_free(m);
	return -ENOMEM;
}

void manager_free(struct manager *m)
{
	if (!m)
		return;
	keytab_free(&m->by_id);
	keytab_free(&m->ips);
	keytab_free(&m->addrs);
	keytab_free(&m->groups);
	keytab_free(&m->uncond);
	free(m->peers);
	free(m->free_idx);
	free(m->persist);
	free(m->seeds);
	free(m->seed_perm);
	free(m->scratch);
	free(m->fast);
	free(m->hist);
	mgr_queue_free(&m->q);
	mgr_tally_free(m);
	free(m);
}

static void flag_record(struct manager *m, const uint8_t id[MUKAN_ID_LEN], uint8_t flag)
{
	int slot = book_find(m->book, id);
	if (slot >= 0)
		book_slot_mut(m->book, (uint32_t)slot)->flags |= flag;
}

int manager_add_persistent(struct manager *m, const struct netaddr *na, int64_t now)
{
	if (!na || !na->has_id || m->started)
		return -EINVAL;
	if (m->n_persist == m->cap_persist) {
		uint32_t cap = m->cap_persist ? m->cap_persist * 2 : 8;
		uint32_t *np = realloc(m->persist, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		m->persist = np;
		m->cap_persist = cap;
	}
	int i = mgr_peer_new(m, na, MGR_PERSISTENT, now);
	if (i < 0)
		return i;
	m->persist[m->n_persist++] = (uint32_t)i;
	/* Upstream adds configured peers to the book with our address as the
	 * source. The book may refuse (a private address in strict mode); the
	 * peer is dialed anyway. */
	const struct netaddr *src = m->cfg.self.has_id ? &m->cfg.self : na;
	book_add(m->book, na, src, now);
	flag_record(m, na->id, MUKAN_PEER_PERSISTENT);
	return 0;
}

int manager_add_seed(struct manager *m, const struct netaddr *na)
{
	if (!na || !na->has_id || m->started)
		return -EINVAL;
	if (m->n_seeds == m->cap_seeds) {
		uint32_t cap = m->cap_seeds ? m->cap_seeds * 2 : 8;
		struct netaddr *ns = realloc(m->seeds, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		m->seeds = ns;
		uint32_t *perm = realloc(m->seed_perm, cap * sizeof(*perm));
		if (!perm)
			return -ENOMEM;
		m->seed_perm = perm;
		m->cap_seeds = cap;
	}
	m->seeds[m->n_seeds++] = *na;
	flag_record(m, na->id, MUKAN_PEER_SEED);
	return 0;
}

int manager_add_unconditional(struct manager *m, const uint8_t id[MUKAN_ID_LEN])
{
	if (!id || m->started)
		return -EINVAL;
	if (keytab_put(&m->uncond, id, 1) < 0)
		return -ENOMEM;
	int i = mgr_find(m, id);
	if (i >= 0 && m->peers[i].state == MANAGER_CANDIDATE) {
		m->peers[i].kind |= MGR_UNCONDITIONAL;
		m->peers[i].counted = false;
	}
	flag_record(m, id, MUKAN_PEER_UNCONDITIONAL);
	return 0;
}

static bool has_peers_or_dials(const struct manager *m)
{
	if (m->inbound > 0)
		return true;
	for (uint32_t i = 0; i < m->cap_peers; i++) {
		const struct mgr_peer *p = &m->peers[i];
		if (p->in_use && (p->state == MANAGER_DIALING || p->state == MANAGER_CONNECTED))
			return true;
	}
	return false;
}

int manager_start(struct manager *m, int64_t now)
{
	if (m->started)
		return -EALREADY;
	m->started = true;
	/* The counts were made before the manager knew the time: make them at it. */
	manager_recount(m, now);
	/* Upstream: a node that already has peers (or dials) waits U[0, period)
	 * before its first round, so restarted nodes do not dial in a herd.
	 * Decided before the persistent dials start, as upstream's routine
	 * starts before DialPeersAsync. */
	int64_t delay = 0;
	if (has_peers_or_dials(m))
		delay = (int64_t)(rng_unit(&m->rng) * (double)m->cfg.ensure_period_ns);
	m->next_round = now + delay;
	mgr_persist_start(m, now);
	return manager_tick(m, now);
}

int manager_tick(struct manager *m, int64_t now)
{
	if (!m->started)
		return -EINVAL;
	if (m->stopped)
		return 0;
	mgr_persist_due(m, now);
	if (now >= m->next_round) {
		bool first = !m->first_round_done;
		mgr_round(m, now);
		/* A ticker: started after the first round, then fixed steps; ticks
		 * missed while late are dropped, as Go's ticker drops them. */
		if (first)
			m->next_round = now + m->cfg.ensure_period_ns;
		while (m->next_round <= now)
			m->next_round += m->cfg.ensure_period_ns;
	}
	if (m->retry_at <= now)
		mgr_fill(m, now);
	return 0;
}

void manager_stop(struct manager *m)
{
	for (uint32_t i = 0; i < m->cap_peers; i++)
		if (m->peers[i].in_use)
			mgr_cancel(m, i);
	m->stopped = true;
	m->seed_active = false;
	m->retry_at = MGR_NEVER;
}

void manager_set_rules(struct manager *m, const struct mukan_config *rules)
{
	m->cfg.rules = *rules;
	rules_config_clamp(&m->cfg.rules);
}

void manager_set_max_outbound(struct manager *m, uint32_t max_outbound, int64_t now)
{
	m->cfg.max_outbound = max_outbound;
	mgr_cancel_surplus(m);
	mgr_fill(m, now);
}

uint32_t manager_dialing_out(const struct manager *m)
{
	return m->n_dialing_out;
}

uint32_t manager_connected_out(const struct manager *m)
{
	return m->n_connected_out;
}

const struct manager_stats *manager_stats(const struct manager *m)
{
	return &m->st;
}
