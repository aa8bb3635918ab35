/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spawn.h - run `ip` and `nft` as child processes: an argv array, no shell,
 * default signal handling, a bounded wait.
 */
#ifndef MUKAN_PEERFARM_SPAWN_H
#define MUKAN_PEERFARM_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#define SPAWN_TIMEOUT_MS 10000 /* ip and nft take milliseconds; a hang is killed */

/*
 * Run argv (argv[0] looked up in PATH) in the caller's namespaces and wait.
 * Its stdin is `input` (len bytes; NULL: empty), so `nft -f -` and
 * `ip -batch -` take a whole batch in one process. quiet sends its stdout
 * and stderr to /dev/null. Returns its exit status, 128 + signal if a
 * signal ended it, or -errno if it could not start or did not finish within
 * SPAWN_TIMEOUT_MS (it is then killed).
 */
int spawn_wait(char *const argv[], const char *input, size_t len, bool quiet);

#endif /* MUKAN_PEERFARM_SPAWN_H */
