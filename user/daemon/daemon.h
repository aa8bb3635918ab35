/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.h - mukan-dialerd: one thread around one io_uring. Dials (the
 * engine's chains), the periodic timer, the signalfd, the control socket,
 * the handoff socket and the connections it keeps all complete on the same
 * ring; the manager decides, the book remembers, the kernel records.
 */
#ifndef MUKAN_DAEMON_H
#define MUKAN_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <poll.h>

#include <jansson.h>
#include <liburing.h>

#include "book/book_file.h"
#include "config.h"
#include "engine/engine.h"
#include "manager/manager.h"

/* user_data tags of the daemon's own SQEs (the engine's top byte is 0xD1). */
enum daemon_tag {
	TAG_SIGNAL = 0xA1,
	TAG_CONTROL_LISTEN = 0xA2,
	TAG_CONTROL_CLIENT = 0xA3,
	TAG_HANDOFF_LISTEN = 0xA4,
	TAG_HANDOFF_NODE = 0xA5,
	TAG_PEER_CONN = 0xA6,
};
#define DAEMON_UD(tag, low) (((uint64_t)(tag) << 56) | (uint32_t)(low))
#define DAEMON_UD_TAG(ud) ((unsigned)((ud) >> 56))
#define DAEMON_UD_LOW(ud) ((uint32_t)(ud))

/* A dial in flight: what the engine's cookie stands for. */
struct pending_dial {
	bool used;
	uint32_t gen;
	int32_t slot; /* book slot, or -1 */
	uint8_t reason;
	struct netaddr addr;
};

/* An outbound connection that is up (ours to watch, or handed to the node). */
struct peer_conn {
	struct netaddr addr;
	int fd;	      /* -1 once handed to the node */
	uint32_t tag; /* names its poll; never reused, unlike the fd number */
	uint8_t reason;
	int64_t since;
};

/* The last outcomes, for `mukan-dialctl status`. */
#define DAEMON_RECENT 32
struct recent_outcome {
	int64_t at;
	struct netaddr addr;
	uint8_t outcome; /* enum manager_outcome */
	int err;
};

struct daemon {
	struct dialer_config cfg;
	struct io_uring ring;
	struct kern *kern; /* NULL without BPF */
	struct book *book;
	struct engine *engine;
	struct manager *mgr;
	struct mukan_config rules; /* backoff and ban rules in force */

	struct pending_dial *pending; /* max_inflight entries */
	struct peer_conn *conns;
	uint32_t n_conns, cap_conns, next_conn_tag;
	struct recent_outcome recent[DAEMON_RECENT];
	uint32_t n_recent;

	int sigfd, control_fd, handoff_listen_fd, node_fd;
	int home_lock_fd, pin_lock_fd; /* held for the daemon's life */
	bool stopping, reload;
	int64_t started, next_save, next_housekeeping;
	uint64_t records_seen; /* meta's records_gen as of our last look or own bump */
	uint32_t config_generation;
	struct book_file_seen file_seen; /* the book file as last read or written */
	char book_path[CONFIG_PATH_MAX]; /* its absolute path, for meta */
	uint64_t kernel_events;
	char last_config_problem[128];
};

/* Everything up: book (pinned map or file), kernel side, engine, manager, sockets. */
int daemon_init(struct daemon *d, const struct dialer_config *cfg, char *err, size_t errsz);
/* Run until SIGTERM/SIGINT; then stop dialing, close cleanly, save. 0 or -errno. */
int daemon_run(struct daemon *d, char *err, size_t errsz);
void daemon_free(struct daemon *d);

/* daemon_io.c: what the loop does with results, actions and sockets. */
void daemon_drain_actions(struct daemon *d, int64_t now);
void daemon_on_dial_result(struct daemon *d, const struct dial_result *r, int64_t now);
void daemon_on_cqe(struct daemon *d, const struct io_uring_cqe *cqe, int64_t now);
void daemon_arm_poll(struct daemon *d, int fd, unsigned tag, uint32_t low, unsigned events,
		     bool multishot);
int daemon_save(struct daemon *d, char *err, size_t errsz);
void daemon_drop_surplus(struct daemon *d, int64_t now);

/* control.c: the control socket's answers. */
int control_listen(const char *path);
void control_answer(struct daemon *d, int client);
/* One request line -> one JSON answer (status, peers, and the edits below). */
json_t *control_dispatch(struct daemon *d, const char *line);
/* control_edit.c: a live edit of the book sent by mukan-dialctl (JSON line), or NULL. */
json_t *control_edit(struct daemon *d, const char *line);

/* book_start.c: lock, load the file, open the map, decide (docs/live.md). */
int daemon_lock(struct daemon *d, char *err, size_t errsz);
/* The --book file (NULL when there is none; a corrupt one is moved aside). */
int daemon_load_book_file(struct daemon *d, struct book **file, char *err, size_t errsz);
/* The book to run with, from the map and the file (which it frees). */
int daemon_open_book(struct daemon *d, struct book *file, char *err, size_t errsz);
uint64_t daemon_seed(void);
/* The daemon changed records itself: bump records_gen, re-read if someone else did too. */
void daemon_records_changed(struct daemon *d);
/* What to write in meta while we run (owner pid, control socket), and clear at stop. */
void daemon_meta_own(struct daemon *d, bool own);

/* peer_lists.c: comma-separated lists from the config. */
int peer_list_each(const char *list, bool ids_only,
		   int (*fn)(void *ctx, const struct netaddr *na), void *ctx, char *err,
		   size_t errsz);

#endif
