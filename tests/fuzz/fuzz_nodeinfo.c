/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_nodeinfo.c - libFuzzer target for a peer's NodeInfo: the
 * DefaultNodeInfo body as nodeinfo_decode receives it.
 *
 * A body that decodes must survive every check (Validate, the ID check,
 * compatibility, its address) with a bounded, printable, one-line reason,
 * and must encode to bytes that decode to the same fields: what we relay
 * or log is what the peer sent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/nodeinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static void check_reason(const char *why, size_t whysz)
{
	check(memchr(why, '\0', whysz) != NULL, "reason not terminated");
	for (const char *p = why; *p; p++)
		check(*p >= 0x20 && *p <= 0x7e, "reason has a byte a log must not get");
}

static int text_eq(struct nodeinfo_text a, struct nodeinfo_text b)
{
	return a.len == b.len && memcmp(a.s, b.s, a.len) == 0 && a.s[a.len] == '\0' &&
	       b.s[b.len] == '\0';
}

static void check_same(const struct nodeinfo *a, const struct nodeinfo *b)
{
	check(a->p2p == b->p2p && a->block == b->block && a->app == b->app, "versions changed");
	check(text_eq(a->id, b->id) && text_eq(a->listen_addr, b->listen_addr) &&
		      text_eq(a->network, b->network) && text_eq(a->version, b->version) &&
		      text_eq(a->moniker, b->moniker) && text_eq(a->tx_index, b->tx_index) &&
		      text_eq(a->rpc_address, b->rpc_address),
	      "a text field changed in the round trip");
	check(a->n_channels == b->n_channels &&
		      (a->n_channels == 0 || memcmp(a->channels, b->channels, a->n_channels) == 0),
	      "channels changed in the round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nodeinfo theirs;
	enum wire_error err = WIRE_ERR_CLOSED;
	int rc = nodeinfo_decode(data, size, &theirs, &err);
	check(rc == 0 || rc == -EPROTO || rc == -ENOMEM, "unexpected decode result");
	if (rc < 0) {
		check(rc == -ENOMEM || err == WIRE_ERR_MSG_MALFORMED || err == WIRE_ERR_MSG_TOO_LARGE,
		      "decode failed with an unexpected code");
		return 0;
	}
	check(err == WIRE_OK, "success with an error code");

	char why[NODEINFO_WHY_LEN];
	memset(why, 'x', sizeof(why));
	int valid = nodeinfo_validate(&theirs, why, sizeof(why));
	check(valid == 0 || valid == -EINVAL, "unexpected validate result");
	if (valid < 0)
		check_reason(why, sizeof(why));

	struct nodeinfo_params p;
	nodeinfo_params_default(&p);
	memset(p.id, 0x11, sizeof(p.id));
	p.listen_addr = "tcp://192.0.2.1:26656";
	p.network = "mukan-testnet";
	p.moniker = "fuzz";
	struct nodeinfo ours;
	check(nodeinfo_build(&ours, &p, NULL, 0) == 0, "our NodeInfo refused");
	uint8_t auth[MUKAN_ID_LEN];
	if (node_id_parse(theirs.id.s, theirs.id.len, auth) < 0)
		memset(auth, 0x22, sizeof(auth));
	memset(why, 'x', sizeof(why));
	rc = nodeinfo_check(&ours, &theirs, auth, &err, why, sizeof(why));
	check(rc == 0 || rc == -EPROTO, "unexpected check result");
	check((rc == 0) == (err == WIRE_OK), "check result and code disagree");
	check(rc == 0 || wire_error_step(err) == WIRE_STEP_NODE_INFO, "code of another step");
	check(valid == 0 || err == WIRE_ERR_NODEINFO_INVALID, "invalid passed as something else");
	if (rc < 0)
		check_reason(why, sizeof(why));

	struct netaddr na;
	char name[256];
	rc = nodeinfo_netaddr(&theirs, &na, name, sizeof(name));
	check(valid < 0 || rc == 0 || rc == -EAGAIN, "valid NodeInfo without an address");
	if (rc == 0)
		check(na.has_id, "address without an ID");

	size_t need = nodeinfo_encoded_size(&theirs);
	uint8_t *out = malloc(need);
	check(out != NULL, "malloc");
	ssize_t n = nodeinfo_encode(&theirs, out, need);
	check(n == (ssize_t)need, "encoded size disagrees");
	size_t hdr = 1;
	while (out[hdr - 1] & 0x80)
		hdr++;
	struct nodeinfo again;
	rc = nodeinfo_decode(out + hdr, (size_t)n - hdr, &again, &err);
	check(rc == 0 || (rc == -EPROTO && err == WIRE_ERR_MSG_TOO_LARGE) || rc == -ENOMEM,
	      "our own encoding does not decode");
	if (rc == 0) {
		check_same(&theirs, &again);
		nodeinfo_free(&again);
	}
	free(out);
	nodeinfo_free(&ours);
	nodeinfo_free(&theirs);
	return 0;
}
