/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_ring.c - the engine's only ways into the kernel: submitting, and
 * making room in a full SQ. Each io_uring_enter the engine makes is counted
 * here (st.enters), which is what the benchmark's syscalls-per-dial reads.
 */
#include <errno.h>

#include "engine_internal.h"

int engine_enter_submit(struct engine *e)
{
	if (io_uring_sq_ready(e->ring) == 0)
		return 0;
	e->st.enters++;
	return io_uring_submit(e->ring);
}

int engine_submit(struct engine *e)
{
	return engine_enter_submit(e);
}

/*
 * Room for n consecutive SQEs (a linked chain must not be split by a submit:
 * the kernel ends an open chain at the end of each submission). Returns the
 * first one; the caller takes the rest with io_uring_get_sqe.
 */
struct io_uring_sqe *engine_get_sqes(struct engine *e, unsigned n)
{
	if (io_uring_sq_space_left(e->ring) < n) {
		engine_enter_submit(e);
		if (io_uring_sq_space_left(e->ring) < n)
			return NULL;
	}
	return io_uring_get_sqe(e->ring);
}
