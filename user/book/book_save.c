/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_save.c - write addrbook.json the way upstream's json.MarshalIndent
 * lays it out (tabs, same field order), plus our "mukan" extension, and
 * replace the old file atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "book_cache.h"
#include "book_file.h"
#include "book_internal.h"
#include "file_io.h"
#include "timefmt.h"

/* A growing text buffer; `failed` sticks after the first allocation error. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_reserve(struct sbuf *s, size_t more)
{
	if (s->failed || s->len + more <= s->cap)
		return;
	size_t cap = s->cap ? s->cap : 4096;
	while (cap < s->len + more)
		cap *= 2;
	char *p = realloc(s->p, cap);
	if (!p) {
		s->failed = true;
		return;
	}
	s->p = p;
	s->cap = cap;
}

static void sb_put(struct sbuf *s, const char *text, size_t n)
{
	sb_reserve(s, n);
	if (s->failed)
		return;
	memcpy(s->p + s->len, text, n);
	s->len += n;
}

static void sb_str(struct sbuf *s, const char *text)
{
	sb_put(s, text, strlen(text));
}

static void sb_indent(struct sbuf *s, int depth)
{
	static const char tabs[] = "\t\t\t\t\t\t\t\t";
	sb_put(s, "\n", 1);
	sb_put(s, tabs, (size_t)depth);
}

static void sb_i64(struct sbuf *s, long long v)
{
	char tmp[24];
	int n = 0;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	sb_put(s, tmp + sizeof(tmp) - n, (size_t)n);
}

/* A JSON string; only the book key can hold characters that need escaping. */
static void sb_quoted(struct sbuf *s, const char *text, size_t n)
{
	sb_put(s, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			sb_put(s, esc, 2);
		} else if (c < 0x20) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			sb_put(s, esc, 6);
		} else {
			sb_put(s, (const char *)&c, 1);
		}
	}
	sb_put(s, "\"", 1);
}

/* `"name": ` at the given depth, after a comma unless first. */
static void sb_field(struct sbuf *s, int depth, const char *name, bool first)
{
	if (!first)
		sb_put(s, ",", 1);
	sb_indent(s, depth);
	sb_put(s, "\"", 1);
	sb_str(s, name);
	sb_put(s, "\": ", 3);
}

static void sb_time(struct sbuf *s, int64_t book_ns, int64_t offset)
{
	char t[TIME_STRLEN];
	int64_t unix_ns = book_ns;
	if (book_ns != MUKAN_TIME_NEVER && book_ns != INT64_MAX &&
	    __builtin_add_overflow(book_ns, offset, &unix_ns))
		unix_ns = offset > 0 ? INT64_MAX : MUKAN_TIME_NEVER;
	size_t n = time_format(unix_ns, t);
	sb_put(s, "\"", 1);
	sb_put(s, t, n);
	sb_put(s, "\"", 1);
}

static void sb_netaddr(struct sbuf *s, int depth, const uint8_t *id, bool has_id,
		       const struct mukan_addr *a)
{
	char hex[2 * MUKAN_ID_LEN + 1] = "", ip[IP_STRLEN];
	if (has_id)
		node_id_format(id, hex);
	size_t iplen = ip_format(a, ip);
	sb_put(s, "{", 1);
	sb_field(s, depth + 1, "id", true);
	sb_quoted(s, hex, strlen(hex));
	sb_field(s, depth + 1, "ip", false);
	sb_quoted(s, ip, iplen);
	sb_field(s, depth + 1, "port", false);
	sb_i64(s, a->port);
	sb_indent(s, depth);
	sb_put(s, "}", 1);
}

static bool has_dial_state(const struct mukan_peer *p)
{
	return p->failures || p->last_error || p->dials ||
	       (p->flags & (MUKAN_PEER_PERSISTENT | MUKAN_PEER_UNCONDITIONAL | MUKAN_PEER_SEED)) ||
	       p->next_dial != MUKAN_TIME_NEVER || p->last_dial != MUKAN_TIME_NEVER ||
	       p->last_connected != MUKAN_TIME_NEVER;
}

static void sb_entry(struct sbuf *s, int depth, const struct mukan_peer *p, int64_t off,
		     bool upstream_only)
{
	sb_put(s, "{", 1);
	sb_field(s, depth + 1, "addr", true);
	sb_netaddr(s, depth + 1, p->id, true, &p->addr);
	sb_field(s, depth + 1, "src", false);
	sb_netaddr(s, depth + 1, p->src_id, !(p->flags & MUKAN_PEER_SRC_NO_ID), &p->src);
	sb_field(s, depth + 1, "buckets", false);
	if (p->n_buckets == 0) {
		sb_put(s, "[]", 2);
	} else {
		sb_put(s, "[", 1);
		for (unsigned i = 0; i < p->n_buckets; i++) {
			if (i)
				sb_put(s, ",", 1);
			sb_indent(s, depth + 2);
			sb_i64(s, p->buckets[i]);
		}
		sb_indent(s, depth + 1);
		sb_put(s, "]", 1);
	}
	sb_field(s, depth + 1, "attempts", false);
	sb_i64(s, p->attempts);
	sb_field(s, depth + 1, "bucket_type", false);
	/* A banned record is in no bucket; upstream's field only knows 1 and 2. */
	sb_i64(s, p->bucket_type == MUKAN_BUCKET_OLD ? MUKAN_BUCKET_OLD : MUKAN_BUCKET_NEW);
	sb_field(s, depth + 1, "last_attempt", false);
	sb_time(s, p->last_attempt, off);
	sb_field(s, depth + 1, "last_success", false);
	sb_time(s, p->last_success, off);
	sb_field(s, depth + 1, "last_ban_time", false);
	sb_time(s, p->ban_until, off);
	if (!upstream_only && has_dial_state(p)) {
		sb_field(s, depth + 1, "mukan", false);
		sb_put(s, "{", 1);
		sb_field(s, depth + 2, "failures", true);
		sb_i64(s, p->failures);
		sb_field(s, depth + 2, "last_error", false);
		sb_i64(s, p->last_error);
		sb_field(s, depth + 2, "dials", false);
		sb_i64(s, p->dials);
		sb_field(s, depth + 2, "flags", false);
		sb_i64(s, p->flags & (MUKAN_PEER_PERSISTENT | MUKAN_PEER_UNCONDITIONAL | MUKAN_PEER_SEED));
		sb_field(s, depth + 2, "next_dial", false);
		sb_time(s, p->next_dial, off);
		sb_field(s, depth + 2, "last_dial", false);
		sb_time(s, p->last_dial, off);
		sb_field(s, depth + 2, "last_connected", false);
		sb_time(s, p->last_connected, off);
		sb_indent(s, depth + 1);
		sb_put(s, "}", 1);
	}
	sb_indent(s, depth);
	sb_put(s, "}", 1);
}

/* Every indexed record that is (banned ? in the ban list : in a bucket); quarantined ones stay in their slots. */
static void sb_list(struct sbuf *s, int depth, const struct book *b, bool banned,
		    const struct book_file_opts *fo)
{
	bool first = true;
	sb_put(s, "[", 1);
	for (uint32_t i = 0; i < b->capacity; i++) {
		struct mukan_peer p; /* placement as the book holds it, not as the slot says */
		if (!book_copy_record(b, i, &p) || !(p.flags & MUKAN_PEER_BANNED) != !banned)
			continue;
		if (!first)
			sb_put(s, ",", 1);
		first = false;
		sb_indent(s, depth + 1);
		sb_entry(s, depth + 1, &p, fo->wall_offset_ns, fo->upstream_only);
	}
	if (!first)
		sb_indent(s, depth);
	sb_put(s, "]", 1);
}

int book_render(const struct book *b, const struct book_file_opts *fo, char **text, size_t *len)
{
	struct sbuf s = { 0 };
	char hk[2 * BOOK_HASH_KEY_LEN + 1];
	for (int i = 0; i < BOOK_HASH_KEY_LEN; i++)
		snprintf(hk + 2 * i, 3, "%02x", b->hash_key[i]);

	sb_reserve(&s, 512 + (size_t)(b->n_live + b->n_banned) * 640);
	sb_put(&s, "{", 1);
	sb_field(&s, 1, "key", true);
	sb_quoted(&s, b->keys.key, b->keys.key_len);
	sb_field(&s, 1, "addrs", false);
	sb_list(&s, 1, b, false, fo);
	if (fo->upstream_only)
		goto close;
	sb_field(&s, 1, "mukan", false);
	sb_put(&s, "{", 1);
	sb_field(&s, 2, "format", true);
	sb_i64(&s, BOOK_FILE_FORMAT);
	sb_field(&s, 2, "hash_key", false);
	sb_quoted(&s, hk, 2 * BOOK_HASH_KEY_LEN);
	sb_field(&s, 2, "generation", false);
	sb_i64(&s, (long long)(b->file_generation & INT64_MAX));
	sb_field(&s, 2, "banned", false);
	sb_list(&s, 2, b, true, fo);
	sb_indent(&s, 1);
	sb_put(&s, "}", 1);
close:
	sb_indent(&s, 0);
	sb_put(&s, "}", 1);
	if (s.failed) {
		free(s.p);
		return -ENOMEM;
	}
	*text = s.p;
	*len = s.len;
	return 0;
}

/* ---- limits ------------------------------------------------------------- */

/* Go writes RFC3339Nano with the local zone: "2006-01-02T15:04:05.999999999-07:00". */
#define GO_TIME_MAX_LEN 35
#define ENTRY_TIME_FIELDS 3 /* upstream's times per entry (ours adds 3 in "mukan") */

/* The widest record the saver can be asked to write: every field at its widest text. */
static void widest_record(struct mukan_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->addr.family = p->src.family = MUKAN_AF_INET6;
	memset(p->addr.ip, 0xff, sizeof(p->addr.ip)); /* 39 characters, no "::" */
	memset(p->src.ip, 0xff, sizeof(p->src.ip));
	p->addr.port = p->src.port = 65535;
	memset(p->id, 0xab, sizeof(p->id));
	memset(p->src_id, 0xab, sizeof(p->src_id));
	p->in_use = 1;
	p->bucket_type = MUKAN_BUCKET_NEW;
	p->n_buckets = MUKAN_MAX_NEW_BUCKETS_PER_ADDR;
	for (int i = 0; i < MUKAN_MAX_NEW_BUCKETS_PER_ADDR; i++)
		p->buckets[i] = BOOK_NEW_BUCKETS - 1;
	p->attempts = INT32_MIN;
	p->failures = UINT32_MAX;
	p->last_error = INT32_MIN;
	p->dials = UINT32_MAX;
	p->flags = MUKAN_PEER_PERSISTENT | MUKAN_PEER_UNCONDITIONAL | MUKAN_PEER_SEED;
	/* Nine nanosecond digits: the longest time text. */
	p->last_attempt = p->last_success = p->ban_until = 1000000001LL;
	p->next_dial = p->last_dial = p->last_connected = 1000000001LL;
}

size_t book_file_record_max_bytes(void)
{
	struct mukan_peer p;
	widest_record(&p);
	size_t most = 0;
	/* Records sit at depth 2 (addrs) and 3 (mukan.banned): ",\n" + tabs + entry. */
	for (int depth = 2; depth <= 3; depth++) {
		struct sbuf s = { 0 };
		sb_entry(&s, depth, &p, 0, false);
		size_t n = s.failed ? 0 : 2 + (size_t)depth + s.len;
		free(s.p);
		if (n == 0)
			return 0; /* out of memory */
		if (n > most)
			most = n;
	}
	char t[TIME_STRLEN];
	size_t ours = time_format(p.last_attempt, t);
	return most + ENTRY_TIME_FIELDS * (GO_TIME_MAX_LEN > ours ? GO_TIME_MAX_LEN - ours : 0);
}

/* Everything but the records, at its widest: the key escaped, the largest generation. */
static size_t head_max_bytes(void)
{
	struct sbuf s = { 0 };
	char hk[2 * BOOK_HASH_KEY_LEN];
	memset(hk, 'f', sizeof(hk));
	sb_put(&s, "{", 1);
	sb_field(&s, 1, "key", true);
	sb_put(&s, "\"\"", 2);
	sb_field(&s, 1, "addrs", false);
	sb_put(&s, "[]", 2);
	sb_field(&s, 1, "mukan", false);
	sb_put(&s, "{", 1);
	sb_field(&s, 2, "format", true);
	sb_i64(&s, BOOK_FILE_FORMAT);
	sb_field(&s, 2, "hash_key", false);
	sb_quoted(&s, hk, sizeof(hk));
	sb_field(&s, 2, "generation", false);
	sb_i64(&s, INT64_MAX);
	sb_field(&s, 2, "banned", false);
	sb_put(&s, "[]", 2);
	sb_indent(&s, 1);
	sb_put(&s, "}", 1);
	sb_indent(&s, 0);
	sb_put(&s, "}", 1);
	size_t n = s.failed ? 0 : s.len;
	free(s.p);
	/* A key byte escapes to at most 6 characters (\u00XX); a non-empty list
	 * closes on a line of its own (newline and up to 2 tabs), twice. */
	return n ? n + 6 * BOOK_KEY_MAX + 2 * 3 : 0;
}

size_t book_file_max_bytes(uint32_t capacity)
{
	size_t head = head_max_bytes(), rec = book_file_record_max_bytes();
	if (!head || !rec)
		return SIZE_MAX; /* out of memory: no limit rather than a wrong one */
	return head + (size_t)capacity * rec;
}

/* ---- writing ------------------------------------------------------------ */

static int save_fail(char *err, size_t errsz, const char *path, const char *what, int e)
{
	if (err && errsz)
		snprintf(err, errsz, "%s: %s: %s", path, what, strerror(-e));
	return e;
}

int book_save(const struct book *b, const char *path, const struct book_file_opts *fo,
	      char *err, size_t errsz)
{
	char *text;
	size_t len;
	int e = book_render(b, fo, &text, &len);
	if (e < 0)
		return save_fail(err, errsz, path, "render", e);

	const char *step;
	if ((e = file_replace(path, text, len, &step)) < 0) {
		save_fail(err, errsz, path, step, e);
		goto out;
	}
	/* The binary copy is only a cache for the next load: failing to write it
	 * costs that load time, nothing else. */
	if (!fo->upstream_only && !fo->no_cache)
		book_cache_write(b, path, text, len, fo);
	if ((e = file_sync_dir(path)) < 0)
		save_fail(err, errsz, path, "fsync directory", e);
out:
	free(text);
	return e;
}

int book_quarantine(const char *path, char *moved_to, size_t sz)
{
	char dest[4096];
	for (int i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(dest, sizeof(dest), "%s.corrupt", path);
		else
			snprintf(dest, sizeof(dest), "%s.corrupt.%d", path, i);
		if (access(dest, F_OK) == 0)
			continue;
		if (rename(path, dest) < 0)
			return -errno;
		if (moved_to && sz)
			snprintf(moved_to, sz, "%s", dest);
		return 0;
	}
	return -EEXIST;
}
