/* SPDX-License-Identifier: Apache-2.0 */
/* summary.h - what the farm tells its operator on stdout. */
#ifndef MUKAN_PEERFARM_SUMMARY_H
#define MUKAN_PEERFARM_SUMMARY_H

#include "conn.h"
#include "farm.h"

/* The network is up: where to join it, a line per category, the files. */
void summary_print_up(const struct farm *f, const char *dir);

/* The sessions the farm ended, by reason, on one line (nothing if none). */
void summary_print_ended(const struct farm_stats *st);

#endif /* MUKAN_PEERFARM_SUMMARY_H */
