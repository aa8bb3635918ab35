/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.c - the control socket's requests: one line in ("status",
 * "peers", or a JSON edit of the live book: control_edit.c), one JSON
 * object out. control_conn.c carries the bytes. Used by `mukan-dialctl
 * status`, `peers` and the live writers (book add|import --live) while a
 * daemon runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "kern/kern.h"

static json_t *addr_json(const struct netaddr *na)
{
	char text[NETADDR_STRLEN];
	netaddr_format(na, text);
	return json_string(text);
}

static json_t *status_json(struct daemon *d, int64_t now)
{
	struct manager_counts mc;
	manager_counts(d->mgr, now, &mc);
	json_t *states = json_object();
	for (int i = 0; i < MANAGER_N_STATES; i++)
		json_object_set_new(states, manager_state_name(i), json_integer(mc.state[i]));
	json_t *recent = json_array();
	uint32_t n = d->n_recent < DAEMON_RECENT ? d->n_recent : DAEMON_RECENT;
	for (uint32_t k = 0; k < n; k++) {
		const struct recent_outcome *r = &d->recent[(d->n_recent - 1 - k) % DAEMON_RECENT];
		json_array_append_new(recent,
				      json_pack("{s:o, s:s, s:i, s:f}", "addr", addr_json(&r->addr),
						"outcome", manager_outcome_name(r->outcome), "errno",
						r->err, "ago_s", (double)(now - r->at) / 1e9));
	}
	struct engine_stats es;
	engine_get_stats(d->engine, &es);
	const struct control *ctl = &d->ctl;
	json_t *control = json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "clients",
				    (int)ctl->n_clients, "accepted", (json_int_t)ctl->accepted,
				    "served", (json_int_t)ctl->served, "refused",
				    (json_int_t)ctl->refused, "evicted", (json_int_t)ctl->evicted,
				    "timed_out", (json_int_t)ctl->timed_out, "dropped",
				    (json_int_t)ctl->dropped, "bad_requests",
				    (json_int_t)ctl->bad_requests);
	const struct node_link *nl = &d->node;
	json_t *handoff = json_pack("{s:b, s:I, s:I, s:I}", "node_connected",
				    nl->fd >= 0 && nl->hello, "refused", (json_int_t)nl->refused,
				    "clamped", (json_int_t)nl->clamped, "extra_nodes",
				    (json_int_t)nl->extra_nodes);
	return json_pack("{s:i, s:i, s:i, s:i, s:s, s:b, s:b, s:o, s:i, s:{s:i, s:i, s:i, s:i}, "
			 "s:{s:I, s:I, s:I}, s:I, s:f, s:o, s:o, s:o}",
			 "outbound_connected", mc.connected_out, "dialing", mc.dialing_out,
			 "max_outbound", mc.max_outbound, "persistent_connected",
			 mc.persistent_connected, "policy",
			 d->cfg.policy == POLICY_COMETBFT ? "cometbft" : "mukan", "bpf",
			 d->kern != NULL, "node_connected", nl->fd >= 0 && nl->hello, "states", states,
			 "backoff", mc.backoff, "book", "size", book_size(d->book), "new", book_n_new(d->book), "old",
			 book_n_old(d->book), "banned", book_n_banned(d->book), "engine", "dials",
			 (json_int_t)es.dials, "results", (json_int_t)es.results, "enters",
			 (json_int_t)es.enters, "kernel_events", (json_int_t)d->kernel_events,
			 "uptime_s", (double)(now - d->started) / 1e9, "recent", recent, "control",
			 control, "handoff", handoff);
}

static json_t *peers_json(struct daemon *d, int64_t now)
{
	json_t *list = json_array();
	for (uint32_t i = 0; i < d->n_conns; i++) {
		const struct peer_conn *c = &d->conns[i];
		json_array_append_new(
			list, json_pack("{s:o, s:s, s:s, s:s, s:f}", "addr", addr_json(&c->addr),
					"state", "connected", "reason", manager_reason_name(c->reason),
					"held_by", c->fd >= 0 ? "daemon" : "node", "since_s",
					(double)(now - c->since) / 1e9));
	}
	for (unsigned i = 0; i < d->cfg.max_inflight; i++) {
		const struct pending_dial *p = &d->pending[i];
		if (p->used)
			json_array_append_new(list, json_pack("{s:o, s:s, s:s}", "addr",
							      addr_json(&p->addr), "state", "dialing",
							      "reason", manager_reason_name(p->reason)));
	}
	return json_pack("{s:o}", "peers", list);
}

/* What the daemon answers to a line it does not know. */
static json_t *unknown_request(const char *line)
{
	char what[48];
	snprintf(what, sizeof(what), "%.40s%s", line, strlen(line) > 40 ? "..." : "");
	return json_pack("{s:s, s:s}", "error", "unknown request (status, peers, or an edit)",
			 "request", what);
}

json_t *control_dispatch(struct daemon *d, const char *line)
{
	int64_t now = kern_now();
	if (strcmp(line, "status") == 0)
		return status_json(d, now);
	if (strcmp(line, "peers") == 0)
		return peers_json(d, now);
	/*
	 * Other families of requests (e.g. the book edits of control_edit.c)
	 * hook in here: each handler answers its own lines and returns NULL
	 * for any other, so the next one (at last unknown_request) sees it.
	 */
	json_t *edit = control_edit(d, line);
	return edit ? edit : unknown_request(line);
}
