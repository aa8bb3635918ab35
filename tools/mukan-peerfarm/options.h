/* SPDX-License-Identifier: Apache-2.0 */
/* options.h - the command line of mukan-peerfarm (argp). */
#ifndef MUKAN_PEERFARM_OPTIONS_H
#define MUKAN_PEERFARM_OPTIONS_H

#include "farm.h"

/* Fill o from argv; usage errors exit with status 2 (argp's way). */
void options_parse(int argc, char **argv, struct farm_opts *o);

/*
 * "500ms", "2s", "1.5s", "3m", "1h"; a bare number means seconds.
 * 0 or -EINVAL.
 */
int duration_ms_parse(const char *s, uint64_t *ms);

#endif /* MUKAN_PEERFARM_OPTIONS_H */
