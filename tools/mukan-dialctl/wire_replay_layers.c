/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire_replay_layers.c - the replay above the secret connection: each
 * node's NodeInfo built from the transcript's decoded fields, encoded,
 * sent, read back, decoded and checked by the peer as upstream's transport
 * does; then each MConnection message produced by the real layers (PEX
 * messages encoded, packets written by mconn, the ping by mconn's timer, the
 * pong owed for it) and taken apart again on the other side (mconn joins,
 * PEX decodes, the PEX rules accept it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/delim.h"
#include "wire_replay_internal.h"

/* ---- NodeInfo ------------------------------------------------------------- */

static bool build_node_info(struct replay *r, struct node *nd)
{
	char where[48], wpv[80], wother[80];
	snprintf(where, sizeof(where), "nodes.%s.node_info", nd->name);
	snprintf(wpv, sizeof(wpv), "%s.protocol_version", where);
	snprintf(wother, sizeof(wother), "%s.other", where);
	json_t *ni = json_object_get(nd->j, "node_info");
	json_t *pv = json_object_get(ni, "protocol_version"), *other = json_object_get(ni, "other");
	struct nodeinfo_params p;
	nodeinfo_params_default(&p);
	size_t n_ch = 0;
	uint8_t *channels = NULL;
	const char *id;
	bool ok = juint(r, pv, "p2p", wpv, &p.p2p) && juint(r, pv, "block", wpv, &p.block) &&
		  juint(r, pv, "app", wpv, &p.app) && (id = jstr(r, ni, "id", where)) &&
		  (p.listen_addr = jstr(r, ni, "listen_addr", where)) &&
		  (p.network = jstr(r, ni, "network", where)) &&
		  (p.version = jstr(r, ni, "version", where)) &&
		  (p.moniker = jstr(r, ni, "moniker", where)) &&
		  (p.tx_index = jstr(r, other, "tx_index", wother)) &&
		  (p.rpc_address = jstr(r, other, "rpc_address", wother)) &&
		  (channels = jhex(r, ni, "channels", where, &n_ch));
	if (ok) {
		/* Our NodeInfo carries our own ID, the one our key gives. */
		char hex[2 * MUKAN_ID_LEN + 1];
		for (int i = 0; i < MUKAN_ID_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02x", nd->key.id[i]);
		if (strcmp(id, hex) != 0)
			ok = differ(r, "%s.id %s is not node %s's ID %s", where, id, nd->name, hex);
	}
	if (ok) {
		memcpy(p.id, nd->key.id, MUKAN_ID_LEN);
		p.channels = channels;
		p.n_channels = n_ch;
		char why[NODEINFO_WHY_LEN];
		if (nodeinfo_build(&nd->ni, &p, why, sizeof(why)) < 0)
			ok = differ(r, "node %s's NodeInfo is refused: %s", nd->name, why);
		else
			nd->ni_live = true;
	}
	free(channels);
	return ok;
}

/* A decoded NodeInfo field by field against the transcript's decoded form. */
static bool same_node_info(struct replay *r, const struct nodeinfo *got, const struct node *from,
			   const char *who)
{
	json_t *ni = json_object_get(from->j, "node_info");
	json_t *pv = json_object_get(ni, "protocol_version"), *other = json_object_get(ni, "other");
	char what[128];
	uint64_t v[3];
	const char *names[3] = { "p2p", "block", "app" };
	const uint64_t have[3] = { got->p2p, got->block, got->app };
	for (int i = 0; i < 3; i++) {
		if (!juint(r, pv, names[i], "node_info.protocol_version", &v[i]))
			return false;
		if (v[i] != have[i])
			return differ(r, "%s protocol_version.%s: ours %llu, upstream %llu", who,
				      names[i], (unsigned long long)have[i], (unsigned long long)v[i]);
	}
	struct {
		json_t *obj;
		const char *key;
		struct nodeinfo_text t;
	} texts[] = {
		{ ni, "id", got->id },
		{ ni, "listen_addr", got->listen_addr },
		{ ni, "network", got->network },
		{ ni, "version", got->version },
		{ ni, "moniker", got->moniker },
		{ other, "tx_index", got->tx_index },
		{ other, "rpc_address", got->rpc_address },
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = jstr(r, texts[i].obj, texts[i].key, "node_info");
		snprintf(what, sizeof(what), "%s %s", who, texts[i].key);
		if (!s || !same(r, what, (const uint8_t *)texts[i].t.s, texts[i].t.len,
				(const uint8_t *)s, strlen(s)))
			return false;
	}
	snprintf(what, sizeof(what), "%s channels", who);
	return same_hex(r, what, got->channels, got->n_channels, ni, "channels", "node_info");
}

bool replay_node_info(struct replay *r, struct node *nd, struct node *peer)
{
	char where[32], what[96];
	snprintf(where, sizeof(where), "nodes.%s", nd->name);
	size_t cap = nodeinfo_encoded_size(&nd->ni);
	uint8_t *enc = malloc(cap), *up;
	if (!enc)
		return differ(r, "out of memory");
	ssize_t n = nodeinfo_encode(&nd->ni, enc, cap);
	size_t ulen;
	snprintf(what, sizeof(what), "node %s NodeInfo as we encode it", nd->name);
	bool ok = n > 0 &&
		  same_hex(r, what, enc, (size_t)n, nd->j, "node_info_written_plaintext", where) &&
		  (sc_send(&nd->sc, enc, (size_t)n) == 0 ||
		   differ(r, "node %s cannot send its NodeInfo", nd->name)) &&
		  our_write(r, nd, "node_info", NULL, enc, (size_t)n, "NodeInfo", &up, &ulen) &&
		  deliver(r, nd, peer, up, ulen, "node_info");
	free(enc);
	if (!ok)
		return n > 0 || differ(r, "node %s NodeInfo does not encode", nd->name);

	/* The peer reads it with upstream's limit, decodes it and checks it. */
	const uint8_t *body;
	size_t blen;
	int rc = sc_read_msg(&peer->sc, NODEINFO_MAX_SIZE, &body, &blen);
	if (rc < 0)
		return differ(r, "node %s cannot read %s's NodeInfo: %s", peer->name, nd->name,
			      rc == -EPROTO ? wire_error_name(peer->sc.error) : "incomplete");
	snprintf(what, sizeof(what), "node_info read by node %s", peer->name);
	if (!same_hex(r, what, body, blen, nd->j, "node_info_proto", where))
		return false;
	struct nodeinfo theirs;
	enum wire_error err = WIRE_OK;
	if (nodeinfo_decode(body, blen, &theirs, &err) < 0)
		return differ(r, "node %s cannot decode %s's NodeInfo: %s", peer->name, nd->name,
			      wire_error_name(err));
	snprintf(what, sizeof(what), "node %s's view of %s's NodeInfo:", peer->name, nd->name);
	ok = same_node_info(r, &theirs, nd, what);
	char why[NODEINFO_WHY_LEN] = "";
	if (ok && nodeinfo_check(&peer->ni, &theirs, peer->sc.remote_id, &err, why, sizeof(why)) < 0)
		ok = differ(r, "node %s refuses %s's NodeInfo: %s (%s)", peer->name, nd->name,
			    wire_error_name(err), why);
	nodeinfo_free(&theirs);
	if (ok)
		replay_log(r, "node %s decoded and accepted %s's NodeInfo", peer->name, nd->name);
	return ok;
}

/* ---- MConnection and PEX ------------------------------------------------------ */

/* The addresses of the transcript's PEX reply (root.pex_addrs), parsed. */
static bool pex_list(struct replay *r, struct netaddr **out, size_t *n)
{
	json_t *list = json_object_get(r->root, "pex_addrs");
	if (!json_is_array(list))
		return differ(r, "the transcript has no array pex_addrs");
	*n = json_array_size(list);
	*out = calloc(*n + 1, sizeof(**out));
	if (!*out)
		return differ(r, "out of memory");
	for (size_t i = 0; i < *n; i++) {
		const char *s = json_string_value(json_array_get(list, i));
		char err[128] = "";
		if (!s || netaddr_parse(s, NETADDR_NEED_ID, &(*out)[i], NULL, 0, err, sizeof(err)) < 0) {
			free(*out);
			return differ(r, "pex_addrs[%zu] is not id@ip:port: %s", i, err);
		}
	}
	return true;
}

/* Queue on nd's MConnection what message m is, built by the layers. */
static bool produce(struct replay *r, struct node *nd, json_t *m, const char *where,
		    const char *step, uint8_t *msg, size_t *msg_len)
{
	*msg_len = 0;
	ssize_t n = -1;
	if (strcmp(step, "pex_request") == 0) {
		if (!pex_peer_want_request(&nd->pex))
			return differ(r, "%s: node %s would not send a request now", where, nd->name);
		n = pex_encode_request(msg, PEX_MAX_MSG_SIZE);
	} else if (strcmp(step, "pex_addrs") == 0) {
		struct netaddr *addrs;
		size_t count;
		if (!pex_list(r, &addrs, &count))
			return false;
		n = pex_encode_addrs(addrs, count, msg, PEX_MAX_MSG_SIZE);
		free(addrs);
	} else if (strcmp(step, "ping") == 0) {
		/* The ping comes from the keep-alive timer, when it is due. */
		nd->now = mconn_next_deadline(&nd->mc);
		if (mconn_tick(&nd->mc, nd->now) < 0)
			return differ(r, "%s: node %s's MConnection fails at its ping: %s", where,
				      nd->name, wire_error_name(nd->mc.error));
		return true;
	} else if (strcmp(step, "pong") == 0) {
		return true; /* owed since the ping was read */
	} else {
		return differ(r, "%s: step \"%s\" is not one this replay knows", where, step);
	}
	if (n < 0)
		return differ(r, "%s (%s): the PEX message does not encode", where, step);
	*msg_len = (size_t)n;
	char what[96];
	uint64_t ch;
	snprintf(what, sizeof(what), "%s (%s) PEX message", where, step);
	if (!same_hex(r, what, msg, *msg_len, m, "message_plaintext", where) ||
	    !juint(r, m, "channel_id", where, &ch))
		return false;
	if (mconn_send(&nd->mc, (uint8_t)ch, msg, *msg_len) < 0)
		return differ(r, "%s: node %s does not serve channel %llu", where, nd->name,
			      (unsigned long long)ch);
	return true;
}

/*
 * Hand the peer's received plaintext to its MConnection. A completed
 * message is copied to *got (malloc'ed, *got_len), else *got is NULL.
 */
static bool consume(struct replay *r, struct node *peer, const char *where, uint8_t **got,
		    size_t *got_len, uint8_t *channel)
{
	*got = NULL;
	const uint8_t *p;
	size_t n = sc_rx_peek(&peer->sc, &p), used = 0;
	while (used < n) {
		struct mconn_msg msg;
		ssize_t k = mconn_read(&peer->mc, p + used, n - used, &msg);
		if (k < 0)
			return differ(r, "%s: node %s's MConnection refuses it: %s", where, peer->name,
				      wire_error_name(peer->mc.error));
		used += (size_t)k;
		if (msg.data) {
			if (*got)
				return differ(r, "%s: node %s read two messages", where, peer->name);
			*got = malloc(msg.len + 1);
			if (!*got)
				return differ(r, "out of memory");
			memcpy(*got, msg.data, msg.len);
			*got_len = msg.len;
			*channel = msg.channel;
		}
	}
	sc_rx_advance(&peer->sc, used);
	return true;
}

/* What the peer's layers make of a PEX message: decoded, then the PEX rules. */
static bool pex_received(struct replay *r, struct node *peer, const char *where, const char *step,
			 const uint8_t *msg, size_t len)
{
	struct pex_msg pm;
	enum wire_error err = WIRE_OK;
	if (pex_decode(msg, len, &pm, &err) < 0)
		return differ(r, "%s: node %s cannot decode the PEX message: %s", where, peer->name,
			      wire_error_name(err));
	bool ok = true;
	enum pex_type want = strcmp(step, "pex_request") == 0 ? PEX_REQUEST : PEX_ADDRS;
	if (pm.type != want)
		ok = differ(r, "%s: node %s decodes another kind of PEX message", where, peer->name);
	if (ok && want == PEX_ADDRS) {
		/* Every address sent is decoded, in order (or skipped as upstream's book would). */
		struct netaddr *list = NULL;
		size_t count = 0, k = 0;
		ok = pex_list(r, &list, &count);
		for (size_t i = 0; ok && i < pm.n_addrs; i++) {
			while (k < count && !netaddr_equal(&list[k], &pm.addrs[i]))
				k++;
			if (k++ == count)
				ok = differ(r, "%s: node %s decodes address %zu, which was not sent",
					    where, peer->name, i);
		}
		if (ok && pm.n_addrs + pm.n_skipped != count)
			ok = differ(r, "%s: node %s decodes %zu addresses (%zu skipped), %zu were sent",
				    where, peer->name, pm.n_addrs, pm.n_skipped, count);
		free(list);
	}
	enum pex_action act = PEX_ACT_NONE;
	if (ok && pex_peer_receive(&peer->pex, &pm, peer->now, &act, &err) < 0)
		ok = differ(r, "%s: node %s's PEX rules refuse it: %s", where, peer->name,
			    wire_error_name(err));
	if (ok && (want == PEX_REQUEST ? act != PEX_ACT_REPLY && act != PEX_ACT_REPLY_AND_CLOSE
				       : act != PEX_ACT_ADDRS))
		ok = differ(r, "%s: node %s's PEX rules do not take it as %s", where, peer->name, step);
	if (ok && want == PEX_ADDRS)
		replay_log(r, "node %s decoded the %s: %zu addresses as sent, %zu skipped as unusable",
			   peer->name, step, pm.n_addrs, pm.n_skipped);
	else if (ok)
		replay_log(r, "node %s decoded the %s: a reply is due", peer->name, step);
	pex_msg_free(&pm);
	return ok;
}

/* One message of the transcript, sent by its node through every layer and read back. */
static bool one_message(struct replay *r, json_t *m, const char *where, struct node *nd,
			struct node *peer)
{
	const char *step = jstr(r, m, "step", where);
	if (!step)
		return false;
	uint8_t *msg = malloc(PEX_MAX_MSG_SIZE), *up = NULL, *got = NULL;
	size_t msg_len, ulen, wlen = 0, got_len = 0;
	uint8_t *written = NULL, channel = 0;
	const uint8_t *out;
	size_t olen = 0;
	char what[128];
	uint64_t pings = peer->mc.pings_in, pongs = peer->mc.pongs_in;
	bool ok = msg && produce(r, nd, m, where, step, msg, &msg_len) &&
		  (written = jhex(r, m, "written_plaintext", where, &wlen)) != NULL;
	if (ok) {
		out = mconn_output(&nd->mc, &olen);
		snprintf(what, sizeof(what), "%s (%s) packet as MConnection writes it", where, step);
		ok = same(r, what, out, olen, written, wlen);
	}
	if (ok) {
		/* packet_plaintext is the same write without its varint length. */
		size_t hdr, body;
		snprintf(what, sizeof(what), "%s (%s) packet", where, step);
		ok = (delim_parse(written, wlen, wlen, &hdr, &body) == 0 && hdr + body == wlen) ||
		     differ(r, "%s (%s): written_plaintext is not one delimited packet", where, step);
		ok = ok && same_hex(r, what, written + hdr, body, m, "packet_plaintext", where);
	}
	ok = ok && (sc_send(&nd->sc, out, olen) == 0 ||
		    differ(r, "node %s cannot send its %s", nd->name, step));
	if (ok)
		mconn_output_done(&nd->mc, olen);
	ok = ok && our_write(r, nd, step, json_object_get(m, "frames"), written, wlen, step, &up,
			     &ulen) &&
	     deliver(r, nd, peer, up, ulen, step) && consume(r, peer, where, &got, &got_len, &channel);
	bool is_pex = ok && (strcmp(step, "pex_request") == 0 || strcmp(step, "pex_addrs") == 0);
	if (is_pex) {
		uint64_t ch;
		snprintf(what, sizeof(what), "%s (%s) message read by node %s", where, step,
			 peer->name);
		ok = (got || differ(r, "%s: node %s read no message", where, peer->name)) &&
		     juint(r, m, "channel_id", where, &ch) &&
		     (ch == channel || differ(r, "%s: read on channel %u", where, channel)) &&
		     same_hex(r, what, got, got_len, m, "message_plaintext", where) &&
		     pex_received(r, peer, where, step, got, got_len);
	} else if (ok) {
		bool ping = strcmp(step, "ping") == 0;
		if (got)
			ok = differ(r, "%s: node %s read a message from a %s", where, peer->name, step);
		else if (ping ? peer->mc.pings_in != pings + 1 : peer->mc.pongs_in != pongs + 1)
			ok = differ(r, "%s: node %s's MConnection did not count the %s", where,
				    peer->name, step);
		else
			replay_log(r, "node %s took the %s", peer->name, step);
	}
	free(msg);
	free(written);
	free(got);
	return ok;
}

bool replay_messages(struct replay *r)
{
	json_t *msgs = json_object_get(r->root, "messages");
	if (!json_is_array(msgs))
		return differ(r, "the transcript has no array messages");
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		json_t *m = json_array_get(msgs, i);
		char where[32];
		snprintf(where, sizeof(where), "messages[%zu]", i);
		const char *from = jstr(r, m, "from", where);
		if (!from)
			return false;
		int k = strcmp(from, r->n[0].name) == 0 ? 0 : strcmp(from, r->n[1].name) == 0 ? 1 : -1;
		if (k < 0)
			return differ(r, "%s.from names no node", where);
		if (!one_message(r, m, where, &r->n[k], &r->n[1 - k]))
			return false;
	}
	return true;
}

bool replay_layers_setup(struct replay *r)
{
	struct mconn_config cfg;
	mconn_config_default(&cfg);
	for (int i = 0; i < 2; i++) {
		struct node *nd = &r->n[i];
		if (!build_node_info(r, nd))
			return false;
		if (mconn_init(&nd->mc, &cfg, 0) < 0)
			return differ(r, "MConnection does not start");
		nd->mc_live = true;
		pex_peer_init(&nd->pex, nd->sc.role == SC_DIALER, false);
	}
	return true;
}

bool replay_layers_idle(struct replay *r)
{
	for (int i = 0; i < 2; i++) {
		size_t n = 0;
		mconn_output(&r->n[i].mc, &n);
		if (n)
			return differ(r, "node %s's MConnection has %zu bytes left to write",
				      r->n[i].name, n);
	}
	return true;
}

void replay_layers_free(struct replay *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->n[i].ni_live)
			nodeinfo_free(&r->n[i].ni);
		if (r->n[i].mc_live)
			mconn_free(&r->n[i].mc);
		r->n[i].ni_live = r->n[i].mc_live = false;
	}
}
