/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_peers.c - the tracked peers and the counts kept beside them.
 *
 * Every count the limit depends on (slot dials, slot connections, peers per
 * IP, per address, per group) changes in one place, mgr_set_state, so no
 * event order can make them drift from the states they summarise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager_internal.h"

static bool is_active(int state)
{
	return state == MANAGER_DIALING || state == MANAGER_CONNECTED;
}

static void ip_key(const struct mukan_addr *a, bool with_port, uint8_t key[KEYTAB_KEY_LEN])
{
	struct mukan_addr k = *a;
	k.pad = 0;
	if (!with_port)
		k.port = 0;
	memcpy(key, &k, KEYTAB_KEY_LEN);
}

void mgr_group_key(const struct manager *m, const struct mukan_addr *a, uint8_t key[KEYTAB_KEY_LEN])
{
	char g[GROUP_STRLEN];
	size_t len = ip_group(a, book_strict(m->book), g);
	memset(key, 0, KEYTAB_KEY_LEN);
	memcpy(key, g, len < KEYTAB_KEY_LEN ? len : KEYTAB_KEY_LEN);
	if (len <= KEYTAB_KEY_LEN)
		return;
	/* Longer group texts (IPv6 prefixes): their FNV-1a in the last 8 bytes. */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)g[i]) * 0x100000001b3ULL;
	memcpy(key + KEYTAB_KEY_LEN - 8, &h, 8);
}

/* Take (d = +1) or give back (d = -1) what an active state holds. */
static void hold(struct manager *m, struct mgr_peer *p, int state, int d)
{
	uint8_t key[KEYTAB_KEY_LEN];
	ip_key(&p->na.a, false, key);
	keytab_count_add(&m->ips, key, d);
	ip_key(&p->na.a, true, key);
	keytab_count_add(&m->addrs, key, d);
	if (p->counted) {
		keytab_count_add(&m->groups, p->group, d);
		if (state == MANAGER_DIALING)
			m->n_dialing_out += (uint32_t)d;
		else
			m->n_connected_out += (uint32_t)d;
	}
	if ((p->kind & MGR_PERSISTENT) && state == MANAGER_CONNECTED)
		m->n_persist_connected += (uint32_t)d;
}

void mgr_set_state(struct manager *m, uint32_t i, int state, int64_t now)
{
	struct mgr_peer *p = &m->peers[i];
	if (is_active(p->state))
		hold(m, p, p->state, -1);
	mgr_tally_state(m, p->state, state);
	mgr_tally_time(m, now);
	p->state = (uint8_t)state;
	p->since = now;
	if (state != MANAGER_DIALING)
		p->cancelling = false;
	if (is_active(state))
		hold(m, p, state, +1);
}

static int grow_peers(struct manager *m)
{
	uint32_t cap = m->cap_peers ? m->cap_peers * 2 : 64;
	struct mgr_peer *np = realloc(m->peers, cap * sizeof(*np));
	if (!np)
		return -ENOMEM;
	m->peers = np;
	uint32_t *nf = realloc(m->free_idx, cap * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	m->free_idx = nf;
	/* New entries go on the free stack, lowest index on top. */
	for (uint32_t i = cap; i > m->cap_peers; i--) {
		memset(&m->peers[i - 1], 0, sizeof(m->peers[0]));
		m->free_idx[m->n_free++] = i - 1;
	}
	m->cap_peers = cap;
	return 0;
}

int mgr_find(const struct manager *m, const uint8_t id[MUKAN_ID_LEN])
{
	return keytab_get(&m->by_id, id);
}

int mgr_peer_new(struct manager *m, const struct netaddr *na, uint8_t kind, int64_t now)
{
	if (!na->has_id)
		return -EINVAL;
	if (mgr_find(m, na->id) >= 0)
		return -EEXIST;
	if (keytab_get(&m->uncond, na->id) >= 0)
		kind |= MGR_UNCONDITIONAL;
	if (m->n_free == 0 && grow_peers(m) < 0)
		return -ENOMEM;
	uint32_t i = m->free_idx[m->n_free - 1];
	if (keytab_put(&m->by_id, na->id, (int32_t)i) < 0)
		return -ENOMEM;
	m->n_free--;
	struct mgr_peer *p = &m->peers[i];
	memset(p, 0, sizeof(*p));
	p->na = *na;
	p->in_use = true;
	p->kind = kind;
	p->state = MANAGER_CANDIDATE;
	p->since = now;
	p->next_try = MGR_NEVER;
	p->last_request = MUKAN_TIME_NEVER;
	/* Only normal and seed peers take outbound slots (upstream's limit
	 * excludes persistent and unconditional peers). */
	p->counted = !(kind & (MGR_PERSISTENT | MGR_UNCONDITIONAL));
	mgr_group_key(m, &na->a, p->group);
	/* Tracked now: its record (if any) leaves the book's counts. */
	mgr_tally_state(m, -1, MANAGER_CANDIDATE);
	mgr_tally_time(m, now);
	mgr_tally_id(m, na->id, now);
	return (int)i;
}

void mgr_peer_release(struct manager *m, uint32_t i)
{
	struct mgr_peer *p = &m->peers[i];
	if (!p->in_use)
		return;
	mgr_set_state(m, i, MANAGER_CANDIDATE, p->since);
	keytab_del(&m->by_id, p->na.id);
	p->in_use = false;
	m->free_idx[m->n_free++] = i;
	/* Untracked: its record, as the dial or the connection left it, is counted again. */
	mgr_tally_state(m, MANAGER_CANDIDATE, -1);
	mgr_tally_id(m, p->na.id, m->tally.now);
}

bool mgr_ip_busy(const struct manager *m, const struct mukan_addr *a)
{
	uint8_t key[KEYTAB_KEY_LEN];
	ip_key(a, m->cfg.allow_duplicate_ip, key);
	return keytab_count(m->cfg.allow_duplicate_ip ? &m->addrs : &m->ips, key) > 0;
}

uint32_t mgr_group_count(const struct manager *m, const struct mukan_addr *a)
{
	uint8_t key[KEYTAB_KEY_LEN];
	mgr_group_key(m, a, key);
	return (uint32_t)keytab_count(&m->groups, key);
}

uint32_t *mgr_scratch(struct manager *m, uint32_t n)
{
	if (n <= m->scratch_cap)
		return m->scratch;
	uint32_t *s = realloc(m->scratch, n * sizeof(*s));
	if (!s)
		return NULL;
	m->scratch = s;
	m->scratch_cap = n;
	return s;
}
