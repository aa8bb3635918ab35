/* SPDX-License-Identifier: Apache-2.0 */
/* node.c - a listening peer's key, NodeInfo and mode (see node.h). */
#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* node.go makeNodeInfo: blocksync, consensus x4, mempool, evidence, statesync x2, then PEX. */
const uint8_t node_channels[NODE_N_CHANNELS] = {
	0x40, 0x20, 0x21, 0x22, 0x23, 0x30, 0x38, 0x60, 0x61, 0x00,
};

void node_listen_addr(const struct mukan_addr *a, char *out, size_t outsz)
{
	char ip[IP_STRLEN];
	ip_format(a, ip);
	if (a->family == MUKAN_AF_INET)
		snprintf(out, outsz, "tcp://%s:%u", ip, (unsigned)a->port);
	else
		snprintf(out, outsz, "tcp://[%s]:%u", ip, (unsigned)a->port);
}

int node_init(struct farm_node *n, const struct farm *f, uint32_t index, char *err, size_t errsz)
{
	const struct farm_peer *p = &f->peers[index];
	memset(n, 0, sizeof(*n));
	n->f = f;
	n->index = index;
	n->peer = p;
	n->seed_mode = f->opts.seed_mode && p->seed;

	char laddr[IP_STRLEN + 16], moniker[64], why[NODEINFO_WHY_LEN];
	node_listen_addr(&p->na.a, laddr, sizeof(laddr));
	snprintf(moniker, sizeof(moniker), "farm-%s-%u", farm_cat_name(p->cat), index);
	struct nodeinfo_params np;
	nodeinfo_params_default(&np);
	memcpy(np.id, p->key.id, MUKAN_ID_LEN); /* its key's ID: a wrong_id peer is consistent */
	np.listen_addr = laddr;
	np.network = p->cat == CAT_WRONG_NETWORK ? f->opts.other_network : f->opts.network;
	np.version = NODE_VERSION;
	np.moniker = moniker;
	np.tx_index = "on";
	np.rpc_address = NODE_RPC_ADDRESS;
	np.channels = node_channels;
	np.n_channels = NODE_N_CHANNELS;
	int e = nodeinfo_build(&n->info, &np, why, sizeof(why));
	if (e == -EINVAL) {
		snprintf(err, errsz, "NodeInfo of peer %u: %s", index, why);
		return e;
	}
	if (e < 0) {
		snprintf(err, errsz, "NodeInfo of peer %u: %s", index, strerror(-e));
		return e;
	}
	size_t len = nodeinfo_encoded_size(&n->info);
	n->info_wire = malloc(len);
	ssize_t w = n->info_wire ? nodeinfo_encode(&n->info, n->info_wire, len) : -ENOMEM;
	if (w < 0) {
		snprintf(err, errsz, "NodeInfo of peer %u: %s", index, strerror((int)-w));
		node_free(n);
		return (int)w;
	}
	n->info_len = (size_t)w;
	return 0;
}

void node_free(struct farm_node *n)
{
	nodeinfo_free(&n->info);
	free(n->info_wire);
	n->info_wire = NULL;
	n->info_len = 0;
}
