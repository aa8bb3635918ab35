/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.h - manifest.json, the farm described for programs: namespace,
 * pid, timing settings, and every peer with its category. Written last,
 * when the network is up, so its appearance means "ready".
 */
#ifndef MUKAN_PEERFARM_MANIFEST_H
#define MUKAN_PEERFARM_MANIFEST_H

#include <stddef.h>

#include "farm.h"

#define MANIFEST_FORMAT 1

int manifest_write(const struct farm *f, const char *dir, char *err, size_t errsz);

#endif /* MUKAN_PEERFARM_MANIFEST_H */
