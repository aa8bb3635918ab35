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

/* The same fields as one JSON object (times as RFC 3339 or null for never); NULL on ENOMEM. */
json_t *peer_to_json(const struct mukan_peer *p, int64_t now);

#endif /* MUKAN_DIALCTL_PEER_PRINT_H */
