/* SPDX-License-Identifier: Apache-2.0 */
/* summary.h - what the farm tells its operator on stdout. */
#ifndef MUKAN_PEERFARM_SUMMARY_H
#define MUKAN_PEERFARM_SUMMARY_H

#include "farm.h"

/* The network is up: where to join it, a line per category, the files. */
void summary_print_up(const struct farm *f, const char *dir);

#endif /* MUKAN_PEERFARM_SUMMARY_H */
