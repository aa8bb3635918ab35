/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_dial.c - starting, cancelling and sizing dials.
 *
 * The one number the outbound limit rests on is mgr_free_slots: how many
 * more slot dials may start now. With overdial 1 it is upstream's
 * max - (connected + dialing), so connected + dialing never passes the
 * limit whatever order completions arrive in.
 */
#include <errno.h>

#include "manager_internal.h"

uint32_t mgr_free_slots(const struct manager *m)
{
	uint32_t max = m->cfg.max_outbound;
	if (m->stopped || m->n_connected_out >= max)
		return 0;
	uint64_t target = max - m->n_connected_out;
	if (m->cfg.policy == MANAGER_POLICY_MUKAN) {
		target *= m->cfg.overdial;
		if (m->cfg.max_dialing && target > m->cfg.max_dialing)
			target = m->cfg.max_dialing;
	}
	return target > m->n_dialing_out ? (uint32_t)(target - m->n_dialing_out) : 0;
}

int mgr_dial_existing(struct manager *m, uint32_t i, int reason, int64_t now)
{
	struct mgr_peer *p = &m->peers[i];
	if (mgr_queue_push(m, MANAGER_DIAL, (uint8_t)reason, &p->na) < 0)
		return -ENOMEM;
	p->reason = (uint8_t)reason;
	p->next_try = MGR_NEVER;
	mgr_set_state(m, i, MANAGER_DIALING, now);
	mgr_record_dial(m, p->na.id, now);
	m->st.dials[reason]++;
	return (int)i;
}

int mgr_dial(struct manager *m, const struct netaddr *na, uint8_t kind, int reason, int64_t now)
{
	int i = mgr_peer_new(m, na, kind, now);
	if (i < 0)
		return i;
	int err = mgr_dial_existing(m, (uint32_t)i, reason, now);
	if (err < 0)
		mgr_peer_release(m, (uint32_t)i);
	return err;
}

void mgr_cancel(struct manager *m, uint32_t i)
{
	struct mgr_peer *p = &m->peers[i];
	if (p->state != MANAGER_DIALING || p->cancelling)
		return;
	if (mgr_queue_push(m, MANAGER_CANCEL, p->reason, &p->na) < 0)
		return;
	p->cancelling = true;
	m->st.cancels++;
}

/*
 * Dials that can no longer take a slot. Exact mode: only after the limit
 * was lowered. Over-dialing: every slot dial, once every slot is connected.
 */
void mgr_cancel_surplus(struct manager *m)
{
	uint32_t live = 0;
	for (uint32_t i = 0; i < m->cap_peers; i++) {
		const struct mgr_peer *p = &m->peers[i];
		live += p->in_use && p->counted && p->state == MANAGER_DIALING && !p->cancelling;
	}
	uint32_t max = m->cfg.max_outbound, excess = 0;
	if (m->cfg.overdial <= 1 || m->cfg.policy != MANAGER_POLICY_MUKAN)
		excess = m->n_connected_out + live > max ? m->n_connected_out + live - max : 0;
	else if (m->n_connected_out >= max)
		excess = live;
	if (excess >= live) {
		for (uint32_t i = 0; i < m->cap_peers; i++)
			if (m->peers[i].in_use && m->peers[i].counted)
				mgr_cancel(m, i);
		return;
	}
	/* Newest dials first: the oldest are the likeliest to answer soon. */
	while (excess > 0) {
		int newest = -1;
		for (uint32_t i = 0; i < m->cap_peers; i++) {
			const struct mgr_peer *p = &m->peers[i];
			if (!p->in_use || !p->counted || p->state != MANAGER_DIALING || p->cancelling)
				continue;
			if (newest < 0 || p->since > m->peers[newest].since)
				newest = (int)i;
		}
		if (newest < 0)
			break;
		mgr_cancel(m, (uint32_t)newest);
		excess--;
	}
}

/*
 * Upstream never has two requests out to one peer. Mukan also keeps a third
 * of the period between two requests to the same peer: a peer stops and bans
 * a node that asks more often than that (REFERENCE.md section 3).
 */
void mgr_request_addrs(struct manager *m, uint32_t i, int64_t now)
{
	struct mgr_peer *p = &m->peers[i];
	if (p->state != MANAGER_CONNECTED || p->request_out)
		return;
	if (m->cfg.policy == MANAGER_POLICY_MUKAN && p->last_request != MUKAN_TIME_NEVER &&
	    now - p->last_request < m->cfg.ensure_period_ns / 3)
		return;
	if (mgr_queue_push(m, MANAGER_REQUEST_ADDRS, 0, &p->na) < 0)
		return;
	p->request_out = true;
	p->last_request = now;
	m->st.requests++;
}
