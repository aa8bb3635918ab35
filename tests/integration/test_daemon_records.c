/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_daemon_records.c - a running mukan-dialerd and garbage in its pinned
 * book, written with bpftool as an operator (or a tool of another version)
 * would: a bad address family, bucket_type 9, bucket index 0xffff, failures
 * 0xfffffffe, a copied record, n_buckets 200. What must hold: the daemon
 * keeps running and dialing the other records; every bad record is either
 * put right (the book's placement written back) or quarantined, i.e. named
 * with its slot in the log and by `bpf status`, out of the kernel's index;
 * the next start works; `book show --live --json` never shows more than 4
 * buckets; `book repair --live` repairs what it can and --drop drops the
 * rest. On today's main the daemon dies with SIGSEGV in bucket_del and every
 * later start fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "book/book.h"
#include "daemon_fixture.h"
#include "kern/kern.h"

TestSuite(daemon_records, .init = df_setup, .fini = df_teardown, .timeout = 90);

#define FIND_MS 20000 /* the daemon checks 4096 slots a second: 32,768 in 8 s */

/* The slot of a node ID in the pinned book, and a copy of its record. */
static int live_slot(const char *pin_dir, const uint8_t id[MUKAN_ID_LEN], struct mukan_peer *out)
{
	struct kern *k = NULL;
	char err[512];
	cr_assert_eq(kern_open_pinned(&k, pin_dir, err, sizeof(err)), 0, "%s", err);
	int slot = -1;
	for (uint32_t i = 0; i < kern_capacity(k) && slot < 0; i++) {
		struct mukan_peer p = kern_slots(k)[i];
		if (p.in_use && memcmp(p.id, id, MUKAN_ID_LEN) == 0) {
			*out = p;
			slot = (int)i;
		}
	}
	kern_close(k);
	return slot;
}

static struct mukan_peer slot_copy(const char *pin_dir, uint32_t slot)
{
	struct kern *k = NULL;
	char err[512];
	cr_assert_eq(kern_open_pinned(&k, pin_dir, err, sizeof(err)), 0, "%s", err);
	cr_assert_lt(slot, kern_capacity(k));
	struct mukan_peer p = kern_slots(k)[slot];
	kern_close(k);
	return p;
}

static uint32_t capacity_of(const char *pin_dir)
{
	struct kern *k = NULL;
	char err[512];
	cr_assert_eq(kern_open_pinned(&k, pin_dir, err, sizeof(err)), 0, "%s", err);
	uint32_t c = kern_capacity(k);
	kern_close(k);
	return c;
}

static const char *bpftool_path(void)
{
	static const char *const dirs[] = { "/usr/sbin/bpftool", "/usr/bin/bpftool",
					    "/usr/local/sbin/bpftool" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (access(dirs[i], X_OK) == 0)
			return dirs[i];
	cr_assert_fail("bpftool is not installed (make deps installs it)");
	return NULL;
}

/* `bpftool map update pinned DIR/book key hex .. value hex ..`: one whole record. */
static void bpftool_write(const struct df_daemon *d, uint32_t slot, const struct mukan_peer *p)
{
	static char words[4 + sizeof(*p)][3];
	char *argv[16 + 4 + sizeof(*p)];
	char path[256], log[300];
	int n = 0;
	snprintf(path, sizeof(path), "%s/book", d->pin_dir);
	snprintf(log, sizeof(log), "%s/bpftool-%u.log", d->home, slot);
	argv[n++] = (char *)bpftool_path();
	argv[n++] = "map";
	argv[n++] = "update";
	argv[n++] = "pinned";
	argv[n++] = path;
	argv[n++] = "key";
	argv[n++] = "hex";
	const uint8_t *key = (const uint8_t *)&slot, *val = (const uint8_t *)p;
	for (int i = 0; i < 4; i++) {
		snprintf(words[i], 3, "%02x", key[i]);
		argv[n++] = words[i];
	}
	argv[n++] = "value";
	argv[n++] = "hex";
	for (size_t i = 0; i < sizeof(*p); i++) {
		snprintf(words[4 + i], 3, "%02x", val[i]);
		argv[n++] = words[4 + i];
	}
	argv[n] = NULL;
	int st = df_run(argv, log, 10000);
	char *out = df_read_file(log, NULL);
	cr_assert_eq(st, 0, "bpftool update of slot %u: exit %d: %s", slot, st, out ? out : "");
	free(out);
}

/* mukan-dialctl with the daemon's pin dir; its output (malloc'ed) and exit status. */
static char *dialctl(const struct df_daemon *d, int *status, const char *a1, const char *a2,
		     const char *a3, const char *a4)
{
	static unsigned runs;
	char bin[512], log[300];
	snprintf(bin, sizeof(bin), "%s/mukan-dialctl", getenv("MUKAN_BUILD"));
	snprintf(log, sizeof(log), "%s/dialctl-%u.log", d->home, runs++);
	char *argv[10] = { bin, (char *)a1, (char *)a2 };
	int n = 3;
	if (a3)
		argv[n++] = (char *)a3;
	if (a4)
		argv[n++] = (char *)a4;
	argv[n++] = "--pin-dir";
	argv[n++] = (char *)d->pin_dir;
	argv[n] = NULL;
	*status = df_run(argv, log, 20000);
	return df_read_file(log, NULL);
}

/* The slots `bpf status --json` lists as quarantined, with their problems. */
static json_t *quarantined(const struct df_daemon *d)
{
	int st;
	char *out = dialctl(d, &st, "bpf", "status", "--json", NULL);
	cr_assert_eq(st, 0, "bpf status: %s", out);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "bpf status --json: %s\n%s", je.text, out);
	free(out);
	json_t *q = json_incref(json_object_get(j, "quarantined"));
	json_decref(j);
	cr_assert(json_is_array(q));
	return q;
}

static const char *problem_of(json_t *q, uint32_t slot)
{
	size_t i;
	json_t *e;
	json_array_foreach(q, i, e) {
		if (json_integer_value(json_object_get(e, "slot")) == (json_int_t)slot)
			return json_string_value(json_object_get(e, "problem"));
	}
	return NULL;
}

/* Lines of the daemon's log naming this slot with this text. */
static unsigned log_count(const struct df_daemon *d, uint32_t slot, const char *what)
{
	char *log = df_daemon_log(d), needle[64];
	snprintf(needle, sizeof(needle), "slot %u", slot);
	unsigned found = 0;
	for (char *line = log; line && *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		char *at = strstr(line, needle);
		if (at && (at[strlen(needle)] == ':' || at[strlen(needle)] == ' ') && strstr(line, what))
			found++;
		line = end ? end + 1 : NULL;
	}
	free(log);
	return found;
}

static bool log_names(const struct df_daemon *d, uint32_t slot, const char *what)
{
	return log_count(d, slot, what) > 0;
}

/* Every entry of the kernel's address index names a slot in use that holds its key. */
static void assert_index_true(const struct df_daemon *d, const uint32_t *bad, size_t n_bad)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/book_idx", d->pin_dir);
	int fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	struct mukan_addr key, next;
	void *prev = NULL;
	unsigned entries = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0 && entries < 100000) {
		key = next;
		prev = &key;
		uint32_t slot;
		if (bpf_map_lookup_elem(fd, &key, &slot) != 0)
			continue;
		entries++;
		struct mukan_peer p = slot_copy(d->pin_dir, slot);
		cr_assert_eq(p.in_use, 1, "book_idx names slot %u, which is free", slot);
		cr_assert(memcmp(&p.addr, &key, sizeof(key)) == 0,
			  "book_idx names slot %u, which holds another address", slot);
		for (size_t i = 0; i < n_bad; i++)
			cr_assert_neq(slot, bad[i], "book_idx still names quarantined slot %u", slot);
	}
	close(fd);
	cr_assert_gt(entries, 0);
}

/* Dials the kernel recorded to the farm's live peers, summed. */
static long long live_dials(const struct df_daemon *d)
{
	long long sum = 0;
	size_t i;
	json_t *p;
	json_array_foreach(df_farm_peers(), i, p) {
		if (strcmp(df_peer_category(p), "live") != 0)
			continue;
		uint8_t id[MUKAN_ID_LEN];
		struct mukan_peer r;
		df_peer_id(p, id);
		if (live_slot(d->pin_dir, id, &r) >= 0)
			sum += r.dials;
	}
	return sum;
}

Test(daemon_records, garbage_by_bpftool_is_quarantined_or_put_right)
{
	/* The farm keeps 2 connections and closes the rest at once: the daemon
	 * redials its third slot all along, so the kernel keeps recording. */
	const char *const mix[] = { "--live", "4", "--closed", "10", "--max-conns", "2", "--seed",
				    "81", NULL };
	df_farm_start("rec", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	const char *const flags[] = { "--max-outbound", "3", "--dial-timeout", "300",
				      "--ensure-period", "1s", NULL };
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d, 2, 5000, &max_seen), "2 slots not filled in 5 s");

	/* Closed peers: the daemon dials them again and again, so the kernel and
	 * the daemon touch their records while the garbage is there. */
	uint8_t id[10][MUKAN_ID_LEN];
	uint32_t slot[10];
	struct mukan_peer rec[10];
	unsigned n = 0;
	size_t i;
	json_t *p;
	json_array_foreach(df_farm_peers(), i, p) {
		if (strcmp(df_peer_category(p), "closed") != 0 || n == 10)
			continue;
		df_peer_id(p, id[n]);
		int s = live_slot(d->pin_dir, id[n], &rec[n]);
		cr_assert_geq(s, 0, "%s is not in the live book", df_peer_str(p, "addr"));
		slot[n++] = (uint32_t)s;
	}
	cr_assert_eq(n, 10);

	/* While it runs. */
	struct mukan_peer g = rec[0];
	g.addr.family = 7;
	bpftool_write(d, slot[0], &g);
	g = rec[1];
	g.bucket_type = 9;
	bpftool_write(d, slot[1], &g);
	g = rec[2];
	g.buckets[0] = 0xffff;
	bpftool_write(d, slot[2], &g);
	g = rec[3];
	g.failures = 0xfffffffe;
	bpftool_write(d, slot[3], &g);
	g = rec[4]; /* the record: every field at once; main dies on its next failure */
	g.bucket_type = 9;
	g.buckets[0] = 0xffff;
	g.failures = 0xfffffffe;
	bpftool_write(d, slot[4], &g);
	uint32_t copy = capacity_of(d->pin_dir) - 1; /* a free slot: a copied record */
	g = rec[5];
	bpftool_write(d, copy, &g);

	/* Wait for one full pass of the daemon's check. */
	const uint32_t must_quarantine[] = { slot[0], slot[3], slot[4], copy };
	const char *const why[] = { "address family", "failures beyond", "failures beyond",
				    "node ID appears twice" };
	bool all = false;
	for (int64_t end = df_now_ms() + FIND_MS; !all && df_now_ms() < end; df_sleep_ms(250)) {
		cr_assert_eq(kill(d->pid, 0), 0, "the daemon died");
		all = true;
		for (size_t k = 0; k < 4; k++)
			all = all && log_names(d, must_quarantine[k], why[k]);
	}
	char *log = df_daemon_log(d);
	cr_assert(all, "not every bad record was named in %d ms:\n%s", FIND_MS, log);
	free(log);
	for (size_t k = 1; k <= 2; k++) {
		/* Placement scribbled on a record that is otherwise its own: put right. */
		struct mukan_peer now = slot_copy(d->pin_dir, slot[k]);
		cr_assert(now.bucket_type == 1 && now.buckets[0] < BOOK_NEW_BUCKETS,
			  "slot %u: bucket_type %u bucket %u", slot[k], now.bucket_type, now.buckets[0]);
	}
	json_t *q = quarantined(d);
	for (size_t k = 0; k < 4; k++)
		cr_assert_not_null(problem_of(q, must_quarantine[k]), "bpf status does not list slot %u",
				   must_quarantine[k]);
	size_t qi;
	json_t *qe;
	json_array_foreach(q, qi, qe) {
		uint32_t s = (uint32_t)json_integer_value(json_object_get(qe, "slot"));
		cr_assert(log_names(d, s, "quarantined"), "slot %u is listed but not in the log", s);
	}
	json_decref(q);
	assert_index_true(d, must_quarantine, 4);

	/* The rest works: the farm's two stay connected, the kernel still records dials. */
	cr_assert(df_wait_connected(d, 2, 5000, &max_seen));
	long long dials0 = live_dials(d);
	bool dialed = false;
	for (int64_t end = df_now_ms() + 10000; !dialed && df_now_ms() < end; df_sleep_ms(250))
		dialed = live_dials(d) > dials0;
	cr_assert(dialed, "the kernel recorded no dial to the live peers in 10 s");

	/* Stopped: garbage the daemon finds at its next start. */
	unsigned named0 = log_count(d, slot[0], "address family");
	df_daemon_signal(d, SIGTERM);
	cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
	g = slot_copy(d->pin_dir, slot[6]);
	g.bucket_type = 9;
	bpftool_write(d, slot[6], &g);
	g = slot_copy(d->pin_dir, slot[7]);
	g.n_buckets = 200;
	bpftool_write(d, slot[7], &g);
	df_daemon_start_ready(d, flags);
	cr_assert(df_wait_connected(d, 2, 5000, &max_seen), "the next start does not work");
	cr_assert(log_names(d, slot[6], "bucket_type must be"));
	cr_assert(log_names(d, slot[7], "more than 4 buckets"));
	cr_assert_gt(log_count(d, slot[0], "address family"), named0, "named again at the next start");

	/* show --live --json: never more than the 4 buckets a record has room for. */
	int st;
	char *out = dialctl(d, &st, "book", "show", "--live", "--json");
	cr_assert_eq(st, 0, "%s", out);
	json_error_t je;
	json_t *all_recs = json_loads(out, 0, &je);
	cr_assert_not_null(all_recs, "%s", je.text);
	free(out);
	bool saw7 = false;
	json_array_foreach(all_recs, i, p) {
		cr_assert_leq(json_array_size(json_object_get(p, "buckets")), 4);
		if (json_integer_value(json_object_get(p, "slot")) == slot[7]) {
			saw7 = true;
			cr_assert_str_eq(json_string_value(json_object_get(p, "quarantined")),
					 "more than 4 buckets");
		}
	}
	cr_assert(saw7, "the quarantined record is not shown");
	json_decref(all_recs);

	/* Repair what can be; the rest stays until dropped. */
	out = dialctl(d, &st, "book", "repair", "--live", NULL);
	cr_assert_eq(st, 1, "an unknown family cannot be repaired: %s", out);
	cr_assert(strstr(out, "cannot repair"), "%s", out);
	free(out);
	q = quarantined(d);
	cr_assert_eq(json_array_size(q), 2, "family and duplicate left");
	cr_assert_not_null(problem_of(q, slot[0]));
	cr_assert_not_null(problem_of(q, copy));
	json_decref(q);
	out = dialctl(d, &st, "book", "repair", "--live", "--drop");
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	q = quarantined(d);
	cr_assert_eq(json_array_size(q), 0);
	json_decref(q);
	struct mukan_peer fixed;
	cr_assert_eq(live_slot(d->pin_dir, id[3], &fixed), (int)slot[3]);
	cr_assert(fixed.failures >= 1000 && fixed.failures < 1100,
		  "an impossible count is cut to the largest fail_limit: %u", fixed.failures);
	cr_assert(df_wait_connected(d, 2, 5000, &max_seen), "the daemon after the repair");
	assert_index_true(d, NULL, 0);
	df_daemon_signal(d, SIGTERM);
	cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
}

/* ---- the multi-writer stress with a daemon ------------------------------------------ */

#define STRESS_ADDS 40	      /* `book add --live` per loop, two loops */
#define STRESS_IMPORT 100     /* records of the imported file */
#define STRESS_THREADS 2
#define STRESS_MAX_CONNECTS 100000 /* per thread, a bound; they stop when the writers do */

/* A child: run `mukan-dialctl ARGS...` once per i in [from, to), the address
 * made from i; exit status = the number of runs that failed. */
static _Noreturn void add_loop(const struct df_daemon *d, int from, int to)
{
	char bin[512];
	snprintf(bin, sizeof(bin), "%s/mukan-dialctl", getenv("MUKAN_BUILD"));
	int failed = 0;
	for (int i = from; i < to; i++) {
		char addr[128];
		snprintf(addr, sizeof(addr), "%040x@10.%d.0.1:26656", 0x5000 + i, 1 + i);
		char *argv[] = { bin, "book", "add", "--live", "--no-strict", "--pin-dir",
				 (char *)d->pin_dir, addr, NULL };
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			execv(bin, argv);
			_exit(127);
		}
		int st = -1;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	_exit(failed > 100 ? 100 : failed);
}

struct stress_dialer {
	struct sockaddr_in to[8];
	unsigned n_to;
	volatile int *stop; /* shared with the parent (MAP_SHARED) */
	unsigned refused[8], other;
	pthread_mutex_t lock;
};

static void *stress_thread(void *arg)
{
	struct stress_dialer *x = arg;
	unsigned refused[8] = { 0 }, other = 0;
	for (unsigned i = 0; i < STRESS_MAX_CONNECTS && !*x->stop; i++) {
		unsigned t = i % x->n_to;
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0) {
			other++;
			continue;
		}
		if (connect(s, (struct sockaddr *)&x->to[t], sizeof(x->to[t])) < 0 &&
		    errno == ECONNREFUSED)
			refused[t]++;
		else
			other++;
		close(s);
	}
	pthread_mutex_lock(&x->lock);
	for (unsigned t = 0; t < x->n_to; t++)
		x->refused[t] += refused[t];
	x->other += other;
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

/* Counts the dialer child reports. */
struct stress_totals {
	unsigned refused[8], other;
	int err;
};

/* A child in the farm's namespace and the daemon's cgroup: threads of
 * refused connects until *stop; the totals go to wfd. */
static void dial_child(int wfd, const struct df_daemon *d, struct stress_dialer *x)
{
	alarm(60);
	struct stress_totals r = { 0 };
	char procs[400], pid[32];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", d->cgroup);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	int ns = open(df.farm.ns_path, O_RDONLY | O_CLOEXEC);
	int cg = open(procs, O_WRONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0 || cg < 0 ||
	    write(cg, pid, strlen(pid)) != (ssize_t)strlen(pid))
		r.err = errno ? errno : EIO;
	pthread_mutex_init(&x->lock, NULL);
	pthread_t th[STRESS_THREADS];
	unsigned started = 0;
	for (unsigned i = 0; r.err == 0 && i < STRESS_THREADS; i++)
		if (pthread_create(&th[i], NULL, stress_thread, x) == 0)
			started++;
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	memcpy(r.refused, x->refused, sizeof(r.refused));
	r.other = x->other;
	if (write(wfd, &r, sizeof(r)) < 0)
		_exit(2);
	_exit(0);
}

static pid_t spawn_child(void (*fn)(const struct df_daemon *, int, int), const struct df_daemon *d,
			 int a, int b)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		fn(d, a, b);
	return pid;
}

static int wait_child(pid_t pid, int timeout_ms)
{
	for (int64_t end = df_now_ms() + timeout_ms; df_now_ms() < end; df_sleep_ms(20)) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* An addrbook.json of STRESS_IMPORT records, each in its own /16. */
static void write_import_file(const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"key\": \"0123456789abcdef01234567\", \"addrs\": [");
	for (int i = 0; i < STRESS_IMPORT; i++)
		fprintf(f,
			"%s{\"addr\": {\"id\": \"%040x\", \"ip\": \"10.%d.0.2\", \"port\": 26656}, "
			"\"src\": {\"id\": \"\", \"ip\": \"10.%d.0.2\", \"port\": 26656}, "
			"\"buckets\": [], \"attempts\": 0, \"bucket_type\": 1, "
			"\"last_attempt\": \"2026-01-01T00:00:00Z\", "
			"\"last_success\": \"0001-01-01T00:00:00Z\", "
			"\"last_ban_time\": \"0001-01-01T00:00:00Z\"}",
			i ? "," : "", 0x7000 + i, 100 + i, 100 + i);
	fprintf(f, "]}\n");
	cr_assert_eq(fclose(f), 0);
}

static _Noreturn void import_loop(const struct df_daemon *d, int times, int unused)
{
	(void)unused;
	char bin[512], path[300];
	snprintf(bin, sizeof(bin), "%s/mukan-dialctl", getenv("MUKAN_BUILD"));
	snprintf(path, sizeof(path), "%s/import.json", d->home);
	int failed = 0;
	for (int i = 0; i < times; i++) {
		char *argv[] = { bin, "book", "import", "--live", "--no-strict", "--pin-dir",
				 (char *)d->pin_dir, path, NULL };
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			execv(bin, argv);
			_exit(127);
		}
		int st = -1;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	_exit(failed);
}

/*
 * Everyone who writes records at once: the kernel (refused connects from two
 * threads in the daemon's cgroup, gate off so none is refused by the gate),
 * the daemon (max-outbound 0: it dials nobody, but applies every live edit,
 * re-reads, checks its slots), two `book add --live` loops and repeated
 * `book import --live`, all through the pin-dir lock. Afterwards every
 * book_idx entry names a slot holding its key, every added and imported
 * record is there exactly once, nothing was quarantined, and each target's
 * dials, failures and attempts equal the refused connects to it.
 */
Test(daemon_records, kernel_daemon_and_live_writers_at_once)
{
	const char *const mix[] = { "--live", "1", "--closed", "4", "--seed", "83", NULL };
	df_farm_start("mw", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	const char *const flags[] = { "--max-outbound", "0", NULL };
	df_daemon_start_ready(d, flags);
	char path[300];
	snprintf(path, sizeof(path), "%s/import.json", d->home);
	write_import_file(path);

	/* The gate off: every connect must reach the peer and be counted. */
	struct kern *k;
	char err[512];
	cr_assert_eq(kern_open_pinned(&k, d->pin_dir, err, sizeof(err)), 0, "%s", err);
	struct mukan_config c;
	cr_assert_eq(kern_config_read(k, &c), 0);
	c.flags = 0;
	cr_assert_eq(kern_config_write(k, &c, err, sizeof(err)), 0, "%s", err);
	kern_close(k);

	static struct stress_dialer *x;
	x = mmap(NULL, sizeof(*x) + sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	cr_assert_neq(x, MAP_FAILED);
	memset(x, 0, sizeof(*x));
	x->stop = (volatile int *)(x + 1);
	uint8_t tid[4][MUKAN_ID_LEN];
	size_t i;
	json_t *p;
	json_array_foreach(df_farm_peers(), i, p) {
		if (strcmp(df_peer_category(p), "closed") != 0 || x->n_to == 4)
			continue;
		df_peer_id(p, tid[x->n_to]);
		const char *a = df_peer_str(p, "addr"); /* id@ip:port */
		char ip[64];
		int port;
		cr_assert_eq(sscanf(strchr(a, '@') + 1, "%63[^:]:%d", ip, &port), 2, "%s", a);
		x->to[x->n_to].sin_family = AF_INET;
		x->to[x->n_to].sin_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET, ip, &x->to[x->n_to].sin_addr), 1);
		x->n_to++;
	}
	cr_assert_eq(x->n_to, 4);

	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t dialer = fork();
	cr_assert_geq(dialer, 0);
	if (dialer == 0) {
		close(pfd[0]);
		dial_child(pfd[1], d, x);
	}
	close(pfd[1]);
	pid_t w1 = spawn_child(add_loop, d, 0, STRESS_ADDS);
	pid_t w2 = spawn_child(add_loop, d, STRESS_ADDS, 2 * STRESS_ADDS);
	pid_t w3 = spawn_child(import_loop, d, 3, 0);
	int s1 = wait_child(w1, 60000), s2 = wait_child(w2, 60000), s3 = wait_child(w3, 60000);
	*x->stop = 1;
	struct stress_totals r;
	struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
	cr_assert_gt(poll(&pf, 1, 20000), 0, "the dialer never reported");
	cr_assert_eq(read(pfd[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	close(pfd[0]);
	wait_child(dialer, 5000);
	cr_assert_eq(r.err, 0, "dialer: %s", strerror(r.err));
	cr_assert(s1 == 0 && s2 == 0, "add loops: status %d, %d (failed adds)", s1, s2);
	cr_assert_eq(s3, 0, "import loop: status %d", s3);
	cr_assert_eq(kill(d->pid, 0), 0, "the daemon died");
	df_sleep_ms(1500); /* a housekeeping tick: the daemon's own check ran over the slots */

	/* Every record there once; the index true; the counts exact. */
	cr_assert_eq(kern_open_pinned(&k, d->pin_dir, err, sizeof(err)), 0, "%s", err);
	const struct mukan_peer *slots = kern_slots(k);
	unsigned seen_add[2 * STRESS_ADDS] = { 0 }, seen_imp[STRESS_IMPORT] = { 0 };
	unsigned in_use = 0;
	for (uint32_t s = 0; s < kern_capacity(k); s++) {
		struct mukan_peer q = slots[s];
		if (!q.in_use)
			continue;
		in_use++;
		uint32_t n = (uint32_t)q.id[16] << 24 | (uint32_t)q.id[17] << 16 |
			     (uint32_t)q.id[18] << 8 | q.id[19];
		if (n >= 0x5000 && n < 0x5000 + 2 * STRESS_ADDS)
			seen_add[n - 0x5000]++;
		if (n >= 0x7000 && n < 0x7000 + STRESS_IMPORT)
			seen_imp[n - 0x7000]++;
	}
	for (unsigned n = 0; n < 2 * STRESS_ADDS; n++)
		cr_assert_eq(seen_add[n], 1, "added record %u is there %u times", n, seen_add[n]);
	for (unsigned n = 0; n < STRESS_IMPORT; n++)
		cr_assert_eq(seen_imp[n], 1, "imported record %u is there %u times", n, seen_imp[n]);
	unsigned total = 0;
	for (unsigned t = 0; t < 4; t++) {
		struct mukan_peer q;
		int s = live_slot(d->pin_dir, tid[t], &q);
		cr_assert_geq(s, 0);
		total += r.refused[t];
		cr_assert_eq(q.dials, r.refused[t], "target %u: dials %u, refused connects %u", t,
			     q.dials, r.refused[t]);
		cr_assert_eq(q.failures, r.refused[t], "target %u: failures %u of %u", t, q.failures,
			     r.refused[t]);
		cr_assert_eq(q.attempts, (int32_t)r.refused[t], "target %u: attempts %d of %u", t,
			     q.attempts, r.refused[t]);
	}
	kern_close(k);
	cr_assert_eq(r.other, 0, "every connect was refused");
	cr_assert_gt(total, 1000, "the kernel side hardly overlapped (%u connects)", total);
	assert_index_true(d, NULL, 0);
	char *log = df_daemon_log(d);
	cr_assert_null(strstr(log, "quarantined"), "nothing was bad, nothing quarantined:\n%s", log);
	free(log);
	fprintf(stderr, "daemon-it: writers: %u kernel connects, %u live adds, %d imports of %d, "
		"%u records in the map\n", total, 2 * STRESS_ADDS, 3, STRESS_IMPORT, in_use);
	munmap(x, sizeof(*x) + sizeof(int));
	df_daemon_signal(d, SIGTERM);
	cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0);
}
