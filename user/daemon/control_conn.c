/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control_conn.c - the control socket's connections. A client sends one
 * request line (at most CONTROL_LINE_MAX bytes before the newline) and gets
 * one JSON answer (control.c), then the daemon closes.
 *
 * Nothing here waits, so no client can stall the loop: every listener event
 * drains accept4 until EAGAIN (a burst of connect-and-close never leaves the
 * backlog full), a request may arrive in as many pieces as it likes, an answer
 * leaves at the pace the client reads it (the unsent rest is kept and POLLOUT
 * armed), and a client that has not finished CONTROL_DEADLINE_NS after it
 * connected is dropped. At most CONTROL_MAX_CLIENTS are held at once: a new
 * one pushes out the oldest that still has not sent its request, and when
 * every held client is being answered the new one is closed at once. Each of
 * these is counted (status "control").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"

#define ACCEPT_BURST 1024 /* accepts per listener event; the rest on the next turn */
#define STR_(x) #x
#define STR(x) STR_(x)
#define TOO_LONG "the request is longer than " STR(CONTROL_LINE_MAX) " bytes (one line)"

/* user_data low word of a client's poll: its index, and a generation so a
 * completion for a client since closed (and the entry reused) is ignored. */
#define CLIENT_LOW(i, gen) ((uint32_t)(i) | (uint32_t)(gen) << 16)

int control_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	unlink(path); /* left by a daemon that was killed */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	    listen(s, CONTROL_BACKLOG) < 0) {
		int e = -errno;
		close(s);
		return e;
	}
	return s;
}

static void arm_listener(struct daemon *d)
{
	struct control *ctl = &d->ctl;
	if (ctl->listen_fd < 0 || ctl->listening || ctl->paused)
		return;
	daemon_arm_poll(d, ctl->listen_fd, TAG_CONTROL_LISTEN, 0, POLLIN, false);
	ctl->listening = true;
}

int control_open(struct daemon *d, const char *path)
{
	struct control *ctl = &d->ctl;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ctl->client[i].fd = -1;
	ctl->listen_fd = control_listen(path);
	if (ctl->listen_fd < 0)
		return ctl->listen_fd;
	arm_listener(d);
	return 0;
}

static void arm_client(struct daemon *d, struct control_client *c, unsigned events)
{
	uint32_t i = (uint32_t)(c - d->ctl.client);
	daemon_arm_poll(d, c->fd, TAG_CONTROL_CLIENT, CLIENT_LOW(i, c->gen), events, false);
	c->polling = true;
}

static void client_close(struct daemon *d, struct control_client *c)
{
	if (c->polling) {
		/* The pending poll holds the socket open: remove it, or the client
		 * would never see the end of the connection. */
		uint32_t i = (uint32_t)(c - d->ctl.client);
		daemon_cancel_poll(d, DAEMON_UD(TAG_CONTROL_CLIENT, CLIENT_LOW(i, c->gen)));
	}
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->polling = c->answering = false;
	c->gen++;
	d->ctl.n_clients--;
}

static void client_write(struct daemon *d, struct control_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			c->out_off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			arm_client(d, c, POLLOUT); /* the rest when the client has read some */
			return;
		}
		d->ctl.dropped++; /* the client went away */
		client_close(d, c);
		return;
	}
	d->ctl.served++;
	client_close(d, c);
}

/* Send a JSON answer (taken), as fast as the client reads it. */
static void client_send(struct daemon *d, struct control_client *c, json_t *answer)
{
	char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
	json_decref(answer);
	if (!text) {
		d->ctl.dropped++;
		client_close(d, c);
		return;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* the NUL becomes the line end */
	c->out = text;
	c->out_len = len + 1;
	c->out_off = 0;
	c->answering = true;
	client_write(d, c);
}

static void refuse_request(struct daemon *d, struct control_client *c, const char *why)
{
	d->ctl.bad_requests++;
	client_send(d, c, json_pack("{s:s}", "error", why));
}

/* The request is complete when its newline (or the end of the client's
 * writing) is here. */
static void client_read(struct daemon *d, struct control_client *c)
{
	for (;;) {
		size_t room = sizeof(c->in) - 1 - c->in_len; /* one byte kept for the NUL */
		if (room == 0) {
			refuse_request(d, c, TOO_LONG);
			return;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			arm_client(d, c, POLLIN);
			return;
		}
		if (n < 0 || (n == 0 && c->in_len == 0)) {
			client_close(d, c); /* gone before it asked anything */
			return;
		}
		size_t start = c->in_len;
		c->in_len += (size_t)n;
		char *nl = memchr(c->in + start, '\n', c->in_len - start);
		if (!nl && n > 0)
			continue;
		/* A newline, or the client shut its side down after the request. */
		size_t len = nl ? (size_t)(nl - c->in) : c->in_len;
		if (len > 0 && c->in[len - 1] == '\r')
			len--;
		c->in[len] = '\0';
		if (len > CONTROL_LINE_MAX)
			refuse_request(d, c, TOO_LONG);
		else if (memchr(c->in, '\0', len))
			refuse_request(d, c, "the request holds a NUL byte");
		else
			client_send(d, c, control_dispatch(d, c->in));
		return;
	}
}

/* A slot for a new client: a free one, else that of the oldest client still
 * silent (it has had longer than the newcomer), else none. */
static struct control_client *client_slot(struct daemon *d)
{
	struct control *ctl = &d->ctl;
	struct control_client *oldest = NULL;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *c = &ctl->client[i];
		if (c->fd < 0)
			return c;
		if (!c->answering && (!oldest || c->opened < oldest->opened))
			oldest = c;
	}
	if (oldest) {
		ctl->evicted++;
		client_close(d, oldest);
	}
	return oldest;
}

static void client_take(struct daemon *d, int fd, int64_t now)
{
	struct control_client *c = client_slot(d);
	if (!c) {
		d->ctl.refused++;
		close(fd);
		return;
	}
	c->fd = fd;
	c->opened = now;
	c->deadline = now + CONTROL_DEADLINE_NS;
	c->in_len = 0;
	c->out_len = c->out_off = 0;
	d->ctl.n_clients++;
	d->ctl.accepted++;
	client_read(d, c); /* the request is usually there already */
}

void control_on_listen(struct daemon *d, int64_t now)
{
	struct control *ctl = &d->ctl;
	ctl->listening = false;
	for (unsigned k = 0; k < ACCEPT_BURST; k++) {
		int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			client_take(d, fd, now);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Polling again now would fire at once, forever: wait for housekeeping. */
			if (!ctl->paused)
				fprintf(stderr, "mukan-dialerd: control socket: accept: %s; not accepting "
					"for a second\n", strerror(errno));
			ctl->paused = true;
			return;
		}
		break; /* EAGAIN: drained */
	}
	arm_listener(d);
}

void control_on_client(struct daemon *d, uint32_t low, int res)
{
	uint32_t i = low & 0xffff;
	if (i >= CONTROL_MAX_CLIENTS)
		return;
	struct control_client *c = &d->ctl.client[i];
	if (c->fd < 0 || c->gen != (uint16_t)(low >> 16))
		return; /* a poll of a client closed since (removed, or raced its removal) */
	c->polling = false;
	if (res < 0) {
		d->ctl.dropped++;
		client_close(d, c);
	} else if (c->answering) {
		client_write(d, c);
	} else {
		client_read(d, c);
	}
}

void control_expire(struct daemon *d, int64_t now)
{
	struct control *ctl = &d->ctl;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS && ctl->n_clients > 0; i++) {
		struct control_client *c = &ctl->client[i];
		if (c->fd >= 0 && c->deadline <= now) {
			ctl->timed_out++;
			client_close(d, c);
		}
	}
}

int64_t control_next_deadline(const struct daemon *d)
{
	int64_t t = INT64_MAX;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS && d->ctl.n_clients > 0; i++) {
		const struct control_client *c = &d->ctl.client[i];
		if (c->fd >= 0 && c->deadline < t)
			t = c->deadline;
	}
	return t;
}

void control_resume(struct daemon *d)
{
	if (!d->ctl.paused)
		return;
	d->ctl.paused = false;
	arm_listener(d);
}

void control_close(struct daemon *d, const char *path)
{
	struct control *ctl = &d->ctl;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->client[i].fd >= 0)
			client_close(d, &ctl->client[i]);
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
		unlink(path);
		ctl->listen_fd = -1;
	}
}
