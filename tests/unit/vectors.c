/* SPDX-License-Identifier: Apache-2.0 */
/* vectors.c - reading the TSV vector files (see vectors.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vectors.h"

FILE *vectors_open(const char *rel, char *path, size_t pathsz)
{
	const char *root = getenv("MUKAN_SRC");
	if (root && *root)
		snprintf(path, pathsz, "%s/%s", root, rel);
	else
		snprintf(path, pathsz, "%s", rel);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s: %s (run from the repo root or set MUKAN_SRC)",
			   path, strerror(errno));
	return f;
}

void vectors_begin(struct vectors *v, const char *rel)
{
	memset(v, 0, sizeof(*v));
	v->f = vectors_open(rel, v->path, sizeof(v->path));
}

/* Split a line in place on tabs; returns the number of fields found. */
static int split_tabs(char *line, char **fields, int max)
{
	int n = 0;
	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		fields[n++] = line;
		char *tab = strchr(line, '\t');
		if (!tab)
			return n;
		*tab = '\0';
		line = tab + 1;
	}
	return n + 1; /* more fields than expected */
}

bool vectors_next(struct vectors *v, char **col, int ncols)
{
	while (fgets(v->line, sizeof(v->line), v->f)) {
		v->lineno++;
		if (v->line[0] == '#' || v->line[0] == '\n')
			continue;
		snprintf(v->where, sizeof(v->where), "%s:%d", v->path, v->lineno);
		int n = split_tabs(v->line, col, ncols);
		cr_assert_eq(n, ncols, "%s: %d columns, want %d", v->where, n, ncols);
		v->cases++;
		return true;
	}
	return false;
}

void vectors_end(struct vectors *v, int min_cases)
{
	fclose(v->f);
	v->f = NULL;
	cr_assert_geq(v->cases, min_cases, "%s: only %d cases, want at least %d", v->path,
		      v->cases, min_cases);
}
