/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon_handoff.c - the daemon's end of the handoff socket
 * (docs/handoff.md). One node at a time: it says HELLO first, then every
 * connection the daemon makes goes to it, and it reports the peers that went
 * away, proved bad or proved good.
 *
 * Whatever the node sends is checked field by field (handoff_check) before
 * it changes anything. A refused message is logged with its reason (at most
 * one line a second, with a count of the rest) and dropped: it is never taken
 * for a disconnect, and any descriptor it carried is closed. Only the end of
 * the connection (or a node that never says HELLO) ends the node's session.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "handoff/handoff.h"
#include "mukan/rules.h"

#define ACCEPT_BURST 64
#define LOG_GAP_NS 1000000000LL /* refusals: at most one log line a second */

static void arm_listener(struct daemon *d)
{
	struct node_link *n = &d->node;
	if (n->listen_fd < 0 || n->listening || n->paused)
		return;
	daemon_arm_poll(d, n->listen_fd, TAG_HANDOFF_LISTEN, 0, POLLIN, false);
	n->listening = true;
}

static void arm_node(struct daemon *d)
{
	daemon_arm_poll(d, d->node.fd, TAG_HANDOFF_NODE, d->node.gen, POLLIN, false);
	d->node.polling = true;
}

int node_open(struct daemon *d, const char *path)
{
	d->node.fd = -1;
	d->node.listen_fd = handoff_listen(path);
	if (d->node.listen_fd < 0)
		return d->node.listen_fd;
	arm_listener(d);
	return 0;
}

/* One line in the log, at most one a second of a kind; the next says how many were held back. */
static void node_log(struct log_gate *g, const char *line, int64_t now)
{
	if (g->logged && now - g->last < LOG_GAP_NS) {
		g->held++;
		return;
	}
	char more[64] = "";
	if (g->held)
		snprintf(more, sizeof(more), " (and %llu more since the last line)",
			 (unsigned long long)g->held);
	fprintf(stderr, "mukan-dialerd: handoff: %s%s\n", line, more);
	g->held = 0;
	g->last = now;
	g->logged = true;
}

static void refused(struct daemon *d, const char *why, int64_t now)
{
	char line[224];
	d->node.refused++;
	snprintf(line, sizeof(line), "refused a message from the node: %s", why);
	node_log(&d->node.log_msgs, line, now);
}

/* The node is gone, and with its process the sockets it held: those slots
 * are free again (a restarted node cannot report them). */
static void node_drop(struct daemon *d, const char *why, int64_t now)
{
	struct node_link *n = &d->node;
	if (n->polling)
		daemon_cancel_poll(d, DAEMON_UD(TAG_HANDOFF_NODE, n->gen));
	close(n->fd);
	n->fd = -1;
	n->polling = n->hello = false;
	n->gen++;
	char line[160];
	snprintf(line, sizeof(line), "node disconnected (%s)", why);
	node_log(&n->log_session, line, now);
	daemon_conns_node_lost(d, now);
}

bool node_give(struct daemon *d, const struct peer_conn *c)
{
	if (d->node.fd < 0 || !d->node.hello)
		return false;
	struct handoff_msg m;
	handoff_msg_init(&m, HANDOFF_PEER);
	memcpy(m.id, c->addr.id, MUKAN_ID_LEN);
	m.addr = c->addr.a;
	m.flags = c->reason == MANAGER_REASON_PERSISTENT ? HANDOFF_PERSISTENT : 0;
	/* A node that does not read (its socket buffer full) leaves it with us. */
	return handoff_send(d->node.fd, &m, c->fd) == 0;
}

static void hello(struct daemon *d, int64_t now)
{
	d->node.hello = true;
	node_log(&d->node.log_session, "node connected", now);
	daemon_conns_to_node(d); /* what we kept while no node was there */
}

/* Ban length of a MARK_BAD: 0 is the daemon's own, anything else clamped to the rules' range. */
static int64_t ban_length(struct daemon *d, uint64_t asked, int64_t now)
{
	if (asked == 0)
		return (int64_t)d->rules.ban_ns;
	uint64_t ns = rules_clamp_u64(asked, MUKAN_MIN_BAN_NS, MUKAN_MAX_BAN_NS);
	if (ns != asked) {
		char line[160];
		snprintf(line, sizeof(line), "MARK_BAD ban_ns %llu is outside 1 s .. 30 days: "
			 "banned for %llu s", (unsigned long long)asked,
			 (unsigned long long)(ns / MUKAN_NS_PER_SEC));
		d->node.clamped++;
		node_log(&d->node.log_msgs, line, now);
	}
	return (int64_t)ns;
}

static void apply(struct daemon *d, const struct handoff_msg *m, int64_t now)
{
	char why[160];
	if (m->type == HANDOFF_HELLO) {
		if (d->node.hello)
			refused(d, "a second HELLO", now);
		else
			hello(d, now);
		return;
	}
	if (!d->node.hello) {
		snprintf(why, sizeof(why), "message type %u before HELLO", m->type);
		refused(d, why, now);
		return;
	}
	switch (m->type) {
	case HANDOFF_PEER_GONE:
		if (daemon_conn_gone_at_node(d, m->id, now) < 0)
			refused(d, "PEER_GONE for a peer the node was not given", now);
		break;
	case HANDOFF_MARK_BAD:
		book_mark_bad(d->book, m->id, ban_length(d, m->ban_ns, now), now);
		break;
	case HANDOFF_MARK_GOOD:
		book_mark_good(d->book, m->id, now);
		break;
	default:
		break; /* handoff_check let no other type through */
	}
}

void node_on_message(struct daemon *d, uint32_t low, int64_t now)
{
	struct node_link *n = &d->node;
	if (n->fd < 0 || low != n->gen)
		return; /* the poll of a node dropped since */
	n->polling = false;
	for (unsigned k = 0; k < HANDOFF_BURST; k++) {
		struct handoff_msg m;
		int fd;
		char why[160];
		int e = handoff_recv_at(n->fd, HANDOFF_AT_DAEMON, &m, &fd, why, sizeof(why));
		if (e == -EAGAIN || e == -EWOULDBLOCK)
			break;
		if (e == -EINTR)
			continue;
		if (e == -EPROTO) {
			refused(d, why, now);
			continue;
		}
		if (e < 0) {
			node_drop(d, e == -ECONNRESET ? "it closed the connection" : strerror(-e), now);
			return;
		}
		if (fd >= 0)
			close(fd); /* handoff_check lets none through; never keep one */
		apply(d, &m, now);
	}
	arm_node(d);
}

void node_on_listen(struct daemon *d, int64_t now)
{
	struct node_link *n = &d->node;
	n->listening = false;
	for (unsigned k = 0; k < ACCEPT_BURST; k++) {
		int fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				n->paused = true; /* housekeeping listens again */
				return;
			}
			break; /* EAGAIN: drained */
		}
		if (n->fd >= 0) { /* one node at a time */
			n->extra_nodes++;
			close(fd);
			continue;
		}
		n->fd = fd;
		n->hello = false;
		n->hello_deadline = now + HANDOFF_HELLO_DEADLINE_NS;
		arm_node(d);
	}
	arm_listener(d);
}

void node_expire(struct daemon *d, int64_t now)
{
	if (d->node.fd >= 0 && !d->node.hello && now >= d->node.hello_deadline)
		node_drop(d, "no HELLO within 5 s", now);
}

int64_t node_next_deadline(const struct daemon *d)
{
	return d->node.fd >= 0 && !d->node.hello ? d->node.hello_deadline : INT64_MAX;
}

void node_resume(struct daemon *d)
{
	if (!d->node.paused)
		return;
	d->node.paused = false;
	arm_listener(d);
}

void node_close(struct daemon *d, const char *path)
{
	struct node_link *n = &d->node;
	if (n->fd >= 0) {
		close(n->fd);
		n->fd = -1;
	}
	if (n->listen_fd >= 0) {
		close(n->listen_fd);
		unlink(path);
		n->listen_fd = -1;
	}
}
