/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_pex.c - PEX messages against upstream's bytes (the kept
 * transcript's request and 3-address reply), the addresses as the book's
 * netaddr (malformed ones refuse the list, unusable ones are skipped and
 * counted), the size caps, and every per-peer rule of upstream's reactor:
 * one outstanding request, unsolicited replies, request frequency, seed
 * mode's one reply.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "wire/delim.h"
#include "wire/pb.h"
#include "wire/pex.h"
#include "wire_helpers.h"

#define SEC 1000000000LL
#define ID1 "6a8c1d4e2f3b5a7c9d0e1f2a3b4c5d6e7f809102"

static json_t *message(json_t *root, size_t i)
{
	json_t *m = json_array_get(json_object_get(root, "messages"), i);
	cr_assert_not_null(m);
	return m;
}

static uint8_t *message_hex(json_t *root, size_t i, size_t *len)
{
	const char *s = json_string_value(json_object_get(message(root, i), "message_plaintext"));
	cr_assert_not_null(s);
	return hex_dup(s, len);
}

/* The transcript's address list, parsed as the book parses addresses. */
static size_t transcript_addrs(json_t *root, struct netaddr *out, size_t max)
{
	json_t *list = json_object_get(root, "pex_addrs");
	cr_assert(json_is_array(list));
	size_t n = json_array_size(list);
	cr_assert_leq(n, max);
	for (size_t i = 0; i < n; i++) {
		char err[128] = "";
		const char *s = json_string_value(json_array_get(list, i));
		cr_assert_eq(netaddr_parse(s, NETADDR_NEED_ID, &out[i], NULL, 0, err, sizeof(err)), 0,
			     "%s: %s", s, err);
	}
	return n;
}

Test(pex_codec, transcript_request)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	size_t len;
	uint8_t *want = message_hex(root, 0, &len);
	uint8_t out[8];
	cr_assert_eq(pex_encode_request(out, sizeof(out)), (ssize_t)len);
	cr_assert_arr_eq(out, want, len, "not upstream's request");
	cr_assert_eq(pex_encode_request(out, 1), -ENOSPC);
	struct pex_msg m;
	enum wire_error err;
	cr_assert_eq(pex_decode(want, len, &m, &err), 0);
	cr_assert_eq(m.type, PEX_REQUEST);
	cr_assert_eq(m.n_addrs, 0);
	pex_msg_free(&m);
	free(want);
	json_decref(root);
}

Test(pex_codec, transcript_addrs_both_ways)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	size_t len;
	uint8_t *want = message_hex(root, 1, &len);
	struct netaddr addrs[8];
	size_t n = transcript_addrs(root, addrs, 8);
	cr_assert_eq(n, 3);

	uint8_t out[PEX_MAX_MSG_SIZE];
	cr_assert_eq(pex_encode_addrs(addrs, n, out, sizeof(out)), (ssize_t)len);
	cr_assert_arr_eq(out, want, len, "not upstream's reply");

	struct pex_msg m;
	enum wire_error err = WIRE_OK;
	cr_assert_eq(pex_decode(want, len, &m, &err), 0, "%s", wire_error_name(err));
	cr_assert_eq(m.type, PEX_ADDRS);
	cr_assert_eq(m.n_addrs, 3);
	cr_assert_eq(m.n_skipped, 0);
	for (size_t i = 0; i < n; i++)
		cr_assert(netaddr_equal(&m.addrs[i], &addrs[i]), "address %zu differs", i);
	pex_msg_free(&m);
	free(want);
	json_decref(root);
}

/* ---- addresses from the wire -------------------------------------------- */

/* A PexAddrs message with one NetAddress of raw fields. */
static size_t one_addr_msg(uint8_t *out, const char *id, size_t id_len, const char *ip,
			   size_t ip_len, uint64_t port)
{
	uint8_t na[256];
	size_t n = 0;
	na[n++] = 0x0a;
	na[n++] = (uint8_t)id_len;
	memcpy(na + n, id, id_len);
	n += id_len;
	na[n++] = 0x12;
	na[n++] = (uint8_t)ip_len;
	memcpy(na + n, ip, ip_len);
	n += ip_len;
	na[n++] = 0x18;
	n += delim_put_len(na + n, port);
	/* Message{pex_addrs = 2 {addrs = 1 {na}}} */
	size_t m = 0;
	out[m++] = 0x12;
	out[m++] = (uint8_t)(n + 2);
	out[m++] = 0x0a;
	out[m++] = (uint8_t)n;
	memcpy(out + m, na, n);
	return m + n;
}

static void decode_one(const char *id, size_t id_len, const char *ip, size_t ip_len,
		       uint64_t port, int want_rc, enum wire_error want_err, size_t want_addrs,
		       size_t want_skipped)
{
	uint8_t msg[512];
	size_t len = one_addr_msg(msg, id, id_len, ip, ip_len, port);
	struct pex_msg m;
	enum wire_error err = WIRE_OK;
	cr_assert_eq(pex_decode(msg, len, &m, &err), want_rc, "ip \"%.*s\" port %llu",
		     (int)ip_len, ip, (unsigned long long)port);
	cr_assert_eq(err, want_err, "ip \"%.*s\": %s, want %s", (int)ip_len, ip,
		     wire_error_name(err), wire_error_name(want_err));
	cr_assert_eq(m.n_addrs, want_addrs, "ip \"%.*s\" id \"%.*s\"", (int)ip_len, ip,
		     (int)id_len, id);
	cr_assert_eq(m.n_skipped, want_skipped);
	pex_msg_free(&m);
}

#define kept(id, ip, port) decode_one(id, strlen(id), ip, strlen(ip), port, 0, WIRE_OK, 1, 0)
#define skipped(id, ip, port) decode_one(id, strlen(id), ip, strlen(ip), port, 0, WIRE_OK, 0, 1)
#define malformed(id, ip, ip_len, port) \
	decode_one(id, strlen(id), ip, ip_len, port, -EPROTO, WIRE_ERR_PEX_MALFORMED, 0, 0)

Test(pex_codec, address_kept)
{
	kept(ID1, "203.0.113.5", 26656);
	kept(ID1, "2001:4860:4860::8888", 26656);
	kept(ID1, "10.0.0.1", 26656);	   /* private: the book decides routability */
	kept(ID1, "203.0.113.5", 0);	   /* port 0 parses; the book judges it */
	kept(ID1, "::ffff:8.8.4.4", 65535); /* IPv4-mapped is IPv4, as Go */
	kept("6A8C1D4E2F3B5A7C9D0E1F2A3B4C5D6E7F809102", "8.8.8.8", 1);
}

Test(pex_codec, address_skipped_and_counted)
{
	/* NetAddressFromProto accepts these; the book's Valid() refuses them. */
	skipped("", "203.0.113.5", 26656);
	skipped("6a8c1d4e2f3b5a7c9d0e1f2a3b4c5d6e7f80910", "203.0.113.5", 26656);
	skipped("xa8c1d4e2f3b5a7c9d0e1f2a3b4c5d6e7f809102", "203.0.113.5", 26656);
	skipped(ID1, "0.0.0.0", 26656);
	skipped(ID1, "::", 26656);
	skipped(ID1, "255.255.255.255", 26656);
	skipped(ID1, "2001:db8::1", 26656); /* RFC 3849 documentation */
}

Test(pex_codec, address_malformed_refuses_the_list)
{
	malformed(ID1, "203.0.113", 9, 26656);
	malformed(ID1, "", 0, 26656);
	malformed(ID1, "seed.example.org", 16, 26656); /* names are not IPs */
	malformed(ID1, "[2001:4860::1]", 14, 26656);
	malformed(ID1, "203.0.113.5\0", 12, 26656);
	malformed(ID1, "203.0.113.5", 11, 65536);
	malformed(ID1, "203.0.113.5", 11, 0xffffffffULL);
	malformed(ID1, "203.000.113.5", 13, 26656); /* Go refuses leading zeros */
}

/* One good, one unusable, one good: order kept, the bad one counted. */
Test(pex_codec, skipped_addresses_keep_order)
{
	struct netaddr in[3];
	cr_assert_eq(netaddr_parse(ID1 "@1.1.1.1:1", NETADDR_NEED_ID, &in[0], NULL, 0, NULL, 0), 0);
	cr_assert_eq(netaddr_parse(ID1 "@0.0.0.0:2", NETADDR_NEED_ID, &in[1], NULL, 0, NULL, 0), 0);
	cr_assert_eq(netaddr_parse(ID1 "@[2606:4700::1]:3", NETADDR_NEED_ID, &in[2], NULL, 0, NULL,
				   0),
		     0);
	uint8_t buf[1024];
	ssize_t len = pex_encode_addrs(in, 3, buf, sizeof(buf));
	cr_assert_gt(len, 0);
	struct pex_msg m;
	enum wire_error err;
	cr_assert_eq(pex_decode(buf, (size_t)len, &m, &err), 0);
	cr_assert_eq(m.n_addrs, 2);
	cr_assert_eq(m.n_skipped, 1);
	cr_assert(netaddr_equal(&m.addrs[0], &in[0]));
	cr_assert(netaddr_equal(&m.addrs[1], &in[2]));
	pex_msg_free(&m);
}

/* ---- caps ---------------------------------------------------------------- */

static void fill(struct netaddr *a, size_t n, bool v6)
{
	for (size_t i = 0; i < n; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].has_id = true;
		memset(a[i].id, 0xa0 + (int)(i % 16), MUKAN_ID_LEN);
		a[i].id[0] = (uint8_t)i;
		if (v6) {
			/* The longest text an IPv6 address prints as: 8 full groups. */
			a[i].a.family = MUKAN_AF_INET6;
			memset(a[i].a.ip, 0xfe, 16);
			a[i].a.ip[15] = (uint8_t)i;
		} else {
			a[i].a.family = MUKAN_AF_INET;
			a[i].a.ip[0] = 100;
			a[i].a.ip[3] = (uint8_t)i;
		}
		a[i].a.port = 65535;
	}
}

Test(pex_codec, reply_cap_of_250_addresses)
{
	static struct netaddr a[PEX_MAX_ADDRS + 1];
	static uint8_t buf[2 * PEX_MAX_MSG_SIZE];
	fill(a, PEX_MAX_ADDRS + 1, true);
	/* Ours: at most 250, and 250 of the longest always fit in the 64,000-byte cap. */
	cr_assert_eq(pex_encode_addrs(a, PEX_MAX_ADDRS + 1, buf, sizeof(buf)), -E2BIG);
	ssize_t len = pex_encode_addrs(a, PEX_MAX_ADDRS, buf, PEX_MAX_MSG_SIZE);
	cr_assert_gt(len, 0, "250 IPv6 addresses do not fit in %d bytes", PEX_MAX_MSG_SIZE);
	cr_assert_eq(pex_encode_addrs(a, PEX_MAX_ADDRS, buf, (size_t)len - 1), -ENOSPC);
	struct pex_msg m;
	enum wire_error err = WIRE_OK;
	cr_assert_eq(pex_decode(buf, (size_t)len, &m, &err), 0, "%s", wire_error_name(err));
	cr_assert_eq(m.n_addrs, PEX_MAX_ADDRS);
	pex_msg_free(&m);

	/* Theirs: 251 short addresses fit in the bytes but not in the count. */
	fill(a, PEX_MAX_ADDRS + 1, false);
	static uint8_t list[PEX_MAX_MSG_SIZE];
	size_t body = 0;
	for (size_t i = 0; i <= PEX_MAX_ADDRS; i++) {
		uint8_t one[128];
		ssize_t k = pex_encode_addrs(&a[i], 1, one, sizeof(one));
		cr_assert(k > 2 && one[1] < 0x80);
		/* Drop Message's 12 LL, keep PexAddrs' repeated field: 0a LL NetAddress. */
		memcpy(list + body, one + 2, (size_t)k - 2);
		body += (size_t)k - 2;
	}
	size_t n = 0;
	buf[n++] = 0x12;
	n += delim_put_len(buf + n, body);
	memcpy(buf + n, list, body);
	n += body;
	cr_assert_lt(n, PEX_MAX_MSG_SIZE);
	cr_assert_eq(pex_decode(buf, n, &m, &err), -EPROTO);
	cr_assert_eq(err, WIRE_ERR_PEX_TOO_MANY_ADDRS);
	cr_assert_null(m.addrs, "nothing kept");
}

Test(pex_codec, refusals)
{
	struct pex_msg m;
	enum wire_error err;
	static uint8_t big[PEX_MAX_MSG_SIZE + 1];
	cr_assert_eq(pex_decode(big, sizeof(big), &m, &err), -EPROTO);
	cr_assert_eq(err, WIRE_ERR_MSG_TOO_LARGE);
	/* An empty Message: neither kind (upstream Unwrap: unknown pex message). */
	cr_assert_eq(pex_decode(big, 0, &m, &err), -EPROTO);
	cr_assert_eq(err, WIRE_ERR_MSG_MALFORMED);
	const uint8_t cut[] = { 0x12, 0x10, 0x0a };
	cr_assert_eq(pex_decode(cut, sizeof(cut), &m, &err), -EPROTO);
	cr_assert_eq(err, WIRE_ERR_MSG_MALFORMED);
	/* An unknown field alone is still no kind. */
	const uint8_t unknown[] = { 0x18, 0x01 };
	cr_assert_eq(pex_decode(unknown, sizeof(unknown), &m, &err), -EPROTO);
	cr_assert_eq(err, WIRE_ERR_MSG_MALFORMED);

	/* Our encoder: every address needs an ID. */
	struct netaddr a[1];
	fill(a, 1, false);
	a[0].has_id = false;
	uint8_t out[256];
	cr_assert_eq(pex_encode_addrs(a, 1, out, sizeof(out)), -EINVAL);
}

Test(pex_codec, empty_reply_and_unknown_fields)
{
	uint8_t out[16];
	/* No address: still Message{pex_addrs{}}, 12 00, as upstream writes it. */
	cr_assert_eq(pex_encode_addrs(NULL, 0, out, sizeof(out)), 2);
	cr_assert_eq(out[0], 0x12);
	cr_assert_eq(out[1], 0x00);
	struct pex_msg m;
	enum wire_error err;
	cr_assert_eq(pex_decode(out, 2, &m, &err), 0);
	cr_assert_eq(m.type, PEX_ADDRS);
	cr_assert_eq(m.n_addrs, 0);
	pex_msg_free(&m);
	/* A request with an unknown field inside, from a newer peer. */
	const uint8_t req[] = { 0x0a, 0x02, 0x28, 0x07 };
	cr_assert_eq(pex_decode(req, sizeof(req), &m, &err), 0);
	cr_assert_eq(m.type, PEX_REQUEST);
	pex_msg_free(&m);
}

/* ---- per-peer rules ------------------------------------------------------ */

static const struct pex_msg request = { .type = PEX_REQUEST };
static const struct pex_msg reply = { .type = PEX_ADDRS };

static void expect(struct pex_peer *p, const struct pex_msg *m, int64_t now, int want_rc,
		   enum pex_action want_act, enum wire_error want_err)
{
	enum pex_action act = (enum pex_action)-1;
	enum wire_error err = WIRE_ERR_CLOSED;
	cr_assert_eq(pex_peer_receive(p, m, now, &act, &err), want_rc, "at %lld ns",
		     (long long)now);
	cr_assert_eq(err, want_err, "at %lld ns: %s, want %s", (long long)now,
		     wire_error_name(err), wire_error_name(want_err));
	if (want_rc == 0)
		cr_assert_eq(act, want_act, "at %lld ns: action %d, want %d", (long long)now, act,
			     want_act);
}

Test(pex_rules, one_outstanding_request)
{
	struct pex_peer p;
	pex_peer_init(&p, true, false);
	cr_assert(pex_peer_want_request(&p));
	cr_assert_not(pex_peer_want_request(&p), "never two outstanding requests");
	cr_assert_not(pex_peer_want_request(&p));
	expect(&p, &reply, 0, 0, PEX_ACT_ADDRS, WIRE_OK);
	cr_assert(pex_peer_want_request(&p), "the reply frees the next request");
}

Test(pex_rules, unsolicited_addresses)
{
	struct pex_peer p;
	pex_peer_init(&p, true, false);
	expect(&p, &reply, 0, -EPROTO, 0, WIRE_ERR_PEX_UNSOLICITED);
	/* One request, one reply: a second reply is unsolicited. */
	pex_peer_init(&p, false, false);
	cr_assert(pex_peer_want_request(&p));
	expect(&p, &reply, 0, 0, PEX_ACT_ADDRS, WIRE_OK);
	expect(&p, &reply, 1, -EPROTO, 0, WIRE_ERR_PEX_UNSOLICITED);
	cr_assert(pex_error_bans(WIRE_ERR_PEX_UNSOLICITED));
}

Test(pex_rules, request_frequency)
{
	struct pex_peer p;
	pex_peer_init(&p, false, false);
	/* The first two pass whatever their timing. */
	expect(&p, &request, 0, 0, PEX_ACT_REPLY, WIRE_OK);
	expect(&p, &request, 1, 0, PEX_ACT_REPLY, WIRE_OK);
	/* Later ones: at least 10 s (ensurePeersPeriod / 3) after the last that passed. */
	expect(&p, &request, 1 + 10 * SEC, 0, PEX_ACT_REPLY, WIRE_OK);
	expect(&p, &request, 1 + 20 * SEC, 0, PEX_ACT_REPLY, WIRE_OK);
	expect(&p, &request, 1 + 30 * SEC - 1, -EPROTO, 0, WIRE_ERR_PEX_TOO_FREQUENT);
	cr_assert(pex_error_bans(WIRE_ERR_PEX_TOO_FREQUENT));
	cr_assert_eq(PEX_MIN_REQUEST_INTERVAL_NS, 10 * SEC);
}

Test(pex_rules, third_request_soon_after_the_second)
{
	struct pex_peer p;
	pex_peer_init(&p, true, false);
	expect(&p, &request, 100 * SEC, 0, PEX_ACT_REPLY, WIRE_OK);
	expect(&p, &request, 200 * SEC, 0, PEX_ACT_REPLY, WIRE_OK);
	/* The clock starts at the second request, not the first. */
	expect(&p, &request, 205 * SEC, -EPROTO, 0, WIRE_ERR_PEX_TOO_FREQUENT);
}

Test(pex_rules, seed_mode_answers_inbound_once)
{
	struct pex_peer p;
	pex_peer_init(&p, false, true);
	expect(&p, &request, 0, 0, PEX_ACT_REPLY_AND_CLOSE, WIRE_OK);
	/* Further requests (before the hang-up completes) are ignored, not punished. */
	expect(&p, &request, 0, 0, PEX_ACT_NONE, WIRE_OK);
	expect(&p, &request, 1, 0, PEX_ACT_NONE, WIRE_OK);
	expect(&p, &request, 2, 0, PEX_ACT_NONE, WIRE_OK);
}

Test(pex_rules, seed_mode_outbound_follows_the_normal_rules)
{
	struct pex_peer p;
	pex_peer_init(&p, true, true);
	cr_assert(pex_peer_want_request(&p), "a crawling seed asks its outbound peers");
	expect(&p, &reply, 0, 0, PEX_ACT_ADDRS, WIRE_OK);
	expect(&p, &request, 0, 0, PEX_ACT_REPLY, WIRE_OK);
	expect(&p, &request, 0, 0, PEX_ACT_REPLY, WIRE_OK);
	expect(&p, &request, 0, -EPROTO, 0, WIRE_ERR_PEX_TOO_FREQUENT);
}

Test(pex_rules, counts_addresses_received)
{
	struct pex_peer p;
	pex_peer_init(&p, true, false);
	cr_assert(pex_peer_want_request(&p));
	struct pex_msg m = { .type = PEX_ADDRS, .n_addrs = 7, .n_skipped = 2 };
	expect(&p, &m, 0, 0, PEX_ACT_ADDRS, WIRE_OK);
	cr_assert_eq(p.addrs_in, 7);
	cr_assert_eq(p.skipped_in, 2);
}

Test(pex_rules, which_errors_ban)
{
	/* Upstream: MarkBad 24 h for these... */
	cr_assert(pex_error_bans(WIRE_ERR_PEX_UNSOLICITED));
	cr_assert(pex_error_bans(WIRE_ERR_PEX_TOO_FREQUENT));
	cr_assert(pex_error_bans(WIRE_ERR_PEX_MALFORMED));
	cr_assert(pex_error_bans(WIRE_ERR_PEX_TOO_MANY_ADDRS));
	/* ...while a message that does not decode only stops the peer. */
	cr_assert_not(pex_error_bans(WIRE_ERR_MSG_MALFORMED));
	cr_assert_not(pex_error_bans(WIRE_ERR_MSG_TOO_LARGE));
	cr_assert_not(pex_error_bans(WIRE_ERR_PONG_TIMEOUT));
	cr_assert_eq(PEX_BAN_NS, 24 * 3600 * SEC);
}
