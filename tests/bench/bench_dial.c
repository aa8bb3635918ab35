/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_dial.c - the io_uring dial engine against the two usual ways of
 * dialing, on loopback and against black-holed addresses, in a private
 * network namespace (root; exit 77 otherwise, or 1 when MUKAN_REQUIRE_BPF=1).
 *
 * Loopback, N_DIALS dials per run, ROUNDS interleaved rounds, medians:
 *   engine      engine_dial / engine_wait, a window of K
 *   sequential  socket + blocking connect, one at a time
 *   epoll       K non-blocking connects, epoll_wait, getsockopt(SO_ERROR)
 *   uring-plain socket() per dial, then CONNECT + LINK_TIMEOUT in a ring,
 *               getsockopt(TCP_INFO) to confirm: the design the engine did
 *               not take, measured beside it
 * Every variant ends a connection the same way (SO_LINGER {1, 0} + close:
 * an RST, so no TIME_WAIT piles up), and a thread accepts and closes on the
 * listener side. The dialing thread and the acceptor are pinned to different
 * CPUs (when there are two), so neither preempts the other: unpinned, the
 * count of involuntary context switches of the dialer swung from 100 to
 * 10,000 per run with the timing alone, and their cost swamped the figures.
 * CPU is user + system time from getrusage: "dialer" is the dialing thread
 * (RUSAGE_THREAD), "total" the whole process, acceptor included (loopback
 * charges the receive work of a packet to whichever thread sent it, so only
 * the total is free of that accident; the acceptor's own share is the same
 * in every variant).
 *
 * System calls per dial: the engine counts its own io_uring_enter calls
 * (engine_stats.enters, which strace confirms); the other variants count
 * each call where they make it. "dial" syscalls leave out the two per
 * connection every variant spends on the caller's RST close.
 *
 * Timeouts: N_TIMEOUT dials to black-holed addresses (routed into a veth
 * whose far end drops them), TIMEOUT_MS each, at most K_TIMEOUT in flight:
 * the engine's link timeouts against an epoll loop that connects a wave,
 * waits for one shared deadline, and closes what did not answer.
 *
 * Output: readable lines, and `bench: <name> <value> <unit>` lines.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "support/netns_lo.h"
#include "engine/engine.h"

#define N_DIALS 20000
#define K 64
#define ROUNDS 5
#define N_TIMEOUT 2000
#define K_TIMEOUT 500
#define TIMEOUT_MS 200
#define LOOPBACK_TIMEOUT_MS 2000

enum variant { V_ENGINE, V_SEQUENTIAL, V_EPOLL, V_URING_PLAIN, V_COUNT };
static const char *const variant_name[V_COUNT] = { "engine", "sequential", "epoll", "uring-plain" };

struct run {
	double cpu_s;	/* the dialing thread */
	double total_s; /* the process: dialer and acceptor */
	double wall_s;
	uint64_t dial_syscalls; /* without the RST close */
	unsigned ok, failed;
};

static void machine(const char *name, double value, const char *unit)
{
	bool whole = value >= 1000 || value == (double)(long long)value;
	printf("bench: %s %.*f %s\n", name, whole ? 0 : 4, value, unit);
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rusage_s(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU of the calling (dialing) thread and of the process, at the start of a run. */
struct clocks {
	double thread, total, wall;
};

static struct clocks clocks_start(void)
{
	struct clocks c = { rusage_s(RUSAGE_THREAD), rusage_s(RUSAGE_SELF), 0 };
	c.wall = wall_now();
	return c;
}

static void clocks_stop(const struct clocks *c, struct run *out)
{
	out->cpu_s = rusage_s(RUSAGE_THREAD) - c->thread;
	out->total_s = rusage_s(RUSAGE_SELF) - c->total;
	out->wall_s = wall_now() - c->wall;
}

static void pin_to(int cpu)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the namespace ---------------------------------------------------- */


/* 10.77.0.0/16 goes to a gateway whose MAC nobody on the veth owns: SYNs vanish. */
static int blackhole_setup(void)
{
	return system("ip link add mkbh0 type veth peer name mkbh1 && ip link set mkbh0 up && "
		      "ip link set mkbh1 up && ip addr add 10.76.0.1/24 dev mkbh0 && "
		      "ip neigh add 10.76.0.2 lladdr 02:00:00:00:76:02 dev mkbh0 nud permanent && "
		      "ip route add 10.77.0.0/16 via 10.76.0.2");
}

static int skip(const char *why)
{
	const char *req = getenv("MUKAN_REQUIRE_BPF");
	bool required = req && strcmp(req, "1") == 0;
	fprintf(stderr, "bench_dial: %s%s\n", why, required ? " (MUKAN_REQUIRE_BPF=1: failing)" : ", skipped");
	return required ? 1 : 77;
}

/* Accepts and closes until the listener is shut down. */
static void *acceptor_main(void *arg)
{
	int lfd = *(int *)arg;
	pin_to(1);
	for (;;) {
		int a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (a >= 0)
			close(a);
		else if (errno != EINTR && errno != ECONNABORTED)
			return NULL;
	}
}

/* ---- ending a connection the same way in every variant ---------------- */

static void rst_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* ---- (a) the engine --------------------------------------------------- */

static int ring_for(struct io_uring *ring, unsigned k, unsigned flags)
{
	unsigned entries = 64;
	while (entries < k * ENGINE_SQES_PER_DIAL)
		entries <<= 1;
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | flags;
	p.cq_entries = entries;
	while (p.cq_entries < k * ENGINE_CQES_PER_DIAL)
		p.cq_entries <<= 1;
	return io_uring_queue_init_params(entries, ring, &p);
}

static int run_engine(const struct mukan_addr *dst, unsigned n_addr, unsigned n, unsigned k,
		      unsigned timeout_ms, unsigned ring_flags, struct run *out)
{
	struct io_uring ring;
	struct engine *e;
	int r = ring_for(&ring, k, ring_flags);
	if (r < 0)
		return r;
	struct engine_opts o = { .max_inflight = k, .timeout_ms = timeout_ms };
	r = engine_new(&e, &ring, &o);
	if (r < 0) {
		io_uring_queue_exit(&ring);
		return r;
	}
	struct dial_result *res = calloc(k, sizeof(*res));
	if (!res) {
		engine_free(e);
		io_uring_queue_exit(&ring);
		return -ENOMEM;
	}
	memset(out, 0, sizeof(*out));
	struct clocks c0 = clocks_start();
	unsigned issued = 0, done = 0;
	/* Bounded: every pass waits up to a second for at least one result. */
	for (unsigned pass = 0; done < n && pass < 4 * n + 100; pass++) {
		while (issued < n && engine_dial(e, &dst[issued % n_addr], issued) == 0)
			issued++;
		int m = engine_wait(e, res, k, timeout_ms + 1000);
		if (m < 0) {
			r = m;
			break;
		}
		for (int j = 0; j < m; j++) {
			if (res[j].outcome == DIAL_CONNECTED) {
				rst_close(res[j].fd);
				out->ok++;
			} else {
				out->failed++;
			}
		}
		done += (unsigned)m;
	}
	clocks_stop(&c0, out);
	struct engine_stats st;
	engine_get_stats(e, &st);
	out->dial_syscalls = st.enters;
	free(res);
	engine_free(e);
	io_uring_queue_exit(&ring);
	return done == n ? 0 : r < 0 ? r : -ETIMEDOUT;
}

/* ---- (b) sequential blocking connect ---------------------------------- */

static void run_sequential(const struct sockaddr_in *dst, unsigned n, struct run *out)
{
	memset(out, 0, sizeof(*out));
	struct clocks c0 = clocks_start();
	for (unsigned i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		out->dial_syscalls++;
		if (fd < 0) {
			out->failed++;
			continue;
		}
		out->dial_syscalls++;
		if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) == 0)
			out->ok++;
		else
			out->failed++;
		rst_close(fd);
	}
	clocks_stop(&c0, out);
}

/* ---- (c) an epoll window of K ----------------------------------------- */

/* socket + non-blocking connect + EPOLL_CTL_ADD; the fd, or -1 (counted as failed). */
static int epoll_start(int ep, const struct sockaddr_in *dst, struct run *out)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	out->dial_syscalls++;
	if (fd < 0)
		return -1;
	out->dial_syscalls++;
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
		close(fd);
		out->dial_syscalls++;
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };
	out->dial_syscalls++;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		out->dial_syscalls++;
		return -1;
	}
	return fd;
}

static int run_epoll(const struct sockaddr_in *dst, unsigned n, unsigned k, struct run *out)
{
	memset(out, 0, sizeof(*out));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	struct epoll_event evs[K];
	struct clocks c0 = clocks_start();
	unsigned issued = 0, done = 0, inflight = 0;
	for (unsigned pass = 0; done < n && pass < 4 * n + 100; pass++) {
		while (issued < n && inflight < k) {
			issued++;
			if (epoll_start(ep, dst, out) >= 0) {
				inflight++;
			} else {
				out->failed++;
				done++;
			}
		}
		int m = epoll_wait(ep, evs, K, LOOPBACK_TIMEOUT_MS);
		out->dial_syscalls++;
		for (int j = 0; j < m; j++) {
			int fd = evs[j].data.fd, err = 0;
			socklen_t len = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
			out->dial_syscalls++;
			if (err == 0)
				out->ok++;
			else
				out->failed++;
			rst_close(fd); /* the close also leaves the epoll set */
			inflight--;
			done++;
		}
	}
	clocks_stop(&c0, out);
	close(ep);
	return done == n ? 0 : -ETIMEDOUT;
}

/* ---- (d) io_uring with ordinary sockets -------------------------------- */

#define PLAIN_TIMEOUT_TAG (1ULL << 63)

static int run_uring_plain(const struct sockaddr_in *dst, unsigned n, unsigned k, struct run *out)
{
	struct io_uring ring;
	int r = io_uring_queue_init(256, &ring, 0);
	if (r < 0)
		return r;
	struct __kernel_timespec ts = { .tv_sec = LOOPBACK_TIMEOUT_MS / 1000 };
	int fds[K];
	unsigned free_slots[K], n_free = k;
	for (unsigned j = 0; j < k; j++)
		free_slots[j] = j;
	memset(out, 0, sizeof(*out));
	struct clocks c0 = clocks_start();
	unsigned issued = 0, done = 0;
	for (unsigned pass = 0; done < n && pass < 4 * n + 100; pass++) {
		while (issued < n && n_free > 0) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			out->dial_syscalls++;
			issued++;
			if (fd < 0) {
				out->failed++;
				done++;
				continue;
			}
			unsigned s = free_slots[--n_free];
			fds[s] = fd;
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			io_uring_prep_connect(sqe, fd, (const struct sockaddr *)dst, sizeof(*dst));
			sqe->flags |= IOSQE_IO_LINK;
			sqe->user_data = s;
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_link_timeout(sqe, &ts, 0);
			sqe->user_data = PLAIN_TIMEOUT_TAG | s;
		}
		struct io_uring_cqe *cqe;
		out->dial_syscalls++;
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR)
			break;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			seen++;
			if (cqe->user_data & PLAIN_TIMEOUT_TAG)
				continue;
			unsigned s = (unsigned)cqe->user_data;
			int fd = fds[s];
			bool ok = false;
			if (cqe->res == 0) {
				/*
				 * The check the engine makes, as a system call: ESTABLISHED,
				 * or CLOSE_WAIT when the acceptor's FIN came first.
				 */
				struct tcp_info ti;
				socklen_t len = sizeof(ti);
				out->dial_syscalls++;
				ok = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
				     (ti.tcpi_state == TCP_ESTABLISHED || ti.tcpi_state == TCP_CLOSE_WAIT);
			}
			if (ok) {
				out->ok++;
				rst_close(fd);
			} else {
				out->failed++;
				close(fd);
				out->dial_syscalls++;
			}
			free_slots[n_free++] = s;
			done++;
		}
		io_uring_cq_advance(&ring, seen);
	}
	clocks_stop(&c0, out);
	/* Link timeouts of the last dials may still be armed: the ring's exit cancels them. */
	io_uring_queue_exit(&ring);
	return done == n ? 0 : -ETIMEDOUT;
}

/* ---- timed-out dials: epoll with one shared deadline ------------------- */

static int run_epoll_deadline(const struct sockaddr_in *dst, unsigned n, unsigned k, struct run *out)
{
	memset(out, 0, sizeof(*out));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	int *wave = calloc(k, sizeof(*wave));
	struct epoll_event *evs = calloc(k, sizeof(*evs));
	if (!wave || !evs) {
		free(wave);
		free(evs);
		close(ep);
		return -ENOMEM;
	}
	struct clocks c0 = clocks_start();
	for (unsigned base = 0; base < n; base += k) {
		unsigned m = n - base < k ? n - base : k;
		for (unsigned j = 0; j < m; j++)
			wave[j] = epoll_start(ep, &dst[base + j], out);
		double deadline = wall_now() + TIMEOUT_MS / 1000.0;
		unsigned answered = 0;
		/* Bounded: each pass either collects events or runs into the deadline. */
		for (unsigned pass = 0; pass < m + 2; pass++) {
			int left = (int)((deadline - wall_now()) * 1000);
			if (left <= 0 || answered == m)
				break;
			int got = epoll_wait(ep, evs, (int)k, left);
			out->dial_syscalls++;
			if (got > 0)
				answered += (unsigned)got; /* none expected: nothing answers */
		}
		for (unsigned j = 0; j < m; j++) {
			if (wave[j] < 0)
				continue;
			close(wave[j]);
			out->dial_syscalls++;
			out->failed++;
		}
	}
	clocks_stop(&c0, out);
	free(wave);
	free(evs);
	close(ep);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static void print_run(const char *what, const struct run *r, unsigned n)
{
	printf("  %-12s %6.2f us CPU/dial (total %6.2f)  %7.0f dials/s  %6.4f dial syscalls/dial"
	       "  ok %u failed %u\n",
	       what, r->cpu_s / n * 1e6, r->total_s / n * 1e6, n / r->wall_s, (double)r->dial_syscalls / n,
	       r->ok, r->failed);
}

static int run_variant(int v, const struct mukan_addr *live, const struct sockaddr_in *sa, struct run *r)
{
	switch (v) {
	case V_ENGINE:
		return run_engine(live, 1, N_DIALS, K, LOOPBACK_TIMEOUT_MS, 0, r);
	case V_SEQUENTIAL:
		run_sequential(sa, N_DIALS, r);
		return 0;
	case V_EPOLL:
		return run_epoll(sa, N_DIALS, K, r);
	default:
		return run_uring_plain(sa, N_DIALS, K, r);
	}
}

/* Loopback: every variant once per round, rounds interleaved, then medians. */
static int bench_loopback(const struct sockaddr_in *sa)
{
	struct mukan_addr live = { .family = MUKAN_AF_INET, .port = ntohs(sa->sin_port) };
	memcpy(live.ip, &sa->sin_addr, 4);
	printf("bench_dial: %d loopback dials per run, window K=%d, %d interleaved rounds (medians)\n",
	       N_DIALS, K, ROUNDS);
	double cpu[V_COUNT][ROUNDS], tot[V_COUNT][ROUNDS], thr[V_COUNT][ROUNDS], sys[V_COUNT][ROUNDS];
	for (int round = 0; round < ROUNDS; round++) {
		printf(" round %d\n", round + 1);
		for (int v = 0; v < V_COUNT; v++) {
			struct run r = { 0 };
			int e = run_variant(v, &live, sa, &r);
			if (e < 0 || r.ok != N_DIALS) {
				fprintf(stderr, "bench_dial: %s: %s, %u of %d connected\n", variant_name[v],
					e < 0 ? strerror(-e) : "no error", r.ok, N_DIALS);
				return 1;
			}
			print_run(variant_name[v], &r, N_DIALS);
			cpu[v][round] = r.cpu_s / N_DIALS * 1e6;
			tot[v][round] = r.total_s / N_DIALS * 1e6;
			thr[v][round] = N_DIALS / r.wall_s;
			sys[v][round] = (double)r.dial_syscalls / N_DIALS;
		}
	}
	double mc[V_COUNT], mtot[V_COUNT], mt[V_COUNT], ms[V_COUNT];
	printf("medians:\n");
	for (int v = 0; v < V_COUNT; v++) {
		mc[v] = median(cpu[v], ROUNDS);
		mtot[v] = median(tot[v], ROUNDS);
		mt[v] = median(thr[v], ROUNDS);
		ms[v] = median(sys[v], ROUNDS);
		printf("  %-12s %6.2f us CPU/dial (total %6.2f)  %7.0f dials/s  %6.4f dial syscalls/dial\n",
		       variant_name[v], mc[v], mtot[v], mt[v], ms[v]);
	}
	char name[64];
	for (int v = 0; v < V_COUNT; v++) {
		const char *vn = v == V_URING_PLAIN ? "uring_plain" : variant_name[v];
		snprintf(name, sizeof(name), "dial_cpu_us_%s", vn);
		machine(name, mc[v], "us");
		snprintf(name, sizeof(name), "dial_cpu_total_us_%s", vn);
		machine(name, mtot[v], "us");
		snprintf(name, sizeof(name), "dial_throughput_%s", vn);
		machine(name, mt[v], "dials/s");
		snprintf(name, sizeof(name), v == V_ENGINE ? "dial_syscalls_per_dial" : "dial_syscalls_per_dial_%s",
			 vn);
		machine(name, ms[v], "syscalls");
	}
	machine("dial_cpu_ratio_vs_sequential", mc[V_ENGINE] / mc[V_SEQUENTIAL], "ratio");
	machine("dial_cpu_total_ratio_vs_sequential", mtot[V_ENGINE] / mtot[V_SEQUENTIAL], "ratio");
	machine("dial_cpu_ratio_vs_epoll", mc[V_ENGINE] / mc[V_EPOLL], "ratio");
	machine("dial_cpu_ratio_vs_uring_plain", mc[V_ENGINE] / mc[V_URING_PLAIN], "ratio");
	machine("dial_throughput_ratio_vs_epoll", mt[V_ENGINE] / mt[V_EPOLL], "ratio");
	machine("dial_throughput_ratio_vs_sequential", mt[V_ENGINE] / mt[V_SEQUENTIAL], "ratio");
	return 0;
}

/* Black-holed addresses: the engine's link timeouts against one shared epoll deadline. */
static int bench_timeouts(void)
{
	static struct mukan_addr dead[N_TIMEOUT];
	static struct sockaddr_in dead_sa[N_TIMEOUT];
	for (unsigned i = 0; i < N_TIMEOUT; i++) {
		uint32_t ip = (10u << 24) | (77u << 16) | (1 + i / 250) << 8 | (2 + i % 250);
		dead_sa[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(26656),
						   .sin_addr.s_addr = htonl(ip) };
		dead[i] = (struct mukan_addr){ .family = MUKAN_AF_INET, .port = 26656 };
		memcpy(dead[i].ip, &dead_sa[i].sin_addr, 4);
	}
	printf("bench_dial: %d dials to black-holed addresses, %d ms timeout, %d in flight (medians of %d)\n",
	       N_TIMEOUT, TIMEOUT_MS, K_TIMEOUT, ROUNDS);
	double tc[2][ROUNDS];
	for (int round = 0; round < ROUNDS; round++) {
		struct run r = { 0 };
		int e = run_engine(dead, N_TIMEOUT, N_TIMEOUT, K_TIMEOUT, TIMEOUT_MS, 0, &r);
		if (e < 0 || r.failed != N_TIMEOUT) {
			fprintf(stderr, "bench_dial: engine timeouts: %s, %u of %d failed\n",
				e < 0 ? strerror(-e) : "no error", r.failed, N_TIMEOUT);
			return 1;
		}
		print_run("engine", &r, N_TIMEOUT);
		tc[0][round] = r.cpu_s / N_TIMEOUT * 1e6;
		e = run_epoll_deadline(dead_sa, N_TIMEOUT, K_TIMEOUT, &r);
		if (e < 0) {
			fprintf(stderr, "bench_dial: epoll timeouts: %s\n", strerror(-e));
			return 1;
		}
		print_run("epoll", &r, N_TIMEOUT);
		tc[1][round] = r.cpu_s / N_TIMEOUT * 1e6;
	}
	double te = median(tc[0], ROUNDS), tp = median(tc[1], ROUNDS);
	machine("timeout_cpu_us_engine", te, "us");
	machine("timeout_cpu_us_epoll", tp, "us");
	machine("timeout_cpu_ratio_vs_epoll", te / tp, "ratio");
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		return skip("not root: needs a private network namespace");
	if (netns_private() < 0)
		return skip("cannot make a network namespace");
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		return skip("cannot listen on 127.0.0.1");
	pin_to(0);
	pthread_t acceptor;
	if (pthread_create(&acceptor, NULL, acceptor_main, &lfd) != 0)
		return skip("cannot start the acceptor thread");
	int status = bench_loopback(&sa);
	shutdown(lfd, SHUT_RDWR); /* accept() fails: the acceptor returns */
	pthread_join(acceptor, NULL);
	close(lfd);
	if (status)
		return status;
	if (blackhole_setup() != 0)
		return skip("cannot build the black hole (ip link add ... type veth)");
	return bench_timeouts();
}
