/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_delim_reader.c - libFuzzer target for the length-delimited reader.
 *
 * Input: a control byte (bits 0-5: chunk size - 1; bits 6-7: the limit,
 * 0, 16, 1034 or 1 MiB), then the stream. The stream is read twice, once
 * whole and once in chunks of that size; both readings must give the same
 * messages and end in the same error or the same partial state, every
 * message must fit its limit, and every call must make progress.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/delim_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

struct result {
	uint8_t *bytes; /* the messages, each as LE32 length then body */
	size_t len;
	int error;
	int partial;
};

static void read_stream(const uint8_t *in, size_t n, size_t step, size_t limit,
			struct result *res)
{
	struct delim_reader r;
	delim_reader_init(&r, limit);
	memset(res, 0, sizeof(*res));
	res->bytes = malloc(4 * n + 8); /* an empty message: 1 byte in, 4 out */
	check(res->bytes != NULL, "malloc");
	for (size_t off = 0; off < n && !res->error;) {
		size_t chunk = n - off < step ? n - off : step;
		size_t left = chunk;
		const uint8_t *p = in + off;
		while (left) {
			const uint8_t *msg;
			size_t len;
			ssize_t used = delim_reader_feed(&r, p, left, &msg, &len);
			if (used < 0) {
				check(used == -EMSGSIZE || used == -EBADMSG, "unexpected error");
				res->error = (int)used;
				break;
			}
			check((size_t)used <= left, "consumed more than given");
			check(used > 0 || msg, "no progress");
			p += used;
			left -= (size_t)used;
			if (msg) {
				check(len <= limit, "message above the limit");
				check(res->len + 4 + len <= 4 * n + 8, "more bytes out than in");
				uint32_t l = (uint32_t)len;
				memcpy(res->bytes + res->len, &l, 4);
				memcpy(res->bytes + res->len + 4, msg, len);
				res->len += 4 + len;
			}
		}
		off += chunk;
	}
	res->partial = delim_reader_partial(&r);
	delim_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const size_t limits[] = { 0, 16, 1034, 1024 * 1024 };
	size_t step = (size_t)(data[0] & 63) + 1, limit = limits[data[0] >> 6];
	struct result whole, cut;
	read_stream(data + 1, size - 1, size, limit, &whole);
	read_stream(data + 1, size - 1, step, limit, &cut);
	check(whole.error == cut.error, "chunking changed the error");
	check(whole.len == cut.len && memcmp(whole.bytes, cut.bytes, whole.len) == 0,
	      "chunking changed the messages");
	check(whole.error || whole.partial == cut.partial, "chunking changed the end state");
	free(whole.bytes);
	free(cut.bytes);
	return 0;
}
