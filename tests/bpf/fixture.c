/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture.c - the per-test sandbox of fixture.h: root and BPF checks, the
 * network namespace, the cgroup, the pin directory, the loader and book on
 * them, and the cleanup (teardown, or the janitor when the test dies).
 * Child processes (dials, commands) live in fixture_proc.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "book/book.h"
#include "book/netaddr.h"
#include "fixture.h"
#include "support/netns_lo.h"
#include "mukan/rules.h"

#define JANITOR_MAX_S 300   /* longer than any test; then it cleans up anyway */
#define RMDIR_TRIES 200	    /* x 10 ms for the killed members to leave the cgroup */

struct bt bt;

static int janitor_fd = -1; /* write end: EOF tells the janitor the test is gone */
static pid_t janitor_pid;

/* ---- skip or fail ------------------------------------------------------ */

static bool bpf_required(void)
{
	const char *v = getenv("MUKAN_REQUIRE_BPF");
	return v && strcmp(v, "1") == 0;
}

static void skip_or_fail(const char *why)
{
	if (bpf_required())
		cr_assert_fail("MUKAN_REQUIRE_BPF=1 but %s", why);
	cr_skip_test("%s", why);
}

/* The kernel's own answer: can this process create a BPF map at all? */
static int probe_bpf(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mukan_probe", 4, 4, 1, NULL);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* ---- cleanup (teardown and janitor): never asserts --------------------- */

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0) {
		/* nothing to do: the rmdir below reports what matters */
	}
	close(fd);
}

static void remove_cgroup(const char *cg)
{
	char kill_path[600];
	snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", cg);
	write_file(kill_path, "1");
	for (int i = 0; i < RMDIR_TRIES; i++) {
		if (rmdir(cg) == 0 || errno != EBUSY)
			return;
		usleep(10 * 1000);
	}
}

static void remove_all(const char *pin_dir, const char *cg)
{
	char err[512];
	kern_detach(pin_dir, true, err, sizeof(err));
	remove_cgroup(cg);
}

/*
 * A process that outlives a crashed or timed-out test: it waits for the end
 * of the pipe the test holds, then removes the test's pins and cgroup.
 */
static void janitor_main(int rfd)
{
	signal(SIGINT, SIG_IGN); /* a ^C of the run must still clean up */
	signal(SIGHUP, SIG_IGN);
	for (int s = 0; s < JANITOR_MAX_S; s++) {
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		char c;
		if (poll(&p, 1, 1000) > 0 && read(rfd, &c, 1) <= 0)
			break;
	}
	remove_all(bt.pin_dir, bt.cgroup);
	_exit(0);
}

static void start_janitor(void)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[1]);
		janitor_main(p[0]);
	}
	close(p[0]);
	janitor_fd = p[1];
	janitor_pid = pid;
}

static void stop_janitor(void)
{
	if (janitor_fd < 0)
		return;
	close(janitor_fd);
	janitor_fd = -1;
	if (bt_wait_child(janitor_pid, 3000) == -1) {
		kill(janitor_pid, SIGKILL);
		bt_wait_child(janitor_pid, 1000);
	}
}

/* ---- the sandbox ------------------------------------------------------- */

static void enter_netns(void)
{
	int e = netns_private();
	cr_assert_eq(e, 0, "a private network namespace with lo up: %s", strerror(-e));
}

void bt_setup_env(void)
{
	memset(&bt, 0, sizeof(bt));
	bt.pid = getpid();
	if (geteuid() != 0)
		skip_or_fail("not root: the BPF tests load programs and make cgroups");
	int e = probe_bpf();
	if (e == -EPERM || e == -ENOSYS) {
		char why[128];
		snprintf(why, sizeof(why), "the kernel refuses bpf(): %s", strerror(-e));
		skip_or_fail(why);
	}
	char err[512], mnt[256];
	cr_assert_eq(kern_ensure_bpffs(err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(kern_cgroup2_mount(mnt, sizeof(mnt)), 0, "no cgroup v2 hierarchy is mounted");
	snprintf(bt.pin_dir, sizeof(bt.pin_dir), "%s/mukan-test-%d", KERN_BPFFS, (int)bt.pid);
	snprintf(bt.cgroup, sizeof(bt.cgroup), "%s/mukan-test-%d", mnt, (int)bt.pid);
	remove_all(bt.pin_dir, bt.cgroup); /* leftovers of an earlier process with our pid */
	start_janitor();
	cr_assert_eq(mkdir(bt.cgroup, 0755), 0, "mkdir %s: %s", bt.cgroup, strerror(errno));
	enter_netns();
}

struct kern_opts bt_kern_opts(void)
{
	struct kern_opts o = { .pin_dir = bt.pin_dir, .cgroup = bt.cgroup, .capacity = BT_CAPACITY };
	return o;
}

void bt_open(void)
{
	char err[4096];
	struct kern_opts o = bt_kern_opts();
	int e = kern_open(&bt.k, &o, err, sizeof(err));
	cr_assert_eq(e, 0, "kern_open(%s, %s): %s", bt.pin_dir, bt.cgroup, err);
	e = kern_book_open(bt.k, false, BT_BOOK_SEED, &bt.b, err, sizeof(err));
	cr_assert_eq(e, 0, "kern_book_open: %s", err);
}

void bt_setup(void)
{
	bt_setup_env();
	bt_open();
}

void bt_close(void)
{
	book_free(bt.b);
	bt.b = NULL;
	kern_close(bt.k);
	bt.k = NULL;
}

void bt_teardown(void)
{
	bt_kill_children();
	bt_close();
	if (bt.pin_dir[0])
		remove_all(bt.pin_dir, bt.cgroup);
	stop_janitor();
}

/* ---- book, config, stats, events --------------------------------------- */

int bt_try_add(struct book *b, const char *ip, uint16_t port, int *slot)
{
	static uint32_t serial;
	struct netaddr na;
	memset(&na, 0, sizeof(na));
	if (ip_parse(ip, &na.a) < 0)
		return -EINVAL;
	na.a.port = port;
	/* A node ID no other test process can produce: pid and a serial. */
	uint32_t pid = (uint32_t)getpid(), n = ++serial;
	memcpy(na.id, &pid, sizeof(pid));
	memcpy(na.id + 4, &n, sizeof(n));
	na.id[MUKAN_ID_LEN - 1] = 0x7e;
	na.has_id = true;
	int e = book_add(b, &na, &na, kern_now());
	if (e < 0)
		return e;
	int s = book_find_addr(b, &na.a);
	if (s < 0)
		return s;
	*slot = s;
	return 0;
}

int bt_add(const char *ip, uint16_t port)
{
	int slot = -1;
	int e = bt_try_add(bt.b, ip, port, &slot);
	cr_assert_eq(e, 0, "adding %s port %u to the book: %s", ip, port, strerror(-e));
	return slot;
}

struct mukan_peer bt_peer(int slot)
{
	cr_assert(bt.k && slot >= 0 && (uint32_t)slot < kern_capacity(bt.k), "no slot %d", slot);
	return kern_slots(bt.k)[slot];
}

struct mukan_config bt_config_defaults(void)
{
	struct mukan_config c;
	rules_config_defaults(&c);
	c.flags = MUKAN_CFG_GATE;
	return c;
}

void bt_config_set(const struct mukan_config *c)
{
	char err[256];
	int e = kern_config_write(bt.k, c, err, sizeof(err));
	cr_assert_eq(e, 0, "kern_config_write: %s", err);
}

struct mukan_stats bt_stats(void)
{
	struct mukan_stats s;
	int e = kern_stats_read(bt.k, &s);
	cr_assert_eq(e, 0, "kern_stats_read: %s", strerror(-e));
	return s;
}

struct event_sink {
	struct mukan_event *out;
	size_t max, n;
};

static int collect_event(void *ctx, const struct mukan_event *e)
{
	struct event_sink *s = ctx;
	if (s->n < s->max)
		s->out[s->n] = *e;
	s->n++;
	return 0;
}

size_t bt_events(struct mukan_event *out, size_t max)
{
	struct event_sink s = { .out = out, .max = max };
	int e = kern_events_poll(bt.k, collect_event, &s, 0);
	cr_assert_geq(e, 0, "kern_events_poll: %s", strerror(-e));
	return s.n;
}
