/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_route.c - tell a failure of our own routing table from an ICMP
 * unreachable. Both end a CONNECT with EHOSTUNREACH/ENETUNREACH, but only
 * the second says anything about the peer: with no route (or an unreachable,
 * prohibit or blackhole route) no SYN ever left the host, the kernel's
 * sock_ops program saw nothing, and a host whose default route is gone must
 * not put its whole book into backoff. A UDP connect does the same route
 * lookup as TCP's and sends nothing, so it answers the question on the rare
 * failure path, for three system calls.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine_internal.h"

int engine_route_check(const struct mukan_addr *a)
{
	union engine_sa sa;
	socklen_t len;
	int r = engine_sockaddr(a, &sa, &len);
	if (r < 0)
		return r;
	int fd = socket(sa.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0; /* cannot ask (EMFILE...): assume the route is there */
	r = connect(fd, &sa.sa, len) < 0 ? -errno : 0;
	close(fd);
	return r;
}
