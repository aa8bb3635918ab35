/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_fill.c - choosing what to dial into the free slots.
 *
 * Upstream's pick loop (up to 3 picks per slot, book_pick at the
 * outbound-count bias), with the checks upstream leaves to the dial
 * goroutine done here instead, so an address in backoff or banned never
 * costs a slot. Preferences, never limits: a first pass takes only
 * candidates whose group (/16, /32) no outbound peer or dial already has and
 * whose last dial did not fail (Bitcoin Core's addrman discounts failed
 * addresses the same way); the candidates held back then fill whatever is
 * still empty, those of an unused group first, so a preference never leaves
 * a slot empty when few groups are reachable or most addresses have failed.
 */
#include <string.h>

#include "manager_internal.h"
#include "mukan/rules.h"

/* 1 when the record may be dialed as a normal peer now; *soonest learns
 * when a record in backoff becomes dialable. */
int mgr_candidate_ok(struct manager *m, uint32_t slot, int64_t now, int64_t *soonest)
{
	const struct mukan_peer *p = book_slot(m->book, slot);
	if (!p || !p->in_use || (p->flags & MUKAN_PEER_BANNED))
		return 0;
	/* Persistent peers have their own schedule (upstream bug 3522: the
	 * PEX reactor dialed them as ordinary peers). */
	if (p->flags & MUKAN_PEER_PERSISTENT)
		return 0;
	if (mgr_find(m, p->id) >= 0)
		return 0;
	if (m->cfg.policy == MANAGER_POLICY_MUKAN) {
		if (rules_is_banned(p, now)) {
			mgr_sync_ban(m, slot, now);
			return 0;
		}
		if (!rules_may_dial(p, now)) {
			if (soonest && p->next_dial < *soonest)
				*soonest = p->next_dial;
			return 0;
		}
	}
	return !mgr_ip_busy(m, &p->addr);
}

static bool group_taken(const struct manager *m, uint32_t slot)
{
	return m->cfg.prefer_distinct_groups &&
	       mgr_group_count(m, &book_slot(m->book, slot)->addr) > 0;
}

/* First-pass material: an unused group, and no failure since the last success. */
static bool preferred(const struct manager *m, uint32_t slot)
{
	return !group_taken(m, slot) && book_slot(m->book, slot)->failures == 0;
}

/* Dial a book record; 1 when it took a slot, 0 when not (unconditional), <0 on error. */
static int dial_slot(struct manager *m, uint32_t slot, int reason, int64_t now)
{
	/* The address and ID as the book holds them, whatever the shared slot says. */
	struct mukan_peer r;
	struct netaddr na;
	if (!book_copy_record(m->book, slot, &r))
		return 0;
	book_peer_addr(&r, &na);
	int i = mgr_dial(m, &na, 0, reason, now);
	if (i < 0)
		return i;
	return m->peers[i].counted ? 1 : 0;
}

static bool in_list(const uint32_t *list, uint32_t n, uint32_t v)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

/* Held-back candidates into the slots left: unused groups first, then any. */
static uint32_t fill_from_held(struct manager *m, uint32_t *held, uint32_t n_held,
			       uint32_t want, int reason, int64_t now)
{
	uint32_t got = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t k = 0; k < n_held && got < want; k++) {
			if (held[k] == UINT32_MAX)
				continue;
			/* A held candidate may share an IP with one dialed since. */
			if (!mgr_candidate_ok(m, held[k], now, NULL)) {
				held[k] = UINT32_MAX;
				continue;
			}
			if (pass == 0 && group_taken(m, held[k]))
				continue;
			if (dial_slot(m, held[k], reason, now) > 0)
				got++;
			held[k] = UINT32_MAX;
		}
	}
	return got;
}

/*
 * Addresses a seed just sent, first (fast dialing). Dialed or unusable ones
 * leave the list; ones held back for their group stay for the next fill.
 */
static uint32_t fill_fast(struct manager *m, uint32_t want, int64_t now, int64_t *soonest)
{
	if (m->n_fast == 0 || !mgr_scratch(m, m->n_fast))
		return 0;
	uint32_t got = 0, n_held = 0, kept = 0;
	for (uint32_t k = 0; k < m->n_fast; k++) {
		int slot = book_find(m->book, m->fast[k]);
		if (got >= want) {
			memmove(m->fast[kept++], m->fast[k], MUKAN_ID_LEN);
			continue;
		}
		if (slot < 0 || !mgr_candidate_ok(m, (uint32_t)slot, now, soonest))
			continue;
		if (!preferred(m, (uint32_t)slot)) {
			m->scratch[n_held++] = (uint32_t)slot;
			memmove(m->fast[kept++], m->fast[k], MUKAN_ID_LEN);
			continue;
		}
		if (dial_slot(m, (uint32_t)slot, MANAGER_REASON_FAST, now) > 0)
			got++;
	}
	m->n_fast = kept;
	got += fill_from_held(m, m->scratch, n_held, want - got, MANAGER_REASON_FAST, now);
	/* Drop the ones just dialed from the kept list. */
	kept = 0;
	for (uint32_t k = 0; k < m->n_fast; k++)
		if (mgr_find(m, m->fast[k]) < 0)
			memmove(m->fast[kept++], m->fast[k], MUKAN_ID_LEN);
	m->n_fast = kept;
	return got;
}

static uint32_t fill_from_book(struct manager *m, uint32_t want, int64_t now, int64_t *soonest)
{
	if (!mgr_scratch(m, want))
		return 0;
	int bias = book_bias_for_outbound((int)m->n_connected_out);
	uint64_t budget = 3ull * want;
	uint32_t got = 0, n_held = 0;
	for (uint64_t k = 0; k < budget && got < want; k++) {
		uint32_t slot;
		m->st.picks++;
		if (book_pick(m->book, bias, &slot) < 0) {
			if (book_size(m->book) == 0)
				break;
			continue;
		}
		if (!mgr_candidate_ok(m, slot, now, soonest))
			continue;
		if (!preferred(m, slot)) {
			if (n_held < want && !in_list(m->scratch, n_held, slot))
				m->scratch[n_held++] = slot;
			continue;
		}
		if (dial_slot(m, slot, MANAGER_REASON_NORMAL, now) > 0)
			got++;
	}
	return got + fill_from_held(m, m->scratch, n_held, want - got, MANAGER_REASON_NORMAL, now);
}

/* Mukan: fill the free slots now; arm a retry when some stay empty. */
uint32_t mgr_fill(struct manager *m, int64_t now)
{
	if (!m->started || m->stopped || !m->first_round_done ||
	    m->cfg.policy != MANAGER_POLICY_MUKAN)
		return 0;
	m->retry_at = MGR_NEVER;
	uint32_t want = mgr_free_slots(m);
	if (want == 0)
		return 0;
	m->st.fills++;
	int64_t soonest = MGR_NEVER;
	uint32_t got = fill_fast(m, want, now, &soonest);
	if (got < want)
		got += fill_from_book(m, want - got, now, &soonest);
	if (got < want) {
		/* Try again when the first backoff seen ends, within bounds. */
		int64_t at = now + m->cfg.refill_retry_ns;
		if (soonest != MGR_NEVER && soonest < at)
			at = soonest > now ? soonest : now + 1;
		m->retry_at = at;
	}
	return got;
}
