/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_delim_reader.c - length-delimited messages read from a stream
 * cut anywhere: every split of a byte stream gives the same messages, the
 * read limit refuses a length before its body, bad varints are refused as
 * Go's binary.ReadUvarint refuses them, and a message that came whole is
 * handed back in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "wire/delim_reader.h"
#include "wire/delim.h"
#include "wire/pb.h"

/* Feed stream in pieces of `step` bytes; collect the messages into out (concatenated). */
static size_t read_all(size_t limit, const uint8_t *stream, size_t n, size_t step,
		       size_t *lens, size_t max_msgs, uint8_t *out)
{
	struct delim_reader r;
	delim_reader_init(&r, limit);
	size_t n_msgs = 0, out_len = 0;
	for (size_t off = 0; off < n;) {
		size_t chunk = n - off < step ? n - off : step;
		const uint8_t *p = stream + off;
		size_t left = chunk;
		while (left) {
			const uint8_t *msg;
			size_t len;
			ssize_t used = delim_reader_feed(&r, p, left, &msg, &len);
			cr_assert_geq(used, 0, "feed failed: %zd", used);
			cr_assert(used > 0 || msg, "no progress");
			p += used;
			left -= (size_t)used;
			if (msg) {
				cr_assert_lt(n_msgs, max_msgs);
				lens[n_msgs++] = len;
				memcpy(out + out_len, msg, len);
				out_len += len;
			}
		}
		off += chunk;
	}
	cr_assert_not(delim_reader_partial(&r), "stream ended inside a message");
	delim_reader_free(&r);
	return n_msgs;
}

Test(delim_reader, every_split_gives_the_same_messages)
{
	/* Bodies of 0, 1, 127, 128 (two-byte varint) and 3000 bytes. */
	static const size_t sizes[] = { 0, 1, 127, 128, 3000, 5 };
	uint8_t stream[4000], bodies[4000];
	size_t n = 0, nb = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n += delim_put_len(stream + n, sizes[i]);
		for (size_t j = 0; j < sizes[i]; j++)
			stream[n++] = bodies[nb++] = (uint8_t)(i * 31 + j);
	}
	size_t steps[] = { 1, 2, 3, 7, 127, 128, 129, 1000, n };
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		size_t lens[8];
		uint8_t out[4000];
		size_t got = read_all(4096, stream, n, steps[s], lens, 8, out);
		cr_assert_eq(got, 6, "step %zu: %zu messages, want 6", steps[s], got);
		for (size_t i = 0; i < 6; i++)
			cr_assert_eq(lens[i], sizes[i], "step %zu message %zu", steps[s], i);
		cr_assert_arr_eq(out, bodies, nb, "step %zu: bodies differ", steps[s]);
	}
}

Test(delim_reader, whole_message_is_not_copied)
{
	const uint8_t in[] = { 3, 'a', 'b', 'c', 1, 'd' };
	struct delim_reader r;
	delim_reader_init(&r, 100);
	const uint8_t *msg;
	size_t len;
	cr_assert_eq(delim_reader_feed(&r, in, sizeof(in), &msg, &len), 4, "one message at a time");
	cr_assert_eq(msg, in + 1, "a message in one chunk is handed back in place");
	cr_assert_eq(len, 3);
	cr_assert_eq(delim_reader_feed(&r, in + 4, 2, &msg, &len), 2);
	cr_assert_eq(msg, in + 5);
	cr_assert_null(r.buf, "nothing buffered");
	delim_reader_free(&r);
}

Test(delim_reader, limit_refuses_the_length_before_the_body)
{
	struct delim_reader r;
	delim_reader_init(&r, 10240);
	uint8_t hdr[10];
	size_t h = delim_put_len(hdr, 10241);
	const uint8_t *msg;
	size_t len;
	/* Only the varint: refused at once, nothing allocated for the claimed body. */
	cr_assert_eq(delim_reader_feed(&r, hdr, h, &msg, &len), -EMSGSIZE);
	cr_assert_null(r.buf);
	cr_assert_eq(delim_reader_feed(&r, hdr, 1, &msg, &len), -EMSGSIZE,
		     "a failed reader stays failed");
	delim_reader_free(&r);

	/* Exactly the limit passes. */
	uint8_t *big = calloc(1, 10240 + 3), *out = malloc(10240);
	size_t bh = delim_put_len(big, 10240);
	cr_assert_eq(read_all(10240, big, bh + 10240, 4096, &len, 1, out), 1);
	cr_assert_eq(len, 10240);
	free(big);
	free(out);
}

Test(delim_reader, buffer_grows_with_bytes_not_with_the_claim)
{
	struct delim_reader r;
	delim_reader_init(&r, DELIM_LIMIT_HANDSHAKE);
	uint8_t hdr[10] = { 0 };
	size_t h = delim_put_len(hdr, DELIM_LIMIT_HANDSHAKE);
	hdr[h] = 0x55;
	const uint8_t *msg;
	size_t len;
	cr_assert_eq(delim_reader_feed(&r, hdr, h + 1, &msg, &len), (ssize_t)h + 1);
	cr_assert_null(msg);
	cr_assert(delim_reader_partial(&r));
	cr_assert_leq(r.cap, 16, "a peer announcing 1 MiB and sending 1 byte costs %zu bytes", r.cap);
	delim_reader_free(&r);
}

Test(delim_reader, varints_as_go_reads_them)
{
	const uint8_t *msg;
	size_t len;
	struct delim_reader r;
	/* Eleven bytes of continuation: more than 64 bits. */
	uint8_t long_varint[11];
	memset(long_varint, 0x80, sizeof(long_varint));
	delim_reader_init(&r, 100);
	cr_assert_eq(delim_reader_feed(&r, long_varint, sizeof(long_varint), &msg, &len), -EBADMSG);
	delim_reader_free(&r);

	/* Tenth byte 2: the 65th bit (Go: "varint overflows a 64-bit integer"). */
	uint8_t over[10] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02 };
	delim_reader_init(&r, (size_t)-1);
	cr_assert_eq(delim_reader_feed(&r, over, sizeof(over), &msg, &len), -EBADMSG);
	delim_reader_free(&r);

	/* Tenth byte 1 is 2^63: well formed, and refused by the limit only. */
	uint8_t top[10] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	delim_reader_init(&r, 1 << 20);
	cr_assert_eq(delim_reader_feed(&r, top, sizeof(top), &msg, &len), -EMSGSIZE);
	delim_reader_free(&r);

	/* A non-minimal varint (80 00 = 0) is accepted, as Go accepts it. */
	uint8_t padded[] = { 0x83, 0x00, 'a', 'b', 'c' };
	delim_reader_init(&r, 100);
	cr_assert_eq(delim_reader_feed(&r, padded, sizeof(padded), &msg, &len), 5);
	cr_assert_eq(len, 3);
	delim_reader_free(&r);
}

Test(delim_reader, partial_tells_truncation_from_a_clean_end)
{
	struct delim_reader r;
	delim_reader_init(&r, 100);
	const uint8_t *msg;
	size_t len;
	const uint8_t two[] = { 2, 'x', 'y' };
	cr_assert_not(delim_reader_partial(&r));
	delim_reader_feed(&r, two, 1, &msg, &len);
	cr_assert(delim_reader_partial(&r), "varint seen, body missing");
	delim_reader_feed(&r, two + 1, 1, &msg, &len);
	cr_assert(delim_reader_partial(&r));
	delim_reader_feed(&r, two + 2, 1, &msg, &len);
	cr_assert_not_null(msg);
	cr_assert_arr_eq(msg, "xy", 2);
	cr_assert_not(delim_reader_partial(&r));
	delim_reader_free(&r);
}

Test(delim_reader, varint_lengths)
{
	uint8_t b[10];
	cr_assert_eq(delim_put_len(b, 0), 1);
	cr_assert_eq(b[0], 0);
	cr_assert_eq(delim_put_len(b, 150), 2);
	cr_assert_eq(b[0], 0x96);
	cr_assert_eq(b[1], 0x01);
	cr_assert_eq(delim_put_len(b, UINT64_MAX), 10);
	cr_assert_eq(pb_varint_len(UINT64_MAX), 10);
	cr_assert_eq(pb_varint_len(127), 1);
	cr_assert_eq(pb_varint_len(128), 2);
}
