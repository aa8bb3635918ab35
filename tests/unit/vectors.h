/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vectors.h - reading the TSV files under tests/vectors/ (written by
 * tools/vectors/ with Go's own packages): one case a line, columns split on
 * tabs, '#' comment lines and blank lines skipped. Every helper fails the
 * running Criterion test itself when the file is unusable.
 */
#ifndef MUKAN_TEST_VECTORS_H
#define MUKAN_TEST_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Open rel (e.g. "tests/vectors/placement.tsv") under $MUKAN_SRC if set, else
 * relative to the current directory (the repo root); the name opened goes to
 * path. Fails the test when the file cannot be opened.
 */
FILE *vectors_open(const char *rel, char *path, size_t pathsz);

/* A vector file being read case by case. */
struct vectors {
	FILE *f;
	char path[4096];  /* the file as opened */
	char where[4200]; /* "path:line" of the current case, for messages */
	char line[1024];
	int lineno; /* of the current case */
	int cases;  /* read so far */
};

void vectors_begin(struct vectors *v, const char *rel);

/*
 * The next case, split in place into exactly ncols columns (the test fails
 * on any other count); false at the end of the file.
 */
bool vectors_next(struct vectors *v, char **col, int ncols);

/* Close the file; the test fails when it held fewer than min_cases cases. */
void vectors_end(struct vectors *v, int min_cases);

#endif /* MUKAN_TEST_VECTORS_H */
