/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_daemon_control.c - the control socket of mukan-dialerd under abuse:
 * bursts of connect-and-close, 10,000 idle connections, a client that never
 * reads a large answer next to one that reads it slowly, requests in pieces,
 * too long, with a NUL. What must hold: `status` keeps answering, the daemon
 * holds at most its cap of clients (CONTROL_MAX_CLIENTS, 64) whatever the
 * number of connections, an answer reaches a slow reader whole, and nobody
 * can stall the loop.
 * Plumbing: daemon_fixture.h. Needs root (skipped otherwise, one line).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "daemon_fixture.h"

TestSuite(daemon_control, .init = df_setup, .fini = df_teardown, .timeout = 90);

#define CLIENT_CAP 64	  /* the daemon's CONTROL_MAX_CLIENTS */
#define FD_SLACK 8	  /* a dial or a save in passing */
#define IDLE_CLIENTS 10000

static int control_connect(const struct df_daemon *d, bool nonblock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cr_assert_lt(strlen(d->control), sizeof(sa.sun_path));
	memcpy(sa.sun_path, d->control, strlen(d->control) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	cr_assert_geq(s, 0, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

/* `status` asked n times, one connection each: how many answered. */
static int status_answers(const struct df_daemon *d, int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		json_t *st = df_ask(d, "status");
		ok += st != NULL;
		json_decref(st);
	}
	return ok;
}

static long long control_count(const struct df_daemon *d, const char *key)
{
	json_t *st = df_status(d);
	long long v = df_json_int(json_object_get(st, "control"), key);
	json_decref(st);
	return v;
}

/* Everything a connection sends until it ends (bounded): malloc'ed, length in *len. */
static char *read_all(int s, size_t *len, int timeout_ms)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	cr_assert(buf);
	int64_t end = df_now_ms() + timeout_ms;
	for (;;) { /* ends at EOF, an error or the deadline */
		struct pollfd p = { .fd = s, .events = POLLIN };
		int left = (int)(end - df_now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		ssize_t r = recv(s, buf + n, cap - n - 1, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n + 1 == cap) {
			buf = realloc(buf, cap *= 2);
			cr_assert(buf);
		}
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* One request line sent in pieces (with pauses), then the whole answer as JSON. */
static json_t *ask_raw(const struct df_daemon *d, const char *const parts[], bool shut_wr)
{
	int s = control_connect(d, false);
	cr_assert_geq(s, 0, "connect %s: %s", d->control, strerror(errno));
	for (int i = 0; parts[i]; i++) {
		size_t len = strlen(parts[i]) ? strlen(parts[i]) : 1; /* "" sends a NUL byte */
		cr_assert_eq(send(s, parts[i], len, MSG_NOSIGNAL), (ssize_t)len);
		if (parts[i + 1])
			df_sleep_ms(50);
	}
	if (shut_wr)
		shutdown(s, SHUT_WR);
	size_t len;
	char *text = read_all(s, &len, 3000);
	close(s);
	json_error_t je;
	json_t *answer = json_loadb(text, len, 0, &je);
	cr_assert(answer, "not a JSON answer (%zu bytes): %.200s", len, text);
	free(text);
	return answer;
}

static void raise_own_fd_limit(rlim_t want)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want; /* root with CAP_SYS_RESOURCE may */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		cr_skip_test("cannot open %lu connections: RLIMIT_NOFILE: %s", (unsigned long)want,
			     strerror(errno));
}

/* ---- bursts of connect-and-close ------------------------------------------------------ */

Test(daemon_control, connect_and_close_bursts_leave_status_answering)
{
	struct df_daemon *d = df_daemon_new();
	const char *const flags[] = { "--no-bpf", NULL };
	df_daemon_start_ready(d, flags);
	/* Tried: 3 bursts of 40 connections closed at once, some after half a
	 * request or a whole one they never read the answer to. */
	int made = 0;
	for (int burst = 0; burst < 3; burst++) {
		int s[40];
		for (int i = 0; i < 40; i++) {
			s[i] = control_connect(d, true);
			made += s[i] >= 0;
			if (s[i] >= 0 && i % 10 == 1)
				send(s[i], "sta", 3, MSG_NOSIGNAL);
			if (s[i] >= 0 && i % 10 == 2)
				send(s[i], "status\n", 7, MSG_NOSIGNAL);
		}
		for (int i = 0; i < 40; i++)
			if (s[i] >= 0)
				close(s[i]);
	}
	cr_assert_geq(made, 30, "only %d of 120 connects went through", made);
	int ok = status_answers(d, 20);
	fprintf(stderr, "daemon-it: control: %d connect-and-close, then status answered %d of 20\n",
		made, ok);
	cr_expect_eq(ok, 20, "status answered %d of 20 times after %d quick connect-and-close", ok,
		     made);
	/* Every burst connection was taken off the backlog. */
	cr_expect_geq(control_count(d, "accepted"), made);
}

/* ---- 10,000 idle connections ---------------------------------------------------------- */

Test(daemon_control, ten_thousand_idle_connections_hold_only_the_cap)
{
	raise_own_fd_limit(IDLE_CLIENTS + 256);
	struct df_daemon *d = df_daemon_new();
	const char *const flags[] = { "--no-bpf", NULL };
	df_daemon_start_ready(d, flags);
	int base = df_fd_count(d->pid, NULL);
	cr_assert_gt(base, 0);
	/* Tried: 10,000 connections that never say anything, all held open at once. */
	static int s[IDLE_CLIENTS];
	int n = 0, max_fds = base;
	int64_t end = df_now_ms() + 40000;
	while (n < IDLE_CLIENTS && df_now_ms() < end) {
		s[n] = control_connect(d, true);
		if (s[n] >= 0) {
			n++;
		} else {
			cr_assert(errno == EAGAIN, "connect: %s", strerror(errno));
			df_sleep_ms(1); /* the backlog is full: the daemon is accepting */
		}
		if (n % 500 == 0) {
			int f = df_fd_count(d->pid, NULL);
			max_fds = f > max_fds ? f : max_fds;
		}
	}
	cr_assert_eq(n, IDLE_CLIENTS, "only %d connections in 40 s", n);
	df_sleep_ms(200);
	int held = df_fd_count(d->pid, NULL);
	max_fds = held > max_fds ? held : max_fds;
	int ok = status_answers(d, 20);
	long long evicted = control_count(d, "evicted"), refused = control_count(d, "refused");
	fprintf(stderr, "daemon-it: control: %d idle connections: daemon fds %d at rest, %d with "
			"them open (max %d); status %d of 20; %lld evicted, %lld refused\n",
		n, base, held, max_fds, ok, evicted, refused);
	cr_expect_leq(max_fds, base + CLIENT_CAP + FD_SLACK,
		      "the daemon held %d descriptors for %d idle clients (%d at rest)", max_fds, n,
		      base);
	cr_expect_eq(ok, 20, "status answered %d of 20 times next to %d idle connections", ok, n);
	cr_expect_geq(evicted + refused, IDLE_CLIENTS - CLIENT_CAP);
	for (int i = 0; i < n; i++)
		close(s[i]);
	/* Once they are gone the daemon is back where it started. */
	int after = 0;
	for (int64_t t = df_now_ms() + 3000; df_now_ms() < t; df_sleep_ms(50))
		if ((after = df_fd_count(d->pid, NULL)) <= base + 1)
			break;
	cr_expect_leq(after, base + 1, "%d descriptors after the clients left (%d before)", after,
		      base);
}

/* ---- a client that never reads, one that reads slowly -------------------------------- */

#define BIG_ANSWER (256 * 1024) /* more than a Unix socket's send buffer (208 KiB) */

Test(daemon_control, a_client_that_never_reads_stalls_nothing)
{
	/*
	 * A big answer: `peers` lists every dial in flight. The farm's namespace
	 * routes every public address to lo, where the SYNs die: 4,000 dials to
	 * bookgen's 20,000 public addresses stay in flight (10 s timeout).
	 */
	const char *const mix[] = { "--live", "2", "--seed", "81", NULL };
	df_farm_start("slow", mix);
	char net[128];
	snprintf(net, sizeof(net), "--net=%s", df.farm.ns_path);
	char *const route[] = { "/usr/bin/nsenter", net, "--", "/usr/sbin/ip", "route", "add",
				"default", "dev", "lo", NULL };
	char rlog[300];
	snprintf(rlog, sizeof(rlog), "%s/route.log", df.work);
	cr_assert_eq(df_run(route, rlog, 5000), 0, "ip route add default dev lo (see %s)", rlog);

	struct df_daemon *d = df_daemon_new();
	char bin[512], glog[300];
	snprintf(bin, sizeof(bin), "%s/mukan-bookgen", getenv("MUKAN_BUILD"));
	snprintf(glog, sizeof(glog), "%s/bookgen.log", df.work);
	char *const gen[] = { bin, "-n", "20000", "--seed", "5", d->book, NULL };
	cr_assert_eq(df_run(gen, glog, 30000), 0, "mukan-bookgen failed (see %s)", glog);
	const char *const flags[] = { "--no-bpf", "--max-outbound", "250", "--overdial", "16",
				      "--max-inflight", "4096", "--dial-timeout", "10000", NULL };
	df_daemon_start_ready(d, flags);
	long long dialing = 0;
	for (int64_t end = df_now_ms() + 10000; df_now_ms() < end && dialing < 3000;
	     df_sleep_ms(100)) {
		json_t *st = df_status(d);
		dialing = df_json_int(st, "dialing");
		json_decref(st);
	}
	cr_assert_geq(dialing, 3000, "only %lld dials in flight", dialing);

	/* Tried: A asks for `peers` and never reads; B asks and reads only after 300 ms. */
	int a = control_connect(d, false), b = control_connect(d, false);
	cr_assert(a >= 0 && b >= 0);
	int64_t a_since = df_now_ms();
	cr_assert_eq(send(a, "peers\n", 6, MSG_NOSIGNAL), 6);
	cr_assert_eq(send(b, "peers\n", 6, MSG_NOSIGNAL), 6);
	df_sleep_ms(300);
	long long worst = 0;
	int ok = 0;
	for (int i = 0; i < 20; i++) {
		int64_t t0 = df_now_ms();
		json_t *st = df_ask(d, "status");
		long long took = df_now_ms() - t0;
		worst = took > worst ? took : worst;
		ok += st != NULL;
		json_decref(st);
	}
	size_t blen;
	char *btext = read_all(b, &blen, 8000);
	close(b);
	json_error_t je;
	json_t *peers = json_loadb(btext, blen, 0, &je);
	size_t listed = json_array_size(json_object_get(peers, "peers"));
	fprintf(stderr, "daemon-it: control: %lld dials in flight; status %d of 20 (slowest %lld ms) "
			"while a client does not read; the slow reader got %zu bytes, %zu peers\n",
		dialing, ok, worst, blen, listed);
	cr_expect_eq(ok, 20, "status answered %d of 20 times while a client did not read", ok);
	cr_expect_lt(worst, 1000, "a status answer took %lld ms", worst);
	cr_assert_gt(blen, BIG_ANSWER, "the answer (%zu bytes) fits a socket buffer: this test "
				       "no longer tests a slow reader", blen);
	cr_expect(peers, "the slow reader's answer (%zu bytes) is not whole JSON: %s", blen, je.text);
	cr_expect_geq(listed, 3000);
	json_decref(peers);
	free(btext);

	/* A is dropped at its deadline (5 s after it connected): what it reads
	 * after that is the part that fit in the socket, then the end. */
	int64_t wait = a_since + 5500 - df_now_ms();
	if (wait > 0)
		df_sleep_ms((int)wait);
	size_t alen;
	char *atext = read_all(a, &alen, 8000);
	close(a);
	free(atext);
	cr_expect_lt(alen, blen, "the client that never read got the whole answer");
	cr_expect_geq(control_count(d, "timed_out"), 1, "the silent reader was not dropped");
}

/* ---- the request line --------------------------------------------------------------------- */

Test(daemon_control, request_lines_in_pieces_long_or_odd)
{
	struct df_daemon *d = df_daemon_new();
	const char *const flags[] = { "--no-bpf", NULL };
	df_daemon_start_ready(d, flags);

	/* "status" in three writes 50 ms apart. */
	const char *const pieces[] = { "sta", "tu", "s\r\n", NULL };
	json_t *a = ask_raw(d, pieces, false);
	cr_expect(json_object_get(a, "outbound_connected"), "a request in pieces was not answered");
	json_decref(a);

	/* No newline: the end of the client's writing ends the request. */
	const char *const no_nl[] = { "status", NULL };
	a = ask_raw(d, no_nl, true);
	cr_expect(json_object_get(a, "outbound_connected"), "a request ended by shutdown");
	json_decref(a);

	/* 4096 bytes is a request (unknown here); 4097 is refused as too long. */
	static char line[4100];
	memset(line, 'x', 4096);
	line[4096] = '\n';
	line[4097] = '\0';
	const char *const max[] = { line, NULL };
	a = ask_raw(d, max, false);
	const char *err = json_string_value(json_object_get(a, "error"));
	cr_expect(err && strstr(err, "unknown request"), "4096 bytes: %s", err ? err : "(no error)");
	json_decref(a);
	memset(line, 'x', 4097);
	line[4097] = '\n';
	line[4098] = '\0';
	a = ask_raw(d, max, false);
	err = json_string_value(json_object_get(a, "error"));
	cr_expect(err && strstr(err, "longer than 4096"), "4097 bytes: %s", err ? err : "(no error)");
	json_decref(a);

	/* "status", a NUL byte, "x": not `status`. */
	const char *const nul[] = { "status", "", "x\n", NULL };
	a = ask_raw(d, nul, false);
	err = json_string_value(json_object_get(a, "error"));
	cr_expect(err && strstr(err, "NUL"), "a NUL byte: %s", err ? err : "(no error)");
	json_decref(a);
	cr_expect_eq(control_count(d, "bad_requests"), 2);
}
