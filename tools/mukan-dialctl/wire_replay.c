/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire_replay.c - replay an upstream transcript through user/wire/ and
 * compare every byte (see wire_replay.h): the nodes' keys, the
 * SecretConnection handshake, and every write as sealed frames. The layers
 * above (NodeInfo, MConnection, PEX) are wire_replay_layers.c.
 *
 * The order is the transcript's: ephemeral keys both ways, AuthSigMessages,
 * NodeInfos, then `messages` in their order. For each write a side makes we
 * compare the whole write, then each sealed frame in it (nonce, data length,
 * data, ciphertext, by opening what we sealed with our own send key), then
 * the plaintext at each layer the transcript gives. The receiving side is
 * fed upstream's bytes and must accept them and read back the same message.
 */
#include "wire_replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tendermint/p2p/conn.pb-c.h"
#include "wire/delim.h"
#include "wire_replay_internal.h"

/* ---- the nodes ---------------------------------------------------------- */

static bool node_setup(struct replay *r, struct node *nd, const char *name, const char *peer)
{
	char where[32];
	nd->name = name;
	snprintf(where, sizeof(where), "nodes.%s", name);
	nd->j = json_object_get(json_object_get(r->root, "nodes"), name);
	if (!json_is_object(nd->j))
		return differ(r, "the transcript has no object %s", where);
	uint8_t seed[NODE_KEY_SEED_LEN];
	if (!jhex_n(r, nd->j, "ed25519_seed", where, seed, sizeof(seed)) ||
	    !jhex_n(r, nd->j, "eph_x25519_priv", where, nd->eph_priv, sizeof(nd->eph_priv)))
		return false;
	node_key_from_seed(&nd->key, seed);
	sodium_memzero(seed, sizeof(seed));
	char what[64];
	snprintf(what, sizeof(what), "node %s private key from its seed", name);
	if (!same_hex(r, what, nd->key.priv, NODE_KEY_PRIV_LEN, nd->j, "ed25519_priv_key_64", where))
		return false;
	snprintf(what, sizeof(what), "node %s public key", name);
	if (!same_hex(r, what, nd->key.pub, NODE_KEY_PUB_LEN, nd->j, "ed25519_pub_key", where))
		return false;
	snprintf(what, sizeof(what), "node %s node ID", name);
	if (!same_hex(r, what, nd->key.id, MUKAN_ID_LEN, nd->j, "node_id", where))
		return false;
	replay_log(r, "node %s: key, public key and node ID from its seed", name);

	snprintf(nd->dir, sizeof(nd->dir), "%s_to_%s", name, peer);
	json_t *w = json_object_get(json_object_get(r->root, "wire"), nd->dir);
	nd->writes = json_object_get(w, "writes");
	nd->frames = json_object_get(w, "frames_decrypted");
	if (!json_is_array(nd->writes) || !json_is_array(nd->frames))
		return differ(r, "the transcript has no wire.%s.writes and frames_decrypted",
			      nd->dir);
	/* stream_hex must be the writes joined: the file agrees with itself. */
	size_t slen, off = 0;
	uint8_t *stream = jhex(r, w, "stream_hex", "wire", &slen);
	if (!stream)
		return false;
	bool ok = true;
	for (size_t i = 0; ok && i < json_array_size(nd->writes); i++) {
		size_t len;
		uint8_t *p = jhex(r, json_array_get(nd->writes, i), "hex", nd->dir, &len);
		ok = p && (off + len <= slen && memcmp(stream + off, p, len) == 0
				   ? true
				   : differ(r, "wire.%s.stream_hex is not its writes joined (write %zu)",
					    nd->dir, i));
		off += len;
		free(p);
	}
	free(stream);
	if (ok && off != slen)
		ok = differ(r, "wire.%s.stream_hex has %zu bytes, its writes %zu", nd->dir, slen, off);
	json_t *sl = json_object_get(w, "stream_len");
	if (ok && json_is_integer(sl) && (size_t)json_integer_value(sl) != slen)
		ok = differ(r, "wire.%s.stream_len is %lld, stream_hex %zu bytes", nd->dir,
			    json_integer_value(sl), slen);
	return ok;
}

static bool node_start(struct replay *r, struct node *nd, struct node *peer)
{
	const char *role = jstr(r, nd->j, "role", nd->name);
	if (!role)
		return false;
	bool dialer = strncmp(role, "dialer", 6) == 0;
	if (!dialer && strncmp(role, "listener", 8) != 0)
		return differ(r, "nodes.%s.role \"%s\" is neither dialer nor listener", nd->name, role);
	uint8_t peer_id[MUKAN_ID_LEN];
	char where[32];
	snprintf(where, sizeof(where), "nodes.%s", peer->name);
	/* The dialer expects the ID the transcript says it dialed: the peer's. */
	if (dialer && !jhex_n(r, peer->j, "node_id", where, peer_id, sizeof(peer_id)))
		return false;
	struct sc_config cfg = { .role = dialer ? SC_DIALER : SC_LISTENER, .me = &nd->key,
				 .expect_id = dialer ? peer_id : NULL, .eph_priv = nd->eph_priv,
				 .deadline = INT64_MAX };
	if (sc_init(&nd->sc, &cfg) < 0)
		return differ(r, "out of memory");
	nd->sc_live = true;
	char what[64];
	snprintf(what, sizeof(what), "node %s ephemeral public key", nd->name);
	snprintf(where, sizeof(where), "nodes.%s", nd->name);
	return same_hex(r, what, nd->sc.eph_pub, 32, nd->j, "eph_x25519_pub", where);
}

/* ---- writes and frames ------------------------------------------------- */

/* One sealed frame we wrote against frames_decrypted[idx] (and a message's own copy). */
static bool check_frame(struct replay *r, struct sc_dir *d, const uint8_t *sealed, json_t *fr,
			const char *what, uint8_t *plain, size_t *plain_len)
{
	char w[192];
	uint8_t nonce[SC_NONCE_LEN], data[SC_DATA_MAX];
	sc_nonce(nonce, d->counter);
	snprintf(w, sizeof(w), "%s nonce", what);
	if (!same_hex(r, w, nonce, sizeof(nonce), fr, "nonce", what))
		return false;
	snprintf(w, sizeof(w), "%s ciphertext", what);
	if (!same_hex(r, w, sealed, SC_FRAME_SEALED, fr, "ciphertext", what))
		return false;
	size_t n;
	enum wire_error why;
	if (sc_frame_open(d, sealed, data, &n, &why) < 0)
		return differ(r, "%s: our own frame does not open (%s)", what, wire_error_name(why));
	json_t *dl = json_object_get(fr, "data_len");
	if (json_is_integer(dl) && (size_t)json_integer_value(dl) != n)
		return differ(r, "%s data length: ours %zu, upstream %lld", what, n,
			      json_integer_value(dl));
	snprintf(w, sizeof(w), "%s data", what);
	if (!same_hex(r, w, data, n, fr, "data", what))
		return false;
	memcpy(plain + *plain_len, data, n);
	*plain_len += n;
	return true;
}

/*
 * Our node's next write against upstream's: the phase, the bytes, each
 * sealed frame in it (also against msg_frames, a message's own list, when
 * given), then the plaintext they carry against expect (when given).
 * Leaves the write's bytes in *up for delivering to the peer.
 */
bool our_write(struct replay *r, struct node *nd, const char *phase, json_t *msg_frames,
		      const uint8_t *expect, size_t expect_len, const char *expect_name,
		      uint8_t **up, size_t *up_len)
{
	*up = NULL;
	size_t i = nd->next_write++;
	json_t *w = json_array_get(nd->writes, i);
	char what[160];
	snprintf(what, sizeof(what), "%s write %zu (%s)", nd->dir, i, phase);
	if (!w)
		return differ(r, "%s: upstream made no such write", what);
	const char *up_phase = jstr(r, w, "phase", what);
	if (!up_phase)
		return false;
	if (strcmp(up_phase, phase) != 0)
		return differ(r, "%s: upstream's write %zu is %s", what, i, up_phase);
	uint8_t *bytes = jhex(r, w, "hex", what, up_len);
	if (!bytes)
		return false;
	const uint8_t *ours;
	size_t n = sc_tx_peek(&nd->sc, &ours);
	if (!same(r, what, ours, n < *up_len ? n : *up_len, bytes, *up_len)) {
		free(bytes);
		return false;
	}
	bool sealed = strcmp(phase, "eph_pub") != 0, ok = true;
	size_t frames = sealed ? *up_len / SC_FRAME_SEALED : 0;
	if (sealed && *up_len % SC_FRAME_SEALED)
		ok = differ(r, "%s: %zu bytes is not whole frames", what, *up_len);
	uint8_t *plain = malloc(frames * SC_DATA_MAX + 1);
	size_t plain_len = 0;
	if (!plain)
		ok = differ(r, "out of memory");
	for (size_t f = 0; ok && f < frames; f++) {
		char fw[256];
		size_t idx = nd->next_frame++;
		json_t *fr = json_array_get(nd->frames, idx);
		snprintf(fw, sizeof(fw), "%s frame %zu", what, f);
		if (!fr) {
			ok = differ(r, "%s: wire.%s.frames_decrypted has no entry %zu", fw, nd->dir,
				    idx);
			break;
		}
		struct sc_dir again = nd->shadow; /* the same counter, for the message's copy */
		const uint8_t *sealed_f = ours + f * SC_FRAME_SEALED;
		ok = check_frame(r, &nd->shadow, sealed_f, fr, fw, plain, &plain_len);
		if (ok && msg_frames) {
			/* The message's own record of its frames must say the same. */
			json_t *mf = json_array_get(msg_frames, f);
			uint8_t scratch[SC_DATA_MAX];
			size_t scratch_len = 0;
			snprintf(fw, sizeof(fw), "%s frame %zu (as the message lists it)", what, f);
			ok = mf ? check_frame(r, &again, sealed_f, mf, fw, scratch, &scratch_len)
				: differ(r, "%s: the message lists fewer frames", fw);
		}
	}
	if (ok && msg_frames && json_array_size(msg_frames) != frames)
		ok = differ(r, "%s: the message lists %zu frames, the write holds %zu", what,
			    json_array_size(msg_frames), frames);
	if (ok && expect) {
		char pw[192];
		snprintf(pw, sizeof(pw), "%s plaintext (%s)", what, expect_name);
		ok = same(r, pw, plain, plain_len, expect, expect_len);
	}
	free(plain);
	if (!ok) {
		free(bytes);
		return false;
	}
	sc_tx_advance(&nd->sc, *up_len);
	replay_log(r, "%s: %zu bytes, %zu frame(s)", what, *up_len, frames);
	*up = bytes;
	return true;
}

/* Upstream's bytes of a write to our receiving session. */
bool deliver(struct replay *r, struct node *from, struct node *to, uint8_t *bytes,
		    size_t len, const char *phase)
{
	int rc = sc_recv(&to->sc, bytes, len, 0);
	free(bytes);
	if (rc < 0)
		return differ(r, "node %s refused %s write %zu (%s): %s", to->name, from->dir,
			      from->next_write - 1, phase,
			      rc == -EPROTO ? wire_error_name(to->sc.error) : strerror(-rc));
	return true;
}

/* ---- the handshake ---------------------------------------------------- */

static bool check_secrets(struct replay *r, struct node *nd, struct node *peer)
{
	char where[32], what[64];
	snprintf(where, sizeof(where), "nodes.%s", nd->name);
	json_t *least = json_object_get(nd->j, "loc_eph_is_least");
	if (!json_is_boolean(least))
		return differ(r, "the transcript has no boolean %s.loc_eph_is_least", where);
	if (json_is_true(least) != nd->sc.loc_is_least)
		return differ(r, "node %s loc_eph_is_least: ours %s", nd->name,
			      nd->sc.loc_is_least ? "true" : "false");
	/* The session wipes its DH secret; the same X25519 (libsodium) recomputes it here. */
	uint8_t dh[32];
	if (crypto_scalarmult(dh, nd->eph_priv, peer->sc.eph_pub) != 0)
		return differ(r, "node %s DH secret is all zero", nd->name);
	snprintf(what, sizeof(what), "node %s DH secret", nd->name);
	bool ok = same_hex(r, what, dh, 32, nd->j, "dh_secret", where);
	sodium_memzero(dh, sizeof(dh));
	struct {
		const char *key, *name;
		const uint8_t *ours;
	} v[] = {
		{ "recv_key", "receive key", nd->sc.recv.key },
		{ "send_key", "send key", nd->sc.send.key },
		{ "challenge", "challenge", nd->sc.challenge },
	};
	for (size_t i = 0; ok && i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(what, sizeof(what), "node %s %s", nd->name, v[i].name);
		ok = same_hex(r, what, v[i].ours, 32, nd->j, v[i].key, where);
	}
	if (!ok)
		return false;
	json_t *hs = json_object_get(r->root, "handshake");
	const uint8_t *lo = nd->sc.loc_is_least ? nd->sc.eph_pub : nd->sc.remote_eph;
	const uint8_t *hi = nd->sc.loc_is_least ? nd->sc.remote_eph : nd->sc.eph_pub;
	if (!same_hex(r, "handshake lower ephemeral key", lo, 32, hs, "lo_eph_pub", "handshake") ||
	    !same_hex(r, "handshake upper ephemeral key", hi, 32, hs, "hi_eph_pub", "handshake") ||
	    !same_hex(r, "handshake challenge", nd->sc.challenge, 32, hs, "challenge", "handshake"))
		return false;
	nd->shadow = nd->sc.send; /* counter 0: nothing sealed was checked yet */
	nd->shadow.counter = 0;
	replay_log(r, "node %s: DH secret, key order, receive and send keys, challenge", nd->name);
	return true;
}

static bool auth_write(struct replay *r, struct node *nd, struct node *peer)
{
	char where[32];
	snprintf(where, sizeof(where), "nodes.%s", nd->name);
	size_t elen, ulen;
	uint8_t *expect = jhex(r, nd->j, "auth_sig_message_written_plaintext", where, &elen), *up;
	if (!expect)
		return false;
	bool ok = our_write(r, nd, "auth_sig", NULL, expect, elen, "AuthSigMessage", &up, &ulen);
	if (ok) {
		/* Name a wrong signature as such, not as some byte of the message. */
		size_t hdr, body;
		Tendermint__P2p__AuthSigMessage *m = NULL;
		if (delim_parse(expect, elen, elen, &hdr, &body) == 0)
			m = tendermint__p2p__auth_sig_message__unpack(NULL, body, expect + hdr);
		char what[64];
		snprintf(what, sizeof(what), "node %s AuthSigMessage signature", nd->name);
		ok = m ? same_hex(r, what, m->sig.data, m->sig.len, nd->j, "auth_signature", where)
		       : differ(r, "%s.auth_sig_message_written_plaintext does not decode", where);
		if (m)
			tendermint__p2p__auth_sig_message__free_unpacked(m, NULL);
	}
	free(expect);
	if (!ok) {
		free(up);
		return false;
	}
	if (!deliver(r, nd, peer, up, ulen, "auth_sig"))
		return false;
	if (peer->sc.state != SC_OPEN)
		return differ(r, "node %s is not authenticated after %s's AuthSigMessage", peer->name,
			      nd->name);
	char what[64];
	snprintf(what, sizeof(what), "node %s's view of %s's node ID", peer->name, nd->name);
	if (!same_hex(r, what, peer->sc.remote_id, MUKAN_ID_LEN, nd->j, "node_id", where))
		return false;
	replay_log(r, "node %s authenticated %s", peer->name, nd->name);
	return true;
}

/* Every write upstream made was replayed, and we have nothing more to send. */
static bool all_consumed(struct replay *r)
{
	for (int i = 0; i < 2; i++) {
		struct node *nd = &r->n[i];
		if (nd->next_write != json_array_size(nd->writes))
			return differ(r, "%s: upstream made %zu writes, the replay %zu", nd->dir,
				      json_array_size(nd->writes), nd->next_write);
		if (nd->next_frame != json_array_size(nd->frames))
			return differ(r, "%s: upstream lists %zu frames, the replay made %zu",
				      nd->dir, json_array_size(nd->frames), nd->next_frame);
		const uint8_t *p;
		if (sc_tx_peek(&nd->sc, &p) > 0)
			return differ(r, "node %s has bytes left to send", nd->name);
		if (sc_rx_peek(&nd->sc, &p) > 0)
			return differ(r, "node %s has bytes left unread", nd->name);
	}
	return replay_layers_idle(r);
}

bool wire_replay(json_t *root, FILE *log, char *diff, size_t diffsz)
{
	struct replay r = { .root = root, .log = log, .diff = diff, .diffsz = diffsz };
	struct node *a = &r.n[0], *b = &r.n[1];
	diff[0] = '\0';
	if (sodium_init() < 0)
		return differ(&r, "libsodium does not initialise");
	uint8_t *up;
	size_t ulen;
	bool ok = node_setup(&r, a, "A", "B") && node_setup(&r, b, "B", "A") &&
		  node_start(&r, a, b) && node_start(&r, b, a) && replay_layers_setup(&r) &&
		  our_write(&r, a, "eph_pub", NULL, NULL, 0, NULL, &up, &ulen) &&
		  deliver(&r, a, b, up, ulen, "eph_pub") &&
		  our_write(&r, b, "eph_pub", NULL, NULL, 0, NULL, &up, &ulen) &&
		  deliver(&r, b, a, up, ulen, "eph_pub") && check_secrets(&r, a, b) &&
		  check_secrets(&r, b, a) && auth_write(&r, a, b) && auth_write(&r, b, a) &&
		  replay_node_info(&r, a, b) && replay_node_info(&r, b, a) &&
		  replay_messages(&r) && all_consumed(&r);
	replay_layers_free(&r);
	for (int i = 0; i < 2; i++) {
		if (r.n[i].sc_live)
			sc_free(&r.n[i].sc);
		node_key_wipe(&r.n[i].key);
		sodium_memzero(r.n[i].eph_priv, sizeof(r.n[i].eph_priv));
		sodium_memzero(&r.n[i].shadow, sizeof(r.n[i].shadow));
	}
	return ok;
}
