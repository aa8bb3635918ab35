/* SPDX-License-Identifier: Apache-2.0 */
/* farm_client.c - a user/wire/ dialer for the peer farm's tests (see farm_client.h). */
#include "farm_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS 1000000LL

static const uint8_t pex_only[] = { PEX_CHANNEL };

int64_t fc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(struct fc_session *s, enum wire_error e, enum wire_step step)
{
	if (s->state == FC_FAILED)
		return;
	s->state = FC_FAILED;
	s->err = e;
	s->step = step;
}

static socklen_t sockaddr_of(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return sizeof(*s6);
	}
	return 0;
}

int fc_start(struct fc_session *s, const char *ip, uint16_t port, const uint8_t *expect_id,
	     const char *network, int timeout_ms)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->deadline = fc_now_ns() + (int64_t)timeout_ms * NS_PER_MS;
	node_key_generate(&s->key);
	struct nodeinfo_params np;
	nodeinfo_params_default(&np);
	memcpy(np.id, s->key.id, MUKAN_ID_LEN);
	np.listen_addr = "tcp://127.0.0.1:26656";
	np.network = network;
	np.version = "0.34.35";
	np.moniker = "farm-test-dialer";
	np.channels = pex_only;
	np.n_channels = sizeof(pex_only);
	int e = nodeinfo_build(&s->ours, &np, NULL, 0);
	if (e < 0)
		return e;
	struct sc_config cfg = {
		.role = SC_DIALER, .me = &s->key, .expect_id = expect_id, .deadline = s->deadline
	};
	if ((e = sc_init(&s->sc, &cfg)) < 0) {
		nodeinfo_free(&s->ours);
		return e;
	}
	s->sc_live = true;
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(ip, port, &ss);
	s->fd = len ? socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
	if (s->fd < 0) {
		e = len ? -errno : -EINVAL;
		fc_free(s);
		return e;
	}
	s->state = FC_CONNECTING;
	if (connect(s->fd, (struct sockaddr *)&ss, len) == 0) {
		s->state = FC_HANDSHAKE;
	} else if (errno != EINPROGRESS) {
		s->sys_err = errno;
		fail(s, WIRE_ERR_CLOSED, WIRE_STEP_NONE);
	}
	return 0;
}

void fc_free(struct fc_session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->sc_live)
		sc_free(&s->sc);
	if (s->mc_live)
		mconn_free(&s->mc);
	s->sc_live = s->mc_live = false;
	nodeinfo_free(&s->ours);
	if (s->have_theirs)
		nodeinfo_free(&s->theirs);
	s->have_theirs = false;
	for (size_t i = 0; i < s->n_pex_in; i++)
		pex_msg_free(&s->pex_in[i]);
	s->n_pex_in = 0;
}

/* Write what the session has queued; the rest waits for the next pump. */
static void flush(struct fc_session *s)
{
	if (s->mc_live && s->state == FC_SESSION) {
		size_t n;
		const uint8_t *o = mconn_output(&s->mc, &n);
		if (n && sc_send(&s->sc, o, n) == 0)
			mconn_output_done(&s->mc, n);
	}
	const uint8_t *p;
	size_t n;
	while ((n = sc_tx_peek(&s->sc, &p)) > 0) { /* ends: each pass sends or stops */
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w <= 0)
			return;
		sc_tx_advance(&s->sc, (size_t)w);
	}
}

static void on_pex(struct fc_session *s, const uint8_t *data, size_t len)
{
	struct pex_msg m;
	enum wire_error e;
	if (pex_decode(data, len, &m, &e) < 0) {
		fail(s, e, WIRE_STEP_PEX);
		return;
	}
	enum pex_action act;
	if (pex_peer_receive(&s->pex, &m, fc_now_ns(), &act, &e) < 0) {
		pex_msg_free(&m);
		fail(s, e, WIRE_STEP_PEX);
		return;
	}
	if (act == PEX_ACT_ADDRS && s->n_pex_in < FC_MAX_PEX)
		s->pex_in[s->n_pex_in++] = m;
	else
		pex_msg_free(&m);
}

static void read_nodeinfo(struct fc_session *s)
{
	const uint8_t *body;
	size_t len;
	int rc = sc_read_msg(&s->sc, NODEINFO_MAX_SIZE, &body, &len);
	if (rc == -EAGAIN)
		return;
	if (rc < 0) {
		fail(s, s->sc.error, WIRE_STEP_NODE_INFO);
		return;
	}
	enum wire_error e;
	if (nodeinfo_decode(body, len, &s->theirs, &e) < 0) {
		fail(s, e, WIRE_STEP_NODE_INFO);
		return;
	}
	s->have_theirs = true;
	if (nodeinfo_check(&s->ours, &s->theirs, s->sc.remote_id, &e, NULL, 0) < 0) {
		fail(s, e, WIRE_STEP_NODE_INFO);
		return;
	}
	struct mconn_config cfg;
	mconn_config_default(&cfg);
	if (mconn_init(&s->mc, &cfg, fc_now_ns()) < 0) {
		fail(s, WIRE_ERR_MSG_MALFORMED, WIRE_STEP_SESSION);
		return;
	}
	s->mc_live = true;
	pex_peer_init(&s->pex, true, false);
	s->state = FC_SESSION;
}

static void read_packets(struct fc_session *s)
{
	const uint8_t *p;
	size_t n;
	while (s->state == FC_SESSION && (n = sc_rx_peek(&s->sc, &p)) > 0) {
		struct mconn_msg m;
		ssize_t r = mconn_read(&s->mc, p, n, &m);
		if (r < 0) {
			fail(s, r == -EPROTO ? s->mc.error : WIRE_ERR_MSG_MALFORMED, WIRE_STEP_SESSION);
			return;
		}
		sc_rx_advance(&s->sc, (size_t)r);
		if (m.data && m.channel == PEX_CHANNEL)
			on_pex(s, m.data, m.len);
	}
}

static void on_bytes(struct fc_session *s, const uint8_t *buf, size_t n)
{
	if (sc_recv(&s->sc, buf, n, fc_now_ns()) < 0) {
		fail(s, s->sc.error, s->sc.step);
		return;
	}
	if (s->state == FC_HANDSHAKE && s->sc.state == SC_OPEN) {
		size_t len = nodeinfo_encoded_size(&s->ours);
		uint8_t *w = malloc(len);
		ssize_t k = w ? nodeinfo_encode(&s->ours, w, len) : -ENOMEM;
		if (k < 0 || sc_send(&s->sc, w, (size_t)k) < 0)
			fail(s, WIRE_ERR_MSG_MALFORMED, WIRE_STEP_NODE_INFO);
		free(w);
		s->state = s->state == FC_FAILED ? FC_FAILED : FC_NODEINFO;
	}
	if (s->state == FC_NODEINFO)
		read_nodeinfo(s);
	if (s->state == FC_SESSION)
		read_packets(s);
}

static void on_eof(struct fc_session *s)
{
	s->eof = true;
	if (s->state == FC_SESSION)
		fail(s, mconn_eof_error(&s->mc), WIRE_STEP_SESSION);
	else if (s->state != FC_FAILED) {
		sc_recv_eof(&s->sc);
		fail(s, s->sc.error, s->sc.step);
	}
}

/* The socket is ready (or the deadline came): do what can be done. */
static void step(struct fc_session *s, short revents)
{
	if (s->state == FC_FAILED)
		return;
	if (s->state == FC_CONNECTING) {
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			goto deadlines;
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			s->sys_err = err;
			fail(s, WIRE_ERR_CLOSED, WIRE_STEP_NONE);
			return;
		}
		s->state = FC_HANDSHAKE;
	}
	uint8_t buf[16384];
	for (int i = 0; i < 64 && s->state != FC_FAILED; i++) {
		ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0) {
			on_bytes(s, buf, (size_t)r);
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			on_eof(s);
		break;
	}
	if (s->state != FC_FAILED)
		flush(s);
deadlines:
	if (s->state == FC_SESSION) {
		if (mconn_tick(&s->mc, fc_now_ns()) < 0)
			fail(s, s->mc.error, WIRE_STEP_SESSION);
		else
			flush(s);
	} else if (s->state != FC_FAILED && fc_now_ns() >= s->deadline) {
		if (s->state == FC_CONNECTING)
			s->sys_err = ETIMEDOUT;
		fail(s, WIRE_ERR_TIMEOUT, s->state == FC_NODEINFO ? WIRE_STEP_NODE_INFO : s->sc.step);
	}
}

static short events_of(const struct fc_session *s)
{
	return s->state == FC_CONNECTING ? POLLOUT : POLLIN;
}

/* How long a poll may wait: the caller's bound, and the session's deadline. */
static int wait_ms(const struct fc_session *s, int timeout_ms)
{
	if (s->state == FC_SESSION || s->state == FC_FAILED)
		return timeout_ms;
	int64_t left = (s->deadline - fc_now_ns()) / NS_PER_MS + 1;
	return left < timeout_ms ? (int)(left > 0 ? left : 0) : timeout_ms;
}

int fc_pump(struct fc_session *s, int timeout_ms)
{
	if (s->state == FC_FAILED)
		return 0;
	struct pollfd p = { .fd = s->fd, .events = events_of(s) };
	int n = poll(&p, 1, wait_ms(s, timeout_ms));
	step(s, n > 0 ? p.revents : 0);
	return 0;
}

void fc_run(struct fc_session *s, enum fc_state until, int timeout_ms)
{
	int64_t end = fc_now_ns() + (int64_t)timeout_ms * NS_PER_MS;
	while (s->state < until && fc_now_ns() < end) /* ends at the deadline */
		fc_pump(s, 50);
}

bool fc_wait(struct fc_session *s, bool (*pred)(const struct fc_session *), int timeout_ms)
{
	int64_t end = fc_now_ns() + (int64_t)timeout_ms * NS_PER_MS;
	while (!pred(s) && s->state != FC_FAILED && fc_now_ns() < end) /* ends at the deadline */
		fc_pump(s, 20);
	return pred(s);
}

int fc_request_addrs(struct fc_session *s)
{
	if (s->state != FC_SESSION)
		return -ENOTCONN;
	if (!pex_peer_want_request(&s->pex))
		return -EALREADY;
	uint8_t req[8];
	ssize_t n = pex_encode_request(req, sizeof(req));
	int rc = n < 0 ? (int)n : mconn_send(&s->mc, PEX_CHANNEL, req, (size_t)n);
	flush(s);
	return rc;
}

int fc_send_addrs(struct fc_session *s, const struct netaddr *addrs, size_t n)
{
	if (s->state != FC_SESSION)
		return -ENOTCONN;
	uint8_t *buf = malloc(PEX_MAX_MSG_SIZE);
	if (!buf)
		return -ENOMEM;
	ssize_t len = pex_encode_addrs(addrs, n, buf, PEX_MAX_MSG_SIZE);
	int rc = len < 0 ? (int)len : mconn_send(&s->mc, PEX_CHANNEL, buf, (size_t)len);
	free(buf);
	flush(s);
	return rc;
}

int fc_ping(struct fc_session *s)
{
	if (s->state != FC_SESSION)
		return -ENOTCONN;
	static const uint8_t ping[] = { 0x02, 0x0a, 0x00 }; /* delimited Packet{packet_ping{}} */
	int rc = sc_send(&s->sc, ping, sizeof(ping));
	flush(s);
	return rc;
}

bool fc_take_pex(struct fc_session *s, struct pex_msg *out)
{
	if (s->n_pex_in == 0)
		return false;
	*out = s->pex_in[0];
	memmove(s->pex_in, s->pex_in + 1, (s->n_pex_in - 1) * sizeof(s->pex_in[0]));
	s->n_pex_in--;
	return true;
}

void fc_many(struct fc_session *const *ss, size_t n, enum fc_state until, int timeout_ms)
{
	struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
	size_t *who = calloc(n ? n : 1, sizeof(*who));
	if (!p || !who) {
		free(p), free(who);
		return;
	}
	int64_t end = fc_now_ns() + (int64_t)timeout_ms * NS_PER_MS;
	while (fc_now_ns() < end) { /* ends at the deadline, or when every session got there */
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (ss[i]->state >= until)
				continue;
			p[k] = (struct pollfd){ .fd = ss[i]->fd, .events = events_of(ss[i]) };
			who[k++] = i;
		}
		if (k == 0)
			break;
		int r = poll(p, k, 20);
		for (size_t j = 0; j < k; j++)
			step(ss[who[j]], r > 0 ? p[j].revents : 0);
	}
	free(p), free(who);
}
