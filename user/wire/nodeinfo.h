/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodeinfo.h - upstream's DefaultNodeInfo (p2p/node_info.go): the message
 * each side sends, length-delimited, right after the SecretConnection
 * handshake, and the checks upstream's transport applies to the peer's.
 *
 *   ours:    nodeinfo_build(params) -> nodeinfo_encode -> the secret connection
 *   theirs:  delim_reader (limit NODEINFO_MAX_SIZE) -> nodeinfo_decode
 *            -> nodeinfo_check(ours, theirs, authenticated ID)
 *
 * nodeinfo_check runs upstream's order (transport.go upgrade): Validate,
 * the NodeInfo ID against the key the peer authenticated with, not
 * ourselves, then CompatibleWith. Pure functions, no I/O.
 */
#ifndef MUKAN_WIRE_NODEINFO_H
#define MUKAN_WIRE_NODEINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "book/netaddr.h"
#include "wire/wire_error.h"

#define NODEINFO_MAX_SIZE 10240	   /* upstream maxNodeInfoSize: read limit of the body */
#define NODEINFO_MAX_CHANNELS 16   /* upstream maxNumChannels */
#define NODEINFO_P2P_PROTOCOL 8	   /* version.P2PProtocol, v0.34 to v0.38 */
#define NODEINFO_BLOCK_PROTOCOL 11 /* version.BlockProtocol, v0.34 to v0.38 */
#define NODEINFO_WHY_LEN 160	   /* enough for any reason these functions give */

/* A text field as it came: its exact bytes (NUL-terminated as well; a NUL
 * inside is kept, and refused by the checks as upstream refuses it). */
struct nodeinfo_text {
	const char *s;
	size_t len;
};

struct nodeinfo {
	uint64_t p2p, block, app;     /* ProtocolVersion */
	struct nodeinfo_text id;      /* default_node_id: hex, as sent */
	struct nodeinfo_text listen_addr; /* "tcp://host:port", unauthenticated */
	struct nodeinfo_text network; /* chain ID */
	struct nodeinfo_text version; /* software version, e.g. "0.34.35" */
	const uint8_t *channels;      /* channel IDs the node serves */
	size_t n_channels;
	struct nodeinfo_text moniker;
	struct nodeinfo_text tx_index;	  /* other.tx_index: "", "on" or "off" */
	struct nodeinfo_text rpc_address; /* other.rpc_address */
	void *mem;			  /* owns every byte above */
};

/* What this node announces. NULL strings are empty. */
struct nodeinfo_params {
	uint8_t id[MUKAN_ID_LEN]; /* our node ID (from node_key.json) */
	const char *listen_addr;  /* p2p.external_address, else p2p.laddr */
	const char *network;	  /* chain ID */
	const char *version;
	const char *moniker;
	const char *tx_index;
	const char *rpc_address;
	const uint8_t *channels;
	size_t n_channels;
	uint64_t p2p, block, app;
};

/* Upstream's versions (P2P 8, block 11, app 0) and the PEX channel 0x00 alone. */
void nodeinfo_params_default(struct nodeinfo_params *p);

/*
 * Our NodeInfo from params (every byte copied). -EINVAL when upstream's
 * Validate would refuse it (a peer would drop us), with the reason in why;
 * -ENOMEM. Free with nodeinfo_free.
 */
int nodeinfo_build(struct nodeinfo *out, const struct nodeinfo_params *p, char *why,
		   size_t whysz);

void nodeinfo_free(struct nodeinfo *ni);

/* Length of the delimited encoding (what nodeinfo_encode writes). */
size_t nodeinfo_encoded_size(const struct nodeinfo *ni);

/*
 * Write ni as upstream does: varint length, then the DefaultNodeInfo body
 * (protocol_version and other always present, as gogoproto nullable=false).
 * Returns the length, -ENOSPC, or -ENOMEM.
 */
ssize_t nodeinfo_encode(const struct nodeinfo *ni, uint8_t *out, size_t cap);

/*
 * Decode a DefaultNodeInfo body (the delimited reader's message). 0, or
 * -EPROTO with *err WIRE_ERR_MSG_TOO_LARGE (above NODEINFO_MAX_SIZE) or
 * WIRE_ERR_MSG_MALFORMED (not protobuf); -ENOMEM. Nothing is checked beyond
 * the encoding: that is nodeinfo_check. Free with nodeinfo_free.
 */
int nodeinfo_decode(const uint8_t *body, size_t len, struct nodeinfo *out,
		    enum wire_error *err);

/* Upstream's Validate: 0, or -EINVAL with the reason in why (may be NULL). */
int nodeinfo_validate(const struct nodeinfo *ni, char *why, size_t whysz);

/*
 * Upstream's CompatibleWith, seen from ours: same block protocol, same
 * network, a channel in common unless ours has none. 0, or -EPROTO with
 * *err WIRE_ERR_VERSION_MISMATCH, WIRE_ERR_NETWORK_MISMATCH or
 * WIRE_ERR_NO_COMMON_CHANNEL.
 */
int nodeinfo_compatible(const struct nodeinfo *ours, const struct nodeinfo *theirs,
			enum wire_error *err, char *why, size_t whysz);

/*
 * Everything upstream's transport checks on a received NodeInfo, in its
 * order: Validate (WIRE_ERR_NODEINFO_INVALID), the NodeInfo ID is exactly
 * the lowercase hex of the authenticated key's ID (WIRE_ERR_NODEINFO_ID_MISMATCH),
 * the peer is not this node (WIRE_ERR_SELF), then nodeinfo_compatible.
 * 0, or -EPROTO with *err and a one-line reason in why.
 */
int nodeinfo_check(const struct nodeinfo *ours, const struct nodeinfo *theirs,
		   const uint8_t auth_id[MUKAN_ID_LEN], enum wire_error *err, char *why,
		   size_t whysz);

/*
 * The peer's address as upstream's NodeInfo.NetAddress(): its ID at its
 * self-reported listen address (the source of the addresses it sends by
 * PEX). 0; -EAGAIN when the host is a name, copied into name for the caller
 * to resolve; -EINVAL when it does not parse.
 */
int nodeinfo_netaddr(const struct nodeinfo *ni, struct netaddr *out, char *name,
		     size_t namesz);

bool nodeinfo_has_channel(const struct nodeinfo *ni, uint8_t ch);

#endif /* MUKAN_WIRE_NODEINFO_H */
