/* SPDX-License-Identifier: Apache-2.0 */
/* handoff.c - fixed-size messages and SCM_RIGHTS over a SOCK_SEQPACKET socket. */
#include "handoff.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

_Static_assert(sizeof(struct handoff_msg) == 64, "handoff_msg layout: no holes");

void handoff_msg_init(struct handoff_msg *m, enum handoff_type type)
{
	memset(m, 0, sizeof(*m));
	m->magic = HANDOFF_MAGIC;
	m->version = HANDOFF_VERSION;
	m->type = (uint16_t)type;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int handoff_listen(const char *path)
{
	struct sockaddr_un sa;
	int e = unix_addr(path, &sa);
	if (e < 0)
		return e;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	unlink(path); /* a stale socket from a killed daemon */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	    listen(s, 4) < 0) {
		e = -errno;
		close(s);
		return e;
	}
	return s;
}

int handoff_connect(const char *path)
{
	struct sockaddr_un sa;
	int e = unix_addr(path, &sa);
	if (e < 0)
		return e;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct handoff_msg hello;
	handoff_msg_init(&hello, HANDOFF_HELLO);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = -errno;
		close(s);
		return e;
	}
	if ((e = handoff_send(s, &hello, -1)) < 0) {
		close(s);
		return e;
	}
	return s;
}

int handoff_send(int sock, const struct handoff_msg *m, int fd)
{
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

/* Close every descriptor a message carried (all of them, however many). */
static void close_passed(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t whysz,
							 const char *fmt, ...)
{
	if (why && whysz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

/* 0 bytes: an empty message while the other side is there, else its end. */
static int empty_or_gone(int sock, char *why, size_t whysz)
{
	struct pollfd p = { .fd = sock, .events = POLLRDHUP };
	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLRDHUP | POLLHUP)))
		return -ECONNRESET;
	return refuse(why, whysz, "an empty message");
}

static int recv_one(int sock, struct handoff_msg *m, int *fd, char *why, size_t whysz)
{
	struct handoff_msg buf[2]; /* room to notice an oversized message */
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	*fd = -1;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	int e = 0;
	memset(m, 0, sizeof(*m));
	memcpy(m, buf, (size_t)n < sizeof(*m) ? (size_t)n : sizeof(*m));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	bool one_fd = c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		      c->cmsg_len == CMSG_LEN(sizeof(int)) && !CMSG_NXTHDR(&msg, c);
	if (n == 0)
		e = c ? refuse(why, whysz, "an empty message with a descriptor")
		      : empty_or_gone(sock, why, whysz);
	else if (msg.msg_flags & MSG_TRUNC)
		e = refuse(why, whysz, "a message of more than %zu bytes (want 64)", sizeof(buf));
	else if (n != (ssize_t)sizeof(*m))
		e = refuse(why, whysz, "a message of %zd bytes (want 64)", n);
	else if (msg.msg_flags & MSG_CTRUNC)
		e = refuse(why, whysz, "more descriptors than any message carries");
	else if (m->magic != HANDOFF_MAGIC)
		e = refuse(why, whysz, "bad magic %#x", m->magic);
	else if (m->version != HANDOFF_VERSION)
		e = refuse(why, whysz, "version %u (want 1)", m->version);
	else if (m->type < HANDOFF_HELLO || m->type > HANDOFF_MARK_GOOD)
		e = refuse(why, whysz, "unknown type %u", m->type);
	/* Only PEER carries a descriptor, and it must carry exactly one. */
	else if (m->type == HANDOFF_PEER && !one_fd)
		e = refuse(why, whysz, "PEER without exactly one descriptor");
	else if (m->type != HANDOFF_PEER && c)
		e = refuse(why, whysz, "a descriptor with message type %u", m->type);
	if (e < 0) {
		close_passed(&msg);
		return e;
	}
	if (one_fd)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

int handoff_recv(int sock, struct handoff_msg *m, int *fd)
{
	return recv_one(sock, m, fd, NULL, 0);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* An address field: all zero (not given) when optional, else a real one. */
static int check_addr(const struct mukan_addr *a, bool optional, char *why, size_t whysz)
{
	if (optional && all_zero(a, sizeof(*a)))
		return 0;
	if (a->family != MUKAN_AF_INET && a->family != MUKAN_AF_INET6)
		return refuse(why, whysz, "address family %u (want 2 or 10)", a->family);
	if (a->pad != 0)
		return refuse(why, whysz, "address padding byte %u (want 0)", a->pad);
	if (a->port == 0)
		return refuse(why, whysz, "address port 0");
	if (a->family == MUKAN_AF_INET && !all_zero(a->ip + 4, sizeof(a->ip) - 4))
		return refuse(why, whysz, "IPv4 address with bytes past the 4th");
	return 0;
}

int handoff_check(const struct handoff_msg *m, enum handoff_end at, char *why, size_t whysz)
{
	const unsigned known_flags = HANDOFF_PERSISTENT | HANDOFF_UNCONDITIONAL | HANDOFF_SEED;
	bool to_node = m->type == HANDOFF_PEER;
	if (m->magic != HANDOFF_MAGIC || m->version != HANDOFF_VERSION)
		return refuse(why, whysz, "bad magic or version (%u)", m->version);
	if (m->type < HANDOFF_HELLO || m->type > HANDOFF_MARK_GOOD)
		return refuse(why, whysz, "unknown type %u", m->type);
	if (to_node != (at == HANDOFF_AT_NODE))
		return refuse(why, whysz, to_node ? "PEER (type %u) goes from the daemon to the node"
						  : "type %u goes from the node to the daemon",
			      m->type);
	if (m->type == HANDOFF_HELLO) {
		if (!all_zero(&m->ban_ns, sizeof(*m) - offsetof(struct handoff_msg, ban_ns)))
			return refuse(why, whysz, "HELLO with fields set past the type");
		return 0;
	}
	if (all_zero(m->id, sizeof(m->id)))
		return refuse(why, whysz, "message type %u without a node ID", m->type);
	int e = check_addr(&m->addr, !to_node, why, whysz);
	if (e < 0)
		return e;
	if (to_node ? (m->flags & ~known_flags) != 0 : m->flags != 0)
		return refuse(why, whysz, "unknown flags %#x", m->flags);
	if (m->type != HANDOFF_MARK_BAD && m->ban_ns != 0)
		return refuse(why, whysz, "ban_ns set on message type %u", m->type);
	if (m->type != HANDOFF_PEER_GONE && m->type != HANDOFF_MARK_BAD && m->reason != 0)
		return refuse(why, whysz, "reason set on message type %u", m->type);
	return 0;
}

int handoff_recv_at(int sock, enum handoff_end at, struct handoff_msg *m, int *fd, char *why,
		    size_t whysz)
{
	int e = recv_one(sock, m, fd, why, whysz);
	if (e < 0)
		return e;
	if ((e = handoff_check(m, at, why, whysz)) < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return e;
}
