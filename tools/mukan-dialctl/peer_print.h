/* SPDX-License-Identifier: Apache-2.0 */
/* peer_print.h - one book record as text for people and as JSON for scripts. */
#ifndef MUKAN_DIALCTL_PEER_PRINT_H
#define MUKAN_DIALCTL_PEER_PRINT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "mukan/abi.h"

/* "new", "old" or "banned". */
const char *peer_type_name(const struct mukan_peer *p);

/* A multi-line block: the address, then one indented "label  value" line per field. */
void peer_print_text(FILE *f, const struct mukan_peer *p, int64_t now);

/* The same plus what only the live map knows (last connect); times as given. */
void peer_print_text_live(FILE *f, const struct mukan_peer *p, int64_t now);

/*
 * Book time of the live map (CLOCK_BOOTTIME ns) to wall time (unix ns), in
 * place, "never" kept: then the printers above show real dates.
 */
void peer_times_to_wall(struct mukan_peer *p, int64_t wall_offset);

/* A time as JSON: RFC 3339 string, or null for never. */
json_t *peer_time_json(int64_t t);

/* The same fields as one JSON object (times as RFC 3339 or null for never); NULL on ENOMEM. */
json_t *peer_to_json(const struct mukan_peer *p, int64_t now);

#endif /* MUKAN_DIALCTL_PEER_PRINT_H */
