/* SPDX-License-Identifier: Apache-2.0 */
/* spawn.c - posix_spawnp with a pipe on stdin, then waitpid with a deadline. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * Our signals are blocked (signalfd) and SIGPIPE ignored: undo both for the
 * child. It gets a process group of its own, so a Ctrl-C or `timeout` meant
 * for the farm's group cannot kill an `nft` or `ip` halfway through the
 * teardown that signal starts.
 */
static int child_attr(posix_spawnattr_t *attr)
{
	sigset_t none, dflt;
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGPIPE);
	int e = posix_spawnattr_init(attr);
	if (!e)
		e = posix_spawnattr_setsigmask(attr, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(attr, &dflt);
	if (!e)
		e = posix_spawnattr_setpgroup(attr, 0);
	if (!e)
		e = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						   POSIX_SPAWN_SETPGROUP);
	return e;
}

static int child_files(posix_spawn_file_actions_t *fa, int stdin_fd, bool quiet)
{
	int e = posix_spawn_file_actions_init(fa);
	if (!e)
		e = posix_spawn_file_actions_adddup2(fa, stdin_fd, STDIN_FILENO);
	if (!e && quiet)
		e = posix_spawn_file_actions_addopen(fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (!e && quiet)
		e = posix_spawn_file_actions_adddup2(fa, STDOUT_FILENO, STDERR_FILENO);
	return e;
}

/* Feed the child's stdin; a child that stops reading early only ends the feed. */
static void feed(int fd, const char *input, size_t len, int64_t deadline)
{
	size_t off = 0;
	while (off < len && now_ms() < deadline) {
		ssize_t w = write(fd, input + off, len - off);
		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 50);
		} else if (!(w < 0 && errno == EINTR)) {
			return; /* EPIPE: it exited; its status says why */
		}
	}
}

static int wait_until(pid_t pid, int64_t deadline)
{
	const struct timespec step = { 0, 2 * 1000 * 1000 };
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status_code(status);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			break;
		nanosleep(&step, NULL);
	}
	kill(pid, SIGKILL); /* our own child, by its PID */
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

int spawn_wait(char *const argv[], const char *input, size_t len, bool quiet)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	int e = child_attr(&attr);
	if (e) {
		close(pfd[0]), close(pfd[1]);
		return -e;
	}
	if ((e = child_files(&fa, pfd[0], quiet)) == 0) {
		pid_t pid;
		e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		close(pfd[0]);
		if (e) {
			close(pfd[1]);
			return -e;
		}
		int64_t deadline = now_ms() + SPAWN_TIMEOUT_MS;
		fcntl(pfd[1], F_SETFL, O_NONBLOCK);
		if (input)
			feed(pfd[1], input, len, deadline);
		close(pfd[1]); /* end of input */
		return wait_until(pid, deadline);
	}
	posix_spawnattr_destroy(&attr);
	close(pfd[0]), close(pfd[1]);
	return -e;
}
