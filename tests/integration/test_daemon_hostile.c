/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_daemon_hostile.c - mukan-dialerd given bad input: malformed seeds, a
 * bad settings file, a corrupt address book, a book of ~20,000 dead
 * addresses, peers that accept and close at once, peers that answer with
 * ICMP unreachable. Each answer is checked from outside (exit status, the
 * one line it prints, files, /proc, the control socket, the pinned map).
 * Plumbing: daemon_fixture.h. Needs root (skipped otherwise, one line).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "book/book.h"
#include "book/book_file.h"
#include "daemon_fixture.h"
#include "kern/kern.h"

TestSuite(daemon_hostile, .init = df_setup, .fini = df_teardown, .timeout = 60);

#define RUN_BOUND_MS 8000 /* a daemon that must refuse to start */

static long long status_int(struct df_daemon *d, const char *obj, const char *key)
{
	json_t *st = df_status(d);
	long long v = df_json_int(obj ? json_object_get(st, obj) : st, key);
	json_decref(st);
	return v;
}

/* The daemon refused to start: non-zero exit, one line naming `needle`. */
static void expect_one_line_refusal(struct df_daemon *d, int st, int want_status,
				    const char *needle)
{
	char *log = df_daemon_log(d);
	if (want_status >= 0)
		cr_expect_eq(st, want_status, "exit status %d, want %d; output:\n%s", st, want_status,
			     log);
	else
		cr_expect(st > 0 && st < 128, "exit status %d, want a non-zero exit; output:\n%s", st,
			  log);
	cr_expect_eq(df_count_lines(log), 1, "want one line, got:\n%s", log);
	cr_expect(strstr(log, needle), "the line does not name '%s':\n%s", needle, log);
	fprintf(stderr, "daemon-it: refusal (exit %d): %s", st, log);
	free(log);
}

/* ---- malformed seeds ----------------------------------------------------- */

Test(daemon_hostile, malformed_seed_is_named_and_refused)
{
	static const char *const bad[] = {
		"0123456789abcdef0123456789abcdef0123456z@127.0.0.1:26656", /* not hex */
		"0123456789abcdef0123456789abcdef01234567@127.0.0.1:99999", /* port */
		"127.0.0.1:26656",					    /* no node ID */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct df_daemon *d = df_daemon_new();
		char list[256];
		/* A good seed first: the bad one must still be found and named. */
		snprintf(list, sizeof(list),
			 "89abcdef0123456789abcdef0123456789abcdef@127.0.0.1:26656,%s", bad[i]);
		const char *const with_bpf[] = { "--seeds", list, NULL };
		const char *const no_bpf[] = { "--seeds", list, "--no-bpf", NULL };
		int st = df_daemon_run(d, i == 0 ? with_bpf : no_bpf, RUN_BOUND_MS);
		expect_one_line_refusal(d, st, -1, bad[i]);
		cr_expect(!df_exists(d->control), "%s left behind", d->control);
		cr_expect(!df_exists(d->book), "a book was written by a daemon that did not start");
		if (i == 0)
			/* docs/config.md: a bad value stops the daemon and nothing is written. */
			cr_expect(!df_exists(d->pin_dir),
				  "a daemon that refused its seeds left pins in %s (and its programs "
				  "attached to %s)", d->pin_dir, d->cgroup);
	}
}

/* ---- a bad settings file ----------------------------------------------------- */

Test(daemon_hostile, bad_config_value_names_file_line_and_key)
{
	/* Our own file: line 4 is bad. */
	struct df_daemon *d = df_daemon_new();
	df_write_file(d->conf, "[dialer]\nmax_outbound = 10\n\nmax_outbound = lots\n");
	int st = df_daemon_run(d, NULL, RUN_BOUND_MS);
	char want[400];
	snprintf(want, sizeof(want), "%s:4: max_outbound:", d->conf);
	expect_one_line_refusal(d, st, 2, want);
	cr_expect(!df_exists(d->control) && !df_exists(d->book) && !df_exists(d->pin_dir),
		  "a daemon with a bad config wrote something");

	/* A duration out of range, in a file named with --config. */
	d = df_daemon_new();
	char other[300];
	snprintf(other, sizeof(other), "%s/other.conf", d->home);
	df_write_file(other, "; comment\n[dialer]\ndial_timeout = 5\n");
	const char *const cfg[] = { "--config", other, NULL };
	st = df_daemon_run(d, cfg, RUN_BOUND_MS);
	snprintf(want, sizeof(want), "%s:3: dial_timeout:", other);
	expect_one_line_refusal(d, st, 2, want);

	/* CometBFT's config.toml: the [p2p] key by its CometBFT name. */
	d = df_daemon_new();
	char toml[300];
	snprintf(toml, sizeof(toml), "%s/config.toml", d->home);
	df_write_file(toml, "moniker = \"x\"\n[p2p]\nladdr = \"tcp://0.0.0.0:26656\"\n"
			    "max_num_outbound_peers = 5000\n");
	const char *const cmt[] = { "--cometbft-config", toml, NULL };
	st = df_daemon_run(d, cmt, RUN_BOUND_MS);
	snprintf(want, sizeof(want), "%s:4: max_num_outbound_peers:", toml);
	expect_one_line_refusal(d, st, 2, want);

	/* --config naming a file that does not exist. */
	d = df_daemon_new();
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/absent.conf", d->home);
	const char *const absent[] = { "--config", missing, NULL };
	st = df_daemon_run(d, absent, RUN_BOUND_MS);
	expect_one_line_refusal(d, st, 2, "absent.conf");
}

/* ---- a corrupt addrbook.json ---------------------------------------------------- */

Test(daemon_hostile, corrupt_book_is_moved_aside_and_the_daemon_starts)
{
	const char *const mix[] = { "--live", "2", "--closed", "2", "--seed", "71", NULL };
	df_farm_start("corrupt", mix);
	struct df_daemon *d = df_daemon_new();
	static const char junk[] = "{\"key\": \"abc\", \"addrs\": [ {\"addr\": 12";
	df_write_file(d->book, junk);
	char *seeds = df_farm_seeds();
	const char *const flags[] = { "--seeds", seeds, "--max-outbound", "2", "--dial-timeout",
				      "300", NULL };
	df_daemon_start_ready(d, flags);
	char moved[300];
	snprintf(moved, sizeof(moved), "%s.corrupt", d->book);
	size_t len = 0;
	char *kept = df_read_file(moved, &len);
	cr_expect(kept && len == strlen(junk) && memcmp(kept, junk, len) == 0,
		  "%s does not hold the corrupt file as it was", moved);
	free(kept);
	char *log = df_daemon_log(d);
	cr_expect(strstr(log, "addrbook.json.corrupt") && strstr(log, "empty book"),
		  "no line about the corrupt book:\n%s", log);
	free(log);
	cr_expect_eq(status_int(d, "book", "size"), 0);

	/* A second corrupt file goes beside the first, which is never overwritten. */
	df_daemon_signal(d, SIGTERM);
	cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
	df_write_file(d->book, "not json at all");
	df_daemon_start_ready(d, flags);
	char moved1[300];
	snprintf(moved1, sizeof(moved1), "%s.corrupt.1", d->book);
	kept = df_read_file(moved1, &len);
	cr_expect(kept && strcmp(kept, "not json at all") == 0, "%s missing or changed", moved1);
	free(kept);
	kept = df_read_file(moved, &len);
	cr_expect(kept && len == strlen(junk) && memcmp(kept, junk, len) == 0,
		  "the first corrupt copy was overwritten");
	free(kept);
	df_daemon_signal(d, SIGTERM);
	cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
	/* What it saved on the way out loads. */
	struct book_opts bo = { .strict = false, .seed = 1 };
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	struct book *b = NULL;
	char err[512];
	cr_expect_eq(book_load(d->book, &bo, &fo, &b, err, sizeof(err)), 0, "%s", err);
	book_free(b);
	free(seeds);
}

/* ---- ~20,000 dead addresses ------------------------------------------------------ */

#define BIG_RSS_KB (200L * 1024)
#define BIG_FDS (64 + 64) /* base descriptors + the dial window (max_inflight 64) */

Test(daemon_hostile, twenty_thousand_dead_addresses)
{
	/* bookgen's public addresses do not exist in the farm: no route, the dials fail locally. */
	const char *const mix[] = { "--live", "2", "--closed", "2", "--seed", "73", NULL };
	df_farm_start("big", mix);
	struct df_daemon *d = df_daemon_new();
	const char *dir = getenv("MUKAN_BUILD");
	char bin[512], log[300];
	snprintf(bin, sizeof(bin), "%s/mukan-bookgen", dir);
	snprintf(log, sizeof(log), "%s/bookgen.log", d->home);
	cr_assert_eq(access(bin, X_OK), 0, "%s: build it first", bin);
	char *const gen[] = { bin, "-n", "20000", "--seed", "9", d->book, NULL };
	cr_assert_eq(df_run(gen, log, 30000), 0, "mukan-bookgen failed (see %s)", log);
	struct book_opts bo = { .strict = false, .seed = 1 };
	struct book_file_opts fo = { 0 };
	struct book *b = NULL;
	char err[512];
	cr_assert_eq(book_load(d->book, &bo, &fo, &b, err, sizeof(err)), 0, "%s", err);
	uint32_t n = book_size(b);
	book_free(b);
	/* 20,000 offered; the buckets (256 x 64 new, 64 x 64 old) keep ~19,600. */
	cr_assert_geq(n, 19000, "bookgen wrote only %u addresses", n);

	const char *const flags[] = { "--max-outbound", "10", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	int64_t t0 = df_now_ms();
	df_daemon_start_ready(d, flags);
	int64_t ready = df_now_ms() - t0;
	long max_rss = 0;
	int max_fds = 0;
	long long worst_answer = 0;
	for (int64_t end = df_now_ms() + 5000; df_now_ms() < end; df_sleep_ms(250)) {
		int64_t a = df_now_ms();
		json_t *st = df_status(d);
		int64_t took = df_now_ms() - a;
		worst_answer = took > worst_answer ? took : worst_answer;
		json_decref(st);
		long rss = df_rss_kb(d->pid);
		int fds = df_fd_count(d->pid, NULL);
		cr_assert(rss > 0 && fds > 0, "the daemon is gone");
		max_rss = rss > max_rss ? rss : max_rss;
		max_fds = fds > max_fds ? fds : max_fds;
		cr_assert_lt(rss, BIG_RSS_KB, "VmRSS %ld kB", rss);
		cr_assert_lt(fds, BIG_FDS, "%d descriptors open", fds);
	}
	long long size = status_int(d, "book", "size"), dials = status_int(d, "engine", "dials");
	fprintf(stderr,
		"daemon-it: 20k: %u addresses, control socket up after %lld ms, VmRSS max %ld kB, "
		"fds max %d, status answered within %lld ms, %lld dials in ~5 s\n",
		n, (long long)ready, max_rss, max_fds, worst_answer, dials);
	cr_expect_eq(size, n, "the live book holds %lld of %u", size, n);
	cr_expect_gt(dials, 100, "it hardly dialed (%lld)", dials);
	cr_expect_lt(worst_answer, 1000, "status took %lld ms", worst_answer);
	df_daemon_signal(d, SIGTERM);
	cr_expect_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
}

/* ---- peers that accept and close at once ------------------------------------------- */

Test(daemon_hostile, peers_that_accept_and_close_at_once)
{
	/*
	 * The farm holds at most 2 connections (--max-conns 2); every other one
	 * it accepts and closes at once. The daemon wants 4: 2 stay, and every
	 * other slot is refilled again and again.
	 */
	const char *const mix[] = { "--live", "6", "--closed", "4", "--max-conns", "2", "--seed",
				    "75", NULL };
	df_farm_start("acc", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	const char *const flags[] = { "--max-outbound", "4", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	df_daemon_start_ready(d, flags);
	df_sleep_ms(1000);
	long long dials0 = status_int(d, "engine", "dials");
	long long cpu0 = df_cpu_ticks(d->pid);
	int64_t t0 = df_now_ms();
	for (int64_t end = t0 + 3000; df_now_ms() < end; df_sleep_ms(100))
		cr_assert_leq(status_int(d, NULL, "outbound_connected"), 4);
	long long dials = status_int(d, "engine", "dials") - dials0;
	long long cpu = df_cpu_ticks(d->pid) - cpu0;
	double cpu_share = (double)cpu / (double)sysconf(_SC_CLK_TCK) /
			   ((double)(df_now_ms() - t0) / 1000.0);
	json_t *st = df_status(d);
	json_t *pe = df_ask(d, "peers");
	cr_assert(pe);
	long long c = df_json_int(st, "outbound_connected");
	unsigned listed = df_peers_connected(pe, NULL, 0);
	int sockets = df_tcp_established(d->pid, DF_PORT);
	json_decref(st);
	json_decref(pe);
	fprintf(stderr,
		"daemon-it: accept-and-close: %lld dials in 3 s, CPU %.0f%%; status %lld connected, "
		"peers lists %u, %d sockets established\n",
		dials, cpu_share * 100, c, listed, sockets);
	cr_expect_gt(dials, 0, "the closed slots were not refilled");
	cr_expect_geq(listed, 2, "the 2 connections the farm keeps are not held");
	cr_expect_eq(c, (long long)listed,
		     "status counts %lld outbound connections, the daemon holds %u (%d sockets)", c,
		     listed, sockets);
	cr_expect_lt(cpu_share, 0.5, "the daemon used %.0f%% of a CPU redialing", cpu_share * 100);
}

/* ---- peers that answer with ICMP unreachable ----------------------------------------- */

Test(daemon_hostile, unreachable_peers_are_backed_off)
{
	const char *const mix[] = { "--live", "2", "--unreachable", "4", "--seed", "77", NULL };
	df_farm_start("unr", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	const char *const flags[] = { "--max-outbound", "6", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	df_daemon_start_ready(d, flags);
	int64_t t0 = df_now_ms();
	long long cpu0 = df_cpu_ticks(d->pid);
	df_sleep_ms(3000);
	long long dials = status_int(d, "engine", "dials");
	double secs = (double)(df_now_ms() - t0) / 1000.0;
	double cpu_share =
		(double)(df_cpu_ticks(d->pid) - cpu0) / (double)sysconf(_SC_CLK_TCK) / secs;
	/* What the book says about one of them. */
	size_t i;
	json_t *p;
	struct mukan_peer r = { 0 };
	bool have = false;
	json_array_foreach(df_farm_peers(), i, p) {
		if (strcmp(df_peer_category(p), "unreachable") != 0 || have)
			continue;
		uint8_t id[MUKAN_ID_LEN];
		df_peer_id(p, id);
		have = df_live_record(d->pin_dir, id, &r);
	}
	cr_assert(have, "no unreachable peer in the live book");
	fprintf(stderr,
		"daemon-it: unreachable: %lld dials in %.1f s to 2 live + 4 unreachable "
		"addresses, CPU %.0f%%; one record: dials %u failures %u last_error %d\n",
		dials, secs, cpu_share * 100, r.dials, r.failures, r.last_error);
	/* Backoff 2 s, 4 s, ...: each unreachable address a few times, not thousands. */
	cr_expect_lt(dials, 60, "%lld dials in %.1f s: the unreachable addresses are redialed "
				"without backoff", dials, secs);
	cr_expect_geq(r.failures, 1, "an unreachable peer has no failure recorded (dials %u)",
		      r.dials);
	cr_expect(r.last_error == EHOSTUNREACH || r.last_error == ENETUNREACH,
		  "last_error %d", r.last_error);
	cr_expect_lt(cpu_share, 0.5, "the daemon used %.0f%% of a CPU", cpu_share * 100);
}
