/* SPDX-License-Identifier: Apache-2.0 */
/*
 * farm_client.h - a CometBFT dialer built on user/wire/ for the peer farm's
 * tests: TCP connect, SecretConnection (dialer role, the ID it dialed
 * checked), NodeInfo exchange and upstream's checks, then MConnection and
 * PEX with upstream's rules, on a non-blocking socket with deadlines.
 *
 * A session fails once, with the wire library's code and step (what the
 * farm peer did wrong, or the socket's end); every step is bounded in time.
 * Nothing here asserts: the tests do. fc_many drives any number of
 * sessions at once with one poll().
 */
#ifndef MUKAN_TEST_FARM_CLIENT_H
#define MUKAN_TEST_FARM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire/mconn.h"
#include "wire/nodeinfo.h"
#include "wire/pex.h"
#include "wire/secret_conn.h"

enum fc_state {
	FC_CONNECTING, /* TCP connect in progress */
	FC_HANDSHAKE,  /* SecretConnection */
	FC_NODEINFO,   /* ours sent, theirs awaited */
	FC_SESSION,    /* MConnection + PEX */
	FC_FAILED,     /* see err, step, sys_err */
};

#define FC_MAX_PEX 8 /* PEX messages kept until taken */

struct fc_session {
	int fd;
	enum fc_state state;
	enum wire_error err; /* the first failure: WIRE_OK until then */
	enum wire_step step;
	int sys_err;	     /* connect's errno when it failed there */
	int64_t deadline;    /* of connect + handshake + NodeInfo */
	struct node_key key; /* ours: fresh per session */
	struct secret_conn sc;
	bool sc_live;
	struct nodeinfo ours, theirs;
	bool have_theirs;
	struct mconn mc;
	bool mc_live;
	struct pex_peer pex;
	struct pex_msg pex_in[FC_MAX_PEX]; /* PEX address lists received, in order */
	size_t n_pex_in;
	bool eof; /* the farm peer closed */
};

/*
 * Start dialing ip:port (non-blocking). expect_id NULL: no ID check.
 * network: our NodeInfo's chain ID. timeout_ms bounds connect, handshake
 * and NodeInfo together. 0, or -errno (socket, or our NodeInfo).
 */
int fc_start(struct fc_session *s, const char *ip, uint16_t port, const uint8_t *expect_id,
	     const char *network, int timeout_ms);

/* Close and free. */
void fc_free(struct fc_session *s);

/*
 * Wait (poll) up to timeout_ms for the socket, then read everything, run
 * the protocol and write what is due. 0; the session may have changed state.
 */
int fc_pump(struct fc_session *s, int timeout_ms);

/* Pump until the session is in state `until`, failed, or timeout_ms passed. */
void fc_run(struct fc_session *s, enum fc_state until, int timeout_ms);

/* Pump until pred(s) holds, the session failed, or timeout_ms passed; pred's last answer. */
bool fc_wait(struct fc_session *s, bool (*pred)(const struct fc_session *), int timeout_ms);

/* Once in session: a PEX request (if the rules allow one: else -EALREADY). */
int fc_request_addrs(struct fc_session *s);

/* Once in session: an unsolicited PEX reply of addrs (a rule broken on purpose). */
int fc_send_addrs(struct fc_session *s, const struct netaddr *addrs, size_t n);

/* Once in session: a ping of our own (MConnection pings only on its timer). */
int fc_ping(struct fc_session *s);

/* Take the oldest PEX address list received (false if none): free with pex_msg_free. */
bool fc_take_pex(struct fc_session *s, struct pex_msg *out);

/* Drive many sessions at once until none is below `until` or timeout_ms passed. */
void fc_many(struct fc_session *const *ss, size_t n, enum fc_state until, int timeout_ms);

int64_t fc_now_ns(void);

#endif /* MUKAN_TEST_FARM_CLIENT_H */
