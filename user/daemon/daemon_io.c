/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon_io.c - what the loop does with each thing that completes: the
 * manager's actions become dials, dial results go back to the manager (and
 * connections to the node), signals, control and handoff messages.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "handoff/handoff.h"
#include "mukan/rules.h"

_Static_assert((int)MANAGER_OUT_CONNECTED == (int)DIAL_CONNECTED &&
		       (int)MANAGER_OUT_LOCAL_ERROR == (int)DIAL_LOCAL_ERROR &&
		       (int)MANAGER_OUT_FAILED == (int)DIAL_FAILED &&
		       (int)MANAGER_OUT_CANCELLED == (int)DIAL_CANCELLED,
	       "the manager's outcomes mirror the engine's");

void daemon_arm_poll(struct daemon *d, int fd, unsigned tag, uint32_t low, unsigned events,
		     bool multishot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
	if (!sqe) {
		io_uring_submit(&d->ring);
		sqe = io_uring_get_sqe(&d->ring);
	}
	if (multishot)
		io_uring_prep_poll_multishot(sqe, fd, events);
	else
		io_uring_prep_poll_add(sqe, fd, events);
	io_uring_sqe_set_data64(sqe, DAEMON_UD(tag, low));
}

void daemon_cancel_poll(struct daemon *d, uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
	if (!sqe) {
		io_uring_submit(&d->ring);
		sqe = io_uring_get_sqe(&d->ring);
	}
	io_uring_prep_poll_remove(sqe, user_data);
	io_uring_sqe_set_data64(sqe, 0); /* its own completion: nothing to do */
}

/* ---- dials ------------------------------------------------------------ */

static int start_dial(struct daemon *d, const struct manager_action *a)
{
	unsigned k = d->cfg.max_inflight;
	for (unsigned i = 0; i < k; i++) {
		struct pending_dial *p = &d->pending[i];
		if (p->used)
			continue;
		uint64_t cookie = (uint64_t)(p->gen + 1) << 32 | i;
		int e = engine_dial(d->engine, &a->addr.a, cookie);
		if (e < 0)
			return e;
		p->used = true;
		p->gen++;
		p->slot = a->slot;
		p->reason = a->reason;
		p->addr = a->addr;
		return 0;
	}
	return -EBUSY;
}

static int cancel_dial(struct daemon *d, const struct netaddr *na)
{
	for (unsigned i = 0; i < d->cfg.max_inflight; i++) {
		struct pending_dial *p = &d->pending[i];
		if (p->used && memcmp(p->addr.id, na->id, MUKAN_ID_LEN) == 0)
			return engine_cancel(d->engine, (uint64_t)p->gen << 32 | i);
	}
	return -ENOENT;
}

void daemon_drain_actions(struct daemon *d, int64_t now)
{
	struct manager_action a;
	while (manager_next_action(d->mgr, &a)) {
		int e = 0;
		if (a.kind == MANAGER_DIAL) {
			e = start_dial(d, &a);
			if (e < 0) /* refused before it left: report it done at once */
				manager_on_dial_done(d->mgr, a.addr.id, MANAGER_OUT_LOCAL_ERROR, -e, now);
		} else if (a.kind == MANAGER_CANCEL) {
			cancel_dial(d, &a.addr);
		}
		/* MANAGER_REQUEST_ADDRS: PEX arrives with the wire protocol (a later issue). */
	}
}

static void remember(struct daemon *d, const struct netaddr *na, int outcome, int err,
		     int64_t now)
{
	struct recent_outcome *r = &d->recent[d->n_recent++ % DAEMON_RECENT];
	r->at = now;
	r->addr = *na;
	r->outcome = (uint8_t)outcome;
	r->err = err;
}

static void conn_add(struct daemon *d, const struct netaddr *na, int fd, uint8_t reason,
		     int64_t now)
{
	if (d->n_conns == d->cap_conns) {
		uint32_t cap = d->cap_conns ? 2 * d->cap_conns : 32;
		struct peer_conn *c = realloc(d->conns, cap * sizeof(*c));
		if (!c) {
			close(fd);
			manager_on_peer_gone(d->mgr, na->id, now);
			return;
		}
		d->conns = c;
		d->cap_conns = cap;
	}
	struct peer_conn *c = &d->conns[d->n_conns++];
	*c = (struct peer_conn){ .addr = *na, .fd = fd, .reason = reason, .since = now,
				 .tag = ++d->next_conn_tag };
	if (node_give(d, c)) {
		/* The node owns it from here; we only count it until PEER_GONE. */
		close(fd);
		c->fd = -1;
		return;
	}
	/* Kept here: a hang-up frees the slot. */
	daemon_arm_poll(d, fd, TAG_PEER_CONN, c->tag, POLLRDHUP | POLLHUP | POLLERR, false);
}

static void conn_gone(struct daemon *d, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	for (uint32_t i = 0; i < d->n_conns; i++) {
		if (memcmp(d->conns[i].addr.id, id, MUKAN_ID_LEN) != 0)
			continue;
		uint8_t gone[MUKAN_ID_LEN]; /* id may point into conns[i], overwritten below */
		memcpy(gone, id, MUKAN_ID_LEN);
		if (d->conns[i].fd >= 0)
			close(d->conns[i].fd);
		d->conns[i] = d->conns[--d->n_conns];
		manager_on_peer_gone(d->mgr, gone, now);
		return;
	}
}

void daemon_drop_surplus(struct daemon *d, int64_t now)
{
	for (uint32_t i = d->n_conns; i-- > 0;) {
		if (manager_connected_out(d->mgr) <= d->cfg.max_outbound)
			return;
		if (d->conns[i].fd < 0 || d->conns[i].reason == MANAGER_REASON_PERSISTENT)
			continue;
		uint8_t id[MUKAN_ID_LEN];
		memcpy(id, d->conns[i].addr.id, MUKAN_ID_LEN);
		/* The armed poll holds the file: without removing it, close() leaves
		 * the connection established. */
		daemon_cancel_poll(d, DAEMON_UD(TAG_PEER_CONN, d->conns[i].tag));
		conn_gone(d, id, now);
	}
}

void daemon_on_dial_result(struct daemon *d, const struct dial_result *r, int64_t now)
{
	uint32_t i = (uint32_t)r->cookie;
	if (i >= d->cfg.max_inflight || !d->pending[i].used ||
	    d->pending[i].gen != (uint32_t)(r->cookie >> 32)) {
		if (r->fd >= 0)
			close(r->fd);
		return;
	}
	struct pending_dial p = d->pending[i];
	d->pending[i].used = false;
	int outcome = (int)r->outcome; /* the manager's values match the engine's */
	/* The manager records what the kernel could not see. */
	remember(d, &p.addr, outcome, r->err, now);
	int verdict = manager_on_dial_done(d->mgr, p.addr.id, (enum manager_outcome)outcome, r->err,
					   now);
	if (outcome == MANAGER_OUT_CONNECTED) {
		if (verdict == MANAGER_KEEP)
			conn_add(d, &p.addr, r->fd, p.reason, now);
		else
			close(r->fd);
	}
}

/* ---- sockets -------------------------------------------------------------- */

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			d->reload = true;
		else
			d->stopping = true;
	}
}

void daemon_conns_node_lost(struct daemon *d, int64_t now)
{
	for (uint32_t i = d->n_conns; i-- > 0;) {
		if (d->conns[i].fd >= 0)
			continue;
		uint8_t id[MUKAN_ID_LEN];
		memcpy(id, d->conns[i].addr.id, MUKAN_ID_LEN);
		conn_gone(d, id, now);
	}
}

int daemon_conn_gone_at_node(struct daemon *d, const uint8_t id[MUKAN_ID_LEN], int64_t now)
{
	for (uint32_t i = 0; i < d->n_conns; i++) {
		if (memcmp(d->conns[i].addr.id, id, MUKAN_ID_LEN) != 0)
			continue;
		if (d->conns[i].fd >= 0)
			return -ENOENT; /* ours, not the node's: it cannot have lost it */
		conn_gone(d, id, now);
		return 0;
	}
	return -ENOENT;
}

void daemon_conns_to_node(struct daemon *d)
{
	for (uint32_t i = 0; i < d->n_conns; i++) {
		struct peer_conn *c = &d->conns[i];
		if (c->fd < 0 || !node_give(d, c))
			continue;
		/* Stop watching it: the node does now. */
		daemon_cancel_poll(d, DAEMON_UD(TAG_PEER_CONN, c->tag));
		close(c->fd);
		c->fd = -1;
	}
}

static void on_peer_conn(struct daemon *d, uint32_t tag, int res, int64_t now)
{
	if (res == -ECANCELED)
		return; /* we stopped watching it (handed to the node) */
	for (uint32_t i = 0; i < d->n_conns; i++) {
		if (d->conns[i].tag == tag && d->conns[i].fd >= 0) {
			conn_gone(d, d->conns[i].addr.id, now); /* hang-up or error */
			return;
		}
	}
}

void daemon_on_cqe(struct daemon *d, const struct io_uring_cqe *cqe, int64_t now)
{
	if (engine_owns_cqe(cqe)) {
		struct dial_result r;
		if (engine_on_cqe(d->engine, cqe, &r) == 1)
			daemon_on_dial_result(d, &r, now);
		return;
	}
	uint64_t ud = cqe->user_data;
	switch (DAEMON_UD_TAG(ud)) {
	case TAG_SIGNAL:
		on_signal(d);
		break;
	case TAG_CONTROL_LISTEN:
		control_on_listen(d, now);
		break;
	case TAG_CONTROL_CLIENT:
		control_on_client(d, DAEMON_UD_LOW(ud), cqe->res);
		break;
	case TAG_HANDOFF_LISTEN:
		node_on_listen(d, now);
		break;
	case TAG_HANDOFF_NODE:
		node_on_message(d, DAEMON_UD_LOW(ud), now);
		break;
	case TAG_PEER_CONN:
		on_peer_conn(d, DAEMON_UD_LOW(ud), cqe->res, now);
		break;
	default:
		break; /* timeouts of io_uring_submit_and_wait_timeout, and the like */
	}
	/* The signal poll is multishot: armed again if it ended (e.g. -ECANCELED). */
	if (!(cqe->flags & IORING_CQE_F_MORE) && DAEMON_UD_TAG(ud) == TAG_SIGNAL && !d->stopping)
		daemon_arm_poll(d, d->sigfd, TAG_SIGNAL, 0, POLLIN, true);
}
