/* SPDX-License-Identifier: Apache-2.0 */
/* pb.c - delimited protobuf-c writes (see pb.h). */
#include "pb.h"

#include <errno.h>

#include "wire/delim.h"

size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t pb_delimited_size(const ProtobufCMessage *m)
{
	size_t body = protobuf_c_message_get_packed_size(m);
	return pb_varint_len(body) + body;
}

ssize_t pb_write_delimited(const ProtobufCMessage *m, uint8_t *out, size_t cap)
{
	size_t body = protobuf_c_message_get_packed_size(m);
	size_t hdr = pb_varint_len(body);
	if (hdr + body > cap)
		return -ENOSPC;
	delim_put_len(out, body);
	protobuf_c_message_pack(m, out + hdr);
	return (ssize_t)(hdr + body);
}
