/* SPDX-License-Identifier: Apache-2.0 */
/* daemon_fixture.c - see daemon_fixture.h. */
#include "daemon_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "book/netaddr.h"
#include "kern/kern.h"

#define FARM_READY_TIMEOUT_MS 10000
#define JANITOR_MAX_S 600 /* longer than any test; then it cleans up anyway */
#define RMDIR_TRIES 300	  /* x 10 ms: killed daemons leaving their cgroup */

struct df df;

static int janitor_fd = -1; /* write end; EOF tells the janitor to clean up */
static pid_t janitor_pid;
static char tool_dir[PATH_MAX];

/* ---- time ---------------------------------------------------------------- */

int64_t df_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void df_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- processes (no asserts: also used by the janitor) -------------------- */

static void close_inherited(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

/* RLIMIT_NOFILE for the next spawn only (a test process without CAP_SYS_RESOURCE
 * could not raise its own again). */
static struct rlimit spawn_nofile;

/* fork + execv; output appended to log (or /dev/null). */
static pid_t spawn(char *const argv[], const char *log, int deathsig)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, deathsig);
	if (spawn_nofile.rlim_max)
		setrlimit(RLIMIT_NOFILE, &spawn_nofile);
	int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	int nul = open("/dev/null", O_RDONLY);
	if (nul >= 0)
		dup2(nul, STDIN_FILENO);
	close_inherited();
	execv(argv[0], argv);
	_exit(127);
}

/* A child's exit status (code, or 128 + signal); -1 when it did not end in time. */
static int reap(pid_t pid, int timeout_ms)
{
	int64_t end = df_now_ms() + timeout_ms;
	for (;;) { /* ends at the deadline */
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 || df_now_ms() >= end)
			return -1;
		df_sleep_ms(5);
	}
}

static void rm_rf(const char *path)
{
	if (!path[0] || strncmp(path, "/tmp/", 5) != 0)
		return; /* only what we made under /tmp */
	char *argv[] = { "/bin/rm", "-rf", (char *)path, NULL };
	pid_t pid = spawn(argv, NULL, SIGKILL);
	if (pid > 0 && reap(pid, 10000) < 0) {
		kill(pid, SIGKILL);
		reap(pid, 1000);
	}
}

static void remove_pins(const char *pin_dir)
{
	char err[512];
	if (!pin_dir[0])
		return;
	kern_detach(pin_dir, true, err, sizeof(err));
	if (strncmp(pin_dir, KERN_BPFFS "/mukan-it-", strlen(KERN_BPFFS "/mukan-it-")) == 0 &&
	    df_exists(pin_dir)) {
		/* Something kern_detach does not know (a map moved aside): ours anyway. */
		char *argv[] = { "/bin/rm", "-rf", (char *)pin_dir, NULL };
		pid_t pid = spawn(argv, NULL, SIGKILL);
		if (pid > 0)
			reap(pid, 5000);
	}
}

static void remove_cgroup(const char *cg)
{
	for (int i = 0; cg[0] && i < RMDIR_TRIES; i++) {
		if (rmdir(cg) == 0 || errno != EBUSY)
			return;
		df_sleep_ms(10);
	}
}

static void farm_cleanup(const char *name)
{
	char bin[PATH_MAX + 32];
	snprintf(bin, sizeof(bin), "%s/mukan-peerfarm", tool_dir);
	char *argv[] = { bin, "--cleanup", (char *)name, NULL };
	pid_t pid = spawn(argv, NULL, SIGKILL);
	if (pid > 0)
		reap(pid, DF_EXIT_TIMEOUT_MS);
}

/* ---- the janitor ------------------------------------------------------------ */

#define J_MAX 32
struct jlist {
	char item[J_MAX][256];
	unsigned n;
};

static void jadd(struct jlist *l, const char *s)
{
	if (l->n < J_MAX)
		snprintf(l->item[l->n++], sizeof(l->item[0]), "%s", s);
}

static void jdel(struct jlist *l, const char *s)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->item[i], s) == 0)
			l->item[i][0] = '\0';
}

static bool pid_gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Kill a process that is not ours to reap, and wait (bounded) until it is gone. */
static void kill_wait(pid_t pid, int sig)
{
	if (pid <= 1)
		return;
	kill(pid, sig);
	for (int i = 0; i < 300 && !pid_gone(pid); i++)
		df_sleep_ms(10);
}

static void janitor_main(int rfd)
{
	signal(SIGINT, SIG_IGN); /* a ^C of the run must still clean up */
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	static struct jlist kill9, farms, names, pins, cgs, dirs;
	char buf[4096];
	size_t len = 0;
	int64_t end = df_now_ms() + JANITOR_MAX_S * 1000LL;
	for (;;) {
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		if (df_now_ms() > end)
			break;
		if (poll(&p, 1, 1000) <= 0)
			continue;
		ssize_t n = read(rfd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			const char *arg = line + 2;
			switch (line[0]) {
			case 'X': _exit(0); /* the test cleaned up itself */
			case 'K': jadd(&kill9, arg); break;
			case 'T': jadd(&farms, arg); break;
			case 'U': jdel(&kill9, arg); jdel(&farms, arg); break;
			case 'F': jadd(&names, arg); break;
			case 'B': jadd(&pins, arg); break;
			case 'C': jadd(&cgs, arg); break;
			case 'D': jadd(&dirs, arg); break;
			default: break;
			}
			line = nl + 1;
		}
		len = strlen(line);
		memmove(buf, line, len + 1);
	}
	for (unsigned i = 0; i < kill9.n; i++)
		if (kill9.item[i][0])
			kill_wait((pid_t)atoi(kill9.item[i]), SIGKILL);
	for (unsigned i = 0; i < farms.n; i++)
		if (farms.item[i][0])
			kill_wait((pid_t)atoi(farms.item[i]), SIGTERM);
	for (unsigned i = 0; i < names.n; i++)
		farm_cleanup(names.item[i]);
	for (unsigned i = 0; i < pins.n; i++)
		remove_pins(pins.item[i]);
	for (unsigned i = 0; i < cgs.n; i++)
		remove_cgroup(cgs.item[i]);
	for (unsigned i = 0; i < dirs.n; i++)
		rm_rf(dirs.item[i]);
	_exit(0);
}

static void janitor_tell(char kind, const char *arg)
{
	if (janitor_fd < 0)
		return;
	char line[300];
	int n = snprintf(line, sizeof(line), "%c %s\n", kind, arg);
	if (write(janitor_fd, line, (size_t)n) != n) {
		/* the janitor is gone; .fini still cleans up */
	}
}

static void janitor_tell_pid(char kind, pid_t pid)
{
	char s[24];
	snprintf(s, sizeof(s), "%d", (int)pid);
	janitor_tell(kind, s);
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
	janitor_tell('X', "");
	close(janitor_fd);
	janitor_fd = -1;
	if (reap(janitor_pid, 3000) < 0) {
		kill(janitor_pid, SIGKILL);
		reap(janitor_pid, 1000);
	}
}

/* ---- setup and teardown --------------------------------------------------- */

static bool bpf_required(void)
{
	const char *v = getenv("MUKAN_REQUIRE_BPF");
	return v && strcmp(v, "1") == 0;
}

static void need_tool(const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", tool_dir, name);
	cr_assert_eq(access(path, X_OK), 0, "%s is not an executable (%s): build it first", path,
		     strerror(errno));
}

void df_setup(void)
{
	memset(&df, 0, sizeof(df));
	df.test_pid = getpid();
	if (geteuid() != 0) {
		if (bpf_required())
			cr_assert_fail("MUKAN_REQUIRE_BPF=1 but not root");
		cr_skip_test("needs root: the daemon tests make namespaces, cgroups and BPF pins");
	}
	const char *dir = getenv("MUKAN_BUILD");
	cr_assert(dir && *dir, "MUKAN_BUILD is not set: it must name the build directory "
			       "holding mukan-dialerd, mukan-peerfarm, mukan-dialctl");
	snprintf(tool_dir, sizeof(tool_dir), "%s", dir);
	need_tool("mukan-dialerd");
	need_tool("mukan-peerfarm");
	cr_assert_eq(access("/usr/bin/nsenter", X_OK), 0, "/usr/bin/nsenter is missing");
	char err[512];
	cr_assert_eq(kern_ensure_bpffs(err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(kern_cgroup2_mount(df.cg_root, sizeof(df.cg_root)), 0,
		     "no cgroup v2 hierarchy is mounted");
	snprintf(df.work, sizeof(df.work), "/tmp/mukan-it-%d-XXXXXX", (int)df.test_pid);
	cr_assert(mkdtemp(df.work), "mkdtemp: %s", strerror(errno));
	start_janitor();
	janitor_tell('D', df.work);
}

static void daemon_stop_hard(struct df_daemon *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	reap(d->pid, DF_EXIT_TIMEOUT_MS);
	janitor_tell_pid('U', d->pid);
	d->pid = 0;
}

void df_teardown(void)
{
	for (int i = 0; i < df.n_daemons; i++)
		daemon_stop_hard(&df.d[i]);
	if (df.farm.pid > 0) {
		kill(df.farm.pid, SIGTERM);
		if (reap(df.farm.pid, DF_EXIT_TIMEOUT_MS) < 0) {
			kill(df.farm.pid, SIGKILL);
			reap(df.farm.pid, DF_EXIT_TIMEOUT_MS);
		}
		df.farm.pid = 0;
	}
	if (df.farm.name[0] && df_exists(df.farm.ns_path))
		farm_cleanup(df.farm.name);
	json_decref(df.farm.manifest);
	df.farm.manifest = NULL;
	for (int i = 0; i < df.n_daemons; i++) {
		remove_pins(df.d[i].pin_dir);
		remove_cgroup(df.d[i].cgroup);
	}
	if (df.work[0])
		rm_rf(df.work);
	stop_janitor();
}

/* ---- files ------------------------------------------------------------------ */

bool df_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

void df_write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	cr_assert(f, "%s: %s", tmp, strerror(errno));
	cr_assert_eq(fputs(text, f) >= 0 && fclose(f) == 0, 1, "writing %s", tmp);
	cr_assert_eq(rename(tmp, path), 0, "rename %s: %s", path, strerror(errno));
}

char *df_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
		n += r;
		if (n + 1 == cap) {
			char *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

unsigned df_count_lines(const char *text)
{
	unsigned n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	size_t len = strlen(text);
	return n + (len > 0 && text[len - 1] != '\n');
}

/* ---- the farm -------------------------------------------------------------- */

void df_farm_file(const char *file, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", df.farm.dir, file);
}

void df_farm_start(const char *tag, const char *const extra[])
{
	struct df_farm *f = &df.farm;
	cr_assert_eq(f->pid, 0, "one farm per test");
	snprintf(f->dir, sizeof(f->dir), "%s/farm", df.work);
	snprintf(f->name, sizeof(f->name), "it%d-%s", (int)df.test_pid, tag);
	snprintf(f->ns_path, sizeof(f->ns_path), "/run/netns/mukanfarm-%s", f->name);
	snprintf(f->log, sizeof(f->log), "%s/farm.log", df.work);
	char bin[PATH_MAX + 32];
	snprintf(bin, sizeof(bin), "%s/mukan-peerfarm", tool_dir);
	char *argv[48];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = "--out";
	argv[n++] = f->dir;
	argv[n++] = "--name";
	argv[n++] = f->name;
	for (int i = 0; extra && extra[i] && n < 47; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	janitor_tell('F', f->name);
	f->pid = spawn(argv, f->log, SIGTERM);
	cr_assert(f->pid > 0, "fork: %s", strerror(errno));
	janitor_tell_pid('T', f->pid);

	char manifest[256];
	df_farm_file("manifest.json", manifest, sizeof(manifest));
	int64_t end = df_now_ms() + FARM_READY_TIMEOUT_MS;
	while (!df_exists(manifest)) { /* ends at the deadline or when the farm exits */
		int st = reap(f->pid, 0);
		if (st >= 0) {
			f->pid = 0;
			char *log = df_read_file(f->log, NULL);
			cr_assert_fail("mukan-peerfarm exited (status %d) before it was up:\n%s", st,
				       log ? log : "");
		}
		cr_assert(df_now_ms() < end, "no farm manifest within %d ms", FARM_READY_TIMEOUT_MS);
		df_sleep_ms(10);
	}
	json_error_t je;
	f->manifest = json_load_file(manifest, 0, &je);
	cr_assert(f->manifest, "manifest.json: %s", je.text);
}

int df_farm_stop(void)
{
	cr_assert(df.farm.pid > 0, "no farm running");
	kill(df.farm.pid, SIGTERM);
	int st = reap(df.farm.pid, DF_EXIT_TIMEOUT_MS);
	cr_assert(st >= 0, "mukan-peerfarm did not stop within %d ms", DF_EXIT_TIMEOUT_MS);
	janitor_tell_pid('U', df.farm.pid);
	df.farm.pid = 0;
	return st;
}

json_t *df_farm_peers(void)
{
	return json_object_get(df.farm.manifest, "peers");
}

const char *df_peer_str(json_t *peer, const char *key)
{
	const char *s = json_string_value(json_object_get(peer, key));
	return s ? s : "";
}

const char *df_peer_category(json_t *peer)
{
	return df_peer_str(peer, "category");
}

json_t *df_farm_peer_by_ip(const char *ip)
{
	size_t i;
	json_t *p;
	json_array_foreach(df_farm_peers(), i, p)
		if (strcmp(df_peer_str(p, "ip"), ip) == 0)
			return p;
	return NULL;
}

void df_peer_id(json_t *peer, uint8_t id[MUKAN_ID_LEN])
{
	const char *hex = df_peer_str(peer, "id");
	cr_assert_eq(node_id_parse(hex, strlen(hex), id), 0, "bad node ID '%s' in the manifest", hex);
}

json_t *df_farm_peer_by_id(const uint8_t id[MUKAN_ID_LEN])
{
	char hex[2 * MUKAN_ID_LEN + 1];
	node_id_format(id, hex);
	size_t i;
	json_t *p;
	json_array_foreach(df_farm_peers(), i, p)
		if (strcasecmp(df_peer_str(p, "id"), hex) == 0)
			return p;
	return NULL;
}

unsigned df_farm_count(const char *category)
{
	unsigned n = 0;
	size_t i;
	json_t *p;
	json_array_foreach(df_farm_peers(), i, p)
		n += strcmp(df_peer_category(p), category) == 0;
	return n;
}

char *df_farm_seeds(void)
{
	char path[256];
	df_farm_file("seeds.txt", path, sizeof(path));
	char *s = df_read_file(path, NULL);
	cr_assert(s, "%s: %s", path, strerror(errno));
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

/* ---- daemons ----------------------------------------------------------------- */

struct df_daemon *df_daemon_new(void)
{
	cr_assert_lt(df.n_daemons, DF_MAX_DAEMONS, "too many daemons in one test");
	int n = df.n_daemons;
	struct df_daemon *d = &df.d[n];
	memset(d, 0, sizeof(*d));
	d->n = n;
	snprintf(d->home, sizeof(d->home), "%s/home%d-XXXXXX", df.work, n);
	cr_assert(mkdtemp(d->home), "mkdtemp: %s", strerror(errno));
	snprintf(d->pin_dir, sizeof(d->pin_dir), KERN_BPFFS "/mukan-it-%d-%d", (int)df.test_pid, n);
	snprintf(d->cgroup, sizeof(d->cgroup), "%s/mukan-it-%d-%d", df.cg_root, (int)df.test_pid, n);
	char home[sizeof(d->home)];
	memcpy(home, d->home, sizeof(home));
	snprintf(d->control, sizeof(d->control), "%s/control.sock", home);
	snprintf(d->book, sizeof(d->book), "%s/addrbook.json", home);
	snprintf(d->conf, sizeof(d->conf), "%s/mukan-dialerd.conf", home);
	snprintf(d->log, sizeof(d->log), "%s/daemon%d.log", df.work, n);
	df.n_daemons++;
	janitor_tell('B', d->pin_dir);
	janitor_tell('C', d->cgroup);
	/* Leftovers of an earlier process with our pid. */
	remove_pins(d->pin_dir);
	remove_cgroup(d->cgroup);
	cr_assert_eq(mkdir(d->cgroup, 0755), 0, "mkdir %s: %s", d->cgroup, strerror(errno));
	return d;
}

void df_daemon_copy_farm_book(struct df_daemon *d)
{
	char src[256];
	size_t len;
	df_farm_file("addrbook.json", src, sizeof(src));
	char *text = df_read_file(src, &len);
	cr_assert(text, "%s: %s", src, strerror(errno));
	df_write_file(d->book, text);
	free(text);
}

void df_daemon_start(struct df_daemon *d, const char *const extra[])
{
	cr_assert_eq(d->pid, 0, "daemon %d is running already", d->n);
	char bin[PATH_MAX + 32], net[128];
	snprintf(bin, sizeof(bin), "%s/mukan-dialerd", tool_dir);
	snprintf(net, sizeof(net), "--net=%s", df.farm.ns_path);
	char *argv[64];
	int n = 0;
	if (df.farm.name[0]) {
		argv[n++] = "/usr/bin/nsenter";
		argv[n++] = net;
		argv[n++] = "--";
	}
	argv[n++] = bin;
	argv[n++] = "--home";
	argv[n++] = d->home;
	argv[n++] = "--pin-dir";
	argv[n++] = d->pin_dir;
	argv[n++] = "--cgroup";
	argv[n++] = d->cgroup;
	argv[n++] = "--control";
	argv[n++] = d->control;
	argv[n++] = "--no-strict";
	for (int i = 0; extra && extra[i] && n < 63; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	spawn_nofile = (struct rlimit){ .rlim_cur = d->nofile_soft, .rlim_max = d->nofile_hard };
	d->pid = spawn(argv, d->log, SIGKILL);
	spawn_nofile = (struct rlimit){ 0 };
	cr_assert(d->pid > 0, "fork: %s", strerror(errno));
	janitor_tell_pid('K', d->pid);
}

json_t *df_ask(const struct df_daemon *d, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(d->control) >= sizeof(sa.sun_path))
		return NULL;
	memcpy(sa.sun_path, d->control, strlen(d->control) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return NULL;
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return NULL;
	}
	char line[32];
	int len = snprintf(line, sizeof(line), "%s\n", request);
	if (send(s, line, (size_t)len, MSG_NOSIGNAL) != len) {
		close(s);
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	for (ssize_t r; buf && (r = recv(s, buf + n, cap - n - 1, 0)) > 0;) {
		n += (size_t)r;
		if (n + 1 == cap) {
			char *bigger = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	close(s);
	json_error_t je;
	json_t *answer = buf && n ? json_loadb(buf, n, 0, &je) : NULL;
	free(buf);
	return answer;
}

json_t *df_status(const struct df_daemon *d)
{
	json_t *st = df_ask(d, "status");
	cr_assert(st, "daemon %d (pid %d) did not answer 'status' on %s", d->n, (int)d->pid,
		  d->control);
	return st;
}

long long df_json_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	cr_assert(json_is_integer(v), "status has no integer '%s'", key);
	return json_integer_value(v);
}

unsigned df_peers_connected(json_t *peers, char ids[][2 * MUKAN_ID_LEN + 1], unsigned max)
{
	unsigned n = 0;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(peers, "peers"), i, p) {
		if (strcmp(df_peer_str(p, "state"), "connected") != 0)
			continue;
		if (ids && n < max) {
			const char *addr = df_peer_str(p, "addr");
			size_t idlen = strcspn(addr, "@");
			snprintf(ids[n], 2 * MUKAN_ID_LEN + 1, "%.*s", (int)idlen, addr);
		}
		n++;
	}
	return n;
}

unsigned df_peers_held_by(json_t *peers, const char *holder)
{
	unsigned n = 0;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(peers, "peers"), i, p)
		n += strcmp(df_peer_str(p, "state"), "connected") == 0 &&
		     strcmp(df_peer_str(p, "held_by"), holder) == 0;
	return n;
}

bool df_daemon_wait_ready(struct df_daemon *d, int timeout_ms)
{
	int64_t end = df_now_ms() + timeout_ms;
	while (df_now_ms() < end) { /* ends at the deadline */
		json_t *st = df_ask(d, "status");
		if (st) {
			json_decref(st);
			return true;
		}
		int code = reap(d->pid, 0);
		if (code >= 0) {
			janitor_tell_pid('U', d->pid);
			d->status = code;
			d->pid = 0;
			return false;
		}
		df_sleep_ms(20);
	}
	return false;
}

void df_daemon_start_ready(struct df_daemon *d, const char *const extra[])
{
	df_daemon_start(d, extra);
	if (!df_daemon_wait_ready(d, DF_START_TIMEOUT_MS)) {
		char *log = df_daemon_log(d);
		cr_assert_fail("daemon %d did not answer on its control socket within %d ms "
			       "(%s, status %d); its log:\n%s",
			       d->n, DF_START_TIMEOUT_MS, d->pid ? "running" : "exited", d->status,
			       log ? log : "");
	}
}

/* A daemon built with SAN=1 reports memory errors, UB and leaks in its log. */
static void expect_no_sanitizer_report(const struct df_daemon *d)
{
	char *log = df_daemon_log(d);
	cr_expect(!strstr(log, "AddressSanitizer") && !strstr(log, "LeakSanitizer") &&
			  !strstr(log, "runtime error:"),
		  "daemon %d: sanitizer report in its log:\n%s", d->n, log);
	free(log);
}

int df_daemon_wait(struct df_daemon *d, int timeout_ms)
{
	cr_assert(d->pid > 0, "daemon %d is not running", d->n);
	int st = reap(d->pid, timeout_ms);
	if (st >= 0) {
		janitor_tell_pid('U', d->pid);
		d->status = st;
		d->pid = 0;
		expect_no_sanitizer_report(d);
	}
	return st;
}

int df_daemon_run(struct df_daemon *d, const char *const extra[], int timeout_ms)
{
	df_daemon_start(d, extra);
	int st = df_daemon_wait(d, timeout_ms);
	if (st < 0) {
		char *log = df_daemon_log(d);
		cr_assert_fail("daemon %d still runs after %d ms; its log:\n%s", d->n, timeout_ms,
			       log ? log : "");
	}
	return st;
}

void df_daemon_signal(struct df_daemon *d, int sig)
{
	cr_assert(d->pid > 0, "daemon %d is not running", d->n);
	cr_assert_eq(kill(d->pid, sig), 0, "kill %d: %s", (int)d->pid, strerror(errno));
}

char *df_daemon_log(const struct df_daemon *d)
{
	char *s = df_read_file(d->log, NULL);
	return s ? s : strdup("");
}

bool df_wait_connected(const struct df_daemon *d, long long want, int timeout_ms,
		       long long *max_seen)
{
	int64_t end = df_now_ms() + timeout_ms;
	for (;;) { /* ends at the deadline */
		json_t *st = df_status(d);
		long long c = df_json_int(st, "outbound_connected");
		long long max = df_json_int(st, "max_outbound");
		json_decref(st);
		if (max_seen && c > *max_seen)
			*max_seen = c;
		cr_assert_leq(c, max, "outbound_connected %lld > max_outbound %lld", c, max);
		if (c == want)
			return true;
		if (df_now_ms() >= end)
			return false;
		df_sleep_ms(100);
	}
}

int df_try_run(char *const argv[], const char *log, int timeout_ms)
{
	pid_t pid = spawn(argv, log, SIGKILL);
	if (pid < 0)
		return -1;
	int st = reap(pid, timeout_ms);
	if (st < 0) {
		kill(pid, SIGKILL);
		reap(pid, 1000);
	}
	return st;
}

void df_tool_path(const char *name, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", tool_dir, name);
}

int df_run(char *const argv[], const char *log, int timeout_ms)
{
	pid_t pid = spawn(argv, log, SIGKILL);
	cr_assert(pid > 0, "fork: %s", strerror(errno));
	int st = reap(pid, timeout_ms);
	if (st < 0) {
		kill(pid, SIGKILL);
		reap(pid, 1000);
	}
	cr_assert_geq(st, 0, "%s did not finish within %d ms", argv[0], timeout_ms);
	return st;
}

/* ---- /proc ---------------------------------------------------------------------- */

int df_fd_count(pid_t pid, int *sockets)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	int n = 0, socks = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		char link[400], target[128];
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			socks += strncmp(target, "socket:", 7) == 0;
		}
	}
	closedir(dir);
	if (sockets)
		*sockets = socks;
	return n;
}

long df_rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long long df_cpu_ticks(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *s = df_read_file(path, NULL);
	if (!s)
		return -1;
	/* Fields after "(comm)": state is field 3; utime 14, stime 15. */
	char *p = strrchr(s, ')');
	long long ut = -1, stime = -1;
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut,
			&stime) == 2) {
		free(s);
		return ut + stime;
	}
	free(s);
	return -1;
}

static int tcp_count_file(const char *path, uint16_t rport)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[512];
	int n = 0;
	if (!fgets(line, sizeof(line), f)) { /* the header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char local[80], remote[80];
		unsigned st;
		if (sscanf(line, " %*d: %79s %79s %x", local, remote, &st) != 3)
			continue;
		const char *colon = strrchr(remote, ':');
		if (colon && st == 1 && strtoul(colon + 1, NULL, 16) == rport)
			n++;
	}
	fclose(f);
	return n;
}

int df_tcp_established(pid_t pid, uint16_t rport)
{
	char p4[64], p6[64];
	snprintf(p4, sizeof(p4), "/proc/%d/net/tcp", (int)pid);
	snprintf(p6, sizeof(p6), "/proc/%d/net/tcp6", (int)pid);
	return tcp_count_file(p4, rport) + tcp_count_file(p6, rport);
}

/* ---- the kernel side ----------------------------------------------------------- */

int df_prog_count(const char *cgroup, int attach_type)
{
	int fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(fd >= 0, "%s: %s", cgroup, strerror(errno));
	__u32 flags = 0, cnt = 0;
	int e = bpf_prog_query(fd, (enum bpf_attach_type)attach_type, 0, &flags, NULL, &cnt);
	int saved = errno;
	close(fd);
	cr_assert_eq(e, 0, "BPF_PROG_QUERY %s type %d: %s", cgroup, attach_type, strerror(saved));
	return (int)cnt;
}

bool df_live_record(const char *pin_dir, const uint8_t id[MUKAN_ID_LEN], struct mukan_peer *out)
{
	struct kern *k = NULL;
	char err[512];
	if (kern_open_pinned(&k, pin_dir, err, sizeof(err)) < 0)
		return false;
	bool found = false;
	const struct mukan_peer *slots = kern_slots(k);
	for (uint32_t i = 0; i < kern_capacity(k) && !found; i++) {
		if (slots[i].in_use && memcmp(slots[i].id, id, MUKAN_ID_LEN) == 0) {
			*out = slots[i];
			found = true;
		}
	}
	kern_close(k);
	return found;
}
