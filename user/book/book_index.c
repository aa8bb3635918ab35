/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_index.c - ID -> slot and address -> slot lookup tables.
 *
 * Node IDs and addresses come from the network, so the tables are keyed
 * with SipHash under a per-book random key: nobody can grind IDs that all
 * land in one probe chain. Keys are read from the book's own copy of each
 * record (struct shadow), never from the slots other processes may write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <highwayhash/c_bindings.h>

#include "book_internal.h"

int slot_table_init(struct slot_table *t, uint32_t capacity)
{
	uint32_t size = 16;
	while (size < 2 * capacity)
		size <<= 1;
	t->cell = calloc(size, sizeof(*t->cell));
	if (!t->cell)
		return -ENOMEM;
	t->mask = size - 1;
	return 0;
}

void slot_table_free(struct slot_table *t)
{
	free(t->cell);
	t->cell = NULL;
}

static uint32_t hash_bytes(const struct book *b, const void *p, size_t n)
{
	return (uint32_t)SipHash13C(b->table_key, p, n);
}

static uint32_t id_hash(const struct book *b, const uint8_t *id)
{
	return hash_bytes(b, id, MUKAN_ID_LEN);
}

static uint32_t addr_hash(const struct book *b, const struct mukan_addr *a)
{
	return hash_bytes(b, a, sizeof(*a));
}

int slot_table_find_id(const struct book *b, const uint8_t id[MUKAN_ID_LEN])
{
	const struct slot_table *t = &b->by_id;
	for (uint32_t i = id_hash(b, id) & t->mask;; i = (i + 1) & t->mask) {
		uint32_t c = t->cell[i];
		if (c == 0)
			return -ENOENT;
		if (memcmp(b->sh[c - 1].id, id, MUKAN_ID_LEN) == 0)
			return (int)(c - 1);
	}
}

int slot_table_find_addr(const struct book *b, const struct mukan_addr *a)
{
	const struct slot_table *t = &b->by_addr;
	for (uint32_t i = addr_hash(b, a) & t->mask;; i = (i + 1) & t->mask) {
		uint32_t c = t->cell[i];
		if (c == 0)
			return -ENOENT;
		if (memcmp(&b->sh[c - 1].addr, a, sizeof(*a)) == 0)
			return (int)(c - 1);
	}
}

static void put(struct slot_table *t, uint32_t h, uint32_t slot)
{
	uint32_t i = h & t->mask;
	while (t->cell[i] != 0)
		i = (i + 1) & t->mask;
	t->cell[i] = slot + 1;
}

void slot_table_put_id(struct book *b, uint32_t slot)
{
	put(&b->by_id, id_hash(b, b->sh[slot].id), slot);
}

void slot_table_put_addr(struct book *b, uint32_t slot)
{
	put(&b->by_addr, addr_hash(b, &b->sh[slot].addr), slot);
}

/* Remove the cell holding slot+1, shifting later cells of the chain back. */
static void del(struct slot_table *t, uint32_t h, uint32_t slot,
		uint32_t (*hash_of)(const struct book *, uint32_t), const struct book *b)
{
	uint32_t i = h & t->mask;
	while (t->cell[i] != slot + 1) {
		if (t->cell[i] == 0)
			return;
		i = (i + 1) & t->mask;
	}
	for (uint32_t j = (i + 1) & t->mask; t->cell[j] != 0; j = (j + 1) & t->mask) {
		uint32_t home = hash_of(b, t->cell[j] - 1) & t->mask;
		/* Move cell j back to the hole at i unless its home lies in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			t->cell[i] = t->cell[j];
			i = j;
		}
	}
	t->cell[i] = 0;
}

static uint32_t id_hash_of(const struct book *b, uint32_t slot)
{
	return id_hash(b, b->sh[slot].id);
}

static uint32_t addr_hash_of(const struct book *b, uint32_t slot)
{
	return addr_hash(b, &b->sh[slot].addr);
}

void slot_table_del_id(struct book *b, uint32_t slot)
{
	del(&b->by_id, id_hash_of(b, slot), slot, id_hash_of, b);
}

void slot_table_del_addr(struct book *b, uint32_t slot)
{
	del(&b->by_addr, addr_hash_of(b, slot), slot, addr_hash_of, b);
}
