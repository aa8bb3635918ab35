/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.h - the farm's one event loop on one io_uring: the listeners of the
 * listening peers (multishot accept), the connections they accepted
 * (multishot receive into provided buffers, sends), every deadline (one
 * ring timeout at the earliest: handshakes, pings, flapping), and the stop
 * signals (a read of a signalfd). No thread per peer; each connection runs
 * its peer's protocol (conn.h).
 */
#ifndef MUKAN_PEERFARM_LOOP_H
#define MUKAN_PEERFARM_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "farm.h"

struct farm_loop;

/*
 * Open every listener (in the current namespace), the ring and a signalfd
 * for `stop`, which the caller has already blocked. 0, or -errno with err.
 */
int loop_start(const struct farm *f, const sigset_t *stop, struct farm_loop **out, char *err,
	       size_t errsz);

/*
 * Serve until a stop signal (its number is returned) or, with
 * duration_ms > 0, until that much time has passed (0 is returned).
 * -errno on a failure of the loop itself.
 */
int loop_run(struct farm_loop *l, uint64_t duration_ms);

/* What was counted so far. */
const struct farm_stats *loop_stats(const struct farm_loop *l);

/* Close every connection and listener, the ring last. NULL is fine. */
void loop_free(struct farm_loop *l);

#endif /* MUKAN_PEERFARM_LOOP_H */
