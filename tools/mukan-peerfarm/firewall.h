/* SPDX-License-Identifier: Apache-2.0 */
/*
 * firewall.h - the nftables table that makes peers black holes, unreachable
 * or slow: `table inet mukanfarm` in the farm's namespace, one input chain
 * matching sets of addresses. Input, not output: the SYN really leaves the
 * dialer's socket and is lost (or answered) on the way in, as on a network.
 */
#ifndef MUKAN_PEERFARM_FIREWALL_H
#define MUKAN_PEERFARM_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>

#include "farm.h"

/* The ruleset text (malloc'ed) for `nft -f`. 0 or -ENOMEM. */
int firewall_render(const struct farm *f, char **text, size_t *len);

/* Load it in the current namespace, atomically (one nft transaction). */
int firewall_load(const char *text, size_t len, char *err, size_t errsz);

/* Delete the table in the current namespace; 0 also when it was absent. */
int firewall_remove(void);
bool firewall_present(void);

#endif /* MUKAN_PEERFARM_FIREWALL_H */
