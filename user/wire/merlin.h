/* SPDX-License-Identifier: Apache-2.0 */
/*
 * merlin.h - Merlin transcripts (merlin.cool) over STROBE-128: the
 * Fiat-Shamir hash CometBFT's SecretConnection uses to bind the challenge
 * to both ephemeral keys and the DH secret.
 *
 *   new(label)            = STROBE-128("Merlin v1.0"), append("dom-sep", label)
 *   append(label, msg)    = meta-AD(label), meta-AD(LE32(len msg), more), AD(msg)
 *   challenge(label, n)   = meta-AD(label), meta-AD(LE32(n), more), PRF(n)
 *
 * Labels are byte strings passed with their length (no NUL needed).
 */
#ifndef MUKAN_WIRE_MERLIN_H
#define MUKAN_WIRE_MERLIN_H

#include <stddef.h>
#include <stdint.h>

#include "strobe.h"

struct merlin {
	struct strobe128 strobe;
};

void merlin_init(struct merlin *t, const void *label, size_t label_len);
void merlin_append(struct merlin *t, const void *label, size_t label_len, const void *msg,
		   size_t msg_len);
void merlin_challenge(struct merlin *t, const void *label, size_t label_len, void *out,
		      size_t out_len);

/* Wipe the transcript (it holds what the challenge was derived from). */
void merlin_wipe(struct merlin *t);

#endif /* MUKAN_WIRE_MERLIN_H */
