/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ring.h - the farm's one io_uring: getting SQEs (submitting when the SQ is
 * full), what each request's user_data says, the provided buffers every
 * multishot receive draws from, and a count of requests still to complete.
 *
 * user_data: bits 63..56 the kind of request, 55..32 a generation (a CQE
 * of an owner's earlier life is recognised and dropped), 31..0 the owner's
 * index (listener or connection slot).
 */
#ifndef MUKAN_PEERFARM_RING_H
#define MUKAN_PEERFARM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

enum ud_kind {
	UD_SIGNAL = 1,	   /* read of the signalfd */
	UD_TIMEOUT,	   /* the one timeout, at the earliest deadline */
	UD_TIMEOUT_UPDATE, /* moving it earlier */
	UD_ACCEPT,	   /* multishot accept of a listener */
	UD_RECV,	   /* multishot receive of a connection */
	UD_SEND,	   /* a send of a connection */
	UD_CANCEL,	   /* a cancel */
};

#define UD_GEN_MASK 0xffffffu

static inline uint64_t ud_make(enum ud_kind k, uint32_t gen, uint32_t idx)
{
	return (uint64_t)k << 56 | (uint64_t)(gen & UD_GEN_MASK) << 32 | idx;
}
static inline enum ud_kind ud_kind(uint64_t ud)
{
	return (enum ud_kind)(ud >> 56);
}
static inline uint32_t ud_gen(uint64_t ud)
{
	return (uint32_t)(ud >> 32) & UD_GEN_MASK;
}
static inline uint32_t ud_idx(uint64_t ud)
{
	return (uint32_t)ud;
}

#define RING_BGID 0

struct farm_ring {
	struct io_uring ring;
	bool up;
	struct io_uring_buf_ring *br; /* provided receive buffers, group RING_BGID */
	size_t br_bytes;
	uint8_t *bufs;
	unsigned n_bufs, buf_size;
	uint32_t inflight; /* requests whose last CQE has not come */
};

/*
 * A ring of `entries` SQEs and n_bufs receive buffers of buf_size bytes
 * (n_bufs a power of two). 0 or -errno; -EINVAL/-EOPNOTSUPP from a kernel
 * without provided buffer rings (5.19).
 */
int ring_open(struct farm_ring *r, unsigned entries, unsigned n_bufs, unsigned buf_size);
void ring_close(struct farm_ring *r);

/* An SQE for user_data ud (counted in flight); NULL only if the ring is broken. */
struct io_uring_sqe *ring_sqe(struct farm_ring *r, uint64_t ud);

/* A CQE was reaped: counts the request done unless more CQEs follow. */
static inline void ring_cqe_seen(struct farm_ring *r, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE) && r->inflight)
		r->inflight--;
}

/* n bytes at p were written by the kernel through the ring (for valgrind's sake). */
void ring_read_done(const void *p, size_t n);

/* The buffer a receive CQE filled (IORING_CQE_F_BUFFER set), and giving it back. */
uint8_t *ring_buf(const struct farm_ring *r, const struct io_uring_cqe *cqe);
void ring_buf_recycle(struct farm_ring *r, const struct io_uring_cqe *cqe);

#endif /* MUKAN_PEERFARM_RING_H */
