/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_daemon_limits.c - mukan-dialerd against the host's limits and its
 * own settings: a file descriptor limit below what the settings need (the
 * soft limit is raised, or the daemon refuses at start; with a tight hard
 * limit it still saves on SIGTERM while dials and idle clients hold every
 * descriptor they can), a --cgroup that does not exist (created, joined,
 * removed on stop), and a flag against the settings file on SIGHUP.
 * Plumbing: daemon_fixture.h. Needs root (skipped otherwise, one line).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "book/book.h"
#include "book/book_file.h"
#include "daemon_fixture.h"
#include "kern/kern.h"

static char made_cgroup[400]; /* a cgroup a test asked the daemon to create */

static void teardown(void)
{
	df_teardown(); /* the daemons are gone: nothing is left in it */
	if (made_cgroup[0]) {
		rmdir(made_cgroup);
		char *slash = strrchr(made_cgroup, '/');
		if (slash) { /* and its parent, when the test made two levels */
			*slash = '\0';
			if (strstr(made_cgroup, "/mukan-it-"))
				rmdir(made_cgroup);
		}
	}
}

TestSuite(daemon_limits, .init = df_setup, .fini = teardown, .timeout = 90);

#define RUN_BOUND_MS 8000

/* "Max open files" of a process: soft limit, or -1. */
static long long soft_nofile(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	char *s = df_read_file(path, NULL);
	if (!s)
		return -1;
	long long v = -1;
	char *p = strstr(s, "Max open files");
	if (p)
		sscanf(p + strlen("Max open files"), "%lld", &v);
	free(s);
	return v;
}

/* The farm's namespace sends every public address to lo, where SYNs die: dials stay in flight. */
static void public_addresses_hang(void)
{
	char net[128], log[300];
	snprintf(net, sizeof(net), "--net=%s", df.farm.ns_path);
	snprintf(log, sizeof(log), "%s/route.log", df.work);
	char *const argv[] = { "/usr/bin/nsenter", net, "--", "/usr/sbin/ip", "route", "add",
			       "default", "dev", "lo", NULL };
	cr_assert_eq(df_run(argv, log, 5000), 0, "ip route add default dev lo (see %s)", log);
}

static void bookgen(const struct df_daemon *d, const char *n)
{
	char bin[512], log[300];
	snprintf(bin, sizeof(bin), "%s/mukan-bookgen", getenv("MUKAN_BUILD"));
	snprintf(log, sizeof(log), "%s/bookgen.log", df.work);
	char *const argv[] = { bin, "-n", (char *)n, "--seed", "7", (char *)d->book, NULL };
	cr_assert_eq(df_run(argv, log, 30000), 0, "mukan-bookgen failed (see %s)", log);
}

/* ---- RLIMIT_NOFILE ------------------------------------------------------------------------ */

Test(daemon_limits, a_low_soft_limit_is_raised_to_what_the_settings_need)
{
	const char *const mix[] = { "--live", "2", "--seed", "91", NULL };
	df_farm_start("nofile", mix);
	public_addresses_hang();
	struct df_daemon *d = df_daemon_new();
	bookgen(d, "20000");
	/* Tried: --max-inflight 4096 under `ulimit -Sn 1024` (the hard limit allows more). */
	const char *const flags[] = { "--no-bpf", "--max-inflight", "4096", "--max-outbound", "256",
				      "--overdial", "16", "--dial-timeout", "10000", NULL };
	struct rlimit own;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &own), 0);
	if (own.rlim_max != RLIM_INFINITY && own.rlim_max < 8192)
		cr_skip_test("the hard RLIMIT_NOFILE here is %lu: 4096 dials cannot fit under it",
			     (unsigned long)own.rlim_max);
	d->nofile_soft = 1024;
	d->nofile_hard = own.rlim_max;
	df_daemon_start_ready(d, flags);
	long long soft = soft_nofile(d->pid);
	long long dialing = 0;
	int max_fds = 0;
	for (int64_t end = df_now_ms() + 8000; df_now_ms() < end && dialing < 4000;
	     df_sleep_ms(100)) {
		json_t *st = df_status(d);
		dialing = df_json_int(st, "dialing");
		json_decref(st);
		int f = df_fd_count(d->pid, NULL);
		max_fds = f > max_fds ? f : max_fds;
	}
	fprintf(stderr, "daemon-it: limits: soft limit 1024 -> %lld; %lld dials in flight, %d "
			"descriptors\n", soft, dialing, max_fds);
	cr_expect_gt(soft, 4096 + 64, "the soft limit stayed at %lld for 4096 dials", soft);
	cr_expect_geq(dialing, 4000, "only %lld of 4096 dials in flight", dialing);
	char *log = df_daemon_log(d);
	cr_expect(!strstr(log, "Too many open files"), "the daemon ran out of descriptors:\n%s", log);
	free(log);
	df_daemon_signal(d, SIGTERM);
	cr_expect_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
}

Test(daemon_limits, a_hard_limit_below_the_settings_is_refused_at_start)
{
	struct df_daemon *d = df_daemon_new();
	/* Tried: --max-inflight 4096 under `ulimit -n 1024` (soft and hard). */
	const char *const flags[] = { "--max-inflight", "4096", NULL };
	d->nofile_soft = d->nofile_hard = 1024;
	df_daemon_start(d, flags);
	int st = df_daemon_wait(d, RUN_BOUND_MS);
	char *log = df_daemon_log(d);
	fprintf(stderr, "daemon-it: limits: refusal (exit %d): %s", st, log);
	cr_expect(st > 0 && st < 128, "exit status %d, want a refusal; output:\n%s", st, log);
	cr_expect_eq(df_count_lines(log), 1, "want one line:\n%s", log);
	cr_expect(strstr(log, "hard limit is 1024") && strstr(log, "--max-inflight"),
		  "the line does not name the limit and the fix:\n%s", log);
	cr_expect(!df_exists(d->pin_dir), "a daemon that refused to start left pins in %s",
		  d->pin_dir);
	cr_expect(!df_exists(d->control), "%s left behind", d->control);
	free(log);
}

#define TIGHT_INFLIGHT "256"
#define IDLE 600

Test(daemon_limits, a_tight_hard_limit_still_saves_on_sigterm)
{
	const char *const mix[] = { "--live", "2", "--seed", "93", NULL };
	df_farm_start("tight", mix);
	public_addresses_hang();
	struct df_daemon *d = df_daemon_new();
	bookgen(d, "5000");
	/*
	 * Tried: a hard limit of 420, just what 256 dials need, with every dial
	 * in flight, 600 idle control connections and `status` calls; then SIGTERM.
	 */
	const char *const flags[] = { "--no-bpf", "--max-inflight", TIGHT_INFLIGHT,
				      "--max-outbound", "16", "--overdial", "16", "--dial-timeout",
				      "10000", NULL };
	d->nofile_soft = d->nofile_hard = 420;
	df_daemon_start_ready(d, flags);
	long long dialing = 0;
	for (int64_t end = df_now_ms() + 5000; df_now_ms() < end && dialing < 200; df_sleep_ms(100)) {
		json_t *st = df_status(d);
		dialing = df_json_int(st, "dialing");
		json_decref(st);
	}
	cr_expect_geq(dialing, 200, "only %lld dials in flight", dialing);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, d->control, strlen(d->control) + 1);
	/* One at a time, so that a daemon accepting one per wake-up takes each. */
	static int s[IDLE];
	int n = 0;
	for (int64_t end = df_now_ms() + 10000; n < IDLE && df_now_ms() < end; df_sleep_ms(1)) {
		s[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		cr_assert_geq(s[n], 0);
		if (connect(s[n], (struct sockaddr *)&sa, sizeof(sa)) == 0)
			n++;
		else
			close(s[n]);
	}
	df_sleep_ms(200);
	json_t *st = df_ask(d, "status");
	cr_expect(st, "status did not answer next to %d idle connections", n);
	json_decref(st);
	int fds = df_fd_count(d->pid, NULL);
	remove(d->book); /* what is there after the stop was written by it */
	df_daemon_signal(d, SIGTERM);
	int code = df_daemon_wait(d, DF_EXIT_TIMEOUT_MS);
	for (int i = 0; i < n; i++)
		close(s[i]);
	char *log = df_daemon_log(d);
	fprintf(stderr, "daemon-it: limits: hard limit 420: %lld dials, %d idle clients, %d "
			"descriptors; SIGTERM exit %d\n", dialing, n, fds, code);
	cr_expect_eq(code, 0, "SIGTERM did not end in a save; log:\n%s", log);
	cr_expect(strstr(log, "book saved"), "no save in the log:\n%s", log);
	cr_expect(!strstr(log, "Too many open files"), "out of descriptors:\n%s", log);
	free(log);
	struct book_opts bo = { .strict = false, .seed = 1 };
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	struct book *b = NULL;
	char err[512];
	cr_expect_eq(book_load(d->book, &bo, &fo, &b, err, sizeof(err)), 0, "the saved book: %s",
		     err);
	cr_expect_gt(b ? book_size(b) : 0, 4000, "the saved book lost addresses");
	book_free(b);
}

/* ---- a --cgroup that does not exist --------------------------------------------------------- */

/* Is pid in the cgroup at path (cgroup.procs)? */
static bool in_cgroup(const char *path, pid_t pid)
{
	char procs[512];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	char *s = df_read_file(procs, NULL);
	if (!s)
		return false;
	bool found = false;
	for (char *line = strtok(s, "\n"); line && !found; line = strtok(NULL, "\n"))
		found = atoi(line) == pid;
	free(s);
	return found;
}

Test(daemon_limits, a_missing_cgroup_is_created_and_removed_on_stop)
{
	struct df_daemon *d = df_daemon_new();
	/* Tried: two levels that do not exist, below the fixture's own cgroup. */
	snprintf(made_cgroup, sizeof(made_cgroup), "%s/new/inner", d->cgroup);
	cr_assert(!df_exists(made_cgroup));
	const char *const flags[] = { "--cgroup", made_cgroup, NULL };
	df_daemon_start_ready(d, flags);
	cr_expect(df_exists(made_cgroup), "%s was not created", made_cgroup);
	cr_expect(in_cgroup(made_cgroup, d->pid), "the daemon did not join %s", made_cgroup);
	df_daemon_signal(d, SIGTERM);
	cr_expect_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
	char parent[400];
	snprintf(parent, sizeof(parent), "%s/new", d->cgroup);
	cr_expect(!df_exists(made_cgroup) && !df_exists(parent),
		  "the cgroups the daemon made are still there after a clean stop");
	cr_expect(df_exists(d->cgroup), "the daemon removed a cgroup it did not make");

	/* A name relative to the cgroup v2 mount (on a hybrid host, /sys/fs/cgroup/unified). */
	struct df_daemon *d2 = df_daemon_new();
	const char *rel = d2->cgroup + strlen(df.cg_root) + 1;
	char relnew[300];
	snprintf(relnew, sizeof(relnew), "%s/rel", rel);
	snprintf(made_cgroup, sizeof(made_cgroup), "%s/rel", d2->cgroup);
	const char *const flags2[] = { "--cgroup", relnew, NULL };
	df_daemon_start_ready(d2, flags2);
	cr_expect(in_cgroup(made_cgroup, d2->pid), "'--cgroup %s' is not %s", relnew, made_cgroup);
	df_daemon_signal(d2, SIGTERM);
	cr_expect_eq(df_daemon_wait(d2, DF_EXIT_TIMEOUT_MS), 0);
	cr_expect(!df_exists(made_cgroup), "%s left after a clean stop", made_cgroup);
	made_cgroup[0] = '\0';

	/* Outside the v2 hierarchy: refused with one line naming where v2 is. */
	struct df_daemon *d3 = df_daemon_new();
	char outside[300];
	snprintf(outside, sizeof(outside), "%s/not-a-cgroup", d3->home);
	const char *const flags3[] = { "--cgroup", outside, NULL };
	int st = df_daemon_run(d3, flags3, RUN_BOUND_MS);
	char *log = df_daemon_log(d3);
	cr_expect(st > 0 && st < 128 && df_count_lines(log) == 1 && strstr(log, df.cg_root),
		  "exit %d; want one line naming %s:\n%s", st, df.cg_root, log);
	cr_expect(!df_exists(outside), "a directory was made outside the cgroup hierarchy");
	free(log);
}

/* ---- SIGHUP and the command line ------------------------------------------------------------ */

Test(daemon_limits, sighup_keeps_what_the_command_line_set)
{
	const char *const mix[] = { "--live", "10", "--seed", "95", NULL };
	df_farm_start("hupflag", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	df_write_file(d->conf, "[dialer]\nmax_outbound = 7\n");
	/* Tried: --max-outbound 3 with a settings file saying 7; then SIGHUP twice. */
	const char *const flags[] = { "--max-outbound", "3", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d, 3, 5000, &max_seen), "3 slots not filled");
	for (int i = 0; i < 2; i++) {
		df_daemon_signal(d, SIGHUP);
		df_sleep_ms(500);
		json_t *st = df_status(d);
		long long max = df_json_int(st, "max_outbound");
		json_decref(st);
		cr_expect_eq(max, 3, "after SIGHUP the file's max_outbound (7) beat --max-outbound 3");
	}
	cr_expect(!df_wait_connected(d, 7, 1500, &max_seen) && max_seen <= 3,
		  "%lld connected with --max-outbound 3", max_seen);
	char *log = df_daemon_log(d);
	cr_expect(strstr(log, "SIGHUP: settings reloaded (max_outbound 3)"), "log:\n%s", log);
	free(log);
}
