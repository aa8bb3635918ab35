/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture.h - plumbing for tests that run the real BPF programs in the real
 * kernel (root). Criterion forks one process per test; the fixture turns that
 * process into a sandbox of its own:
 *
 *   - a private network namespace with `lo` up (127.0.0.0/8 and ::1 work,
 *     nothing listens, nft rules and routes added by the test vanish with it);
 *   - a cgroup v2 directory <cgroup2>/mukan-test-<pid> the programs attach to;
 *   - a pin directory /sys/fs/bpf/mukan-test-<pid> for the maps and links;
 *   - with bt_setup (not bt_setup_env): kern_open + kern_book_open on them,
 *     the book non-strict so 127.x and 10.x addresses are accepted.
 *
 * Use:
 *
 *   TestSuite(mine, .init = bt_setup, .fini = bt_teardown, .timeout = 20);
 *
 *   Test(mine, refused) {
 *       int slot = bt_add("127.0.0.1", 26656);
 *       struct bt_dial d = bt_dial("127.0.0.1", 26656);   // from the cgroup
 *       cr_assert_eq(d.err, ECONNREFUSED);
 *       cr_assert_eq(bt_peer(slot).failures, 1);
 *   }
 *
 * Skips: only when not root or when the kernel refuses bpf() (ENOSYS/EPERM);
 * with MUKAN_REQUIRE_BPF=1 those fail instead. Any other setup problem fails.
 *
 * Cleanup: bt_teardown kills the tracked children, closes the loader, removes
 * the pins (kern_detach purge) and the cgroup. A janitor process forked at
 * setup does the same if the test process dies without teardown (crash,
 * Criterion timeout, SIGKILL), so a run leaves nothing behind.
 *
 * Helpers whose name starts with bt_try_ never assert: use them in processes
 * a test forks itself (an assert there would not reach the runner).
 * fixture.c holds the sandbox, book and config helpers; fixture_proc.c the
 * child processes (dials, commands).
 */
#ifndef MUKAN_TEST_BPF_FIXTURE_H
#define MUKAN_TEST_BPF_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "kern/kern.h"
#include "mukan/abi.h"

#define BT_CAPACITY 1024      /* book slots: small maps load fast */
#define BT_DIAL_BOUND_S 5     /* a dial child is killed after this (SIGALRM) */
#define BT_BOOK_SEED 7	      /* the book's generator seed */

struct bt {
	pid_t pid;	   /* the test process */
	char pin_dir[128]; /* /sys/fs/bpf/mukan-test-<pid> */
	char cgroup[512];  /* <cgroup2 mount>/mukan-test-<pid> */
	struct kern *k;	   /* set by bt_open (bt_setup) */
	struct book *b;
};
extern struct bt bt;

/* Criterion .init: sandbox + bt_open.  .init = bt_setup_env: sandbox only. */
void bt_setup(void);
void bt_setup_env(void);
/* kern_open(pin_dir, cgroup) + kern_book_open into bt.k / bt.b; asserts. */
void bt_open(void);
/* Close bt.k / bt.b (pins and attachments stay), e.g. before a re-open. */
void bt_close(void);
/* Criterion .fini: never asserts, always removes everything. */
void bt_teardown(void);

/* kern_open options naming the fixture's pin dir and cgroup. */
struct kern_opts bt_kern_opts(void);

/* ---- the book -------------------------------------------------------- */

/* Add ip:port (IPv6 without brackets) under a fresh node ID; the slot. */
int bt_add(const char *ip, uint16_t port);
int bt_try_add(struct book *b, const char *ip, uint16_t port, int *slot);
/* A copy of a record, read through the mmapped map. */
struct mukan_peer bt_peer(int slot);

/* v within [lo, hi] (int64 book times or durations), else the test fails. */
#define bt_assert_between(v, lo, hi, what)                                                \
	cr_assert((int64_t)(v) >= (int64_t)(lo) && (int64_t)(v) <= (int64_t)(hi),         \
		  "%s = %lld, not within [%lld, %lld]", what, (long long)(v), (long long)(lo), \
		  (long long)(hi))

/* A record is byte for byte what it was (nothing in the kernel touched it). */
#define bt_assert_peer_unchanged(before, slot)                                            \
	do {                                                                              \
		struct mukan_peer now_ = bt_peer(slot);                                   \
		cr_assert(memcmp(&(before), &now_, sizeof(now_)) == 0,                     \
			  "record %d changed: dials %u failures %u last_error %d", slot,  \
			  now_.dials, now_.failures, now_.last_error);                     \
	} while (0)

/* ---- config, stats, events ------------------------------------------- */

/* rules_config_defaults with the gate on: the config most tests start from. */
struct mukan_config bt_config_defaults(void);
/* kern_config_write, asserted. */
void bt_config_set(const struct mukan_config *c);
struct mukan_stats bt_stats(void);
/* Drain the events ring into out (at most max); the number drained. */
size_t bt_events(struct mukan_event *out, size_t max);

/* ---- dialing ----------------------------------------------------------- */

struct bt_dial {
	int err;	  /* connect()'s errno; 0 = connected */
	int64_t start_ns; /* kern_now() just before connect() */
	int64_t end_ns;	  /* kern_now() just after it returned */
};

/*
 * A blocking connect to ip:port (ip may be IPv6, e.g. "::1" or
 * "::ffff:127.0.0.1", dialed from an AF_INET6 socket) from a child process:
 * moved into the test cgroup first (bt_dial), or left where the test process
 * is (bt_dial_outside). The child waits for the kernel's verdict; it is
 * killed after BT_DIAL_BOUND_S. Plumbing failures fail the test.
 */
struct bt_dial bt_dial(const char *ip, uint16_t port);
struct bt_dial bt_dial_outside(const char *ip, uint16_t port);
/* The same without asserts: 0, or -errno with a reason in err. */
int bt_try_dial(const char *cgroup, const char *ip, uint16_t port, struct bt_dial *out,
		char *err, size_t errsz);

/* Move the calling process into a cgroup: 0, or -1 with errno (a child's helper). */
int bt_try_join_cgroup(const char *cgroup);

/* A listening TCP socket on ip:port in the test's namespace; the fd. */
int bt_listen(const char *ip, uint16_t port);

/* ---- processes ----------------------------------------------------------- */

/* Kill (SIGKILL) and reap this child at teardown if it is still there. */
void bt_track_child(pid_t pid);
/* SIGKILL and reap every tracked child now (teardown does it too). */
void bt_kill_children(void);
/* Wait up to timeout_ms for a child; its wait status, or -1 when it did not end. */
int bt_wait_child(pid_t pid, int timeout_ms);

/*
 * Run a command line (split at spaces, no shell) in the test's namespace,
 * stdout and stderr captured into out (may be NULL). The exit status, 128 +
 * signal, or -errno; killed after 10 s. bt_run_ok asserts status 0.
 */
int bt_run(const char *cmdline, char *out, size_t outsz);
void bt_run_ok(const char *cmdline);

/* $MUKAN_BUILD (where the tools are), or "build". */
const char *bt_build_dir(void);

#endif
