/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_daemon_handoff.c - the handoff socket of mukan-dialerd given a
 * confused or hostile node: PEER messages sent back with a descriptor, empty
 * messages, MARK_BAD with ban lengths out of range and messages with bad
 * fields, a connection that never says HELLO. What must hold: no descriptor
 * is kept, nothing malformed is taken for a disconnect (the daemon never
 * dials past max_outbound while the node holds its sockets), bans stay in
 * the rules' range, every refusal is counted and logged, nothing crashes
 * (a SAN=1 build reports no undefined behaviour in the daemon's log).
 * Plumbing: daemon_fixture.h. Needs root (skipped otherwise, one line).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "daemon_fixture.h"
#include "handoff/handoff.h"
#include "kern/kern.h"
#include "mukan/rules.h"

TestSuite(daemon_handoff, .init = df_setup, .fini = df_teardown, .timeout = 60);

#define SEC 1000000000LL

/* A daemon with a handoff socket over a farm of `live` listeners, max_outbound `slots`. */
static struct df_daemon *start(const char *tag, const char *live, const char *slots, bool bpf)
{
	const char *const mix[] = { "--live", live, "--closed", "2", "--seed", "83", NULL };
	df_farm_start(tag, mix);
	struct df_daemon *d = df_daemon_new();
	df_daemon_copy_farm_book(d);
	snprintf(d->handoff, sizeof(d->handoff), "%s/handoff.sock", d->home);
	const char *const flags[] = { "--max-outbound", slots, "--dial-timeout", "300",
				      "--ensure-period", "1s", "--handoff", d->handoff,
				      bpf ? NULL : "--no-bpf", NULL };
	df_daemon_start_ready(d, flags);
	return d;
}

/* The node: connected, HELLO sent, reads bounded by a timeout. */
static int node_connect(const struct df_daemon *d, int timeout_ms)
{
	int node = handoff_connect(d->handoff);
	cr_assert_geq(node, 0, "handoff_connect %s: %s", d->handoff, strerror(-node));
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	setsockopt(node, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return node;
}

/* The next PEER the daemon hands over; its socket in *fd. */
static struct handoff_msg take_peer(int node, int *fd)
{
	struct handoff_msg m;
	int e = handoff_recv(node, &m, fd);
	cr_assert_eq(e, 0, "no PEER from the daemon: %s", strerror(-e));
	cr_assert_eq(m.type, HANDOFF_PEER);
	cr_assert_geq(*fd, 0);
	return m;
}

static json_t *handoff_status(const struct df_daemon *d)
{
	json_t *st = df_status(d);
	json_t *h = json_incref(json_object_get(st, "handoff"));
	cr_assert(json_is_object(h), "status has no 'handoff' object");
	json_decref(st);
	return h;
}

static long long handoff_count(const struct df_daemon *d, const char *key)
{
	json_t *h = handoff_status(d);
	long long v = df_json_int(h, key);
	json_decref(h);
	return v;
}

static bool node_connected(const struct df_daemon *d)
{
	json_t *st = df_status(d);
	bool c = json_is_true(json_object_get(st, "node_connected"));
	json_decref(st);
	return c;
}

/* Nothing more comes to the node within ms (the socket's timeout is shorter). */
static bool nothing_handed(int node, int ms)
{
	for (int64_t end = df_now_ms() + ms; df_now_ms() < end;) {
		struct handoff_msg m;
		int fd;
		int e = handoff_recv(node, &m, &fd);
		if (e == 0) {
			if (fd >= 0)
				close(fd);
			return false;
		}
		if (e != -EAGAIN && e != -EWOULDBLOCK)
			return false; /* the daemon closed the connection */
	}
	return true;
}

/* ---- PEER sent back with a descriptor ------------------------------------------------------ */

Test(daemon_handoff, peer_messages_from_the_node_leave_no_descriptor)
{
	struct df_daemon *d = start("hfd", "4", "2", false);
	int node = node_connect(d, 3000);
	int fds[2];
	struct handoff_msg got[2];
	for (int i = 0; i < 2; i++)
		got[i] = take_peer(node, &fds[i]);
	df_sleep_ms(200);
	int before = df_fd_count(d->pid, NULL);
	/* Tried: 100 PEER messages back to the daemon, each with a socket. */
	for (int i = 0; i < 100; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(s, 0);
		cr_assert_eq(handoff_send(node, &got[i % 2], s), 0);
		close(s);
	}
	int after = 0;
	for (int64_t end = df_now_ms() + 3000; df_now_ms() < end; df_sleep_ms(50))
		if ((after = df_fd_count(d->pid, NULL)) <= before + 2)
			break;
	df_sleep_ms(200); /* had the daemon read them all yet? */
	after = df_fd_count(d->pid, NULL);
	fprintf(stderr, "daemon-it: handoff: 100 PEER with a socket from the node: daemon fds %d -> "
			"%d\n", before, after);
	cr_expect_leq(after, before + 2, "the daemon kept descriptors the node sent: %d -> %d",
		      before, after);
	long long refused = handoff_count(d, "refused");
	cr_expect_eq(refused, 100);
	cr_expect(node_connected(d), "refusing a message ended the node's session");
	char *log = df_daemon_log(d);
	cr_expect(strstr(log, "refused a message from the node: PEER"), "no reason logged:\n%s", log);
	cr_expect_lt(df_count_lines(log), 20, "one line per refusal floods the log:\n%s", log);
	free(log);
	close(fds[0]);
	close(fds[1]);
	close(node);
}

/* ---- empty messages --------------------------------------------------------------------- */

Test(daemon_handoff, an_empty_message_is_no_disconnect)
{
	struct df_daemon *d = start("hempty", "8", "3", false);
	int node = node_connect(d, 3000);
	int fds[3];
	for (int i = 0; i < 3; i++)
		take_peer(node, &fds[i]);
	/* Tried: five 0-byte messages while the node holds its 3 sockets. */
	int sent = 0;
	for (int i = 0; i < 5; i++)
		sent += send(node, "", 0, MSG_NOSIGNAL) == 0;
	cr_expect_eq(sent, 5, "the daemon hung up after an empty message");
	struct timeval tv = { .tv_usec = 200000 };
	setsockopt(node, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	bool quiet = nothing_handed(node, 2000);
	int established = df_tcp_established(d->pid, DF_PORT);
	json_t *st = df_status(d);
	long long connected = df_json_int(st, "outbound_connected");
	json_decref(st);
	fprintf(stderr, "daemon-it: handoff: 5 empty messages: %lld outbound connected, %d sockets "
			"established\n", connected, established);
	cr_expect(quiet, "the daemon handed more sockets (or hung up) after empty messages");
	cr_expect(node_connected(d), "an empty message was taken for a disconnect");
	cr_expect_eq(connected, 3);
	cr_expect_leq(established, 3, "%d connections established with max_outbound 3: the daemon "
				      "redialed slots the node still holds", established);
	cr_expect_eq(handoff_count(d, "refused"), 5);
	/* The real end still frees the slots: they are refilled (no node: kept by the daemon). */
	close(node);
	long long max_seen = 0;
	cr_expect(df_wait_connected(d, 3, 5000, &max_seen), "slots not refilled after the node left");
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

/* ---- MARK_BAD out of range, and bad fields ------------------------------------------------ */

static struct handoff_msg mark_bad(const struct handoff_msg *peer, uint64_t ban_ns)
{
	struct handoff_msg m;
	handoff_msg_init(&m, HANDOFF_MARK_BAD);
	memcpy(m.id, peer->id, MUKAN_ID_LEN);
	m.addr = peer->addr;
	m.ban_ns = ban_ns;
	return m;
}

/* The live record's ban end, read until it is set (bounded). */
static int64_t ban_until(const struct df_daemon *d, const uint8_t id[MUKAN_ID_LEN])
{
	struct mukan_peer r = { 0 };
	for (int64_t end = df_now_ms() + 2000; df_now_ms() < end; df_sleep_ms(50))
		if (df_live_record(d->pin_dir, id, &r) && (r.flags & MUKAN_PEER_BANNED))
			return r.ban_until;
	return MUKAN_TIME_NEVER;
}

Test(daemon_handoff, ban_lengths_are_kept_in_range_and_bad_fields_refused)
{
	struct df_daemon *d = start("hban", "7", "5", true);
	int node = node_connect(d, 3000);
	int fds[5];
	struct handoff_msg p[5];
	for (int i = 0; i < 5; i++)
		p[i] = take_peer(node, &fds[i]);
	/* Tried: bans of INT64_MAX, UINT64_MAX, 0 (the daemon's own) and 1 ns. */
	const uint64_t asked[4] = { INT64_MAX, UINT64_MAX, 0, 1 };
	const int64_t want[4] = { MUKAN_MAX_BAN_NS, MUKAN_MAX_BAN_NS, MUKAN_DEF_BAN_NS,
				  MUKAN_MIN_BAN_NS };
	int64_t t0 = kern_now();
	for (int i = 0; i < 4; i++) {
		struct handoff_msg m = mark_bad(&p[i], asked[i]);
		cr_assert_eq(handoff_send(node, &m, -1), 0);
	}
	for (int i = 0; i < 3; i++) { /* the 1 s ban may be over (and reinstated) already */
		int64_t until = ban_until(d, p[i].id);
		int64_t t1 = kern_now();
		/* The daemon's clock is read once per batch of events: a little slack. */
		cr_expect(until >= t0 - SEC + want[i] && until <= t1 + want[i],
			  "ban_ns %llu: banned until now%+lld s, want now+%lld s",
			  (unsigned long long)asked[i], (long long)((until - t1) / SEC),
			  (long long)(want[i] / SEC));
	}
	cr_expect_eq(handoff_count(d, "clamped"), 3, "INT64_MAX, UINT64_MAX and 1 ns are clamped");

	/* Tried: one bad field each; none may change anything or end the session. */
	struct handoff_msg bad[9];
	for (int i = 0; i < 9; i++)
		bad[i] = mark_bad(&p[4], 3600 * SEC);
	memset(bad[0].id, 0, MUKAN_ID_LEN); /* no node ID */
	bad[1].addr.family = 7;		    /* no such family */
	bad[2].addr.pad = 1;
	bad[3].flags = HANDOFF_PERSISTENT; /* flags are the daemon's to send */
	bad[4].type = 77;		   /* no such type */
	bad[5].version = 2;
	bad[6].magic = 0;
	bad[7].type = HANDOFF_HELLO; /* a second HELLO, with fields set */
	bad[8].type = HANDOFF_PEER_GONE;
	bad[8].ban_ns = 5; /* PEER_GONE has no ban */
	for (int i = 0; i < 9; i++)
		cr_assert_eq(handoff_send(node, &bad[i], -1), 0);
	char junk[100] = { 0 };
	cr_assert_eq(send(node, junk, 10, MSG_NOSIGNAL), 10);   /* short */
	cr_assert_eq(send(node, junk, 100, MSG_NOSIGNAL), 100); /* long */
	long long refused = 0;
	for (int64_t end = df_now_ms() + 2000; df_now_ms() < end && refused < 11; df_sleep_ms(50))
		refused = handoff_count(d, "refused");
	cr_expect_eq(refused, 11, "%lld of 11 malformed messages refused", refused);
	cr_expect(node_connected(d), "a malformed message ended the node's session");
	struct mukan_peer r;
	cr_expect(!df_live_record(d->pin_dir, p[4].id, &r) || r.ban_until < t0 + 3600 * SEC,
		  "a refused MARK_BAD banned the peer anyway");
	/* The session still works: a good MARK_BAD is applied. */
	struct handoff_msg ok = mark_bad(&p[4], 7200 * SEC);
	cr_assert_eq(handoff_send(node, &ok, -1), 0);
	int64_t until = ban_until(d, p[4].id);
	cr_expect_geq(until, t0 + 7200 * SEC, "a valid MARK_BAD after the refusals was not applied");

	df_daemon_signal(d, SIGTERM);
	cr_expect_eq(df_daemon_wait(d, DF_EXIT_TIMEOUT_MS), 0); /* and no sanitizer report */
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	close(node);
}

/* ---- a connection that never says HELLO ------------------------------------------------------ */

Test(daemon_handoff, nothing_is_handed_before_hello)
{
	struct df_daemon *d = start("hhello", "4", "2", false);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, d->handoff, strlen(d->handoff) + 1);
	int squat = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(squat, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = { .tv_usec = 200000 };
	setsockopt(squat, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Tried: connect and say nothing. No socket may come; after 5 s the daemon hangs up. */
	cr_expect(nothing_handed(squat, 1500), "sockets handed to a connection that said no HELLO");
	struct handoff_msg m;
	int fd, e = -EAGAIN;
	for (int64_t end = df_now_ms() + 6000; df_now_ms() < end && (e == -EAGAIN || e == -EWOULDBLOCK);)
		e = handoff_recv(squat, &m, &fd);
	cr_expect_eq(e, -ECONNRESET, "the silent connection was not closed (%s)", strerror(-e));
	close(squat);
	/* Then a real node gets the connections the daemon kept meanwhile. */
	int node = node_connect(d, 3000);
	int fds[2];
	take_peer(node, &fds[0]);
	take_peer(node, &fds[1]);
	close(fds[0]);
	close(fds[1]);
	close(node);
}
