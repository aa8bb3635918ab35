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
 *
 * SOCK_SEQPACKET reads an empty message and the end of the connection both
 * as 0 bytes: they are told apart by whether the other side has shut down
 * (POLLRDHUP), so an empty message is -EPROTO and the connection stays.
 */
int handoff_recv(int sock, struct handoff_msg *m, int *fd);

/* Which end a message arrives at: what it may say depends on its direction. */
enum handoff_end {
	HANDOFF_AT_DAEMON = 1, /* HELLO, PEER_GONE, MARK_BAD, MARK_GOOD */
	HANDOFF_AT_NODE = 2,   /* PEER */
};

/*
 * Check every field of a message arriving at `at`: its type goes that way,
 * the fields its type uses are in range (a node ID, an address of a known
 * family, known flags), and the fields it does not use are zero. MARK_BAD's
 * ban_ns is not refused: the daemon clamps it (docs/handoff.md).
 * 0, or -EPROTO with the reason in why.
 */
int handoff_check(const struct handoff_msg *m, enum handoff_end at, char *why, size_t whysz);

/*
 * handoff_recv, then handoff_check for `at`: 0, -EAGAIN, -ECONNRESET, other
 * -errno of the socket, or -EPROTO with the reason in why (every descriptor
 * the refused message carried is closed).
 */
int handoff_recv_at(int sock, enum handoff_end at, struct handoff_msg *m, int *fd, char *why,
		    size_t whysz);

/* Build a message of a type. */
void handoff_msg_init(struct handoff_msg *m, enum handoff_type type);

#endif
