/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keytab.h - a small open-addressing table from 20-byte keys (node IDs,
 * transport addresses, group keys) to an int32 value, for the manager's
 * "is this ID / IP / group already dialing or connected" questions.
 *
 * Linear probing with backward-shift deletion, so no tombstones pile up.
 * Keys are mixed with a per-table random key, so node IDs ground by an
 * attacker cannot line up in one probe chain. The table grows by doubling.
 */
#ifndef MUKAN_KEYTAB_H
#define MUKAN_KEYTAB_H

#include <stdbool.h>
#include <stdint.h>

#define KEYTAB_KEY_LEN 20

struct keytab_cell {
	uint8_t key[KEYTAB_KEY_LEN];
	int32_t value;
	bool used;
};

struct keytab {
	struct keytab_cell *cell;
	uint32_t mask; /* capacity - 1 */
	uint32_t n;
	uint64_t hkey;
};

int keytab_init(struct keytab *t, uint32_t expect, uint64_t hkey);
void keytab_free(struct keytab *t);

/* The value of key, or -ENOENT. */
int32_t keytab_get(const struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN]);
/* Insert or overwrite. 0 or -ENOMEM. */
int keytab_put(struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN], int32_t value);
/* 0, or -ENOENT when absent. */
int keytab_del(struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN]);

/* Reference counts on top: add delta (+1/-1); a count that reaches 0 is removed. */
int keytab_count_add(struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN], int delta);
/* 0 when absent. */
int32_t keytab_count(const struct keytab *t, const uint8_t key[KEYTAB_KEY_LEN]);

#endif /* MUKAN_KEYTAB_H */
