/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_complete.c - how CQEs become outcomes.
 *
 * Each CQE of a chain records what its step saw in the slot; when nothing
 * more is to come (chain_done), the record decides the outcome
 * (decide_outcome), the slot's fixed file is closed and the slot is free
 * again. A CONNECT that "succeeded" but whose socket is not ESTABLISHED
 * fails the empty send with -EAGAIN; its pending error is then read (one
 * more CQE) before deciding.
 */
#include <errno.h>
#include <unistd.h>

#include "engine_internal.h"

bool engine_owns_cqe(const struct io_uring_cqe *cqe)
{
	return (cqe->user_data >> ENGINE_UD_TAG_SHIFT) == ENGINE_UD_TAG;
}

/* The errno of a step, with "cancelled because an earlier step failed" as 0. */
static int step_err(int res)
{
	return res < 0 && res != -ECANCELED ? -res : 0;
}

static uint16_t bit(enum engine_op op)
{
	return (uint16_t)(1u << op);
}

static void record_step(struct dial_slot *s, enum engine_op op, int res)
{
	s->seen |= bit(op);
	switch (op) {
	case EOP_SOCKET:
		s->socket_err = step_err(res);
		break;
	case EOP_CONNECT:
		s->connect_err = step_err(res);
		break;
	case EOP_TIMEOUT:
		s->timed_out = res == -ETIME;
		break;
	case EOP_CHECK:
		s->check_err = step_err(res);
		break;
	case EOP_INSTALL:
		if (res >= 0)
			s->fd = res;
		else
			s->install_err = step_err(res);
		break;
	case EOP_SOERROR:
		if (res < 0)
			s->so_error = 0; /* unknown: decided from the check's error */
		break;
	default:
		break;
	}
}

/*
 * Has every CQE of the chain arrived? The kernel's rules: a step marked
 * IOSQE_CQE_SKIP_SUCCESS (SOCKET, CONNECT, the check) posts a CQE only when
 * it fails, and then the steps its failure cancels post none; LINK_TIMEOUT
 * posts one whenever its CONNECT was issued (-ETIME when it fired,
 * -ECANCELED when the CONNECT ended first). So a chain ends with
 *  - SOCKET's failure alone (nothing after it was issued), or
 *  - the timeout's CQE plus exactly one of: CONNECT's failure, the check's
 *    failure, INSTALL (its descriptor or its failure);
 * in whichever order they come.
 */
static bool chain_done(const struct dial_slot *s)
{
	uint16_t last = bit(EOP_CONNECT) | bit(EOP_CHECK) | bit(EOP_INSTALL);
	if (s->seen & bit(EOP_SOCKET))
		return true;
	return (s->seen & bit(EOP_TIMEOUT)) && (s->seen & last);
}

/* A connect error, with our own routing table's failures told apart. */
static enum dial_outcome connect_outcome(const struct dial_slot *s)
{
	enum dial_outcome o = dial_outcome_from_errno(s->connect_err);
	if (o == DIAL_UNREACHABLE && engine_route_check(&s->addr) < 0)
		return DIAL_LOCAL_ERROR;
	return o;
}

static enum dial_outcome decide_outcome(const struct dial_slot *s, int *err)
{
	if (s->cancel) {
		*err = ECANCELED;
		return DIAL_CANCELLED;
	}
	if (s->fd >= 0) {
		*err = 0;
		return DIAL_CONNECTED;
	}
	if (s->socket_err) {
		*err = s->socket_err;
		return DIAL_LOCAL_ERROR;
	}
	if (s->timed_out) {
		*err = ETIMEDOUT;
		return DIAL_TIMED_OUT;
	}
	if (s->connect_err) {
		*err = s->connect_err;
		return connect_outcome(s);
	}
	if (s->check_err == EAGAIN) {
		/* CONNECT said 0, the socket is not ESTABLISHED: its pending error says why. */
		*err = s->so_error > 0 ? s->so_error : ENOTCONN;
		return s->so_error > 0 ? dial_outcome_from_errno(s->so_error) : DIAL_FAILED;
	}
	if (s->check_err) {
		*err = s->check_err;
		return dial_outcome_from_errno(s->check_err);
	}
	if (s->install_err) {
		*err = s->install_err;
		return DIAL_LOCAL_ERROR; /* EMFILE: the connection was made, we cannot hold it */
	}
	*err = EIO; /* every step cancelled and none said why: cannot happen */
	return DIAL_FAILED;
}

static void release_slot(struct engine *e, uint32_t i)
{
	e->slots[i].state = SLOT_FREE;
	e->free_slots[e->n_free++] = i;
}

void engine_flush_closes(struct engine *e)
{
	unsigned kept = 0;
	for (unsigned k = 0; k < e->n_to_close; k++) {
		uint32_t i = e->to_close[k];
		if (engine_queue_close(e, i) == 0)
			release_slot(e, i);
		else
			e->to_close[kept++] = i;
	}
	e->n_to_close = kept;
}

static void finish(struct engine *e, uint32_t i, struct dial_result *out)
{
	struct dial_slot *s = &e->slots[i];
	int err = 0;
	enum dial_outcome o = decide_outcome(s, &err);

	out->cookie = s->cookie;
	out->addr = s->addr;
	out->outcome = o;
	out->err = err;
	out->fd = o == DIAL_CONNECTED ? s->fd : -1;
	out->duration_ns = engine_now_ns() - s->start_ns;
	if (s->fd >= 0 && o != DIAL_CONNECTED)
		close(s->fd); /* cancelled after the install */

	engine_cookie_del(e, s->cookie);
	e->inflight--;
	e->st.results++;
	e->st.by_outcome[o]++;
	/* A later generation must not take CQEs meant for this one. */
	s->gen++;

	/*
	 * The fixed file goes before the slot is reused: the close sits ahead
	 * of any later SOCKET into the same index in the SQ, and both run in
	 * order at submission.
	 */
	if (s->socket_err) {
		release_slot(e, i); /* no socket was made */
	} else if (engine_queue_close(e, i) == 0) {
		release_slot(e, i);
	} else {
		s->state = SLOT_FREE;
		e->to_close[e->n_to_close++] = i;
	}
}

int engine_on_cqe(struct engine *e, const struct io_uring_cqe *cqe, struct dial_result *out)
{
	if (!engine_owns_cqe(cqe))
		return -EINVAL;
	uint64_t ud = cqe->user_data;
	enum engine_op op = engine_ud_op(ud);
	uint32_t i = engine_ud_slot(ud);
	e->st.cqes++;
	if (op == EOP_CLOSE)
		return 0; /* a close of an empty slot: nothing to undo */
	if (i >= e->o.max_inflight || e->slots[i].state != SLOT_DIALING ||
	    e->slots[i].gen != engine_ud_gen(ud)) {
		e->st.stale_cqes++;
		return 0;
	}
	struct dial_slot *s = &e->slots[i];
	if (op == EOP_CANCEL) {
		/*
		 * Only failed cancels post a CQE. -ENOENT before the timeout's CQE:
		 * the CONNECT was not issued yet (the timeout reports as soon as
		 * the CONNECT has ended), so try again.
		 */
		if (!(s->seen & bit(EOP_TIMEOUT)) && s->cancel_tries < ENGINE_CANCEL_RETRIES &&
		    engine_queue_cancel(e, i) == 0)
			s->cancel_tries++;
		return 0;
	}
	record_step(s, op, cqe->res);
	if (s->read_soerror) {
		if (!(s->seen & bit(EOP_SOERROR)))
			return 0;
	} else {
		if (!chain_done(s))
			return 0;
		if (s->check_err == EAGAIN && !s->cancel && engine_queue_soerror(e, i) == 0) {
			e->st.unconfirmed++;
			s->read_soerror = true;
			return 0;
		}
	}
	finish(e, i, out);
	return 1;
}
