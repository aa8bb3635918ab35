/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanup.h - `mukan-peerfarm --cleanup NAME`: remove what a farm killed
 * with SIGKILL left behind (its namespace and, inside it, its nftables
 * table). A namespace that a running process still uses is left alone.
 */
#ifndef MUKAN_PEERFARM_CLEANUP_H
#define MUKAN_PEERFARM_CLEANUP_H

/* The exit status: 0 removed (or nothing to remove), 1 failed or in use. */
int cleanup_run(const char *name);

#endif /* MUKAN_PEERFARM_CLEANUP_H */
