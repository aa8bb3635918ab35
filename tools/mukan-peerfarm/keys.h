/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.h - every peer's ed25519 key, a pure function of --seed and the
 * peer's index, so a run replays: the same seed gives the same node IDs.
 */
#ifndef MUKAN_PEERFARM_KEYS_H
#define MUKAN_PEERFARM_KEYS_H

#include <stdint.h>

#include "wire/nodekey.h"

/*
 * Key number `which` of peer `index`: 0 is the key whose ID the book lists,
 * 1 the other key a wrong_id peer authenticates with. The ed25519 seed is
 * SHA-256("mukan-peerfarm node key" || LE64(seed) || LE32(index) || which).
 */
void keys_derive(uint64_t seed, uint32_t index, uint8_t which, struct node_key *k);

#endif /* MUKAN_PEERFARM_KEYS_H */
