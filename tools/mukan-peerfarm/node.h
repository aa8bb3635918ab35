/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node.h - a listening peer's side of the protocol, made once at start:
 * its key (from the plan), the NodeInfo it announces (built, checked by
 * nodeinfo_build as upstream would check it, and encoded), and whether it
 * runs in seed mode. Connections refer to it; nothing in it changes.
 */
#ifndef MUKAN_PEERFARM_NODE_H
#define MUKAN_PEERFARM_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "farm.h"
#include "wire/nodeinfo.h"

/* What every farm peer announces: upstream v0.34 to v0.38 nodes' channels, PEX last. */
#define NODE_N_CHANNELS 10
extern const uint8_t node_channels[NODE_N_CHANNELS];
#define NODE_VERSION "0.34.35"	/* what the NodeInfo says: the protocol line the farm speaks */
#define NODE_RPC_ADDRESS "tcp://127.0.0.1:26657"

struct farm_node {
	const struct farm *f;
	uint32_t index; /* into f->peers */
	const struct farm_peer *peer;
	struct nodeinfo info; /* what it announces, and what a dialer's is checked against */
	uint8_t *info_wire;   /* info length-delimited, as sent */
	size_t info_len;
	bool seed_mode;	      /* answers one PEX request, then hangs up */
};

/*
 * Peer `index` of f (a listening one). 0; -EINVAL with err when its
 * NodeInfo would not pass upstream's Validate; -ENOMEM.
 */
int node_init(struct farm_node *n, const struct farm *f, uint32_t index, char *err, size_t errsz);
void node_free(struct farm_node *n);

/* "tcp://127.1.2.3:26656" or "tcp://[fd12:3456::1]:26656". */
void node_listen_addr(const struct mukan_addr *a, char *out, size_t outsz);

#endif /* MUKAN_PEERFARM_NODE_H */
