/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim.h - the bootstrap scenario on a virtual clock: a manager, a real
 * address book and a model network and engine, no sockets.
 *
 * The network: n_addrs public addresses, live_percent of them answer
 * (connect + handshake take live_rtts round trips), the rest are
 * black-holed (a dial ends as timed out after dial_timeout). The engine
 * keeps at most `window` dials in flight (0: no limit) and queues the rest,
 * as the io_uring engine does. Which addresses live, the book's keys and
 * the manager's generator all come from `seed`, so two policies run over
 * the same network.
 */
#ifndef MUKAN_SIM_H
#define MUKAN_SIM_H

#include <stdint.h>

#include "manager.h"

struct sim_config {
	struct manager_config mgr; /* policy and limits; record_outcomes is forced on */
	uint32_t n_addrs;	   /* 200 */
	uint32_t live_percent;	   /* 10 */
	uint32_t window;	   /* engine dials in flight (K); 0: no limit */
	int64_t dial_timeout_ns;   /* 1 s */
	int64_t rtt_ns;		   /* 20 ms */
	uint32_t live_rtts;	   /* 3: TCP, SecretConnection, NodeInfo */
	int64_t limit_ns;	   /* give up after this much virtual time */
	uint64_t seed;
};

struct sim_result {
	int64_t fill_ns; /* until max_outbound connections are up; -1: not within the limit */
	uint64_t dials, connects, timeouts, dropped, cancels, rounds;
	uint32_t peak_in_flight; /* engine */
	uint32_t peak_slot_sum;	 /* connected_out + dialing_out */
	uint32_t peak_connected; /* connected_out */
};

void sim_config_defaults(struct sim_config *c, enum manager_policy policy);
int sim_bootstrap(const struct sim_config *c, struct sim_result *r);

#endif /* MUKAN_SIM_H */
