/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keccak.c - Keccak-f[1600] written from FIPS 202: theta, rho, pi, chi and
 * iota over 25 lanes, 24 rounds. The rho offsets (in the 25 moves below)
 * and round constants are the tables of FIPS 202 sections 3.2.2 and 3.2.5;
 * the unit tests check the permutation through SHA3-256 and SHAKE128 known
 * answers.
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

/* A rotation by a constant 1..63, so the compiler emits one instruction. */
#define ROTL(v, n) (((v) << (n)) | ((v) >> (64 - (n))))

/* chi on the row starting at lane y: the only non-linear step. */
#define CHI_ROW(y)                                                                     \
	do {                                                                           \
		a[(y)] = b[(y)] ^ (~b[(y) + 1] & b[(y) + 2]);                          \
		a[(y) + 1] = b[(y) + 1] ^ (~b[(y) + 2] & b[(y) + 3]);                  \
		a[(y) + 2] = b[(y) + 2] ^ (~b[(y) + 3] & b[(y) + 4]);                  \
		a[(y) + 3] = b[(y) + 3] ^ (~b[(y) + 4] & b[(y)]);                      \
		a[(y) + 4] = b[(y) + 4] ^ (~b[(y)] & b[(y) + 1]);                      \
	} while (0)

/*
 * One round per iteration, unrolled within: theta's column parities C and
 * their mix D; rho and pi as 25 moves (lane (x, y), rotated by its rho
 * offset, goes to (y, 2x + 3y)), theta's D applied on the way; chi row by
 * row; iota.
 */
static void permute_lanes(uint64_t a[25])
{
	uint64_t b[25];
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
		uint64_t c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
		uint64_t c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
		uint64_t c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
		uint64_t c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
		uint64_t d0 = c4 ^ ROTL(c1, 1), d1 = c0 ^ ROTL(c2, 1), d2 = c1 ^ ROTL(c3, 1);
		uint64_t d3 = c2 ^ ROTL(c4, 1), d4 = c3 ^ ROTL(c0, 1);

		b[0] = a[0] ^ d0;
		b[10] = ROTL((a[1] ^ d1), 1);
		b[20] = ROTL((a[2] ^ d2), 62);
		b[5] = ROTL((a[3] ^ d3), 28);
		b[15] = ROTL((a[4] ^ d4), 27);
		b[16] = ROTL((a[5] ^ d0), 36);
		b[1] = ROTL((a[6] ^ d1), 44);
		b[11] = ROTL((a[7] ^ d2), 6);
		b[21] = ROTL((a[8] ^ d3), 55);
		b[6] = ROTL((a[9] ^ d4), 20);
		b[7] = ROTL((a[10] ^ d0), 3);
		b[17] = ROTL((a[11] ^ d1), 10);
		b[2] = ROTL((a[12] ^ d2), 43);
		b[12] = ROTL((a[13] ^ d3), 25);
		b[22] = ROTL((a[14] ^ d4), 39);
		b[23] = ROTL((a[15] ^ d0), 41);
		b[8] = ROTL((a[16] ^ d1), 45);
		b[18] = ROTL((a[17] ^ d2), 15);
		b[3] = ROTL((a[18] ^ d3), 21);
		b[13] = ROTL((a[19] ^ d4), 8);
		b[14] = ROTL((a[20] ^ d0), 18);
		b[24] = ROTL((a[21] ^ d1), 2);
		b[9] = ROTL((a[22] ^ d2), 61);
		b[19] = ROTL((a[23] ^ d3), 56);
		b[4] = ROTL((a[24] ^ d4), 14);

		CHI_ROW(0);
		CHI_ROW(5);
		CHI_ROW(10);
		CHI_ROW(15);
		CHI_ROW(20);
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
