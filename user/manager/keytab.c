/* SPDX-License-Identifier: Apache-2.0 */
/* keytab.c - see keytab.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keytab.h"

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t hash_key(const struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN])
{
	uint64_t w[3] = { 0, 0, 0 };
	memcpy(w, key, KEYTAB_KEY_LEN);
	uint64_t h = mix64(w[0] ^ t->hkey);
	h = mix64(h ^ w[1]);
	h = mix64(h ^ w[2] ^ (t->hkey >> 17));
	return (uint32_t)h;
}

static int alloc_cells(struct keytab *t, uint32_t cap)
{
	t->cell = calloc(cap, sizeof(*t->cell));
	if (!t->cell)
		return -ENOMEM;
	t->mask = cap - 1;
	t->n = 0;
	return 0;
}

int keytab_init(struct keytab *t, uint32_t expect, uint64_t hkey)
{
	uint32_t cap = 16;
	while (cap < expect * 2 && cap < (1u << 30))
		cap <<= 1;
	t->hkey = hkey;
	return alloc_cells(t, cap);
}

void keytab_free(struct keytab *t)
{
	free(t->cell);
	t->cell = NULL;
	t->mask = 0;
	t->n = 0;
}

static uint32_t find_pos(const struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN], bool *found)
{
	uint32_t i = hash_key(t, key) & t->mask;
	while (t->cell[i].used) {
		if (memcmp(t->cell[i].key, key, KEYTAB_KEY_LEN) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & t->mask;
	}
	*found = false;
	return i;
}

int32_t keytab_get(const struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN])
{
	bool found;
	uint32_t i = find_pos(t, key, &found);
	return found ? t->cell[i].value : -ENOENT;
}

/* Keep the load at most one half, so probe chains stay short. */
static int grow(struct keytab *t)
{
	struct keytab old = *t;
	if (alloc_cells(t, (old.mask + 1) * 2) < 0) {
		*t = old;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= old.mask; i++)
		if (old.cell[i].used)
			keytab_put(t, old.cell[i].key, old.cell[i].value);
	free(old.cell);
	return 0;
}

int keytab_put(struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN], int32_t value)
{
	bool found;
	uint32_t i = find_pos(t, key, &found);
	if (found) {
		t->cell[i].value = value;
		return 0;
	}
	if ((t->n + 1) * 2 > t->mask + 1) {
		if (grow(t) < 0)
			return -ENOMEM;
		i = find_pos(t, key, &found);
	}
	memcpy(t->cell[i].key, key, KEYTAB_KEY_LEN);
	t->cell[i].value = value;
	t->cell[i].used = true;
	t->n++;
	return 0;
}

int keytab_del(struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN])
{
	bool found;
	uint32_t hole = find_pos(t, key, &found);
	if (!found)
		return -ENOENT;
	/* Backward shift: pull later members of the chain into the hole. */
	uint32_t j = hole;
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->cell[j].used)
			break;
		uint32_t home = hash_key(t, t->cell[j].key) & t->mask;
		/* Movable unless its home lies cyclically in (hole, j]. */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (stays)
			continue;
		t->cell[hole] = t->cell[j];
		hole = j;
	}
	t->cell[hole].used = false;
	t->n--;
	return 0;
}

int keytab_count_add(struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN], int delta)
{
	int32_t c = keytab_count(t, key) + delta;
	if (c <= 0)
		return keytab_get(t, key) >= 0 ? keytab_del(t, key) : 0;
	return keytab_put(t, key, c);
}

int32_t keytab_count(const struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN])
{
	int32_t v = keytab_get(t, key);
	return v < 0 ? 0 : v;
}
