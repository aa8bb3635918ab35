/* SPDX-License-Identifier: Apache-2.0 */
/* pex_peer.c - upstream's per-peer PEX rules, sans-IO (see pex.h). */
#include "pex.h"

#include <errno.h>
#include <string.h>

void pex_peer_init(struct pex_peer *p, bool outbound, bool seed_mode)
{
	memset(p, 0, sizeof(*p));
	p->outbound = outbound;
	p->seed_mode = seed_mode;
	p->min_interval = PEX_MIN_REQUEST_INTERVAL_NS;
}

bool pex_peer_want_request(struct pex_peer *p)
{
	if (p->request_out)
		return false;
	p->request_out = true;
	return true;
}

static int refuse(enum wire_error *err, enum wire_error code)
{
	*err = code;
	return -EPROTO;
}

/*
 * upstream receiveRequest: the first request passes unrecorded, the second
 * passes and starts the clock, every later one must come at least
 * min_interval after the last one that passed.
 */
static int request_in(struct pex_peer *p, int64_t now, enum wire_error *err)
{
	p->requests_in++;
	if (p->requests_in == 1)
		return 0;
	if (p->requests_in > 2 && now - p->last_request < p->min_interval)
		return refuse(err, WIRE_ERR_PEX_TOO_FREQUENT);
	p->last_request = now;
	return 0;
}

int pex_peer_receive(struct pex_peer *p, const struct pex_msg *m, int64_t now,
		     enum pex_action *act, enum wire_error *err)
{
	*act = PEX_ACT_NONE;
	*err = WIRE_OK;
	if (m->type == PEX_ADDRS) {
		if (!p->request_out)
			return refuse(err, WIRE_ERR_PEX_UNSOLICITED);
		p->request_out = false;
		p->addrs_in += m->n_addrs;
		p->skipped_in += m->n_skipped;
		*act = PEX_ACT_ADDRS;
		return 0;
	}
	if (p->seed_mode && !p->outbound) {
		/* A seed answers an inbound peer once and hangs up; later requests are ignored. */
		if (p->requests_in++ == 0)
			*act = PEX_ACT_REPLY_AND_CLOSE;
		return 0;
	}
	if (request_in(p, now, err) < 0)
		return -EPROTO;
	*act = PEX_ACT_REPLY;
	return 0;
}

bool pex_error_bans(enum wire_error e)
{
	switch (e) {
	case WIRE_ERR_PEX_UNSOLICITED:
	case WIRE_ERR_PEX_TOO_FREQUENT:
	case WIRE_ERR_PEX_MALFORMED:
	case WIRE_ERR_PEX_TOO_MANY_ADDRS:
		return true;
	default:
		return false;
	}
}
