/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire_helpers.h - what the user/wire/ unit tests share: hex in and out,
 * and the kept upstream transcript (tests/vectors/cometbft/) as JSON.
 * Every helper fails the running Criterion test itself on bad input.
 */
#ifndef MUKAN_TEST_WIRE_HELPERS_H
#define MUKAN_TEST_WIRE_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wire/secret_conn.h"

#define TRANSCRIPT_1 "tests/vectors/cometbft/cometbft-v0.34.35-transcript-1.json"
#define GOLDEN_DERIVE "tests/vectors/cometbft/TestDeriveSecretsAndChallengeGolden.golden"

/* Decode exactly len bytes of hex (the test fails on any other length or a bad digit). */
void hex_to(const char *hex, uint8_t *out, size_t len);

/* Decode hex of any even length into a malloc'ed buffer; *len gets its size. */
uint8_t *hex_dup(const char *hex, size_t *len);

/* The kept transcript, parsed (json_decref it). */
json_t *transcript_load(const char *rel);

/* The string at a dotted path ("nodes.A.eph_x25519_priv"); fails the test if absent. */
const char *transcript_str(json_t *root, const char *path);

/* transcript_str decoded as exactly len bytes of hex. */
void transcript_hex(json_t *root, const char *path, uint8_t *out, size_t len);

/* Two sessions wired to each other: a dials b (expecting b's ID). */
struct sc_pair {
	struct node_key ka, kb;
	struct secret_conn a, b;
};

/* Keys from seeds seed_a, seed_b (every byte the same), random ephemeral keys. */
void pair_init(struct sc_pair *p, uint8_t seed_a, uint8_t seed_b);

/*
 * Move everything from's tx holds into to's sc_recv, chunk bytes at a time
 * (0: all at once). Returns the first sc_recv error, else 0.
 */
int pump(struct secret_conn *from, struct secret_conn *to, size_t chunk);

/* Pump both ways until both are open (the test fails otherwise). */
void pair_handshake(struct sc_pair *p, size_t chunk);

void pair_free(struct sc_pair *p);

#endif /* MUKAN_TEST_WIRE_HELPERS_H */
