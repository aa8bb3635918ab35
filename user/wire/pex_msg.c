/* SPDX-License-Identifier: Apache-2.0 */
/* pex_msg.c - PEX messages and their addresses (see pex.h). */
#include "pex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tendermint/p2p/pex.pb-c.h"
#include "wire/pb.h"

int pex_addr_from_wire(const uint8_t *id, size_t id_len, const uint8_t *ip, size_t ip_len,
		       uint32_t port, struct netaddr *out)
{
	memset(out, 0, sizeof(*out));
	/* NetAddressFromProto: net.ParseIP and the port range decide "malformed". */
	char text[IP_STRLEN + 16];
	if (ip_len == 0 || ip_len >= sizeof(text) || memchr(ip, '\0', ip_len) || port > 65535)
		return -EBADMSG;
	memcpy(text, ip, ip_len);
	text[ip_len] = '\0';
	if (ip_parse(text, &out->a) < 0)
		return -EBADMSG;
	out->a.port = (uint16_t)port;
	/* The book's Valid(): an ID, and an IP that can be an address at all. */
	if (node_id_parse((const char *)id, id_len, out->id) < 0 || !ip_is_valid(&out->a))
		return -EINVAL;
	out->has_id = true;
	return 0;
}

static int refuse(enum wire_error *err, enum wire_error code)
{
	*err = code;
	return -EPROTO;
}

static int take_addrs(const Tendermint__P2p__PexAddrs *pa, struct pex_msg *out,
		      enum wire_error *err)
{
	if (pa->n_addrs > PEX_MAX_ADDRS)
		return refuse(err, WIRE_ERR_PEX_TOO_MANY_ADDRS);
	if (pa->n_addrs == 0)
		return 0;
	out->addrs = calloc(pa->n_addrs, sizeof(*out->addrs));
	if (!out->addrs)
		return -ENOMEM;
	for (size_t i = 0; i < pa->n_addrs; i++) {
		const Tendermint__P2p__NetAddress *a = pa->addrs[i];
		int rc = pex_addr_from_wire(a->id.data, a->id.len, a->ip.data, a->ip.len, a->port,
					    &out->addrs[out->n_addrs]);
		if (rc == -EBADMSG)
			return refuse(err, WIRE_ERR_PEX_MALFORMED);
		if (rc < 0)
			out->n_skipped++;
		else
			out->n_addrs++;
	}
	return 0;
}

int pex_decode(const uint8_t *msg, size_t len, struct pex_msg *out, enum wire_error *err)
{
	memset(out, 0, sizeof(*out));
	*err = WIRE_OK;
	if (len > PEX_MAX_MSG_SIZE)
		return refuse(err, WIRE_ERR_MSG_TOO_LARGE);
	Tendermint__P2p__Message *m = tendermint__p2p__message__unpack(NULL, len, msg);
	if (!m)
		return refuse(err, WIRE_ERR_MSG_MALFORMED);
	int rc = 0;
	switch (m->sum_case) {
	case TENDERMINT__P2P__MESSAGE__SUM_PEX_REQUEST:
		out->type = PEX_REQUEST;
		break;
	case TENDERMINT__P2P__MESSAGE__SUM_PEX_ADDRS:
		out->type = PEX_ADDRS;
		rc = take_addrs(m->pex_addrs, out, err);
		break;
	default: /* upstream Message.Unwrap: "unknown pex message" */
		rc = refuse(err, WIRE_ERR_MSG_MALFORMED);
		break;
	}
	tendermint__p2p__message__free_unpacked(m, NULL);
	if (rc < 0)
		pex_msg_free(out);
	return rc;
}

void pex_msg_free(struct pex_msg *m)
{
	free(m->addrs);
	memset(m, 0, sizeof(*m));
}

ssize_t pex_encode_request(uint8_t *out, size_t cap)
{
	Tendermint__P2p__Message m;
	Tendermint__P2p__PexRequest r;
	tendermint__p2p__message__init(&m);
	tendermint__p2p__pex_request__init(&r);
	m.sum_case = TENDERMINT__P2P__MESSAGE__SUM_PEX_REQUEST;
	m.pex_request = &r;
	size_t n = tendermint__p2p__message__get_packed_size(&m);
	if (n > cap)
		return -ENOSPC;
	return (ssize_t)tendermint__p2p__message__pack(&m, out);
}

/* The texts of one address: lowercase hex ID, the IP as Go prints it. */
struct wire_addr_text {
	char id[2 * MUKAN_ID_LEN + 1];
	char ip[IP_STRLEN];
};

ssize_t pex_encode_addrs(const struct netaddr *addrs, size_t n, uint8_t *out, size_t cap)
{
	if (n > PEX_MAX_ADDRS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		if (!addrs[i].has_id)
			return -EINVAL;
	/* Everything on the stack: 250 addresses are ~40 KiB of views and texts. */
	Tendermint__P2p__NetAddress na[PEX_MAX_ADDRS];
	Tendermint__P2p__NetAddress *ptrs[PEX_MAX_ADDRS];
	struct wire_addr_text text[PEX_MAX_ADDRS];
	for (size_t i = 0; i < n; i++) {
		tendermint__p2p__net_address__init(&na[i]);
		node_id_format(addrs[i].id, text[i].id);
		ip_format(&addrs[i].a, text[i].ip);
		na[i].id = pb_str(text[i].id);
		na[i].ip = pb_str(text[i].ip);
		na[i].port = addrs[i].a.port;
		ptrs[i] = &na[i];
	}
	Tendermint__P2p__PexAddrs pa;
	tendermint__p2p__pex_addrs__init(&pa);
	pa.n_addrs = n;
	pa.addrs = ptrs;
	Tendermint__P2p__Message m;
	tendermint__p2p__message__init(&m);
	m.sum_case = TENDERMINT__P2P__MESSAGE__SUM_PEX_ADDRS;
	/* Written even with no address (12 00), as upstream's oneof is. */
	m.pex_addrs = &pa;
	size_t len = tendermint__p2p__message__get_packed_size(&m);
	if (len > cap)
		return -ENOSPC;
	return (ssize_t)tendermint__p2p__message__pack(&m, out);
}
