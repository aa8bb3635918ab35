/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pins.c - mukan-dialerd and a pinned map that outlives it: which book
 * it starts with (the map's, the file's, both joined, or a refusal), what it
 * saves, the limits of save and load, one daemon per pin dir and per home,
 * one writer of records at a time, and kill -9 at random moments.
 *
 * Books are written by the tests (127.x.y.z addresses, a different /16 per
 * record so no bucket overflows); each daemon runs in a peer farm's network
 * namespace, so whatever it dials stays there. Checked from outside: exit
 * status, log lines, the book files, the pinned map.
 * Plumbing: daemon_fixture.h. Needs root (skipped otherwise, one line).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "book/book.h"
#include "book/book_file.h"
#include "book/netaddr.h"
#include "daemon_fixture.h"
#include "kern/kern.h"

TestSuite(pins, .init = df_setup, .fini = df_teardown, .timeout = 60);

#define RUN_BOUND_MS 8000 /* a daemon that must refuse to start */
#define ID_HEX (2 * MUKAN_ID_LEN + 1)
#define BAN_NS (30LL * 86400 * 1000000000LL)

/* ---- books written for the tests ------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Record i of a book: 127.(i%256).(i/256%256).(base + i/65536), an ID from seed and i. */
static void test_addr(uint64_t seed, uint8_t base, uint32_t i, struct netaddr *na)
{
	memset(na, 0, sizeof(*na));
	na->has_id = true;
	for (int k = 0; k < MUKAN_ID_LEN; k += 8) {
		uint64_t r = mix64(seed * 1000003ULL + i * 8ULL + (uint64_t)k);
		memcpy(na->id + k, &r, MUKAN_ID_LEN - k < 8 ? (size_t)(MUKAN_ID_LEN - k) : 8);
	}
	na->a.family = MUKAN_AF_INET;
	na->a.ip[0] = 127;
	na->a.ip[1] = (uint8_t)(i % 256);
	na->a.ip[2] = (uint8_t)(i / 256 % 256);
	na->a.ip[3] = (uint8_t)(base + i / 65536);
	na->a.port = DF_PORT;
}

/*
 * A book of n_live bucketed and n_banned banned records, keys from seed,
 * saved to path as generation gen. The records it holds.
 */
static uint32_t write_book(const char *path, uint32_t n_live, uint32_t n_banned, uint64_t seed,
			   uint8_t base, uint64_t gen)
{
	uint32_t n = n_live + n_banned;
	struct book_opts bo = { .strict = false, .capacity = n < 64 ? 64 : n, .seed = seed,
				.keys_from_seed = true };
	struct book *b;
	cr_assert_eq(book_new(&b, &bo), 0);
	int64_t now = kern_now();
	for (uint32_t i = 0; i < n; i++) {
		struct netaddr na;
		test_addr(seed, base, i, &na);
		if (i < n_live) {
			cr_assert_eq(book_add(b, &na, &na, now), 1, "record %u not added", i);
			continue;
		}
		struct mukan_peer p = { .addr = na.a, .src = na.a, .in_use = 1,
					.bucket_type = MUKAN_BUCKET_NEW, .flags = MUKAN_PEER_BANNED,
					.last_attempt = now, .last_success = MUKAN_TIME_NEVER,
					.ban_until = now + BAN_NS, .next_dial = MUKAN_TIME_NEVER,
					.last_dial = MUKAN_TIME_NEVER,
					.last_connected = MUKAN_TIME_NEVER };
		memcpy(p.id, na.id, MUKAN_ID_LEN);
		memcpy(p.src_id, na.id, MUKAN_ID_LEN);
		char why[128];
		cr_assert_geq(book_insert_record(b, &p, why, sizeof(why)), 0, "banned %u: %s", i, why);
	}
	book_set_file_generation(b, gen);
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	char err[512];
	cr_assert_eq(book_save(b, path, &fo, err, sizeof(err)), 0, "%s", err);
	uint32_t held = book_file_count(b);
	book_free(b);
	return held;
}

struct file_facts {
	bool ok;
	char key[BOOK_KEY_MAX + 1];
	uint32_t count;
	uint64_t gen;
};

/* What a book file holds, parsed from its JSON (never the cache). */
static struct file_facts read_book(const char *path)
{
	struct file_facts f = { 0 };
	struct book_opts bo = { .strict = false, .seed = 1 };
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset(), .grow = true,
				     .no_cache = true };
	struct book *b;
	char err[512];
	if (book_load(path, &bo, &fo, &b, err, sizeof(err)) < 0)
		return f;
	f.ok = true;
	snprintf(f.key, sizeof(f.key), "%s", book_key(b));
	f.count = book_file_count(b);
	f.gen = book_file_generation(b);
	book_free(b);
	return f;
}

/* ---- the pinned map from outside ------------------------------------------------- */

static uint32_t map_used(const char *pin_dir)
{
	struct kern *k;
	char err[512];
	cr_assert_eq(kern_open_pinned(&k, pin_dir, err, sizeof(err)), 0, "%s", err);
	uint32_t n = kern_used(k);
	kern_close(k);
	return n;
}

/*
 * Every book_idx entry names a slot in use that holds its address, and every
 * record in use is in the index: asserted. The number of entries.
 */
static uint32_t check_index(const char *pin_dir)
{
	struct kern *k;
	char err[512], path[256];
	cr_assert_eq(kern_open_pinned(&k, pin_dir, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/book_idx", pin_dir);
	int fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	const struct mukan_peer *slots = kern_slots(k);
	struct mukan_addr key, *prev = NULL;
	uint32_t entries = 0;
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		uint32_t slot;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &slot), 0);
		cr_assert_lt(slot, kern_capacity(k), "an index entry names slot %u", slot);
		cr_expect(slots[slot].in_use && mukan_addr_equal(&slots[slot].addr, &key),
			  "index entry for 127.%u.%u.%u names slot %u, which %s", key.ip[1], key.ip[2],
			  key.ip[3], slot, slots[slot].in_use ? "holds another address" : "is free");
		entries++;
		prev = &key;
	}
	close(fd);
	uint32_t used = kern_used(k);
	kern_close(k);
	cr_expect_eq(entries, used, "%u index entries for %u records", entries, used);
	return entries;
}

/* ---- daemons --------------------------------------------------------------------- */

static void fresh_log(struct df_daemon *d)
{
	int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
}

static void stop_ok(struct df_daemon *d)
{
	df_daemon_signal(d, SIGTERM);
	int st = df_daemon_wait(d, 20000);
	char *log = df_daemon_log(d);
	cr_assert_eq(st, 0, "daemon %d exit status %d after SIGTERM; its log:\n%s", d->n, st, log);
	free(log);
}

static long long book_status(struct df_daemon *d, const char *key)
{
	json_t *st = df_status(d);
	long long v = df_json_int(json_object_get(st, "book"), key);
	json_decref(st);
	return v;
}

/* The daemon refused to start: exit 1 and one line holding every needle. */
static void expect_refusal(struct df_daemon *d, int st, const char *const needles[])
{
	char *log = df_daemon_log(d);
	cr_expect_eq(st, 1, "exit status %d, want 1; output:\n%s", st, log);
	cr_expect_eq(df_count_lines(log), 1, "want one line, got:\n%s", log);
	for (int i = 0; needles[i]; i++)
		cr_expect(strstr(log, needles[i]), "the line does not name '%s':\n%s", needles[i], log);
	fprintf(stderr, "pins-it: refusal: %s", log);
	free(log);
}

static void book_path_in_home(const struct df_daemon *d, const char *name, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", d->home, name);
}

static void farm_namespace(const char *tag)
{
	const char *const mix[] = { "--closed", "2", "--seed", "5", NULL };
	df_farm_start(tag, mix);
}

/* ---- item 1: another book, an empty map, a killed import, the same book ----------- */

Test(pins, another_book_is_refused_in_one_line_and_reimport_keeps_the_maps_records)
{
	farm_namespace("other");
	struct df_daemon *d = df_daemon_new();
	char book_b[256];
	book_path_in_home(d, "B.json", book_b, sizeof(book_b));
	uint32_t n_b = write_book(book_b, 1, 0, 11, 1, 0);
	uint32_t n_a = write_book(d->book, 200, 0, 22, 2, 0);
	struct file_facts a0 = read_book(d->book), b0 = read_book(book_b);
	cr_assert(n_b == 1 && n_a == 200 && a0.ok && b0.ok);

	/* An earlier run left a 1-address map of book B. */
	const char *const with_b[] = { "--book", book_b, NULL };
	df_daemon_start_ready(d, with_b);
	stop_ok(d);
	size_t len_before;
	char *a_before = df_read_file(d->book, &len_before);

	/* --book A: refused, in one line that names both books and both ways out. */
	fresh_log(d);
	int st = df_daemon_run(d, NULL, RUN_BOUND_MS);
	const char *const needles[] = { d->pin_dir, "another book", book_b, d->book, b0.key,
					a0.key, "--reimport", "bpf detach --purge", NULL };
	expect_refusal(d, st, needles);
	size_t len_after;
	char *a_after = df_read_file(d->book, &len_after);
	cr_expect(a_after && len_after == len_before && memcmp(a_before, a_after, len_after) == 0,
		  "%s changed although the daemon refused", d->book);
	free(a_before);
	free(a_after);
	cr_expect_eq(map_used(d->pin_dir), 1, "the map changed although the daemon refused");

	/* --reimport: the map's record saved beside A first, then A's 200 in the map. */
	fresh_log(d);
	const char *const reimport[] = { "--reimport", NULL };
	df_daemon_start_ready(d, reimport);
	cr_expect_eq(book_status(d, "size"), 200);
	stop_ok(d);
	char *log = df_daemon_log(d);
	const char *saved = strstr(log, "saved to ");
	cr_assert(saved, "no line names where the map's records went:\n%s", log);
	char aside[300];
	snprintf(aside, sizeof(aside), "%.*s", (int)strcspn(saved + 9, ";\n"), saved + 9);
	cr_expect(strstr(aside, ".map-"), "the copy is not beside the file: %s", aside);
	struct file_facts kept = read_book(aside);
	cr_expect(kept.ok && kept.count == 1 && strcmp(kept.key, b0.key) == 0,
		  "%s: ok %d, %u records, key %s; want book B's 1 record", aside, kept.ok,
		  kept.count, kept.key);
	struct file_facts a1 = read_book(d->book);
	cr_expect(a1.ok && a1.count == 200 && strcmp(a1.key, a0.key) == 0,
		  "A after the reimport: %u records, key %s", a1.count, a1.key);
	fprintf(stderr, "pins-it: reimport: %s", strstr(log, "--reimport") ?: log);
	free(log);
}

static void empty_map_takes_the_file(const char *tag, const char *capacity)
{
	farm_namespace(tag);
	struct df_daemon *d = df_daemon_new();
	uint32_t n = write_book(d->book, 200, 0, 33, 3, 0);
	char cli[512], out[300];
	df_tool_path("mukan-dialctl", cli, sizeof(cli));
	snprintf(out, sizeof(out), "%s/attach.log", d->home);
	char *argv[] = { cli, "bpf", "attach", "--pin-dir", d->pin_dir, "--cgroup", d->cgroup,
			 capacity ? "--capacity" : NULL, (char *)capacity, NULL };
	cr_assert_eq(df_run(argv, out, 20000), 0, "bpf attach failed");
	cr_assert_eq(map_used(d->pin_dir), 0);

	df_daemon_start_ready(d, NULL);
	cr_expect_eq(book_status(d, "size"), n, "the daemon does not run with the file's book");
	stop_ok(d);
	struct file_facts f = read_book(d->book);
	cr_expect(f.ok && f.count == n, "%s holds %u records after the stop, had %u", d->book,
		  f.count, n);
	char *log = df_daemon_log(d);
	cr_expect(strstr(log, "imported 200"), "no line says the file was imported:\n%s", log);
	free(log);
}

Test(pins, empty_map_from_bpf_attach_imports_the_file)
{
	empty_map_takes_the_file("empty", NULL);
}

Test(pins, empty_map_too_small_for_the_file_is_replaced)
{
	empty_map_takes_the_file("small", "64");
	char *log = df_daemon_log(&df.d[0]);
	cr_expect(strstr(log, "64 slots"), "no line says the 64-slot map was replaced:\n%s", log);
	free(log);
}

#define IMPORT_RECORDS 32768
#define IMPORT_LIVE 2048
#define IMPORT_TRIES 3

/* Wait until the map exists and its first record is written; the open maps. */
static struct kern *wait_import_begins(struct df_daemon *d)
{
	struct kern *k = NULL;
	char err[512];
	int64_t end = df_now_ms() + 15000;
	while (!k && df_now_ms() < end) /* ends at the deadline */
		if (kern_open_pinned(&k, d->pin_dir, err, sizeof(err)) < 0) {
			k = NULL;
			df_sleep_ms(1);
		}
	cr_assert(k, "the daemon made no map in 15 s");
	const volatile struct mukan_peer *slots = kern_slots(k);
	while (!slots[0].in_use && df_now_ms() < end) /* ends at the deadline */
		;
	cr_assert(slots[0].in_use, "the import did not begin in 15 s");
	return k;
}

Test(pins, kill9_during_the_first_import_then_restart_keeps_every_address)
{
	farm_namespace("import");
	struct df_daemon *d = df_daemon_new();
	uint32_t n = write_book(d->book, IMPORT_LIVE, IMPORT_RECORDS - IMPORT_LIVE, 44, 4, 0);
	cr_assert_eq(n, IMPORT_RECORDS);
	const char *const flags[] = { "--max-outbound", "2", NULL };
	unsigned mid = 0;
	srand((unsigned)getpid());
	for (int t = 0; t < IMPORT_TRIES; t++) {
		char err[256];
		kern_detach(d->pin_dir, true, err, sizeof(err)); /* every try is a first import */
		df_daemon_start(d, flags);
		struct kern *k = wait_import_begins(d);
		df_sleep_ms(rand() % 4);
		df_daemon_signal(d, SIGKILL);
		cr_assert_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 128 + SIGKILL);
		uint32_t at_kill = kern_used(k);
		kern_close(k);
		mid += at_kill < n;
		fprintf(stderr, "pins-it: import try %d: killed with %u of %u records in the map\n", t,
			at_kill, n);

		df_daemon_start_ready(d, flags);
		cr_expect_eq(book_status(d, "size") + book_status(d, "banned"), n);
		stop_ok(d);
		struct file_facts f = read_book(d->book);
		cr_assert(f.ok && f.count == n, "try %d: %s holds %u records after the restart, had %u",
			  t, d->book, f.count, n);
	}
	fprintf(stderr, "pins-it: import: %u of %d kills landed before the import finished\n", mid,
		IMPORT_TRIES);
}

Test(pins, same_book_with_a_newer_file_is_joined_and_nothing_is_dropped)
{
	farm_namespace("join");
	struct df_daemon *d = df_daemon_new();
	uint32_t n = write_book(d->book, 100, 0, 55, 5, 0);
	const char *const flags[] = { "--max-outbound", "2", "--dial-timeout", "200", NULL };
	df_daemon_start_ready(d, flags);
	stop_ok(d);
	struct file_facts f1 = read_book(d->book);
	cr_assert(f1.ok && f1.count == n && f1.gen >= 1, "saved: %u records, generation %llu",
		  f1.count, (unsigned long long)f1.gen);

	/* The map alone gains a record (no daemon: mukan-dialctl writes it). */
	char cli[512], out[300], only_map[NETADDR_STRLEN];
	struct netaddr x;
	test_addr(56, 9, 0, &x);
	netaddr_format(&x, only_map);
	df_tool_path("mukan-dialctl", cli, sizeof(cli));
	snprintf(out, sizeof(out), "%s/add.log", d->home);
	char *add[] = { cli, "book", "add", "--live", "--no-strict", "--pin-dir", d->pin_dir,
			only_map, NULL };
	cr_assert_eq(df_run(add, out, 20000), 0, "book add --live failed");

	/* The file alone gains 10 records and a changed one, as a newer generation. */
	struct book_opts bo = { .strict = false, .seed = 2 };
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	struct book *b;
	char err[512];
	cr_assert_eq(book_load(d->book, &bo, &fo, &b, err, sizeof(err)), 0, "%s", err);
	for (uint32_t i = 0; i < 10; i++) {
		struct netaddr na;
		test_addr(57, 10, i, &na);
		cr_assert_eq(book_add(b, &na, &na, kern_now()), 1);
	}
	struct netaddr r;
	test_addr(55, 5, 7, &r);
	int rs = book_find(b, r.id);
	cr_assert_geq(rs, 0);
	book_slot_mut(b, (uint32_t)rs)->attempts = 1000000;
	book_set_file_generation(b, f1.gen + 5);
	cr_assert_eq(book_save(b, d->book, &fo, err, sizeof(err)), 0, "%s", err);
	book_free(b);

	fresh_log(d);
	df_daemon_start_ready(d, flags);
	cr_expect_eq(book_status(d, "size"), n + 10 + 1, "the union of map and file");
	struct mukan_peer rec;
	cr_expect(df_live_record(d->pin_dir, x.id, &rec), "the map's own record was dropped");
	cr_expect(df_live_record(d->pin_dir, r.id, &rec) && rec.attempts >= 1000000,
		  "the newer file's record did not win (attempts %d)", rec.attempts);
	stop_ok(d);
	struct file_facts f2 = read_book(d->book);
	cr_expect(f2.ok && f2.count == n + 11 && f2.gen > f1.gen + 5,
		  "saved after the join: %u records, generation %llu", f2.count,
		  (unsigned long long)f2.gen);
	char *log = df_daemon_log(d);
	cr_expect(strstr(log, "joined"), "no line says the books were joined:\n%s", log);
	fprintf(stderr, "pins-it: join: %s", strstr(log, "mukan-dialerd: the pinned") ?: log);
	free(log);
}

/* ---- item 2: save and load agree ------------------------------------------------------ */

#define BIG_RECORDS 100000
#define BIG_READY_MS 40000 /* parsing 55 MB of JSON on a busy 2-core host */

static void start_big(struct df_daemon *d, const char *const flags[], const char *what)
{
	int64_t t0 = df_now_ms();
	df_daemon_start(d, flags);
	bool ready = df_daemon_wait_ready(d, BIG_READY_MS);
	char *log = df_daemon_log(d);
	cr_assert(ready, "%s: not ready in %d ms; its log:\n%s", what, BIG_READY_MS, log);
	free(log);
	fprintf(stderr, "pins-it: 100k: %s: ready after %lld ms\n", what,
		(long long)(df_now_ms() - t0));
}

Test(pins, hundred_thousand_records_saved_load_again_into_a_fresh_map, .timeout = 150)
{
	farm_namespace("big");
	struct df_daemon *d = df_daemon_new();
	uint32_t n = write_book(d->book, 1024, BIG_RECORDS - 1024, 66, 6, 0);
	cr_assert_eq(n, BIG_RECORDS);
	const char *const flags[] = { "--max-outbound", "2", "--capacity", "100000", NULL };
	start_big(d, flags, "--capacity 100000");
	cr_expect_eq(book_status(d, "size") + book_status(d, "banned"), n);
	stop_ok(d);
	struct file_facts f = read_book(d->book);
	cr_assert(f.ok && f.count == n, "saved %u of %u records", f.count, n);

	/* A fresh map (the old one purged), no --capacity: made big enough for the file. */
	char err[256], cache[300];
	kern_detach(d->pin_dir, true, err, sizeof(err));
	snprintf(cache, sizeof(cache), "%s.cache", d->book);
	unlink(cache); /* the JSON itself must load */
	const char *const plain[] = { "--max-outbound", "2", NULL };
	start_big(d, plain, "fresh map, no --capacity");
	cr_expect_eq(book_status(d, "size") + book_status(d, "banned"), n);
	stop_ok(d);
	f = read_book(d->book);
	cr_expect(f.ok && f.count == n, "saved %u of %u records after the fresh start", f.count, n);
}

/* ---- item 6: one daemon per pin dir, one per home ------------------------------------ */

Test(pins, second_daemon_on_the_same_pin_dir_is_refused_and_changes_nothing)
{
	const char *const mix[] = { "--live", "3", "--seed", "61", NULL };
	df_farm_start("twopin", mix);
	struct df_daemon *d1 = df_daemon_new();
	df_daemon_copy_farm_book(d1);
	const char *const flags[] = { "--max-outbound", "2", NULL };
	df_daemon_start_ready(d1, flags);
	long long max_seen = 0;
	cr_assert(df_wait_connected(d1, 2, 8000, &max_seen), "the first daemon did not connect");

	struct df_daemon *d2 = df_daemon_new();
	df_daemon_copy_farm_book(d2);
	snprintf(d2->pin_dir, sizeof(d2->pin_dir), "%s", d1->pin_dir);
	int st = df_daemon_run(d2, flags, RUN_BOUND_MS);
	char pid[24];
	snprintf(pid, sizeof(pid), "pid %d", (int)d1->pid);
	const char *const needles[] = { d1->pin_dir, pid, "one daemon per pin dir", NULL };
	expect_refusal(d2, st, needles);

	/* Nor may mukan-dialctl move the links or delete the maps under it. */
	char cli[512], out[300];
	df_tool_path("mukan-dialctl", cli, sizeof(cli));
	snprintf(out, sizeof(out), "%s/cli.log", d2->home);
	char *purge[] = { cli, "bpf", "detach", "--purge", "--yes", "--pin-dir", d1->pin_dir, NULL };
	char *attach[] = { cli, "bpf", "attach", "--pin-dir", d1->pin_dir, "--cgroup", d2->cgroup,
			   NULL };
	cr_expect_eq(df_run(purge, out, 20000), 1, "bpf detach --purge under a running daemon");
	cr_expect_eq(df_run(attach, out, 20000), 1, "bpf attach under a running daemon");
	char *said = df_read_file(out, NULL);
	cr_expect(said && strstr(said, pid) && strstr(said, "stop it first"), "%s", said);
	free(said);
	cr_expect(df_exists(d1->pin_dir), "the maps were deleted under the daemon");

	/* The first one is untouched: still answering, links still on its cgroup. */
	cr_expect(df_wait_connected(d1, 2, 3000, &max_seen), "the first daemon lost its peers");
	int types[] = { BPF_CGROUP_SOCK_OPS, BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT };
	for (size_t i = 0; i < 3; i++) {
		cr_expect_eq(df_prog_count(d1->cgroup, types[i]), 1, "type %d left d1's cgroup",
			     types[i]);
		cr_expect_eq(df_prog_count(d2->cgroup, types[i]), 0, "type %d moved to d2's cgroup",
			     types[i]);
	}
	stop_ok(d1);
}

Test(pins, second_daemon_with_the_same_home_is_refused_and_keeps_the_first_ones_socket)
{
	const char *const mix[] = { "--live", "2", "--seed", "62", NULL };
	df_farm_start("twohome", mix);
	struct df_daemon *d1 = df_daemon_new();
	df_daemon_copy_farm_book(d1);
	const char *const flags[] = { "--max-outbound", "1", NULL };
	df_daemon_start_ready(d1, flags);

	struct df_daemon *d2 = df_daemon_new();
	snprintf(d2->home, sizeof(d2->home), "%s", d1->home);
	snprintf(d2->control, sizeof(d2->control), "%s", d1->control);
	snprintf(d2->book, sizeof(d2->book), "%s", d1->book);
	int st = df_daemon_run(d2, flags, RUN_BOUND_MS);
	char pid[24];
	snprintf(pid, sizeof(pid), "pid %d", (int)d1->pid);
	const char *const needles[] = { d1->home, pid, "one daemon per home", NULL };
	expect_refusal(d2, st, needles);
	cr_expect(df_exists(d1->control), "the second daemon removed the first one's socket");
	json_t *status = df_ask(d1, "status");
	cr_expect(status, "the first daemon no longer answers on %s", d1->control);
	json_decref(status);
	stop_ok(d1);
}

/* ---- item 9: one writer at a time ------------------------------------------------------ */

#define ADDS_PER_LOOP 150
#define DIALCTL_ERR "mukan-dialctl: "

/* A child: ADDS_PER_LOOP `book add --live` of 127.40+loop.x.y; exits with the failures. */
static pid_t add_loop(const struct df_daemon *d, int loop)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	char cli[512], log[300], addr[NETADDR_STRLEN];
	df_tool_path("mukan-dialctl", cli, sizeof(cli));
	snprintf(log, sizeof(log), "%s/add-loop-%d.log", d->home, loop);
	int failures = 0;
	for (uint32_t i = 0; i < ADDS_PER_LOOP; i++) {
		struct netaddr na;
		test_addr(70 + (uint64_t)loop, 0, i, &na);
		na.a.ip[1] = (uint8_t)i; /* a /16 each: no bucket fills up */
		na.a.ip[2] = (uint8_t)(40 + loop);
		na.a.ip[3] = 1;
		netaddr_format(&na, addr);
		char *argv[] = { cli, "book", "add", "--live", "--no-strict", "--pin-dir",
				 (char *)d->pin_dir, addr, NULL };
		failures += df_try_run(argv, log, 30000) != 0;
	}
	_exit(failures > 255 ? 255 : failures);
}

#define ADD_LOOPS_MS 110000 /* 300 runs of the CLI, slow under ASan on a busy host */

static void parallel_adds(struct df_daemon *d)
{
	int64_t t0 = df_now_ms(), end = t0 + ADD_LOOPS_MS;
	pid_t loops[2] = { add_loop(d, 0), add_loop(d, 1) };
	int st[2] = { -1, -1 };
	for (int i = 0; i < 2; i++) {
		while (df_now_ms() < end) { /* bounded */
			int s;
			if (waitpid(loops[i], &s, WNOHANG) == loops[i]) {
				st[i] = s;
				break;
			}
			df_sleep_ms(10);
		}
	}
	for (int i = 0; i < 2; i++) {
		if (st[i] == -1) { /* both go, so no CLI outlives the test */
			kill(loops[i], SIGKILL);
			waitpid(loops[i], NULL, 0);
		}
	}
	for (int i = 0; i < 2; i++) {
		cr_assert(st[i] != -1, "add loop %d did not finish in %d s", i, ADD_LOOPS_MS / 1000);
		cr_expect(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0, "add loop %d: %d adds failed",
			  i, WIFEXITED(st[i]) ? WEXITSTATUS(st[i]) : -1);
	}
	fprintf(stderr, "pins-it: %d parallel live adds in %lld ms\n", 2 * ADDS_PER_LOOP,
		(long long)(df_now_ms() - t0));
	for (int loop = 0; loop < 2; loop++) {
		char log[300];
		snprintf(log, sizeof(log), "%s/add-loop-%d.log", d->home, loop);
		char *text = df_read_file(log, NULL);
		unsigned added = 0;
		for (const char *p = text; p && (p = strstr(p, "live book: added ")); p++)
			added++;
		const char *why = text ? strstr(text, DIALCTL_ERR) : NULL;
		cr_expect_eq(added, ADDS_PER_LOOP, "loop %d: %u reported added; the first error: %.300s",
			     loop, added, why ? why : "none");
		cr_expect(text && !strstr(text, "slot -"), "loop %d: an add reported a bad slot", loop);
		free(text);
	}
	/* Every address is in the map once, and the index names only slots holding their key. */
	struct kern *k;
	char err[512];
	cr_assert_eq(kern_open_pinned(&k, d->pin_dir, err, sizeof(err)), 0, "%s", err);
	for (int loop = 0; loop < 2; loop++) {
		for (uint32_t i = 0; i < ADDS_PER_LOOP; i++) {
			struct netaddr na;
			test_addr(70 + (uint64_t)loop, 0, i, &na);
			unsigned found = 0;
			for (uint32_t s = 0; s < kern_capacity(k); s++)
				found += kern_slots(k)[s].in_use &&
					 memcmp(kern_slots(k)[s].id, na.id, MUKAN_ID_LEN) == 0;
			cr_expect_eq(found, 1, "loop %d address %u is in the map %u times", loop, i,
				     found);
		}
	}
	cr_expect_eq(kern_used(k), 2 * ADDS_PER_LOOP);
	kern_close(k);
	cr_expect_eq(check_index(d->pin_dir), 2 * ADDS_PER_LOOP);
}

Test(pins, parallel_live_adds_without_a_daemon_lose_nothing, .timeout = 150)
{
	farm_namespace("addsolo");
	struct df_daemon *d = df_daemon_new();
	char cli[512], out[300];
	df_tool_path("mukan-dialctl", cli, sizeof(cli));
	snprintf(out, sizeof(out), "%s/attach.log", d->home);
	char *argv[] = { cli, "bpf", "attach", "--pin-dir", d->pin_dir, "--cgroup", d->cgroup, NULL };
	cr_assert_eq(df_run(argv, out, 20000), 0, "bpf attach failed");
	parallel_adds(d);
}

Test(pins, parallel_live_adds_through_a_daemon_lose_nothing, .timeout = 150)
{
	farm_namespace("adddaemon");
	struct df_daemon *d = df_daemon_new();
	const char *const flags[] = { "--max-outbound", "1", "--dial-timeout", "200", NULL };
	df_daemon_start_ready(d, flags);
	parallel_adds(d);
	cr_expect_eq(book_status(d, "size"), 2 * ADDS_PER_LOOP, "the daemon's own book differs");
	stop_ok(d);
	struct file_facts f = read_book(d->book);
	cr_expect(f.ok && f.count == 2 * ADDS_PER_LOOP, "saved %u records", f.count);
	/* Its own bumps of the records generation never made it re-read the map. */
	char *log = df_daemon_log(d);
	cr_expect(!strstr(log, "by another process"), "the daemon re-read its own edits:\n%s", log);
	free(log);
}

Test(pins, a_record_written_by_another_process_is_read_by_the_daemon)
{
	farm_namespace("foreign");
	struct df_daemon *d = df_daemon_new();
	const char *const flags[] = { "--max-outbound", "1", NULL };
	df_daemon_start_ready(d, flags);
	cr_assert_eq(book_status(d, "size"), 0);
	/* A writer that skipped the lock: a record straight into a free slot, then the bump. */
	struct kern *k;
	char err[512];
	cr_assert_eq(kern_open_pinned(&k, d->pin_dir, err, sizeof(err)), 0, "%s", err);
	struct netaddr na;
	test_addr(80, 8, 0, &na);
	struct mukan_peer *p = &kern_slots(k)[kern_capacity(k) - 1];
	*p = (struct mukan_peer){ .addr = na.a, .src = na.a, .in_use = 1,
				  .bucket_type = MUKAN_BUCKET_NEW, .last_attempt = kern_now(),
				  .last_success = MUKAN_TIME_NEVER, .ban_until = MUKAN_TIME_NEVER,
				  .next_dial = MUKAN_TIME_NEVER, .last_dial = MUKAN_TIME_NEVER,
				  .last_connected = MUKAN_TIME_NEVER };
	memcpy(p->id, na.id, MUKAN_ID_LEN);
	memcpy(p->src_id, na.id, MUKAN_ID_LEN);
	kern_records_bump(k);
	kern_close(k);
	long long size = 0;
	for (int64_t end = df_now_ms() + 5000; size != 1 && df_now_ms() < end;) { /* bounded */
		df_sleep_ms(100);
		size = book_status(d, "size");
	}
	cr_expect_eq(size, 1, "the daemon did not read the new record within 5 s");
	char *log = df_daemon_log(d);
	cr_expect(strstr(log, "records changed in the map by another process"), "%s", log);
	free(log);
	stop_ok(d);
	struct file_facts f = read_book(d->book);
	cr_expect(f.ok && f.count == 1, "saved %u records", f.count);
}

/* ---- kill -9 at random moments --------------------------------------------------------- */

#define KILLS 30
#define KILL_LOOP_MS 35000

Test(pins, kill9_at_random_moments_never_lowers_a_count, .timeout = 90)
{
	const char *const mix[] = { "--live", "4", "--closed", "8", "--blackhole", "4", "--seed",
				    "63", NULL };
	df_farm_start("kill9", mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	struct file_facts f0 = read_book(d->book);
	cr_assert(f0.ok);
	size_t np = json_array_size(df_farm_peers());
	cr_assert_leq(np, 64);
	uint32_t prev[64] = { 0 };
	const char *const flags[] = { "--max-outbound", "3", "--dial-timeout", "200",
				      "--ensure-period", "1s", NULL };
	srand((unsigned)getpid() * 7u);
	int64_t end = df_now_ms() + KILL_LOOP_MS;
	int kills = 0;
	uint64_t dials = 0;
	for (; kills < KILLS && df_now_ms() < end; kills++) {
		df_daemon_start(d, flags);
		df_sleep_ms(rand() % 700); /* anywhere from start-up to dialing */
		df_daemon_signal(d, SIGKILL);
		int st = df_daemon_wait(d, DF_EXIT_TIMEOUT_MS);
		cr_assert_eq(st, 128 + SIGKILL, "kill %d: exit status %d", kills, st);
		if (!df_exists(d->pin_dir))
			continue;
		dials = 0;
		for (size_t i = 0; i < np; i++) {
			uint8_t id[MUKAN_ID_LEN];
			struct mukan_peer r;
			json_t *p = json_array_get(df_farm_peers(), i);
			df_peer_id(p, id);
			if (!df_live_record(d->pin_dir, id, &r)) {
				cr_expect_eq(prev[i], 0, "kill %d: %s left the map", kills,
					     df_peer_str(p, "addr"));
				continue;
			}
			cr_expect_geq(r.dials, prev[i], "kill %d: %s: %u dials, %u before", kills,
				      df_peer_str(p, "addr"), r.dials, prev[i]);
			prev[i] = r.dials;
			dials += r.dials;
		}
		struct file_facts f = read_book(d->book);
		cr_expect(f.ok && f.count >= f0.count, "kill %d: the book file holds %u of %u", kills,
			  f.count, f0.count);
	}
	/* Then a run that dials for sure: every count still at least what it was. */
	fresh_log(d);
	df_daemon_start_ready(d, flags);
	long long max_seen = 0;
	cr_expect(df_wait_connected(d, 3, 10000, &max_seen), "3 slots not filled after the kills");
	stop_ok(d);
	uint64_t before = dials;
	dials = 0;
	for (size_t i = 0; i < np; i++) {
		uint8_t id[MUKAN_ID_LEN];
		struct mukan_peer r;
		json_t *p = json_array_get(df_farm_peers(), i);
		df_peer_id(p, id);
		cr_assert(df_live_record(d->pin_dir, id, &r), "%s left the map", df_peer_str(p, "addr"));
		cr_expect_geq(r.dials, prev[i], "%s: %u dials, %u before", df_peer_str(p, "addr"),
			      r.dials, prev[i]);
		dials += r.dials;
	}
	cr_expect_gt(dials, 0, "no dial was ever recorded");
	struct file_facts f = read_book(d->book);
	cr_expect(f.ok && f.count == f0.count, "after %d kills the saved book holds %u of %u",
		  kills, f.count, f0.count);
	fprintf(stderr, "pins-it: kill9: %d kills, %llu dials recorded by the last kill, %llu after "
			"a last run; book %u of %u\n",
		kills, (unsigned long long)before, (unsigned long long)dials, f.count, f0.count);
}
