/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keccak.h - the Keccak-f[1600] permutation (FIPS 202, section 3), the one
 * primitive under STROBE-128 and so under Merlin transcripts.
 *
 * The state is 200 bytes; lane (x, y) is the little-endian 64-bit word at
 * byte 8 * (x + 5 * y), as FIPS 202 maps the bit string onto lanes. Byte
 * access suits STROBE, which absorbs and squeezes byte by byte.
 */
#ifndef MUKAN_WIRE_KECCAK_H
#define MUKAN_WIRE_KECCAK_H

#include <stdint.h>

#define KECCAK_STATE_BYTES 200

/* The 24 rounds of Keccak-f[1600] on st, in place. */
void keccak_f1600(uint8_t st[KECCAK_STATE_BYTES]);

#endif /* MUKAN_WIRE_KECCAK_H */
