/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_book_keep.c - a book is never lost between the map and its file:
 * the file's generation, the limits save and load agree on (records and
 * bytes from the capacity, 100,000 records both ways), the save guard that
 * keeps a file holding another book or more records, the union of two
 * copies of one book, and the daemon's start-up table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "book/book_file.h"
#include "book/book_union.h"
#include "book_helpers.h"
#include "daemon/book_start.h"
#include "daemon/config.h"
#include "mukan/abi.h"

static const struct book_file_opts wall = { .wall_offset_ns = 0 };
static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mukan-keep-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static const char *path_in(const char *name)
{
	static char p[4][256];
	static int k;
	char *out = p[k++ % 4];
	snprintf(out, 256, "%s/%s", dir, name);
	return out;
}

/* n records: the first n_live in new buckets (a /16 each), the rest banned. */
static struct book *book_of(uint32_t capacity, uint32_t n_live, uint32_t n_banned, uint32_t id0)
{
	struct book *b = test_book(false, capacity, 3);
	for (uint32_t i = 0; i < n_live + n_banned; i++) {
		struct netaddr na = test_v4(id0 + i, 10 + (int)(i % 200), (int)(i / 200 % 256),
					    (int)(i / 51200), 1);
		if (i < n_live) {
			cr_assert_eq(book_add(b, &na, &na, T0), 1, "record %u", i);
			continue;
		}
		struct mukan_peer p = { .addr = na.a, .src = na.a, .in_use = 1,
					.bucket_type = MUKAN_BUCKET_NEW, .flags = MUKAN_PEER_BANNED,
					.last_attempt = T0, .last_success = MUKAN_TIME_NEVER,
					.ban_until = T0 + 86400 * SEC, .next_dial = MUKAN_TIME_NEVER,
					.last_dial = MUKAN_TIME_NEVER,
					.last_connected = MUKAN_TIME_NEVER };
		memcpy(p.id, na.id, MUKAN_ID_LEN);
		char why[128];
		cr_assert_geq(book_insert_record(b, &p, why, sizeof(why)), 0, "%s", why);
	}
	return b;
}

static off_t file_size(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_size;
}

TestSuite(book_limits, .init = make_dir, .fini = remove_dir);

/* ---- the file's generation -------------------------------------------------- */

Test(book_limits, generation_is_saved_and_loaded_from_json_and_from_the_cache)
{
	struct book *b = book_of(0, 5, 1, 1);
	book_set_file_generation(b, 41);
	char err[256];
	cr_assert_eq(book_save(b, path_in("g.json"), &wall, err, sizeof(err)), 0, "%s", err);
	book_free(b);
	struct book_opts o = { .seed = 1 };
	for (int from_cache = 1; from_cache >= 0; from_cache--) {
		struct book_file_opts fo = { .no_cache = !from_cache };
		struct book *l;
		cr_assert_eq(book_load(path_in("g.json"), &o, &fo, &l, err, sizeof(err)), 0, "%s", err);
		cr_expect_eq(book_loaded_from_cache(l), from_cache);
		cr_expect_eq(book_file_generation(l), 41, "generation %llu (cache %d)",
			     (unsigned long long)book_file_generation(l), from_cache);
		book_free(l);
	}
}

Test(book_limits, a_file_without_a_generation_is_generation_zero)
{
	struct book *b = book_of(0, 3, 0, 1);
	book_set_file_generation(b, 9);
	struct book_file_opts up = { .upstream_only = true }; /* as CometBFT writes it */
	char err[256];
	cr_assert_eq(book_save(b, path_in("u.json"), &up, err, sizeof(err)), 0, "%s", err);
	book_free(b);
	struct book_opts o = { .seed = 1 };
	struct book *l;
	cr_assert_eq(book_load(path_in("u.json"), &o, &wall, &l, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(book_file_generation(l), 0);
	book_free(l);
}

/* ---- records and bytes ------------------------------------------------------------ */

Test(book_limits, more_records_than_the_capacity_is_refused_with_the_numbers_unless_grown)
{
	struct book *b = book_of(200, 100, 100, 1);
	char err[256];
	cr_assert_eq(book_save(b, path_in("200.json"), &wall, err, sizeof(err)), 0, "%s", err);
	book_free(b);
	struct book_opts small = { .seed = 1, .capacity = 150 };
	struct book *l = NULL;
	for (int cache = 0; cache < 2; cache++) {
		struct book_file_opts fo = { .no_cache = cache == 0 };
		int e = book_load(path_in("200.json"), &small, &fo, &l, err, sizeof(err));
		cr_expect_eq(e, -ENOSPC, "load into 150 slots: %d", e);
		cr_expect(strstr(err, "200 records") && strstr(err, "150 slots"),
			  "the error does not give the numbers: %s", err);
	}
	/* Growing: the book holds them all, bans included (none evicted). */
	struct book_file_opts grow = { .grow = true };
	cr_assert_eq(book_load(path_in("200.json"), &small, &grow, &l, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(book_capacity(l), 200);
	cr_expect_eq(book_file_count(l), 200);
	cr_expect_eq(book_n_banned(l), 100);
	book_free(l);
}

Test(book_limits, the_widest_record_fits_the_byte_limit_and_a_full_book_of_it_loads)
{
	/* Every field at its widest value the loader takes. */
	struct book *b = test_book(false, 64, 1);
	for (uint32_t i = 0; i < 64; i++) {
		struct netaddr na = test_addr(i + 1, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
		na.a.ip[15] = (uint8_t)i;
		struct mukan_peer p = { .addr = na.a, .src = na.a, .in_use = 1,
					.bucket_type = MUKAN_BUCKET_NEW, .n_buckets = 4,
					.buckets = { 255, 254, 253, 252 }, .attempts = INT32_MIN,
					.failures = UINT32_MAX, .last_error = 4095, .dials = UINT32_MAX,
					.flags = MUKAN_PEER_PERSISTENT | MUKAN_PEER_SEED |
						 MUKAN_PEER_UNCONDITIONAL,
					.last_attempt = T0 + 123456789, .last_success = T0 + 123456789,
					.ban_until = T0 + 123456789, .next_dial = T0 + 123456789,
					.last_dial = T0 + 123456789, .last_connected = T0 + 123456789 };
		memcpy(p.id, na.id, MUKAN_ID_LEN);
		memset(p.src_id, 0xab, MUKAN_ID_LEN);
		if (i % 2)
			p.flags |= MUKAN_PEER_BANNED; /* deeper in the file */
		char why[128];
		cr_assert_geq(book_insert_record(b, &p, why, sizeof(why)), 0, "%s", why);
	}
	char key[BOOK_KEY_MAX + 1];
	memset(key, '"', BOOK_KEY_MAX); /* every byte escaped */
	book_set_key(b, key, BOOK_KEY_MAX);
	book_set_file_generation(b, INT64_MAX);
	char err[256];
	cr_assert_eq(book_save(b, path_in("wide.json"), &wall, err, sizeof(err)), 0, "%s", err);
	book_free(b);
	off_t size = file_size(path_in("wide.json"));
	cr_expect_leq((size_t)size, book_file_max_bytes(64), "%lld bytes, limit %zu",
		      (long long)size, book_file_max_bytes(64));
	struct book_opts o = { .seed = 1, .capacity = 64 };
	struct book_file_opts fo = { .no_cache = true };
	struct book *l;
	cr_expect_eq(book_load(path_in("wide.json"), &o, &fo, &l, err, sizeof(err)), 0, "%s", err);
	if (l)
		book_free(l);
	/* The limit grows with the capacity, a record at a time. */
	cr_expect_eq(book_file_max_bytes(1000) - book_file_max_bytes(999),
		     book_file_record_max_bytes());
	fprintf(stderr, "book-limits: widest record %zu bytes; 64 of them with the widest key: "
			"%lld bytes, limit %zu\n",
		book_file_record_max_bytes(), (long long)size, book_file_max_bytes(64));
}

Test(book_limits, over_the_byte_limit_of_the_capacity_is_refused_before_parsing)
{
	struct book *b = book_of(0, 10, 0, 1);
	char err[256];
	cr_assert_eq(book_save(b, path_in("ten.json"), &wall, err, sizeof(err)), 0, "%s", err);
	book_free(b);
	/* The same file padded past what 10 slots allow. */
	size_t limit = book_file_max_bytes(10);
	int fd = open(path_in("ten.json"), O_WRONLY | O_APPEND);
	cr_assert_geq(fd, 0);
	char *pad = malloc(limit);
	memset(pad, ' ', limit);
	cr_assert_eq(write(fd, pad, limit), (ssize_t)limit);
	close(fd);
	free(pad);
	struct book_opts o = { .seed = 1, .capacity = 10 };
	struct book_file_opts fo = { .no_cache = true };
	struct book *l = NULL;
	cr_expect_eq(book_load(path_in("ten.json"), &o, &fo, &l, err, sizeof(err)), -EFBIG);
	cr_expect(strstr(err, "byte limit"), "%s", err);
}

Test(book_limits, hundred_thousand_records_save_and_load_into_the_capacity_they_came_from,
     .timeout = 120)
{
	struct book *b = book_of(100000, 2000, 98000, 1);
	cr_assert_eq(book_file_count(b), 100000);
	char err[256];
	cr_assert_eq(book_save(b, path_in("100k.json"), &wall, err, sizeof(err)), 0, "%s", err);
	cr_expect_leq((size_t)file_size(path_in("100k.json")), book_file_max_bytes(100000));
	struct book_opts o = { .seed = 1, .capacity = 100000 };
	struct book_file_opts fo = { .no_cache = true };
	struct book *l;
	cr_assert_eq(book_load(path_in("100k.json"), &o, &fo, &l, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(book_file_count(l), 100000);
	cr_expect_eq(book_size(l), book_size(b));
	cr_expect_eq(book_n_banned(l), 98000);
	uint32_t differ = 0;
	for (int s = book_next_slot(b, 0); s >= 0; s = book_next_slot(b, (uint32_t)s + 1)) {
		const struct mukan_peer *p = book_slot(b, (uint32_t)s);
		int ls = book_find(l, p->id);
		differ += ls < 0 || !mukan_addr_equal(&book_slot(l, (uint32_t)ls)->addr, &p->addr);
	}
	cr_expect_eq(differ, 0, "%u records did not come back", differ);
	book_free(l);
	book_free(b);
	/* Into the default capacity it is refused (too many bytes for 32768 records, or
	 * too many records), with the numbers: never half loaded. */
	struct book_opts def = { .seed = 1 };
	l = NULL;
	int e = book_load(path_in("100k.json"), &def, &fo, &l, err, sizeof(err));
	cr_expect(e == -EFBIG || e == -ENOSPC, "load into the default capacity: %d", e);
	cr_expect(strstr(err, "32768 slots"), "%s", err);
	cr_expect_null(l);
}

/* ---- the save guard ------------------------------------------------------------------ */

TestSuite(book_guard, .init = make_dir, .fini = remove_dir);

static unsigned count_aside(const char *tag)
{
	unsigned n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		n += strstr(e->d_name, tag) != NULL && !strstr(e->d_name, ".cache");
	closedir(d);
	return n;
}

Test(book_guard, a_file_of_another_book_is_kept_aside_before_it_is_replaced)
{
	struct book *other = book_of(0, 200, 0, 1), *ours = book_of(0, 1, 0, 900);
	book_set_key(other, "0123456789abcdef01234567", 24);
	char err[256], kept[512];
	const char *path = path_in("a.json");
	cr_assert_eq(book_save(other, path, &wall, err, sizeof(err)), 0, "%s", err);
	struct book_file_seen seen = { 0 };
	cr_assert_eq(book_save_guarded(ours, path, &wall, &seen, kept, sizeof(kept), err,
				       sizeof(err)),
		     0, "%s", err);
	cr_expect(strstr(kept, "another book") && strstr(kept, "200 records") &&
			  strstr(kept, ".replaced-"),
		  "kept: %s", kept);
	cr_expect_eq(count_aside(".replaced-"), 1);
	const char *aside = strstr(kept, "kept it as ") + strlen("kept it as ");
	struct book_opts o = { .seed = 1 };
	struct book *l;
	cr_assert_eq(book_load(aside, &o, &wall, &l, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(book_file_count(l), 200);
	cr_expect_str_eq(book_key(l), "0123456789abcdef01234567");
	book_free(l);
	book_free(other);
	book_free(ours);
}

Test(book_guard, a_file_with_more_records_is_kept_aside_and_fewer_is_just_replaced)
{
	struct book *big = book_of(0, 50, 0, 1), *small = book_of(0, 40, 0, 1);
	char err[256], kept[512];
	const char *path = path_in("b.json");
	struct book_file_seen seen = { 0 };
	/* No file yet, then a bigger book of the same key: nothing to keep. */
	cr_assert_eq(book_save_guarded(small, path, &wall, &seen, kept, sizeof(kept), err,
				       sizeof(err)),
		     0);
	cr_expect_str_empty(kept);
	cr_assert_eq(book_save_guarded(big, path, &wall, &seen, kept, sizeof(kept), err,
				       sizeof(err)),
		     0);
	cr_expect_str_empty(kept);
	/* Then fewer: the 50 are kept. */
	cr_assert_eq(book_save_guarded(small, path, &wall, &seen, kept, sizeof(kept), err,
				       sizeof(err)),
		     0);
	cr_expect(strstr(kept, "50 records, more than the 40"), "kept: %s", kept);
	cr_expect_eq(count_aside(".replaced-"), 1);
	book_free(big);
	book_free(small);
}

Test(book_guard, an_unchanged_file_is_not_parsed_again_and_a_changed_one_is)
{
	struct book *b = book_of(0, 30, 0, 1);
	char err[256], kept[512];
	const char *path = path_in("c.json");
	struct book_file_seen seen = { 0 };
	cr_assert_eq(book_save_guarded(b, path, &wall, &seen, kept, sizeof(kept), err,
				       sizeof(err)),
		     0);
	cr_assert(seen.known && seen.count == 30);
	/* Same size and times, other bytes: trusted from what was seen, so not parsed. */
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	int fd = open(path, O_WRONLY);
	char *junk = malloc((size_t)st.st_size);
	memset(junk, 'x', (size_t)st.st_size);
	cr_assert_eq(write(fd, junk, (size_t)st.st_size), st.st_size);
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	cr_assert_eq(futimens(fd, times), 0);
	close(fd);
	cr_assert_eq(book_save_guarded(b, path, &wall, &seen, kept, sizeof(kept), err,
				       sizeof(err)),
		     0);
	cr_expect_str_empty(kept, "an unchanged file was parsed: %s", kept);
	/* Changed under us (another size): parsed, and junk is kept, never dropped. */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, junk, 10), 10);
	close(fd);
	free(junk);
	cr_assert_eq(book_save_guarded(b, path, &wall, &seen, kept, sizeof(kept), err,
				       sizeof(err)),
		     0);
	cr_expect(strstr(kept, "does not load"), "kept: %s", kept);
	book_free(b);
}

/* ---- the union of two copies ---------------------------------------------------------- */

Test(book_union, only_one_side_records_are_kept_and_the_newer_side_wins)
{
	struct book *live = book_of(0, 10, 0, 1), *file = book_of(0, 10, 0, 6); /* IDs 6..15 */
	/* ID 8: both hold it, with different attempts; the file's ban is later. */
	struct netaddr n8 = test_v4(8, 10 + 7, 0, 0, 1);
	book_slot_mut(live, (uint32_t)book_find(live, n8.id))->attempts = 1;
	book_slot_mut(file, (uint32_t)book_find(file, n8.id))->attempts = 2;
	for (int newer = 0; newer < 2; newer++) {
		struct book *l = book_of(0, 10, 0, 1);
		book_slot_mut(l, (uint32_t)book_find(l, n8.id))->attempts = 1;
		struct book_union_tally t;
		cr_assert_eq(book_union(l, file, newer, true, &t), 0);
		cr_expect_eq(book_file_count(l), 15, "the union holds IDs 1..15");
		cr_expect_eq(t.added, 5);
		cr_expect_eq(t.needed, 15);
		const struct mukan_peer *p = test_rec(l, &n8);
		cr_assert_not_null(p);
		cr_expect_eq(p->attempts, newer ? 2 : 1, "the %s side must win",
			     newer ? "file" : "map");
		book_free(l);
	}
	book_free(live);
	book_free(file);
}

Test(book_union, a_ban_lasts_until_the_later_of_the_two)
{
	struct book *live = book_of(0, 3, 0, 1), *file = book_of(0, 0, 3, 1); /* file: all banned */
	struct book_union_tally t;
	/* The map is newer, but the file's ban is the later: the record ends up banned. */
	cr_assert_eq(book_union(live, file, false, true, &t), 0);
	cr_expect_eq(book_n_banned(live), 3);
	for (uint32_t i = 1; i <= 3; i++) {
		struct netaddr na = test_v4(i, 10 + (int)(i - 1), 0, 0, 1);
		const struct mukan_peer *p = test_rec(live, &na);
		cr_assert_not_null(p);
		cr_expect_eq(p->ban_until, T0 + 86400 * SEC);
		cr_expect(p->flags & MUKAN_PEER_BANNED);
	}
	book_free(live);
	book_free(file);
}

Test(book_union, a_union_too_big_for_the_book_changes_nothing)
{
	struct book *live = book_of(12, 10, 0, 1), *file = book_of(0, 10, 0, 101);
	uint32_t before = book_file_count(live);
	struct book_union_tally t;
	cr_expect_eq(book_union(live, file, true, true, &t), -ENOSPC);
	cr_expect_eq(t.needed, 20);
	cr_expect_eq(book_file_count(live), before);
	book_free(live);
	book_free(file);
}

Test(book_union, other_keys_place_the_records_anew)
{
	struct book *live = book_of(0, 0, 0, 1), *file = book_of(0, 5, 0, 1);
	static const uint8_t hk[BOOK_HASH_KEY_LEN] = { 9, 9, 9 };
	book_set_hash_key(live, hk);
	struct book_union_tally t;
	cr_assert_eq(book_union(live, file, true, false, &t), 0);
	for (uint32_t i = 1; i <= 5; i++) {
		struct netaddr na = test_v4(i, 10 + (int)(i - 1), 0, 0, 1);
		const struct mukan_peer *p = test_rec(live, &na);
		cr_assert_not_null(p);
		cr_expect_eq(p->n_buckets, 1);
		cr_expect_eq(p->buckets[0], placement_new_bucket(book_placement(live), &na, &na),
			     "record %u kept a bucket of the other keys", i);
	}
	book_free(live);
	book_free(file);
}

/* ---- which book the daemon starts with -------------------------------------------- */

static struct start_facts facts(void)
{
	return (struct start_facts){ .file = true, .file_key = "aaa", .file_count = 200,
				     .file_gen = 3, .file_mtime_ns = 100, .map_used = 150,
				     .map_capacity = 32768, .state = MUKAN_META_READY,
				     .map_key = "aaa", .map_gen = 3, .map_synced_ns = 50 };
}

Test(book_start, every_row_of_the_table)
{
	struct start_facts f;
#define CASE(body, want)                                                                  \
	do {                                                                              \
		f = facts();                                                              \
		body;                                                                     \
		enum start_action got = book_start_decide(&f);                            \
		cr_expect_eq(got, want, "%s: got %s, want %s", #body, book_start_action_name(got), \
			     book_start_action_name(want));                               \
	} while (0)
	CASE((void)0, START_MAP); /* same book, same generation: the map has it all */
	CASE(f.file_gen = 5, START_UNION_FILE_NEWER);
	CASE(f.file_gen = 1, START_UNION_MAP_NEWER);
	CASE((f.file_gen = 0, f.file_mtime_ns = 60), START_UNION_FILE_NEWER); /* upstream wrote it */
	CASE((f.file_gen = 0, f.file_mtime_ns = 40), START_UNION_MAP_NEWER);
	CASE(f.map_key = "bbb", START_OTHER_BOOK);
	CASE(f.map_key = "", START_OTHER_BOOK);
	CASE((f.map_key = "bbb", f.reimport = true), START_REIMPORT);
	CASE((f.reimport = true, f.file_count = 40000), START_TOO_BIG);
	CASE(f.map_used = 0, START_IMPORT);			   /* an empty map never refuses */
	CASE((f.map_used = 0, f.map_key = "bbb"), START_IMPORT); /* ... whatever its keys */
	CASE((f.map_used = 0, f.file_count = 40000), START_TOO_BIG);
	CASE((f.map_used = 0, f.file = false), START_EMPTY);
	CASE(f.file = false, START_MAP);
	CASE((f.file = false, f.reimport = true), START_NOTHING_TO_REIMPORT);
	CASE(f.state = MUKAN_META_IMPORTING, START_REDO);
	CASE((f.state = MUKAN_META_IMPORTING, f.map_used = 0), START_REDO);
	CASE((f.state = MUKAN_META_IMPORTING, f.map_key = "bbb"), START_OTHER_BOOK);
	CASE((f.state = MUKAN_META_IMPORTING, f.file = false), START_MAP);
	CASE((f.state = MUKAN_META_IMPORTING, f.reimport = true), START_REIMPORT);
	CASE((f.state = MUKAN_META_EMPTY, f.map_key = "bbb"), START_OTHER_BOOK); /* live adds */
#undef CASE
}

/* ---- the setting ------------------------------------------------------------------------ */

Test(config, book_capacity_takes_64_to_a_million)
{
	struct dialer_config c;
	char why[256];
	config_defaults(&c);
	cr_expect_eq(c.book_capacity, BOOK_DEFAULT_CAPACITY);
	cr_expect_eq(config_set(&c, "book_capacity", "100000", why, sizeof(why)), 0);
	cr_expect_eq(c.book_capacity, 100000);
	cr_expect_eq(config_set(&c, "book_capacity", "63", why, sizeof(why)), -EINVAL);
	cr_expect_eq(config_set(&c, "book_capacity", "1048577", why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "64") && strstr(why, "1048576"), "%s", why);
	cr_expect_eq(c.book_capacity, 100000);
}
