/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_meta.c - the pinned meta map and the pin-dir lock, in the real
 * kernel: a meta_v1 left by an earlier version is migrated with its keys
 * (also when a migration was cut short), the lock is exclusive and names its
 * holder, a live writer waits for a brief holder and bumps the records
 * generation, refuses a map whose import was cut short, and readers write
 * nothing into the maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "book/book.h"
#include "book/book_file.h"
#include "fixture.h"

TestSuite(meta, .init = bt_setup_env, .fini = bt_teardown, .timeout = 30);

#define V1_KEY "5e1ec7ab1e5e1ec7ab1e5e1e"
#define V1_GENERATION 7
#define PEER "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1@127.0.0.7:26656"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pin_path(const char *name, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", bt.pin_dir, name);
}

static const uint8_t v1_hash_key[32] = { 0xaa, 0xbb, 0xcc, 1, 2, 3 };

/* What an earlier version left: book_v1 holding one record, meta_v1 pinned as `pin`. */
static void pin_earlier_version(const char *pin)
{
	char path[256];
	cr_assert(mkdir(bt.pin_dir, 0700) == 0 || errno == EEXIST);
	LIBBPF_OPTS(bpf_map_create_opts, mm, .map_flags = BPF_F_MMAPABLE);
	int book = bpf_map_create(BPF_MAP_TYPE_ARRAY, "book_v1", 4, sizeof(struct mukan_peer),
				  BT_CAPACITY, &mm);
	cr_assert_geq(book, 0, "book_v1: %s", strerror(errno));
	struct mukan_peer p = { .addr = { .family = MUKAN_AF_INET, .port = 26656,
					  .ip = { 127, 0, 0, 9 } },
				.in_use = 1, .bucket_type = MUKAN_BUCKET_NEW, .n_buckets = 1,
				.buckets = { 17 }, .dials = 3, .last_success = MUKAN_TIME_NEVER,
				.ban_until = MUKAN_TIME_NEVER, .next_dial = MUKAN_TIME_NEVER,
				.last_dial = MUKAN_TIME_NEVER, .last_connected = MUKAN_TIME_NEVER };
	p.src = p.addr;
	memset(p.id, 0x77, sizeof(p.id));
	uint32_t zero = 0;
	cr_assert_eq(bpf_map_update_elem(book, &zero, &p, BPF_ANY), 0);
	pin_path("book", path, sizeof(path));
	cr_assert_eq(bpf_obj_pin(book, path), 0, "pin %s: %s", path, strerror(errno));
	close(book);
	int idx = bpf_map_create(BPF_MAP_TYPE_HASH, "book_idx_v1", sizeof(struct mukan_addr), 4,
				 BT_CAPACITY, NULL);
	cr_assert_geq(idx, 0, "book_idx_v1: %s", strerror(errno));
	cr_assert_eq(bpf_map_update_elem(idx, &p.addr, &zero, BPF_ANY), 0);
	pin_path("book_idx", path, sizeof(path));
	cr_assert_eq(bpf_obj_pin(idx, path), 0, "pin %s: %s", path, strerror(errno));
	close(idx);

	int meta = bpf_map_create(BPF_MAP_TYPE_ARRAY, "meta_v1", 4,
				  sizeof(struct mukan_book_meta_v1), 1, NULL);
	cr_assert_geq(meta, 0, "meta_v1: %s", strerror(errno));
	struct mukan_book_meta_v1 v1 = { .key_len = 24, .generation = V1_GENERATION,
					 .capacity = BT_CAPACITY };
	memcpy(v1.key, V1_KEY, 24);
	memcpy(v1.hash_key, v1_hash_key, sizeof(v1.hash_key));
	cr_assert_eq(bpf_map_update_elem(meta, &zero, &v1, BPF_ANY), 0);
	pin_path(pin, path, sizeof(path));
	cr_assert_eq(bpf_obj_pin(meta, path), 0, "pin %s: %s", path, strerror(errno));
	close(meta);
}

static void expect_migrated(void)
{
	bt_open();
	cr_expect(kern_meta_migrated(bt.k));
	const struct mukan_book_meta *m = kern_meta(bt.k);
	cr_expect_eq(m->key_len, 24);
	cr_expect(memcmp(m->key, V1_KEY, 24) == 0, "the key was not kept");
	cr_expect(memcmp(m->hash_key, v1_hash_key, 32) == 0, "the hash key was not kept");
	cr_expect_eq(m->state, MUKAN_META_READY, "a map with records is a book");
	cr_expect_eq(kern_records_gen(bt.k), V1_GENERATION);
	cr_expect_eq(m->book_path[0], 0, "the path was never recorded");
	/* The book opened over it uses those keys and still has the record. */
	cr_expect_str_eq(book_key(bt.b), V1_KEY);
	cr_expect(memcmp(book_hash_key(bt.b), v1_hash_key, 32) == 0);
	cr_expect_eq(book_size(bt.b), 1);
	char path[256];
	pin_path("meta_v1_migrating", path, sizeof(path));
	cr_expect(access(path, F_OK) < 0, "the old meta map is still pinned aside");
	pin_path("meta", path, sizeof(path));
	int fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0);
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	cr_expect_str_eq(info.name, "meta_v2");
}

Test(meta, a_pinned_meta_v1_is_migrated_with_its_keys)
{
	pin_earlier_version("meta");
	/* Tools that only open the pins say what to do, and change nothing. */
	struct kern *k = NULL;
	char err[512] = "";
	cr_expect_eq(kern_open_pinned(&k, bt.pin_dir, err, sizeof(err)), -EPROTO);
	cr_expect(strstr(err, "meta_v1") && strstr(err, "bpf attach"), "%s", err);
	expect_migrated();
}

Test(meta, a_migration_cut_short_is_finished_by_the_next_open)
{
	/* Killed after the old map was renamed aside, before the new one was pinned. */
	pin_earlier_version("meta_v1_migrating");
	expect_migrated();
}

/* ---- the lock -------------------------------------------------------------------- */

Test(meta, the_pin_dir_lock_is_exclusive_and_names_its_holder)
{
	int fd, again, holder;
	char err[512];
	cr_assert_eq(kern_lock(bt.pin_dir, true, &fd, &holder, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(kern_lock(bt.pin_dir, false, &again, &holder, err, sizeof(err)), -EWOULDBLOCK);
	cr_expect_eq(holder, getpid(), "holder %d, want us (%d)", holder, (int)getpid());
	char want[64];
	snprintf(want, sizeof(want), "locked by pid %d", (int)getpid());
	cr_expect(strstr(err, want), "%s", err);
	/* Another process is refused too, and told who holds it. */
	pid_t pid = fork();
	if (pid == 0) {
		int f, h;
		char e[512];
		int r = kern_lock(bt.pin_dir, false, &f, &h, e, sizeof(e));
		_exit(r == -EWOULDBLOCK && h == getppid() ? 0 : 1);
	}
	bt_track_child(pid);
	int st = bt_wait_child(pid, 5000);
	cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the child got the lock or the wrong holder");
	kern_unlock(fd);
	cr_expect_eq(kern_lock(bt.pin_dir, false, &again, &holder, err, sizeof(err)), 0, "%s", err);
	kern_unlock(again);
}

#define HOLD_MS 800

/* A child that holds the lock for HOLD_MS; returns once it holds it. */
static pid_t hold_lock_briefly(void)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd, h;
		char e[512];
		close(p[0]);
		char ok = kern_lock(bt.pin_dir, false, &fd, &h, e, sizeof(e)) == 0 ? 'y' : 'n';
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		usleep(HOLD_MS * 1000);
		_exit(0); /* the lock goes with the process */
	}
	bt_track_child(pid);
	close(p[1]);
	char ok = 0;
	cr_assert_eq(read(p[0], &ok, 1), 1);
	close(p[0]);
	cr_assert_eq(ok, 'y', "the child could not take the lock");
	return pid;
}

Test(meta, a_live_add_waits_for_a_brief_holder_and_bumps_the_records_generation)
{
	bt_open();
	uint64_t gen = kern_records_gen(bt.k);
	pid_t holder = hold_lock_briefly();
	char cmd[512], out[2048];
	snprintf(cmd, sizeof(cmd), "%s/mukan-dialctl book add --live --no-strict --pin-dir %s %s",
		 bt_build_dir(), bt.pin_dir, PEER);
	int64_t t0 = mono_ms();
	int st = bt_run(cmd, out, sizeof(out));
	int64_t took = mono_ms() - t0;
	cr_expect_eq(st, 0, "book add --live: %d: %s", st, out);
	cr_expect(strstr(out, "live book: added"), "%s", out);
	cr_expect_geq(took, HOLD_MS / 2, "it did not wait for the holder (%lld ms)",
		      (long long)took);
	cr_expect_eq(kern_records_gen(bt.k), gen + 1, "records generation %llu, was %llu",
		     (unsigned long long)kern_records_gen(bt.k), (unsigned long long)gen);
	bt_wait_child(holder, 5000);
	fprintf(stderr, "meta: a live add behind an %d ms holder took %lld ms\n", HOLD_MS,
		(long long)took);
}

Test(meta, a_live_add_is_refused_while_an_import_is_unfinished)
{
	bt_open();
	kern_meta(bt.k)->state = MUKAN_META_IMPORTING; /* as a kill -9 leaves it */
	char cmd[512], out[2048];
	snprintf(cmd, sizeof(cmd), "%s/mukan-dialctl book add --live --no-strict --pin-dir %s %s",
		 bt_build_dir(), bt.pin_dir, PEER);
	int st = bt_run(cmd, out, sizeof(out));
	cr_expect_eq(st, 1, "%s", out);
	cr_expect(strstr(out, "cut short") && strstr(out, "mukan-dialerd"), "%s", out);
	cr_expect_eq(kern_used(bt.k), 0, "the map changed");
}

/* ---- readers ------------------------------------------------------------------------ */

Test(meta, export_reads_a_copy_and_writes_nothing_into_the_maps)
{
	char err[512];
	struct kern_opts o = bt_kern_opts();
	cr_assert_eq(kern_open(&bt.k, &o, err, sizeof(err)), 0, "%s", err);
	/* A record written straight into a slot, not in the index, and no keys in meta. */
	struct mukan_peer *p = &kern_slots(bt.k)[5];
	*p = (struct mukan_peer){ .addr = { .family = MUKAN_AF_INET, .port = 26656,
					    .ip = { 127, 0, 0, 5 } },
				  .in_use = 1, .bucket_type = MUKAN_BUCKET_NEW,
				  .last_success = MUKAN_TIME_NEVER, .ban_until = MUKAN_TIME_NEVER,
				  .next_dial = MUKAN_TIME_NEVER, .last_dial = MUKAN_TIME_NEVER,
				  .last_connected = MUKAN_TIME_NEVER };
	p->src = p->addr;
	memset(p->id, 0x55, sizeof(p->id));
	uint64_t gen = kern_records_gen(bt.k);
	char file[300], cmd[700], out[2048];
	snprintf(file, sizeof(file), "/tmp/mukan-meta-%d.json", (int)getpid());
	snprintf(cmd, sizeof(cmd), "%s/mukan-dialctl book export --live --no-strict --pin-dir %s %s",
		 bt_build_dir(), bt.pin_dir, file);
	int st = bt_run(cmd, out, sizeof(out));
	cr_expect_eq(st, 0, "%s", out);
	cr_expect_eq(kern_meta(bt.k)->key_len, 0, "export wrote keys into meta");
	cr_expect_eq(kern_index_count(bt.k), 0, "export wrote the index");
	cr_expect_eq(kern_records_gen(bt.k), gen, "export bumped the records generation");
	struct book_opts bo = { .seed = 1 };
	struct book_file_opts fo = { .no_cache = true };
	struct book *b = NULL;
	cr_expect_eq(book_load(file, &bo, &fo, &b, err, sizeof(err)), 0, "%s", err);
	cr_expect(b && book_size(b) == 1, "the exported file lacks the record");
	book_free(b);
	unlink(file);
	snprintf(cmd, sizeof(cmd), "%s.cache", file);
	unlink(cmd);
}

/* ---- the config, read while it is written ------------------------------------------- */

#define TORN_READS 100000

struct flipper {
	int fd;
	volatile int stop;
	struct mukan_config a, b;
};

/* An operator's writes: one at a time, a moment apart (back to back, two reads
 * could tear alike and agree; no writer of the config writes like that). */
static void *flip(void *arg)
{
	struct flipper *f = arg;
	uint32_t zero = 0;
	for (unsigned long i = 0; !f->stop && i < 100000000UL; i++) {
		bpf_map_update_elem(f->fd, &zero, i % 2 ? &f->a : &f->b, BPF_ANY);
		struct timespec gap = { 0, 20000 };
		nanosleep(&gap, NULL);
	}
	return NULL;
}

Test(meta, a_config_read_while_it_is_written_is_one_of_the_two_never_a_mix)
{
	bt_open();
	static struct flipper f;
	f.a = bt_config_defaults();
	f.b = f.a;
	f.a.generation = 100;
	f.b.generation = 200;
	f.b.fail_limit = f.a.fail_limit + 1;
	f.b.backoff_base_ns = f.a.backoff_base_ns + 1;
	f.b.backoff_cap_ns = f.a.backoff_cap_ns + 1;
	f.b.backoff_jitter_ns = f.a.backoff_jitter_ns + 1;
	f.b.ban_ns = f.a.ban_ns + 1;
	char path[256];
	pin_path("config", path, sizeof(path));
	f.fd = bpf_obj_get(path);
	cr_assert_geq(f.fd, 0);
	uint32_t key = 0;
	cr_assert_eq(bpf_map_update_elem(f.fd, &key, &f.b, BPF_ANY), 0); /* from the start */
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, flip, &f), 0);
	unsigned mixed = 0, busy = 0, raw_mixed = 0;
	for (int i = 0; i < TORN_READS; i++) {
		struct mukan_config c;
		uint32_t zero = 0;
		/* One plain lookup, to show tearing happens at all here. */
		if (bpf_map_lookup_elem(f.fd, &zero, &c) == 0)
			raw_mixed += memcmp(&c, &f.a, sizeof(c)) != 0 && memcmp(&c, &f.b, sizeof(c)) != 0;
		int e = kern_config_read(bt.k, &c);
		if (e == -EAGAIN) {
			busy++;
			continue;
		}
		cr_assert_eq(e, 0);
		mixed += memcmp(&c, &f.a, sizeof(c)) != 0 && memcmp(&c, &f.b, sizeof(c)) != 0;
	}
	f.stop = 1;
	pthread_join(t, NULL);
	close(f.fd);
	cr_expect_eq(mixed, 0, "%u of %d reads mixed two configs", mixed, TORN_READS);
	fprintf(stderr, "meta: %d config reads under a writer: %u mixed, %u gave up (-EAGAIN); "
			"single lookups: %u mixed\n",
		TORN_READS, mixed, busy, raw_mixed);
}
