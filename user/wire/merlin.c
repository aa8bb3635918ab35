/* SPDX-License-Identifier: Apache-2.0 */
/* merlin.c - Merlin transcripts on STROBE-128 (see merlin.h). */
#include "merlin.h"

#include <sodium.h>

static const char protocol_label[] = "Merlin v1.0";
static const char dom_sep[] = "dom-sep";

/* Lengths go in as little-endian u32; Merlin's messages never reach 4 GiB. */
static void put_le32(uint8_t out[4], size_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		out[i] = (uint8_t)v;
}

void merlin_init(struct merlin *t, const void *label, size_t label_len)
{
	strobe128_init(&t->strobe, protocol_label, sizeof(protocol_label) - 1);
	merlin_append(t, dom_sep, sizeof(dom_sep) - 1, label, label_len);
}

void merlin_append(struct merlin *t, const void *label, size_t label_len, const void *msg,
		   size_t msg_len)
{
	uint8_t len[4];
	put_le32(len, msg_len);
	strobe128_meta_ad(&t->strobe, label, label_len, false);
	strobe128_meta_ad(&t->strobe, len, sizeof(len), true);
	strobe128_ad(&t->strobe, msg, msg_len, false);
}

void merlin_challenge(struct merlin *t, const void *label, size_t label_len, void *out,
		      size_t out_len)
{
	uint8_t len[4];
	put_le32(len, out_len);
	strobe128_meta_ad(&t->strobe, label, label_len, false);
	strobe128_meta_ad(&t->strobe, len, sizeof(len), true);
	strobe128_prf(&t->strobe, out, out_len, false);
}

void merlin_wipe(struct merlin *t)
{
	sodium_memzero(t, sizeof(*t));
}
