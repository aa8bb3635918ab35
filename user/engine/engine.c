/* SPDX-License-Identifier: Apache-2.0 */
/* engine.c - engine life cycle: check the ring and kernel, allocate K slots, drain on free. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine_internal.h"

/* Every opcode a dial may use; the kernel's probe, not its version, decides. */
static int check_opcodes(struct io_uring *ring)
{
	static const int ops[] = {
		IORING_OP_SOCKET, IORING_OP_CONNECT,	  IORING_OP_LINK_TIMEOUT,     IORING_OP_SEND,
		IORING_OP_CLOSE,  IORING_OP_ASYNC_CANCEL, IORING_OP_URING_CMD, ENGINE_OP_FIXED_FD_INSTALL,
	};
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	if (!p)
		return -EOPNOTSUPP;
	int r = 0;
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (!io_uring_opcode_supported(p, ops[k]))
			r = -EOPNOTSUPP;
	io_uring_free_probe(p);
	return r;
}

static int check_opts(const struct io_uring *ring, const struct engine_opts *o)
{
	if (o->max_inflight < 1 || o->max_inflight > ENGINE_MAX_INFLIGHT)
		return -EINVAL;
	if (o->timeout_ms < 1 || o->timeout_ms > ENGINE_MAX_TIMEOUT_MS)
		return -EINVAL;
	if (o->file_base > (1u << 20))
		return -EINVAL;
	/* One whole chain plus the SQEs that end other dials. */
	if (ring->sq.ring_entries < 2 * ENGINE_SQES_PER_DIAL)
		return -EINVAL;
	return 0;
}

static void free_arrays(struct engine *e)
{
	free(e->slots);
	free(e->free_slots);
	free(e->to_close);
	free(e->ck_keys);
	free(e->ck_vals);
	free(e);
}

int engine_new(struct engine **out, struct io_uring *ring, const struct engine_opts *o)
{
	if (!out || !ring || !o)
		return -EINVAL;
	int r = check_opts(ring, o);
	if (r < 0)
		return r;
	r = check_opcodes(ring);
	if (r < 0)
		return r;

	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	unsigned k = o->max_inflight;
	uint32_t ck_size = 1;
	while (ck_size < 2 * k)
		ck_size <<= 1;
	e->ring = ring;
	e->o = *o;
	e->slots = calloc(k, sizeof(*e->slots));
	e->free_slots = calloc(k, sizeof(*e->free_slots));
	e->to_close = calloc(k, sizeof(*e->to_close));
	e->ck_keys = calloc(ck_size, sizeof(*e->ck_keys));
	e->ck_vals = calloc(ck_size, sizeof(*e->ck_vals));
	if (!e->slots || !e->free_slots || !e->to_close || !e->ck_keys || !e->ck_vals) {
		free_arrays(e);
		return -ENOMEM;
	}
	e->ck_mask = ck_size - 1;
	/* Slot 0 on top of the stack: the lowest fixed indices are used first. */
	for (unsigned i = 0; i < k; i++)
		e->free_slots[i] = k - 1 - i;
	e->n_free = k;
	e->timeout.tv_sec = o->timeout_ms / 1000;
	e->timeout.tv_nsec = (long long)(o->timeout_ms % 1000) * 1000000;

	r = io_uring_register_files_sparse(ring, o->file_base + k);
	if (r == 0) {
		e->own_files = true;
	} else if (r != -EBUSY) { /* -EBUSY: the caller registered a table already */
		free_arrays(e);
		return r;
	}
	*out = e;
	return 0;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	engine_cancel_all(e);
	int64_t deadline = engine_now_ns() + ((int64_t)e->o.timeout_ms + 1000) * 1000000;
	struct dial_result res[16];
	/* Each pass reaps or waits until the deadline; the cap is a backstop. */
	for (unsigned pass = 0; pass < (1u << 20) && e->inflight > 0; pass++) {
		int64_t left_ms = (deadline - engine_now_ns()) / 1000000;
		if (left_ms <= 0)
			break;
		int n = engine_wait(e, res, 16, (int)left_ms);
		if (n < 0)
			break;
		for (int k = 0; k < n; k++)
			if (res[k].fd >= 0)
				close(res[k].fd);
	}
	engine_flush_closes(e);
	engine_enter_submit(e);
	if (e->own_files)
		io_uring_unregister_files(e->ring);
	if (e->inflight > 0)
		return; /* the kernel may still write into the slots: leave them to it */
	free_arrays(e);
}

unsigned engine_inflight(const struct engine *e)
{
	return e ? e->inflight : 0;
}

void engine_get_stats(const struct engine *e, struct engine_stats *st)
{
	*st = e->st;
}
