/* SPDX-License-Identifier: Apache-2.0 */
/* farm_fixture.c - one mukan-peerfarm per test (see farm_fixture.h). */
#include "farm_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "book/netaddr.h"

struct farm farm;

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: mukan-peerfarm creates network namespaces and nftables");
}

const char *farm_bin(void)
{
	static char path[PATH_MAX];
	const char *dir = getenv("MUKAN_BUILD");
	cr_assert(dir && *dir, "MUKAN_BUILD is not set: it must name the build directory "
			       "holding mukan-peerfarm (`make integration-test` sets it)");
	snprintf(path, sizeof(path), "%s/mukan-peerfarm", dir);
	cr_assert_eq(access(path, X_OK), 0, "%s is not an executable (%s): build it first", path,
		     strerror(errno));
	return path;
}

/* Wait for a child we started; its exit status, 128 + signal, or -1 on timeout. */
int wait_child(pid_t pid, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	for (;;) { /* ends at the deadline */
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 || now_ms() >= end)
			return -1;
		sleep_ms(5);
	}
}

/* fork + execv with output to log (or /dev/null); the child's pid. */
pid_t start(char *const argv[], const char *log)
{
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* If the test dies, the farm hears SIGTERM and cleans up. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Run to completion; the exit status. */
int run(char *const argv[], const char *log)
{
	int st = wait_child(start(argv, log), EXIT_TIMEOUT_MS);
	cr_assert(st >= 0, "%s did not finish within %d ms", argv[0], EXIT_TIMEOUT_MS);
	return st;
}

char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

void farm_path(const struct farm *f, const char *file, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", f->dir, file);
}

bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

void farm_start(struct farm *f, const char *tag, const char *const extra[])
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/pftest-XXXXXX");
	cr_assert(mkdtemp(f->dir), "mkdtemp: %s", strerror(errno));
	snprintf(f->name, sizeof(f->name), "%s-%d", tag, (int)getpid());
	snprintf(f->ns_path, sizeof(f->ns_path), "/run/netns/" NS_PREFIX "%s", f->name);
	farm_path(f, "farm.log", f->log, sizeof(f->log));

	char *argv[64];
	int n = 0;
	argv[n++] = (char *)farm_bin();
	argv[n++] = "--out";
	argv[n++] = f->dir;
	argv[n++] = "--name";
	argv[n++] = f->name;
	for (int i = 0; extra && extra[i] && n < 63; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	int64_t t0 = now_ms();
	f->pid = start(argv, f->log);

	char manifest[128];
	farm_path(f, "manifest.json", manifest, sizeof(manifest));
	int64_t end = now_ms() + READY_TIMEOUT_MS;
	while (!exists(manifest)) { /* ends at the deadline */
		if (f->pid > 0 && (f->status = wait_child(f->pid, 0)) >= 0)
			f->pid = 0; /* a short --duration may be over already: look again */
		else if (f->pid == 0)
			cr_assert_fail("mukan-peerfarm exited (status %d) before it was up:\n%s",
				       f->status, slurp(f->log));
		cr_assert(now_ms() < end, "no manifest within %d ms", READY_TIMEOUT_MS);
		sleep_ms(10);
	}
	f->ready_ms = now_ms() - t0;
	json_error_t je;
	f->manifest = json_load_file(manifest, 0, &je);
	cr_assert(f->manifest, "manifest.json: %s", je.text);
}

int farm_wait(struct farm *f)
{
	if (f->pid > 0) {
		f->status = wait_child(f->pid, EXIT_TIMEOUT_MS);
		cr_assert(f->status >= 0, "mukan-peerfarm still runs after %d ms", EXIT_TIMEOUT_MS);
		f->pid = 0;
	}
	return f->status;
}

int farm_stop(struct farm *f, int sig)
{
	cr_assert(f->pid > 0);
	kill(f->pid, sig);
	int st = wait_child(f->pid, EXIT_TIMEOUT_MS);
	cr_assert(st >= 0, "mukan-peerfarm did not exit within %d ms of signal %d",
		  EXIT_TIMEOUT_MS, sig);
	f->pid = 0;
	return st;
}

void rm_tree(const char *dir)
{
	char *argv[] = { "/bin/rm", "-rf", (char *)dir, NULL };
	if (dir[0])
		wait_child(start(argv, NULL), EXIT_TIMEOUT_MS);
}

void farm_fini(void)
{
	if (farm.pid > 0) {
		kill(farm.pid, SIGTERM);
		if (wait_child(farm.pid, EXIT_TIMEOUT_MS) < 0) {
			kill(farm.pid, SIGKILL);
			wait_child(farm.pid, EXIT_TIMEOUT_MS);
		}
	}
	if (farm.name[0] && exists(farm.ns_path)) {
		char *argv[] = { (char *)farm_bin(), "--cleanup", farm.name, NULL };
		wait_child(start(argv, NULL), EXIT_TIMEOUT_MS);
	}
	json_decref(farm.manifest);
	rm_tree(farm.dir);
	memset(&farm, 0, sizeof(farm));
}

int enter_ns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns %s: %s", path, strerror(errno));
	return fd;
}

static socklen_t peer_sockaddr(json_t *peer, struct sockaddr_storage *ss)
{
	const char *ip = ip_of(peer);
	int port = port_of(peer);
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return sizeof(*s4);
	}
	cr_assert_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1, "bad ip %s", ip);
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	return sizeof(*s6);
}

int dial(json_t *peer, int deadline_ms, int *keep, int64_t *took_ms)
{
	struct sockaddr_storage ss;
	socklen_t len = peer_sockaddr(peer, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	int64_t t0 = now_ms();
	int err = 0;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		err = errno;
		if (err == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int n = poll(&p, 1, deadline_ms);
			socklen_t el = sizeof(err);
			if (n == 0)
				err = ETIMEDOUT;
			else
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		}
	}
	if (took_ms)
		*took_ms = now_ms() - t0;
	if (err == 0 && keep)
		*keep = fd;
	else
		close(fd);
	return err;
}

json_t *peers_of(json_t *manifest)
{
	return json_object_get(manifest, "peers");
}

static const char *str_of(json_t *peer, const char *field)
{
	return json_string_value(json_object_get(peer, field));
}

const char *cat_of(json_t *peer)
{
	return str_of(peer, "category");
}

const char *ip_of(json_t *peer)
{
	return str_of(peer, "ip");
}

const char *addr_of(json_t *peer)
{
	return str_of(peer, "addr");
}

const char *variant_of(json_t *peer)
{
	return str_of(peer, "variant"); /* NULL for JSON null */
}

uint16_t port_of(json_t *peer)
{
	return (uint16_t)json_integer_value(json_object_get(peer, "port"));
}

bool is_v6(json_t *peer)
{
	return json_integer_value(json_object_get(peer, "family")) == 6;
}

void id_of(json_t *peer, const char *field, uint8_t id[MUKAN_ID_LEN])
{
	const char *hex = str_of(peer, field);
	cr_assert(hex && node_id_parse(hex, strlen(hex), id) == 0, "peer's %s is not a node ID",
		  field);
}

json_t *first_variant(json_t *manifest, const char *cat, const char *variant)
{
	size_t i;
	json_t *p;
	json_array_foreach(peers_of(manifest), i, p) {
		const char *v = variant_of(p);
		if (strcmp(cat_of(p), cat) == 0 && (!variant || (v && strcmp(v, variant) == 0)))
			return p;
	}
	return NULL;
}

json_t *first_of(json_t *manifest, const char *cat)
{
	return first_variant(manifest, cat, NULL);
}

json_t *peer_by_addr(json_t *manifest, const char *addr)
{
	size_t i;
	json_t *p;
	json_array_foreach(peers_of(manifest), i, p)
		if (strcmp(addr_of(p), addr) == 0)
			return p;
	return NULL;
}

bool cat_listens(const char *cat)
{
	return strcmp(cat, "closed") != 0 && strcmp(cat, "blackhole") != 0 &&
	       strcmp(cat, "unreachable") != 0;
}
