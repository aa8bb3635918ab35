/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager_record.c - dial outcomes into the book records, and upstream's
 * in-memory dial history for the cometbft policy.
 *
 * With BPF the kernel writes every outcome it can see (sock_ops) before the
 * daemon hears of it; then only what the kernel cannot see is written here:
 * failures before a SYN left (local errors) and handshake rejections.
 * Without BPF (record_outcomes) every outcome goes through the same rules.h
 * the kernel runs, so both paths agree on backoff and bans.
 */
#include <errno.h>
#include <string.h>

#include "manager_internal.h"
#include "mukan/rules.h"

#define UPSTREAM_BAN_NS MUKAN_NS_PER_DAY

static struct mukan_peer *record_of(struct manager *m, const uint8_t id[MUKAN_ID_LEN])
{
	int slot = book_find(m->book, id);
	return slot < 0 ? NULL : book_slot_mut(m->book, (uint32_t)slot);
}

void mgr_record_dial(struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	struct mukan_peer *p = m->cfg.record_outcomes ? record_of(m, id) : NULL;
	if (!p)
		return;
	p->dials++;
	p->last_dial = now;
}

/* A record the kernel banned (ban_until only) joins the book's ban list. */
void mgr_sync_ban(struct manager *m, uint32_t slot, int64_t now)
{
	const struct mukan_peer *p = book_slot(m->book, slot);
	if (!p || (p->flags & (MUKAN_PEER_BANNED | MUKAN_PEER_PERSISTENT)) || !rules_is_banned(p, now))
		return;
	uint8_t id[MUKAN_ID_LEN];
	memcpy(id, p->id, MUKAN_ID_LEN);
	book_mark_bad(m->book, id, p->ban_until - now, now);
}

static int errno_of(int outcome, int err)
{
	if (err > 0)
		return err;
	switch (outcome) {
	case MANAGER_OUT_REFUSED:
		return ECONNREFUSED;
	case MANAGER_OUT_TIMED_OUT:
		return ETIMEDOUT;
	case MANAGER_OUT_UNREACHABLE:
		return EHOSTUNREACH;
	case MANAGER_OUT_FAILED:
		return ECONNRESET;
	case MANAGER_OUT_REJECTED:
		return EACCES;
	default:
		return EIO;
	}
}

/* What sock_ops does on a failed dial, with the same rules.h bookkeeping;
 * a ban also moves the record to the book's ban list. */
static void record_failure(struct manager *m, struct mukan_peer *p, int outcome, int err,
			   int64_t now)
{
	if (!rules_record_failure(p, &m->cfg.rules, errno_of(outcome, err), now, rng_next(&m->rng)))
		return;
	uint8_t id[MUKAN_ID_LEN];
	memcpy(id, p->id, MUKAN_ID_LEN);
	book_mark_bad(m->book, id, p->ban_until - now, now);
}

void mgr_record_outcome(struct manager *m, const struct netaddr *na, int64_t dial_start,
			int outcome, int err, int64_t now)
{
	struct mukan_peer *p = record_of(m, na->id);
	if (!p || outcome == MANAGER_OUT_CANCELLED)
		return;
	if (outcome == MANAGER_OUT_REJECTED) {
		/* Upstream: an authentication failure bans for 24 h (not persistent peers). */
		p->last_error = errno_of(outcome, err);
		book_mark_bad(m->book, na->id, UPSTREAM_BAN_NS, now);
		return;
	}
	/* Not the peer's doing: the connect gate refused it (the kernel holds its
	 * backoff already), the engine never took the dial (window full), or
	 * this host ran out of descriptors or memory. */
	if (outcome == MANAGER_OUT_LOCAL_ERROR &&
	    (err == EPERM || err == EBUSY || err == EALREADY || mgr_out_of_resources(err)))
		return;
	/* With BPF the kernel has written it, unless all it saw was a close
	 * without an error (a caller that acted on an ICMP error first): a
	 * record not touched since the dial began is recorded here. */
	if (!m->cfg.record_outcomes && outcome != MANAGER_OUT_LOCAL_ERROR &&
	    (outcome == MANAGER_OUT_CONNECTED || p->last_attempt >= dial_start))
		return;
	if (m->cfg.policy == MANAGER_POLICY_COMETBFT) {
		/* Upstream only marks the attempt; its backoff is the dial history. */
		if (outcome != MANAGER_OUT_CONNECTED)
			book_mark_attempt(m->book, na->id, now);
		return;
	}
	if (outcome == MANAGER_OUT_CONNECTED) {
		rules_record_success(p, now);
		return;
	}
	record_failure(m, p, outcome, err, now);
}

/* The history entry of a book slot (cometbft policy), or NULL. */
struct mgr_hist *mgr_hist_of(struct manager *m, uint32_t slot)
{
	if (!m->hist || slot >= m->hist_cap)
		return NULL;
	struct mgr_hist *h = &m->hist[slot];
	const struct mukan_peer *p = book_slot(m->book, slot);
	if (!p || !mukan_addr_equal(&h->a, &p->addr)) {
		/* A reused slot, or never dialed: upstream's map has no entry. */
		memset(h, 0, sizeof(*h));
		if (p)
			h->a = p->addr;
	}
	return h;
}

/* Upstream dialPeer after DialPeerWithAddress returns. */
void mgr_hist_outcome(struct manager *m, const struct netaddr *na, int outcome, int64_t now)
{
	int slot = book_find(m->book, na->id);
	struct mgr_hist *h = slot < 0 ? NULL : mgr_hist_of(m, (uint32_t)slot);
	if (!h || outcome == MANAGER_OUT_CANCELLED)
		return;
	if (outcome == MANAGER_OUT_CONNECTED || outcome == MANAGER_OUT_REJECTED) {
		h->attempts = 0; /* success, or an auth failure (history deleted) */
		return;
	}
	h->attempts++;
	h->last = now;
}

/* A connection that ended before a handshake could have finished was no
 * working peer: a failed dial, backed off like any other (ECONNRESET). */
void mgr_record_short_session(struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	struct mukan_peer *p = record_of(m, id);
	if (p && !(p->flags & MUKAN_PEER_PERSISTENT))
		record_failure(m, p, MANAGER_OUT_FAILED, ECONNRESET, now);
}
