/* SPDX-License-Identifier: Apache-2.0 */
/* engine_internal.h - state shared by the user/engine sources. */
#ifndef MUKAN_ENGINE_INTERNAL_H
#define MUKAN_ENGINE_INTERNAL_H

#include <netinet/in.h>

#include "engine.h"

/* Which SQE a CQE answers (bits 55..48 of user_data). */
enum engine_op {
	EOP_SOCKET = 1,
	EOP_CONNECT,
	EOP_TIMEOUT,
	EOP_CHECK,   /* the empty send: ESTABLISHED? */
	EOP_INSTALL, /* fixed file -> ordinary fd */
	EOP_SOERROR, /* read the pending error of a socket that did not connect */
	EOP_CLOSE,   /* CLOSE_DIRECT at the end of a dial */
	EOP_CANCEL,  /* ASYNC_CANCEL of a CONNECT */
};

/* Opcode 54, IORING_OP_FIXED_FD_INSTALL (Linux 6.8); liburing 2.3 predates it. */
#define ENGINE_OP_FIXED_FD_INSTALL 54
/* IORING_OP_URING_CMD sub-command SOCKET_URING_OP_GETSOCKOPT (Linux 6.7). */
#define ENGINE_SOCKET_CMD_GETSOCKOPT 2

/*
 * A CONNECT linked behind its SOCKET is issued from task work after the
 * submit that carried the chain, so a cancel in the same submit finds
 * nothing (-ENOENT); it is sent again, a bounded number of times, until it
 * meets the CONNECT or the CONNECT has ended. Past the bound the dial's own
 * timeout still ends it, as cancelled.
 */
#define ENGINE_CANCEL_RETRIES 8

enum slot_state {
	SLOT_FREE = 0,
	SLOT_DIALING, /* chain (or the pending-error read) in flight */
};

/* A socket address the kernel can read. */
union engine_sa {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* One dial in flight: slot i of the array, fixed file file_base + i. */
struct dial_slot {
	uint64_t cookie;
	int64_t start_ns;
	union engine_sa sa; /* read by the kernel when CONNECT is issued */
	socklen_t salen;
	struct mukan_addr addr;
	uint16_t gen;
	uint16_t seen;	      /* 1 << enum engine_op for each CQE that arrived */
	uint8_t state;	      /* enum slot_state */
	bool cancel;	      /* the caller cancelled: report DIAL_CANCELLED */
	bool timed_out;	      /* the link timeout fired */
	bool read_soerror;    /* the pending-error read was queued */
	uint8_t cancel_tries; /* cancels that found no CONNECT to cancel yet */
	int socket_err;	      /* positive errnos seen per step, 0 none */
	int connect_err;
	int check_err;
	int install_err;
	int so_error; /* written by the kernel (getsockopt SO_ERROR) */
	int fd;	      /* installed descriptor, -1 none */
};

struct engine {
	struct io_uring *ring;
	struct engine_opts o;
	struct __kernel_timespec timeout; /* read when each LINK_TIMEOUT is prepared */
	bool own_files;			  /* we registered the file table */
	unsigned inflight;
	unsigned n_free;
	uint32_t *free_slots; /* stack of free slot indices */
	uint32_t *to_close;   /* finished slots whose CLOSE_DIRECT found no room in the SQ */
	unsigned n_to_close;
	struct dial_slot *slots;
	/* cookie -> slot + 1 (0 empty), open addressing, 2^k >= 2K entries */
	uint64_t *ck_keys;
	uint32_t *ck_vals;
	uint32_t ck_mask;
	struct engine_stats st;
};

/* user_data encoding. */
static inline uint64_t engine_ud(enum engine_op op, uint16_t gen, uint32_t slot)
{
	return ((uint64_t)ENGINE_UD_TAG << ENGINE_UD_TAG_SHIFT) | ((uint64_t)op << 48) |
	       ((uint64_t)gen << 32) | slot;
}
static inline enum engine_op engine_ud_op(uint64_t ud) { return (enum engine_op)((ud >> 48) & 0xff); }
static inline uint16_t engine_ud_gen(uint64_t ud) { return (uint16_t)(ud >> 32); }
static inline uint32_t engine_ud_slot(uint64_t ud) { return (uint32_t)ud; }

int64_t engine_now_ns(void);

/* engine_ring.c: SQEs, with a submit of our own when the SQ is full. */
struct io_uring_sqe *engine_get_sqes(struct engine *e, unsigned n);
int engine_enter_submit(struct engine *e);

/* engine_cookies.c: which slot dials a cookie. */
int engine_cookie_find(const struct engine *e, uint64_t cookie);
void engine_cookie_put(struct engine *e, uint64_t cookie, uint32_t slot);
void engine_cookie_del(struct engine *e, uint64_t cookie);

/* engine_chain.c: the SQEs of one dial and of its end; -EAGAIN: no room in the SQ. */
int engine_queue_chain(struct engine *e, uint32_t i);
int engine_queue_soerror(struct engine *e, uint32_t i);
int engine_queue_close(struct engine *e, uint32_t i);
int engine_queue_cancel(struct engine *e, uint32_t i);

/* engine_addr.c: struct mukan_addr -> sockaddr; -EINVAL for no family or port 0. */
int engine_sockaddr(const struct mukan_addr *a, union engine_sa *sa, socklen_t *len);

/* engine_route.c: does our own routing table reach this address? 0 or -errno. */
int engine_route_check(const struct mukan_addr *a);

/* engine_complete.c: queue the closes that found no room before. */
void engine_flush_closes(struct engine *e);

/* engine_reap.c: process ready CQEs without entering the kernel. */
unsigned engine_reap(struct engine *e, struct dial_result *out, unsigned max);

#endif /* MUKAN_ENGINE_INTERNAL_H */
