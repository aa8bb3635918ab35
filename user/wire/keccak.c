/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keccak.c - Keccak-f[1600] written from FIPS 202: theta, rho, pi, chi and
 * iota over 25 lanes, 24 rounds. The rho offsets and round constants are
 * the tables of FIPS 202 sections 3.2.2 and 3.2.5; the unit tests check the
 * permutation through SHA3-256 and SHAKE128 known answers.
 */
#include "keccak.h"

#include <string.h>

#define ROUNDS 24

/* Round constants RC[ir] (FIPS 202, 3.2.5: rc(j + 7 ir) at bit 2^j - 1). */
static const uint64_t round_constants[ROUNDS] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho: rotation of lane x + 5 y (FIPS 202, 3.2.2, table 2). */
static const unsigned rho_offsets[25] = {
	0,  1,	62, 28, 27, /* y = 0 */
	36, 44, 6,  55, 20, /* y = 1 */
	3,  10, 43, 25, 39, /* y = 2 */
	41, 45, 15, 21, 8,  /* y = 3 */
	18, 2,	61, 56, 14, /* y = 4 */
};

static inline uint64_t rotl64(uint64_t v, unsigned n)
{
	return n ? (v << n) | (v >> (64 - n)) : v;
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void permute_lanes(uint64_t a[25])
{
	for (int round = 0; round < ROUNDS; round++) {
		/* theta: each column's parity folded into its neighbours. */
		uint64_t c[5], d[5];
		for (int x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
		for (int x = 0; x < 5; x++)
			d[x] = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
		for (int i = 0; i < 25; i++)
			a[i] ^= d[i % 5];

		/* rho and pi: lane (x, y) rotated, moved to (y, 2x + 3y). */
		uint64_t b[25];
		for (int y = 0; y < 5; y++)
			for (int x = 0; x < 5; x++)
				b[y + 5 * ((2 * x + 3 * y) % 5)] =
					rotl64(a[x + 5 * y], rho_offsets[x + 5 * y]);

		/* chi: the only non-linear step, row by row. */
		for (int y = 0; y < 25; y += 5)
			for (int x = 0; x < 5; x++)
				a[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);

		/* iota */
		a[0] ^= round_constants[round];
	}
}

void keccak_f1600(uint8_t st[KECCAK_STATE_BYTES])
{
	uint64_t lanes[25];
	for (int i = 0; i < 25; i++)
		lanes[i] = load_le64(st + 8 * i);
	permute_lanes(lanes);
	for (int i = 0; i < 25; i++)
		store_le64(st + 8 * i, lanes[i]);
}
