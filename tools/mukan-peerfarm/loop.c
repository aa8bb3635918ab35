/* SPDX-License-Identifier: Apache-2.0 */
/* loop.c - epoll over listeners, connections and a signalfd; flapping on deadlines. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "book/rng.h"
#include "listener.h"

#define EVENTS_PER_WAIT 64
#define ACCEPTS_PER_WAKE 64 /* then let the other fds have a turn */
#define READS_PER_WAKE 4
#define WAIT_CAP_MS 1000
#define REOPEN_RETRY_MS 100

/* What an epoll event points at; the struct containing it is found by offset. */
enum ev_kind { EV_SIGNAL, EV_LISTENER, EV_CONN };
struct ev_ref {
	enum ev_kind kind;
};

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct conn {
	struct ev_ref ev;
	int fd;
	struct listener *owner;
	struct conn *prev, *next;
};

struct listener {
	struct ev_ref ev;
	const struct farm_peer *peer;
	int fd;		      /* -1 while a flapping peer is down */
	int64_t next_flip_ms; /* flapping only */
	struct conn *conns;   /* closed with the listener when it goes down */
};

struct farm_loop {
	const struct farm *f;
	int epfd, sigfd, spare_fd;
	struct ev_ref sig_ev;
	struct listener *ls;
	uint32_t n_ls;
	uint32_t n_conns;
	uint64_t accepted, over_cap;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int watch(struct farm_loop *l, int fd, struct ev_ref *ev)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = ev };
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

static void conn_close(struct farm_loop *l, struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	if (c->prev)
		c->prev->next = c->next;
	else
		c->owner->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->n_conns--;
	free(c);
}

static void listener_down(struct farm_loop *l, struct listener *li)
{
	while (li->conns) /* ends: each pass frees one */
		conn_close(l, li->conns);
	if (li->fd >= 0)
		close(li->fd);
	li->fd = -1;
}

static int listener_up(struct farm_loop *l, struct listener *li)
{
	int fd = listener_open(&li->peer->na.a);
	if (fd < 0)
		return fd;
	li->fd = fd;
	int e = watch(l, fd, &li->ev);
	if (e < 0)
		listener_down(l, li);
	return e;
}

/*
 * Out of descriptors, a pending connection would wake us forever: give up
 * the spare descriptor, take the connection and close it, keep the spare.
 */
static void shed_one(struct farm_loop *l, int lfd)
{
	if (l->spare_fd >= 0)
		close(l->spare_fd);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	l->over_cap++;
}

static void on_accept(struct farm_loop *l, struct listener *li)
{
	for (int i = 0; i < ACCEPTS_PER_WAKE && li->fd >= 0; i++) {
		int fd = accept4(li->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				shed_one(l, li->fd);
			return; /* EAGAIN, or the dialer already gave up (ECONNABORTED) */
		}
		l->accepted++;
		struct conn *c = l->n_conns < l->f->opts.max_conns ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd);
			l->over_cap++;
			continue;
		}
		*c = (struct conn){ .ev = { EV_CONN }, .fd = fd, .owner = li, .next = li->conns };
		if (watch(l, fd, &c->ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		if (li->conns)
			li->conns->prev = c;
		li->conns = c;
		l->n_conns++;
	}
}

/* Whatever the dialer sends is read and dropped; EOF or an error closes. */
static void on_readable(struct farm_loop *l, struct conn *c)
{
	char buf[4096];
	for (int i = 0; i < READS_PER_WAKE; i++) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_close(l, c);
		return;
	}
}

static int64_t flip_due(struct farm_loop *l, int64_t now)
{
	int64_t next = INT64_MAX;
	const struct farm_opts *o = &l->f->opts;
	for (uint32_t i = 0; i < l->n_ls; i++) {
		struct listener *li = &l->ls[i];
		if (li->peer->cat != CAT_FLAPPING)
			continue;
		if (li->next_flip_ms <= now) {
			if (li->fd >= 0) {
				listener_down(l, li);
				li->next_flip_ms = now + o->flap_down_ms;
			} else if (listener_up(l, li) == 0) {
				li->next_flip_ms = now + o->flap_up_ms;
			} else {
				li->next_flip_ms = now + REOPEN_RETRY_MS;
			}
		}
		if (li->next_flip_ms < next)
			next = li->next_flip_ms;
	}
	return next;
}

static int on_signal(struct farm_loop *l)
{
	struct signalfd_siginfo si;
	ssize_t n = read(l->sigfd, &si, sizeof(si));
	return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

int loop_run(struct farm_loop *l, uint64_t duration_ms)
{
	int64_t stop_at = duration_ms ? now_ms() + (int64_t)duration_ms : INT64_MAX;
	for (;;) { /* ends on a stop signal or at stop_at */
		int64_t now = now_ms();
		if (now >= stop_at)
			return 0;
		int64_t next = flip_due(l, now);
		if (stop_at < next)
			next = stop_at;
		int64_t wait = next - now;
		if (wait > WAIT_CAP_MS)
			wait = WAIT_CAP_MS;
		struct epoll_event ev[EVENTS_PER_WAIT];
		int n = epoll_wait(l->epfd, ev, EVENTS_PER_WAIT, (int)(wait < 0 ? 0 : wait));
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct ev_ref *r = ev[i].data.ptr;
			if (r->kind == EV_SIGNAL) {
				int sig = on_signal(l);
				if (sig > 0)
					return sig;
			} else if (r->kind == EV_LISTENER) {
				on_accept(l, CONTAINER(r, struct listener, ev));
			} else {
				on_readable(l, CONTAINER(r, struct conn, ev));
			}
		}
	}
}

static int open_listeners(struct farm_loop *l, char *err, size_t errsz)
{
	const struct farm *f = l->f;
	struct rng r;
	rng_seed(&r, f->opts.seed ^ 0x666c617070696e67ULL); /* "flapping" */
	int64_t now = now_ms();
	for (uint32_t i = 0; i < f->n_peers; i++) {
		const struct farm_peer *p = &f->peers[i];
		if (!farm_cat_listens(p->cat))
			continue;
		struct listener *li = &l->ls[l->n_ls++];
		*li = (struct listener){ .ev = { EV_LISTENER }, .peer = p, .fd = -1 };
		/* Flapping peers start at a random point of their up time, not in step. */
		if (p->cat == CAT_FLAPPING)
			li->next_flip_ms = now + 1 + rng_below(&r, f->opts.flap_up_ms);
		int e = listener_up(l, li);
		if (e < 0) {
			char ip[NETADDR_STRLEN];
			netaddr_format(&(struct netaddr){ .a = p->na.a }, ip);
			snprintf(err, errsz, "listen on %s: %s", ip, strerror(-e));
			return e;
		}
	}
	return 0;
}

int loop_start(const struct farm *f, const sigset_t *stop, struct farm_loop **out, char *err,
	       size_t errsz)
{
	struct farm_loop *l = calloc(1, sizeof(*l));
	if (!l || !(l->ls = calloc(f->n_peers, sizeof(*l->ls)))) {
		free(l);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	l->f = f;
	l->sig_ev.kind = EV_SIGNAL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->sigfd = signalfd(-1, stop, SFD_NONBLOCK | SFD_CLOEXEC);
	l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int e = 0;
	if (l->epfd < 0 || l->sigfd < 0 || l->spare_fd < 0 || watch(l, l->sigfd, &l->sig_ev) < 0) {
		e = -errno;
		snprintf(err, errsz, "event loop: %s", strerror(errno));
	} else {
		e = open_listeners(l, err, errsz);
	}
	if (e < 0) {
		loop_free(l);
		return e;
	}
	*out = l;
	return 0;
}

void loop_counts(const struct farm_loop *l, uint64_t *accepted, uint64_t *over_cap)
{
	*accepted = l->accepted;
	*over_cap = l->over_cap;
}

void loop_free(struct farm_loop *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; i < l->n_ls; i++)
		listener_down(l, &l->ls[i]);
	free(l->ls);
	if (l->spare_fd >= 0)
		close(l->spare_fd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}
