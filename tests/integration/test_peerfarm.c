/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_peerfarm.c - mukan-peerfarm run as the dialer will meet it.
 *
 * Each test starts $MUKAN_BUILD/mukan-peerfarm as a child with a small mix
 * and --out in a mkdtemp directory, waits for its manifest (the "ready"
 * file), joins the farm's namespace with setns() and dials: live peers
 * connect, closed ones refuse, black holes time out (a 300 ms deadline of
 * our own, not the kernel's 127 s), unreachable ones answer EHOSTUNREACH.
 * Then it stops the farm the ways an operator would and checks that
 * nothing is left: no /run/netns entry, no nftables table.
 *
 * Needs root; without it every test is skipped with the reason.
 */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>

#include "book/book.h"
#include "book/book_file.h"
#include "book/netaddr.h"

#define READY_TIMEOUT_MS 10000 /* setup takes ~0.1 s; a loaded CI box gets room */
#define EXIT_TIMEOUT_MS 5000
#define DIAL_DEADLINE_MS 300
#define NS_PREFIX "mukanfarm-"

/* ---- time and processes ------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: mukan-peerfarm creates network namespaces and nftables");
}

static const char *farm_bin(void)
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
static int wait_child(pid_t pid, int timeout_ms)
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
static pid_t start(char *const argv[], const char *log)
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
static int run(char *const argv[], const char *log)
{
	int st = wait_child(start(argv, log), EXIT_TIMEOUT_MS);
	cr_assert(st >= 0, "%s did not finish within %d ms", argv[0], EXIT_TIMEOUT_MS);
	return st;
}

static char *slurp(const char *path)
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

/* ---- one farm per test ---------------------------------------------- */

struct farm {
	pid_t pid;  /* 0 once reaped */
	int status; /* then: its exit status */
	char dir[64], name[48], ns_path[96], log[128];
	json_t *manifest;
};

static struct farm farm; /* the test's farm, for the fini that stops it */

static void farm_path(const struct farm *f, const char *file, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", f->dir, file);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Start mukan-peerfarm with extra flags (NULL-terminated); wait until it is up. */
static void farm_start(struct farm *f, const char *tag, const char *const extra[])
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/pftest-XXXXXX");
	cr_assert(mkdtemp(f->dir), "mkdtemp: %s", strerror(errno));
	snprintf(f->name, sizeof(f->name), "%s-%d", tag, (int)getpid());
	snprintf(f->ns_path, sizeof(f->ns_path), "/run/netns/" NS_PREFIX "%s", f->name);
	farm_path(f, "farm.log", f->log, sizeof(f->log));

	char *argv[40];
	int n = 0;
	argv[n++] = (char *)farm_bin();
	argv[n++] = "--out";
	argv[n++] = f->dir;
	argv[n++] = "--name";
	argv[n++] = f->name;
	for (int i = 0; extra && extra[i] && n < 39; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
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
	json_error_t je;
	f->manifest = json_load_file(manifest, 0, &je);
	cr_assert(f->manifest, "manifest.json: %s", je.text);
}

/* Wait for our farm to end by itself: its exit status. */
static int farm_wait(struct farm *f)
{
	if (f->pid > 0) {
		f->status = wait_child(f->pid, EXIT_TIMEOUT_MS);
		cr_assert(f->status >= 0, "mukan-peerfarm still runs after %d ms", EXIT_TIMEOUT_MS);
		f->pid = 0;
	}
	return f->status;
}

/* Signal our farm and wait for it: its exit status. */
static int farm_stop(struct farm *f, int sig)
{
	cr_assert(f->pid > 0);
	kill(f->pid, sig);
	int st = wait_child(f->pid, EXIT_TIMEOUT_MS);
	cr_assert(st >= 0, "mukan-peerfarm did not exit within %d ms of signal %d",
		  EXIT_TIMEOUT_MS, sig);
	f->pid = 0;
	return st;
}

static void rm_tree(const char *dir)
{
	char *argv[] = { "/bin/rm", "-rf", (char *)dir, NULL };
	if (dir[0])
		wait_child(start(argv, NULL), EXIT_TIMEOUT_MS);
}

/* After every test: stop a farm still running, remove leftovers, files. */
static void farm_fini(void)
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

TestSuite(peerfarm, .fini = farm_fini, .timeout = 60);

/* ---- dialing inside the farm ----------------------------------------- */

static int enter_ns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns %s: %s", path, strerror(errno));
	return fd;
}

static socklen_t peer_sockaddr(json_t *peer, struct sockaddr_storage *ss)
{
	const char *ip = json_string_value(json_object_get(peer, "ip"));
	int port = (int)json_integer_value(json_object_get(peer, "port"));
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

/*
 * Non-blocking connect with our own deadline: 0 connected (the socket in
 * *keep if asked, else closed), the errno, or ETIMEDOUT at the deadline.
 */
static int dial(json_t *peer, int deadline_ms, int *keep, int64_t *took_ms)
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

static const char *cat_of(json_t *peer)
{
	return json_string_value(json_object_get(peer, "category"));
}

static const char *ip_of(json_t *peer)
{
	return json_string_value(json_object_get(peer, "ip"));
}

static bool is_v6(json_t *peer)
{
	return json_integer_value(json_object_get(peer, "family")) == 6;
}

/* The first peer of a category, or NULL. */
static json_t *first_of(json_t *manifest, const char *cat)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(manifest, "peers"), i, p)
		if (strcmp(cat_of(p), cat) == 0)
			return p;
	return NULL;
}

/* ---- tests -------------------------------------------------------------- */

static const char *const small_mix[] = {
	"--live", "3", "--closed", "3", "--blackhole", "3", "--unreachable", "3", "--slow", "1",
	"--ipv6", "40", "--seed", "5", "--seeds", "2", NULL,
};

Test(peerfarm, every_category_behaves_on_the_wire)
{
	need_root();
	farm_start(&farm, "wire", small_mix);
	enter_ns(farm.ns_path);
	size_t i;
	json_t *p;
	unsigned seen[2][5] = { { 0 } }; /* [v6][category] */
	const char *cats[] = { "live", "closed", "blackhole", "unreachable", "slow" };
	json_array_foreach(json_object_get(farm.manifest, "peers"), i, p) {
		const char *cat = cat_of(p);
		int64_t took;
		int fd = -1, e;
		if (strcmp(cat, "live") == 0) {
			e = dial(p, DIAL_DEADLINE_MS, &fd, &took);
			cr_expect_eq(e, 0, "live %s: %s", ip_of(p), strerror(e));
			if (fd >= 0) {
				/* Held open: nothing to read, no hangup, and it takes our bytes. */
				sleep_ms(50);
				struct pollfd pf = { .fd = fd, .events = POLLIN | POLLRDHUP };
				cr_expect_eq(poll(&pf, 1, 0), 0, "live %s closed on us", ip_of(p));
				cr_expect_eq(write(fd, "hello", 5), 5);
				close(fd);
			}
		} else if (strcmp(cat, "closed") == 0) {
			e = dial(p, DIAL_DEADLINE_MS, NULL, &took);
			cr_expect_eq(e, ECONNREFUSED, "closed %s: %s", ip_of(p), strerror(e));
		} else if (strcmp(cat, "blackhole") == 0) {
			e = dial(p, DIAL_DEADLINE_MS, NULL, &took);
			cr_expect_eq(e, ETIMEDOUT, "blackhole %s: %s", ip_of(p), strerror(e));
			cr_expect_geq(took, DIAL_DEADLINE_MS - 5);
		} else if (strcmp(cat, "unreachable") == 0) {
			/*
			 * IPv4: at once. IPv6: the loopback delivers the ICMPv6 error
			 * while connect() still holds the socket, which keeps it as a
			 * soft error; the retransmitted SYN (1 s) gets the hard one.
			 */
			e = dial(p, is_v6(p) ? 2500 : DIAL_DEADLINE_MS, NULL, &took);
			cr_expect(e == EHOSTUNREACH || e == ENETUNREACH, "unreachable %s: %s",
				  ip_of(p), strerror(e));
		} else if (strcmp(cat, "slow") == 0) {
			e = dial(p, DIAL_DEADLINE_MS, NULL, &took);
			cr_expect_eq(e, ETIMEDOUT, "slow %s within %d ms: %s", ip_of(p),
				     DIAL_DEADLINE_MS, strerror(e));
			e = dial(p, 3000, NULL, &took);
			cr_expect_eq(e, 0, "slow %s within 3 s: %s", ip_of(p), strerror(e));
			cr_expect_geq(took, 800, "slow %s connected after %lld ms, before the delay",
				      ip_of(p), (long long)took);
		} else {
			cr_expect_fail("category %s not in the mix", cat);
		}
		for (int c = 0; c < 5; c++)
			seen[is_v6(p)][c] += strcmp(cat, cats[c]) == 0;
	}
	cr_expect_eq(json_array_size(json_object_get(farm.manifest, "peers")), 13);
	unsigned v6 = 0;
	for (int c = 0; c < 5; c++)
		v6 += seen[1][c];
	cr_expect(v6 > 0 && v6 < 13, "--ipv6 40 gave %u IPv6 addresses of 13", v6);
	cr_expect_eq(farm_stop(&farm, SIGTERM), 0);
}

Test(peerfarm, addrbook_and_seeds_hold_the_farm)
{
	need_root();
	farm_start(&farm, "book", small_mix);
	char path[128], err[512];
	farm_path(&farm, "addrbook.json", path, sizeof(path));
	struct book *b = NULL;
	struct book_opts bo = { .strict = false };
	struct book_file_opts fo = { 0 };
	int e = book_load(path, &bo, &fo, &b, err, sizeof(err));
	cr_assert_eq(e, 0, "book_load: %s", err);
	json_t *peers = json_object_get(farm.manifest, "peers");
	cr_expect_eq(book_size(b), json_array_size(peers));

	size_t i;
	json_t *p;
	unsigned seeds = 0;
	json_array_foreach(peers, i, p) {
		struct netaddr na;
		const char *addr = json_string_value(json_object_get(p, "addr"));
		cr_assert_eq(netaddr_parse(addr, NETADDR_NEED_ID, &na, NULL, 0, err, sizeof(err)),
			     0, "%s: %s", addr, err);
		int slot = book_find(b, na.id);
		cr_expect(slot >= 0, "%s is not in addrbook.json", addr);
		if (slot >= 0)
			cr_expect(mukan_addr_equal(&book_slot(b, (uint32_t)slot)->addr, &na.a),
				  "%s has another address in the book", addr);
		seeds += json_is_true(json_object_get(p, "seed"));
	}
	book_free(b);

	/* seeds.txt: id@ip:port,... naming exactly the peers marked seed, all live. */
	farm_path(&farm, "seeds.txt", path, sizeof(path));
	char *text = slurp(path), *save = NULL;
	unsigned listed = 0;
	text[strcspn(text, "\n")] = '\0';
	for (char *s = strtok_r(text, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		listed++;
		bool found = false;
		json_array_foreach(peers, i, p) {
			if (strcmp(json_string_value(json_object_get(p, "addr")), s) == 0) {
				found = true;
				cr_expect_str_eq(cat_of(p), "live", "seed %s", s);
				cr_expect(json_is_true(json_object_get(p, "seed")), "seed %s", s);
			}
		}
		cr_expect(found, "seed %s is not a farm peer", s);
	}
	free(text);
	cr_expect_eq(listed, 2);
	cr_expect_eq(seeds, 2);
	cr_expect_eq(farm_stop(&farm, SIGTERM), 0);
}

/* `nft list table inet mukanfarm` in the current namespace: its exit status. */
static int nft_list_table(void)
{
	char *argv[] = { "/usr/sbin/nft", "list", "table", "inet", "mukanfarm", NULL };
	return run(argv, NULL);
}

Test(peerfarm, sigterm_tears_everything_down)
{
	need_root();
	const char *const mix[] = { "--live", "2", "--blackhole", "2", "--unreachable", "1", NULL };
	farm_start(&farm, "term", mix);
	/* Hold the namespace open past the farm's end, to look inside afterwards. */
	int ns_fd = enter_ns(farm.ns_path);
	cr_assert_eq(nft_list_table(), 0, "the farm's table is missing while it runs");
	json_t *live = first_of(farm.manifest, "live");
	int fd = -1;
	cr_assert_eq(dial(live, DIAL_DEADLINE_MS, &fd, NULL), 0);

	int64_t t0 = now_ms();
	cr_expect_eq(farm_stop(&farm, SIGTERM), 0, "exit status after SIGTERM");
	cr_log_info("SIGTERM to exit: %lld ms", (long long)(now_ms() - t0));
	cr_expect(!exists(farm.ns_path), "%s is still there", farm.ns_path);
	cr_expect_neq(nft_list_table(), 0, "table inet mukanfarm outlived the farm");
	/* Its connections and listeners are closed too. */
	struct pollfd pf = { .fd = fd, .events = POLLIN | POLLRDHUP };
	cr_expect_eq(poll(&pf, 1, 1000), 1, "the held connection was not closed");
	close(fd);
	cr_expect_eq(dial(live, DIAL_DEADLINE_MS, NULL, NULL), ECONNREFUSED);
	close(ns_fd);
	char *log = slurp(farm.log);
	cr_expect(strstr(log, "removed"), "no teardown line in the log:\n%s", log);
	free(log);
}

Test(peerfarm, duration_ends_the_farm_by_itself)
{
	need_root();
	const char *const mix[] = { "--live", "1", "--duration", "300ms", NULL };
	farm_start(&farm, "dur", mix);
	int64_t t0 = now_ms();
	cr_expect_eq(farm_wait(&farm), 0, "exit status after --duration");
	cr_expect_leq(now_ms() - t0, 2000, "--duration 300ms took %lld ms",
		      (long long)(now_ms() - t0));
	cr_expect(!exists(farm.ns_path), "%s is still there", farm.ns_path);
}

Test(peerfarm, cleanup_removes_what_sigkill_left)
{
	need_root();
	const char *const mix[] = { "--closed", "1", "--blackhole", "1", NULL };
	farm_start(&farm, "kill", mix);
	cr_expect_eq(farm_stop(&farm, SIGKILL), 128 + SIGKILL);
	cr_assert(exists(farm.ns_path), "SIGKILL cannot clean up, yet %s is gone", farm.ns_path);
	/* The rules are still there, in a namespace nobody uses. */
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int ns_fd = enter_ns(farm.ns_path);
	cr_expect_eq(nft_list_table(), 0);
	cr_assert_eq(setns(home, CLONE_NEWNET), 0);
	close(home);

	char log[128];
	farm_path(&farm, "cleanup.log", log, sizeof(log));
	char *argv[] = { (char *)farm_bin(), "--cleanup", farm.name, NULL };
	cr_expect_eq(run(argv, log), 0);
	cr_expect(!exists(farm.ns_path), "%s survived --cleanup", farm.ns_path);
	/* Still inside through ns_fd: the table went with the cleanup, not only the name. */
	cr_assert_eq(setns(ns_fd, CLONE_NEWNET), 0);
	cr_expect_neq(nft_list_table(), 0, "--cleanup left table inet mukanfarm");
	close(ns_fd);
	cr_expect_eq(run(argv, log), 0, "a second --cleanup has nothing to do, and says so");
	char *text = slurp(log);
	cr_expect(strstr(text, "removed namespace") && strstr(text, "nothing to clean up"),
		  "cleanup log:\n%s", text);
	free(text);
}

Test(peerfarm, cleanup_leaves_a_running_farm_alone)
{
	need_root();
	const char *const mix[] = { "--live", "1", NULL };
	farm_start(&farm, "busy", mix);
	char *argv[] = { (char *)farm_bin(), "--cleanup", farm.name, NULL };
	cr_expect_eq(run(argv, NULL), 1, "--cleanup of a running farm must refuse");
	cr_expect(exists(farm.ns_path));
	cr_expect_eq(farm_stop(&farm, SIGTERM), 0);
}

Test(peerfarm, a_taken_name_fails_without_touching_the_other_farm)
{
	need_root();
	const char *const mix[] = { "--live", "1", NULL };
	farm_start(&farm, "twice", mix);
	/* The same name and the same --out: the second farm must touch neither. */
	char log[128], manifest[128];
	farm_path(&farm, "second.log", log, sizeof(log));
	farm_path(&farm, "manifest.json", manifest, sizeof(manifest));
	char *argv[] = { (char *)farm_bin(), "--out", farm.dir, "--name", farm.name, "--live",
			 "1", NULL };
	cr_expect_eq(run(argv, log), 1);
	char *text = slurp(log);
	cr_expect(strstr(text, "exists"), "no reason given:\n%s", text);
	free(text);
	cr_expect(exists(farm.ns_path), "the second farm removed the first one's namespace");
	cr_expect(exists(manifest), "the second farm removed the first one's manifest");
	enter_ns(farm.ns_path);
	cr_expect_eq(dial(first_of(farm.manifest, "live"), DIAL_DEADLINE_MS, NULL, NULL), 0);
	cr_expect_eq(farm_stop(&farm, SIGTERM), 0);
}

Test(peerfarm, an_error_after_setup_tears_down)
{
	need_root();
	char dir[] = "/tmp/pftest3-XXXXXX", book[64], log[64], name[48];
	cr_assert(mkdtemp(dir));
	/* addrbook.json is a directory: the book is written after the network is up. */
	snprintf(book, sizeof(book), "%s/addrbook.json", dir);
	cr_assert_eq(mkdir(book, 0755), 0);
	snprintf(log, sizeof(log), "%s/farm.log", dir);
	snprintf(name, sizeof(name), "err-%d", (int)getpid());
	char *argv[] = { (char *)farm_bin(), "--out", dir, "--name", name, "--live", "1", NULL };
	cr_expect_eq(run(argv, log), 1);
	char ns_path[96];
	snprintf(ns_path, sizeof(ns_path), "/run/netns/" NS_PREFIX "%s", name);
	cr_expect(!exists(ns_path), "%s left behind after an error", ns_path);
	char *text = slurp(log);
	cr_expect(strstr(text, "addrbook.json") && strstr(text, "tearing down"), "log:\n%s", text);
	free(text);
	rm_tree(dir);
}

Test(peerfarm, flapping_goes_down_and_comes_back)
{
	need_root();
	const char *const mix[] = { "--flapping", "1", "--flap-up", "200ms", "--flap-down",
				    "200ms", NULL };
	farm_start(&farm, "flap", mix);
	enter_ns(farm.ns_path);
	json_t *p = first_of(farm.manifest, "flapping");
	unsigned up = 0, down = 0, other = 0, dropped = 0;
	int held = -1;
	for (int64_t end = now_ms() + 1200; now_ms() < end; sleep_ms(20)) {
		int fd = -1;
		int e = dial(p, DIAL_DEADLINE_MS, &fd, NULL);
		if (e == 0) {
			up++;
			if (held < 0)
				held = fd;
			else
				close(fd);
		} else {
			down += e == ECONNREFUSED;
			other += e != ECONNREFUSED;
		}
		/* Going down closes the connections it accepted. */
		struct pollfd pf = { .fd = held, .events = POLLIN | POLLRDHUP };
		if (held >= 0 && poll(&pf, 1, 0) == 1) {
			dropped++;
			close(held);
			held = -1;
		}
	}
	if (held >= 0)
		close(held);
	cr_expect(up > 0 && down > 0, "up %u, refused %u times in 1.2 s", up, down);
	cr_expect_eq(other, 0, "%u dials failed otherwise", other);
	cr_expect(dropped > 0, "no held connection was closed when the peer went down");
	cr_expect_eq(farm_stop(&farm, SIGTERM), 0);
}

Test(peerfarm, one_seed_one_network)
{
	need_root();
	const char *const seven[] = { "--seed", "7", "--total", "30", "--ipv6", "20", "--duration",
				      "100ms", NULL };
	const char *const eight[] = { "--seed", "8", "--total", "30", "--ipv6", "20", "--duration",
				      "100ms", NULL };
	json_t *peers[3];
	for (int run_no = 0; run_no < 3; run_no++) {
		farm_start(&farm, "seed", run_no < 2 ? seven : eight);
		cr_expect_eq(farm_wait(&farm), 0);
		peers[run_no] = json_incref(json_object_get(farm.manifest, "peers"));
		json_t *counts = json_object_get(farm.manifest, "counts");
		/* The default mix of 30: 3 live, 12 closed, 12 blackhole, 1 of each other. */
		cr_expect_eq(json_integer_value(json_object_get(counts, "live")), 3);
		cr_expect_eq(json_integer_value(json_object_get(counts, "closed")), 12);
		cr_expect_eq(json_integer_value(json_object_get(counts, "flapping")), 1);
		cr_expect_eq(json_array_size(peers[run_no]), 30);
		farm_fini();
	}
	cr_expect(json_equal(peers[0], peers[1]), "--seed 7 twice gave two networks");
	cr_expect(!json_equal(peers[0], peers[2]), "--seed 7 and 8 gave the same network");
	for (int k = 0; k < 3; k++)
		json_decref(peers[k]);
}

Test(peerfarm, help_documents_every_flag_and_usage_errors_exit_2)
{
	char log[] = "/tmp/pfhelp-XXXXXX";
	int fd = mkstemp(log);
	cr_assert(fd >= 0);
	close(fd);
	char *argv[] = { (char *)farm_bin(), "--help", NULL };
	cr_expect_eq(run(argv, log), 0);
	char *text = slurp(log);
	unlink(log);
	const char *flags[] = { "--name", "--out", "--seed", "--port", "--ipv6", "--seeds",
				"--mukan", "--total", "--live", "--closed", "--blackhole",
				"--unreachable", "--slow", "--flapping", "--slow-delay",
				"--flap-up", "--flap-down", "--duration", "--max-conns",
				"--cleanup", "EXAMPLES:", "SIGKILL" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		cr_expect(strstr(text, flags[i]), "--help does not mention %s", flags[i]);
	free(text);
	/* Usage errors exit 2, before anything is created. */
	char *no_out[] = { (char *)farm_bin(), "--live", "1", NULL };
	char *too_many[] = { (char *)farm_bin(), "--out", "/tmp", "--live", "999999", NULL };
	char *bad_name[] = { (char *)farm_bin(), "--cleanup", "a/b", NULL };
	cr_expect_eq(run(no_out, NULL), 2);
	cr_expect_eq(run(too_many, NULL), 2);
	cr_expect_eq(run(bad_name, NULL), 2);
}
