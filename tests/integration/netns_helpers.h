/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netns_helpers.h - a private network namespace for a test process, and the
 * kinds of address a dialer meets, built inside it:
 *
 *   netns_enter()           unshare(CLONE_NEWNET) + lo up (127.0.0.0/8, ::1)
 *   netns_blackhole(pfx)    packets to pfx (e.g. "10.77.0.0/24") vanish: routed
 *                           via a gateway on a veth pair whose MAC nobody owns
 *   netns_icmp_reject(pfx)  SYNs to pfx answered with ICMP host-unreachable
 *                           (nftables, output hook; needs a route: blackhole it)
 *   netns_unreachable(pfx)  an `unreachable` route: connect fails locally
 *
 * Everything vanishes with the namespace when the test process exits.
 * Criterion forks a process per test, so each test calls netns_enter once.
 * Nothing here asserts: functions return 0 or -errno (or a count), so they
 * work in forked children too.
 */
#ifndef MUKAN_TEST_NETNS_HELPERS_H
#define MUKAN_TEST_NETNS_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "mukan/abi.h"

int netns_enter(void);
/* Run a shell command in the current namespace; its exit status, or -errno. */
int netns_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int netns_blackhole(const char *prefix);
int netns_icmp_reject(const char *prefix);
int netns_unreachable(const char *prefix);

/* A listening TCP socket on ip (port 0: any); *port gets the port. fd or -errno. */
int netns_listen(const char *ip, uint16_t port, int backlog, uint16_t *port_out);

/* "1.2.3.4" or "::1" plus a port as a book address (zeroed on a bad IP). */
struct mukan_addr netns_addr(const char *ip, uint16_t port);

/* Entries in /proc/self/fd, the one used to read it excluded. */
int netns_fd_count(void);

/*
 * TCP sockets of this namespace (/proc/net/tcp and tcp6) in `state` (the
 * kernel's numbers: 1 ESTABLISHED, 2 SYN_SENT, ... ; 0 = any) whose remote
 * port is rport (0 = any).
 */
int netns_tcp_count(int state, uint16_t rport);

/* Segments a TCP socket has sent (tcpi_segs_out), or -errno. */
long netns_tcp_segs_out(int fd);

#define NETNS_TCP_ESTABLISHED 1
#define NETNS_TCP_SYN_SENT 2

#endif /* MUKAN_TEST_NETNS_HELPERS_H */
