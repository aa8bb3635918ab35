/* SPDX-License-Identifier: Apache-2.0 */
/* wire_helpers.c - hex and transcript helpers for the wire tests (see wire_helpers.h). */
#include "wire_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vectors.h"

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

void hex_to(const char *hex, uint8_t *out, size_t len)
{
	cr_assert_eq(strlen(hex), 2 * len, "hex \"%.40s...\" has %zu digits, want %zu", hex,
		     strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		cr_assert(hi >= 0 && lo >= 0, "bad hex digit at %zu in \"%.40s\"", 2 * i, hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
}

uint8_t *hex_dup(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	cr_assert_eq(n % 2, 0, "odd hex length %zu", n);
	uint8_t *out = malloc(n / 2 + 1);
	cr_assert_not_null(out);
	hex_to(hex, out, n / 2);
	*len = n / 2;
	return out;
}

json_t *transcript_load(const char *rel)
{
	char path[4096];
	FILE *f = vectors_open(rel, path, sizeof(path));
	json_error_t err;
	json_t *root = json_loadf(f, 0, &err);
	fclose(f);
	cr_assert_not_null(root, "%s:%d: %s", path, err.line, err.text);
	return root;
}

static json_t *at_path(json_t *root, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *node = root;
	for (char *save = NULL, *key = strtok_r(buf, ".", &save); key && node;
	     key = strtok_r(NULL, ".", &save))
		node = json_object_get(node, key);
	return node;
}

const char *transcript_str(json_t *root, const char *path)
{
	const char *s = json_string_value(at_path(root, path));
	cr_assert_not_null(s, "transcript has no string at %s", path);
	return s;
}

void transcript_hex(json_t *root, const char *path, uint8_t *out, size_t len)
{
	hex_to(transcript_str(root, path), out, len);
}

void pair_init(struct sc_pair *p, uint8_t seed_a, uint8_t seed_b)
{
	uint8_t seed[NODE_KEY_SEED_LEN];
	memset(p, 0, sizeof(*p));
	memset(seed, seed_a, sizeof(seed));
	node_key_from_seed(&p->ka, seed);
	memset(seed, seed_b, sizeof(seed));
	node_key_from_seed(&p->kb, seed);
	struct sc_config ca = { .role = SC_DIALER, .me = &p->ka, .expect_id = p->kb.id,
				.deadline = INT64_MAX };
	struct sc_config cb = { .role = SC_LISTENER, .me = &p->kb, .deadline = INT64_MAX };
	cr_assert_eq(sc_init(&p->a, &ca), 0);
	cr_assert_eq(sc_init(&p->b, &cb), 0);
}

int pump(struct secret_conn *from, struct secret_conn *to, size_t chunk)
{
	const uint8_t *q;
	size_t n;
	while ((n = sc_tx_peek(from, &q)) > 0) {
		size_t take = chunk && chunk < n ? chunk : n;
		/* Copied: the receiver must not rely on the sender's buffer. */
		uint8_t *copy = malloc(take);
		cr_assert_not_null(copy);
		memcpy(copy, q, take);
		sc_tx_advance(from, take);
		int rc = sc_recv(to, copy, take, 0);
		free(copy);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void pair_handshake(struct sc_pair *p, size_t chunk)
{
	for (int round = 0; round < 4; round++) {
		cr_assert_eq(pump(&p->a, &p->b, chunk), 0, "b failed: %s",
			     wire_error_name(p->b.error));
		cr_assert_eq(pump(&p->b, &p->a, chunk), 0, "a failed: %s",
			     wire_error_name(p->a.error));
	}
	cr_assert_eq(p->a.state, SC_OPEN, "dialer not open (state %d)", p->a.state);
	cr_assert_eq(p->b.state, SC_OPEN, "listener not open (state %d)", p->b.state);
}

void pair_free(struct sc_pair *p)
{
	sc_free(&p->a);
	sc_free(&p->b);
}
