/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pex.h - upstream's peer exchange (p2p/pex/pex_reactor.go) on channel
 * 0x00: the messages, their addresses as the book's `struct netaddr`, and
 * the per-peer rules as a sans-IO state (time comes in as `now`).
 *
 *   connected (outbound, book needs addresses):
 *       pex_peer_want_request(&p) -> send pex_encode_request() on PEX_CHANNEL
 *   a message on PEX_CHANNEL:
 *       pex_decode(msg, len, &m, &err)          < 0: drop (ban if pex_error_bans(err))
 *       pex_peer_receive(&p, &m, now, &act, &err) < 0: drop (ban if pex_error_bans(err))
 *       act PEX_ACT_REPLY            send pex_encode_addrs(book selection)
 *       act PEX_ACT_REPLY_AND_CLOSE  seed mode: send the selection (bias 30), flush, close
 *       act PEX_ACT_ADDRS            m.addrs to the book, the peer's NodeInfo address as source
 *       act PEX_ACT_NONE             nothing
 *       pex_msg_free(&m)
 */
#ifndef MUKAN_WIRE_PEX_H
#define MUKAN_WIRE_PEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "book/netaddr.h"
#include "wire/wire_error.h"

#define PEX_CHANNEL 0x00
#define PEX_MAX_ADDRS 250			   /* upstream maxGetSelection */
#define PEX_MAX_ADDR_SIZE 256			   /* upstream maxAddressSize (an over-estimate) */
#define PEX_MAX_MSG_SIZE (PEX_MAX_ADDR_SIZE * PEX_MAX_ADDRS) /* 64,000: the channel's capacity */
#define PEX_ENSURE_PEERS_PERIOD_NS (30 * 1000000000LL)	   /* defaultEnsurePeersPeriod */
#define PEX_MIN_REQUEST_INTERVAL_NS (PEX_ENSURE_PEERS_PERIOD_NS / 3) /* 10 s */
#define PEX_BAN_NS (24 * 3600 * 1000000000LL)		   /* defaultBanTime */
#define PEX_SEED_BIAS 30 /* biasToSelectNewPeers: a seed's reply leans to new addresses */

/* ---- messages ----------------------------------------------------------- */

enum pex_type {
	PEX_REQUEST = 1, /* Message.pex_request */
	PEX_ADDRS = 2,	 /* Message.pex_addrs */
};

struct pex_msg {
	enum pex_type type;
	struct netaddr *addrs; /* PEX_ADDRS: the usable ones, in the order sent */
	size_t n_addrs;
	size_t n_skipped; /* valid encoding, unusable address (bad ID, unusable IP): skipped */
};

/*
 * Decode a PEX message (the body joined by mconn). 0, or -EPROTO with *err:
 * WIRE_ERR_MSG_TOO_LARGE above PEX_MAX_MSG_SIZE, WIRE_ERR_MSG_MALFORMED not a
 * Message or none of its kinds (upstream: the peer is stopped, not banned),
 * WIRE_ERR_PEX_TOO_MANY_ADDRS more than PEX_MAX_ADDRS addresses,
 * WIRE_ERR_PEX_MALFORMED an address whose IP does not parse or whose port is
 * above 65535 (upstream refuses the whole list and bans); -ENOMEM.
 * Free with pex_msg_free.
 */
int pex_decode(const uint8_t *msg, size_t len, struct pex_msg *out, enum wire_error *err);
void pex_msg_free(struct pex_msg *m);

/* Message{pex_request{}} = 0a 00. Returns 2, or -ENOSPC. */
ssize_t pex_encode_request(uint8_t *out, size_t cap);

/*
 * Message{pex_addrs{addrs}}: each address as upstream writes a NetAddress
 * (lowercase hex ID, the IP as Go prints it, the port). At most
 * PEX_MAX_ADDRS (-E2BIG), every one with an ID (-EINVAL). PEX_MAX_MSG_SIZE
 * bytes always suffice. Returns the length, or -ENOSPC.
 */
ssize_t pex_encode_addrs(const struct netaddr *addrs, size_t n, uint8_t *out, size_t cap);

/*
 * One NetAddress from the wire (upstream NetAddressFromProto, then the
 * book's Valid): 0; -EBADMSG when the IP does not parse or the port is
 * above 65535 (the whole message is malformed); -EINVAL when it is well
 * formed but unusable: an ID that is not 40 hex digits, an unspecified,
 * broadcast or documentation IP (skipped, as upstream's book skips them).
 */
int pex_addr_from_wire(const uint8_t *id, size_t id_len, const uint8_t *ip, size_t ip_len,
		       uint32_t port, struct netaddr *out);

/* ---- per-peer rules ----------------------------------------------------- */

struct pex_peer {
	bool outbound;	       /* we dialed it */
	bool seed_mode;	       /* we run as a seed */
	bool request_out;      /* our request awaits its reply (upstream requestsSent) */
	unsigned requests_in;  /* requests the peer sent */
	int64_t last_request;  /* time of the last request that counted */
	int64_t min_interval;  /* PEX_MIN_REQUEST_INTERVAL_NS */
	uint64_t addrs_in, skipped_in;
};

enum pex_action {
	PEX_ACT_NONE = 0,
	PEX_ACT_REPLY,		 /* send our selection (upstream GetSelection) */
	PEX_ACT_REPLY_AND_CLOSE, /* seed mode, inbound peer: selection with bias 30, then hang up */
	PEX_ACT_ADDRS,		 /* the addresses we asked for arrived */
};

void pex_peer_init(struct pex_peer *p, bool outbound, bool seed_mode);

/*
 * Should we send this peer a request now? True (and the request is then
 * outstanding) unless one already is: never two at once (upstream
 * RequestAddrs). The caller sends pex_encode_request() when true.
 */
bool pex_peer_want_request(struct pex_peer *p);

/*
 * Apply upstream's rules to a decoded message. 0 with *act, or -EPROTO
 * with *err: WIRE_ERR_PEX_UNSOLICITED (addresses without our request),
 * WIRE_ERR_PEX_TOO_FREQUENT (a third or later request within
 * min_interval of the last counted one).
 */
int pex_peer_receive(struct pex_peer *p, const struct pex_msg *m, int64_t now,
		     enum pex_action *act, enum wire_error *err);

/* Upstream bans the peer's address for PEX_BAN_NS after these (besides dropping it). */
bool pex_error_bans(enum wire_error e);

#endif /* MUKAN_WIRE_PEX_H */
