/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_nodeinfo.c - DefaultNodeInfo against upstream's own bytes (the
 * kept v0.34.35 transcript), and every refusal of upstream's Validate, the
 * ID check, the self check and CompatibleWith, each with the code the
 * daemon logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "wire/nodeinfo.h"
#include "wire/pb.h"
#include "wire_helpers.h"

#define ID_A "56475aa75463474c0285df5dbf2bcab73da65135"

/* ---- the transcript's NodeInfo ------------------------------------------ */

struct node_vec {
	struct nodeinfo_params params;
	uint8_t channels[NODEINFO_MAX_CHANNELS];
	uint8_t *proto, *written; /* body, delimited */
	size_t proto_len, written_len;
	json_t *root;
};

static const char *node_str(json_t *root, const char *node, const char *field)
{
	char path[128];
	snprintf(path, sizeof(path), "nodes.%s.%s", node, field);
	return transcript_str(root, path);
}

static uint64_t node_u64(json_t *root, const char *node, const char *field)
{
	json_t *n = json_object_get(json_object_get(json_object_get(json_object_get(root, "nodes"),
								     node),
						    "node_info"),
				    "protocol_version");
	json_t *v = json_object_get(n, field);
	cr_assert(json_is_integer(v), "nodes.%s.node_info.protocol_version.%s", node, field);
	return (uint64_t)json_integer_value(v);
}

/* The params upstream node `node` ("A" or "B") announced, from the decoded JSON. */
static void load_node(struct node_vec *v, json_t *root, const char *node)
{
	memset(v, 0, sizeof(*v));
	v->root = root;
	struct nodeinfo_params *p = &v->params;
	hex_to(node_str(root, node, "node_id"), p->id, MUKAN_ID_LEN);
	p->listen_addr = node_str(root, node, "node_info.listen_addr");
	p->network = node_str(root, node, "node_info.network");
	p->version = node_str(root, node, "node_info.version");
	p->moniker = node_str(root, node, "node_info.moniker");
	p->tx_index = node_str(root, node, "node_info.other.tx_index");
	p->rpc_address = node_str(root, node, "node_info.other.rpc_address");
	const char *ch = node_str(root, node, "node_info.channels");
	p->n_channels = strlen(ch) / 2;
	cr_assert_leq(p->n_channels, NODEINFO_MAX_CHANNELS);
	hex_to(ch, v->channels, p->n_channels);
	p->channels = v->channels;
	p->p2p = node_u64(root, node, "p2p");
	p->block = node_u64(root, node, "block");
	p->app = node_u64(root, node, "app");
	cr_assert_str_eq(node_str(root, node, "node_info.id"), node_str(root, node, "node_id"));
	v->proto = hex_dup(node_str(root, node, "node_info_proto"), &v->proto_len);
	v->written = hex_dup(node_str(root, node, "node_info_written_plaintext"), &v->written_len);
}

static void free_node(struct node_vec *v)
{
	free(v->proto);
	free(v->written);
}

static void encode_matches_upstream(const char *node)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	struct node_vec v;
	load_node(&v, root, node);
	struct nodeinfo ni;
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_build(&ni, &v.params, why, sizeof(why)), 0, "%s: %s", node, why);
	uint8_t out[NODEINFO_MAX_SIZE + 8];
	ssize_t n = nodeinfo_encode(&ni, out, sizeof(out));
	cr_assert_eq(n, (ssize_t)v.written_len, "%s: %zd bytes, upstream wrote %zu", node, n,
		     v.written_len);
	cr_assert_eq(nodeinfo_encoded_size(&ni), v.written_len);
	cr_assert_arr_eq(out, v.written, v.written_len, "%s: not upstream's bytes", node);
	/* The body after the varint is upstream's DefaultNodeInfo proto. */
	cr_assert_eq(v.written_len, pb_varint_len(v.proto_len) + v.proto_len);
	cr_assert_arr_eq(out + pb_varint_len(v.proto_len), v.proto, v.proto_len);
	nodeinfo_free(&ni);
	free_node(&v);
	json_decref(root);
}

Test(nodeinfo, encode_reproduces_upstream_A)
{
	encode_matches_upstream("A");
}

Test(nodeinfo, encode_reproduces_upstream_B)
{
	encode_matches_upstream("B");
}

static void assert_text(struct nodeinfo_text t, const char *want, const char *what)
{
	cr_assert_eq(t.len, strlen(want), "%s: length %zu, want %zu", what, t.len, strlen(want));
	cr_assert_arr_eq(t.s, want, t.len, "%s differs", what);
	cr_assert_eq(t.s[t.len], '\0', "%s not terminated", what);
}

static void decode_matches_upstream(const char *node)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	struct node_vec v;
	load_node(&v, root, node);
	struct nodeinfo ni;
	enum wire_error err;
	cr_assert_eq(nodeinfo_decode(v.proto, v.proto_len, &ni, &err), 0, "%s: %s", node,
		     wire_error_name(err));
	cr_assert_eq(ni.p2p, v.params.p2p);
	cr_assert_eq(ni.block, v.params.block);
	cr_assert_eq(ni.app, v.params.app);
	assert_text(ni.id, node_str(root, node, "node_id"), "id");
	assert_text(ni.listen_addr, v.params.listen_addr, "listen_addr");
	assert_text(ni.network, v.params.network, "network");
	assert_text(ni.version, v.params.version, "version");
	assert_text(ni.moniker, v.params.moniker, "moniker");
	assert_text(ni.tx_index, v.params.tx_index, "tx_index");
	assert_text(ni.rpc_address, v.params.rpc_address, "rpc_address");
	cr_assert_eq(ni.n_channels, v.params.n_channels);
	cr_assert_arr_eq(ni.channels, v.channels, ni.n_channels);
	cr_assert_eq(nodeinfo_validate(&ni, NULL, 0), 0);
	/* Decoded and encoded again: the same bytes. */
	uint8_t out[NODEINFO_MAX_SIZE + 8];
	cr_assert_eq(nodeinfo_encode(&ni, out, sizeof(out)), (ssize_t)v.written_len);
	cr_assert_arr_eq(out, v.written, v.written_len);
	nodeinfo_free(&ni);
	free_node(&v);
	json_decref(root);
}

Test(nodeinfo, decode_upstream_A)
{
	decode_matches_upstream("A");
}

Test(nodeinfo, decode_upstream_B)
{
	decode_matches_upstream("B");
}

/* Each side accepts the other's NodeInfo, as upstream's two nodes did. */
Test(nodeinfo, transcript_peers_accept_each_other)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	struct node_vec a, b;
	load_node(&a, root, "A");
	load_node(&b, root, "B");
	struct nodeinfo ours_a, ours_b, seen_a, seen_b;
	enum wire_error err;
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_build(&ours_a, &a.params, why, sizeof(why)), 0);
	cr_assert_eq(nodeinfo_build(&ours_b, &b.params, why, sizeof(why)), 0);
	cr_assert_eq(nodeinfo_decode(a.proto, a.proto_len, &seen_a, &err), 0);
	cr_assert_eq(nodeinfo_decode(b.proto, b.proto_len, &seen_b, &err), 0);
	cr_assert_eq(nodeinfo_check(&ours_a, &seen_b, b.params.id, &err, why, sizeof(why)), 0,
		     "A refuses B: %s (%s)", wire_error_name(err), why);
	cr_assert_eq(nodeinfo_check(&ours_b, &seen_a, a.params.id, &err, why, sizeof(why)), 0,
		     "B refuses A: %s (%s)", wire_error_name(err), why);
	/* B's address as a PEX source: its ID at its listen address. */
	struct netaddr src;
	char name[256];
	cr_assert_eq(nodeinfo_netaddr(&seen_b, &src, name, sizeof(name)), 0);
	char text[NETADDR_STRLEN];
	netaddr_format(&src, text);
	cr_assert_str_eq(text, "c6107c1842c20449a2e69adba9606b0780be1d0c@198.51.100.7:26656");
	nodeinfo_free(&ours_a);
	nodeinfo_free(&ours_b);
	nodeinfo_free(&seen_a);
	nodeinfo_free(&seen_b);
	free_node(&a);
	free_node(&b);
	json_decref(root);
}

/* ---- encoding details ---------------------------------------------------- */

static void base_params(struct nodeinfo_params *p)
{
	nodeinfo_params_default(p);
	hex_to(ID_A, p->id, MUKAN_ID_LEN);
	p->listen_addr = "tcp://192.0.2.10:26656";
	p->network = "mukan-testnet";
	p->moniker = "dialer";
}

Test(nodeinfo, defaults_are_upstreams_versions_and_pex)
{
	struct nodeinfo_params p;
	nodeinfo_params_default(&p);
	cr_assert_eq(p.p2p, 8);
	cr_assert_eq(p.block, 11);
	cr_assert_eq(p.app, 0);
	cr_assert_eq(p.n_channels, 1);
	cr_assert_eq(p.channels[0], 0x00);
}

/* gogoproto nullable=false: protocol_version and other are written even when empty. */
Test(nodeinfo, empty_embedded_messages_are_written)
{
	struct nodeinfo_params p;
	base_params(&p);
	p.p2p = p.block = 0;
	struct nodeinfo ni;
	cr_assert_eq(nodeinfo_build(&ni, &p, NULL, 0), 0);
	uint8_t out[256];
	ssize_t n = nodeinfo_encode(&ni, out, sizeof(out));
	cr_assert_gt(n, 4);
	size_t hdr = pb_varint_len((uint64_t)n - 1);
	cr_assert_eq(out[hdr], 0x0a, "protocol_version first");
	cr_assert_eq(out[hdr + 1], 0x00, "empty protocol_version still written");
	cr_assert_eq(out[n - 2], 0x42, "other last");
	cr_assert_eq(out[n - 1], 0x00, "empty other still written");
	/* And a short buffer is refused, not overrun. */
	cr_assert_eq(nodeinfo_encode(&ni, out, (size_t)n - 1), -ENOSPC);
	nodeinfo_free(&ni);
}

Test(nodeinfo, decode_refuses_bad_bytes)
{
	struct nodeinfo ni;
	enum wire_error err;
	/* Field 1 claims 5 bytes, 1 follows. */
	const uint8_t cut[] = { 0x0a, 0x05, 0x08 };
	cr_assert_eq(nodeinfo_decode(cut, sizeof(cut), &ni, &err), -EPROTO);
	cr_assert_eq(err, WIRE_ERR_MSG_MALFORMED);
	/* Wire type 7 does not exist. */
	const uint8_t bad_type[] = { 0x0f, 0x00 };
	cr_assert_eq(nodeinfo_decode(bad_type, sizeof(bad_type), &ni, &err), -EPROTO);
	cr_assert_eq(err, WIRE_ERR_MSG_MALFORMED);
	/* Above upstream's 10,240 bytes. */
	uint8_t *big = calloc(1, NODEINFO_MAX_SIZE + 1);
	cr_assert_eq(nodeinfo_decode(big, NODEINFO_MAX_SIZE + 1, &ni, &err), -EPROTO);
	cr_assert_eq(err, WIRE_ERR_MSG_TOO_LARGE);
	free(big);
}

Test(nodeinfo, decode_keeps_nul_bytes_and_skips_unknown_fields)
{
	/* moniker "a\0b", then unknown field 15 (varint), as a newer peer might add. */
	const uint8_t in[] = { 0x3a, 0x03, 'a', 0x00, 'b', 0x78, 0x05 };
	struct nodeinfo ni;
	enum wire_error err;
	cr_assert_eq(nodeinfo_decode(in, sizeof(in), &ni, &err), 0);
	cr_assert_eq(ni.moniker.len, 3, "a NUL must not cut the text");
	cr_assert_arr_eq(ni.moniker.s, "a\0b", 3);
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_validate(&ni, why, sizeof(why)), -EINVAL, "empty NodeInfo is invalid");
	nodeinfo_free(&ni);
}
