/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_pex.c - libFuzzer target for PEX messages (the channel 0x00 message
 * as mconn joins it) and the per-peer rules.
 *
 * Input: a control byte (bit 0 outbound, bit 1 seed mode, bit 2 a request
 * outstanding), then the message. A message that decodes must carry only
 * addresses the book can take (an ID, a usable IP), at most 250 of them;
 * encoded again, they must decode to the same list with nothing skipped;
 * the rules must answer with an action or a PEX code, never anything else.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	struct pex_msg m;
	enum wire_error err = WIRE_ERR_CLOSED;
	int rc = pex_decode(data + 1, size - 1, &m, &err);
	if (rc < 0) {
		check(rc == -EPROTO || rc == -ENOMEM, "unexpected decode result");
		check(rc == -ENOMEM || err == WIRE_ERR_MSG_MALFORMED || err == WIRE_ERR_MSG_TOO_LARGE ||
			      err == WIRE_ERR_PEX_MALFORMED || err == WIRE_ERR_PEX_TOO_MANY_ADDRS,
		      "unexpected decode code");
		check(m.addrs == NULL && m.n_addrs == 0, "addresses kept after a refusal");
		return 0;
	}
	check(err == WIRE_OK, "success with an error code");
	check(m.type == PEX_REQUEST || m.type == PEX_ADDRS, "no kind");
	check(m.n_addrs + m.n_skipped <= PEX_MAX_ADDRS, "more than 250 addresses");
	for (size_t i = 0; i < m.n_addrs; i++)
		check(m.addrs[i].has_id && ip_is_valid(&m.addrs[i].a), "an unusable address kept");

	if (m.type == PEX_ADDRS) {
		static uint8_t out[PEX_MAX_MSG_SIZE];
		ssize_t n = pex_encode_addrs(m.addrs, m.n_addrs, out, sizeof(out));
		check(n > 0, "250 addresses do not fit in 64,000 bytes");
		struct pex_msg again;
		check(pex_decode(out, (size_t)n, &again, &err) == 0, "our own reply refused");
		check(again.n_addrs == m.n_addrs && again.n_skipped == 0, "reply changed size");
		for (size_t i = 0; i < m.n_addrs; i++)
			check(netaddr_equal(&again.addrs[i], &m.addrs[i]), "address changed");
		pex_msg_free(&again);
	}

	struct pex_peer p;
	pex_peer_init(&p, ctl & 1, ctl & 2);
	if (ctl & 4)
		check(pex_peer_want_request(&p), "first request refused");
	for (int round = 0; round < 3; round++) {
		enum pex_action act;
		rc = pex_peer_receive(&p, &m, round, &act, &err);
		check(rc == 0 || rc == -EPROTO, "unexpected rule result");
		check(rc == 0 ? err == WIRE_OK : pex_error_bans(err), "rule code");
		check(rc < 0 || (m.type == PEX_ADDRS) == (act == PEX_ACT_ADDRS), "action of the kind");
		if (rc < 0)
			break;
	}
	pex_msg_free(&m);
	return 0;
}
