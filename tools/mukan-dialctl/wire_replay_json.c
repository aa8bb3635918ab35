/* SPDX-License-Identifier: Apache-2.0 */
/* wire_replay_json.c - the replay's differences and its reading of the transcript. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wire_replay_internal.h"

bool differ(struct replay *r, const char *fmt, ...)
{
	if (!r->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->diff, r->diffsz, fmt, ap);
		va_end(ap);
		r->failed = true;
	}
	return false;
}

void replay_log(struct replay *r, const char *fmt, ...)
{
	if (!r->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("  ok  ", r->log);
	vfprintf(r->log, fmt, ap);
	fputc('\n', r->log);
	va_end(ap);
}

const char *jstr(struct replay *r, json_t *obj, const char *key, const char *where)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (!s)
		differ(r, "the transcript has no string %s.%s", where, key);
	return s;
}

bool juint(struct replay *r, json_t *obj, const char *key, const char *where, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return differ(r, "the transcript has no whole number %s.%s", where, key);
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *jhex(struct replay *r, json_t *obj, const char *key, const char *where, size_t *len)
{
	const char *s = jstr(r, obj, key, where);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	uint8_t *out = malloc(n / 2 + 1);
	if (!out) {
		differ(r, "out of memory");
		return NULL;
	}
	bool ok = n % 2 == 0;
	for (size_t i = 0; ok && i < n / 2; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
		ok = hi >= 0 && lo >= 0;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!ok) {
		free(out);
		differ(r, "%s.%s is not hex", where, key);
		return NULL;
	}
	*len = n / 2;
	return out;
}

bool jhex_n(struct replay *r, json_t *obj, const char *key, const char *where, uint8_t *out,
	    size_t want)
{
	size_t len;
	uint8_t *p = jhex(r, obj, key, where, &len);
	if (!p)
		return false;
	bool ok = len == want;
	if (ok)
		memcpy(out, p, want);
	free(p);
	return ok || differ(r, "%s.%s holds %zu bytes, want %zu", where, key, len, want);
}

bool same(struct replay *r, const char *what, const uint8_t *ours, size_t ours_len,
	  const uint8_t *up, size_t up_len)
{
	size_t n = ours_len < up_len ? ours_len : up_len;
	for (size_t i = 0; i < n; i++)
		if (ours[i] != up[i])
			return differ(r, "%s: byte %zu of %zu: ours %02x, upstream %02x", what, i,
				      up_len, ours[i], up[i]);
	if (ours_len != up_len)
		return differ(r, "%s: ours %zu bytes, upstream %zu", what, ours_len, up_len);
	return true;
}

bool same_hex(struct replay *r, const char *what, const uint8_t *ours, size_t ours_len,
	      json_t *obj, const char *key, const char *where)
{
	size_t len;
	uint8_t *up = jhex(r, obj, key, where, &len);
	if (!up)
		return false;
	bool ok = same(r, what, ours, ours_len, up, len);
	free(up);
	return ok;
}
