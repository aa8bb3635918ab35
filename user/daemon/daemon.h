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

/* control_conn.c: one client of the control socket. */
#define CONTROL_MAX_CLIENTS 64				/* held at once */
#define CONTROL_LINE_MAX 4096				/* one request line, newline excluded */
#define CONTROL_DEADLINE_NS (5 * 1000000000LL)		/* to ask and to read the whole answer */
#define CONTROL_BACKLOG 128
struct control_client {
	int fd;	      /* -1: free */
	uint16_t gen; /* names its poll; bumped when the entry is freed */
	bool polling; /* a poll for it is in the ring */
	bool answering;
	int64_t opened, deadline;
	size_t in_len;
	char *out; /* the answer, and how much of it left */
	size_t out_len, out_off;
	char in[CONTROL_LINE_MAX + 3]; /* the line, "\r\n" and a NUL */
};

struct control {
	int listen_fd;
	bool listening; /* a poll on listen_fd is in the ring */
	bool paused;	/* out of descriptors: housekeeping re-arms */
	uint32_t n_clients;
	uint64_t accepted, served, refused, evicted, timed_out, dropped, bad_requests;
	struct control_client client[CONTROL_MAX_CLIENTS];
};

/* At most one log line a second of a kind; the next one says how many were held back. */
struct log_gate {
	bool logged;
	int64_t last;
	uint64_t held;
};

/* The node on the handoff socket (daemon_handoff.c). */
#define HANDOFF_HELLO_DEADLINE_NS (5 * 1000000000LL)
#define HANDOFF_BURST 64 /* messages read per event; the rest on the next turn */
struct node_link {
	int listen_fd, fd;
	uint32_t gen;			/* names the node's poll; bumped when it is dropped */
	bool listening, polling, paused;
	bool hello;			/* it said HELLO: connections go to it */
	int64_t hello_deadline;
	struct log_gate log_msgs, log_session; /* refusals; connects and disconnects */
	uint64_t refused;     /* malformed or misdirected messages */
	uint64_t clamped;     /* MARK_BAD ban lengths brought into range */
	uint64_t extra_nodes; /* connections closed because a node was there */
};

/* cgroup.c: the group the programs watch; what the daemon made of its path. */
struct daemon_cgroup {
	char path[CONFIG_PATH_MAX];
	char origin[CONFIG_PATH_MAX]; /* where the daemon was before it joined */
	unsigned made;		      /* trailing directories of path it created */
	bool joined;
};
/* Resolve --cgroup (empty: the default), creating what is missing. */
int daemon_cgroup_open(struct daemon_cgroup *cg, const char *asked, char *err, size_t errsz);
int daemon_cgroup_join(struct daemon_cgroup *cg, char *err, size_t errsz);
/* Leave and remove what daemon_cgroup_open made. */
void daemon_cgroup_close(struct daemon_cgroup *cg);

/* fd_budget.c: what the settings can make the daemon hold open at once. */
#define FD_BASE 64	    /* stdio, signalfd, io_uring, listeners, BPF objects (~30 measured) */
#define FD_SAVE_RESERVE 4 /* a save: temporary file, cache file, directory; one spare */
struct fd_need {
	unsigned base, dials, conns, control, node, reserve, total;
};
void fd_need_compute(const struct dialer_config *cfg, struct fd_need *n);
/* Raise the soft limit to n->total (within the hard limit), or -EMFILE with why. */
int fd_limit_ensure(const struct fd_need *n, unsigned *limit, char *err, size_t errsz);
unsigned fd_open_count(void);

struct daemon {
	struct dialer_config cfg;
	struct io_uring ring;
	struct kern *kern; /* NULL without BPF */
	struct daemon_cgroup cg;
	struct book *book;
	struct engine *engine;
	struct manager *mgr;
	struct mukan_config rules; /* backoff and ban rules in force */

	struct pending_dial *pending; /* max_inflight entries */
	struct peer_conn *conns;
	uint32_t n_conns, cap_conns, next_conn_tag;
	struct recent_outcome recent[DAEMON_RECENT];
	uint32_t n_recent;

	int sigfd;
	int fd_reserve[FD_SAVE_RESERVE]; /* /dev/null, given back only for a save */
	struct fd_need fd_need;
	unsigned fd_limit;
	struct control ctl;
	struct node_link node;
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

void fd_reserve_take(struct daemon *d);
void fd_reserve_give(struct daemon *d);
/* After start-up: the measured base instead of FD_BASE, the limit raised if need be. */
void fd_budget_settle(struct daemon *d);

/* daemon_io.c: what the loop does with results, actions and sockets. */
void daemon_drain_actions(struct daemon *d, int64_t now);
void daemon_on_dial_result(struct daemon *d, const struct dial_result *r, int64_t now);
void daemon_on_cqe(struct daemon *d, const struct io_uring_cqe *cqe, int64_t now);
void daemon_arm_poll(struct daemon *d, int fd, unsigned tag, uint32_t low, unsigned events,
		     bool multishot);
/* Remove the poll named user_data (its completion comes back -ECANCELED). */
void daemon_cancel_poll(struct daemon *d, uint64_t user_data);
int daemon_save(struct daemon *d, char *err, size_t errsz);
void daemon_drop_surplus(struct daemon *d, int64_t now);
/* The node's connections: all gone (it left), one gone (-ENOENT if the node
 * was not holding it), or all ours handed to it. */
void daemon_conns_node_lost(struct daemon *d, int64_t now);
int daemon_conn_gone_at_node(struct daemon *d, const uint8_t id[MUKAN_ID_LEN], int64_t now);
void daemon_conns_to_node(struct daemon *d);

/* daemon_records.c: quarantined records named in the log, the slots checked, re-reads. */
void daemon_records_watch(struct daemon *d);
void daemon_records_check(struct daemon *d);
void daemon_records_resync(struct daemon *d);

/* control.c: the answer to one request line (never NULL but out of memory). */
json_t *control_dispatch(struct daemon *d, const char *line);

/* control_conn.c: the control socket's connections. */
int control_listen(const char *path);
int control_open(struct daemon *d, const char *path);
void control_on_listen(struct daemon *d, int64_t now);
void control_on_client(struct daemon *d, uint32_t low, int res);
void control_expire(struct daemon *d, int64_t now);
int64_t control_next_deadline(const struct daemon *d);
void control_resume(struct daemon *d);
void control_close(struct daemon *d, const char *path);
/* control_edit.c: a live edit of the book sent by mukan-dialctl (JSON line), or NULL. */
json_t *control_edit(struct daemon *d, const char *line);

/* daemon_handoff.c: the node's socket. */
int node_open(struct daemon *d, const char *path);
void node_on_listen(struct daemon *d, int64_t now);
void node_on_message(struct daemon *d, uint32_t low, int64_t now);
void node_resume(struct daemon *d);
void node_expire(struct daemon *d, int64_t now);
int64_t node_next_deadline(const struct daemon *d);
/* Hand a connection to the node if one is there: true when handed (fd closed). */
bool node_give(struct daemon *d, const struct peer_conn *c);
void node_close(struct daemon *d, const char *path);

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
