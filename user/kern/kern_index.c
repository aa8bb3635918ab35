/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kern_index.c - the kernel's address index (book_idx) made to agree with a
 * book.
 *
 * The book tells book_idx of every change it makes (kern_index_hook), but
 * entries it never made stay: one left by a process that died mid-write, one
 * written with bpftool, one whose record's address was overwritten in the
 * slot (the book can no longer compute the old key to delete it). The BPF
 * lookup ignores an entry whose slot does not hold its key; this removes
 * them, so the index holds exactly the book's records.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book.h"
#include "kern_internal.h"

int kern_index_sync(struct kern *k, const struct book *b)
{
	int fd = kern_map_fd(k, KM_IDX);
	uint32_t cap = k->capacity ? k->capacity : 1;
	struct mukan_addr *stale = calloc(cap, sizeof(*stale));
	if (!stale)
		return -ENOMEM;
	/* Collect first: deleting while walking restarts the walk. */
	struct mukan_addr key, next;
	uint32_t n = 0;
	void *prev = NULL;
	while (n < cap && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		uint32_t slot;
		if (bpf_map_lookup_elem(fd, &key, &slot) == 0 &&
		    book_find_addr(b, &key) != (int)slot)
			stale[n++] = key;
	}
	int removed = 0;
	for (uint32_t i = 0; i < n; i++) {
		int want = book_find_addr(b, &stale[i]);
		if (kern_index_set(k, &stale[i], want) == 0)
			removed += want < 0;
	}
	free(stale);
	return removed;
}
