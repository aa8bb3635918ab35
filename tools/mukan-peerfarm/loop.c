/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.c - one io_uring over listeners, connections, deadlines and a
 * signalfd; each connection runs conn.c, each flapping listener flips on a
 * deadline.
 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "book/rng.h"
#include "listener.h"
#include "node.h"
#include "ring.h"
#include "timers.h"

#define RING_ENTRIES 4096
#define RECV_BUFS 1024	     /* shared by every connection: memory does not grow with idle ones */
#define RECV_BUF_SIZE 4096
#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define WAIT_CAP_NS NS_PER_S /* wake at least this often */
#define MIN_STEP_NS NS_PER_MS /* a deadline that cannot advance yet waits this much */
#define REOPEN_RETRY_NS (100 * NS_PER_MS)
#define DRAIN_NS NS_PER_S    /* at teardown, for the kernel to hand back every request */
#define OBUF_KEEP 8192	     /* an idle connection keeps no larger send buffer */

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

enum timer_kind { T_LISTENER, T_CONN };

struct listener;

/* A connection: its protocol, and what the ring has of it. */
struct fconn {
	struct conn proto;
	struct timer t;
	int fd;
	uint32_t slot, gen;
	struct listener *owner;
	struct fconn *prev, *next; /* the owner's connections */
	struct obuf out;	   /* what the send in flight reads: untouched until it completes */
	bool recv_armed, send_inflight, starved, closing;
};

struct listener {
	struct timer t; /* flapping only */
	struct farm_node node;
	int fd;		/* -1 while a flapping peer is down */
	uint32_t idx, gen;
	bool accept_armed;
	struct fconn *conns; /* closed with the listener when it goes down */
};

struct farm_loop {
	const struct farm *f;
	struct farm_ring r;
	int sigfd, spare_fd;
	struct signalfd_siginfo si;
	struct listener *ls;
	uint32_t n_ls;
	struct fconn **slots; /* --max-conns of them */
	uint32_t *slot_gen, *free_slots, n_free, n_slots;
	uint32_t *starved, n_starved; /* slots whose receive ran out of buffers */
	struct timer_heap heap;
	struct conn_settings set;
	struct farm_stats stats;
	int64_t armed_at; /* the ring timeout's expiry; INT64_MAX when none is armed */
	struct __kernel_timespec ts;
	uint8_t *scratch;
	int fatal; /* -errno: the loop cannot go on */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static struct io_uring_sqe *sqe_for(struct farm_loop *l, uint64_t ud)
{
	struct io_uring_sqe *sqe = ring_sqe(&l->r, ud);
	if (!sqe && !l->fatal)
		l->fatal = -EIO;
	return sqe;
}

/* ---- requests ----------------------------------------------------------- */

static void arm_accept(struct farm_loop *l, struct listener *li)
{
	struct io_uring_sqe *sqe = sqe_for(l, ud_make(UD_ACCEPT, li->gen, li->idx));
	if (!sqe)
		return;
	/* Blocking sockets: the ring waits for them, nothing else does. */
	io_uring_prep_multishot_accept(sqe, li->fd, NULL, NULL, SOCK_CLOEXEC);
	li->accept_armed = true;
}

static void arm_recv(struct farm_loop *l, struct fconn *fc)
{
	struct io_uring_sqe *sqe = sqe_for(l, ud_make(UD_RECV, fc->gen, fc->slot));
	if (!sqe)
		return;
	io_uring_prep_recv_multishot(sqe, fc->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RING_BGID;
	fc->recv_armed = true;
}

static void arm_send(struct farm_loop *l, struct fconn *fc)
{
	struct io_uring_sqe *sqe = sqe_for(l, ud_make(UD_SEND, fc->gen, fc->slot));
	if (!sqe)
		return;
	io_uring_prep_send(sqe, fc->fd, fc->out.p + fc->out.off, fc->out.len - fc->out.off,
			   MSG_NOSIGNAL);
	fc->send_inflight = true;
}

static void arm_signal(struct farm_loop *l)
{
	struct io_uring_sqe *sqe = sqe_for(l, ud_make(UD_SIGNAL, 0, 0));
	if (sqe)
		io_uring_prep_read(sqe, l->sigfd, &l->si, sizeof(l->si), 0);
}

/* One timeout at the earliest deadline: armed, or moved earlier. */
static void arm_timeout(struct farm_loop *l, int64_t when, int64_t now)
{
	if (when > now + WAIT_CAP_NS)
		when = now + WAIT_CAP_NS;
	if (l->armed_at != INT64_MAX && l->armed_at <= when)
		return;
	bool update = l->armed_at != INT64_MAX;
	struct io_uring_sqe *sqe =
		sqe_for(l, ud_make(update ? UD_TIMEOUT_UPDATE : UD_TIMEOUT, 0, 0));
	if (!sqe)
		return;
	l->ts.tv_sec = when / NS_PER_S;
	l->ts.tv_nsec = when % NS_PER_S;
	if (update)
		io_uring_prep_timeout_update(sqe, &l->ts, ud_make(UD_TIMEOUT, 0, 0),
					     IORING_TIMEOUT_ABS);
	else
		io_uring_prep_timeout(sqe, &l->ts, 0, IORING_TIMEOUT_ABS);
	l->armed_at = when;
}

/* ---- connections -------------------------------------------------------- */

static struct fconn *fconn_new(struct farm_loop *l, struct listener *li, int fd)
{
	if (l->n_free == 0)
		return NULL;
	struct fconn *fc = calloc(1, sizeof(*fc));
	if (!fc)
		return NULL;
	fc->slot = l->free_slots[--l->n_free];
	fc->gen = l->slot_gen[fc->slot] & UD_GEN_MASK;
	fc->fd = fd;
	fc->t.kind = T_CONN;
	fc->owner = li;
	fc->next = li->conns;
	if (li->conns)
		li->conns->prev = fc;
	li->conns = fc;
	l->slots[fc->slot] = fc;
	return fc;
}

/* The ring holds nothing of it any more: free it all. */
static void fconn_release(struct farm_loop *l, struct fconn *fc)
{
	close(fc->fd);
	conn_free(&fc->proto);
	free(fc->out.p);
	l->slots[fc->slot] = NULL;
	l->slot_gen[fc->slot]++; /* CQEs of this connection no longer match the slot */
	l->free_slots[l->n_free++] = fc->slot;
	free(fc);
}

static void fconn_maybe_release(struct farm_loop *l, struct fconn *fc)
{
	if (fc->closing && !fc->recv_armed && !fc->send_inflight)
		fconn_release(l, fc);
}

/* Close: cancel what the ring has of it; it is freed once the ring gave all back. */
static void fconn_close(struct farm_loop *l, struct fconn *fc)
{
	if (fc->closing)
		return;
	fc->closing = true;
	heap_remove(&l->heap, &fc->t);
	if (fc->prev)
		fc->prev->next = fc->next;
	else
		fc->owner->conns = fc->next;
	if (fc->next)
		fc->next->prev = fc->prev;
	fc->prev = fc->next = NULL;
	if (fc->recv_armed || fc->send_inflight) {
		struct io_uring_sqe *sqe = sqe_for(l, ud_make(UD_CANCEL, 0, 0));
		if (sqe)
			io_uring_prep_cancel_fd(sqe, fc->fd, IORING_ASYNC_CANCEL_ALL);
	}
	fconn_maybe_release(l, fc);
}

/*
 * After anything happened to a connection: start the next send, shut our
 * side down once a hangup is flushed, close when done, keep a receive armed,
 * move its timer. Nothing may use fc after this returns.
 */
static void pump(struct farm_loop *l, struct fconn *fc, int64_t now)
{
	struct conn *c = &fc->proto;
	if (fc->closing) {
		fconn_maybe_release(l, fc);
		return;
	}
	if (!fc->send_inflight) {
		struct obuf *o = &fc->out;
		if (o->off == o->len) {
			o->off = o->len = 0;
			if (o->cap > OBUF_KEEP) {
				free(o->p);
				o->p = NULL;
				o->cap = 0;
			}
		}
		if (conn_output(c, o, now) < 0) {
			l->stats.internal++;
			fconn_close(l, fc);
			return;
		}
		if (o->len > o->off) {
			arm_send(l, fc);
		} else if (conn_flushed(c)) {
			shutdown(fc->fd, SHUT_WR); /* our FIN after the last byte */
			conn_shut(c, now);
		}
	}
	if (c->phase == CONN_DONE) {
		fconn_close(l, fc);
		return;
	}
	if (!fc->recv_armed && !fc->starved)
		arm_recv(l, fc);
	int64_t d = conn_next_deadline(c);
	if (d != INT64_MAX && d < now + MIN_STEP_NS)
		d = now + MIN_STEP_NS;
	if (heap_set(&l->heap, &fc->t, d) < 0)
		fconn_close(l, fc); /* cannot happen: a place per slot was reserved */
}

static struct fconn *fconn_of(struct farm_loop *l, uint64_t ud)
{
	uint32_t slot = ud_idx(ud);
	if (slot >= l->n_slots)
		return NULL;
	struct fconn *fc = l->slots[slot];
	return fc && fc->gen == ud_gen(ud) ? fc : NULL;
}

static void on_recv(struct farm_loop *l, const struct io_uring_cqe *cqe, int64_t now)
{
	struct fconn *fc = fconn_of(l, cqe->user_data);
	if (!fc) {
		ring_buf_recycle(&l->r, cqe);
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		fc->recv_armed = false;
	if (cqe->res > 0) {
		if (!fc->closing)
			conn_input(&fc->proto, ring_buf(&l->r, cqe), (size_t)cqe->res, now);
		ring_buf_recycle(&l->r, cqe);
	} else if (cqe->res == -ENOBUFS) {
		/* Every buffer is taken: armed again once the loop gave some back. */
		if (!fc->starved && !fc->closing) {
			fc->starved = true;
			l->starved[l->n_starved++] = fc->slot;
		}
	} else if (cqe->res != -ECANCELED) {
		conn_eof(&fc->proto); /* 0: the dialer closed; else it reset */
	}
	pump(l, fc, now);
}

static void on_send(struct farm_loop *l, const struct io_uring_cqe *cqe, int64_t now)
{
	struct fconn *fc = fconn_of(l, cqe->user_data);
	if (!fc)
		return;
	fc->send_inflight = false;
	if (cqe->res > 0)
		fc->out.off += (size_t)cqe->res;
	else
		conn_eof(&fc->proto); /* EPIPE, ECONNRESET: the dialer is gone */
	pump(l, fc, now);
}

static void rearm_starved(struct farm_loop *l)
{
	for (uint32_t i = 0; i < l->n_starved; i++) {
		struct fconn *fc = l->slots[l->starved[i]];
		if (!fc || !fc->starved)
			continue;
		fc->starved = false;
		if (!fc->closing && !fc->recv_armed)
			arm_recv(l, fc);
	}
	l->n_starved = 0;
}

/* ---- listeners ---------------------------------------------------------- */

/*
 * Out of descriptors, a pending connection would be offered forever: give
 * up the spare descriptor, take the connection and close it, keep the spare.
 */
static void shed_one(struct farm_loop *l, struct listener *li)
{
	if (l->spare_fd >= 0)
		close(l->spare_fd);
	int fd = accept4(li->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	l->stats.over_cap++;
}

static void on_accepted(struct farm_loop *l, struct listener *li, int fd, int64_t now)
{
	l->stats.accepted++;
	struct fconn *fc = fconn_new(l, li, fd);
	if (!fc) {
		close(fd);
		l->stats.over_cap++;
		return;
	}
	if (conn_start(&fc->proto, &li->node, &l->set, now) < 0) {
		l->stats.internal++;
		fconn_close(l, fc);
		return;
	}
	pump(l, fc, now);
}

/* accept(2)'s errors that say "try the next one", not "this listener is broken". */
static bool accept_transient(int e)
{
	switch (e) {
	case -ECONNABORTED:
	case -EINTR:
	case -EAGAIN:
	case -ENOMEM:
	case -ENOBUFS:
	case -EPROTO:
	case -EPERM:
	case -ENETDOWN:
	case -ENOPROTOOPT:
	case -EHOSTDOWN:
	case -ENONET:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		return true;
	default:
		return false;
	}
}

static void on_accept(struct farm_loop *l, const struct io_uring_cqe *cqe, int64_t now)
{
	uint32_t idx = ud_idx(cqe->user_data);
	struct listener *li = idx < l->n_ls ? &l->ls[idx] : NULL;
	bool current = li && li->fd >= 0 && (li->gen & UD_GEN_MASK) == ud_gen(cqe->user_data);
	if (current && !(cqe->flags & IORING_CQE_F_MORE))
		li->accept_armed = false;
	if (cqe->res >= 0) {
		if (current)
			on_accepted(l, li, cqe->res, now);
		else
			close(cqe->res); /* accepted as the listener went down */
		return;
	}
	if (!current)
		return; /* -ECANCELED: it went down */
	if (cqe->res == -EMFILE || cqe->res == -ENFILE)
		shed_one(l, li);
	else if (!accept_transient(cqe->res))
		l->fatal = cqe->res;
	if (!li->accept_armed && !l->fatal)
		arm_accept(l, li);
}

static void listener_down(struct farm_loop *l, struct listener *li)
{
	if (li->accept_armed) {
		struct io_uring_sqe *sqe = sqe_for(l, ud_make(UD_CANCEL, 0, 0));
		if (sqe)
			io_uring_prep_cancel64(sqe, ud_make(UD_ACCEPT, li->gen, li->idx), 0);
		li->accept_armed = false;
	}
	while (li->conns) /* ends: each close unlinks one */
		fconn_close(l, li->conns);
	if (li->fd >= 0)
		close(li->fd); /* the socket goes once the cancelled accept lets go of it */
	li->fd = -1;
	li->gen++;
}

static int listener_up(struct farm_loop *l, struct listener *li)
{
	int fd = listener_open(&li->node.peer->na.a);
	if (fd < 0)
		return fd;
	li->fd = fd;
	li->gen++;
	arm_accept(l, li);
	return 0;
}

static void flip(struct farm_loop *l, struct listener *li, int64_t now)
{
	const struct farm_opts *o = &l->f->opts;
	int64_t next;
	if (li->fd >= 0) {
		listener_down(l, li);
		next = now + (int64_t)o->flap_down_ms * NS_PER_MS;
	} else if (listener_up(l, li) == 0) {
		next = now + (int64_t)o->flap_up_ms * NS_PER_MS;
	} else {
		next = now + REOPEN_RETRY_NS;
	}
	heap_set(&l->heap, &li->t, next);
}

/* ---- the loop ----------------------------------------------------------- */

static void run_timers(struct farm_loop *l, int64_t now)
{
	struct timer *t;
	/* Ends: every owner's next deadline is at least MIN_STEP_NS after now. */
	while ((t = heap_min(&l->heap)) != NULL && t->when <= now) {
		heap_remove(&l->heap, t);
		if (t->kind == T_LISTENER) {
			flip(l, CONTAINER(t, struct listener, t), now);
		} else {
			struct fconn *fc = CONTAINER(t, struct fconn, t);
			conn_tick(&fc->proto, now);
			pump(l, fc, now);
		}
	}
}

/* One CQE; a stop signal's number, or 0. */
static int dispatch(struct farm_loop *l, const struct io_uring_cqe *cqe, int64_t now)
{
	switch (ud_kind(cqe->user_data)) {
	case UD_RECV:
		on_recv(l, cqe, now);
		break;
	case UD_SEND:
		on_send(l, cqe, now);
		break;
	case UD_ACCEPT:
		on_accept(l, cqe, now);
		break;
	case UD_TIMEOUT:
		l->armed_at = INT64_MAX; /* expired (or cancelled): armed again as needed */
		break;
	case UD_SIGNAL:
		if (cqe->res == (int)sizeof(l->si)) {
			ring_read_done(&l->si, sizeof(l->si));
			return (int)l->si.ssi_signo;
		}
		if (cqe->res < 0 && cqe->res != -EINTR && cqe->res != -EAGAIN)
			l->fatal = cqe->res;
		else
			arm_signal(l);
		break;
	default: /* a cancel's or a timeout update's own result: nothing to do */
		break;
	}
	return 0;
}

int loop_run(struct farm_loop *l, uint64_t duration_ms)
{
	int64_t stop_at = duration_ms ? now_ns() + (int64_t)duration_ms * NS_PER_MS : INT64_MAX;
	for (;;) { /* ends on a stop signal, at stop_at, or on a failure of the ring */
		int64_t now = now_ns();
		if (now >= stop_at)
			return 0;
		run_timers(l, now);
		rearm_starved(l);
		if (l->fatal)
			return l->fatal;
		struct timer *t = heap_min(&l->heap);
		int64_t next = t ? t->when : INT64_MAX;
		arm_timeout(l, next < stop_at ? next : stop_at, now);
		int rc = io_uring_submit_and_wait(&l->r.ring, 1);
		if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY && rc != -EAGAIN)
			return rc;
		now = now_ns();
		unsigned head, seen = 0;
		struct io_uring_cqe *cqe;
		int sig = 0;
		io_uring_for_each_cqe(&l->r.ring, head, cqe) {
			seen++;
			ring_cqe_seen(&l->r, cqe);
			if ((sig = dispatch(l, cqe, now)) != 0)
				break;
		}
		io_uring_cq_advance(&l->r.ring, seen);
		if (sig)
			return sig;
	}
}

/* ---- start and end ------------------------------------------------------ */

static int open_listeners(struct farm_loop *l, char *err, size_t errsz)
{
	const struct farm *f = l->f;
	struct rng r;
	rng_seed(&r, f->opts.seed ^ 0x666c617070696e67ULL); /* "flapping" */
	int64_t now = now_ns();
	for (uint32_t i = 0; i < f->n_peers; i++) {
		const struct farm_peer *p = &f->peers[i];
		if (!farm_cat_listens(p->cat))
			continue;
		struct listener *li = &l->ls[l->n_ls];
		*li = (struct listener){ .t = { .kind = T_LISTENER }, .fd = -1, .idx = l->n_ls };
		int e = node_init(&li->node, f, i, err, errsz);
		if (e < 0)
			return e;
		l->n_ls++;
		if ((e = listener_up(l, li)) < 0) {
			char ip[NETADDR_STRLEN];
			netaddr_format(&(struct netaddr){ .a = p->na.a }, ip);
			snprintf(err, errsz, "listen on %s: %s", ip, strerror(-e));
			return e;
		}
		/* Flapping peers start at a random point of their up time, not in step. */
		if (p->cat == CAT_FLAPPING)
			heap_set(&l->heap, &li->t,
				 now + NS_PER_MS * (1 + rng_below(&r, f->opts.flap_up_ms)));
	}
	return 0;
}

static int alloc_tables(struct farm_loop *l)
{
	uint32_t n = l->n_slots, n_ls = 0;
	for (uint32_t i = 0; i < l->f->n_peers; i++)
		n_ls += farm_cat_listens(l->f->peers[i].cat);
	l->ls = calloc(n_ls ? n_ls : 1, sizeof(*l->ls));
	l->slots = calloc(n, sizeof(*l->slots));
	l->slot_gen = calloc(n, sizeof(*l->slot_gen));
	l->free_slots = malloc(n * sizeof(*l->free_slots));
	l->starved = malloc(n * sizeof(*l->starved));
	l->scratch = malloc(PEX_MAX_MSG_SIZE);
	if (!l->ls || !l->slots || !l->slot_gen || !l->free_slots || !l->starved || !l->scratch ||
	    heap_init(&l->heap, n_ls + n) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		l->free_slots[i] = n - 1 - i;
	l->n_free = n;
	return 0;
}

int loop_start(const struct farm *f, const sigset_t *stop, struct farm_loop **out, char *err,
	       size_t errsz)
{
	struct farm_loop *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	l->f = f;
	l->sigfd = l->spare_fd = -1;
	l->armed_at = INT64_MAX;
	l->n_slots = f->opts.max_conns;
	int e = alloc_tables(l);
	if (e < 0) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	conn_settings_init(&l->set, &f->opts);
	l->set.stats = &l->stats;
	l->set.scratch = l->scratch;
	if ((e = ring_open(&l->r, RING_ENTRIES, RECV_BUFS, RECV_BUF_SIZE)) < 0) {
		snprintf(err, errsz, "io_uring with provided buffer rings (Linux 5.19): %s",
			 strerror(-e));
		goto fail;
	}
	/* Blocking: the ring's read waits for a signal, nothing else reads it. */
	l->sigfd = signalfd(-1, stop, SFD_CLOEXEC);
	l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (l->sigfd < 0 || l->spare_fd < 0) {
		e = -errno;
		snprintf(err, errsz, "event loop: %s", strerror(errno));
		goto fail;
	}
	arm_signal(l);
	if ((e = open_listeners(l, err, errsz)) < 0)
		goto fail;
	if ((e = io_uring_submit(&l->r.ring)) < 0) {
		snprintf(err, errsz, "io_uring_submit: %s", strerror(-e));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	loop_free(l);
	return e;
}

const struct farm_stats *loop_stats(const struct farm_loop *l)
{
	return &l->stats;
}

/* Cancel every request and wait (bounded) until the kernel gave each back. */
static void drain(struct farm_loop *l)
{
	struct io_uring_sqe *sqe = ring_sqe(&l->r, ud_make(UD_CANCEL, 0, 0));
	if (sqe)
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_submit(&l->r.ring);
	int64_t end = now_ns() + DRAIN_NS;
	while (l->r.inflight > 0 && now_ns() < end) { /* ends at the deadline */
		struct __kernel_timespec ts = { 0, 50 * NS_PER_MS };
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe_timeout(&l->r.ring, &cqe, &ts) < 0)
			continue;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&l->r.ring, head, cqe) {
			seen++;
			ring_cqe_seen(&l->r, cqe);
			if (ud_kind(cqe->user_data) == UD_ACCEPT && cqe->res >= 0)
				close(cqe->res);
		}
		io_uring_cq_advance(&l->r.ring, seen);
	}
}

void loop_free(struct farm_loop *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; i < l->n_ls; i++) {
		if (l->ls[i].fd >= 0)
			close(l->ls[i].fd);
		l->ls[i].fd = -1;
	}
	if (l->r.up)
		drain(l);
	for (uint32_t i = 0; l->slots && i < l->n_slots; i++) {
		struct fconn *fc = l->slots[i];
		if (!fc)
			continue;
		close(fc->fd);
		conn_free(&fc->proto);
		free(fc->out.p);
		free(fc);
	}
	ring_close(&l->r);
	for (uint32_t i = 0; i < l->n_ls; i++)
		node_free(&l->ls[i].node);
	heap_free(&l->heap);
	free(l->ls);
	free(l->slots);
	free(l->slot_gen);
	free(l->free_slots);
	free(l->starved);
	free(l->scratch);
	if (l->spare_fd >= 0)
		close(l->spare_fd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	free(l);
}
