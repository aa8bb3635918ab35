/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_handshake.c - SecretConnection's handshake in both roles:
 * upstream's own bytes reproduced (transcript 1, every write), two of our
 * sessions against each other however the bytes are split, and every way
 * a peer can fail it: malformed or low-order or echoed ephemeral keys, a
 * bad signature, a wrong ID, a key that is not ed25519, malformed or
 * oversized AuthSigMessages, a corrupt frame, a peer that goes away or
 * never finishes.
 *
 * Misbehaving peers are made from a real session (b) whose bytes the test
 * rewrites: a sealed frame is opened with b's send key, changed, sealed
 * again with the same counter, so the tag is right and only the content is
 * wrong.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "google/protobuf/bytes_value.pb-c.h"
#include "tendermint/p2p/conn.pb-c.h"
#include "wire/delim.h"
#include "wire/secret_conn.h"
#include "wire_helpers.h"

/* ---- upstream's transcript ------------------------------------------- */

struct side {
	struct node_key key;
	uint8_t eph_priv[32];
	struct secret_conn c;
};

static void side_init(struct side *s, json_t *root, const char *node, enum sc_role role,
		      const uint8_t *expect_id)
{
	char path[128];
	uint8_t seed[32];
	snprintf(path, sizeof(path), "nodes.%s.ed25519_seed", node);
	transcript_hex(root, path, seed, 32);
	node_key_from_seed(&s->key, seed);
	snprintf(path, sizeof(path), "nodes.%s.eph_x25519_priv", node);
	transcript_hex(root, path, s->eph_priv, 32);
	struct sc_config cfg = { .role = role, .me = &s->key, .expect_id = expect_id,
				 .eph_priv = s->eph_priv, .deadline = INT64_MAX };
	cr_assert_eq(sc_init(&s->c, &cfg), 0);
}

/* The next n bytes s queued must be the transcript's write number i of dir. */
static void expect_write(struct secret_conn *c, json_t *root, const char *dir, size_t i)
{
	json_t *w = json_array_get(json_object_get(json_object_get(json_object_get(root, "wire"),
								       dir),
						   "writes"),
				   i);
	cr_assert_not_null(w, "%s has no write %zu", dir, i);
	size_t len;
	uint8_t *want = hex_dup(json_string_value(json_object_get(w, "hex")), &len);
	const uint8_t *got;
	size_t n = sc_tx_peek(c, &got);
	cr_assert_geq(n, len, "%s write %zu (%s): %zu bytes queued, want %zu", dir, i,
		      json_string_value(json_object_get(w, "phase")), n, len);
	cr_assert_arr_eq(got, want, len, "%s write %zu (%s) differs from upstream's", dir, i,
			 json_string_value(json_object_get(w, "phase")));
	free(want);
}

static void feed_write(struct secret_conn *from, struct secret_conn *to, size_t len)
{
	const uint8_t *p;
	cr_assert_geq(sc_tx_peek(from, &p), len);
	cr_assert_eq(sc_recv(to, p, len, 0), 0, "receiver failed: %s", wire_error_name(to->error));
	sc_tx_advance(from, len);
}

static void expect_node_values(struct side *s, json_t *root, const char *node)
{
	char path[128];
	uint8_t want[32];
	struct {
		const char *field;
		const uint8_t *got;
	} checks[] = {
		{ "eph_x25519_pub", s->c.eph_pub }, { "recv_key", s->c.recv.key },
		{ "send_key", s->c.send.key },	    { "challenge", s->c.challenge },
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		snprintf(path, sizeof(path), "nodes.%s.%s", node, checks[i].field);
		transcript_hex(root, path, want, 32);
		cr_assert_arr_eq(checks[i].got, want, 32, "node %s: %s differs", node,
				 checks[i].field);
	}
	snprintf(path, sizeof(path), "nodes.%s.loc_eph_is_least", node);
	json_t *least = json_object_get(json_object_get(json_object_get(root, "nodes"), node),
					"loc_eph_is_least");
	cr_assert(json_is_boolean(least), "%s missing", path);
	cr_assert_eq(s->c.loc_is_least, json_is_true(least), "node %s: loc_is_least", node);
}

Test(wire_handshake, upstream_transcript_1_byte_for_byte)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	struct side a, b;
	uint8_t b_id[MUKAN_ID_LEN], a_id[MUKAN_ID_LEN];
	transcript_hex(root, "nodes.B.node_id", b_id, sizeof(b_id));
	transcript_hex(root, "nodes.A.node_id", a_id, sizeof(a_id));
	side_init(&a, root, "A", SC_DIALER, b_id);
	side_init(&b, root, "B", SC_LISTENER, NULL);
	cr_assert_arr_eq(a.key.id, a_id, MUKAN_ID_LEN, "A's node ID from its seed");

	expect_write(&a.c, root, "A_to_B", 0); /* ephemeral keys */
	expect_write(&b.c, root, "B_to_A", 0);
	feed_write(&a.c, &b.c, SC_EPH_MSG_LEN);
	feed_write(&b.c, &a.c, SC_EPH_MSG_LEN);
	expect_node_values(&a, root, "A");
	expect_node_values(&b, root, "B");
	expect_write(&a.c, root, "A_to_B", 1); /* AuthSigMessage frames */
	expect_write(&b.c, root, "B_to_A", 1);
	feed_write(&a.c, &b.c, SC_FRAME_SEALED);
	feed_write(&b.c, &a.c, SC_FRAME_SEALED);
	cr_assert_eq(a.c.state, SC_OPEN);
	cr_assert_eq(b.c.state, SC_OPEN);
	cr_assert_arr_eq(a.c.remote_id, b_id, MUKAN_ID_LEN);
	cr_assert_arr_eq(b.c.remote_id, a_id, MUKAN_ID_LEN);

	/* Then NodeInfo, both ways, one delimited write each. */
	const char *dirs[2] = { "A_to_B", "B_to_A" }, *nodes[2] = { "A", "B" };
	struct side *sides[2] = { &a, &b };
	for (int d = 0; d < 2; d++) {
		char path[128];
		size_t len;
		snprintf(path, sizeof(path), "nodes.%s.node_info_proto", nodes[d]);
		uint8_t *ni = hex_dup(transcript_str(root, path), &len);
		cr_assert_eq(sc_send_msg(&sides[d]->c, ni, len), 0);
		expect_write(&sides[d]->c, root, dirs[d], 2);
		feed_write(&sides[d]->c, &sides[1 - d]->c, SC_FRAME_SEALED);
		const uint8_t *body;
		size_t blen;
		cr_assert_eq(sc_read_msg(&sides[1 - d]->c, 10240, &body, &blen), 0);
		cr_assert_eq(blen, len);
		cr_assert_arr_eq(body, ni, len, "NodeInfo of %s read back differs", nodes[d]);
		free(ni);
	}
	/* Then each MConnection write as upstream made it, in order. */
	json_t *msgs = json_object_get(root, "messages");
	size_t next_write[2] = { 3, 3 };
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		json_t *m = json_array_get(msgs, i);
		int d = strcmp(json_string_value(json_object_get(m, "from")), "A") == 0 ? 0 : 1;
		size_t len;
		uint8_t *w = hex_dup(json_string_value(json_object_get(m, "written_plaintext")),
				     &len);
		cr_assert_eq(sc_send(&sides[d]->c, w, len), 0);
		expect_write(&sides[d]->c, root, dirs[d], next_write[d]++);
		feed_write(&sides[d]->c, &sides[1 - d]->c, SC_FRAME_SEALED);
		const uint8_t *got;
		cr_assert_eq(sc_rx_peek(&sides[1 - d]->c, &got), len);
		cr_assert_arr_eq(got, w, len, "message %zu read back differs", i);
		sc_rx_advance(&sides[1 - d]->c, len);
		free(w);
	}
	sc_free(&a.c);
	sc_free(&b.c);
	json_decref(root);
}

/* ---- two of our sessions --------------------------------------------- */

Test(wire_handshake, both_roles_any_split)
{
	/* All at once, a byte at a time, and sizes that cut frames anywhere. */
	static const size_t chunks[] = { 0, 1, 3, 34, 35, 36, 1043, 1044, 1045, 4096 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct sc_pair p;
		pair_init(&p, 1, 2);
		pair_handshake(&p, chunks[i]);
		cr_assert_arr_eq(p.a.remote_id, p.kb.id, MUKAN_ID_LEN);
		cr_assert_arr_eq(p.b.remote_id, p.ka.id, MUKAN_ID_LEN);
		cr_assert_arr_eq(p.a.remote_pub, p.kb.pub, 32);
		cr_assert_arr_eq(p.a.send.key, p.b.recv.key, 32);
		cr_assert_arr_eq(p.a.recv.key, p.b.send.key, 32);
		cr_assert_arr_eq(p.a.challenge, p.b.challenge, 32);
		cr_assert_neq(p.a.loc_is_least, p.b.loc_is_least);
		static const uint8_t zero[32];
		cr_assert_arr_eq(p.a.eph_priv, zero, 32, "ephemeral key kept after use");
		pair_free(&p);
	}
}

Test(wire_handshake, ephemeral_keys_are_fresh)
{
	struct sc_pair p, q;
	pair_init(&p, 1, 2);
	pair_init(&q, 1, 2);
	cr_assert(memcmp(p.a.eph_pub, q.a.eph_pub, 32) != 0, "two sessions, one ephemeral key");
	pair_handshake(&p, 0);
	pair_handshake(&q, 0);
	cr_assert(memcmp(p.a.send.key, q.a.send.key, 32) != 0);
	pair_free(&p);
	pair_free(&q);
}

Test(wire_handshake, listener_accepts_any_id_dialer_by_address)
{
	/* A dial without a known ID (expect_id NULL) authenticates but checks no ID. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	sc_free(&p.a);
	struct sc_config ca = { .role = SC_DIALER, .me = &p.ka, .deadline = INT64_MAX };
	cr_assert_eq(sc_init(&p.a, &ca), 0);
	pair_handshake(&p, 0);
	cr_assert_arr_eq(p.a.remote_id, p.kb.id, MUKAN_ID_LEN);
	pair_free(&p);
}

/* ---- rejections in the key exchange --------------------------------- */

static void expect_fail(struct secret_conn *c, int rc, enum wire_error why, enum wire_step step)
{
	cr_assert_eq(rc, -EPROTO, "rc %d, want -EPROTO", rc);
	cr_assert_eq(c->state, SC_FAILED);
	cr_assert_eq(c->error, why, "error %s, want %s", wire_error_name(c->error),
		     wire_error_name(why));
	cr_assert_eq(c->step, step, "step %s, want %s", wire_step_name(c->step),
		     wire_step_name(step));
	static const uint8_t zero[32];
	cr_assert_arr_eq(c->send.key, zero, 32, "keys not wiped on failure");
	cr_assert_arr_eq(c->recv.key, zero, 32, "keys not wiped on failure");
	/* A failed session stays failed, whatever comes next. */
	uint8_t more[64] = { 0 };
	cr_assert_eq(sc_recv(c, more, sizeof(more), 0), -EPROTO);
	cr_assert_eq(sc_send(c, more, 1), -EPROTO);
	cr_assert_eq(c->error, why, "the first reason must stay");
}

static int send_eph(struct secret_conn *c, const uint8_t key[32])
{
	uint8_t msg[SC_EPH_MSG_LEN] = { 0x22, 0x0a, 0x20 };
	memcpy(msg + 3, key, 32);
	return sc_recv(c, msg, sizeof(msg), 0);
}

Test(wire_handshake, rejects_malformed_ephemeral_message)
{
	/* Each of the 3 fixed bytes wrong (another length, field or size), at once. */
	for (int i = 0; i < 3; i++) {
		struct sc_pair p;
		pair_init(&p, 1, 2);
		uint8_t msg[SC_EPH_MSG_LEN] = { 0x22, 0x0a, 0x20 };
		msg[i] ^= 0x01;
		expect_fail(&p.a, sc_recv(&p.a, msg, (size_t)i + 1, 0), WIRE_ERR_EPH_KEY_MALFORMED,
			    WIRE_STEP_KEY_EXCHANGE);
		pair_free(&p);
	}
}

Test(wire_handshake, rejects_low_order_points)
{
	/* u = 0 and u = 1 (orders 4 and 1 on the curve), and an order-8 point. */
	uint8_t pts[3][32] = { { 0 }, { 1 }, { 0 } };
	hex_to("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", pts[2], 32);
	for (int i = 0; i < 3; i++) {
		struct sc_pair p;
		pair_init(&p, 1, 2);
		expect_fail(&p.a, send_eph(&p.a, pts[i]), WIRE_ERR_LOW_ORDER_DH,
			    WIRE_STEP_KEY_EXCHANGE);
		const uint8_t *q;
		cr_assert_eq(sc_tx_peek(&p.a, &q), SC_EPH_MSG_LEN, "nothing sealed after a bad DH");
		pair_free(&p);
	}
}

Test(wire_handshake, rejects_echoed_ephemeral_key)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	expect_fail(&p.a, send_eph(&p.a, p.a.eph_pub), WIRE_ERR_SAME_EPH_KEY,
		    WIRE_STEP_KEY_EXCHANGE);
	pair_free(&p);
}

/* ---- rejections of the AuthSigMessage --------------------------------- */

/*
 * Run the key exchange, then replace b's sealed AuthSigMessage frame by one
 * holding `plain` (len bytes, sealed with b's key and counter 0) and hand it
 * to a.
 */
static int send_forged_auth(struct sc_pair *p, const uint8_t *plain, size_t len)
{
	cr_assert_eq(pump(&p->a, &p->b, 0), 0);
	const uint8_t *q;
	cr_assert_eq(sc_tx_peek(&p->b, &q), SC_EPH_MSG_LEN + SC_FRAME_SEALED);
	cr_assert_eq(sc_recv(&p->a, q, SC_EPH_MSG_LEN, 0), 0);
	struct sc_dir d = { .counter = 0 };
	memcpy(d.key, p->b.send.key, 32);
	uint8_t frame[SC_FRAME_SEALED];
	cr_assert_eq(sc_frame_seal(&d, plain, len, frame), 0);
	sc_tx_advance(&p->b, SC_EPH_MSG_LEN + SC_FRAME_SEALED);
	return sc_recv(&p->a, frame, sizeof(frame), 0);
}

/* b's own AuthSigMessage plaintext (delimited), as sealed in its first frame. */
static size_t b_auth_plain(struct sc_pair *p, uint8_t out[SC_DATA_MAX])
{
	cr_assert_eq(pump(&p->a, &p->b, 0), 0);
	const uint8_t *q;
	sc_tx_peek(&p->b, &q);
	struct sc_dir d = { .counter = 0 };
	memcpy(d.key, p->b.send.key, 32);
	size_t n;
	enum wire_error why;
	cr_assert_eq(sc_frame_open(&d, q + SC_EPH_MSG_LEN, out, &n, &why), 0);
	return n;
}

static size_t encode_auth(uint8_t *out, Tendermint__Crypto__PublicKey *key, const uint8_t *sig,
			  size_t sig_len)
{
	Tendermint__P2p__AuthSigMessage m = TENDERMINT__P2P__AUTH_SIG_MESSAGE__INIT;
	m.pub_key = key;
	m.sig.data = (uint8_t *)sig;
	m.sig.len = sig_len;
	size_t body = tendermint__p2p__auth_sig_message__get_packed_size(&m);
	size_t hdr = delim_put_len(out, body);
	return hdr + tendermint__p2p__auth_sig_message__pack(&m, out + hdr);
}

Test(wire_handshake, our_auth_message_is_upstreams_encoding)
{
	/* 0x66, PublicKey{ed25519 (0a 20 ..)} as field 1 (0a 22), sig as field 2 (12 40). */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	uint8_t plain[SC_DATA_MAX];
	size_t n = b_auth_plain(&p, plain);
	cr_assert_eq(n, 103);
	static const uint8_t head[] = { 0x66, 0x0a, 0x22, 0x0a, 0x20 };
	cr_assert_arr_eq(plain, head, sizeof(head));
	cr_assert_arr_eq(plain + 5, p.kb.pub, 32);
	cr_assert_eq(plain[37], 0x12);
	cr_assert_eq(plain[38], 0x40);
	cr_assert_eq(crypto_sign_verify_detached(plain + 39, p.b.challenge, 32, p.kb.pub), 0);
	pair_free(&p);
}

Test(wire_handshake, rejects_bad_signature)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	uint8_t plain[SC_DATA_MAX];
	size_t n = b_auth_plain(&p, plain);
	plain[n - 1] ^= 0x40; /* the signature's last byte */
	expect_fail(&p.a, send_forged_auth(&p, plain, n), WIRE_ERR_BAD_SIGNATURE, WIRE_STEP_AUTH);
	pair_free(&p);
}

Test(wire_handshake, rejects_signature_of_another_challenge)
{
	/* A valid signature by the right key, over the wrong message. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	uint8_t plain[SC_DATA_MAX], other[32] = { 7 };
	size_t n = b_auth_plain(&p, plain);
	crypto_sign_detached(plain + 39, NULL, other, sizeof(other), p.kb.priv);
	expect_fail(&p.a, send_forged_auth(&p, plain, n), WIRE_ERR_BAD_SIGNATURE, WIRE_STEP_AUTH);
	pair_free(&p);
}

Test(wire_handshake, rejects_signature_of_wrong_length)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	uint8_t plain[SC_DATA_MAX], sig[63] = { 0 };
	Tendermint__Crypto__PublicKey key;
	tendermint__crypto__public_key__init(&key); /* the INIT macro trips -Wmissing-braces */
	key.sum_case = TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519;
	key.ed25519.data = p.kb.pub;
	key.ed25519.len = 32;
	size_t n = encode_auth(plain, &key, sig, sizeof(sig));
	expect_fail(&p.a, send_forged_auth(&p, plain, n), WIRE_ERR_BAD_SIGNATURE, WIRE_STEP_AUTH);
	pair_free(&p);
}

Test(wire_handshake, rejects_wrong_id)
{
	/* a dials expecting c's ID; b answers with its own valid key. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	struct node_key kc;
	uint8_t seed[32];
	memset(seed, 3, sizeof(seed));
	node_key_from_seed(&kc, seed);
	sc_free(&p.a);
	struct sc_config ca = { .role = SC_DIALER, .me = &p.ka, .expect_id = kc.id,
				.deadline = INT64_MAX };
	cr_assert_eq(sc_init(&p.a, &ca), 0);
	cr_assert_eq(pump(&p.a, &p.b, 0), 0);
	expect_fail(&p.a, pump(&p.b, &p.a, 0), WIRE_ERR_WRONG_ID, WIRE_STEP_AUTH);
	/* The listener side is unaffected: a's frame was sent before a failed. */
	cr_assert_eq(pump(&p.a, &p.b, 0), 0);
	cr_assert_eq(p.b.state, SC_OPEN);
	pair_free(&p);
}

Test(wire_handshake, rejects_keys_other_than_ed25519)
{
	struct sc_pair p;
	uint8_t plain[SC_DATA_MAX], sig[64] = { 0 }, k33[33] = { 2 };
	Tendermint__Crypto__PublicKey key;
	tendermint__crypto__public_key__init(&key); /* the INIT macro trips -Wmissing-braces */
	/* secp256k1, then no key at all, then an ed25519 field of 31 bytes. */
	for (int i = 0; i < 3; i++) {
		pair_init(&p, 1, 2);
		key.sum_case = i == 0	? TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_SECP256K1
			       : i == 1 ? TENDERMINT__CRYPTO__PUBLIC_KEY__SUM__NOT_SET
					: TENDERMINT__CRYPTO__PUBLIC_KEY__SUM_ED25519;
		if (i == 0) {
			key.secp256k1.data = k33;
			key.secp256k1.len = sizeof(k33);
		} else {
			key.ed25519.data = p.kb.pub;
			key.ed25519.len = 31;
		}
		size_t n = encode_auth(plain, i == 1 ? NULL : &key, sig, sizeof(sig));
		expect_fail(&p.a, send_forged_auth(&p, plain, n), WIRE_ERR_AUTH_KEY_TYPE,
			    WIRE_STEP_AUTH);
		pair_free(&p);
	}
}

Test(wire_handshake, rejects_undecodable_auth_message)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	static const uint8_t junk[] = { 0x03, 0x0a, 0x7f, 0x00 }; /* field 1 claims 127 bytes */
	expect_fail(&p.a, send_forged_auth(&p, junk, sizeof(junk)), WIRE_ERR_MSG_MALFORMED,
		    WIRE_STEP_AUTH);
	pair_free(&p);
	pair_init(&p, 1, 2);
	static const uint8_t bad_varint[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0x7f };
	expect_fail(&p.a, send_forged_auth(&p, bad_varint, sizeof(bad_varint)),
		    WIRE_ERR_MSG_MALFORMED, WIRE_STEP_AUTH);
	pair_free(&p);
}

Test(wire_handshake, rejects_oversized_auth_message_at_its_length)
{
	/* A length of 1025 is refused before any of the body arrives. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	uint8_t hdr[DELIM_MAX_HDR];
	size_t n = delim_put_len(hdr, SC_AUTH_MSG_MAX + 1);
	expect_fail(&p.a, send_forged_auth(&p, hdr, n), WIRE_ERR_MSG_TOO_LARGE, WIRE_STEP_AUTH);
	pair_free(&p);
}

Test(wire_handshake, auth_message_split_over_frames)
{
	/* The first byte in one frame, the rest in a second: still accepted. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	uint8_t plain[SC_DATA_MAX];
	size_t n = b_auth_plain(&p, plain);
	const uint8_t *q;
	sc_tx_peek(&p.b, &q);
	cr_assert_eq(sc_recv(&p.a, q, SC_EPH_MSG_LEN, 0), 0);
	sc_tx_advance(&p.b, SC_EPH_MSG_LEN + SC_FRAME_SEALED);
	struct sc_dir d = { .counter = 0 };
	memcpy(d.key, p.b.send.key, 32);
	uint8_t f1[SC_FRAME_SEALED], f2[SC_FRAME_SEALED];
	sc_frame_seal(&d, plain, 1, f1);
	sc_frame_seal(&d, plain + 1, n - 1, f2);
	cr_assert_eq(sc_recv(&p.a, f1, sizeof(f1), 0), 0);
	cr_assert_eq(p.a.state, SC_WAIT_AUTH);
	cr_assert_eq(sc_recv(&p.a, f2, sizeof(f2), 0), 0);
	cr_assert_eq(p.a.state, SC_OPEN);
	pair_free(&p);
}

Test(wire_handshake, rejects_corrupt_auth_frame)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	cr_assert_eq(pump(&p.a, &p.b, 0), 0);
	const uint8_t *q;
	size_t n = sc_tx_peek(&p.b, &q);
	uint8_t *copy = malloc(n);
	memcpy(copy, q, n);
	copy[SC_EPH_MSG_LEN + 500] ^= 1;
	expect_fail(&p.a, sc_recv(&p.a, copy, n, 0), WIRE_ERR_BAD_MAC, WIRE_STEP_AUTH);
	free(copy);
	pair_free(&p);
}

/* ---- a peer that goes away or never finishes ------------------------- */

Test(wire_handshake, eof_before_and_inside_the_ephemeral_message)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	expect_fail(&p.a, sc_recv_eof(&p.a), WIRE_ERR_CLOSED, WIRE_STEP_KEY_EXCHANGE);
	pair_free(&p);
	pair_init(&p, 1, 2);
	const uint8_t *q;
	sc_tx_peek(&p.b, &q);
	cr_assert_eq(sc_recv(&p.a, q, 20, 0), 0);
	expect_fail(&p.a, sc_recv_eof(&p.a), WIRE_ERR_TRUNCATED, WIRE_STEP_KEY_EXCHANGE);
	pair_free(&p);
}

Test(wire_handshake, eof_inside_the_auth_frame)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	cr_assert_eq(pump(&p.a, &p.b, 0), 0);
	const uint8_t *q;
	sc_tx_peek(&p.b, &q);
	cr_assert_eq(sc_recv(&p.a, q, SC_EPH_MSG_LEN + 1000, 0), 0);
	expect_fail(&p.a, sc_recv_eof(&p.a), WIRE_ERR_TRUNCATED, WIRE_STEP_AUTH);
	pair_free(&p);
}

Test(wire_handshake, deadline)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	sc_free(&p.a);
	struct sc_config ca = { .role = SC_DIALER, .me = &p.ka, .expect_id = p.kb.id,
				.deadline = 1000 };
	cr_assert_eq(sc_init(&p.a, &ca), 0);
	cr_assert_eq(sc_check_deadline(&p.a, 999), 0);
	const uint8_t *q;
	sc_tx_peek(&p.b, &q);
	/* Bytes arriving after the deadline are not looked at. */
	expect_fail(&p.a, sc_recv(&p.a, q, 10, 1000), WIRE_ERR_TIMEOUT, WIRE_STEP_KEY_EXCHANGE);
	pair_free(&p);

	/* An open session has no handshake deadline any more. */
	pair_init(&p, 1, 2);
	p.a.deadline = 5;
	pair_handshake(&p, 0);
	cr_assert_eq(sc_check_deadline(&p.a, 1000000), 0);
	pair_free(&p);
}

Test(wire_handshake, nothing_sent_before_open)
{
	struct sc_pair p;
	pair_init(&p, 1, 2);
	const uint8_t *body;
	size_t len;
	cr_assert_eq(sc_send(&p.a, "x", 1), -ENOTCONN);
	cr_assert_eq(sc_read_msg(&p.a, 100, &body, &len), -ENOTCONN);
	pair_free(&p);
}

Test(wire_handshake, ephemeral_message_is_the_generated_bytes_value)
{
	/* The fixed 35 bytes we send and require are protobuf's own encoding. */
	struct sc_pair p;
	pair_init(&p, 1, 2);
	Google__Protobuf__BytesValue v = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
	v.value.data = p.a.eph_pub;
	v.value.len = 32;
	uint8_t buf[64];
	size_t body = google__protobuf__bytes_value__get_packed_size(&v);
	size_t hdr = delim_put_len(buf, body);
	cr_assert_eq(hdr + google__protobuf__bytes_value__pack(&v, buf + hdr), SC_EPH_MSG_LEN);
	const uint8_t *q;
	cr_assert_eq(sc_tx_peek(&p.a, &q), SC_EPH_MSG_LEN);
	cr_assert_arr_eq(q, buf, SC_EPH_MSG_LEN);
	pair_free(&p);
}
