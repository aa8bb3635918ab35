/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.h - the farm's one event loop (epoll): the listeners of live, slow
 * and flapping peers, the connections they accepted, the flapping schedule,
 * and the stop signals (signalfd). No thread per peer.
 */
#ifndef MUKAN_PEERFARM_LOOP_H
#define MUKAN_PEERFARM_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "farm.h"

struct farm_loop;

/*
 * Open every listener (in the current namespace) and a signalfd for `stop`,
 * which the caller has already blocked. 0, or -errno with err.
 */
int loop_start(const struct farm *f, const sigset_t *stop, struct farm_loop **out, char *err,
	       size_t errsz);

/*
 * Serve until a stop signal (its number is returned) or, with
 * duration_ms > 0, until that much time has passed (0 is returned).
 * -errno on a failure of the loop itself.
 */
int loop_run(struct farm_loop *l, uint64_t duration_ms);

/* Connections accepted so far, and those closed at once for --max-conns. */
void loop_counts(const struct farm_loop *l, uint64_t *accepted, uint64_t *over_cap);

/* Close every connection and listener. NULL is fine. */
void loop_free(struct farm_loop *l);

#endif /* MUKAN_PEERFARM_LOOP_H */
