/* SPDX-License-Identifier: Apache-2.0 */
/* pex_out.c - PEX replies of farm peers (see pex_out.h). */
#include "pex_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tendermint/p2p/pex.pb-c.h"
#include "wire/pb.h"

ssize_t pex_out_knows(const struct farm *f, uint32_t p, uint8_t *out, size_t cap)
{
	struct netaddr list[PEX_MAX_ADDRS];
	const struct farm_peer *me = &f->peers[p];
	uint32_t n = me->n_knows < PEX_MAX_ADDRS ? me->n_knows : PEX_MAX_ADDRS;
	for (uint32_t i = 0; i < n; i++)
		list[i] = f->peers[f->knows[me->knows_off + i]].na;
	return pex_encode_addrs(list, n, out, cap);
}

/* The texts of one address, as upstream writes a NetAddress. */
struct addr_text {
	char id[2 * MUKAN_ID_LEN + 1];
	char ip[IP_STRLEN];
};

ssize_t pex_out_over_cap(const struct farm *f, uint32_t p, uint8_t *out, size_t cap)
{
	enum { N = PEX_OUT_OVER_CAP };
	Tendermint__P2p__NetAddress *na = calloc(N, sizeof(*na));
	Tendermint__P2p__NetAddress **ptrs = calloc(N, sizeof(*ptrs));
	struct addr_text *text = calloc(N, sizeof(*text));
	ssize_t rc = -ENOMEM;
	if (!na || !ptrs || !text)
		goto out;
	for (uint32_t i = 0; i < N; i++) {
		const struct netaddr *a = &f->peers[(p + 1 + i) % f->n_peers].na;
		tendermint__p2p__net_address__init(&na[i]);
		node_id_format(a->id, text[i].id);
		ip_format(&a->a, text[i].ip);
		na[i].id = pb_str(text[i].id);
		na[i].ip = pb_str(text[i].ip);
		na[i].port = a->a.port;
		ptrs[i] = &na[i];
	}
	Tendermint__P2p__PexAddrs pa;
	tendermint__p2p__pex_addrs__init(&pa);
	pa.n_addrs = N;
	pa.addrs = ptrs;
	Tendermint__P2p__Message m;
	tendermint__p2p__message__init(&m);
	m.sum_case = TENDERMINT__P2P__MESSAGE__SUM_PEX_ADDRS;
	m.pex_addrs = &pa;
	size_t len = tendermint__p2p__message__get_packed_size(&m);
	rc = len > cap ? -ENOSPC : (ssize_t)tendermint__p2p__message__pack(&m, out);
out:
	free(na), free(ptrs), free(text);
	return rc;
}
