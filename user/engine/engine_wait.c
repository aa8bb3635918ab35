/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_wait.c - reaping in batches, and a self-contained wait loop for
 * callers whose ring nothing else drives (tests, benchmarks, simple tools).
 */
#include <errno.h>
#include <time.h>

#include "engine_internal.h"

int64_t engine_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Every ready CQE in one pass, one cq_advance at the end; stops early only
 * when out is full (the rest stay in the CQ for the next call). The pass is
 * bounded by the CQ ring: nothing is advanced during it.
 */
unsigned engine_reap(struct engine *e, struct dial_result *out, unsigned max)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0, n = 0;
	io_uring_for_each_cqe(e->ring, head, cqe) {
		if (n == max)
			break;
		seen++;
		if (engine_owns_cqe(cqe)) {
			if (engine_on_cqe(e, cqe, &out[n]) == 1)
				n++;
		} else {
			e->st.foreign_cqes++;
			if (e->o.foreign_cqe)
				e->o.foreign_cqe(e->o.foreign_ctx, cqe);
		}
	}
	io_uring_cq_advance(e->ring, seen);
	return n;
}

/* Each pass reaps at least one CQE or sleeps until the deadline; the cap is a backstop. */
#define WAIT_MAX_PASSES (1u << 20)

int engine_wait(struct engine *e, struct dial_result *out, unsigned max, int timeout_ms)
{
	if (!e || !out || max == 0 || timeout_ms < 0)
		return -EINVAL;
	int64_t deadline = engine_now_ns() + (int64_t)timeout_ms * 1000000;
	for (unsigned pass = 0; pass < WAIT_MAX_PASSES; pass++) {
		if (e->n_to_close)
			engine_flush_closes(e);
		unsigned n = engine_reap(e, out, max);
		/* What was queued meanwhile (closes, refills) goes with the next enter. */
		if (n > 0)
			return (int)n;
		int64_t left = deadline - engine_now_ns();
		if (e->inflight == 0 || left <= 0) {
			int r = engine_enter_submit(e);
			return r < 0 ? r : 0;
		}
		struct __kernel_timespec ts = {
			.tv_sec = left / 1000000000,
			.tv_nsec = left % 1000000000,
		};
		/* liburing enters only when it submits or finds the CQ empty. */
		if (io_uring_sq_ready(e->ring) > 0 || io_uring_cq_ready(e->ring) == 0)
			e->st.enters++;
		struct io_uring_cqe *cqe;
		int r = io_uring_submit_and_wait_timeout(e->ring, &cqe, 1, &ts, NULL);
		if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN)
			return r;
	}
	return 0;
}
