/* SPDX-License-Identifier: Apache-2.0 */
/* listener.h - one peer's listening TCP socket. */
#ifndef MUKAN_PEERFARM_LISTENER_H
#define MUKAN_PEERFARM_LISTENER_H

#include "mukan/abi.h"

#define LISTEN_BACKLOG 128

/* A non-blocking socket listening on a's IP and port: the fd, or -errno. */
int listener_open(const struct mukan_addr *a);

#endif /* MUKAN_PEERFARM_LISTENER_H */
