/* SPDX-License-Identifier: Apache-2.0 */
/* test_handoff.c - sockets and peer news between the daemon and the node, end to end. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handoff/handoff.h"

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static char sock_path[64];

static void drop_sock(void)
{
	unlink(sock_path);
}

TestSuite(handoff, .fini = drop_sock);

/* A connected TCP pair on loopback: what the daemon would hand over. */
static void tcp_pair(int *client, int *server)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(l, 1), 0);
	getsockname(l, (struct sockaddr *)&sa, &len);
	*client = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(*client, (struct sockaddr *)&sa, sizeof(sa)), 0);
	*server = accept(l, NULL, NULL);
	cr_assert_geq(*server, 0);
	close(l);
}

Test(handoff, a_connected_socket_travels_with_its_peer)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/mukan-handoff-%d.sock", getpid());
	int before = count_fds();
	int lst = handoff_listen(sock_path);
	cr_assert_geq(lst, 0, "listen: %s", strerror(-lst));
	int node = handoff_connect(sock_path);
	cr_assert_geq(node, 0, "connect: %s", strerror(-node));
	int daemon = accept(lst, NULL, NULL);
	cr_assert_geq(daemon, 0);

	struct handoff_msg m;
	int fd;
	cr_assert_eq(handoff_recv(daemon, &m, &fd), 0);
	cr_assert_eq(m.type, HANDOFF_HELLO);
	cr_assert_eq(fd, -1);

	int client, server;
	tcp_pair(&client, &server);
	struct handoff_msg peer;
	handoff_msg_init(&peer, HANDOFF_PEER);
	memset(peer.id, 0xab, sizeof(peer.id));
	peer.addr.family = MUKAN_AF_INET;
	peer.addr.port = 26656;
	peer.flags = HANDOFF_PERSISTENT;
	cr_assert_eq(handoff_send(daemon, &peer, client), 0);
	close(client); /* the daemon lets go; the node now owns the connection */

	cr_assert_eq(handoff_recv(node, &m, &fd), 0);
	cr_assert_eq(m.type, HANDOFF_PEER);
	cr_assert_arr_eq(m.id, peer.id, MUKAN_ID_LEN);
	cr_assert_eq(m.flags, HANDOFF_PERSISTENT);
	cr_assert_geq(fd, 0);
	/* The passed socket is the live connection: bytes flow both ways. */
	cr_assert_eq(write(fd, "ping", 4), 4);
	char buf[8] = "";
	cr_assert_eq(read(server, buf, sizeof(buf)), 4);
	cr_assert_str_eq(buf, "ping");

	struct handoff_msg gone;
	handoff_msg_init(&gone, HANDOFF_PEER_GONE);
	memcpy(gone.id, peer.id, MUKAN_ID_LEN);
	gone.reason = 104;
	cr_assert_eq(handoff_send(node, &gone, -1), 0);
	int none;
	cr_assert_eq(handoff_recv(daemon, &m, &none), 0);
	cr_assert_eq(m.type, HANDOFF_PEER_GONE);
	cr_assert_eq(m.reason, 104);
	cr_assert_eq(none, -1);

	close(fd);
	close(server);
	close(node);
	cr_assert_eq(handoff_recv(daemon, &m, &fd), -ECONNRESET, "the node went away");
	close(daemon);
	close(lst);
	cr_assert_eq(count_fds(), before, "no descriptor left behind");
}

/* Malformed messages are refused and any descriptor they carried is closed. */
Test(handoff, malformed_messages_are_refused_without_leaks)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int before = count_fds();
	struct handoff_msg m, got;
	int fd;

	handoff_msg_init(&m, HANDOFF_PEER_GONE);
	m.magic = 0xdeadbeef;
	cr_assert_eq(handoff_send(sv[0], &m, -1), 0);
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -EPROTO, "bad magic");

	handoff_msg_init(&m, HANDOFF_PEER_GONE);
	m.version = 9;
	handoff_send(sv[0], &m, -1);
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -EPROTO, "unknown version");

	handoff_msg_init(&m, 77);
	handoff_send(sv[0], &m, -1);
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -EPROTO, "unknown type");

	handoff_msg_init(&m, HANDOFF_PEER);
	handoff_send(sv[0], &m, -1);
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -EPROTO, "PEER without a socket");

	int extra = dup(0);
	handoff_msg_init(&m, HANDOFF_MARK_BAD);
	handoff_send(sv[0], &m, extra);
	close(extra);
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -EPROTO, "a socket where none belongs");
	cr_assert_eq(fd, -1);

	char junk[10] = "short";
	cr_assert_eq(send(sv[0], junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -EPROTO, "wrong size");

	char big[200] = { 0 };
	handoff_msg_init((struct handoff_msg *)big, HANDOFF_PEER_GONE);
	cr_assert_eq(send(sv[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -EPROTO, "oversized");

	cr_assert_eq(count_fds(), before, "every passed descriptor was closed");
	close(sv[0]);
	close(sv[1]);
}

/* SOCK_SEQPACKET reads both an empty message and the end as 0 bytes. */
Test(handoff, an_empty_message_is_refused_and_only_the_end_is_a_disconnect)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct handoff_msg m, got;
	int fd;
	char why[160] = "";
	cr_assert_eq(send(sv[0], "", 0, 0), 0);
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -EPROTO,
		     "an empty message while the node is there is no disconnect");
	cr_assert_eq(send(sv[0], "", 0, 0), 0);
	cr_assert_eq(handoff_recv_at(sv[1], HANDOFF_AT_DAEMON, &got, &fd, why, sizeof(why)),
		     -EPROTO);
	cr_assert(strstr(why, "empty"), "reason: %s", why);
	/* The connection still works. */
	handoff_msg_init(&m, HANDOFF_HELLO);
	cr_assert_eq(handoff_send(sv[0], &m, -1), 0);
	cr_assert_eq(handoff_recv_at(sv[1], HANDOFF_AT_DAEMON, &got, &fd, why, sizeof(why)), 0, "%s",
		     why);
	cr_assert_eq(got.type, HANDOFF_HELLO);
	/* Queued messages are still read after the other side closed; then the end. */
	handoff_msg_init(&m, HANDOFF_PEER_GONE);
	memset(m.id, 7, sizeof(m.id));
	cr_assert_eq(handoff_send(sv[0], &m, -1), 0);
	close(sv[0]);
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), 0);
	cr_assert_eq(got.type, HANDOFF_PEER_GONE);
	cr_assert_eq(handoff_recv(sv[1], &got, &fd), -ECONNRESET);
	close(sv[1]);
}

/* The daemon end: a PEER sent back with a socket is refused and the socket closed, 100 times. */
Test(handoff, a_peer_message_from_the_node_leaves_no_descriptor)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int before = count_fds();
	for (int i = 0; i < 100; i++) {
		struct handoff_msg m, got;
		handoff_msg_init(&m, HANDOFF_PEER);
		memset(m.id, 0xab, sizeof(m.id));
		m.addr.family = MUKAN_AF_INET;
		m.addr.port = 26656;
		int passed = dup(0);
		cr_assert_eq(handoff_send(sv[0], &m, passed), 0);
		close(passed);
		int fd = 12345;
		char why[160] = "";
		cr_assert_eq(handoff_recv_at(sv[1], HANDOFF_AT_DAEMON, &got, &fd, why, sizeof(why)),
			     -EPROTO);
		cr_assert_eq(fd, -1);
		cr_assert(strstr(why, "from the daemon to the node"), "reason: %s", why);
	}
	cr_assert_eq(count_fds(), before, "descriptors kept from refused PEER messages");
	close(sv[0]);
	close(sv[1]);
}

static struct handoff_msg node_msg(enum handoff_type type)
{
	struct handoff_msg m;
	handoff_msg_init(&m, type);
	if (type != HANDOFF_HELLO)
		memset(m.id, 0x5a, sizeof(m.id));
	return m;
}

/* Every field of every message the daemon takes is checked (docs/handoff.md). */
Test(handoff, every_field_is_range_checked)
{
	char why[160];
	static const enum handoff_type types[] = { HANDOFF_HELLO, HANDOFF_PEER_GONE, HANDOFF_MARK_BAD,
						   HANDOFF_MARK_GOOD };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct handoff_msg m = node_msg(types[i]);
		cr_assert_eq(handoff_check(&m, HANDOFF_AT_DAEMON, why, sizeof(why)), 0,
			     "a plain message of type %d: %s", types[i], why);
		cr_assert_eq(handoff_check(&m, HANDOFF_AT_NODE, why, sizeof(why)), -EPROTO,
			     "type %d goes to the daemon only", types[i]);
	}
	struct handoff_msg m = node_msg(HANDOFF_MARK_BAD);
	m.ban_ns = UINT64_MAX; /* clamped by the daemon, not refused */
	m.reason = 0xffffffffu;
	m.addr.family = MUKAN_AF_INET6;
	m.addr.port = 1;
	m.addr.ip[15] = 1;
	cr_assert_eq(handoff_check(&m, HANDOFF_AT_DAEMON, why, sizeof(why)), 0, "%s", why);

	/* One spoiled field each (the switch below, by index). */
	struct {
		const char *what;
		int type;
	} bad[] = {
		{ "HELLO with an ID", HANDOFF_HELLO },
		{ "no node ID", HANDOFF_PEER_GONE },
		{ "address family 3", HANDOFF_MARK_BAD },
		{ "IPv4 with bytes past the 4th", HANDOFF_MARK_GOOD },
		{ "address without a port", HANDOFF_PEER_GONE },
		{ "address padding", HANDOFF_PEER_GONE },
		{ "flags from the node", HANDOFF_MARK_GOOD },
		{ "ban_ns on PEER_GONE", HANDOFF_PEER_GONE },
		{ "reason on MARK_GOOD", HANDOFF_MARK_GOOD },
		{ "unknown type", 9 },
		{ "type 0", 0 },
		{ "bad magic", HANDOFF_MARK_BAD },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = node_msg(bad[i].type == 9 || bad[i].type == 0 ? HANDOFF_MARK_BAD
								   : (enum handoff_type)bad[i].type);
		switch (i) {
		case 0: m.id[3] = 1; break;
		case 1: memset(m.id, 0, sizeof(m.id)); break;
		case 2: m.addr.family = 3; m.addr.port = 1; break;
		case 3: m.addr.family = MUKAN_AF_INET; m.addr.port = 1; m.addr.ip[4] = 1; break;
		case 4: m.addr.family = MUKAN_AF_INET; m.addr.ip[0] = 10; break;
		case 5: m.addr.family = MUKAN_AF_INET; m.addr.port = 1; m.addr.pad = 1; break;
		case 6: m.flags = HANDOFF_PERSISTENT; break;
		case 7: m.ban_ns = 1; break;
		case 8: m.reason = 5; break;
		case 9: m.type = 9; break;
		case 10: m.type = 0; break;
		case 11: m.magic = 1; break;
		}
		why[0] = '\0';
		cr_assert_eq(handoff_check(&m, HANDOFF_AT_DAEMON, why, sizeof(why)), -EPROTO,
			     "%s was taken", bad[i].what);
		cr_assert_neq(why[0], '\0', "%s refused without a reason", bad[i].what);
	}
	/* What the node gets: a PEER with an address and known flags only. */
	m = node_msg(HANDOFF_PEER);
	m.addr.family = MUKAN_AF_INET;
	m.addr.port = 26656;
	m.flags = HANDOFF_PERSISTENT | HANDOFF_SEED;
	cr_assert_eq(handoff_check(&m, HANDOFF_AT_NODE, why, sizeof(why)), 0, "%s", why);
	m.flags = 1u << 20;
	cr_assert_eq(handoff_check(&m, HANDOFF_AT_NODE, why, sizeof(why)), -EPROTO);
	m.flags = 0;
	memset(&m.addr, 0, sizeof(m.addr));
	cr_assert_eq(handoff_check(&m, HANDOFF_AT_NODE, why, sizeof(why)), -EPROTO,
		     "a PEER without an address");
}
