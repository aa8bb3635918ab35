/* SPDX-License-Identifier: Apache-2.0 */
/* handoff.c - fixed-size messages and SCM_RIGHTS over a SOCK_SEQPACKET socket. */
#include "handoff.h"

#include <errno.h>
#include <stdbool.h>
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

int handoff_recv(int sock, struct handoff_msg *m, int *fd)
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
	if (n == 0)
		return -ECONNRESET;
	memcpy(m, buf, sizeof(*m));
	bool ok = n == (ssize_t)sizeof(*m) && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) &&
		  m->magic == HANDOFF_MAGIC && m->version == HANDOFF_VERSION &&
		  m->type >= HANDOFF_HELLO && m->type <= HANDOFF_MARK_GOOD;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	bool one_fd = c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		      c->cmsg_len == CMSG_LEN(sizeof(int)) && !CMSG_NXTHDR(&msg, c);
	/* Only PEER carries a descriptor, and it must carry exactly one. */
	if (ok && (m->type == HANDOFF_PEER ? !one_fd : c != NULL))
		ok = false;
	if (!ok) {
		close_passed(&msg);
		return -EPROTO;
	}
	if (one_fd)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}
