/* SPDX-License-Identifier: Apache-2.0 */
/* delim.c - varint length-delimited messages (see delim.h). */
#include "delim.h"

#include <errno.h>

size_t delim_put_len(uint8_t out[DELIM_MAX_HDR], uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

int delim_parse(const uint8_t *buf, size_t len, size_t limit, size_t *hdr_len, size_t *body_len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < DELIM_MAX_HDR; i++) {
		if (i == len)
			return -EAGAIN;
		uint8_t b = buf[i];
		/* The tenth byte may only hold the 64th bit, as Go's ReadUvarint checks. */
		if (i == DELIM_MAX_HDR - 1 && b > 1)
			return -EBADMSG;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (b < 0x80) {
			if (v > limit)
				return -EMSGSIZE;
			*hdr_len = i + 1;
			*body_len = (size_t)v;
			return len - *hdr_len >= *body_len ? 0 : -EAGAIN;
		}
	}
	return -EBADMSG;
}
