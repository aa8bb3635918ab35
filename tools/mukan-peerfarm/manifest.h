/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.h - manifest.json, the farm described for programs: namespace,
 * pid, protocol and timing settings, and every peer: its index, listed
 * address and ID, its key's ID (the same but for wrong_id), category and
 * variant, seed and seed mode, the network it announces, and the indices
 * of the peers it tells in a PEX reply ("knows"). Written last, when the
 * network is up, so its appearance means "ready". Format 2 (format 1 had
 * no protocol fields; every field of 1 is still there).
 */
#ifndef MUKAN_PEERFARM_MANIFEST_H
#define MUKAN_PEERFARM_MANIFEST_H

#include <stddef.h>

#include "farm.h"

#define MANIFEST_FORMAT 2

int manifest_write(const struct farm *f, const char *dir, char *err, size_t errsz);

#endif /* MUKAN_PEERFARM_MANIFEST_H */
