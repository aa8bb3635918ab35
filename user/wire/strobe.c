/* SPDX-License-Identifier: Apache-2.0 */
/*
 * strobe.c - STROBE-128 meta-AD, AD and PRF, written from the STROBE v1.0.2
 * specification (strobe.sourceforge.io) for Merlin's use of it.
 *
 * Every operation begins by absorbing the previous start position and its
 * flags; operations with C set (PRF) then permute so their output depends
 * on everything absorbed before. Padding at a permutation is cSHAKE-like:
 * pos_begin at pos, 0x04 after it, 0x80 at the last byte of the rate.
 */
#include "strobe.h"

#include <string.h>

#define STROBE_R 166 /* 200 - 2 * (128 / 8) - 2 */

enum {
	FLAG_I = 1 << 0, /* inbound */
	FLAG_A = 1 << 1, /* application data */
	FLAG_C = 1 << 2, /* cipher: uses the state's output */
	FLAG_T = 1 << 3, /* transport (unused here) */
	FLAG_M = 1 << 4, /* meta */
	FLAG_K = 1 << 5, /* keytree (unused here) */
};

static void run_f(struct strobe128 *s)
{
	s->st[s->pos] ^= s->pos_begin;
	s->st[s->pos + 1] ^= 0x04;
	s->st[STROBE_R + 1] ^= 0x80;
	keccak_f1600(s->st);
	s->pos = 0;
	s->pos_begin = 0;
}

static void absorb(struct strobe128 *s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		s->st[s->pos++] ^= p[i];
		if (s->pos == STROBE_R)
			run_f(s);
	}
}

/* Output the rate bytes and zero them (PRF's "squeeze": overwrite with zero input). */
static void squeeze(struct strobe128 *s, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		out[i] = s->st[s->pos];
		s->st[s->pos++] = 0;
		if (s->pos == STROBE_R)
			run_f(s);
	}
}

static void begin_op(struct strobe128 *s, uint8_t flags, bool more)
{
	if (more && s->flags == flags)
		return;
	/* A continuation of another operation is a caller bug: start a new one. */
	uint8_t old_begin = s->pos_begin;
	s->pos_begin = (uint8_t)(s->pos + 1);
	s->flags = flags;
	uint8_t op[2] = { old_begin, flags };
	absorb(s, op, sizeof(op));
	if ((flags & (FLAG_C | FLAG_K)) && s->pos != 0)
		run_f(s);
}

void strobe128_init(struct strobe128 *s, const void *protocol_label, size_t len)
{
	/* cSHAKE-style domain: 1, R+2, 1, 0, 1, 12*8, "STROBEv1.0.2". */
	static const uint8_t domain[18] = { 1, STROBE_R + 2, 1, 0, 1, 96, 'S', 'T', 'R',
					    'O', 'B', 'E', 'v', '1', '.', '0', '.', '2' };
	memset(s, 0, sizeof(*s));
	memcpy(s->st, domain, sizeof(domain));
	keccak_f1600(s->st);
	strobe128_meta_ad(s, protocol_label, len, false);
}

void strobe128_meta_ad(struct strobe128 *s, const void *data, size_t len, bool more)
{
	begin_op(s, FLAG_M | FLAG_A, more);
	absorb(s, data, len);
}

void strobe128_ad(struct strobe128 *s, const void *data, size_t len, bool more)
{
	begin_op(s, FLAG_A, more);
	absorb(s, data, len);
}

void strobe128_prf(struct strobe128 *s, void *out, size_t len, bool more)
{
	begin_op(s, FLAG_I | FLAG_A | FLAG_C, more);
	squeeze(s, out, len);
}
