/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_persist.c - persistent peers: dialed at start, redialed on
 * upstream's schedule (switch.reconnectToPeer) after a failed dial or a lost
 * connection, never banned, never counted against max_outbound.
 *
 * Upstream's two loops, as waits between tries of one episode:
 *   phase 1, Q tries:  dial; on failure sleep(interval + J)
 *   phase 2, B tries:  sleep(base^i s + J); dial            (i = 0 .. B-1)
 * so with k failed tries so far the wait before the next one is
 *   (1 <= k <= Q ? interval + J : 0) + (Q <= k < Q + B ? base^(k-Q) s + J : 0)
 * (the first try of an episode is immediate; after the Q-th failure both
 * sleeps add up, as in upstream). J is U[0, jitter) drawn per sleep. After
 * Q + B tries upstream gives up; `forever` keeps the last wait instead.
 * A max period caps every wait (persistent_peers_max_dial_period).
 */
#include "manager_internal.h"
#include "mukan/rules.h"

static int64_t jitter(struct manager *m)
{
	int64_t j = m->cfg.persist.jitter_ns;
	return j > 0 ? (int64_t)(rng_unit(&m->rng) * (double)j) : 0;
}

/* base^i seconds, saturating at a year. */
static int64_t power_s(uint32_t base, uint32_t i)
{
	const int64_t limit = 365 * MUKAN_NS_PER_DAY;
	int64_t v = MUKAN_NS_PER_SEC;
	for (uint32_t k = 0; k < i && v < limit; k++)
		v *= base;
	return v < limit ? v : limit;
}

/* The wait before the next try after `k` failed tries, or -1: give up. */
int64_t mgr_persist_wait(struct manager *m, uint32_t k)
{
	const struct manager_persist_schedule *s = &m->cfg.persist;
	uint32_t q = s->quick_tries, b = s->backoff_tries;
	int64_t w = 0;
	if (k >= q + b) {
		if (!s->forever)
			return -1;
		w = (b > 0 ? power_s(s->backoff_base, b - 1) : s->quick_interval_ns) + jitter(m);
	} else {
		if (k >= 1 && k <= q)
			w += s->quick_interval_ns + jitter(m);
		if (k >= q)
			w += power_s(s->backoff_base, k - q) + jitter(m);
	}
	if (s->max_period_ns > 0 && w > s->max_period_ns)
		w = s->max_period_ns;
	return w;
}

static void schedule(struct manager *m, uint32_t i, int64_t at, int64_t now)
{
	struct mgr_peer *p = &m->peers[i];
	mgr_set_state(m, i, MANAGER_RECONNECTING, now);
	p->next_try = at;
}

/* Startup: every persistent peer at once, or each after U[0, startup jitter)
 * like upstream's DialPeersAsync. */
void mgr_persist_start(struct manager *m, int64_t now)
{
	int64_t sj = m->cfg.persist.startup_jitter_ns;
	for (uint32_t k = 0; k < m->n_persist; k++) {
		uint32_t i = m->persist[k];
		if (m->peers[i].state != MANAGER_CANDIDATE)
			continue; /* adopted: already connected */
		int64_t d = sj > 0 ? (int64_t)(rng_unit(&m->rng) * (double)sj) : 0;
		schedule(m, i, now + d, now);
	}
	mgr_persist_due(m, now);
}

void mgr_persist_due(struct manager *m, int64_t now)
{
	if (m->stopped)
		return;
	for (uint32_t k = 0; k < m->n_persist; k++) {
		uint32_t i = m->persist[k];
		const struct mgr_peer *p = &m->peers[i];
		if (p->state == MANAGER_RECONNECTING && p->next_try <= now)
			mgr_dial_existing(m, i, MANAGER_REASON_PERSISTENT, now);
	}
}

/* A redial episode goes on after a failed dial, or gives up. */
void mgr_persist_failed(struct manager *m, uint32_t i, int64_t now)
{
	struct mgr_peer *p = &m->peers[i];
	if (!p->in_episode) {
		p->in_episode = true; /* the startup dial failed: upstream starts redialing */
		p->tries = 0;
	} else {
		p->tries++;
	}
	int64_t w = mgr_persist_wait(m, p->tries);
	if (m->stopped || w < 0) {
		mgr_set_state(m, i, MANAGER_CANDIDATE, now);
		p->next_try = MGR_NEVER;
		p->in_episode = false;
		return;
	}
	schedule(m, i, now + w, now);
	mgr_persist_due(m, now);
}

/* The connection went away: a new episode, first try at once. */
void mgr_persist_lost(struct manager *m, uint32_t i, int64_t now)
{
	struct mgr_peer *p = &m->peers[i];
	p->in_episode = true;
	p->tries = 0;
	int64_t w = mgr_persist_wait(m, 0);
	if (m->stopped || w < 0) {
		mgr_set_state(m, i, MANAGER_CANDIDATE, now);
		return;
	}
	schedule(m, i, now + w, now);
	mgr_persist_due(m, now);
}

int64_t mgr_persist_next(const struct manager *m)
{
	int64_t t = MGR_NEVER;
	for (uint32_t k = 0; k < m->n_persist; k++) {
		const struct mgr_peer *p = &m->peers[m->persist[k]];
		if (p->state == MANAGER_RECONNECTING && p->next_try < t)
			t = p->next_try;
	}
	return t;
}
