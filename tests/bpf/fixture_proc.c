/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture_proc.c - the child processes of fixture.h: dials from inside or
 * outside the test cgroup, commands such as `ip` and `nft`, and keeping
 * track of children so teardown can kill what a failed test left running.
 * Every wait here is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"

#define MAX_CHILDREN 32
#define RUN_BOUND_MS 10000
#define RUN_MAX_ARGS 32

static pid_t children[MAX_CHILDREN];

/* ---- children ---------------------------------------------------------- */

void bt_track_child(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	}
	kill(pid, SIGKILL);
	cr_assert_fail("more than %d tracked children", MAX_CHILDREN);
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bt_wait_child(pid_t pid, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	for (int i = 0; i <= timeout_ms; i++) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			untrack(pid);
			return status;
		}
		if (r < 0 || mono_ms() >= deadline)
			break;
		usleep(1000);
	}
	return -1;
}

void bt_kill_children(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		pid_t pid = children[i];
		if (pid == 0)
			continue;
		kill(pid, SIGKILL);
		bt_wait_child(pid, 2000);
		children[i] = 0;
	}
}

/* ---- dials ------------------------------------------------------------- */

/* What the dial child tells its parent. */
struct dial_report {
	int stage; /* enum dial_stage reached */
	int err;
	int64_t start_ns, end_ns;
};
enum dial_stage { DIAL_CONNECT, DIAL_CGROUP, DIAL_SOCKET };
static const char *const stage_names[] = { "connect", "joining the cgroup", "socket" };

static int parse_sockaddr(const char *ip, uint16_t port, struct sockaddr_storage *ss,
			  socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
		return inet_pton(AF_INET6, ip, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	*len = sizeof(*a);
	return inet_pton(AF_INET, ip, &a->sin_addr) == 1 ? 0 : -EINVAL;
}

int bt_try_join_cgroup(const char *cgroup)
{
	char path[600], pid[32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, pid, strlen(pid));
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

/* In the child: one blocking connect, bounded by an alarm; never returns. */
static void dial_child(int wfd, const char *cgroup, const struct sockaddr_storage *ss,
		       socklen_t len)
{
	struct dial_report r = { .stage = DIAL_CONNECT };
	signal(SIGALRM, SIG_DFL);
	alarm(BT_DIAL_BOUND_S);
	int s = -1;
	if (cgroup && bt_try_join_cgroup(cgroup) < 0) {
		r.stage = DIAL_CGROUP;
		r.err = errno;
	} else if ((s = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		r.stage = DIAL_SOCKET;
		r.err = errno;
	} else {
		r.start_ns = kern_now();
		r.err = connect(s, (const struct sockaddr *)ss, len) == 0 ? 0 : errno;
		r.end_ns = kern_now();
	}
	if (write(wfd, &r, sizeof(r)) < 0)
		_exit(2);
	_exit(0);
}

int bt_try_dial(const char *cgroup, const char *ip, uint16_t port, struct bt_dial *out,
		char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_sockaddr(ip, port, &ss, &len) < 0) {
		snprintf(err, errsz, "not an IP address: %s", ip);
		return -EINVAL;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errsz, "pipe: %s", strerror(errno));
		return -errno;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		snprintf(err, errsz, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		close(p[0]);
		dial_child(p[1], cgroup, &ss, len);
	}
	close(p[1]);
	struct dial_report r;
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	ssize_t got = -1;
	if (poll(&pfd, 1, (BT_DIAL_BOUND_S + 1) * 1000) > 0)
		got = read(p[0], &r, sizeof(r));
	close(p[0]);
	if (got != (ssize_t)sizeof(r)) {
		kill(pid, SIGKILL);
		bt_wait_child(pid, 2000);
		snprintf(err, errsz, "dial of %s port %u: no verdict within %d s", ip, port,
			 BT_DIAL_BOUND_S);
		return -ETIMEDOUT;
	}
	bt_wait_child(pid, 2000);
	if (r.stage != DIAL_CONNECT) {
		snprintf(err, errsz, "dial child, %s: %s", stage_names[r.stage], strerror(r.err));
		return -r.err;
	}
	out->err = r.err;
	out->start_ns = r.start_ns;
	out->end_ns = r.end_ns;
	return 0;
}

static struct bt_dial dial_asserted(const char *cgroup, const char *ip, uint16_t port)
{
	struct bt_dial d = { 0 };
	char err[256];
	int e = bt_try_dial(cgroup, ip, port, &d, err, sizeof(err));
	cr_assert_eq(e, 0, "%s", err);
	return d;
}

struct bt_dial bt_dial(const char *ip, uint16_t port)
{
	return dial_asserted(bt.cgroup, ip, port);
}

struct bt_dial bt_dial_outside(const char *ip, uint16_t port)
{
	return dial_asserted(NULL, ip, port);
}

int bt_listen(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	cr_assert_eq(parse_sockaddr(ip, port, &ss, &len), 0, "not an IP address: %s", ip);
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(s, (struct sockaddr *)&ss, len), 0, "bind %s port %u: %s", ip, port,
		     strerror(errno));
	cr_assert_eq(listen(s, 16), 0, "listen: %s", strerror(errno));
	return s;
}

/* ---- commands ---------------------------------------------------------- */

/* Read the child's output until EOF or the deadline; keeps what fits. */
static void drain_output(int fd, char *out, size_t outsz, int64_t deadline)
{
	size_t n = 0;
	char sink[512];
	for (int i = 0; i < 10000; i++) {
		int left = (int)(deadline - mono_ms());
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		char *dst = out && n + 1 < outsz ? out + n : sink;
		size_t room = out && n + 1 < outsz ? outsz - 1 - n : sizeof(sink);
		ssize_t got = read(fd, dst, room);
		if (got <= 0)
			break;
		if (dst != sink)
			n += (size_t)got;
	}
	if (out && outsz)
		out[n] = '\0';
}

int bt_run(const char *cmdline, char *out, size_t outsz)
{
	char buf[1024], *argv[RUN_MAX_ARGS + 1], *save = NULL;
	int argc = 0;
	snprintf(buf, sizeof(buf), "%s", cmdline);
	for (char *t = strtok_r(buf, " ", &save); t && argc < RUN_MAX_ARGS;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	if (argc == 0)
		return -EINVAL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	bt_track_child(pid);
	close(p[1]);
	int64_t deadline = mono_ms() + RUN_BOUND_MS;
	drain_output(p[0], out, outsz, deadline);
	close(p[0]);
	int left = (int)(deadline - mono_ms());
	int status = bt_wait_child(pid, left > 0 ? left : 0);
	if (status == -1) {
		kill(pid, SIGKILL);
		bt_wait_child(pid, 2000);
		return -ETIMEDOUT;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void bt_run_ok(const char *cmdline)
{
	char out[2048];
	int st = bt_run(cmdline, out, sizeof(out));
	cr_assert_eq(st, 0, "`%s` ended with %d: %s", cmdline, st, out);
}

const char *bt_build_dir(void)
{
	const char *d = getenv("MUKAN_BUILD");
	return d && *d ? d : "build";
}
