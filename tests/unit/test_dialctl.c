/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_dialctl.c - the mukan-dialctl binary, run as an operator would run it.
 *
 * Each test works in its own mkdtemp directory, runs $MUKAN_BUILD/mukan-dialctl
 * with fork/exec, and checks the exit status, the output, and the file on disk
 * through the library itself (book_load, placement_*), so the CLI and the
 * library cannot drift apart unnoticed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "book/book.h"
#include "book/book_file.h"
#include "book/placement.h"
#include "book/timefmt.h"
#include "mukan/rules.h"
#include "vectors.h"

/* Two peers from REFERENCE.md's example file. */
#define PEER_A "d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e@77.145.180.81:28569"
#define PEER_A_ID "d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e"
#define PEER_B "73135b4bcf16b49f04ce3b1315e9aacd0a64267e@[2a01:7a7e::1]:26656"
#define PEER_B_ID "73135b4bcf16b49f04ce3b1315e9aacd0a64267e"
#define LOOPBACK_PEER "1111111111111111111111111111111111111111@127.0.0.1:26656"
#define ABSENT_ID "3333333333333333333333333333333333333333"

static char workdir[PATH_MAX];

/* ---- running the binary ----------------------------------------------- */

struct run {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
};

static const char *dialctl_bin(void)
{
	static char path[PATH_MAX];
	const char *dir = getenv("MUKAN_BUILD");
	cr_assert(dir && *dir,
		  "MUKAN_BUILD is not set: it must name the build directory holding "
		  "mukan-dialctl (`make unit` sets it)");
	snprintf(path, sizeof(path), "%s/mukan-dialctl", dir);
	cr_assert_eq(access(path, X_OK), 0, "%s is not an executable (%s): build it first", path,
		     strerror(errno));
	return path;
}

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	cr_assert_not_null(buf);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			cr_assert_not_null(buf);
		}
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Run argv[0] (looked up in PATH) with stdout and stderr captured, in workdir. */
static struct run run_exec(const char *const *argv)
{
	char out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
	snprintf(out_path, sizeof(out_path), "%s/.stdout", workdir);
	snprintf(err_path, sizeof(err_path), "%s/.stderr", workdir);

	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || chdir(workdir) < 0)
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int ws;
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	struct run r = { .status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws) };
	r.out = read_whole(out_path, NULL);
	r.err = read_whole(err_path, NULL);
	cr_assert(r.out && r.err, "cannot read the captured output");
	unlink(out_path);
	unlink(err_path);
	return r;
}

/* Run mukan-dialctl with args (NULL-terminated), after `prefix` (a wrapper) if any. */
static struct run run_wrapped(const char *const *prefix, const char *const *args)
{
	const char *argv[48];
	int argc = 0;
	for (; prefix && prefix[argc]; argc++)
		argv[argc] = prefix[argc];
	argv[argc++] = dialctl_bin();
	for (int i = 0; args[i]; i++) {
		cr_assert_lt(argc, 47, "too many arguments");
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	return run_exec(argv);
}

static struct run run_argv(const char *const *args)
{
	return run_wrapped(NULL, args);
}

#define RUN(...) run_argv((const char *const[]){ __VA_ARGS__, NULL })

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* ---- files and books ---------------------------------------------------- */

static void setup(void)
{
	snprintf(workdir, sizeof(workdir), "/tmp/dialctl-test-XXXXXX");
	cr_assert_not_null(mkdtemp(workdir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
	DIR *d = opendir(workdir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char p[PATH_MAX + 256];
		snprintf(p, sizeof(p), "%s/%s", workdir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(workdir);
}

TestSuite(dialctl, .init = setup, .fini = teardown);

/* An absolute path inside the work directory (static: one at a time per name). */
static const char *in_work(const char *name)
{
	static char paths[4][PATH_MAX + 64];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof(paths[0]), "%s/%s", workdir, name);
	return p;
}

static int64_t wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct netaddr parse_na(const char *s)
{
	struct netaddr na;
	char err[200] = "";
	cr_assert_eq(netaddr_parse(s, 0, &na, NULL, 0, err, sizeof(err)), 0, "parse %s: %s", s,
		     err);
	return na;
}

static void id_of(const char *hex, uint8_t id[MUKAN_ID_LEN])
{
	cr_assert_eq(node_id_parse(hex, strlen(hex), id), 0, "bad ID %s", hex);
}

static struct book *load(const char *path, bool strict)
{
	struct book_opts opts = { .strict = strict };
	struct book_file_opts fo = { 0 };
	struct book *b = NULL;
	char err[512] = "";
	int rc = book_load(path, &opts, &fo, &b, err, sizeof(err));
	cr_assert_eq(rc, 0, "book_load(%s) = %d: %s", path, rc, err);
	return b;
}

/*
 * The i-th of many distinct routable addresses: first octet 30..119 (clear
 * of 10/8, 127/8, 169.254/16, 172.16/12 and 192.168/16), so groups differ.
 */
static struct netaddr gen_addr(unsigned i)
{
	struct netaddr na;
	memset(&na, 0, sizeof(na));
	na.has_id = true;
	memset(na.id, 0xab, MUKAN_ID_LEN);
	na.id[0] = (uint8_t)(i >> 24);
	na.id[1] = (uint8_t)(i >> 16);
	na.id[2] = (uint8_t)(i >> 8);
	na.id[3] = (uint8_t)i;
	na.a.family = MUKAN_AF_INET;
	na.a.ip[0] = (uint8_t)(30 + i % 90);
	na.a.ip[1] = (uint8_t)(i / 90);
	na.a.ip[2] = (uint8_t)i;
	na.a.ip[3] = 1;
	na.a.port = 26656;
	return na;
}

static struct book *new_book(void)
{
	struct book_opts opts = { .strict = true, .seed = 1 };
	struct book *b = NULL;
	cr_assert_eq(book_new(&b, &opts), 0);
	return b;
}

static void save(const struct book *b, const char *path)
{
	struct book_file_opts fo = { 0 };
	char err[512] = "";
	cr_assert_eq(book_save(b, path, &fo, err, sizeof(err)), 0, "book_save: %s", err);
}

/* A book of n generated addresses, all new, added now from source gen_addr(n + 1). */
static void write_generated(const char *path, unsigned n)
{
	struct book *b = new_book();
	struct netaddr src = gen_addr(100000);
	int64_t now = wall_now();
	for (unsigned i = 0; i < n; i++) {
		struct netaddr a = gen_addr(i);
		cr_assert_eq(book_add(b, &a, &src, now), 1, "book_add #%u", i);
	}
	save(b, path);
	book_free(b);
}

static char *slurp(const char *path, size_t *len)
{
	char *s = read_whole(path, len);
	cr_assert_not_null(s, "cannot read %s: %s", path, strerror(errno));
	return s;
}

/* Write len bytes of text to path, replacing what was there. */
static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fwrite(text, 1, len, f);
	fclose(f);
}

static void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

static void assert_same_bytes(const char *path, const char *want, size_t want_len)
{
	size_t len;
	char *got = slurp(path, &len);
	cr_assert(len == want_len && memcmp(got, want, len) == 0, "%s changed", path);
	free(got);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- add and check ---------------------------------------------------- */

Test(dialctl, add_creates_a_file_that_check_accepts)
{
	const char *file = in_work("book.json");
	struct run r = RUN("book", "add", file, PEER_A, "--src", PEER_B);
	cr_assert_eq(r.status, 0, "add: status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "added " PEER_A), "add said: %s", r.out);
	run_free(&r);

	char *text = slurp(file, NULL);
	cr_assert(strstr(text, "\"" PEER_A_ID "\""), "the file lacks the ID:\n%s", text);
	free(text);

	struct book *b = load(file, true);
	uint8_t id[MUKAN_ID_LEN];
	id_of(PEER_A_ID, id);
	int slot = book_find(b, id);
	cr_assert_geq(slot, 0, "the saved book has no record of " PEER_A);
	struct netaddr got_addr, got_src, want_addr = parse_na(PEER_A), want_src = parse_na(PEER_B);
	book_peer_addr(book_slot(b, (uint32_t)slot), &got_addr);
	book_peer_src(book_slot(b, (uint32_t)slot), &got_src);
	cr_assert(netaddr_equal(&got_addr, &want_addr));
	cr_assert(netaddr_equal(&got_src, &want_src));
	cr_assert_eq(book_slot(b, (uint32_t)slot)->buckets[0],
		     placement_new_bucket(book_placement(b), &want_addr, &want_src),
		     "the record is not in the bucket upstream's formula gives");

	char want[512];
	snprintf(want, sizeof(want), "%s: ok: 1 addresses (1 new, 0 old), 0 banned, key %s\n", file,
		 book_key(b));
	book_free(b);
	r = RUN("book", "check", file);
	cr_assert_eq(r.status, 0, "check: status %d, stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.out, want);
	cr_assert_str_empty(r.err);
	run_free(&r);
}

Test(dialctl, add_to_an_existing_file_keeps_its_keys)
{
	const char *file = in_work("book.json");
	struct run r = RUN("book", "add", file, PEER_A);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	struct book *before = load(file, true);
	char key[BOOK_KEY_MAX + 1];
	uint8_t hk[BOOK_HASH_KEY_LEN];
	snprintf(key, sizeof(key), "%s", book_key(before));
	memcpy(hk, book_hash_key(before), sizeof(hk));
	book_free(before);

	r = RUN("book", "add", file, PEER_B, "--src", PEER_A);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	struct book *after = load(file, true);
	cr_assert_str_eq(book_key(after), key);
	cr_assert_arr_eq(book_hash_key(after), hk, sizeof(hk));
	cr_assert_eq(book_size(after), 2);
	uint8_t id[MUKAN_ID_LEN];
	id_of(PEER_B_ID, id);
	cr_assert_geq(book_find(after, id), 0);
	book_free(after);
}

Test(dialctl, add_refuses_non_routable_in_strict_mode_only)
{
	const char *file = in_work("book.json");
	struct run r = RUN("book", "add", file, LOOPBACK_PEER);
	cr_assert_eq(r.status, 1, "strict add of loopback: status %d", r.status);
	cr_assert(strstr(r.err, "strict"), "stderr does not mention strict: %s", r.err);
	cr_assert(strstr(r.err, "--no-strict"), "stderr does not suggest --no-strict: %s", r.err);
	cr_assert(access(file, F_OK) < 0 && errno == ENOENT, "a refused add created the file");
	run_free(&r);

	/* A private range on an existing file: refused, file untouched. */
	r = RUN("book", "add", file, PEER_A);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	size_t len;
	char *before = slurp(file, &len);
	r = RUN("book", "add", file, "2222222222222222222222222222222222222222@192.168.1.5:26656");
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "strict"), "%s", r.err);
	run_free(&r);
	assert_same_bytes(file, before, len);
	free(before);

	r = RUN("book", "add", "--no-strict", file, LOOPBACK_PEER);
	cr_assert_eq(r.status, 0, "--no-strict add: status %d, stderr: %s", r.status, r.err);
	run_free(&r);
	struct book *b = load(file, false);
	uint8_t id[MUKAN_ID_LEN];
	id_of("1111111111111111111111111111111111111111", id);
	cr_assert_geq(book_find(b, id), 0, "the loopback address is not in the book");
	cr_assert_eq(book_size(b), 2);
	book_free(b);
}

Test(dialctl, add_refuses_a_banned_address_by_name)
{
	const char *file = in_work("book.json");
	struct book *b = new_book();
	struct netaddr a = parse_na(PEER_A);
	int64_t now = wall_now();
	cr_assert_eq(book_add(b, &a, &a, now), 1);
	cr_assert_eq(book_mark_bad(b, a.id, 3600 * MUKAN_NS_PER_SEC, now), 0);
	save(b, file);
	book_free(b);
	size_t len;
	char *before = slurp(file, &len);

	struct run r = RUN("book", "add", file, PEER_A);
	cr_assert_eq(r.status, 1, "status %d", r.status);
	cr_assert(strstr(r.err, "banned"), "stderr: %s", r.err);
	cr_assert(strstr(r.err, "EACCES"), "stderr lacks the errno name: %s", r.err);
	run_free(&r);
	assert_same_bytes(file, before, len);
	free(before);
}

Test(dialctl, add_of_a_known_address_succeeds)
{
	const char *file = in_work("book.json");
	struct run r = RUN("book", "add", file, PEER_A);
	cr_assert_eq(r.status, 0);
	run_free(&r);
	r = RUN("book", "add", file, PEER_A);
	cr_assert_eq(r.status, 0, "re-add: %s", r.err);
	run_free(&r);
	struct book *b = load(file, true);
	cr_assert_eq(book_size(b), 1, "a re-add duplicated the record");
	book_free(b);
}

/* ---- remove ------------------------------------------------------------ */

Test(dialctl, remove_drops_one_record_and_a_second_remove_fails)
{
	const char *file = in_work("book.json");
	struct run r = RUN("book", "add", file, PEER_A);
	cr_assert_eq(r.status, 0);
	run_free(&r);
	r = RUN("book", "add", file, PEER_B);
	cr_assert_eq(r.status, 0);
	run_free(&r);

	r = RUN("book", "remove", file, PEER_A_ID);
	cr_assert_eq(r.status, 0, "remove: status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "removed " PEER_A), "%s", r.out);
	run_free(&r);
	struct book *b = load(file, true);
	uint8_t ida[MUKAN_ID_LEN], idb[MUKAN_ID_LEN];
	id_of(PEER_A_ID, ida);
	id_of(PEER_B_ID, idb);
	cr_assert_lt(book_find(b, ida), 0, "still there after remove");
	cr_assert_geq(book_find(b, idb), 0, "remove took the wrong record");
	cr_assert_eq(book_size(b), 1);
	book_free(b);

	size_t len;
	char *before = slurp(file, &len);
	r = RUN("book", "remove", file, PEER_A_ID);
	cr_assert_eq(r.status, 1, "second remove: status %d", r.status);
	cr_assert(strstr(r.err, PEER_A_ID), "stderr: %s", r.err);
	run_free(&r);
	assert_same_bytes(file, before, len);
	free(before);

	/* A full id@ip:port names the record by its ID. */
	r = RUN("book", "remove", file, PEER_B);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	b = load(file, true);
	cr_assert_eq(book_size(b), 0);
	book_free(b);
}

/* ---- stats and show ------------------------------------------------------ */

#define MIX_ADDED 12
#define MIX_STALE_FROM 10 /* 10 and 11 were last attempted 8 days ago: bad */

/*
 * A book with every kind of record: 3 old (0-2), 2 active bans (3-4), one
 * ended ban (5), 4 fresh new (6-9) and 2 stale new (10-11).
 */
static struct book *write_mixed(const char *path)
{
	struct book *b = new_book();
	struct netaddr src = gen_addr(9999);
	int64_t now = wall_now(), hour = 3600 * MUKAN_NS_PER_SEC;
	for (unsigned i = 0; i < MIX_ADDED; i++) {
		struct netaddr a = gen_addr(i);
		int64_t t = i >= MIX_STALE_FROM ? now - 8 * MUKAN_NS_PER_DAY : now;
		cr_assert_eq(book_add(b, &a, &src, t), 1);
	}
	for (unsigned i = 0; i < 3; i++) {
		struct netaddr a = gen_addr(i);
		cr_assert_eq(book_mark_good(b, a.id, now), 0);
	}
	for (unsigned i = 3; i < 5; i++) {
		struct netaddr a = gen_addr(i);
		cr_assert_eq(book_mark_bad(b, a.id, hour, now), 0);
	}
	struct netaddr ended = gen_addr(5);
	cr_assert_eq(book_mark_bad(b, ended.id, hour, now - 2 * hour), 0);
	save(b, path);
	return b;
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static void assert_side(json_t *o, const char *name, const struct book *b, int type, unsigned n)
{
	json_t *side = json_object_get(o, name);
	cr_assert(json_is_object(side), "no \"%s\" object", name);
	cr_assert_eq(jint(side, "count"), n);
	json_t *fill = json_object_get(side, "fill");
	cr_assert(json_is_array(fill) && json_array_size(fill) == n, "%s.fill size", name);
	json_int_t entries = 0, in_use = 0;
	for (unsigned i = 0; i < n; i++) {
		json_int_t got = json_integer_value(json_array_get(fill, i));
		cr_assert_eq(got, book_bucket_len(b, type, i), "%s.fill[%u] = %lld, book has %u",
			     name, i, (long long)got, book_bucket_len(b, type, i));
		entries += got;
		in_use += got > 0;
	}
	cr_assert_eq(jint(side, "entries"), entries);
	cr_assert_eq(jint(side, "in_use"), in_use);
	cr_assert_eq(jint(side, "full"), 0);
}

Test(dialctl, stats_json_counts_every_kind_of_record)
{
	const char *file = in_work("book.json");
	struct book *made = write_mixed(file);
	struct book *b = load(file, true);

	struct run r = RUN("book", "stats", file, "--json");
	cr_assert_eq(r.status, 0, "stats: status %d, stderr: %s", r.status, r.err);
	json_error_t jerr;
	json_t *o = json_loads(r.out, 0, &jerr);
	cr_assert_not_null(o, "stats --json is not JSON (%s): %s", jerr.text, r.out);
	cr_assert_eq(jint(o, "total"), 9);
	cr_assert_eq(jint(o, "new"), 6); /* 6-9 fresh, 10-11 stale */
	cr_assert_eq(jint(o, "old"), 3);
	cr_assert_eq(jint(o, "bad"), 2);
	cr_assert_eq(jint(o, "banned"), 3);
	cr_assert_eq(jint(o, "bans_ended"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(o, "key")), book_key(made));
	assert_side(o, "new_buckets", b, MUKAN_BUCKET_NEW, BOOK_NEW_BUCKETS);
	assert_side(o, "old_buckets", b, MUKAN_BUCKET_OLD, BOOK_OLD_BUCKETS);
	/* Each record sits in one bucket: the fills add up to the counts. */
	cr_assert_eq(jint(json_object_get(o, "new_buckets"), "entries"), 6);
	cr_assert_eq(jint(json_object_get(o, "old_buckets"), "entries"), 3);
	json_decref(o);
	run_free(&r);

	book_free(b);
	book_free(made);
}

Test(dialctl, stats_text_summary_line)
{
	const char *file = in_work("book.json");
	struct book *made = write_mixed(file);
	char want[512];
	snprintf(want, sizeof(want),
		 "%s: 9 addresses (6 new, 3 old), 2 bad, 3 banned (1 ban ended), key %s\n", file,
		 book_key(made));
	book_free(made);
	struct run r = RUN("book", "stats", file);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strncmp(r.out, want, strlen(want)) == 0, "want first line\n%sgot\n%s", want,
		  r.out);
	cr_assert(strstr(r.out, "old buckets: "), "%s", r.out);
	run_free(&r);
}

Test(dialctl, show_finds_one_record_by_id)
{
	const char *file = in_work("book.json");
	struct book *made = write_mixed(file);
	book_free(made);
	struct netaddr good = gen_addr(1), banned = gen_addr(3);
	char good_text[NETADDR_STRLEN], good_id[2 * MUKAN_ID_LEN + 1];
	char banned_id[2 * MUKAN_ID_LEN + 1];
	netaddr_format(&good, good_text);
	node_id_format(good.id, good_id);
	node_id_format(banned.id, banned_id);

	struct run r = RUN("book", "show", file, good_id);
	cr_assert_eq(r.status, 0, "show: status %d, stderr %s", r.status, r.err);
	char first[NETADDR_STRLEN + 2];
	snprintf(first, sizeof(first), "%s\n", good_text);
	cr_assert(strncmp(r.out, first, strlen(first)) == 0, "show printed:\n%s", r.out);
	cr_assert(strstr(r.out, "  type          old\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  last error    none\n"), "%s", r.out);
	cr_assert_eq(strstr(r.out + 1, "\n\n"), NULL, "more than one record printed:\n%s", r.out);
	run_free(&r);

	/* JSON, and a full address with another IP still matches by ID. */
	char other[128];
	snprintf(other, sizeof(other), "%s@8.8.8.8:1", banned_id);
	r = RUN("book", "show", "--json", file, other);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *arr = json_loads(r.out, 0, NULL);
	cr_assert(json_is_array(arr) && json_array_size(arr) == 1, "show --json: %s", r.out);
	json_t *o = json_array_get(arr, 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "id")), banned_id);
	cr_assert_str_eq(json_string_value(json_object_get(o, "type")), "banned");
	cr_assert(json_is_true(json_object_get(o, "ban_active")));
	cr_assert(json_is_string(json_object_get(o, "ban_until")));
	cr_assert(json_is_null(json_object_get(o, "last_success")));
	json_decref(arr);
	run_free(&r);

	/* Everything: nine bucketed plus three banned records. */
	r = RUN("book", "show", "--json", file);
	cr_assert_eq(r.status, 0);
	arr = json_loads(r.out, 0, NULL);
	cr_assert(json_is_array(arr));
	cr_assert_eq(json_array_size(arr), MIX_ADDED);
	json_decref(arr);
	run_free(&r);

	r = RUN("book", "show", file, ABSENT_ID);
	cr_assert_eq(r.status, 1, "show of an absent ID: status %d", r.status);
	cr_assert(strstr(r.err, ABSENT_ID), "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
}

Test(dialctl, show_prints_dial_state_by_errno_name_and_rfc3339)
{
	const char *file = in_work("book.json");
	struct book *b = new_book();
	struct netaddr a = parse_na(PEER_A);
	int64_t now = wall_now();
	int64_t next = now + 3600 * MUKAN_NS_PER_SEC + 500; /* sub-second part must survive */
	cr_assert_eq(book_add(b, &a, &a, now), 1);
	struct mukan_peer *p = book_slot_mut(b, (uint32_t)book_find(b, a.id));
	p->failures = 4;
	p->last_error = ECONNREFUSED;
	p->dials = 9;
	p->next_dial = next;
	p->flags |= MUKAN_PEER_PERSISTENT;
	save(b, file);
	book_free(b);
	char when[TIME_STRLEN];
	time_format(next, when);

	struct run r = RUN("book", "show", file, PEER_A_ID);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "  failures      4\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  last error    ECONNREFUSED (Connection refused)\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  last success  never\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  flags         persistent\n"), "%s", r.out);
	char want[128];
	snprintf(want, sizeof(want), "  next dial     %s (in ", when);
	cr_assert(strstr(r.out, want), "want \"%s\" in:\n%s", want, r.out);
	run_free(&r);

	r = RUN("book", "show", "--json", file, PEER_A);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *arr = json_loads(r.out, 0, NULL), *o = json_array_get(arr, 0);
	cr_assert_not_null(o, "%s", r.out);
	cr_assert_str_eq(json_string_value(json_object_get(o, "last_error")), "ECONNREFUSED");
	cr_assert_eq(jint(o, "last_errno"), ECONNREFUSED);
	cr_assert_eq(jint(o, "failures"), 4);
	cr_assert_eq(jint(o, "dials"), 9);
	cr_assert_str_eq(json_string_value(json_object_get(o, "next_dial")), when);
	cr_assert_str_eq(json_string_value(json_object_get(o, "type")), "new");
	json_t *flags = json_object_get(o, "flags");
	cr_assert(json_is_array(flags) && json_array_size(flags) == 1);
	cr_assert_str_eq(json_string_value(json_array_get(flags, 0)), "persistent");
	json_decref(arr);
	run_free(&r);
}

/* ---- pick ------------------------------------------------------------------ */

#define PICK_BOOK_SIZE 40

Test(dialctl, pick_with_a_seed_is_reproducible_and_picks_from_the_book)
{
	const char *file = in_work("book.json");
	write_generated(file, PICK_BOOK_SIZE);

	struct run r1 = RUN("book", "pick", file, "--outbound", "3", "--count", "10", "--seed", "7");
	struct run r2 = RUN("book", "pick", file, "--outbound", "3", "--count", "10", "--seed", "7");
	struct run r3 = RUN("book", "pick", file, "--outbound", "3", "--count", "10", "--seed", "8");
	cr_assert_eq(r1.status, 0, "pick: %s", r1.err);
	cr_assert_eq(r2.status, 0);
	cr_assert_eq(r3.status, 0);
	cr_assert_str_eq(r1.out, r2.out, "same seed, different picks");
	cr_assert_str_neq(r1.out, r3.out, "seeds 7 and 8 picked the same");
	cr_assert_eq(count_lines(r1.out), 10, "want 10 picks from %d addresses:\n%s%s",
		     PICK_BOOK_SIZE, r1.out, r1.err);

	struct book *b = load(file, true);
	bool seen[PICK_BOOK_SIZE] = { false };
	char *save_ptr = NULL;
	for (char *line = strtok_r(r1.out, "\n", &save_ptr); line;
	     line = strtok_r(NULL, "\n", &save_ptr)) {
		struct netaddr na = parse_na(line), in_book;
		int slot = book_find(b, na.id);
		cr_assert_geq(slot, 0, "picked %s, which is not in the book", line);
		book_peer_addr(book_slot(b, (uint32_t)slot), &in_book);
		cr_assert(netaddr_equal(&na, &in_book), "picked %s with the wrong address", line);
		unsigned i = (unsigned)na.id[2] << 8 | na.id[3];
		cr_assert_lt(i, PICK_BOOK_SIZE);
		cr_assert_not(seen[i], "%s picked twice", line);
		seen[i] = true;
	}
	book_free(b);
	run_free(&r1);
	run_free(&r2);
	run_free(&r3);
}

Test(dialctl, pick_from_an_empty_book_prints_nothing)
{
	const char *file = in_work("book.json");
	write_generated(file, 0);
	struct run r = RUN("book", "pick", file, "--count", "3", "--seed", "1");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert(strstr(r.err, "picked 0 distinct of 3"), "%s", r.err);
	run_free(&r);
}

/* ---- buckets ------------------------------------------------------------------ */

static unsigned labelled(const char *out, const char *label)
{
	const char *p = strstr(out, label);
	cr_assert_not_null(p, "no \"%s\" line in:\n%s", label, out);
	unsigned v;
	cr_assert_eq(sscanf(p + strlen(label), " %u", &v), 1, "no number after %s", label);
	return v;
}

static void assert_group_line(const char *out, const char *label, const struct netaddr *na,
			      bool strict)
{
	char text[NETADDR_STRLEN], group[GROUP_STRLEN], want[256];
	netaddr_format(na, text);
	ip_group(&na->a, strict, group);
	snprintf(want, sizeof(want), "%-11s %s group %s\n", label, text, group);
	cr_assert(strstr(out, want), "want \"%s\" in:\n%s", want, out);
}

Test(dialctl, buckets_match_the_library_placement)
{
	const char *file = in_work("book.json");
	struct run r = RUN("book", "add", file, PEER_A, "--src", PEER_B);
	cr_assert_eq(r.status, 0);
	run_free(&r);
	struct book *b = load(file, true);
	struct netaddr addr = parse_na(PEER_A), src = parse_na(PEER_B);
	const struct placement_keys *k = book_placement(b);

	r = RUN("book", "buckets", file, PEER_A, "--src", PEER_B);
	cr_assert_eq(r.status, 0, "buckets: %s", r.err);
	unsigned nb = labelled(r.out, "new bucket"), ob = labelled(r.out, "old bucket");
	cr_assert_eq(nb, placement_new_bucket(k, &addr, &src));
	cr_assert_eq(ob, placement_old_bucket(k, &addr));
	int slot = book_find(b, addr.id);
	cr_assert_eq(nb, book_slot(b, (uint32_t)slot)->buckets[0], "add and buckets disagree");
	assert_group_line(r.out, "addr", &addr, true);
	assert_group_line(r.out, "src", &src, true);
	cr_assert(strstr(r.out, "(from the file)"), "%s", r.out);
	run_free(&r);

	/* Another hash key, given on the command line. */
	static const char hk_hex[] =
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	uint8_t hk[BOOK_HASH_KEY_LEN];
	for (int i = 0; i < BOOK_HASH_KEY_LEN; i++)
		hk[i] = (uint8_t)i;
	struct placement_keys k2 = *k;
	placement_set_hash_key(&k2, hk);
	r = RUN("book", "buckets", file, PEER_B, "--src", PEER_A, "--hash-key", hk_hex);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(labelled(r.out, "new bucket"), placement_new_bucket(&k2, &src, &addr));
	cr_assert_eq(labelled(r.out, "old bucket"), placement_old_bucket(&k2, &src));
	cr_assert(strstr(r.out, hk_hex), "the hash key in use is not printed:\n%s", r.out);
	run_free(&r);
	book_free(b);

	/* Loopback: "local" in strict mode, its /16 without. */
	struct netaddr lo = parse_na(LOOPBACK_PEER);
	r = RUN("book", "buckets", "--no-strict", file, LOOPBACK_PEER);
	cr_assert_eq(r.status, 0, "%s", r.err);
	b = load(file, false);
	cr_assert_eq(labelled(r.out, "new bucket"), placement_new_bucket(book_placement(b), &lo, &lo));
	cr_assert_eq(labelled(r.out, "old bucket"), placement_old_bucket(book_placement(b), &lo));
	cr_assert(strstr(r.out, "group 127.0.0.0\n"), "%s", r.out);
	run_free(&r);
	book_free(b);
	r = RUN("book", "buckets", file, LOOPBACK_PEER);
	cr_assert(strstr(r.out, "group local\n"), "%s", r.out);
	run_free(&r);
}

/*
 * End to end against Go: for lines of tests/vectors/placement.tsv (made with
 * upstream's formulas and minio/highwayhash), a file with that key and
 * `buckets --hash-key` must print Go's buckets, in both strict modes.
 */
#define GO_VECTORS "tests/vectors/placement.tsv"
#define GO_VECTOR_MIN_CASES 300

Test(dialctl, buckets_agree_with_go_vectors)
{
	char path[PATH_MAX], line[1024];
	FILE *f = vectors_open(GO_VECTORS, path, sizeof(path));
	const char *file = in_work("keyed.json");
	int cases = 0, by_mode[2] = { 0, 0 };
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		char *col[7], *save_ptr = NULL;
		int n = 0;
		for (char *t = strtok_r(line, "\t", &save_ptr); t && n < 7;
		     t = strtok_r(NULL, "\t", &save_ptr))
			col[n++] = t;
		cr_assert_eq(n, 7, "%s: a line with %d columns", path, n);

		json_t *book = json_pack("{s:s, s:[]}", "key", col[0], "addrs");
		cr_assert_eq(json_dump_file(book, file, 0), 0);
		json_decref(book);
		bool strict = col[4][0] == '1';
		struct run r = strict ? RUN("book", "buckets", file, col[2], "--src", col[3],
					    "--hash-key", col[1])
				      : RUN("book", "buckets", "--no-strict", file, col[2], "--src",
					    col[3], "--hash-key", col[1]);
		cr_assert_eq(r.status, 0, "%s from %s: %s", col[2], col[3], r.err);
		unsigned want_new = (unsigned)strtoul(col[5], NULL, 10);
		unsigned want_old = (unsigned)strtoul(col[6], NULL, 10);
		cr_assert_eq(labelled(r.out, "new bucket"), want_new,
			     "%s from %s (strict %d): Go says new bucket %u:\n%s", col[2], col[3],
			     strict, want_new, r.out);
		cr_assert_eq(labelled(r.out, "old bucket"), want_old,
			     "%s (strict %d): Go says old bucket %u:\n%s", col[2], strict, want_old,
			     r.out);
		run_free(&r);
		cases++;
		by_mode[strict]++;
	}
	fclose(f);
	cr_assert_geq(cases, GO_VECTOR_MIN_CASES, "%s has only %d cases", path, cases);
	cr_assert(by_mode[0] > 0 && by_mode[1] > 0, "%s lacks strict or non-strict cases", path);
}

/* ---- corrupt and missing files -------------------------------------------- */

static void assert_every_verb_refuses(const char *file)
{
	size_t len;
	char *before = slurp(file, &len);
	const char *const cmds[][8] = {
		{ "book", "check", file, NULL },
		{ "book", "stats", file, "--json", NULL },
		{ "book", "show", file, NULL },
		{ "book", "add", file, PEER_A, NULL },
		{ "book", "remove", file, PEER_A_ID, NULL },
		{ "book", "pick", file, "--seed", "1", NULL },
		{ "book", "buckets", file, PEER_A, NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct run r = run_argv(cmds[i]);
		cr_assert_eq(r.status, 1, "%s on a corrupt file: status %d", cmds[i][1], r.status);
		cr_assert(strstr(r.err, file), "%s: the error does not name the file: %s",
			  cmds[i][1], r.err);
		cr_assert_eq(count_lines(r.err), 1, "%s: want one error line, got:\n%s", cmds[i][1],
			     r.err);
		run_free(&r);
		assert_same_bytes(file, before, len);
	}
	free(before);

	/* Nothing beside it: no quarantine, no temporary file left. */
	DIR *d = opendir(workdir);
	struct dirent *de;
	int entries = 0;
	while ((de = readdir(d))) /* the cache the good book was saved with is not new */
		entries += de->d_name[0] != '.' && !strstr(de->d_name, ".json.cache");
	closedir(d);
	cr_assert_eq(entries, 1, "files appeared beside the corrupt book");
}

Test(dialctl, corrupt_truncated_json_is_reported_and_left_alone)
{
	const char *good = in_work("good.json");
	write_generated(good, 5);
	size_t len;
	char *text = slurp(good, &len);
	unlink(good);
	const char *file = in_work("truncated.json");
	write_file(file, text, len / 2);
	free(text);

	struct run r = RUN("book", "check", file);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "not valid JSON"), "%s", r.err);
	run_free(&r);
	assert_every_verb_refuses(file);
}

Test(dialctl, corrupt_wrong_type_is_reported_and_left_alone)
{
	const char *file = in_work("wrong.json");
	write_text(file,
		   "{\"key\": \"f6da13e87e0431f6954491ea\", \"addrs\": [{\"addr\": {\"id\": \"" PEER_A_ID
		   "\", \"ip\": \"77.145.180.81\", \"port\": 28569}, \"src\": {\"id\": \"\", \"ip\": "
		   "\"1.2.3.4\", \"port\": 1}, \"buckets\": [1], \"attempts\": \"zero\", "
		   "\"bucket_type\": 1}]}\n");

	struct run r = RUN("book", "check", file);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "attempts"), "the error does not say which field: %s", r.err);
	run_free(&r);
	assert_every_verb_refuses(file);
}

/* Whitespace inside a token is corrupt too: "28 569" is not the number 28569. */
Test(dialctl, corrupt_split_number_is_reported_and_left_alone)
{
	const char *file = in_work("split.json");
	write_text(file,
		   "{\"key\": \"f6da13e87e0431f6954491ea\", \"addrs\": [{\"addr\": {\"id\": \"" PEER_A_ID
		   "\", \"ip\": \"77.145.180.81\", \"port\": 28 569}, \"src\": {\"id\": \"\", \"ip\": "
		   "\"1.2.3.4\", \"port\": 1}, \"buckets\": [1], \"attempts\": 0, "
		   "\"bucket_type\": 1}]}\n");

	struct run r = RUN("book", "check", file);
	cr_assert_eq(r.status, 1, "a file with \"port\": 28 569 loaded: %s", r.out);
	cr_assert(strstr(r.err, "not valid JSON"), "%s", r.err);
	run_free(&r);
	assert_every_verb_refuses(file);
}

Test(dialctl, a_missing_file_is_an_error_except_for_add)
{
	const char *file = in_work("absent.json");
	struct run r = RUN("book", "check", file);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, file) && strstr(r.err, "no such file"), "%s", r.err);
	run_free(&r);
	r = RUN("book", "remove", file, PEER_A_ID);
	cr_assert_eq(r.status, 1);
	run_free(&r);
	cr_assert(access(file, F_OK) < 0, "remove created the file");
}

/* ---- a larger book ------------------------------------------------------------- */

#define BIG_BOOK_SIZE 400

Test(dialctl, stats_of_a_few_hundred_addresses)
{
	const char *file = in_work("big.json");
	write_generated(file, BIG_BOOK_SIZE);
	struct run r = RUN("book", "stats", "--json", file);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *o = json_loads(r.out, 0, NULL);
	cr_assert_not_null(o, "%s", r.out);
	cr_assert_eq(jint(o, "total"), BIG_BOOK_SIZE);
	cr_assert_eq(jint(o, "new"), BIG_BOOK_SIZE);
	cr_assert_eq(jint(json_object_get(o, "new_buckets"), "entries"), BIG_BOOK_SIZE);
	json_decref(o);
	run_free(&r);
}

/*
 * The same, under valgrind: every allocation freed, no invalid access. Not
 * for a sanitizer build (make SAN=1), which valgrind cannot run.
 */
Test(dialctl, stats_is_clean_under_valgrind)
{
	size_t len;
	char *bin = slurp(dialctl_bin(), &len);
	bool asan = memmem(bin, len, "libasan.so", 10) != NULL;
	free(bin);
	if (asan)
		cr_skip_test("mukan-dialctl is built with AddressSanitizer");
	if (system("valgrind --version >/dev/null 2>&1") != 0)
		cr_skip_test("valgrind is not installed");

	const char *file = in_work("big.json");
	write_generated(file, BIG_BOOK_SIZE);
	static const char *const vg[] = { "valgrind", "-q", "--leak-check=full",
					  "--errors-for-leak-kinds=all", "--error-exitcode=99",
					  NULL };
	struct run r = run_wrapped(vg, (const char *const[]){ "book", "stats", file, NULL });
	if (strstr(r.err, "debuginfo reader")) {
		/* valgrind 3.19 cannot read clang 14's DWARF 5: it never ran the program. */
		run_free(&r);
		cr_skip_test("valgrind cannot read this binary's debug info (a clang build?)");
	}
	cr_assert_eq(r.status, 0, "valgrind: status %d:\n%s", r.status, r.err);
	cr_assert_str_empty(r.err, "valgrind reported:\n%s", r.err);
	cr_assert(strstr(r.out, "400 addresses"), "%s", r.out);
	run_free(&r);
}

/* ---- usage ---------------------------------------------------------------------- */

Test(dialctl, usage_errors_exit_2)
{
	const char *file = in_work("book.json");
	write_generated(file, 3);
	const char *const cmds[][8] = {
		{ NULL },
		{ "book", NULL },
		{ "book", "frobnicate", file, NULL },
		{ "frobnicate", NULL },
		{ "book", "check", NULL },
		{ "book", "check", file, "extra", NULL },
		{ "book", "stats", file, "--bogus", NULL },
		{ "book", "add", file, NULL },
		{ "book", "add", file, "not-an-address", NULL },
		{ "book", "add", file, "1.2.3.4:26656", NULL }, /* no node ID */
		{ "book", "add", file, PEER_A, "--src", "nonsense", NULL },
		{ "book", "remove", file, "abc", NULL },
		{ "book", "show", file, "xyz", NULL },
		{ "book", "pick", file, "--count", "0", NULL },
		{ "book", "pick", file, "--count", "ten", NULL },
		{ "book", "pick", file, "--seed", "-1", NULL },
		{ "book", "buckets", file, PEER_A, "--hash-key", "zz", NULL },
		{ "book", "buckets", file, "1.2.3.4:26656", NULL },
	};
	size_t len;
	char *before = slurp(file, &len);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct run r = run_argv(cmds[i]);
		cr_assert_eq(r.status, 2, "case %zu (%s %s): status %d, stderr: %s", i,
			     cmds[i][0] ? cmds[i][0] : "", cmds[i][0] && cmds[i][1] ? cmds[i][1] : "",
			     r.status, r.err);
		cr_assert_str_neq(r.err, "", "case %zu: nothing on stderr", i);
		run_free(&r);
	}
	assert_same_bytes(file, before, len);
	free(before);
}

Test(dialctl, help_lists_verbs_and_examples)
{
	struct run r = RUN("--help");
	cr_assert_eq(r.status, 0);
	static const char *const verbs[] = { "check", "stats", "show", "add",
					     "remove", "pick", "buckets" };
	cr_assert(strstr(r.out, "EXAMPLES:"), "%s", r.out);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char want[32];
		snprintf(want, sizeof(want), "  %s FILE", verbs[i]);
		cr_assert(strstr(r.out, want), "top --help lacks \"%s\"", want);
	}
	run_free(&r);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		r = RUN("book", verbs[i], "--help");
		cr_assert_eq(r.status, 0, "%s --help: %d", verbs[i], r.status);
		cr_assert(strstr(r.out, "EXAMPLES:"), "%s --help has no examples", verbs[i]);
		cr_assert(strstr(r.out, "--no-strict"), "%s --help lacks --no-strict", verbs[i]);
		run_free(&r);
	}
}
