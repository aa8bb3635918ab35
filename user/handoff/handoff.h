/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handoff.h - the socket handoff between mukan-dialerd and the node
 * (protocol: docs/handoff.md). The daemon dials and passes each connected
 * socket to the node with SCM_RIGHTS, with the peer's address and node ID;
 * the node tells the daemon which peers went away, which addresses to mark
 * bad and which peers proved good.
 *
 * Both sides use this file: the daemon (server) and the node (client).
 * Functions return 0 or -errno; nothing prints.
 */
#ifndef MUKAN_HANDOFF_H
#define MUKAN_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "mukan/abi.h"

#define HANDOFF_MAGIC 0x4f484b4du /* "MKHO" little-endian */
#define HANDOFF_VERSION 1

enum handoff_type {
	HANDOFF_HELLO = 1,     /* node -> daemon, first message: version */
	HANDOFF_PEER = 2,      /* daemon -> node: a connected socket (SCM_RIGHTS) */
	HANDOFF_PEER_GONE = 3, /* node -> daemon: that peer's connection ended */
	HANDOFF_MARK_BAD = 4,  /* node -> daemon: ban this address for `ban_ns` */
	HANDOFF_MARK_GOOD = 5, /* node -> daemon: the peer proved useful (old bucket) */
};

/* Peer flags in a HANDOFF_PEER message (the book's flags). */
enum handoff_peer_flag {
	HANDOFF_PERSISTENT = MUKAN_PEER_PERSISTENT,
	HANDOFF_UNCONDITIONAL = MUKAN_PEER_UNCONDITIONAL,
	HANDOFF_SEED = MUKAN_PEER_SEED,
};

/* One message: 64 bytes, host byte order (both ends share the host). */
struct handoff_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t type;	 /* enum handoff_type */
	uint64_t ban_ns; /* MARK_BAD: how long */
	uint8_t id[MUKAN_ID_LEN];
	struct mukan_addr addr;
	uint32_t flags;	 /* enum handoff_peer_flag */
	uint32_t reason; /* PEER_GONE / MARK_BAD: free-form code for logs */
};

/* Daemon side: listen on a SOCK_SEQPACKET Unix socket at path (mode 0660). */
int handoff_listen(const char *path);
/* Node side: connect and say hello. */
int handoff_connect(const char *path);

/* Send a message; with fd >= 0 the descriptor travels with it. */
int handoff_send(int sock, const struct handoff_msg *m, int fd);
/*
 * Receive one message (blocking unless sock is non-blocking). *fd gets a
 * passed descriptor or -1. A malformed message (size, magic, version, type,
 * a descriptor where none belongs) is -EPROTO, and any descriptor that came
 * with it is closed. 0 on success, -ECONNRESET when the other side left.
 */
int handoff_recv(int sock, struct handoff_msg *m, int *fd);

/* Build a message of a type. */
void handoff_msg_init(struct handoff_msg *m, enum handoff_type type);

#endif
