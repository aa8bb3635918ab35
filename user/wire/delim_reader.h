/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delim_reader.h - upstream's length-delimited messages ("protoio": an
 * unsigned varint body length, then the body) read incrementally from a
 * byte stream that arrives in pieces of any size.
 *
 * Each reader has a limit on the body length, as upstream's
 * protoio.NewDelimitedReader(r, maxSize): 1 MiB for the handshake messages,
 * 10,240 bytes for NodeInfo, 1,034 bytes (one full packet) for MConnection.
 * A length above the limit is refused as soon as its varint is complete,
 * before any of the body is buffered. A message that arrives whole in one
 * input chunk is handed back in place, without a copy; only a message split
 * across chunks is buffered, and the buffer grows with the bytes that really
 * arrive, not with the length the peer announced.
 *
 * delim.h has the one-shot parse of a message already whole in a buffer and
 * the varint writer; this reader is for streams. Sans-IO: no sockets, no
 * clock. The caller feeds what it read.
 */
#ifndef MUKAN_WIRE_DELIM_READER_H
#define MUKAN_WIRE_DELIM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/delim.h"

/* Upstream's read limits (bodies, varint excluded). */
#define DELIM_LIMIT_HANDSHAKE (1024 * 1024) /* ephemeral key, AuthSigMessage */

struct delim_reader {
	size_t limit;
	uint64_t len;	    /* body length, once the varint is complete */
	unsigned hdr_bytes; /* varint bytes seen so far */
	bool have_len;	    /* the varint is complete */
	bool delivered;	    /* the last call handed back a message */
	int error;	    /* the first error; every later call returns it */
	uint8_t *buf;	    /* body of a message split across chunks */
	size_t have, cap;
};

void delim_reader_init(struct delim_reader *r, size_t limit);
void delim_reader_free(struct delim_reader *r);

/*
 * Feed n bytes. Consumes up to the end of one message and returns how many
 * bytes it consumed; call again with the rest. When a message completed,
 * *msg and *msg_len give its body (in `in` or in the reader's buffer, valid
 * until the next call); else *msg is NULL. Errors (the stream is then
 * unusable): -EMSGSIZE body length above the limit, -EBADMSG a varint
 * longer than 10 bytes or above 64 bits (Go's binary.ReadUvarint), -ENOMEM.
 */
ssize_t delim_reader_feed(struct delim_reader *r, const uint8_t *in, size_t n,
			  const uint8_t **msg, size_t *msg_len);

/* True inside a message (varint or body begun): the stream ending now is a truncation. */
bool delim_reader_partial(const struct delim_reader *r);

#endif /* MUKAN_WIRE_DELIM_READER_H */
