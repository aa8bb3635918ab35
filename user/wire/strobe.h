/* SPDX-License-Identifier: Apache-2.0 */
/*
 * strobe.h - STROBE-128 (v1.0.2) reduced to what Merlin transcripts use:
 * meta-AD, AD and PRF, each a new operation or a continuation ("more") of
 * the previous one. No transport operations, no key ratchet: Merlin as
 * CometBFT's SecretConnection drives it needs none.
 *
 * Security level 128 over Keccak-f[1600]: rate R = 200 - 2*16 - 2 = 166
 * bytes; the two bytes above R carry the operation start and the padding.
 */
#ifndef MUKAN_WIRE_STROBE_H
#define MUKAN_WIRE_STROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keccak.h"

struct strobe128 {
	uint8_t st[KECCAK_STATE_BYTES];
	uint8_t pos;	   /* next byte of the rate to use */
	uint8_t pos_begin; /* where the current operation began (+1), 0 after a permutation */
	uint8_t flags;	   /* the current operation's flags, for "more" */
};

/* A new STROBE-128 object, then meta-AD(protocol_label). */
void strobe128_init(struct strobe128 *s, const void *protocol_label, size_t len);

/* Absorb framing data (operation flags M|A). more = continue the last meta-AD. */
void strobe128_meta_ad(struct strobe128 *s, const void *data, size_t len, bool more);

/* Absorb associated data (flag A). */
void strobe128_ad(struct strobe128 *s, const void *data, size_t len, bool more);

/* Squeeze len pseudo-random bytes (flags I|A|C). */
void strobe128_prf(struct strobe128 *s, void *out, size_t len, bool more);

#endif /* MUKAN_WIRE_STROBE_H */
