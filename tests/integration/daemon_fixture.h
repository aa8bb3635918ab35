/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon_fixture.h - a real mukan-dialerd against a real mukan-peerfarm, for
 * the Criterion tests in test_daemon*.c.
 *
 * Per test process (Criterion forks one per test):
 *   - a work directory /tmp/mukan-it-<pid>-XXXXXX (mkdtemp) holding the farm's
 *     files and one private --home per daemon (mkdtemp again);
 *   - one farm: $MUKAN_BUILD/mukan-peerfarm --name it<pid>-<tag>, namespace
 *     mukanfarm-it<pid>-<tag>;
 *   - daemons started as `nsenter --net=/run/netns/mukanfarm-NAME
 *     mukan-dialerd ...` (fork + execv, no shell), each with
 *     --pin-dir /sys/fs/bpf/mukan-it-<pid>-<n>, --cgroup <cgroup2>/mukan-it-<pid>-<n>
 *     (made here), --control <home>/control.sock, --no-strict.
 *
 * Cleanup: df_teardown (the suite's .fini, also after a failed assert) kills
 * the daemons and the farm it started (by pid, SIGKILL / SIGTERM), removes
 * the pins (kern_detach purge, then rm -rf), the cgroups and the files. A
 * janitor process forked at setup does the same if the test process dies
 * without .fini (Criterion timeout, crash): it learns every pid and path
 * through a pipe and cleans up when the pipe closes. Daemons and the farm
 * also get PR_SET_PDEATHSIG, so they never outlive the test.
 *
 * Root: without it every test is skipped with one line; with
 * MUKAN_REQUIRE_BPF=1 it fails instead.
 */
#ifndef MUKAN_TEST_DAEMON_FIXTURE_H
#define MUKAN_TEST_DAEMON_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "mukan/abi.h"

#define DF_PORT 26656		 /* the farm's port (its default) */
#define DF_MAX_DAEMONS 4	 /* daemon slots per test */
#define DF_START_TIMEOUT_MS 8000 /* control socket answering after start */
#define DF_EXIT_TIMEOUT_MS 5000

struct df_farm {
	pid_t pid; /* 0 when not running */
	char dir[160], name[48], ns_path[96], log[192];
	json_t *manifest;
};

struct df_daemon {
	int n;	   /* index: names the pin dir and cgroup */
	pid_t pid; /* 0 when not running (reaped) */
	int status; /* after df_daemon_wait: exit code, or 128 + signal */
	char home[160], pin_dir[128], cgroup[256], control[200], handoff[200], book[200],
		log[200], conf[200];
	/* RLIMIT_NOFILE soft and hard the daemon is started with; 0: this process's. */
	unsigned long nofile_soft, nofile_hard;
};

struct df {
	pid_t test_pid;
	char work[96];	/* /tmp/mukan-it-<pid>-XXXXXX */
	char cg_root[128];
	struct df_farm farm;
	struct df_daemon d[DF_MAX_DAEMONS];
	int n_daemons;
};
extern struct df df;

/* Criterion .init / .fini. */
void df_setup(void);
void df_teardown(void);

/* ---- time -------------------------------------------------------------- */
int64_t df_now_ms(void);
void df_sleep_ms(int ms);

/* ---- the farm ------------------------------------------------------------ */

/* Start mukan-peerfarm with extra flags (NULL-terminated); wait for its manifest. */
void df_farm_start(const char *tag, const char *const extra[]);
/* SIGTERM the farm and wait for it: its exit status. */
int df_farm_stop(void);
/* The manifest's peers array, and queries on one peer. */
json_t *df_farm_peers(void);
const char *df_peer_category(json_t *peer);
const char *df_peer_str(json_t *peer, const char *key);
/* The farm peer with this ip, or with this node ID (hex); NULL if none. */
json_t *df_farm_peer_by_ip(const char *ip);
json_t *df_farm_peer_by_id(const uint8_t id[MUKAN_ID_LEN]);
/* Count of peers of a category. */
unsigned df_farm_count(const char *category);
/* Path of a file in the farm's --out directory. */
void df_farm_file(const char *file, char *out, size_t sz);
/* Contents of seeds.txt (one line, no newline); malloc'ed. */
char *df_farm_seeds(void);

/* ---- daemons ------------------------------------------------------------- */

/*
 * A new daemon slot: private home (mkdtemp), pin dir and cgroup names (the
 * cgroup is created), control socket and log paths. Nothing runs yet.
 */
struct df_daemon *df_daemon_new(void);
/* Copy the farm's addrbook.json into the daemon's home. */
void df_daemon_copy_farm_book(struct df_daemon *d);
/*
 * Start it in the farm's namespace (or in ours when there is no farm) with
 * the fixture's flags and the extra ones (NULL-terminated). No wait.
 */
void df_daemon_start(struct df_daemon *d, const char *const extra[]);
/* Start, and wait until the control socket answers (asserts). */
void df_daemon_start_ready(struct df_daemon *d, const char *const extra[]);
/* Wait until the control socket answers; false if the daemon exited or time ran out. */
bool df_daemon_wait_ready(struct df_daemon *d, int timeout_ms);
/* Run to completion (bounded): its exit status. */
int df_daemon_run(struct df_daemon *d, const char *const extra[], int timeout_ms);
void df_daemon_signal(struct df_daemon *d, int sig);
/* Wait for exit (bounded): exit code or 128 + signal; -1 on timeout. */
int df_daemon_wait(struct df_daemon *d, int timeout_ms);
/* Its log (stdout + stderr); malloc'ed. */
char *df_daemon_log(const struct df_daemon *d);
/* Lines in a text (a last line without '\n' counts). */
unsigned df_count_lines(const char *text);

/* One request on the control socket ("status" or "peers"); NULL if no answer. */
json_t *df_ask(const struct df_daemon *d, const char *request);
/* df_ask("status") that must answer (asserts). */
json_t *df_status(const struct df_daemon *d);
long long df_json_int(json_t *obj, const char *key);
/* Connected entries of a "peers" answer; when ids is not NULL, their node IDs (hex). */
unsigned df_peers_connected(json_t *peers, char ids[][2 * MUKAN_ID_LEN + 1], unsigned max);
/* Connected entries held by "daemon" or "node". */
unsigned df_peers_held_by(json_t *peers, const char *holder);

/*
 * Poll status every 100 ms until outbound_connected == want (true) or the
 * time is up (false). *max_seen gets the largest outbound_connected seen,
 * which must never exceed max_outbound (asserted at every poll).
 */
bool df_wait_connected(const struct df_daemon *d, long long want, int timeout_ms,
		       long long *max_seen);

/*
 * Run a program (argv[0] a path; no shell) to completion with its output in
 * log: its exit status (asserts that it ends within timeout_ms).
 */
int df_run(char *const argv[], const char *log, int timeout_ms);
/* The same without asserts (for processes a test forks): -1 when it had to be killed. */
int df_try_run(char *const argv[], const char *log, int timeout_ms);
/* Path of a tool in $MUKAN_BUILD (mukan-dialctl, mukan-dialerd ...). */
void df_tool_path(const char *name, char *out, size_t sz);

/* ---- the daemon process from outside --------------------------------------- */

/* Entries of /proc/<pid>/fd; and of them, sockets. -1 if unreadable. */
int df_fd_count(pid_t pid, int *sockets);
/* VmRSS in kB. */
long df_rss_kb(pid_t pid);
/* utime + stime in clock ticks. */
long long df_cpu_ticks(pid_t pid);
/* ESTABLISHED TCP sockets in the process's network namespace with remote port rport. */
int df_tcp_established(pid_t pid, uint16_t rport);

/* ---- the kernel side -------------------------------------------------------- */

bool df_exists(const char *path);
/* Programs attached to a cgroup for an attach type (enum bpf_attach_type). */
int df_prog_count(const char *cgroup, int attach_type);
/*
 * Copy the live record of a node ID out of the pinned book (pin_dir);
 * false when the pins or the record are missing.
 */
bool df_live_record(const char *pin_dir, const uint8_t id[MUKAN_ID_LEN], struct mukan_peer *out);

/* Hex node ID of a manifest peer into 20 bytes. */
void df_peer_id(json_t *peer, uint8_t id[MUKAN_ID_LEN]);

/* Write a whole file (asserts). */
void df_write_file(const char *path, const char *text);
/* Read a whole file; malloc'ed, NULL when missing. */
char *df_read_file(const char *path, size_t *len);

#endif
