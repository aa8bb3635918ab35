/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.c - the control socket: a client sends one line ("status",
 * "peers", or a JSON edit of the live book: control_edit.c) and gets one
 * JSON object back, then the daemon closes. Used by `mukan-dialctl status`,
 * `peers` and the live writers (book add|import --live) while a daemon runs.
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

int control_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	unlink(path); /* left by a daemon that was killed */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	    listen(s, 16) < 0) {
		int e = -errno;
		close(s);
		return e;
	}
	return s;
}

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
	return json_pack("{s:i, s:i, s:i, s:i, s:s, s:b, s:b, s:o, s:{s:i, s:i, s:i, s:i}, "
			 "s:{s:I, s:I, s:I}, s:I, s:f, s:o}",
			 "outbound_connected", mc.connected_out, "dialing", mc.dialing_out,
			 "max_outbound", mc.max_outbound, "persistent_connected",
			 mc.persistent_connected, "policy",
			 d->cfg.policy == POLICY_COMETBFT ? "cometbft" : "mukan", "bpf",
			 d->kern != NULL, "node_connected", d->node_fd >= 0, "states", states,
			 "book", "size", book_size(d->book), "new", book_n_new(d->book), "old",
			 book_n_old(d->book), "banned", book_n_banned(d->book), "engine", "dials",
			 (json_int_t)es.dials, "results", (json_int_t)es.results, "enters",
			 (json_int_t)es.enters, "kernel_events", (json_int_t)d->kernel_events,
			 "uptime_s", (double)(now - d->started) / 1e9, "recent", recent);
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

json_t *control_dispatch(struct daemon *d, const char *line)
{
	int64_t now = kern_now();
	if (!strcmp(line, "status"))
		return status_json(d, now);
	if (!strcmp(line, "peers"))
		return peers_json(d, now);
	json_t *edit = control_edit(d, line); /* live edits of the book (control_edit.c) */
	return edit ? edit
		    : json_pack("{s:s}", "error", "unknown request (status, peers, or an edit)");
}

void control_answer(struct daemon *d, int client)
{
	char req[4096];
	ssize_t n = recv(client, req, sizeof(req) - 1, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN) {
		daemon_arm_poll(d, client, TAG_CONTROL_CLIENT, (uint32_t)client, POLLIN, false);
		return;
	}
	if (n <= 0) {
		close(client);
		return;
	}
	req[n] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	json_t *answer = control_dispatch(d, req);
	char *text = json_dumps(answer, JSON_COMPACT);
	json_decref(answer);
	if (text) {
		size_t len = strlen(text), off = 0;
		text[len] = '\n'; /* the NUL becomes the line end */
		while (off <= len) {
			ssize_t w = send(client, text + off, len + 1 - off, MSG_NOSIGNAL);
			if (w <= 0)
				break; /* a client that stopped reading loses its answer */
			off += (size_t)w;
		}
		free(text);
	}
	close(client);
}
