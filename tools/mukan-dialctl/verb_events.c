/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_events.c - `events`: follow the kernel's outcome events (the pinned
 * ring buffer), one line each, until a signal, --count or --duration.
 *
 * The ring buffer has one reader position: a running daemon and this verb
 * share the events between them. Nothing is lost by that - the book map,
 * not the events, holds the outcomes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "book/timefmt.h"
#include "dialctl.h"
#include "kern/kern.h"

#define POLL_MS 100
#define MAX_DURATION_S (365.0 * 86400)

struct events_args {
	struct live_opts live;
	unsigned long long count; /* 0: no limit */
	double duration;	  /* seconds; 0: no limit */
	bool skip_pending, json;
};

enum { OPT_COUNT = 'n', OPT_DURATION = 'd', OPT_SKIP = 's', OPT_JSON = 'j' };

static const struct argp_option options[] = {
	{ "count", OPT_COUNT, "N", 0, "Stop after N events.", 0 },
	{ "duration", OPT_DURATION, "SECONDS", 0,
	  "Stop after this long (decimals allowed, e.g. 2.5), events or not.", 0 },
	{ "skip-pending", OPT_SKIP, NULL, 0,
	  "Drop the events already waiting in the ring buffer (counted on stderr) and show "
	  "only new ones.",
	  0 },
	{ "json", OPT_JSON, NULL, 0,
	  "One JSON object per line: time, time_ns (CLOCK_BOOTTIME), kind, addr, slot, err "
	  "(errno name or null), errno, failures.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Follow the dial outcomes the kernel reports, one line per event.\n"
	"\n"
	"USAGE: mukan-dialctl events [--count N] [--duration SECONDS] [--json]\n"
	"                            [--skip-pending] [--pin-dir DIR]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl events                          # until Ctrl-C\n"
	"    mukan-dialctl events --count 10 --duration 30\n"
	"    mukan-dialctl events --json | jq -c 'select(.kind == \"failed\")'\n"
	"\v"
	"Each line: the time (UTC), the kind - connect (a SYN leaves for a book address), "
	"established, failed (with the errno: ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ...), "
	"abandoned (closed by its owner before an answer), banned (the failure limit was "
	"reached), gated (the connect gate refused the connect, EPERM) - the address (with its "
	"node ID when the book has it), the error name and the consecutive failures. Events "
	"waiting in the ring buffer when the command starts come first, unless "
	"--skip-pending. The ring buffer has a single reader position: a daemon reading it at "
	"the same time gets the events this command does not. Stops on SIGINT or SIGTERM, "
	"after --count events or after --duration seconds: exit status 0; 1 when nothing is "
	"pinned, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct events_args *a = state->input;
	char *end;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->live;
		return 0;
	case OPT_COUNT:
		a->count = dialctl_parse_number(state, "--count", arg, 1, 1000000000ULL);
		return 0;
	case OPT_DURATION:
		errno = 0;
		a->duration = strtod(arg, &end);
		if (end == arg || *end || errno || !(a->duration > 0) || a->duration > MAX_DURATION_S)
			argp_error(state, "--duration wants seconds > 0 (up to a year), not '%s'", arg);
		return 0;
	case OPT_SKIP:
		a->skip_pending = true;
		return 0;
	case OPT_JSON:
		a->json = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "events takes no arguments");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp events_argp = { options, parse, NULL, doc, live_children, NULL, NULL };

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct printer {
	struct kern *k;
	const struct events_args *a;
	int64_t wall_offset;
	unsigned long long printed;
	bool discard;
};

static const char *kind_name(unsigned kind)
{
	static const char *const names[] = { "?",	  "connect", "established", "failed",
					     "abandoned", "banned",  "gated" };
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* The address, with the node ID when the event's slot still holds that address. */
static void event_addr(struct kern *k, const struct mukan_event *e, char out[NETADDR_STRLEN])
{
	struct netaddr na = { .a = e->addr };
	const struct mukan_peer *p = e->slot < kern_capacity(k) ? &kern_slots(k)[e->slot] : NULL;
	if (p && p->in_use && mukan_addr_equal(&p->addr, &e->addr)) {
		memcpy(na.id, p->id, MUKAN_ID_LEN);
		na.has_id = true;
	}
	netaddr_format(&na, out);
}

static void print_json(const struct mukan_event *e, const char *when, const char *addr,
		       const char *err)
{
	json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:I, s:o, s:i, s:I}", "time", when, "time_ns",
			      (json_int_t)e->time_ns, "kind", kind_name(e->kind), "addr", addr,
			      "slot", (json_int_t)e->slot, "err", err ? json_string(err) : json_null(),
			      "errno", (int)e->err, "failures", (json_int_t)e->failures);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(o);
}

static int on_event(void *ctx, const struct mukan_event *e)
{
	struct printer *pr = ctx;
	if (pr->discard) {
		pr->printed++;
		return 0;
	}
	char when[TIME_STRLEN], addr[NETADDR_STRLEN], eb[16];
	time_format((int64_t)e->time_ns + pr->wall_offset, when);
	event_addr(pr->k, e, addr);
	const char *err = e->err ? dialctl_errno_name(e->err, eb) : NULL;
	if (pr->a->json)
		print_json(e, when, addr, err);
	else
		printf("%-30s %-11s %s  %s  failures=%u\n", when, kind_name(e->kind), addr,
		       err ? err : "-", e->failures);
	pr->printed++;
	/* A negative return stops the ring buffer right after this event. */
	return pr->a->count && pr->printed >= pr->a->count ? -ECANCELED : 0;
}

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the poll's sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Poll until a signal, the count or the deadline; -errno if reading fails. */
static int follow(struct printer *pr, double deadline)
{
	while (!stop_signal && !(pr->a->count && pr->printed >= pr->a->count)) {
		double left = deadline > 0 ? deadline - monotonic_s() : POLL_MS / 1000.0;
		if (left <= 0)
			break;
		int ms = left * 1000 < POLL_MS ? (int)(left * 1000) + 1 : POLL_MS;
		int n = kern_events_poll(pr->k, on_event, pr, ms);
		fflush(stdout);
		if (n < 0 && n != -ECANCELED && n != -EINTR)
			return n;
	}
	return 0;
}

int verb_events(int argc, char **argv)
{
	struct events_args a = { 0 };
	argp_parse(&events_argp, argc, argv, 0, NULL, &a);

	struct printer pr = { .a = &a, .wall_offset = kern_wall_offset() };
	int status = dialctl_open_pinned(&a.live, &pr.k);
	if (status != DIALCTL_EXIT_OK)
		return status;
	double deadline = a.duration > 0 ? monotonic_s() + a.duration : 0;
	catch_signals();
	int e = 0;
	if (a.skip_pending) {
		pr.discard = true;
		e = kern_events_poll(pr.k, on_event, &pr, 0);
		fprintf(stderr, DIALCTL_NAME " events: skipped %llu pending event%s\n", pr.printed,
			pr.printed == 1 ? "" : "s");
		pr.discard = false;
		pr.printed = 0;
	}
	if (e >= 0)
		e = follow(&pr, deadline);
	kern_close(pr.k);
	if (e < 0)
		return dialctl_kern_fail("cannot read the events ring buffer", e, NULL);
	return DIALCTL_EXIT_OK;
}
