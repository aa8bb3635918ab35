/* SPDX-License-Identifier: Apache-2.0 */
/*
 * resolve.h - configured seeds and persistent peers may name a host;
 * upstream resolves it once, at start, and keeps the first address.
 */
#ifndef MUKAN_RESOLVE_H
#define MUKAN_RESOLVE_H

#include <stddef.h>

#include "netaddr.h"

/*
 * Parse "id@host:port" and resolve a host name with getaddrinfo (this
 * blocks: call it at start-up, not from the event loop). 0 or -errno with a
 * one-line reason in err.
 */
int netaddr_resolve(const char *s, struct netaddr *out, char *err, size_t errsz);

#endif /* MUKAN_RESOLVE_H */
