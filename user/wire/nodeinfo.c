/* SPDX-License-Identifier: Apache-2.0 */
/* nodeinfo.c - DefaultNodeInfo: ours built, encoded; theirs decoded (see nodeinfo.h). */
#include "nodeinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tendermint/p2p/types.pb-c.h"
#include "wire/pb.h"

static const uint8_t pex_only[] = { 0x00 };

void nodeinfo_params_default(struct nodeinfo_params *p)
{
	memset(p, 0, sizeof(*p));
	p->p2p = NODEINFO_P2P_PROTOCOL;
	p->block = NODEINFO_BLOCK_PROTOCOL;
	p->channels = pex_only;
	p->n_channels = sizeof(pex_only);
}

void nodeinfo_free(struct nodeinfo *ni)
{
	free(ni->mem);
	memset(ni, 0, sizeof(*ni));
}

static struct nodeinfo_text text_of(const char *s)
{
	struct nodeinfo_text t = { s ? s : "", s ? strlen(s) : 0 };
	return t;
}

static struct nodeinfo_text text_of_bytes(ProtobufCBinaryData b)
{
	struct nodeinfo_text t = { (const char *)b.data, b.len };
	return t;
}

/*
 * Copy every text field and the channels (views into memory ni does not
 * own) into one block ni owns, each text NUL-terminated for printing.
 */
static int nodeinfo_own(struct nodeinfo *ni)
{
	struct nodeinfo_text *texts[] = {
		&ni->id,      &ni->listen_addr, &ni->network,	  &ni->version,
		&ni->moniker, &ni->tx_index,	&ni->rpc_address,
	};
	size_t n_texts = sizeof(texts) / sizeof(texts[0]);
	size_t total = ni->n_channels;
	for (size_t i = 0; i < n_texts; i++)
		total += texts[i]->len + 1;
	char *mem = malloc(total);
	if (!mem)
		return -ENOMEM;
	char *p = mem;
	for (size_t i = 0; i < n_texts; i++) {
		if (texts[i]->len)
			memcpy(p, texts[i]->s, texts[i]->len);
		p[texts[i]->len] = '\0';
		texts[i]->s = p;
		p += texts[i]->len + 1;
	}
	if (ni->n_channels)
		memcpy(p, ni->channels, ni->n_channels);
	ni->channels = (const uint8_t *)p;
	ni->mem = mem;
	return 0;
}

int nodeinfo_build(struct nodeinfo *out, const struct nodeinfo_params *p, char *why,
		   size_t whysz)
{
	char id[2 * MUKAN_ID_LEN + 1];
	node_id_format(p->id, id);
	memset(out, 0, sizeof(*out));
	out->p2p = p->p2p;
	out->block = p->block;
	out->app = p->app;
	out->id = text_of(id);
	out->listen_addr = text_of(p->listen_addr);
	out->network = text_of(p->network);
	out->version = text_of(p->version);
	out->moniker = text_of(p->moniker);
	out->tx_index = text_of(p->tx_index);
	out->rpc_address = text_of(p->rpc_address);
	out->channels = p->channels;
	out->n_channels = p->channels ? p->n_channels : 0;
	int rc = nodeinfo_own(out);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	/* Upstream's peers run Validate on what we send: refuse to announce what they would drop. */
	rc = nodeinfo_validate(out, why, whysz);
	if (rc < 0)
		nodeinfo_free(out);
	return rc;
}

static ProtobufCBinaryData bytes_of(struct nodeinfo_text t)
{
	ProtobufCBinaryData b = { t.len, (uint8_t *)(uintptr_t)t.s };
	return b;
}

/* The protobuf-c view of ni; the embedded messages live in the caller's frame. */
static void to_proto(const struct nodeinfo *ni, Tendermint__P2p__DefaultNodeInfo *m,
		     Tendermint__P2p__ProtocolVersion *pv, Tendermint__P2p__DefaultNodeInfoOther *o)
{
	tendermint__p2p__default_node_info__init(m);
	tendermint__p2p__protocol_version__init(pv);
	tendermint__p2p__default_node_info_other__init(o);
	pv->p2p = ni->p2p;
	pv->block = ni->block;
	pv->app = ni->app;
	/* gogoproto nullable=false: both embedded messages are written even when empty. */
	m->protocol_version = pv;
	m->other = o;
	m->default_node_id = bytes_of(ni->id);
	m->listen_addr = bytes_of(ni->listen_addr);
	m->network = bytes_of(ni->network);
	m->version = bytes_of(ni->version);
	m->channels.len = ni->n_channels;
	m->channels.data = (uint8_t *)(uintptr_t)ni->channels;
	m->moniker = bytes_of(ni->moniker);
	o->tx_index = bytes_of(ni->tx_index);
	o->rpc_address = bytes_of(ni->rpc_address);
}

size_t nodeinfo_encoded_size(const struct nodeinfo *ni)
{
	Tendermint__P2p__DefaultNodeInfo m;
	Tendermint__P2p__ProtocolVersion pv;
	Tendermint__P2p__DefaultNodeInfoOther o;
	to_proto(ni, &m, &pv, &o);
	return pb_delimited_size(&m.base);
}

ssize_t nodeinfo_encode(const struct nodeinfo *ni, uint8_t *out, size_t cap)
{
	Tendermint__P2p__DefaultNodeInfo m;
	Tendermint__P2p__ProtocolVersion pv;
	Tendermint__P2p__DefaultNodeInfoOther o;
	to_proto(ni, &m, &pv, &o);
	return pb_write_delimited(&m.base, out, cap);
}

int nodeinfo_decode(const uint8_t *body, size_t len, struct nodeinfo *out,
		    enum wire_error *err)
{
	memset(out, 0, sizeof(*out));
	*err = WIRE_OK;
	if (len > NODEINFO_MAX_SIZE) {
		*err = WIRE_ERR_MSG_TOO_LARGE;
		return -EPROTO;
	}
	Tendermint__P2p__DefaultNodeInfo *m =
		tendermint__p2p__default_node_info__unpack(NULL, len, body);
	if (!m) {
		/* protobuf-c does not tell a bad encoding from a failed allocation. */
		*err = WIRE_ERR_MSG_MALFORMED;
		return -EPROTO;
	}
	if (m->protocol_version) {
		out->p2p = m->protocol_version->p2p;
		out->block = m->protocol_version->block;
		out->app = m->protocol_version->app;
	}
	out->id = text_of_bytes(m->default_node_id);
	out->listen_addr = text_of_bytes(m->listen_addr);
	out->network = text_of_bytes(m->network);
	out->version = text_of_bytes(m->version);
	out->moniker = text_of_bytes(m->moniker);
	out->channels = m->channels.data;
	out->n_channels = m->channels.len;
	if (m->other) {
		out->tx_index = text_of_bytes(m->other->tx_index);
		out->rpc_address = text_of_bytes(m->other->rpc_address);
	}
	int rc = nodeinfo_own(out);
	tendermint__p2p__default_node_info__free_unpacked(m, NULL);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

bool nodeinfo_has_channel(const struct nodeinfo *ni, uint8_t ch)
{
	return ni->n_channels && memchr(ni->channels, ch, ni->n_channels) != NULL;
}
