/* SPDX-License-Identifier: Apache-2.0 */
/* ring.c - the ring, its SQEs and its provided buffers (see ring.h). */
#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Valgrind cannot see the kernel write a provided buffer through the ring:
 * say so, or every byte received looks uninitialised (a no-op otherwise).
 */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

int ring_open(struct farm_ring *r, unsigned entries, unsigned n_bufs, unsigned buf_size)
{
	memset(r, 0, sizeof(*r));
	struct io_uring_params p = { 0 };
	/* A CQ with room for bursts of multishot completions; the kernel keeps any overflow. */
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = entries * 4;
	int e = io_uring_queue_init_params(entries, &r->ring, &p);
	if (e < 0)
		return e;
	r->up = true;
	r->n_bufs = n_bufs;
	r->buf_size = buf_size;
	r->br_bytes = n_bufs * sizeof(struct io_uring_buf);
	void *br = mmap(NULL, r->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
			-1, 0);
	r->bufs = malloc((size_t)n_bufs * buf_size);
	if (br == MAP_FAILED || !r->bufs) {
		if (br != MAP_FAILED)
			munmap(br, r->br_bytes);
		free(r->bufs);
		r->bufs = NULL;
		ring_close(r);
		return -ENOMEM;
	}
	r->br = br;
	io_uring_buf_ring_init(r->br);
	struct io_uring_buf_reg reg = {
		.ring_addr = (unsigned long)r->br,
		.ring_entries = n_bufs,
		.bgid = RING_BGID,
	};
	if ((e = io_uring_register_buf_ring(&r->ring, &reg, 0)) < 0) {
		ring_close(r);
		return e;
	}
	int mask = io_uring_buf_ring_mask(n_bufs);
	for (unsigned i = 0; i < n_bufs; i++)
		io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * buf_size, buf_size,
				      (unsigned short)i, mask, (int)i);
	io_uring_buf_ring_advance(r->br, (int)n_bufs);
	return 0;
}

void ring_close(struct farm_ring *r)
{
	if (r->up)
		io_uring_queue_exit(&r->ring); /* unregisters the buffer ring too */
	r->up = false;
	if (r->br)
		munmap(r->br, r->br_bytes);
	r->br = NULL;
	free(r->bufs);
	r->bufs = NULL;
}

struct io_uring_sqe *ring_sqe(struct farm_ring *r, uint64_t ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		/* SQ full: hand the batch to the kernel and take a fresh one. */
		if (io_uring_submit(&r->ring) < 0)
			return NULL;
		sqe = io_uring_get_sqe(&r->ring);
		if (!sqe)
			return NULL;
	}
	r->inflight++;
	io_uring_sqe_set_data64(sqe, ud);
	return sqe;
}

uint8_t *ring_buf(const struct farm_ring *r, const struct io_uring_cqe *cqe)
{
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	uint8_t *p = r->bufs + (size_t)bid * r->buf_size;
	if (cqe->res > 0)
		VALGRIND_MAKE_MEM_DEFINED(p, (size_t)cqe->res);
	return p;
}

void ring_read_done(const void *p, size_t n)
{
	VALGRIND_MAKE_MEM_DEFINED(p, n);
}

void ring_buf_recycle(struct farm_ring *r, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	io_uring_buf_ring_add(r->br, r->bufs + (size_t)bid * r->buf_size, r->buf_size,
			      (unsigned short)bid, io_uring_buf_ring_mask(r->n_bufs), 0);
	io_uring_buf_ring_advance(r->br, 1);
}
