/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire_replay.h - `wire check`: replay both sides of an upstream transcript
 * (the JSON form of tests/vectors/cometbft/cometbft-v0.34.35-transcript-1.json)
 * through user/wire/ with the transcript's keys, and compare every byte.
 *
 * Each side's session is driven with the transcript's seed and ephemeral
 * key; what it writes is compared with what upstream wrote, and what it
 * receives is upstream's bytes (not our other side's), so both directions
 * of both roles are checked against upstream alone. The replay stops at
 * the first difference and names it.
 */
#ifndef MUKAN_DIALCTL_WIRE_REPLAY_H
#define MUKAN_DIALCTL_WIRE_REPLAY_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/*
 * Replay root. true when every byte matched; false with the first
 * difference (or what the transcript lacks) in diff. With log non-NULL,
 * one line per item checked.
 */
bool wire_replay(json_t *root, FILE *log, char *diff, size_t diffsz);

#endif /* MUKAN_DIALCTL_WIRE_REPLAY_H */
