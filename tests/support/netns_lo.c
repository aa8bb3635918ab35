/* SPDX-License-Identifier: Apache-2.0 */
/* netns_lo.c - a private network namespace with loopback up, for tests and benchmarks. */
#include "netns_lo.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int netns_lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (r == 0)
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	r = r < 0 ? -errno : 0;
	close(s);
	return r;
}

int netns_private(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	return netns_lo_up();
}
