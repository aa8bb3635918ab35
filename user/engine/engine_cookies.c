/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_cookies.c - cookie -> slot, so a second dial of the same cookie is
 * refused and a cancel finds its dial without walking the slots. Linear
 * probing in a table of at least 2K entries (never more than half full, so
 * every probe ends at an empty entry within a few steps); deletion shifts
 * the following entries back instead of leaving tombstones.
 */
#include "engine_internal.h"

static uint32_t cookie_home(const struct engine *e, uint64_t cookie)
{
	/* Fibonacci hashing: book slots are small consecutive numbers. */
	return (uint32_t)((cookie * 0x9e3779b97f4a7c15ULL) >> 32) & e->ck_mask;
}

int engine_cookie_find(const struct engine *e, uint64_t cookie)
{
	uint32_t i = cookie_home(e, cookie);
	for (uint32_t n = 0; n <= e->ck_mask; n++, i = (i + 1) & e->ck_mask) {
		if (e->ck_vals[i] == 0)
			return -1;
		if (e->ck_keys[i] == cookie)
			return (int)(e->ck_vals[i] - 1);
	}
	return -1;
}

void engine_cookie_put(struct engine *e, uint64_t cookie, uint32_t slot)
{
	uint32_t i = cookie_home(e, cookie);
	for (uint32_t n = 0; n <= e->ck_mask; n++, i = (i + 1) & e->ck_mask) {
		if (e->ck_vals[i] == 0 || e->ck_keys[i] == cookie) {
			e->ck_keys[i] = cookie;
			e->ck_vals[i] = slot + 1;
			return;
		}
	}
}

void engine_cookie_del(struct engine *e, uint64_t cookie)
{
	uint32_t i = cookie_home(e, cookie);
	uint32_t n;
	for (n = 0; n <= e->ck_mask; n++, i = (i + 1) & e->ck_mask) {
		if (e->ck_vals[i] == 0)
			return;
		if (e->ck_keys[i] == cookie)
			break;
	}
	if (n > e->ck_mask)
		return;
	/* Move back every later entry whose home does not lie in (hole, j]. */
	uint32_t hole = i;
	uint32_t j = i;
	for (n = 0; n <= e->ck_mask; n++) {
		j = (j + 1) & e->ck_mask;
		if (e->ck_vals[j] == 0)
			break;
		uint32_t home = cookie_home(e, e->ck_keys[j]);
		bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
		if (stays)
			continue;
		e->ck_keys[hole] = e->ck_keys[j];
		e->ck_vals[hole] = e->ck_vals[j];
		hole = j;
	}
	e->ck_vals[hole] = 0;
}
