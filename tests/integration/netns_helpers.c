/* SPDX-License-Identifier: Apache-2.0 */
/* netns_helpers.c - see netns_helpers.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/tcp.h> /* the kernel's struct tcp_info: glibc's lacks tcpi_segs_out */
#include <netinet/in.h>

#include "netns_helpers.h"
#include "support/netns_lo.h"

int netns_enter(void)
{
	return netns_private();
}

int netns_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -E2BIG;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * One veth pair per namespace; its far end has no address, and the gateway
 * 10.76.0.2 has a permanent neighbour entry with a MAC nobody owns, so every
 * frame sent to it is dropped by the far end (not for its MAC). No ARP, no
 * ICMP: a SYN simply never gets an answer.
 */
int netns_blackhole(const char *prefix)
{
	int r = netns_sh("ip link show mkbh0 >/dev/null 2>&1 || { "
			 "ip link add mkbh0 type veth peer name mkbh1 && ip link set mkbh0 up && "
			 "ip link set mkbh1 up && ip addr add 10.76.0.1/24 dev mkbh0 && "
			 "ip neigh add 10.76.0.2 lladdr 02:00:00:00:76:02 dev mkbh0 nud permanent; }");
	if (r != 0)
		return r < 0 ? r : -EIO;
	r = netns_sh("ip route add %s via 10.76.0.2", prefix);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

int netns_icmp_reject(const char *prefix)
{
	int r = netns_sh("nft list table inet mukantest >/dev/null 2>&1 || { "
			 "nft add table inet mukantest && "
			 "nft add chain inet mukantest out '{ type filter hook output priority 0; }'; }");
	if (r == 0)
		r = netns_sh("nft add rule inet mukantest out ip daddr %s "
			     "reject with icmp type host-unreachable", prefix);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

int netns_unreachable(const char *prefix)
{
	int r = netns_sh("ip route add unreachable %s", prefix);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

struct mukan_addr netns_addr(const char *ip, uint16_t port)
{
	struct mukan_addr a;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, ip, a.ip) == 1) {
		a.family = MUKAN_AF_INET;
	} else if (inet_pton(AF_INET6, ip, a.ip) == 1) {
		a.family = MUKAN_AF_INET6;
	} else {
		memset(&a, 0, sizeof(a));
		return a;
	}
	a.port = port;
	return a;
}

int netns_listen(const char *ip, uint16_t port, int backlog, uint16_t *port_out)
{
	struct mukan_addr a = netns_addr(ip, port);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len;
	if (a.family == MUKAN_AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		memcpy(&v4->sin_addr, a.ip, 4);
		len = sizeof(*v4);
	} else if (a.family == MUKAN_AF_INET6) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		memcpy(&v6->sin6_addr, a.ip, 16);
		len = sizeof(*v6);
	} else {
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (port_out)
		*port_out = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

int netns_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static int count_file(const char *path, int state, uint16_t rport)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0; /* no IPv6 in this kernel: none */
	char line[512];
	int n = 0;
	if (!fgets(line, sizeof(line), f)) { /* the header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		/* "  0: 0100007F:1F90 0100007F:D2C4 01 ..." (ports and state in hex) */
		char local[64], remote[64];
		unsigned st;
		if (sscanf(line, "%*s %63s %63s %x", local, remote, &st) != 3)
			continue;
		const char *colon = strrchr(remote, ':');
		unsigned rp = colon ? (unsigned)strtoul(colon + 1, NULL, 16) : 0;
		if ((state == 0 || (int)st == state) && (rport == 0 || rp == rport))
			n++;
	}
	fclose(f);
	return n;
}

int netns_tcp_count(int state, uint16_t rport)
{
	return count_file("/proc/net/tcp", state, rport) + count_file("/proc/net/tcp6", state, rport);
}

long netns_tcp_segs_out(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	return (long)ti.tcpi_segs_out;
}
