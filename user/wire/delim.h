/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delim.h - upstream's length-delimited framing ("protoio"): an unsigned
 * protobuf varint holding the body length, then the body. Every message on
 * a CometBFT connection after the TCP connect is framed this way.
 */
#ifndef MUKAN_WIRE_DELIM_H
#define MUKAN_WIRE_DELIM_H

#include <stddef.h>
#include <stdint.h>

#define DELIM_MAX_HDR 10 /* a 64-bit varint */

/* Write v as a varint; returns its length (1..10). */
size_t delim_put_len(uint8_t out[DELIM_MAX_HDR], uint64_t v);

/*
 * The message at the start of buf[0..len): 0 with *hdr_len (the varint's
 * bytes) and *body_len when the whole message is there; -EAGAIN when more
 * bytes are needed; -EMSGSIZE when the body length is above limit (known as
 * soon as the varint is); -EBADMSG for a varint longer than 10 bytes or
 * above 64 bits. A length above the limit is refused before its body comes.
 */
int delim_parse(const uint8_t *buf, size_t len, size_t limit, size_t *hdr_len, size_t *body_len);

#endif /* MUKAN_WIRE_DELIM_H */
