/* SPDX-License-Identifier: Apache-2.0 */
/* delim_reader.c - length-delimited messages from a stream in pieces (see delim_reader.h). */
#include "delim_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A buffer above this is released once its message was used: one 1 MiB
 * handshake message must not pin 1 MiB per peer for the session. */
#define DELIM_KEEP_BUF 4096

void delim_reader_init(struct delim_reader *r, size_t limit)
{
	memset(r, 0, sizeof(*r));
	r->limit = limit;
}

void delim_reader_free(struct delim_reader *r)
{
	free(r->buf);
	delim_reader_init(r, r->limit);
}

bool delim_reader_partial(const struct delim_reader *r)
{
	return r->hdr_bytes > 0;
}

static void next_message(struct delim_reader *r)
{
	r->len = 0;
	r->hdr_bytes = 0;
	r->have_len = false;
	r->delivered = true;
}

/* Room for `need` body bytes: grow with what arrived, never past the body length. */
static int reserve(struct delim_reader *r, size_t need)
{
	if (need <= r->cap)
		return 0;
	size_t cap = r->cap * 2;
	if (cap > r->len)
		cap = (size_t)r->len;
	if (cap < need)
		cap = need;
	uint8_t *p = realloc(r->buf, cap);
	if (!p)
		return -ENOMEM;
	r->buf = p;
	r->cap = cap;
	return 0;
}

ssize_t delim_reader_feed(struct delim_reader *r, const uint8_t *in, size_t n,
			  const uint8_t **msg, size_t *msg_len)
{
	*msg = NULL;
	*msg_len = 0;
	if (r->error)
		return r->error;
	if (r->delivered) {
		r->delivered = false;
		r->have = 0;
		if (r->cap > DELIM_KEEP_BUF) {
			free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
	}

	size_t used = 0;
	while (!r->have_len) {
		if (used == n)
			return (ssize_t)used;
		uint8_t b = in[used++];
		/* Go's ReadUvarint: the tenth byte may hold only the 64th bit. */
		if (r->hdr_bytes == DELIM_MAX_HDR - 1 && b > 1)
			return r->error = -EBADMSG;
		r->len |= (uint64_t)(b & 0x7f) << (7 * r->hdr_bytes);
		r->hdr_bytes++;
		if (b < 0x80) {
			if (r->len > r->limit)
				return r->error = -EMSGSIZE;
			r->have_len = true;
		}
	}

	size_t want = (size_t)r->len - r->have, avail = n - used;
	if (r->have == 0 && avail >= want) { /* whole in this chunk: no copy */
		*msg = in + used;
		*msg_len = want;
		next_message(r);
		return (ssize_t)(used + want);
	}
	size_t take = avail < want ? avail : want;
	if (take == 0) /* the varint ended the chunk */
		return (ssize_t)used;
	if (reserve(r, r->have + take) < 0)
		return r->error = -ENOMEM;
	memcpy(r->buf + r->have, in + used, take);
	r->have += take;
	used += take;
	if (r->have == r->len) {
		*msg = r->buf;
		*msg_len = r->have;
		next_message(r);
	}
	return (ssize_t)used;
}
