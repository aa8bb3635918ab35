/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_load.c - read addrbook.json (jansson) into a book.
 *
 * Upstream trusts the file and panics on anything odd. Here every field is
 * checked, the first problem is reported as "PATH: where: what", and
 * nothing is kept from a file that fails: the caller gets an error and the
 * file stays where it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "book_cache.h"
#include "book_file.h"
#include "book_internal.h"
#include "file_io.h"
#include "timefmt.h"

struct loader {
	const char *name;
	const struct book_file_opts *fo;
	char *err;
	size_t errsz;
	char where[64]; /* e.g. "addrs[12]" */
};

static int failf(struct loader *l, int code, const char *fmt, ...)
{
	if (l->err && l->errsz) {
		char what[192];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		if (l->where[0])
			snprintf(l->err, l->errsz, "%s: %s: %s", l->name, l->where, what);
		else
			snprintf(l->err, l->errsz, "%s: %s", l->name, what);
	}
	return code;
}

static int get_int(struct loader *l, json_t *obj, const char *field, long long lo, long long hi,
		   long long *out)
{
	json_t *v = json_object_get(obj, field);
	if (!v)
		return failf(l, -EINVAL, "missing \"%s\"", field);
	if (!json_is_integer(v))
		return failf(l, -EINVAL, "\"%s\" must be an integer", field);
	long long x = json_integer_value(v);
	if (x < lo || x > hi)
		return failf(l, -ERANGE, "\"%s\" = %lld is out of range %lld..%lld", field, x, lo, hi);
	*out = x;
	return 0;
}

static int get_str(struct loader *l, json_t *obj, const char *field, const char **out)
{
	json_t *v = json_object_get(obj, field);
	if (!v)
		return failf(l, -EINVAL, "missing \"%s\"", field);
	if (!json_is_string(v))
		return failf(l, -EINVAL, "\"%s\" must be a string", field);
	*out = json_string_value(v);
	return 0;
}

/* A book time from a file time; a missing field is "never". */
static int get_time(struct loader *l, json_t *obj, const char *field, __s64 *out)
{
	json_t *v = json_object_get(obj, field);
	if (!v || json_is_null(v)) {
		*out = MUKAN_TIME_NEVER;
		return 0;
	}
	int64_t unix_ns;
	if (!json_is_string(v) || time_parse(json_string_value(v), &unix_ns) < 0)
		return failf(l, -EINVAL, "\"%s\" is not an RFC 3339 time", field);
	if (unix_ns == MUKAN_TIME_NEVER || unix_ns == INT64_MAX)
		*out = unix_ns;
	else if (__builtin_sub_overflow(unix_ns, l->fo->wall_offset_ns, out))
		*out = l->fo->wall_offset_ns > 0 ? MUKAN_TIME_NEVER : INT64_MAX;
	return 0;
}

/* {"id": "...", "ip": "...", "port": N}; an empty id is allowed for a source. */
static int get_netaddr(struct loader *l, json_t *obj, const char *field, bool need_id,
		       struct mukan_addr *a, uint8_t id[MUKAN_ID_LEN], bool *has_id)
{
	json_t *na = json_object_get(obj, field);
	if (!na)
		return failf(l, -EINVAL, "missing \"%s\"", field);
	if (!json_is_object(na))
		return failf(l, -EINVAL, "\"%s\" must be an object", field);
	const char *ids, *ips;
	long long port;
	int e;
	if ((e = get_str(l, na, "id", &ids)) || (e = get_str(l, na, "ip", &ips)) ||
	    (e = get_int(l, na, "port", 0, 65535, &port)))
		return e;
	*has_id = ids[0] != '\0';
	if ((*has_id || need_id) && node_id_parse(ids, strlen(ids), id) < 0)
		return failf(l, -EINVAL, "%s.id \"%.48s\" is not 40 hex characters", field, ids);
	if (ip_parse(ips, a) < 0)
		return failf(l, -EINVAL, "%s.ip \"%.48s\" is not an IP address", field, ips);
	a->port = (uint16_t)port;
	return 0;
}

/* Our extension inside an entry: the kernel's dial counters. */
static int get_dial_state(struct loader *l, json_t *entry, struct mukan_peer *p)
{
	json_t *m = json_object_get(entry, "mukan");
	if (!m || json_is_null(m))
		return 0;
	if (!json_is_object(m))
		return failf(l, -EINVAL, "\"mukan\" must be an object");
	long long v;
	int e;
	if (json_object_get(m, "failures")) {
		if ((e = get_int(l, m, "failures", 0, UINT32_MAX, &v)))
			return e;
		p->failures = (uint32_t)v;
	}
	if (json_object_get(m, "last_error")) {
		if ((e = get_int(l, m, "last_error", 0, 4095, &v)))
			return e;
		p->last_error = (int32_t)v;
	}
	if (json_object_get(m, "dials")) {
		if ((e = get_int(l, m, "dials", 0, UINT32_MAX, &v)))
			return e;
		p->dials = (uint32_t)v;
	}
	if (json_object_get(m, "flags")) {
		/* Only the flags that describe configuration survive a file. */
		if ((e = get_int(l, m, "flags", 0, 255, &v)))
			return e;
		p->flags |= (uint8_t)(v & (MUKAN_PEER_PERSISTENT | MUKAN_PEER_UNCONDITIONAL |
					   MUKAN_PEER_SEED));
	}
	if ((e = get_time(l, m, "next_dial", &p->next_dial)) ||
	    (e = get_time(l, m, "last_dial", &p->last_dial)) ||
	    (e = get_time(l, m, "last_connected", &p->last_connected)))
		return e;
	return 0;
}

static int get_entry(struct loader *l, json_t *entry, bool banned, struct mukan_peer *p)
{
	memset(p, 0, sizeof(*p));
	if (!json_is_object(entry))
		return failf(l, -EINVAL, "must be an object");
	bool has_id, src_has_id;
	long long v;
	int e;
	if ((e = get_netaddr(l, entry, "addr", true, &p->addr, p->id, &has_id)) ||
	    (e = get_netaddr(l, entry, "src", false, &p->src, p->src_id, &src_has_id)))
		return e;
	if (!src_has_id)
		p->flags |= MUKAN_PEER_SRC_NO_ID;
	if ((e = get_int(l, entry, "attempts", INT32_MIN, INT32_MAX, &v)))
		return e;
	p->attempts = (int32_t)v;
	if ((e = get_int(l, entry, "bucket_type", 1, 2, &v)))
		return e;
	p->bucket_type = (uint8_t)v;
	unsigned limit = v == MUKAN_BUCKET_OLD ? BOOK_OLD_BUCKETS : BOOK_NEW_BUCKETS;

	json_t *bl = json_object_get(entry, "buckets");
	if (bl && !json_is_null(bl)) {
		if (!json_is_array(bl))
			return failf(l, -EINVAL, "\"buckets\" must be an array");
		size_t i;
		json_t *bi;
		json_array_foreach(bl, i, bi) {
			if (!json_is_integer(bi) || json_integer_value(bi) < 0 ||
			    json_integer_value(bi) >= (long long)limit)
				return failf(l, -ERANGE, "buckets[%zu] is not a %s bucket index 0..%u", i,
					     p->bucket_type == MUKAN_BUCKET_OLD ? "old" : "new", limit - 1);
			unsigned b = (unsigned)json_integer_value(bi), k;
			for (k = 0; k < p->n_buckets && p->buckets[k] != b; k++)
				;
			if (k < p->n_buckets)
				continue; /* listed twice: one bucket */
			if (p->n_buckets == MUKAN_MAX_NEW_BUCKETS_PER_ADDR)
				return failf(l, -EINVAL, "more than %d buckets",
					     MUKAN_MAX_NEW_BUCKETS_PER_ADDR);
			p->buckets[p->n_buckets++] = (uint16_t)b;
		}
	}
	if ((e = get_time(l, entry, "last_attempt", &p->last_attempt)) ||
	    (e = get_time(l, entry, "last_success", &p->last_success)) ||
	    (e = get_time(l, entry, "last_ban_time", &p->ban_until)))
		return e;
	p->next_dial = p->last_dial = p->last_connected = MUKAN_TIME_NEVER;
	if ((e = get_dial_state(l, entry, p)))
		return e;
	if (banned)
		p->flags |= MUKAN_PEER_BANNED;
	return 0;
}

static int load_list(struct loader *l, struct book *b, json_t *list, const char *label, bool banned)
{
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return failf(l, -EINVAL, "\"%s\" must be an array", label);
	size_t i;
	json_t *entry;
	json_array_foreach(list, i, entry) {
		struct mukan_peer rec;
		char why[128];
		snprintf(l->where, sizeof(l->where), "%s[%zu]", label, i);
		int e = get_entry(l, entry, banned, &rec);
		if (e < 0)
			return e;
		e = book_insert_record(b, &rec, why, sizeof(why));
		if (e < 0)
			return failf(l, e, "%s", why);
	}
	l->where[0] = '\0';
	return 0;
}

static int load_extension(struct loader *l, struct book *b, json_t *root)
{
	json_t *m = json_object_get(root, "mukan");
	if (!m || json_is_null(m))
		return 0; /* a file from upstream: keep the fresh hash key */
	if (!json_is_object(m))
		return failf(l, -EINVAL, "\"mukan\" must be an object");
	long long format;
	int e = get_int(l, m, "format", 1, 1000000, &format);
	if (e < 0)
		return e;
	if (format > BOOK_FILE_FORMAT)
		return failf(l, -EPROTO, "\"mukan.format\" %lld is newer than this program's %d",
			     format, BOOK_FILE_FORMAT);
	const char *hk;
	if ((e = get_str(l, m, "hash_key", &hk)))
		return e;
	uint8_t bytes[BOOK_HASH_KEY_LEN];
	if (hex_decode(hk, strlen(hk), bytes, sizeof(bytes)) < 0)
		return failf(l, -EINVAL, "\"mukan.hash_key\" must be 64 hex characters");
	book_set_hash_key(b, bytes);
	b->hash_key_from_file = true;
	if (json_object_get(m, "generation")) {
		long long gen;
		if ((e = get_int(l, m, "generation", 0, INT64_MAX, &gen)))
			return e;
		b->file_generation = (uint64_t)gen;
	}
	return load_list(l, b, json_object_get(m, "banned"), "mukan.banned", true);
}

static int load_root(struct loader *l, struct book *b, json_t *root)
{
	if (!json_is_object(root))
		return failf(l, -EINVAL, "top level must be an object");
	const char *key;
	int e = get_str(l, root, "key", &key);
	if (e < 0)
		return e;
	if (book_set_key(b, key, strlen(key)) < 0)
		return failf(l, -EINVAL, "\"key\" is longer than %d characters", BOOK_KEY_MAX);
	/* The hash key decides placement of records with no bucket: read it first. */
	if ((e = load_extension(l, b, root)))
		return e;
	return load_list(l, b, json_object_get(root, "addrs"), "addrs", false);
}

/*
 * Drop the whitespace between tokens (upstream indents with tabs: a fifth
 * of a book file). jansson reads every byte through a callback, so this
 * pass nearly halves load time. Strings are copied untouched; anything
 * invalid stays invalid for jansson to report.
 */
static size_t squeeze_whitespace(const char *in, size_t len, char *out)
{
	size_t n = 0;
	bool in_string = false, gap = false;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (in_string) {
			out[n++] = c;
			if (c == '\\' && i + 1 < len)
				out[n++] = in[++i];
			else if (c == '"')
				in_string = false;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			gap = true;
		} else {
			/* Keep one space between two tokens ("28 569" must stay two). */
			if (gap && n && !strchr("{}[]:,", out[n - 1]) && !strchr("{}[]:,", c))
				out[n++] = ' ';
			gap = false;
			out[n++] = c;
			in_string = c == '"';
		}
	}
	return n;
}

/* Records a file lists (addrs and mukan.banned), before any is checked. */
static size_t count_records(json_t *root)
{
	size_t n = json_array_size(json_object_get(root, "addrs"));
	return n + json_array_size(json_object_get(json_object_get(root, "mukan"), "banned"));
}

/* The book a file of n records loads into: opts, or bigger when fo->grow allows. */
static int book_for(struct loader *l, const struct book_opts *opts, size_t n, struct book **b)
{
	struct book_opts o = *opts;
	uint32_t cap = o.capacity ? o.capacity : BOOK_DEFAULT_CAPACITY;
	if (n > cap && l->fo->grow && n <= BOOK_MAX_CAPACITY && !o.slots)
		o.capacity = cap = (uint32_t)n;
	if (n > cap)
		return failf(l, -ENOSPC,
			     "%zu records, more than the %u slots of the book it loads into", n,
			     cap);
	return book_new(b, &o) < 0 ? failf(l, -ENOMEM, "out of memory") : 0;
}

/* The byte limit for loading into a book made with opts (*slots: of what capacity, 0 given). */
static size_t byte_limit(const struct book_opts *opts, const struct book_file_opts *fo,
			 uint32_t *slots)
{
	*slots = 0;
	if (fo->max_bytes)
		return fo->max_bytes;
	uint32_t cap = opts->capacity ? opts->capacity : BOOK_DEFAULT_CAPACITY;
	*slots = fo->grow && !opts->slots ? BOOK_MAX_CAPACITY : cap;
	return book_file_max_bytes(*slots);
}

static int too_big(struct loader *l, size_t len, size_t max, uint32_t slots)
{
	if (slots)
		return failf(l, -EFBIG, "%zu bytes is over the %zu byte limit of a book of %u slots",
			     len, max, slots);
	return failf(l, -EFBIG, "%zu bytes is over the %zu byte limit", len, max);
}

int book_load_buffer(const char *data, size_t len, const char *name,
		     const struct book_opts *opts, const struct book_file_opts *fo,
		     struct book **out, char *err, size_t errsz)
{
	struct loader l = { .name = name, .fo = fo, .err = err, .errsz = errsz };
	uint32_t slots;
	size_t max = byte_limit(opts, fo, &slots);
	if (len > max)
		return too_big(&l, len, max, slots);
	json_error_t jerr;
	/* JSON has no raw NUL anywhere; refusing it here also keeps the squeeze
	 * below from gluing tokens around one. */
	const char *nul = memchr(data, '\0', len);
	if (nul)
		return failf(&l, -EINVAL, "not valid JSON: a NUL byte at offset %zu",
			     (size_t)(nul - data));
	char *compact = malloc(len ? len : 1);
	if (!compact)
		return failf(&l, -ENOMEM, "out of memory");
	json_t *root = json_loadb(compact, squeeze_whitespace(data, len, compact),
				  JSON_REJECT_DUPLICATES, &jerr);
	free(compact);
	if (!root) {
		/* Parse the original again so line and column point into the file. */
		root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
		json_decref(root);
		return failf(&l, -EINVAL, "not valid JSON at line %d column %d: %s", jerr.line,
			     jerr.column, jerr.text);
	}
	struct book *b;
	int e = book_for(&l, opts, count_records(root), &b);
	if (e < 0) {
		json_decref(root);
		return e;
	}
	book_set_now(b, book_file_now(fo));
	e = load_root(&l, b, root);
	json_decref(root);
	if (e < 0) {
		book_free(b);
		return e;
	}
	*out = b;
	return 0;
}

int book_load(const char *path, const struct book_opts *opts,
	      const struct book_file_opts *fo, struct book **out, char *err, size_t errsz)
{
	struct loader l = { .name = path, .fo = fo, .err = err, .errsz = errsz };
	uint32_t slots;
	size_t max = byte_limit(opts, fo, &slots);
	char *data;
	size_t len;
	int e = file_read_all(path, max, &data, &len);
	switch (e) {
	case 0:
		break;
	case -ENOENT:
		return -ENOENT;
	case -EISDIR:
		return failf(&l, -EINVAL, "not a regular file");
	case -EFBIG:
		return too_big(&l, len, max, slots);
	case -ENOMEM:
		return failf(&l, -ENOMEM, "out of memory");
	case -EIO:
		return failf(&l, e, "read failed: file shrank");
	default:
		return failf(&l, e, "cannot open: %s", strerror(-e));
	}
	/* The binary copy written with this very text, if there is one, else JSON. */
	e = fo->no_cache ? -ENOENT : book_cache_load(path, data, len, opts, fo, out);
	if (e < 0)
		e = book_load_buffer(data, len, path, opts, fo, out, err, errsz);
	free(data);
	return e;
}

int64_t book_file_now(const struct book_file_opts *fo)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - fo->wall_offset_ns;
}

bool book_loaded_from_cache(const struct book *b)
{
	return b->from_cache;
}

uint64_t book_file_generation(const struct book *b)
{
	return b->file_generation;
}

void book_set_file_generation(struct book *b, uint64_t gen)
{
	b->file_generation = gen;
}
