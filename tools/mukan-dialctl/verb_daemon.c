/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_daemon.c - `status` and `peers`: ask a running mukan-dialerd over its
 * control socket (one request line, one JSON answer).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "dialctl.h"

#define DEFAULT_CONTROL "/var/lib/mukan-dialer/control.sock"

struct daemon_args {
	const char *control;
	bool json;
};

static const struct argp_option options[] = {
	{ "control", 'C', "PATH", 0, "The daemon's control socket (default " DEFAULT_CONTROL ")", 0 },
	{ "json", 'j', NULL, 0, "Print the daemon's JSON answer as it is", 0 },
	{ 0 }
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct daemon_args *a = state->input;
	switch (key) {
	case 'C':
		a->control = arg;
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "no arguments expected ('%s')", arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* One request, one answer; bounded by a 2 s socket timeout. */
static json_t *ask(const char *path, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, DIALCTL_NAME ": control socket path too long\n");
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, DIALCTL_NAME ": cannot reach the daemon at %s: %s (is mukan-dialerd "
			"running? --control PATH)\n", path, strerror(errno));
		if (s >= 0)
			close(s);
		return NULL;
	}
	char line[32];
	snprintf(line, sizeof(line), "%s\n", request);
	send(s, line, strlen(line), MSG_NOSIGNAL);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (ssize_t n; buf && (n = recv(s, buf + len, cap - len - 1, 0)) > 0;) {
		len += (size_t)n;
		if (len + 1 == cap) {
			char *bigger = cap < (16u << 20) ? realloc(buf, cap *= 2) : NULL;
			if (!bigger)
				break;
			buf = bigger;
		}
	}
	close(s);
	json_error_t je;
	json_t *answer = buf ? json_loadb(buf, len, 0, &je) : NULL;
	free(buf);
	if (!answer)
		fprintf(stderr, DIALCTL_NAME ": the daemon's answer is not JSON\n");
	return answer;
}

static int run(int argc, char **argv, const char *request, const char *doc,
	       void (*print)(json_t *))
{
	struct daemon_args a = { .control = DEFAULT_CONTROL };
	struct argp argp = { options, parse, NULL, doc, NULL, NULL, NULL };
	argp_parse(&argp, argc, argv, 0, NULL, &a);
	json_t *answer = ask(a.control, request);
	if (!answer)
		return DIALCTL_EXIT_FAIL;
	if (a.json) {
		char *text = json_dumps(answer, JSON_INDENT(2));
		puts(text ? text : "{}");
		free(text);
	} else {
		print(answer);
	}
	json_decref(answer);
	return DIALCTL_EXIT_OK;
}

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void print_status(json_t *j)
{
	printf("outbound  %lld of %lld connected, %lld dialing (policy %s, bpf %s, node %s)\n",
	       num(j, "outbound_connected"), num(j, "max_outbound"), num(j, "dialing"),
	       json_string_value(json_object_get(j, "policy")),
	       json_is_true(json_object_get(j, "bpf")) ? "on" : "off",
	       json_is_true(json_object_get(j, "node_connected")) ? "connected" : "not connected");
	json_t *st = json_object_get(j, "states"), *bk = json_object_get(j, "book");
	printf("states    candidate %lld, dialing %lld, reconnecting %lld, connected %lld, bad %lld\n",
	       num(st, "candidate"), num(st, "dialing"), num(st, "reconnecting"),
	       num(st, "connected"), num(st, "bad"));
	printf("book      %lld addresses (%lld new, %lld old), %lld banned\n", num(bk, "size"),
	       num(bk, "new"), num(bk, "old"), num(bk, "banned"));
	printf("uptime    %.1f s\nrecent outcomes\n",
	       json_real_value(json_object_get(j, "uptime_s")));
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(j, "recent"), i, r) {
		char name[16];
		int e = (int)num(r, "errno");
		printf("  %6.1f s ago  %-12s %-14s %s\n", json_real_value(json_object_get(r, "ago_s")),
		       json_string_value(json_object_get(r, "outcome")),
		       e ? dialctl_errno_name(e, name) : "", json_string_value(json_object_get(r, "addr")));
	}
}

static void print_peers(json_t *j)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(j, "peers"), i, p) {
		json_t *since = json_object_get(p, "since_s");
		printf("%-10s %-11s %-60s", json_string_value(json_object_get(p, "state")),
		       json_string_value(json_object_get(p, "reason")),
		       json_string_value(json_object_get(p, "addr")));
		if (since)
			printf(" %.1f s, held by %s", json_real_value(since),
			       json_string_value(json_object_get(p, "held_by")));
		printf("\n");
	}
}

int verb_status(int argc, char **argv)
{
	return run(argc, argv, "status",
		   "Outbound slots, dials in flight, per-state counts and recent outcomes of a "
		   "running mukan-dialerd.\n\nEXAMPLES:\n  mukan-dialctl status\n"
		   "  mukan-dialctl status --control /tmp/dialer/control.sock --json",
		   print_status);
}

int verb_peers(int argc, char **argv)
{
	return run(argc, argv, "peers",
		   "The outbound peers a running mukan-dialerd has connected, and the dials in "
		   "flight.\n\nEXAMPLES:\n  mukan-dialctl peers\n  mukan-dialctl peers --json",
		   print_peers);
}
