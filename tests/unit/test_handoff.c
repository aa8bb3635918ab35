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
