/* SPDX-License-Identifier: Apache-2.0 */
/* test_book_file.c - addrbook.json both ways, atomic saves, corrupt files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "book/book_file.h"
#include "book/timefmt.h"
#include "book_helpers.h"

static const struct book_file_opts wall = { .wall_offset_ns = 0 };
static const struct book_opts strict_opts = { .strict = true, .seed = 1 };

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mukan-test-XXXXXX");
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

static char *path_in(const char *name)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static unsigned files_in_dir(void)
{
	unsigned n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

TestSuite(book_file, .init = make_dir, .fini = remove_dir);

/* A book with every kind of record: new in several buckets, old, banned,
 * a source without ID, IPv6, and kernel dial state. */
static struct book *varied_book(void)
{
	struct book *b = test_book(true, 0, 5);
	struct netaddr src = test_v4(1000, 5, 6, 7, 8), src2 = test_v4(1001, 9, 9, 9, 9);
	struct netaddr noid = test_v4(0, 8, 8, 4, 4);
	noid.has_id = false;
	for (uint32_t i = 0; i < 40; i++) {
		struct netaddr a = test_v4(i + 1, 20 + i, 1, 2, 3);
		book_add(b, &a, i % 3 ? &src : &noid, T0 + i * SEC);
		for (int k = 0; k < 30; k++) /* spread some over several buckets */
			book_add(b, &a, &(struct netaddr){ .a = { .family = MUKAN_AF_INET,
								   .ip = { 30, (uint8_t)k } },
							   .has_id = false },
				 T0);
		if (i % 4 == 0)
			book_mark_good(b, a.id, T0 + 100 * SEC + i);
		if (i % 7 == 3)
			book_mark_attempt(b, a.id, T0 + 200 * SEC + 123456789);
	}
	struct netaddr v6 = test_addr(500, "[2a01:4f8:c0c::2]:26656");
	book_add(b, &v6, &src2, T0 + 7);
	struct netaddr banned = test_v4(501, 77, 1, 1, 1);
	book_add(b, &banned, &src2, T0);
	book_mark_bad(b, banned.id, 86400 * SEC, T0 + 5 * SEC);
	struct mukan_peer *p = book_slot_mut(b, (uint32_t)book_find(b, v6.id));
	p->failures = 3;
	p->last_error = 111;
	p->dials = 9;
	p->next_dial = T0 + 999 * SEC + 1;
	p->last_dial = T0 + 998 * SEC;
	p->last_connected = T0 + 997 * SEC;
	p->flags |= MUKAN_PEER_PERSISTENT;
	return b;
}

static void assert_same_record(const struct mukan_peer *x, const struct mukan_peer *y)
{
	char id[41];
	node_id_format(x->id, id);
	cr_assert(mukan_addr_equal(&x->addr, &y->addr), "%s addr", id);
	cr_assert(mukan_addr_equal(&x->src, &y->src), "%s src", id);
	cr_assert_arr_eq(x->src_id, y->src_id, MUKAN_ID_LEN, "%s src id", id);
	cr_assert_eq(x->bucket_type, y->bucket_type, "%s bucket type", id);
	cr_assert_eq(x->n_buckets, y->n_buckets, "%s bucket count", id);
	for (unsigned i = 0; i < x->n_buckets; i++)
		cr_assert_eq(x->buckets[i], y->buckets[i], "%s bucket %u", id, i);
	cr_assert_eq(x->flags, y->flags, "%s flags", id);
	cr_assert_eq(x->attempts, y->attempts, "%s attempts", id);
	cr_assert_eq(x->last_attempt, y->last_attempt, "%s last_attempt", id);
	cr_assert_eq(x->last_success, y->last_success, "%s last_success", id);
	cr_assert_eq(x->ban_until, y->ban_until, "%s ban", id);
	cr_assert_eq(x->failures, y->failures, "%s failures", id);
	cr_assert_eq(x->last_error, y->last_error, "%s last_error", id);
	cr_assert_eq(x->dials, y->dials, "%s dials", id);
	cr_assert_eq(x->next_dial, y->next_dial, "%s next_dial", id);
	cr_assert_eq(x->last_dial, y->last_dial, "%s last_dial", id);
	cr_assert_eq(x->last_connected, y->last_connected, "%s last_connected", id);
}

static void assert_same_book(const struct book *x, const struct book *y)
{
	cr_assert_str_eq(book_key(x), book_key(y));
	cr_assert_arr_eq(book_hash_key(x), book_hash_key(y), BOOK_HASH_KEY_LEN);
	cr_assert_eq(book_n_new(x), book_n_new(y));
	cr_assert_eq(book_n_old(x), book_n_old(y));
	cr_assert_eq(book_n_banned(x), book_n_banned(y));
	unsigned n = 0;
	for (int s = book_next_slot(x, 0); s >= 0; s = book_next_slot(x, (uint32_t)s + 1), n++) {
		const struct mukan_peer *p = book_slot(x, (uint32_t)s);
		int t = book_find(y, p->id);
		cr_assert_geq(t, 0);
		assert_same_record(p, book_slot(y, (uint32_t)t));
	}
	cr_assert_eq(n, book_size(x) + book_n_banned(x));
	for (unsigned i = 0; i < BOOK_NEW_BUCKETS; i++)
		cr_assert_eq(book_bucket_len(x, MUKAN_BUCKET_NEW, i), book_bucket_len(y, MUKAN_BUCKET_NEW, i));
	for (unsigned i = 0; i < BOOK_OLD_BUCKETS; i++)
		cr_assert_eq(book_bucket_len(x, MUKAN_BUCKET_OLD, i), book_bucket_len(y, MUKAN_BUCKET_OLD, i));
}

Test(book_file, saved_book_loads_back_field_by_field)
{
	struct book *b = varied_book(), *c = NULL;
	char err[256];
	cr_assert_gt(book_n_banned(b), 0);
	cr_assert_eq(book_save(b, path_in("addrbook.json"), &wall, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(book_load(path_in("addrbook.json"), &strict_opts, &wall, &c, err, sizeof(err)),
		     0, "%s", err);
	assert_same_book(b, c);
	cr_assert_eq(files_in_dir(), 2, "the book and its cache, no temporary file left behind");
	cr_assert_eq(access(path_in("addrbook.json.cache"), F_OK), 0);
	book_free(b);
	book_free(c);
}

Test(book_file, wall_offset_converts_between_clocks)
{
	struct book *b = varied_book(), *c = NULL;
	char err[256];
	struct book_file_opts shift = { .wall_offset_ns = 1000 * SEC };
	cr_assert_eq(book_save(b, path_in("a.json"), &shift, err, sizeof(err)), 0);
	cr_assert_eq(book_load(path_in("a.json"), &strict_opts, &shift, &c, err, sizeof(err)), 0);
	assert_same_book(b, c);
	book_free(c);
	cr_assert_eq(book_load(path_in("a.json"), &strict_opts, &wall, &c, err, sizeof(err)), 0);
	struct netaddr v6 = test_addr(500, "[2a01:4f8:c0c::2]:26656");
	cr_assert_eq(test_rec(c, &v6)->last_attempt, test_rec(b, &v6)->last_attempt + 1000 * SEC);
	book_free(b);
	book_free(c);
}

/* What CometBFT reads: the fields and types of its knownAddress. */
Test(book_file, saved_file_has_the_upstream_schema)
{
	struct book *b = varied_book();
	char *text;
	size_t len;
	cr_assert_eq(book_render(b, &wall, &text, &len), 0);
	cr_assert(strncmp(text, "{\n\t\"key\": \"f6da13e87e0431f6954491ea\",\n\t\"addrs\": [\n\t\t{\n", 52) == 0,
		  "tab-indented as MarshalIndent: %.60s", text);
	json_error_t je;
	json_t *root = json_loadb(text, len, 0, &je);
	cr_assert_not_null(root, "our own output is JSON: %s", je.text);
	cr_assert(json_is_string(json_object_get(root, "key")));
	json_t *addrs = json_object_get(root, "addrs");
	cr_assert_eq(json_array_size(addrs), book_size(b));
	size_t i;
	json_t *e;
	json_array_foreach(addrs, i, e) {
		json_t *a = json_object_get(e, "addr");
		cr_assert(json_is_string(json_object_get(a, "id")));
		cr_assert_eq(strlen(json_string_value(json_object_get(a, "id"))), 40);
		cr_assert(json_is_string(json_object_get(a, "ip")));
		cr_assert(json_is_integer(json_object_get(a, "port")));
		cr_assert(json_is_object(json_object_get(e, "src")));
		json_t *bl = json_object_get(e, "buckets");
		cr_assert(json_is_array(bl) && json_array_size(bl) >= 1);
		long long type = json_integer_value(json_object_get(e, "bucket_type"));
		cr_assert(type == 1 || type == 2);
		cr_assert(json_is_integer(json_object_get(e, "attempts")));
		const char *times[] = { "last_attempt", "last_success", "last_ban_time" };
		for (int k = 0; k < 3; k++) {
			int64_t t;
			json_t *tv = json_object_get(e, times[k]);
			cr_assert(json_is_string(tv), "%s", times[k]);
			cr_assert_eq(time_parse(json_string_value(tv), &t), 0);
		}
	}
	/* Bans live beside upstream's list, where CometBFT does not look. */
	json_t *m = json_object_get(root, "mukan");
	cr_assert_eq(json_array_size(json_object_get(m, "banned")), book_n_banned(b));
	cr_assert_eq(strlen(json_string_value(json_object_get(m, "hash_key"))), 64);
	json_decref(root);
	free(text);
	book_free(b);
}

/* As CometBFT writes it (no "mukan" field): buckets are kept as the file says. */
static const char upstream_file[] =
	"{\n"
	"\t\"key\": \"f6da13e87e0431f6954491ea\",\n"
	"\t\"addrs\": [\n"
	"\t\t{\n"
	"\t\t\t\"addr\": {\"id\": \"d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e\", \"ip\": \"77.145.180.81\", \"port\": 28569},\n"
	"\t\t\t\"src\": {\"id\": \"73135b4bcf16b49f04ce3b1315e9aacd0a64267e\", \"ip\": \"2a01:7a7e::1\", \"port\": 26656},\n"
	"\t\t\t\"buckets\": [50],\n"
	"\t\t\t\"attempts\": 0,\n"
	"\t\t\t\"bucket_type\": 2,\n"
	"\t\t\t\"last_attempt\": \"2026-11-01T00:49:42.515000954Z\",\n"
	"\t\t\t\"last_success\": \"2026-11-19T10:00:00.5Z\",\n"
	"\t\t\t\"last_ban_time\": \"0001-01-01T00:00:00Z\"\n"
	"\t\t},\n"
	"\t\t{\n"
	"\t\t\t\"addr\": {\"id\": \"A1E483EE6DBD4C260C16DC79D1AE1FD9CAEB709E\", \"ip\": \"2a01:4f8::7\", \"port\": 26656},\n"
	"\t\t\t\"src\": {\"id\": \"\", \"ip\": \"1.2.3.4\", \"port\": 26656},\n"
	"\t\t\t\"buckets\": [7, 200, 7],\n"
	"\t\t\t\"attempts\": 4,\n"
	"\t\t\t\"bucket_type\": 1,\n"
	"\t\t\t\"last_attempt\": \"2026-11-01T02:49:42+02:00\",\n"
	"\t\t\t\"last_success\": \"0001-01-01T00:00:00Z\",\n"
	"\t\t\t\"last_ban_time\": \"0001-01-01T00:00:00Z\",\n"
	"\t\t\t\"some_future_field\": {\"ignored\": true}\n"
	"\t\t}\n"
	"\t]\n"
	"}\n";

Test(book_file, upstream_file_loads_as_written)
{
	struct book *b;
	char err[256];
	write_file(path_in("addrbook.json"), upstream_file);
	cr_assert_eq(book_load(path_in("addrbook.json"), &strict_opts, &wall, &b, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(book_key(b), "f6da13e87e0431f6954491ea");
	cr_assert_eq(book_n_old(b), 1);
	cr_assert_eq(book_n_new(b), 1);
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_OLD, 50), 1);
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, 7), 1, "a bucket listed twice is one");
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, 200), 1);

	uint8_t id[MUKAN_ID_LEN];
	node_id_parse("d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e", 40, id);
	const struct mukan_peer *p = book_slot(b, (uint32_t)book_find(b, id));
	int64_t t;
	time_parse("2026-11-01T00:49:42.515000954Z", &t);
	cr_assert_eq(p->last_attempt, t);
	cr_assert_eq(p->last_success % SEC, 500000000);
	cr_assert_eq(p->ban_until, MUKAN_TIME_NEVER);

	node_id_parse("a1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e", 40, id);
	p = book_slot(b, (uint32_t)book_find(b, id));
	cr_assert_not_null(p, "upper-case hex IDs are IDs too");
	cr_assert(p->flags & MUKAN_PEER_SRC_NO_ID);
	cr_assert_eq(p->attempts, 4);
	time_parse("2026-11-01T00:49:42Z", &t);
	cr_assert_eq(p->last_attempt, t, "offsets are honoured");
	book_free(b);
}

Test(book_file, missing_file_is_enoent)
{
	struct book *b = NULL;
	char err[64] = "";
	cr_assert_eq(book_load(path_in("nope.json"), &strict_opts, &wall, &b, err, sizeof(err)), -ENOENT);
	cr_assert_null(b);
}

/* Each corrupt file: an error naming the file and the problem, file untouched. */
static void assert_refused(const char *name, const char *text, const char *hint)
{
	struct book *b = NULL;
	char err[512] = "";
	char *p = path_in(name);
	write_file(p, text);
	int e = book_load(p, &strict_opts, &wall, &b, err, sizeof(err));
	cr_assert_lt(e, 0, "%s must be refused", name);
	cr_assert_neq(e, -ENOENT);
	cr_assert_null(b);
	cr_assert(strstr(err, p), "error names the file: %s", err);
	cr_assert(strstr(err, hint), "error says '%s': %s", hint, err);
	cr_assert_null(strchr(err, '\n'), "one line: %s", err);
	size_t len;
	char *after = read_file(p, &len);
	cr_assert_str_eq(after, text, "file left as it was");
	free(after);
}

#define ENTRY(addr, buckets, type)                                                               \
	"{\"addr\": " addr ", \"src\": {\"id\": \"\", \"ip\": \"1.2.3.4\", \"port\": 1}, "           \
	"\"buckets\": " buckets ", \"attempts\": 0, \"bucket_type\": " type ", "                     \
	"\"last_attempt\": \"2026-11-01T00:00:00Z\", \"last_success\": \"0001-01-01T00:00:00Z\", " \
	"\"last_ban_time\": \"0001-01-01T00:00:00Z\"}"
#define GOOD_ADDR "{\"id\": \"d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e\", \"ip\": \"8.8.8.8\", \"port\": 1}"
#define FILE_OF(entries) "{\"key\": \"abc\", \"addrs\": [" entries "]}"

Test(book_file, corrupt_files_are_refused_with_a_clear_error)
{
	assert_refused("empty.json", "", "not valid JSON");
	assert_refused("truncated.json", "{\"key\": \"abc\", \"addrs\": [", "not valid JSON");
	assert_refused("garbage.json", "\x01\x02 hello", "not valid JSON");
	assert_refused("array.json", "[1, 2, 3]", "top level must be an object");
	assert_refused("nokey.json", "{\"addrs\": []}", "missing \"key\"");
	assert_refused("keytype.json", "{\"key\": 5, \"addrs\": []}", "\"key\" must be a string");
	assert_refused("addrstype.json", "{\"key\": \"k\", \"addrs\": {}}", "\"addrs\" must be an array");
	assert_refused("entrytype.json", FILE_OF("7"), "addrs[0]: must be an object");
	assert_refused("noaddr.json", FILE_OF("{\"src\": {}}"), "missing \"addr\"");
	assert_refused("badid.json",
		       FILE_OF(ENTRY("{\"id\": \"xyz\", \"ip\": \"8.8.8.8\", \"port\": 1}", "[1]", "1")),
		       "not 40 hex");
	assert_refused("badip.json",
		       FILE_OF(ENTRY("{\"id\": \"d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e\", \"ip\": "
				     "\"8.8.8\", \"port\": 1}",
				     "[1]", "1")),
		       "not an IP address");
	assert_refused("bigport.json",
		       FILE_OF(ENTRY("{\"id\": \"d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e\", \"ip\": "
				     "\"8.8.8.8\", \"port\": 70000}",
				     "[1]", "1")),
		       "out of range");
	assert_refused("floatport.json",
		       FILE_OF(ENTRY("{\"id\": \"d1e483ee6dbd4c260c16dc79d1ae1fd9caeb709e\", \"ip\": "
				     "\"8.8.8.8\", \"port\": 1.5}",
				     "[1]", "1")),
		       "must be an integer");
	assert_refused("newbucket.json", FILE_OF(ENTRY(GOOD_ADDR, "[256]", "1")), "new bucket index");
	assert_refused("oldbucket.json", FILE_OF(ENTRY(GOOD_ADDR, "[64]", "2")), "old bucket index");
	assert_refused("negbucket.json", FILE_OF(ENTRY(GOOD_ADDR, "[-1]", "1")), "bucket index");
	assert_refused("fivebuckets.json", FILE_OF(ENTRY(GOOD_ADDR, "[1,2,3,4,5]", "1")),
		       "more than 4 buckets");
	assert_refused("type3.json", FILE_OF(ENTRY(GOOD_ADDR, "[1]", "3")), "bucket_type");
	assert_refused("dupid.json",
		       FILE_OF(ENTRY(GOOD_ADDR, "[1]", "1") "," ENTRY(GOOD_ADDR, "[2]", "1")),
		       "node ID appears twice");
	assert_refused("duplicate-key.json", "{\"key\": \"a\", \"key\": \"b\", \"addrs\": []}",
		       "not valid JSON");
	assert_refused("badtime.json",
		       "{\"key\": \"abc\", \"addrs\": [{\"addr\": " GOOD_ADDR
		       ", \"src\": {\"id\": \"\", \"ip\": \"1.2.3.4\", \"port\": 1}, \"buckets\": [1], "
		       "\"attempts\": 0, \"bucket_type\": 1, \"last_attempt\": \"yesterday\"}]}",
		       "RFC 3339");
	assert_refused("badhashkey.json", "{\"key\": \"k\", \"addrs\": [], \"mukan\": {\"format\": 1, \"hash_key\": \"zz\"}}",
		       "hash_key");
	assert_refused("future.json", "{\"key\": \"k\", \"addrs\": [], \"mukan\": {\"format\": 99, \"hash_key\": \"00\"}}",
		       "newer than this program");
	char longkey[200];
	snprintf(longkey, sizeof(longkey), "{\"key\": \"%070d\", \"addrs\": []}", 1);
	assert_refused("longkey.json", longkey, "longer than");
}

Test(book_file, oversized_file_is_refused_before_parsing)
{
	struct book *b = NULL;
	char err[256];
	write_file(path_in("big.json"), upstream_file);
	struct book_file_opts small = { .max_bytes = 100 };
	cr_assert_eq(book_load(path_in("big.json"), &strict_opts, &small, &b, err, sizeof(err)), -EFBIG);
	cr_assert(strstr(err, "byte limit"), "%s", err);
}

Test(book_file, a_directory_is_not_a_book)
{
	struct book *b = NULL;
	char err[256];
	cr_assert_lt(book_load(dir, &strict_opts, &wall, &b, err, sizeof(err)), 0);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
}

Test(book_file, save_replaces_atomically_and_reports_failure)
{
	struct book *b = varied_book();
	char err[256];
	write_file(path_in("addrbook.json"), "old contents");
	cr_assert_eq(book_save(b, path_in("addrbook.json"), &wall, err, sizeof(err)), 0);
	char *text = read_file(path_in("addrbook.json"), NULL);
	cr_assert(strncmp(text, "{\n\t\"key\"", 8) == 0);
	free(text);
	struct stat st;
	stat(path_in("addrbook.json"), &st);
	cr_assert_eq(st.st_mode & 0777, 0644);
	cr_assert_eq(files_in_dir(), 2, "the book and its cache only");
	cr_assert_lt(book_save(b, path_in("no-such-dir/addrbook.json"), &wall, err, sizeof(err)), 0);
	cr_assert(strstr(err, "no-such-dir/addrbook.json"), "%s", err);
	book_free(b);
}

Test(book_file, quarantine_moves_aside_and_never_overwrites)
{
	char moved[256];
	write_file(path_in("addrbook.json"), "bad 1");
	cr_assert_eq(book_quarantine(path_in("addrbook.json"), moved, sizeof(moved)), 0);
	cr_assert(strstr(moved, "addrbook.json.corrupt"));
	write_file(path_in("addrbook.json"), "bad 2");
	cr_assert_eq(book_quarantine(path_in("addrbook.json"), moved, sizeof(moved)), 0);
	cr_assert(strstr(moved, "addrbook.json.corrupt.1"), "%s", moved);
	char *first = read_file(path_in("addrbook.json.corrupt"), NULL);
	cr_assert_str_eq(first, "bad 1");
	free(first);
	cr_assert_eq(access(path_in("addrbook.json"), F_OK), -1);
}

Test(timefmt, go_rfc3339nano_both_ways)
{
	static const char *same[] = { "2026-11-01T00:49:42.515000954Z", "2026-11-19T10:00:00.5Z",
				      "1970-01-01T00:00:00Z", "2000-02-29T23:59:59.000000001Z",
				      "1969-12-31T23:59:59.9Z", "0001-01-01T00:00:00Z" };
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		int64_t t;
		char out[TIME_STRLEN];
		cr_assert_eq(time_parse(same[i], &t), 0, "%s", same[i]);
		time_format(t, out);
		cr_assert_str_eq(out, same[i]);
	}
	int64_t t;
	cr_assert_eq(time_parse("0001-01-01T00:00:00Z", &t), 0);
	cr_assert_eq(t, MUKAN_TIME_NEVER);
	cr_assert_eq(time_parse("1970-01-01T01:00:00+01:00", &t), 0);
	cr_assert_eq(t, 0);
	cr_assert_eq(time_parse("1970-01-01T00:00:01.1234567891Z", &t), 0, "more than 9 digits");
	cr_assert_eq(t, SEC + 123456789);
	cr_assert_eq(time_parse("1500-01-01T00:00:00Z", &t), 0);
	cr_assert_eq(t, MUKAN_TIME_NEVER, "before int64 ns: never");
	cr_assert_eq(time_parse("9999-01-01T00:00:00Z", &t), 0);
	cr_assert_eq(t, INT64_MAX, "after int64 ns: saturated");
	static const char *bad[] = { "", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
				     "2026-11-01 00:00:00Z", "2026-11-01T24:00:00Z", "2026-11-01T00:00:00",
				     "2026-11-01T00:00:00.Z", "2026-11-01T00:00:00Zjunk", "2023-02-29T00:00:00Z" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(time_parse(bad[i], &t), -EINVAL, "'%s' must be refused", bad[i]);
}

/* The binary cache: used only for the very JSON it was written with. */
Test(book_file, cache_serves_the_same_book_and_yields_to_a_changed_json)
{
	struct book *b = varied_book(), *c = NULL, *d = NULL;
	char err[256];
	cr_assert_eq(book_save(b, path_in("addrbook.json"), &wall, err, sizeof(err)), 0);
	/* From the cache (a different clock offset also converts its times). */
	struct book_file_opts shifted = { .wall_offset_ns = 5 * SEC };
	cr_assert_eq(book_load(path_in("addrbook.json"), &strict_opts, &wall, &c, err, sizeof(err)), 0);
	cr_assert(book_loaded_from_cache(c), "the cache written with this JSON is used");
	assert_same_book(b, c);
	book_free(c);
	cr_assert_eq(book_load(path_in("addrbook.json"), &strict_opts, &shifted, &c, err, sizeof(err)), 0);
	cr_assert(book_loaded_from_cache(c));
	struct book_file_opts no_cache = { .wall_offset_ns = 5 * SEC, .no_cache = true };
	cr_assert_eq(book_load(path_in("addrbook.json"), &strict_opts, &no_cache, &d, err, sizeof(err)), 0);
	cr_assert_not(book_loaded_from_cache(d));
	assert_same_book(c, d); /* cache and JSON agree, offsets included */
	book_free(c);
	book_free(d);

	/* The JSON changed (one byte): the cache is not used, the JSON is. */
	size_t len;
	char *text = read_file(path_in("addrbook.json"), &len);
	char *at = strstr(text, "\"attempts\": 0");
	cr_assert_not_null(at);
	at[12] = '7';
	write_file(path_in("addrbook.json"), text);
	free(text);
	cr_assert_eq(book_load(path_in("addrbook.json"), &strict_opts, &wall, &c, err, sizeof(err)), 0);
	bool seven = false;
	for (int s = book_next_slot(c, 0); s >= 0; s = book_next_slot(c, (uint32_t)s + 1))
		seven = seven || book_slot(c, (uint32_t)s)->attempts == 7;
	cr_assert(seven, "the edited JSON won over the stale cache");
	cr_assert_not(book_loaded_from_cache(c));
	book_free(c);

	/* A damaged cache is ignored, never trusted. */
	cr_assert_eq(book_save(b, path_in("addrbook.json"), &wall, err, sizeof(err)), 0);
	FILE *f = fopen(path_in("addrbook.json.cache"), "r+");
	fseek(f, 300, SEEK_SET);
	fputc(0x5a, f);
	fclose(f);
	cr_assert_eq(book_load(path_in("addrbook.json"), &strict_opts, &wall, &c, err, sizeof(err)), 0);
	cr_assert_not(book_loaded_from_cache(c), "a damaged cache is not trusted");
	assert_same_book(b, c);
	book_free(c);
	write_file(path_in("addrbook.json.cache"), "short");
	cr_assert_eq(book_load(path_in("addrbook.json"), &strict_opts, &wall, &c, err, sizeof(err)), 0);
	assert_same_book(b, c);
	book_free(c);
	book_free(b);
}

Test(book_file, a_nul_byte_is_refused)
{
	struct book *b = NULL;
	char err[256] = "";
	static const char text[] = "{\"key\": \"k\", \"addrs\": [1\0]}";
	struct book_file_opts fo = { 0 };
	cr_assert_eq(book_load_buffer(text, sizeof(text) - 1, "nul.json", &strict_opts, &fo, &b, err,
				      sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "NUL byte at offset 24"), "%s", err);
	cr_assert_null(b);
}
