/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_peerfarm.c - what one mukan-peerfarm process serves: a farm of
 * 2,000 live peers (one io_uring, no thread per peer), dialed by this
 * benchmark through user/wire/ (tests/support/farm_client.c). Both sides
 * share this machine's cores, so the farm's own CPU time is measured too.
 *
 *  1. handshakes: every peer put through the SecretConnection and the
 *     NodeInfo exchange, 256 at a time; 3 rounds of 2,000, the median:
 *     handshakes/s, and the farm's CPU time per handshake (its
 *     /proc/PID/schedstat over the round);
 *  2. held: 2,000 sessions open at once; the farm's VmRSS idle and with
 *     them: KiB per held session;
 *  3. PEX: each held session asks once for addresses: replies/s.
 *
 * Lines: bench: peerfarm_handshakes_per_s, peerfarm_cpu_us_per_handshake,
 * peerfarm_kib_per_session, peerfarm_pex_replies_per_s. Exit 77 when not
 * root (namespaces).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "book/netaddr.h"
#include "support/farm_client.h"

#define PEERS 2000
#define WINDOW 256
#define ROUNDS 3
#define SEED "11" /* a seed whose 2,000 addresses all fit the book's buckets */

static pid_t spawn(char *const argv[], const char *log)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "w", stdout);
		if (f)
			dup2(fileno(f), 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Time the process has run on a CPU, in ns (schedstat's first field). */
static int64_t cpu_ns(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	FILE *f = fopen(path, "r");
	long long ns = -1;
	if (f) {
		if (fscanf(f, "%lld", &ns) != 1)
			ns = -1;
		fclose(f);
	}
	return ns;
}

/* User and system CPU time of the process, in clock ticks (/proc/PID/stat fields 14, 15). */
static void cpu_split(pid_t pid, unsigned long long *user, unsigned long long *sys)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	*user = *sys = 0;
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the name may hold spaces */
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", user, sys) != 2)
		*user = *sys = 0;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct target {
	char ip[IP_STRLEN];
	uint16_t port;
	uint8_t id[MUKAN_ID_LEN];
};

static void dial(struct fc_session *s, const struct target *t, const char *network)
{
	if (fc_start(s, t->ip, t->port, t->id, network, 30000) < 0) {
		fprintf(stderr, "bench_peerfarm: cannot start a session\n");
		exit(1);
	}
}

/* Every target through the handshake, WINDOW at a time: how many opened. */
static size_t handshake_round(const struct target *t, size_t n, const char *network)
{
	static struct fc_session ss[WINDOW];
	struct fc_session *sp[WINDOW];
	size_t ok = 0;
	for (size_t at = 0; at < n; at += WINDOW) {
		size_t k = n - at < WINDOW ? n - at : WINDOW;
		for (size_t j = 0; j < k; j++) {
			dial(&ss[j], &t[at + j], network);
			sp[j] = &ss[j];
		}
		fc_many(sp, k, FC_SESSION, 30000);
		for (size_t j = 0; j < k; j++) {
			ok += ss[j].state == FC_SESSION;
			fc_free(&ss[j]);
		}
	}
	return ok;
}

static int load_targets(const char *manifest, struct target *t, char *network, size_t netsz)
{
	json_error_t je;
	json_t *m = json_load_file(manifest, 0, &je);
	if (!m)
		return -1;
	snprintf(network, netsz, "%s", json_string_value(json_object_get(m, "network")));
	size_t i, n = 0;
	json_t *p;
	json_array_foreach(json_object_get(m, "peers"), i, p) {
		if (n == PEERS)
			break;
		const char *id = json_string_value(json_object_get(p, "id"));
		snprintf(t[n].ip, sizeof(t[n].ip), "%s",
			 json_string_value(json_object_get(p, "ip")));
		t[n].port = (uint16_t)json_integer_value(json_object_get(p, "port"));
		if (!id || node_id_parse(id, strlen(id), t[n].id) < 0)
			break;
		n++;
	}
	json_decref(m);
	return (int)n;
}

static int run(const char *build)
{
	char dir[] = "/tmp/mukan-benchfarm-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char out[128], name[64], log[160], manifest[160], bin[300], nspath[128], network[64];
	snprintf(out, sizeof(out), "%s/farm", dir);
	snprintf(name, sizeof(name), "bench%d", (int)getpid());
	snprintf(log, sizeof(log), "%s/farm.log", dir);
	snprintf(manifest, sizeof(manifest), "%s/manifest.json", out);
	snprintf(bin, sizeof(bin), "%s/mukan-peerfarm", build);
	snprintf(nspath, sizeof(nspath), "/run/netns/mukanfarm-%s", name);
	char *argv[] = { bin, "--out", out, "--name", name, "--live", "2000", "--seed", SEED,
			 "--max-conns", "4096", "--duration", "600s", NULL };
	double t0 = fc_now_ns() / 1e9;
	pid_t farm = spawn(argv, log);
	struct stat st;
	for (int i = 0; i < 600 && stat(manifest, &st) != 0; i++)
		usleep(50000);
	double up = fc_now_ns() / 1e9 - t0;
	static struct target t[PEERS];
	int n = stat(manifest, &st) == 0 ? load_targets(manifest, t, network, sizeof(network)) : -1;
	int fd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (n != PEERS || fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "bench_peerfarm: the farm did not come up (%s, see %s)\n", bin, log);
		stop(farm);
		return 1;
	}
	close(fd);
	printf("mukan-peerfarm: %d live peers up in %.2f s (keys, listeners, book, manifest)\n",
	       n, up);

	double rate[ROUNDS], cpu_us[ROUNDS];
	unsigned long long u0, s0, u1, s1;
	cpu_split(farm, &u0, &s0);
	for (int r = 0; r < ROUNDS; r++) {
		int64_t c0 = cpu_ns(farm), w0 = fc_now_ns();
		size_t ok = handshake_round(t, (size_t)n, network);
		double secs = (double)(fc_now_ns() - w0) / 1e9;
		rate[r] = (double)ok / secs;
		cpu_us[r] = (double)(cpu_ns(farm) - c0) / 1e3 / (double)(ok ? ok : 1);
		printf("  round %d: %zu of %d handshakes (SecretConnection + NodeInfo) in %.2f s: "
		       "%.0f/s; farm CPU %.0f us each\n", r + 1, ok, n, secs, rate[r], cpu_us[r]);
		if (ok != (size_t)n) {
			stop(farm);
			return 1;
		}
	}

	cpu_split(farm, &u1, &s1);
	if (u1 + s1 > u0 + s0)
		printf("  the farm's CPU in these rounds: %.0f%% user (crypto, protocol), %.0f%% "
		       "system (TCP, io_uring)\n", 100.0 * (double)(u1 - u0) / (double)(u1 + s1 - u0 - s0),
		       100.0 * (double)(s1 - s0) / (double)(u1 + s1 - u0 - s0));
	long idle = rss_kib(farm);
	static struct fc_session held[PEERS];
	static struct fc_session *hp[PEERS];
	for (int i = 0; i < n; i++) {
		dial(&held[i], &t[i], network);
		hp[i] = &held[i];
	}
	fc_many(hp, (size_t)n, FC_SESSION, 60000);
	size_t open_n = 0;
	for (int i = 0; i < n; i++)
		open_n += held[i].state == FC_SESSION;
	long busy = rss_kib(farm);
	double kib = open_n ? (double)(busy - idle) / (double)open_n : 0;
	printf("  held: %zu sessions open at once; farm VmRSS %ld KiB idle, %ld KiB with them: "
	       "%.1f KiB per session\n", open_n, idle, busy, kib);

	int64_t w0 = fc_now_ns();
	for (int i = 0; i < n; i++)
		if (held[i].state == FC_SESSION)
			fc_request_addrs(&held[i]);
	size_t replies = 0;
	for (int64_t end = fc_now_ns() + 30000000000LL; replies < open_n && fc_now_ns() < end;) {
		replies = 0;
		for (int i = 0; i < n; i++) {
			if (held[i].state == FC_SESSION && held[i].n_pex_in == 0)
				fc_pump(&held[i], 0);
			replies += held[i].n_pex_in > 0;
		}
	}
	double pex_s = (double)(fc_now_ns() - w0) / 1e9;
	printf("  PEX: %zu replies (32 addresses each) in %.2f s: %.0f/s\n", replies, pex_s,
	       (double)replies / pex_s);
	for (int i = 0; i < n; i++)
		fc_free(&held[i]);
	stop(farm);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);

	qsort(rate, ROUNDS, sizeof(rate[0]), cmp);
	qsort(cpu_us, ROUNDS, sizeof(cpu_us[0]), cmp);
	printf("bench: peerfarm_handshakes_per_s %.0f\n", rate[ROUNDS / 2]);
	printf("bench: peerfarm_cpu_us_per_handshake %.0f us\n", cpu_us[ROUNDS / 2]);
	printf("bench: peerfarm_kib_per_session %.1f KiB\n", kib);
	printf("bench: peerfarm_pex_replies_per_s %.0f\n", (double)replies / pex_s);
	return open_n == (size_t)n && replies == open_n ? 0 : 1;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("bench_peerfarm: skipped: needs root (network namespaces)\n");
		return 77;
	}
	/* 2,000 sessions held at once, plus the test's own descriptors. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	const char *build = getenv("MUKAN_BUILD") ? getenv("MUKAN_BUILD") : "build";
	return run(build);
}
