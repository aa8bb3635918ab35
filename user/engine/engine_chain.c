/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_chain.c - how a dial becomes SQEs (see engine.h for the chain).
 *
 * Every SQE carries user_data (tag, op, generation, slot), so a CQE leads
 * straight to its slot. SOCKET, CONNECT and the check are marked
 * IOSQE_CQE_SKIP_SUCCESS: each posts a CQE only when it fails, and its
 * failure silences the steps it cancels. A dial, connected or not, so ends
 * with two CQEs (the timeout's and the one step that decided it; three when
 * the pending error must be read), and chain_done (engine_complete.c) knows
 * from what has arrived whether anything is still to come.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine_internal.h"

static unsigned fixed_index(const struct engine *e, uint32_t i)
{
	return e->o.file_base + i;
}

static void tag(struct io_uring_sqe *sqe, enum engine_op op, const struct dial_slot *s, uint32_t i,
		unsigned flags)
{
	sqe->user_data = engine_ud(op, s->gen, i);
	sqe->flags |= (uint8_t)flags;
}

int engine_queue_chain(struct engine *e, uint32_t i)
{
	struct dial_slot *s = &e->slots[i];
	unsigned f = fixed_index(e, i);
	struct io_uring_sqe *sqe = engine_get_sqes(e, ENGINE_SQES_PER_DIAL);
	if (!sqe)
		return -EAGAIN;

	io_uring_prep_socket_direct(sqe, s->sa.sa.sa_family, SOCK_STREAM, IPPROTO_TCP, f, 0);
	tag(sqe, EOP_SOCKET, s, i, IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS);

	sqe = io_uring_get_sqe(e->ring);
	io_uring_prep_connect(sqe, (int)f, &s->sa.sa, s->salen);
	tag(sqe, EOP_CONNECT, s, i, IOSQE_IO_LINK | IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS);

	/* Bounds the CONNECT only; the two steps after it never wait. */
	sqe = io_uring_get_sqe(e->ring);
	io_uring_prep_link_timeout(sqe, &e->timeout, 0);
	tag(sqe, EOP_TIMEOUT, s, i, IOSQE_IO_LINK);

	/* MSG_DONTWAIT: -EAGAIN instead of waiting while still in SYN_SENT. */
	sqe = io_uring_get_sqe(e->ring);
	io_uring_prep_send(sqe, (int)f, NULL, 0, MSG_DONTWAIT | MSG_NOSIGNAL);
	tag(sqe, EOP_CHECK, s, i, IOSQE_IO_LINK | IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS);

	sqe = io_uring_get_sqe(e->ring);
	io_uring_prep_rw(ENGINE_OP_FIXED_FD_INSTALL, sqe, (int)f, NULL, 0, 0);
	tag(sqe, EOP_INSTALL, s, i, IOSQE_FIXED_FILE); /* its success carries the fd */
	return 0;
}

/*
 * getsockopt(SO_ERROR) as a socket command on the fixed file: SOL_SOCKET is
 * the only level the ring offers, and the one needed. liburing 2.3 names
 * neither the command nor its SQE fields: level and optname share `addr`
 * (level in the low half), optlen sits where `file_index` is, optval in
 * `addr3`.
 */
int engine_queue_soerror(struct engine *e, uint32_t i)
{
	struct dial_slot *s = &e->slots[i];
	struct io_uring_sqe *sqe = engine_get_sqes(e, 1);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, (int)fixed_index(e, i), NULL, 0, 0);
	sqe->cmd_op = ENGINE_SOCKET_CMD_GETSOCKOPT;
	sqe->addr = (uint64_t)(uint32_t)SOL_SOCKET | ((uint64_t)(uint32_t)SO_ERROR << 32);
	sqe->file_index = sizeof(s->so_error);
	sqe->addr3 = (uint64_t)(uintptr_t)&s->so_error;
	s->so_error = 0;
	tag(sqe, EOP_SOERROR, s, i, IOSQE_FIXED_FILE);
	return 0;
}

/* Its CQE only matters if it fails, which a close of our own slot does not. */
int engine_queue_close(struct engine *e, uint32_t i)
{
	struct io_uring_sqe *sqe = engine_get_sqes(e, 1);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_close_direct(sqe, fixed_index(e, i));
	tag(sqe, EOP_CLOSE, &e->slots[i], i, IOSQE_CQE_SKIP_SUCCESS);
	return 0;
}

/*
 * Cancel the CONNECT: the chain then ends as a timed-out one does (CONNECT
 * -ECANCELED, the timeout's CQE). A chain already past its CONNECT finishes
 * by itself at once; the slot's cancel flag decides the outcome either way.
 */
int engine_queue_cancel(struct engine *e, uint32_t i)
{
	struct dial_slot *s = &e->slots[i];
	struct io_uring_sqe *sqe = engine_get_sqes(e, 1);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_cancel64(sqe, engine_ud(EOP_CONNECT, s->gen, i), 0);
	tag(sqe, EOP_CANCEL, s, i, IOSQE_CQE_SKIP_SUCCESS);
	return 0;
}
