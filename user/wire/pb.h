/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pb.h - writing protobuf-c messages the way upstream's protoio writer does
 * (varint body length, then the body), and the small conversions the wire
 * codecs share.
 */
#ifndef MUKAN_WIRE_PB_H
#define MUKAN_WIRE_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

/* The length of v as an unsigned varint (1..10); delim_put_len writes it. */
size_t pb_varint_len(uint64_t v);

/* Bytes of m delimited: varint length plus the packed body. */
size_t pb_delimited_size(const ProtobufCMessage *m);

/* Write m delimited into out; returns the length, or -ENOSPC if cap is short. */
ssize_t pb_write_delimited(const ProtobufCMessage *m, uint8_t *out, size_t cap);

/* A protobuf bytes field viewing a C string (not copied). */
static inline ProtobufCBinaryData pb_str(const char *s)
{
	ProtobufCBinaryData b = { s ? strlen(s) : 0, (uint8_t *)(uintptr_t)s };
	return b;
}

#endif /* MUKAN_WIRE_PB_H */
