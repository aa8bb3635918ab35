/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_lifecycle.c - the loader's life cycle in the real kernel: a loader
 * killed with SIGKILL leaves its pins, and the next one reuses the maps
 * (counts intact) and the links (exactly one program per attach point);
 * detaching stops the programs, purging removes the pins.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "book/book.h"
#include "fixture.h"
#include "mukan/rules.h"

#define PORT 26656
#define IP "127.0.0.1"
#define LOADER_LIFE_S 30 /* the killed loader's own bound */

TestSuite(lifecycle, .init = bt_setup_env, .fini = bt_teardown, .timeout = 20);

static const struct {
	enum bpf_attach_type type;
	const char *prog;
} attach_points[] = {
	{ BPF_CGROUP_SOCK_OPS, "mukan_sockops" },
	{ BPF_CGROUP_INET4_CONNECT, "mukan_gate4" },
	{ BPF_CGROUP_INET6_CONNECT, "mukan_gate6" },
};

/* The programs attached to the test cgroup at one attach point (at most 1 kept). */
static uint32_t attached(enum bpf_attach_type type, char name[BPF_OBJ_NAME_LEN])
{
	int cg = open(bt.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(cg, 0, "open %s: %s", bt.cgroup, strerror(errno));
	uint32_t ids[8], count = 8, flags = 0;
	int e = bpf_prog_query(cg, type, 0, &flags, ids, &count);
	close(cg);
	cr_assert_eq(e, 0, "bpf_prog_query(%d): %s", type, strerror(-e));
	name[0] = '\0';
	if (count > 0) {
		int fd = bpf_prog_get_fd_by_id(ids[0]);
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			snprintf(name, BPF_OBJ_NAME_LEN, "%s", info.name);
		if (fd >= 0)
			close(fd);
	}
	return count;
}

static void assert_attached_once(void)
{
	for (size_t i = 0; i < sizeof(attach_points) / sizeof(attach_points[0]); i++) {
		char name[BPF_OBJ_NAME_LEN];
		cr_assert_eq(attached(attach_points[i].type, name), 1,
			     "attach type %d: want exactly one program", attach_points[i].type);
		cr_assert_str_eq(name, attach_points[i].prog);
	}
}

/* What the loader that gets killed reports before it waits to die. */
struct loader_report {
	int err; /* 0, or -errno of the step that failed */
	int slot;
	int dial_err;
	char msg[256];
};

/* A forked loader: open, add, one refused dial, report, then wait for SIGKILL. */
static void loader_main(int wfd)
{
	struct loader_report r = { 0 };
	struct kern *k = NULL;
	struct book *b = NULL;
	struct kern_opts o = bt_kern_opts();
	struct bt_dial d;
	struct mukan_config c = bt_config_defaults();
	c.backoff_base_ns = c.backoff_cap_ns = MUKAN_MIN_BACKOFF_NS; /* the parent dials again */
	c.backoff_jitter_ns = 0;
	signal(SIGALRM, SIG_DFL);
	alarm(LOADER_LIFE_S);
	if ((r.err = kern_open(&k, &o, r.msg, sizeof(r.msg))) == 0 &&
	    (r.err = kern_book_open(k, false, BT_BOOK_SEED, &b, r.msg, sizeof(r.msg))) == 0 &&
	    (r.err = kern_config_write(k, &c, r.msg, sizeof(r.msg))) == 0 &&
	    (r.err = bt_try_add(b, IP, PORT, &r.slot)) == 0 &&
	    (r.err = bt_try_dial(bt.cgroup, IP, PORT, &d, r.msg, sizeof(r.msg))) == 0)
		r.dial_err = d.err;
	if (write(wfd, &r, sizeof(r)) < 0)
		_exit(2);
	for (int i = 0; i < LOADER_LIFE_S; i++)
		sleep(1); /* killed here, maps mapped, links held */
	_exit(0);
}

Test(lifecycle, kill9_then_reopen_keeps_counts_and_one_attachment)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		loader_main(p[1]);
	}
	bt_track_child(pid);
	close(p[1]);
	struct loader_report r;
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	cr_assert_gt(poll(&pfd, 1, 10000), 0, "the loader reported nothing within 10 s");
	cr_assert_eq(read(p[0], &r, sizeof(r)), (ssize_t)sizeof(r), "the loader died early");
	close(p[0]);
	cr_assert_eq(r.err, 0, "the loader failed: %s (%s)", r.msg, strerror(-r.err));
	cr_assert_eq(r.dial_err, ECONNREFUSED);

	kill(pid, SIGKILL);
	int status = bt_wait_child(pid, 2000);
	cr_assert(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_attached_once();

	bt_open();
	cr_assert_not(kern_fresh(bt.k), "the pinned maps must be reused");
	assert_attached_once();
	struct mukan_peer q = bt_peer(r.slot);
	cr_assert_eq(q.in_use, 1);
	cr_assert_eq(q.dials, 1);
	cr_assert_eq(q.failures, 1);
	cr_assert_eq(q.attempts, 1);
	cr_assert_eq(q.last_error, ECONNREFUSED);
	cr_assert_eq(book_find_addr(bt.b, &q.addr), r.slot, "the re-opened book indexes it");
	cr_assert_eq(kern_index_count(bt.k), 1);
	struct mukan_config c;
	cr_assert_eq(kern_config_read(bt.k, &c), 0);
	cr_assert_eq(c.backoff_base_ns, MUKAN_MIN_BACKOFF_NS, "the loader's config survives");

	usleep(5 * 1000); /* past the 1 ms backoff */
	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	q = bt_peer(r.slot);
	cr_assert_eq(q.dials, 2);
	cr_assert_eq(q.failures, 2);
	cr_assert_eq(q.attempts, 2);
	struct mukan_stats s = bt_stats();
	cr_assert_eq(s.connects, 2, "stats are kept across loaders too");
	cr_assert_eq(s.refused, 2);

	bt_close(); /* and a third loader in the same process: still one each */
	bt_open();
	assert_attached_once();
}

Test(lifecycle, detach_stops_programs_and_purge_removes_pins)
{
	bt_open();
	int slot = bt_add(IP, PORT);
	struct mukan_peer before = bt_peer(slot);
	bt_close();
	char err[512];
	cr_assert_eq(kern_detach(bt.pin_dir, false, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < sizeof(attach_points) / sizeof(attach_points[0]); i++) {
		char name[BPF_OBJ_NAME_LEN];
		cr_assert_eq(attached(attach_points[i].type, name), 0, "%s still attached", name);
	}

	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	struct kern *k;
	cr_assert_eq(kern_open_pinned(&k, bt.pin_dir, err, sizeof(err)), 0, "maps kept: %s", err);
	struct mukan_peer after = kern_slots(k)[slot];
	kern_close(k);
	cr_assert_eq(memcmp(&before, &after, sizeof(after)), 0, "no program, no record change");

	cr_assert_eq(kern_detach(bt.pin_dir, true, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(access(bt.pin_dir, F_OK), -1, "%s is still there", bt.pin_dir);
	cr_assert_eq(errno, ENOENT);
}

/*
 * `mukan-dialctl bpf detach` while another process (a daemon) holds the
 * links: the programs are off their hooks when the command returns, not
 * when the holder lets go, and nothing records the next dial.
 */
Test(lifecycle, cli_detach_next_to_a_running_holder)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		loader_main(p[1]);
	}
	bt_track_child(pid);
	close(p[1]);
	struct loader_report r;
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	cr_assert_gt(poll(&pfd, 1, 10000), 0, "the holder reported nothing within 10 s");
	cr_assert_eq(read(p[0], &r, sizeof(r)), (ssize_t)sizeof(r), "the holder died early");
	close(p[0]);
	cr_assert_eq(r.err, 0, "the holder failed: %s (%s)", r.msg, strerror(-r.err));
	assert_attached_once();

	char cmd[512], out[4096];
	snprintf(cmd, sizeof(cmd), "%s/mukan-dialctl bpf detach --pin-dir %s", bt_build_dir(),
		 bt.pin_dir);
	int st = bt_run(cmd, out, sizeof(out));
	cr_assert_eq(st, 0, "bpf detach: status %d: %s", st, out);
	cr_assert_eq(kill(pid, 0), 0, "the holder still runs and holds the links");
	for (size_t i = 0; i < sizeof(attach_points) / sizeof(attach_points[0]); i++) {
		char name[BPF_OBJ_NAME_LEN];
		cr_assert_eq(attached(attach_points[i].type, name), 0, "%s still attached", name);
	}

	struct kern *k;
	char err[512];
	cr_assert_eq(kern_open_pinned(&k, bt.pin_dir, err, sizeof(err)), 0, "maps kept: %s", err);
	struct mukan_peer before = kern_slots(k)[r.slot];
	usleep(5 * 1000); /* past the holder's 1 ms backoff: a program would let it through */
	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	struct mukan_peer after = kern_slots(k)[r.slot];
	kern_close(k);
	cr_assert_eq(before.dials, 1);
	cr_assert_eq(memcmp(&before, &after, sizeof(after)), 0, "no program, no record change");
}
