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
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
