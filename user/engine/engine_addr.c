/* SPDX-License-Identifier: Apache-2.0 */
/* engine_addr.c - a book address as the socket address connect() takes. */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>

#include "engine_internal.h"

int engine_sockaddr(const struct mukan_addr *a, union engine_sa *sa, socklen_t *len)
{
	if (a->port == 0)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	switch (a->family) {
	case MUKAN_AF_INET:
		sa->v4.sin_family = AF_INET;
		sa->v4.sin_port = htons(a->port);
		memcpy(&sa->v4.sin_addr, a->ip, 4);
		*len = sizeof(sa->v4);
		return 0;
	case MUKAN_AF_INET6:
		sa->v6.sin6_family = AF_INET6;
		sa->v6.sin6_port = htons(a->port);
		memcpy(&sa->v6.sin6_addr, a->ip, 16);
		*len = sizeof(sa->v6);
		return 0;
	default:
		return -EINVAL;
	}
}
