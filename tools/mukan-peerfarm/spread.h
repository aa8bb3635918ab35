/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spread.h - peer addresses that the address book keeps, every one of them.
 *
 * All addresses come from one source, so the book can put them in only 32
 * new buckets (upstream newBucketsPerGroup), chosen by the /16 (IPv6: /32)
 * group of each address. Drawn at random, some bucket overflows long before
 * the others fill and the book silently evicts; so each address is drawn in
 * a group whose bucket, computed with the book's own keys, still has room.
 */
#ifndef MUKAN_PEERFARM_SPREAD_H
#define MUKAN_PEERFARM_SPREAD_H

#include <stdbool.h>

#include "book/placement.h"
#include "book/rng.h"
#include "farm.h"

#define SPREAD_BUCKET_ROOM 64 /* the book keeps 65; one spare */

struct spread;

int spread_new(struct spread **out, const struct farm_opts *o);
void spread_free(struct spread *s);

/*
 * The source every address is learned from: set first, because its group
 * takes part in every other address's bucket. A farm peer as source gets
 * its address from spread_draw_source (no room check: the buckets are not
 * known before it) and is counted, since the book holds it too.
 */
void spread_draw_source(struct spread *s, struct rng *r, bool v6, struct mukan_addr *a);
void spread_set_source(struct spread *s, const struct netaddr *src, bool in_book);

/* A fresh 127.a.b.c (or fdXX:XXXX::1) whose bucket has room, or -ENOSPC. */
int spread_draw(struct spread *s, struct rng *r, bool v6, struct mukan_addr *a);

#endif /* MUKAN_PEERFARM_SPREAD_H */
