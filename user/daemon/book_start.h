/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_start.h - which book the daemon starts with, when a pinned map and a
 * book file both exist (docs/live.md, "Which book"). The decision is a pure
 * function of the facts below, so every row of the table is unit-tested.
 */
#ifndef MUKAN_DAEMON_BOOK_START_H
#define MUKAN_DAEMON_BOOK_START_H

#include <stdbool.h>
#include <stdint.h>

struct start_facts {
	bool file;	      /* the book file loaded */
	const char *file_key; /* its identity (upstream's `key`) */
	uint32_t file_count;  /* records it holds */
	uint64_t file_gen;    /* mukan.generation, 0 when it has none */
	int64_t file_mtime_ns; /* wall time it was last written */
	uint32_t map_used;     /* records in the pinned map */
	uint32_t map_capacity;
	uint32_t state;	      /* meta: enum mukan_meta_state */
	const char *map_key;  /* meta's key, "" when it has none */
	uint64_t map_gen;     /* meta's book_gen */
	int64_t map_synced_ns; /* meta's synced_unix_ns */
	bool reimport;	      /* --reimport */
};

enum start_action {
	START_EMPTY,		/* no file, empty map: a new empty book */
	START_MAP,		/* the map is the book (no file, or the file is not newer) */
	START_IMPORT,		/* empty map: it takes the file (keys and records) */
	START_REDO,		/* an import was cut short: do it again, the same way */
	START_UNION_MAP_NEWER,	/* same book, other generation: join, the map's records win */
	START_UNION_FILE_NEWER, /* ... the file's records win */
	START_REIMPORT,		/* --reimport: the map's records saved aside, the file's in */
	START_OTHER_BOOK,	/* refuse: the map holds another book */
	START_TOO_BIG,		/* refuse: the file holds more records than the map has slots */
	START_NOTHING_TO_REIMPORT, /* refuse: --reimport without a file */
};

enum start_action book_start_decide(const struct start_facts *f);
const char *book_start_action_name(enum start_action a);

#endif
