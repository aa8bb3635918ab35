/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.h - the io_uring dial engine: many TCP connects in flight on a ring
 * the caller owns, each finishing as exactly one struct dial_result.
 *
 * A dial is one linked chain of five SQEs on fixed-file slot i:
 *
 *   SOCKET(direct, slot i) -> CONNECT(fixed i) -> LINK_TIMEOUT
 *     -> SEND(fixed i, 0 bytes, MSG_DONTWAIT) -> FIXED_FD_INSTALL(i)
 *
 * The empty send is the ESTABLISHED check, done inside the ring: TCP accepts
 * it only in ESTABLISHED or CLOSE_WAIT and answers -EAGAIN while the socket
 * is still in SYN_SENT, which is where an ICMP error leaves a socket whose
 * CONNECT nevertheless completed with 0 (its pending error is then read with
 * a getsockopt(SO_ERROR) socket command, and reported). Only a confirmed
 * connection reaches the install, which turns the fixed file into an
 * ordinary descriptor for the caller. When the chain ends, CLOSE_DIRECT(i)
 * drops the fixed file: a dial that failed leaves no socket behind, and a
 * connected one lives exactly as long as the caller's descriptor. No system
 * call is made per dial; chains go in with the io_uring_enter the loop makes
 * anyway, and SOCKET, CONNECT and the check post a CQE only when they fail,
 * so a dial costs two CQEs.
 *
 * Ownership: the ring is the caller's (one thread, one ring). The engine only
 * prepares SQEs on it; the caller's io_uring_submit sends them, and every CQE
 * whose user_data engine_owns_cqe() claims goes to engine_on_cqe(). The
 * engine submits by itself only when the SQ has no room for a chain.
 * engine_wait() submits, waits and reaps on its own, for callers whose ring
 * has no other users (or that pass opts.foreign_cqe). Not thread-safe.
 *
 * user_data tagging (bit 63 is the most significant):
 *
 *   63..56  ENGINE_UD_TAG (0xD1): the engine's CQEs, and only those
 *   55..48  which SQE of the chain (engine_internal.h, enum engine_op)
 *   47..32  generation of the slot: a CQE of an earlier dial is dropped
 *   31..0   slot index, 0 .. max_inflight-1 (the per-dial state, no search)
 *
 * Every other user_data is free for the caller, as long as its top byte is
 * not 0xD1 (0 and LIBURING_UDATA_TIMEOUT, all ones, are fine).
 *
 * Fixed files: slots [file_base, file_base + max_inflight) of the ring's
 * registered file table. If the ring has no table, engine_new registers a
 * sparse one of file_base + max_inflight entries and engine_free unregisters
 * it; if the caller registered one, it must be that large.
 *
 * Sizing: each dial takes ENGINE_SQES_PER_DIAL SQEs at once and ends with at
 * most ENGINE_CQES_PER_DIAL CQEs; with a CQ ring of ENGINE_CQES_PER_DIAL *
 * max_inflight entries the engine alone does not overflow it (if it does,
 * the kernel keeps the excess, IORING_FEAT_NODROP, only slower).
 *
 * Ring flags: any. With IORING_SETUP_DEFER_TASKRUN each link of a chain
 * advances only inside an io_uring_enter that waits, so engine_wait enters
 * about eight times per batch instead of once (measured by bench_dial).
 *
 * Needs Linux 6.8 (IORING_OP_FIXED_FD_INSTALL, the socket getsockopt
 * command); engine_new asks the ring's probe. Every function returns -errno
 * on failure; nothing here prints or exits.
 */
#ifndef MUKAN_ENGINE_H
#define MUKAN_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

#include "mukan/abi.h"

#define ENGINE_UD_TAG 0xD1u
#define ENGINE_UD_TAG_SHIFT 56

#define ENGINE_SQES_PER_DIAL 5 /* one chain */
#define ENGINE_CQES_PER_DIAL 4 /* 2, or 3 with the error read, + a cancel that missed */
#define ENGINE_MAX_INFLIGHT 4096
#define ENGINE_MAX_TIMEOUT_MS 600000

/* What became of a dial. The values are stable: manager.h mirrors them. */
enum dial_outcome {
	DIAL_CONNECTED = 0,  /* ESTABLISHED (or already CLOSE_WAIT); fd is the caller's */
	DIAL_REFUSED,	     /* RST to our SYN: ECONNREFUSED */
	DIAL_TIMED_OUT,	     /* no answer before the timeout (or the kernel's own ETIMEDOUT) */
	DIAL_UNREACHABLE,    /* EHOSTUNREACH / ENETUNREACH / EHOSTDOWN from the network (ICMP) */
	DIAL_LOCAL_ERROR,    /* never reached the wire, or we could not take the socket:
			      * no route here, EMFILE, ENOBUFS, EADDRNOTAVAIL, EPERM (gate) */
	DIAL_FAILED,	     /* any other error from the peer side (ECONNRESET, EPIPE...) */
	DIAL_CANCELLED,	     /* engine_cancel, engine_cancel_all or engine_free */
	DIAL_OUTCOME_COUNT,
};

struct dial_result {
	uint64_t cookie;	/* the caller's id given to engine_dial */
	struct mukan_addr addr; /* the address dialed */
	enum dial_outcome outcome;
	int err;		/* positive errno behind the outcome, 0 when connected */
	int fd;			/* DIAL_CONNECTED: the socket (blocking, close-on-exec); else -1 */
	int64_t duration_ns;	/* from engine_dial to the final CQE (CLOCK_MONOTONIC) */
};

struct engine_opts {
	unsigned max_inflight; /* K: dials in flight at most, 1..ENGINE_MAX_INFLIGHT */
	unsigned timeout_ms;   /* per-dial connect timeout, 1..ENGINE_MAX_TIMEOUT_MS */
	unsigned file_base;    /* first fixed-file slot the engine may use */
	/*
	 * engine_wait and engine_free reap the ring themselves; CQEs that are
	 * not the engine's go here (NULL: they are consumed and dropped, which is
	 * right only for a ring that nothing else uses).
	 */
	void (*foreign_cqe)(void *ctx, const struct io_uring_cqe *cqe);
	void *foreign_ctx;
};

/* Counters for tests, benchmarks and metrics. */
struct engine_stats {
	uint64_t enters;       /* io_uring_enter calls the engine made itself */
	uint64_t dials;	       /* chains queued */
	uint64_t results;      /* dials finished (sum of by_outcome) */
	uint64_t cqes;	       /* engine CQEs handled */
	uint64_t stale_cqes;   /* CQEs of a finished dial (a cancel that came too late), dropped */
	uint64_t foreign_cqes; /* other users' CQEs seen by engine_wait/engine_free */
	uint64_t unconfirmed;  /* CONNECTs that completed with 0 on a socket not ESTABLISHED */
	uint64_t by_outcome[DIAL_OUTCOME_COUNT];
};

struct engine;

/*
 * Create an engine on `ring` (which must outlive it). -EINVAL for options out
 * of range or a ring with fewer than 2 * ENGINE_SQES_PER_DIAL SQ entries,
 * -EOPNOTSUPP when the kernel lacks one of the opcodes the chain uses, or
 * the kernel's refusal of the file table it registers.
 */
int engine_new(struct engine **out, struct io_uring *ring, const struct engine_opts *o);

/*
 * Cancel every dial, reap until each has finished (closing every socket,
 * connected or not, and dropping their results), release the fixed slots and
 * free. Bounded by the dial timeout plus one second; should the kernel not
 * have finished by then (a broken ring), the engine's memory is left
 * allocated rather than freed under it. Call before io_uring_queue_exit.
 * NULL is fine.
 */
void engine_free(struct engine *e);

/*
 * Queue one dial (the SQEs go out with the next submit). cookie is the
 * caller's id for the dial, e.g. a book slot. -EBUSY when max_inflight dials
 * are in flight, -EALREADY when a dial with this cookie is, -EINVAL for an
 * address that is neither IPv4 nor IPv6 or has port 0.
 */
int engine_dial(struct engine *e, const struct mukan_addr *a, uint64_t cookie);

/*
 * Cancel the dial with this cookie: it finishes as DIAL_CANCELLED (socket
 * closed, even if it had just connected). -ENOENT when no such dial is in
 * flight. engine_cancel_all cancels every dial in flight.
 */
int engine_cancel(struct engine *e, uint64_t cookie);
void engine_cancel_all(struct engine *e);

/* Does this CQE belong to an engine (of any instance)? A pure tag test. */
bool engine_owns_cqe(const struct io_uring_cqe *cqe);

/*
 * Handle one of the engine's CQEs (the caller advances the CQ). Returns 1
 * when a dial finished and *out is filled, 0 when not (more CQEs to come, or
 * a stale CQE), -EINVAL for a CQE that is not the engine's.
 */
int engine_on_cqe(struct engine *e, const struct io_uring_cqe *cqe, struct dial_result *out);

/* Submit whatever is queued on the ring (one io_uring_enter, if anything is). */
int engine_submit(struct engine *e);

/*
 * Submit, wait up to timeout_ms (0: do not wait) for at least one dial to
 * finish, and reap completions in batches. Returns the number of results
 * written to out (0..max, max >= 1; 0 on timeout or when nothing is in
 * flight), or -errno.
 */
int engine_wait(struct engine *e, struct dial_result *out, unsigned max, int timeout_ms);

unsigned engine_inflight(const struct engine *e);
void engine_get_stats(const struct engine *e, struct engine_stats *st);

/* "connected", "refused", ... */
const char *dial_outcome_name(enum dial_outcome o);

/*
 * The outcome a failed connect's errno (positive) stands for. Pure: it
 * cannot know whether EHOSTUNREACH came from an ICMP message or from our own
 * routing table, so it says DIAL_UNREACHABLE; the engine checks the route and
 * reports a failure of our own routing as DIAL_LOCAL_ERROR.
 */
enum dial_outcome dial_outcome_from_errno(int err);

#endif /* MUKAN_ENGINE_H */
