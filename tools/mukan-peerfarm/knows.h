/* SPDX-License-Identifier: Apache-2.0 */
/*
 * knows.h - which farm addresses each peer tells in a PEX reply: the farm's
 * "knows" graph, drawn from --seed. A reply gives the whole list (at most
 * 250, upstream's maxGetSelection), so what a peer knows is what a crawler
 * learns from it.
 *
 * The guarantees are carried by the live peers, which always answer:
 *  - the live peers, in a random order, form a ring (each knows the next),
 *    so from any live peer a crawl reaches every live peer;
 *  - every other listening peer is known by at least one live peer, so the
 *    crawl reaches every listening peer;
 *  - every dead address (closed, blackhole, unreachable) is known by a live
 *    peer too, while the live peers have room;
 * then every peer that serves PEX (farm_cat_serves_pex) is filled up to
 * --knows (a seed: --seed-knows) with other farm addresses at random.
 */
#ifndef MUKAN_PEERFARM_KNOWS_H
#define MUKAN_PEERFARM_KNOWS_H

#include <stddef.h>

#include "book/rng.h"
#include "farm.h"

#define KNOWS_MAX 250 /* upstream maxGetSelection: a reply's addresses */

/*
 * Fill f->knows and each peer's knows_off/n_knows. -EINVAL with err when
 * the live peers cannot tell every listening peer (each tells at most 250);
 * -ENOMEM.
 */
int knows_build(struct farm *f, struct rng *r, char *err, size_t errsz);

#endif /* MUKAN_PEERFARM_KNOWS_H */
