/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_daemon.c - mukan-dialerd as a process, against a mukan-peerfarm
 * network, watched from outside: its control socket (status, peers), its
 * /proc entries, its pinned maps, its saved book, its handoff socket.
 *
 * Each test: one farm, one daemon (two for the restart), BPF on unless the
 * test is about --no-bpf. Timings are printed as "daemon-it: ..." lines.
 * Plumbing: daemon_fixture.h. Needs root (skipped otherwise, one line).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "book/book.h"
#include "book/book_file.h"
#include "book/netaddr.h"
#include "daemon_fixture.h"
#include "handoff/handoff.h"
#include "kern/kern.h"

TestSuite(daemon, .init = df_setup, .fini = df_teardown, .timeout = 60);

#define POLL_MS 100
#define ID_HEX (2 * MUKAN_ID_LEN + 1)

/* ---- helpers ------------------------------------------------------------------ */

/* Is this hex node ID among the n strings? */
static bool id_in(const char ids[][ID_HEX], unsigned n, const char *id)
{
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(ids[i], id) == 0)
			return true;
	return false;
}

/* Two entries naming the same peer: one peer connected twice. */
static bool has_duplicate(const char ids[][ID_HEX], unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = i + 1; k < n; k++)
			if (strcasecmp(ids[i], ids[k]) == 0)
				return true;
	return false;
}

static const char *category_of_id(const char *hex)
{
	uint8_t id[MUKAN_ID_LEN];
	if (node_id_parse(hex, strlen(hex), id) < 0)
		return "?";
	json_t *p = df_farm_peer_by_id(id);
	return p ? df_peer_category(p) : "not-in-farm";
}

/*
 * The daemon's three views of its outbound connections must agree once
 * things settle: the manager's count (status), the connections it lists
 * (peers) and the ESTABLISHED sockets to the farm's port in its namespace.
 * Retried for up to timeout_ms (a close may be in flight); false if they never agree.
 */
static bool views_agree(struct df_daemon *d, int timeout_ms, long long *status_c,
			unsigned *listed, int *sockets)
{
	int64_t end = df_now_ms() + timeout_ms;
	for (;;) { /* ends at the deadline */
		json_t *st = df_status(d);
		json_t *pe = df_ask(d, "peers");
		cr_assert(pe, "no answer to 'peers'");
		*status_c = df_json_int(st, "outbound_connected");
		*listed = df_peers_connected(pe, NULL, 0);
		*sockets = df_tcp_established(d->pid, DF_PORT);
		json_decref(st);
		json_decref(pe);
		if (*status_c == (long long)*listed && *status_c == *sockets)
			return true;
		if (df_now_ms() >= end)
			return false;
		df_sleep_ms(POLL_MS);
	}
}

static struct book *load_saved_book(const char *path)
{
	struct book_opts bo = { .strict = false, .seed = 1 };
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	struct book *b = NULL;
	char err[512];
	int e = book_load(path, &bo, &fo, &b, err, sizeof(err));
	cr_assert_eq(e, 0, "the saved book does not load: %s", err);
	return b;
}

static const struct mukan_peer *book_record(const struct book *b, json_t *farm_peer)
{
	uint8_t id[MUKAN_ID_LEN];
	df_peer_id(farm_peer, id);
	int slot = book_find(b, id);
	return slot < 0 ? NULL : book_slot(b, (uint32_t)slot);
}

static long long engine_field(json_t *status, const char *key)
{
	return df_json_int(json_object_get(status, "engine"), key);
}

/* ---- 1. ten slots against a hostile mix; a flapping peer's slot is refilled ---- */

#define FILL_BOUND_MS 15000
#define REPLACE_BOUND_MS 6000
#define CHURN_MIN_MS 5000 /* watched at least this long after the fill */
#define CHURN_BOUND_MS 15000
#define FILL_MAX_DIALS 1000 /* ~86 dead addresses backing off 2 s, 4 s, 8 s ... */

Test(daemon, fills_ten_slots_and_refills_when_peers_go_away)
{
	/*
	 * 100 addresses: 8 always live and 6 flapping (up 2.5 s, down 1 s), so at
	 * least two of the ten slots must be held by flapping peers, which then
	 * go down and have to be replaced; the other 86 are dead.
	 */
	const char *const mix[] = { "--live", "8", "--flapping", "6", "--flap-up", "2500ms",
				    "--flap-down", "1s", "--closed", "40", "--blackhole", "30",
				    "--unreachable", "16", "--seed", "11", NULL };
	df_farm_start("fill", mix);
	cr_assert_eq(json_array_size(df_farm_peers()), 100);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	const char *const flags[] = { "--max-outbound", "10", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	int64_t t0 = df_now_ms();
	df_daemon_start_ready(d, flags);

	long long max_c = 0, max_cd = 0;
	int64_t filled_at = -1, last_drop = -1, last_replaced = -1, worst_replace = 0;
	unsigned drops = 0, polls = 0, dup_polls = 0;
	char prev[32][ID_HEX];
	unsigned n_prev = 0;
	for (;;) { /* ends at FILL_BOUND_MS, or CHURN_BOUND_MS after the fill */
		int64_t now = df_now_ms();
		json_t *st = df_status(d);
		json_t *pe = df_ask(d, "peers");
		cr_assert(pe, "no answer to 'peers'");
		long long c = df_json_int(st, "outbound_connected");
		long long dialing = df_json_int(st, "dialing");
		cr_assert_eq(df_json_int(st, "max_outbound"), 10);
		cr_assert_leq(c, 10, "outbound_connected %lld > max_outbound 10 at t=%lld ms", c,
			      (long long)(now - t0));
		max_c = c > max_c ? c : max_c;
		max_cd = c + dialing > max_cd ? c + dialing : max_cd;
		char ids[32][ID_HEX];
		unsigned n = df_peers_connected(pe, ids, 32);
		cr_assert_leq(n, 10, "%u connections listed by 'peers'", n);
		dup_polls += has_duplicate(ids, n < 32 ? n : 32);
		polls++;
		/* A flapping peer listed before and not now went away. */
		for (unsigned i = 0; i < n_prev; i++) {
			bool flapping = strcmp(category_of_id(prev[i]), "flapping") == 0;
			if (flapping && !id_in(ids, n, prev[i])) {
				drops++;
				if (last_drop < 0 || last_replaced >= last_drop)
					last_drop = now;
			}
		}
		if (c == 10 && filled_at < 0)
			filled_at = now;
		if (c == 10 && last_drop >= 0 && last_replaced < last_drop) {
			last_replaced = now;
			if (now - last_drop > worst_replace)
				worst_replace = now - last_drop;
		}
		if (last_drop >= 0 && last_replaced < last_drop)
			cr_assert_lt(now - last_drop, REPLACE_BOUND_MS,
				     "a flapping peer went away at t=%lld ms and the slots are not "
				     "full again %d ms later (%lld of 10)",
				     (long long)(last_drop - t0), REPLACE_BOUND_MS, c);
		memcpy(prev, ids, sizeof(prev));
		n_prev = n < 32 ? n : 32;
		json_decref(st);
		json_decref(pe);
		if (filled_at < 0)
			cr_assert_lt(now - t0, FILL_BOUND_MS,
				     "10 slots not filled within %d ms (%lld connected)", FILL_BOUND_MS,
				     c);
		else if (now - filled_at >= CHURN_MIN_MS && drops > 0 && last_replaced >= last_drop)
			break;
		else
			cr_assert_lt(now - filled_at, CHURN_BOUND_MS,
				     "no flapping peer went away (or none was replaced) within %d ms "
				     "of the fill (drops %u)", CHURN_BOUND_MS, drops);
		df_sleep_ms(POLL_MS);
	}
	json_t *last = df_status(d);
	long long dials = engine_field(last, "dials");
	json_decref(last);
	fprintf(stderr,
		"daemon-it: fill: 10 of 10 slots after %lld ms (100 addresses, 14 live or flapping); "
		"max outbound_connected seen %lld, max connected+dialing %lld; "
		"%u flapping drops, slots full again after at most %lld ms; %lld dials in %lld ms\n",
		(long long)(filled_at - t0), max_c, max_cd, drops, (long long)worst_replace, dials,
		(long long)(df_now_ms() - t0));
	cr_expect_leq(dials, FILL_MAX_DIALS, "%lld dials in %lld ms to 100 addresses: no backoff?",
		      dials, (long long)(df_now_ms() - t0));
	cr_expect_eq(dup_polls, 0, "in %u of %u polls one peer was listed as connected twice",
		     dup_polls, polls);

	long long sc;
	unsigned listed;
	int socks;
	cr_expect(views_agree(d, 2000, &sc, &listed, &socks),
		  "after the churn: status says %lld outbound connected, 'peers' lists %u, the "
		  "namespace has %d established sockets to port %d",
		  sc, listed, socks, DF_PORT);

	/* Every peer goes away at once: the count must follow them down. */
	cr_assert_eq(df_farm_stop(), 0);
	int64_t t1 = df_now_ms();
	bool agree = views_agree(d, 3000, &sc, &listed, &socks);
	cr_expect(agree && sc == 0,
		  "3 s after the whole farm went away: status says %lld outbound connected, 'peers' "
		  "lists %u, %d sockets are established (all should be 0)",
		  sc, listed, socks);
	if (agree && sc == 0)
		fprintf(stderr, "daemon-it: fill: farm gone -> 0 connected after %lld ms\n",
			(long long)(df_now_ms() - t1));
}

/* ---- 2. SIGTERM --------------------------------------------------------------- */

Test(daemon, sigterm_stops_dialing_saves_the_book_and_removes_the_socket)
{
	const char *const mix[] = { "--live", "3", "--closed", "3", "--blackhole", "6",
				    "--unreachable", "2", "--seed", "21", NULL };
	df_farm_start("term", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	/* Long dial deadline: black-holed dials are still in flight at SIGTERM. */
	const char *const flags[] = { "--max-outbound", "6", "--dial-timeout", "5000",
				      "--ensure-period", "1s", NULL };
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d, 3, 5000, &max_seen), "the 3 live peers not connected in 5 s");
	long long inflight = 0;
	for (int64_t end = df_now_ms() + 3000; df_now_ms() < end && inflight == 0; df_sleep_ms(50)) {
		json_t *st = df_status(d);
		inflight = engine_field(st, "dials") - engine_field(st, "results");
		json_decref(st);
	}
	cr_assert_gt(inflight, 0, "no dial in flight to stop");

	int64_t t0 = df_now_ms();
	df_daemon_signal(d, SIGTERM);
	int st = df_daemon_wait(d, DF_EXIT_TIMEOUT_MS);
	int64_t took = df_now_ms() - t0;
	char *log = df_daemon_log(d);
	cr_assert_geq(st, 0, "still running %d ms after SIGTERM; log:\n%s", DF_EXIT_TIMEOUT_MS, log);
	cr_expect_eq(st, 0, "exit status %d after SIGTERM; log:\n%s", st, log);
	cr_expect_lt(took, 2000, "SIGTERM to exit took %lld ms with %lld dials in flight",
		     (long long)took, inflight);
	fprintf(stderr, "daemon-it: sigterm: exit %d after %lld ms (%lld dials were in flight)\n", st,
		(long long)took, inflight);
	cr_expect(strstr(log, "book saved"), "no 'book saved' line in the log:\n%s", log);
	free(log);
	cr_expect(!df_exists(d->control), "the control socket %s is still there", d->control);

	/* The book: every farm address, with what the dials found. */
	struct book *b = load_saved_book(d->book);
	size_t i;
	json_t *p;
	unsigned connected = 0, refused = 0, dialed = 0;
	json_array_foreach(df_farm_peers(), i, p) {
		const struct mukan_peer *r = book_record(b, p);
		cr_expect(r, "%s is missing from the saved book", df_peer_str(p, "addr"));
		if (!r)
			continue;
		dialed += r->dials > 0;
		if (strcmp(df_peer_category(p), "live") == 0 && r->last_connected != MUKAN_TIME_NEVER &&
		    r->dials > 0 && r->failures == 0)
			connected++;
		if (strcmp(df_peer_category(p), "closed") == 0 && r->dials > 0)
			refused += r->last_error == ECONNREFUSED && r->failures > 0;
	}
	cr_expect_eq(book_size(b), json_array_size(df_farm_peers()));
	cr_expect_eq(connected, 3, "%u live peers saved with a connection, dials and no failures",
		     connected);
	cr_expect_geq(refused, 1, "no closed peer saved with ECONNREFUSED");
	fprintf(stderr, "daemon-it: sigterm: saved book has %u records, %u dialed, %u connected, "
			"%u refused\n", book_size(b), dialed, connected, refused);
	book_free(b);
}

/* ---- 3. SIGHUP ---------------------------------------------------------------- */

Test(daemon, sighup_reloads_max_outbound)
{
	const char *const mix[] = { "--live", "12", "--closed", "6", "--blackhole", "4",
				    "--seed", "31", NULL };
	df_farm_start("hup", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	/* max_outbound from the file (a flag would win over it). */
	df_write_file(d->conf, "[dialer]\nmax_outbound = 10\n");
	const char *const flags[] = { "--dial-timeout", "300", "--ensure-period", "1s", NULL };
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d, 10, 8000, &max_seen), "10 slots not filled in 8 s");

	df_write_file(d->conf, "[dialer]\n# lowered\nmax_outbound = 5\n");
	int64_t t0 = df_now_ms();
	df_daemon_signal(d, SIGHUP);
	long long max = 10, c = 10, dials0 = -1, dials1 = -1;
	for (int64_t end = t0 + 2000; df_now_ms() < end && max != 5; df_sleep_ms(50)) {
		json_t *st = df_status(d);
		max = df_json_int(st, "max_outbound");
		json_decref(st);
	}
	cr_assert_eq(max, 5, "status max_outbound is %lld 2 s after SIGHUP", max);
	fprintf(stderr, "daemon-it: sighup: max_outbound 5 after %lld ms\n",
		(long long)(df_now_ms() - t0));
	/* Over the limit now: nothing new may be dialed, and the surplus should go. */
	int64_t drop_end = df_now_ms() + 3000;
	for (;;) { /* ends at drop_end */
		json_t *st = df_status(d);
		c = df_json_int(st, "outbound_connected");
		if (dials0 < 0)
			dials0 = engine_field(st, "dials");
		dials1 = engine_field(st, "dials");
		json_decref(st);
		if (c <= 5 || df_now_ms() >= drop_end)
			break;
		df_sleep_ms(POLL_MS);
	}
	cr_expect_eq(dials1, dials0, "%lld dials started while over the new limit", dials1 - dials0);
	int sockets = df_tcp_established(d->pid, DF_PORT);
	cr_expect_leq(c, 5,
		      "3 s after SIGHUP lowered max_outbound to 5 the daemon still counts %lld "
		      "outbound peers (%d established sockets): the surplus is kept", c, sockets);
	/* Dropped means closed on the wire too, not only uncounted. */
	long long sc;
	unsigned listed;
	bool agree = views_agree(d, 2000, &sc, &listed, &sockets);
	cr_expect(agree && sockets <= 5,
		  "after lowering to 5: status says %lld connected, 'peers' lists %u, %d sockets "
		  "are still established", sc, listed, sockets);
	fprintf(stderr, "daemon-it: sighup: after lowering to 5: %lld connected, %u listed, %d "
			"sockets established\n", sc, listed, sockets);
	char *log = df_daemon_log(d);
	cr_expect(strstr(log, "SIGHUP: settings reloaded (max_outbound 5)"), "log:\n%s", log);
	free(log);

	/* A bad file on SIGHUP: one line naming it, the settings and the daemon stay. */
	df_write_file(d->conf, "[dialer]\nmax_outbound = 5\nmax_outbound = many\n");
	df_daemon_signal(d, SIGHUP);
	df_sleep_ms(500);
	json_t *st = df_status(d);
	cr_expect_eq(df_json_int(st, "max_outbound"), 5);
	json_decref(st);
	log = df_daemon_log(d);
	char want[300];
	snprintf(want, sizeof(want), "%s:3: max_outbound:", d->conf);
	cr_expect(strstr(log, want), "no '%s' in the log:\n%s", want, log);
	free(log);
}

/* ---- 4. kill -9 and a restart on the same pins ---------------------------------- */

Test(daemon, kill9_restart_reuses_the_pinned_book)
{
	const char *const mix[] = { "--live", "5", "--closed", "5", "--blackhole", "5",
				    "--unreachable", "2", "--seed", "41", NULL };
	df_farm_start("k9", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	const char *const flags[] = { "--max-outbound", "3", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d, 3, 5000, &max_seen), "3 slots not filled in 5 s");
	df_sleep_ms(1000); /* let the dead ones be dialed too */

	size_t np = json_array_size(df_farm_peers());
	uint32_t before[64] = { 0 };
	cr_assert_leq(np, 64);
	uint64_t sum_before = 0;
	for (size_t i = 0; i < np; i++) {
		uint8_t id[MUKAN_ID_LEN];
		struct mukan_peer r;
		df_peer_id(json_array_get(df_farm_peers(), i), id);
		cr_assert(df_live_record(d->pin_dir, id, &r), "peer %zu is not in the live book", i);
		before[i] = r.dials;
		sum_before += r.dials;
	}
	cr_assert_gt(sum_before, 0, "the kernel recorded no dial");

	df_daemon_signal(d, SIGKILL);
	cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 128 + SIGKILL);
	cr_assert(df_exists(d->pin_dir), "the pins went with the daemon");
	int64_t t0 = df_now_ms();
	df_daemon_start_ready(d, flags);
	bool filled = df_wait_connected(d, 3, 5000, &max_seen);
	cr_assert(filled, "the restarted daemon did not fill its 3 slots in 5 s");
	fprintf(stderr, "daemon-it: kill9: restarted and 3 of 3 connected after %lld ms\n",
		(long long)(df_now_ms() - t0));

	uint64_t sum_after = 0;
	for (size_t i = 0; i < np; i++) {
		uint8_t id[MUKAN_ID_LEN];
		struct mukan_peer r;
		json_t *p = json_array_get(df_farm_peers(), i);
		df_peer_id(p, id);
		cr_assert(df_live_record(d->pin_dir, id, &r), "%s left the live book",
			  df_peer_str(p, "addr"));
		cr_expect_geq(r.dials, before[i], "%s: %u dials after the restart, %u before",
			      df_peer_str(p, "addr"), r.dials, before[i]);
		sum_after += r.dials;
	}
	cr_expect_gt(sum_after, sum_before, "no dial recorded after the restart");
	fprintf(stderr, "daemon-it: kill9: dials in the map %llu before kill -9, %llu after restart\n",
		(unsigned long long)sum_before, (unsigned long long)sum_after);
	char *log = df_daemon_log(d);
	const char *first = strstr(log, "imported");
	cr_expect(first && !strstr(first + 1, "imported"),
		  "the book was imported again on restart (a fresh map?):\n%s", log);
	free(log);

	/* One program per hook, not one per start. */
	int types[] = { BPF_CGROUP_SOCK_OPS, BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT };
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(df_prog_count(d->cgroup, types[i]), 1,
			     "%d programs of attach type %d on %s", df_prog_count(d->cgroup, types[i]),
			     types[i], d->cgroup);
}

/* ---- 5. no descriptor leaks under churn ------------------------------------------ */

struct fd_sample {
	int total, sockets;
	long long connected, inflight, dials;
	unsigned held;
};

/*
 * A sample the daemon did not change while it was taken (same dial counters
 * and count before and after reading /proc). False if none came in time.
 */
static bool fd_sample(struct df_daemon *d, struct fd_sample *s, int timeout_ms)
{
	int64_t end = df_now_ms() + timeout_ms;
	for (;;) { /* ends at the deadline */
		json_t *a = df_status(d);
		json_t *pe = df_ask(d, "peers");
		cr_assert(pe, "no answer to 'peers'");
		s->total = df_fd_count(d->pid, &s->sockets);
		json_t *b = df_status(d);
		s->connected = df_json_int(a, "outbound_connected");
		s->dials = engine_field(a, "dials");
		s->inflight = s->dials - engine_field(a, "results");
		s->held = df_peers_held_by(pe, "daemon");
		bool stable = s->dials == engine_field(b, "dials") &&
			      engine_field(a, "results") == engine_field(b, "results") &&
			      s->connected == df_json_int(b, "outbound_connected");
		json_decref(a);
		json_decref(b);
		json_decref(pe);
		if (stable && s->total > 0)
			return true;
		if (df_now_ms() >= end)
			return false;
		df_sleep_ms(30);
	}
}

Test(daemon, no_descriptor_leaks_under_churn)
{
	/* 4 live, 8 flapping: at least 4 of the 8 slots are held by peers that go away. */
	const char *const mix[] = { "--live", "4", "--flapping", "8", "--flap-up", "1s",
				    "--flap-down", "500ms", "--closed", "10", "--blackhole", "10",
				    "--unreachable", "2", "--seed", "51", NULL };
	df_farm_start("fd", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	const char *const flags[] = { "--max-outbound", "8", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d, 8, 10000, &max_seen), "8 slots not filled in 10 s");
	df_sleep_ms(2000);
	struct fd_sample a, b;
	cr_assert(fd_sample(d, &a, 3000), "no quiet moment to count descriptors in 3 s");
	int64_t t0 = df_now_ms();
	while (df_now_ms() - t0 < 5000) { /* churn: flapping peers drop, slots refill */
		json_t *st = df_status(d);
		cr_assert_leq(df_json_int(st, "outbound_connected"), 8);
		json_decref(st);
		df_sleep_ms(250);
	}
	cr_assert(fd_sample(d, &b, 3000), "no quiet moment to count descriptors in 3 s");
	fprintf(stderr,
		"daemon-it: fds: after fill %d (%d sockets: %lld connected, %lld in flight); "
		"after 5 s of churn and %lld dials %d (%d sockets: %lld connected, %lld in flight)\n",
		a.total, a.sockets, a.connected, a.inflight, b.dials - a.dials, b.total, b.sockets,
		b.connected, b.inflight);
	cr_expect_geq(b.dials - a.dials, 4,
		      "no churn: %lld dials in 5 s while flapping peers come and go (status says "
		      "%lld connected, the daemon holds %u connections, %d sockets are open)",
		      b.dials - a.dials, b.connected, b.held, b.sockets);
	cr_expect_eq(b.total - b.sockets, a.total - a.sockets,
		     "descriptors that are not sockets: %d after the fill, %d after the churn",
		     a.total - a.sockets, b.total - b.sockets);
	/* Descriptors that neither a held connection nor a dial in flight explains. */
	long long rest_a = a.total - (long long)a.held - a.inflight;
	long long rest_b = b.total - (long long)b.held - b.inflight;
	cr_expect_leq(rest_b, rest_a + 1,
		      "descriptors besides connections and dials: %lld after the fill, %lld after "
		      "the churn", rest_a, rest_b);
	/* Sockets: the connections it holds, the dials in flight, the control listener. */
	const struct fd_sample *s[2] = { &a, &b };
	for (int k = 0; k < 2; k++)
		cr_expect_leq(s[k]->sockets, (long long)s[k]->held + s[k]->inflight + 1,
			      "%s: %d sockets open for %u held connections and %lld dials in "
			      "flight (+1 listener)",
			      k ? "after the churn" : "after the fill", s[k]->sockets, s[k]->held,
			      s[k]->inflight);
}

/* ---- 6. the handoff, end to end ---------------------------------------------- */

struct handed {
	int fd;
	struct handoff_msg m;
};

/* The next PEER from the daemon (bounded by the socket's receive timeout). */
static struct handed recv_peer(int node)
{
	struct handed h = { .fd = -1 };
	int e = handoff_recv(node, &h.m, &h.fd);
	cr_assert_eq(e, 0, "no PEER message from the daemon: %s", strerror(-e));
	cr_assert_eq(h.m.type, HANDOFF_PEER, "message type %u, want PEER", h.m.type);
	cr_assert_geq(h.fd, 0, "a PEER without a socket");
	return h;
}

/* The socket is an established TCP connection to the address the message names, a farm peer. */
static void check_handed(const struct handed *h)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	cr_assert_eq(getpeername(h->fd, (struct sockaddr *)&sa, &len), 0, "getpeername: %s",
		     strerror(errno));
	cr_assert_eq(sa.sin_family, AF_INET);
	cr_assert_eq(h->m.addr.family, MUKAN_AF_INET);
	cr_assert_eq(memcmp(&sa.sin_addr, h->m.addr.ip, 4), 0, "the socket goes elsewhere than "
							       "the message says");
	cr_assert_eq(ntohs(sa.sin_port), h->m.addr.port);
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	cr_assert_eq(getsockopt(h->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	cr_assert_eq(ti.tcpi_state, TCP_ESTABLISHED, "handed socket in TCP state %u", ti.tcpi_state);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	json_t *p = df_farm_peer_by_ip(ip);
	cr_assert(p, "handed a socket to %s, not a farm peer", ip);
	cr_assert_str_eq(df_peer_category(p), "live", "%s", ip);
	uint8_t id[MUKAN_ID_LEN];
	df_peer_id(p, id);
	cr_assert_eq(memcmp(id, h->m.id, MUKAN_ID_LEN), 0, "the message's node ID is not %s's", ip);
}

Test(daemon, handoff_passes_sockets_and_takes_peer_gone_and_mark_bad)
{
	const char *const mix[] = { "--live", "5", "--closed", "2", "--blackhole", "2", "--seed",
				    "61", NULL };
	df_farm_start("ho", mix);
	/* One live peer is a persistent peer: it does not take a slot, and says so in PEER. */
	json_t *pers = NULL;
	size_t pi;
	json_t *pp;
	json_array_foreach(df_farm_peers(), pi, pp)
		if (!pers && strcmp(df_peer_category(pp), "live") == 0)
			pers = pp;
	cr_assert(pers);
	uint8_t pers_id[MUKAN_ID_LEN];
	df_peer_id(pers, pers_id);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	snprintf(d->handoff, sizeof(d->handoff), "%s/handoff.sock", d->home);
	const char *const flags[] = { "--max-outbound", "3", "--dial-timeout", "300",
				      "--ensure-period", "1s", "--handoff", d->handoff,
				      "--persistent-peers", df_peer_str(pers, "addr"), NULL };
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d, 3, 5000, &max_seen), "3 slots not filled in 5 s");
	long long pc = 0;
	for (int64_t end = df_now_ms() + 3000; df_now_ms() < end && pc != 1; df_sleep_ms(50)) {
		json_t *st = df_status(d);
		pc = df_json_int(st, "persistent_connected");
		json_decref(st);
	}
	cr_assert_eq(pc, 1, "the persistent peer is not connected");
	json_t *pe = df_ask(d, "peers");
	cr_assert_eq(df_peers_held_by(pe, "daemon"), 4,
		     "before a node connects the daemon holds the 3 + 1 persistent connections");
	json_decref(pe);

	/* The node connects: the four connections kept meanwhile come over. */
	int node = handoff_connect(d->handoff);
	cr_assert_geq(node, 0, "handoff_connect %s: %s", d->handoff, strerror(-node));
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(node, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct handed h[5];
	int persistent = -1, gone_i = -1;
	for (int i = 0; i < 4; i++) {
		h[i] = recv_peer(node);
		check_handed(&h[i]);
		for (int k = 0; k < i; k++)
			cr_assert_neq(memcmp(h[k].m.id, h[i].m.id, MUKAN_ID_LEN), 0,
				      "the same peer handed twice");
		if (memcmp(h[i].m.id, pers_id, MUKAN_ID_LEN) == 0)
			persistent = i;
		else if (gone_i < 0)
			gone_i = i;
	}
	cr_assert_geq(persistent, 0, "the persistent peer was not handed over");
	cr_expect(h[persistent].m.flags & HANDOFF_PERSISTENT,
		  "the persistent peer, kept until the node came, was handed without the "
		  "PERSISTENT flag (flags %#x)", h[persistent].m.flags);
	json_t *st = df_status(d);
	cr_expect(json_is_true(json_object_get(st, "node_connected")));
	cr_expect_eq(df_json_int(st, "outbound_connected"), 3);
	json_decref(st);
	pe = df_ask(d, "peers");
	cr_expect_eq(df_peers_held_by(pe, "node"), 4, "'peers' does not show them held by the node");
	json_decref(pe);

	/* PEER_GONE: the slot is refilled and the new connection handed over. */
	close(h[gone_i].fd);
	struct handoff_msg gone;
	handoff_msg_init(&gone, HANDOFF_PEER_GONE);
	memcpy(gone.id, h[gone_i].m.id, MUKAN_ID_LEN);
	gone.addr = h[gone_i].m.addr;
	gone.reason = ECONNRESET;
	int64_t t0 = df_now_ms();
	cr_assert_eq(handoff_send(node, &gone, -1), 0);
	h[4] = recv_peer(node);
	fprintf(stderr, "daemon-it: handoff: PEER_GONE -> next PEER after %lld ms\n",
		(long long)(df_now_ms() - t0));
	check_handed(&h[4]);
	for (int k = 0; k < 4; k++)
		cr_expect(k == gone_i || memcmp(h[4].m.id, h[k].m.id, MUKAN_ID_LEN) != 0,
			  "a peer the node still holds was handed again");
	st = df_status(d);
	cr_expect_eq(df_json_int(st, "outbound_connected"), 3);
	json_decref(st);

	/* MARK_BAD: the address is banned in the live book. */
	struct handoff_msg bad;
	handoff_msg_init(&bad, HANDOFF_MARK_BAD);
	memcpy(bad.id, h[gone_i].m.id, MUKAN_ID_LEN);
	bad.addr = h[gone_i].m.addr;
	bad.ban_ns = 3600ULL * 1000000000ULL;
	cr_assert_eq(handoff_send(node, &bad, -1), 0);
	struct mukan_peer r = { 0 };
	bool banned = false;
	for (int64_t end = df_now_ms() + 2000; df_now_ms() < end && !banned; df_sleep_ms(50))
		banned = df_live_record(d->pin_dir, h[gone_i].m.id, &r) &&
			 (r.flags & MUKAN_PEER_BANNED) &&
			 r.ban_until > kern_now() + 3000LL * 1000000000LL;
	cr_expect(banned, "MARK_BAD: the live record is not banned for ~1 h (flags %#x)", r.flags);
	st = df_status(d);
	cr_expect_geq(df_json_int(json_object_get(st, "book"), "banned"), 1);
	json_decref(st);

	/* Stop: the ban is in the saved book, the sockets are gone. */
	df_daemon_signal(d, SIGTERM);
	cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
	struct book *b = load_saved_book(d->book);
	cr_expect(book_is_banned(b, h[gone_i].m.id, kern_now()), "the saved book does not ban it");
	book_free(b);
	cr_expect(!df_exists(d->control), "%s left behind", d->control);
	cr_expect(!df_exists(d->handoff), "the handoff socket %s is left behind after SIGTERM",
		  d->handoff);
	/* The node still owns its connections after the daemon stopped. */
	int keep = gone_i == 0 ? 1 : 0;
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	cr_expect_eq(getsockopt(h[keep].fd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	cr_expect_eq(ti.tcpi_state, TCP_ESTABLISHED, "a handed connection died with the daemon");
	for (int i = 0; i < 5; i++)
		if (i != gone_i)
			close(h[i].fd);
	close(node);
}

/* ---- 8. --no-bpf ---------------------------------------------------------------- */

Test(daemon, no_bpf_fills_slots_from_completions)
{
	const char *const mix[] = { "--live", "4", "--closed", "4", "--blackhole", "4",
				    "--unreachable", "2", "--seed", "81", NULL };
	df_farm_start("nobpf", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	const char *const flags[] = { "--no-bpf", "--max-outbound", "3", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	int64_t t0 = df_now_ms();
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d, 3, 5000, &max_seen), "3 slots not filled in 5 s");
	fprintf(stderr, "daemon-it: no-bpf: 3 of 3 after %lld ms\n", (long long)(df_now_ms() - t0));
	json_t *st = df_status(d);
	cr_expect(json_is_false(json_object_get(st, "bpf")), "status says bpf is on");
	json_decref(st);
	cr_expect(!df_exists(d->pin_dir), "--no-bpf created %s", d->pin_dir);
	int types[] = { BPF_CGROUP_SOCK_OPS, BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT };
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(df_prog_count(d->cgroup, types[i]), 0, "--no-bpf attached a program");
	char procs[300];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", d->cgroup);
	char *members = df_read_file(procs, NULL);
	cr_expect(members && members[0] == '\0', "--no-bpf joined the cgroup: %s",
		  members ? members : "?");
	free(members);
	df_sleep_ms(1000); /* dead addresses dialed too */

	df_daemon_signal(d, SIGTERM);
	cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
	/* Outcomes came from the completions: they are in the saved book. */
	struct book *b = load_saved_book(d->book);
	size_t i;
	json_t *p;
	unsigned connected = 0, refused = 0, unreachable = 0;
	json_array_foreach(df_farm_peers(), i, p) {
		const struct mukan_peer *r = book_record(b, p);
		cr_assert(r, "%s missing from the saved book", df_peer_str(p, "addr"));
		const char *cat = df_peer_category(p);
		if (!strcmp(cat, "live"))
			connected += r->dials > 0 && r->last_connected != MUKAN_TIME_NEVER;
		if (!strcmp(cat, "closed"))
			refused += r->failures > 0 && r->last_error == ECONNREFUSED;
		if (!strcmp(cat, "unreachable"))
			unreachable += r->failures > 0 && r->last_error == EHOSTUNREACH;
		if (strcmp(cat, "live") != 0)
			cr_expect(r->last_connected == MUKAN_TIME_NEVER, "%s (%s) saved as connected",
				  df_peer_str(p, "addr"), cat);
	}
	book_free(b);
	fprintf(stderr, "daemon-it: no-bpf: saved %u connected, %u refused, %u unreachable\n",
		connected, refused, unreachable);
	cr_expect_geq(connected, 3);
	cr_expect_geq(refused, 1, "no ECONNREFUSED recorded without BPF");
	cr_expect(!df_exists(d->pin_dir), "--no-bpf left %s", d->pin_dir);
}
