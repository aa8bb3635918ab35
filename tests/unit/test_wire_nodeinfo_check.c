/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_nodeinfo_check.c - every way upstream refuses a peer's
 * NodeInfo (Validate, ID against the authenticated key, self,
 * CompatibleWith), what it lets through that looks suspicious, and the
 * reason text that goes to the log. Each case starts from one valid
 * NodeInfo and changes one thing, so each refusal has one cause.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "wire/nodeinfo.h"
#include "wire_helpers.h"

#define ID_PEER "c6107c1842c20449a2e69adba9606b0780be1d0c"
#define ID_PEER_UPPER "C6107C1842C20449A2E69ADBA9606B0780BE1D0C"
#define ID_OURS "56475aa75463474c0285df5dbf2bcab73da65135"

static const uint8_t upstream_channels[] = { 0x40, 0x20, 0x21, 0x22, 0x23,
					     0x30, 0x38, 0x60, 0x61, 0x00 };

/* A peer as the transcript's B announced itself. */
static struct nodeinfo_params peer_params(void)
{
	struct nodeinfo_params p;
	nodeinfo_params_default(&p);
	hex_to(ID_PEER, p.id, MUKAN_ID_LEN);
	p.listen_addr = "tcp://198.51.100.7:26656";
	p.network = "mukan-testnet";
	p.version = "0.34.35";
	p.moniker = "mukan-seed-b";
	p.tx_index = "off";
	p.rpc_address = "tcp://0.0.0.0:26657";
	p.channels = upstream_channels;
	p.n_channels = sizeof(upstream_channels);
	return p;
}

/*
 * Build the peer's NodeInfo without our own Validate in the way: build a
 * valid one, then overwrite one text field with raw bytes (a NUL allowed).
 */
struct raw {
	struct nodeinfo ni;
	char buf[512];
};

enum field { F_NONE, F_ID, F_LISTEN, F_NETWORK, F_VERSION, F_MONIKER, F_TX, F_RPC };

static void make_peer(struct raw *r, enum field f, const char *bytes, size_t len)
{
	struct nodeinfo_params p = peer_params();
	cr_assert_eq(nodeinfo_build(&r->ni, &p, NULL, 0), 0);
	if (f == F_NONE)
		return;
	cr_assert_lt(len, sizeof(r->buf));
	memcpy(r->buf, bytes, len);
	r->buf[len] = '\0';
	struct nodeinfo_text t = { r->buf, len };
	switch (f) {
	case F_ID: r->ni.id = t; break;
	case F_LISTEN: r->ni.listen_addr = t; break;
	case F_NETWORK: r->ni.network = t; break;
	case F_VERSION: r->ni.version = t; break;
	case F_MONIKER: r->ni.moniker = t; break;
	case F_TX: r->ni.tx_index = t; break;
	case F_RPC: r->ni.rpc_address = t; break;
	default: break;
	}
}

#define make_peer_str(r, f, s) make_peer(r, f, s, strlen(s))

static void invalid(enum field f, const char *bytes, size_t len, const char *why_part)
{
	struct raw r;
	make_peer(&r, f, bytes, len);
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_validate(&r.ni, why, sizeof(why)), -EINVAL,
		     "field %d \"%.*s\" accepted", f, (int)len, bytes);
	cr_assert(strstr(why, why_part), "reason \"%s\" lacks \"%s\"", why, why_part);
	nodeinfo_free(&r.ni);
}

#define invalid_str(f, s, why) invalid(f, s, strlen(s), why)

static void valid(enum field f, const char *bytes, size_t len)
{
	struct raw r;
	make_peer(&r, f, bytes, len);
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_validate(&r.ni, why, sizeof(why)), 0, "field %d \"%.*s\": %s", f,
		     (int)len, bytes, why);
	nodeinfo_free(&r.ni);
}

#define valid_str(f, s) valid(f, s, strlen(s))

Test(nodeinfo_validate, upstream_peer_is_valid)
{
	valid(F_NONE, "", 0);
}

Test(nodeinfo_validate, listen_address)
{
	/* id@listen_addr must parse as upstream's NewNetAddressString parses it. */
	valid_str(F_LISTEN, "198.51.100.7:26656");	   /* no protocol */
	valid_str(F_LISTEN, "tcp://0.0.0.0:26656");	   /* upstream's default laddr */
	valid_str(F_LISTEN, "tcp://[2001:db8::1]:26656"); /* IPv6 */
	valid_str(F_LISTEN, "tcp://node-1.example.com:26656"); /* a name upstream would resolve */
	valid_str(F_LISTEN, "udp://198.51.100.7:0");	   /* any protocol, port 0 */
	invalid_str(F_LISTEN, "", "does not parse");
	invalid_str(F_LISTEN, "tcp://", "does not parse");
	invalid_str(F_LISTEN, "tcp://198.51.100.7", "does not parse");
	invalid_str(F_LISTEN, "tcp://198.51.100.7:65536", "port");
	invalid_str(F_LISTEN, "tcp://198.51.100.7:-1", "port");
	invalid_str(F_LISTEN, "tcp://:26656", "empty host");
	invalid_str(F_LISTEN, "tcp://2001:db8::1:26656", "does not parse");
	invalid_str(F_LISTEN, "tcp://x@198.51.100.7:26656", "'@'");
	invalid_str(F_LISTEN, "tcp://bad_host!:26656", "neither an IP nor a name");
	invalid_str(F_LISTEN, "tcp://12345:26656", "neither an IP nor a name");
	invalid(F_LISTEN, "tcp://198.51.100.7:26656\0x", 27, "NUL");
}

Test(nodeinfo_validate, node_id)
{
	/* Upstream validates the ID as part of id@listen_addr: 40 hex digits, either case. */
	valid_str(F_ID, ID_PEER_UPPER);
	invalid_str(F_ID, "", "node ID");
	invalid_str(F_ID, "c6107c1842c20449a2e69adba9606b0780be1d0", "node ID");
	invalid_str(F_ID, "g6107c1842c20449a2e69adba9606b0780be1d0c", "node ID");
	invalid(F_ID, ID_PEER "\0", 41, "NUL");
}

Test(nodeinfo_validate, version_text)
{
	valid_str(F_VERSION, "");
	valid_str(F_VERSION, " v1 ");
	invalid_str(F_VERSION, "   ", "version");
	invalid_str(F_VERSION, "0.34\t35", "version");
	invalid_str(F_VERSION, "0.34.35\x7f", "version");
	invalid_str(F_VERSION, "v\xc3\xa9", "version");
	invalid(F_VERSION, "0.34\0", 5, "version");
}

Test(nodeinfo_validate, channels)
{
	struct raw r;
	make_peer(&r, F_NONE, "", 0);
	uint8_t many[NODEINFO_MAX_CHANNELS + 1];
	for (size_t i = 0; i < sizeof(many); i++)
		many[i] = (uint8_t)i;
	char why[NODEINFO_WHY_LEN] = "";

	r.ni.channels = many;
	r.ni.n_channels = NODEINFO_MAX_CHANNELS;
	cr_assert_eq(nodeinfo_validate(&r.ni, why, sizeof(why)), 0, "16 channels: %s", why);
	r.ni.n_channels = NODEINFO_MAX_CHANNELS + 1;
	cr_assert_eq(nodeinfo_validate(&r.ni, why, sizeof(why)), -EINVAL, "17 channels");
	cr_assert(strstr(why, "17 channels"), "%s", why);

	const uint8_t dup[] = { 0x40, 0x00, 0x20, 0x00 };
	r.ni.channels = dup;
	r.ni.n_channels = sizeof(dup);
	cr_assert_eq(nodeinfo_validate(&r.ni, why, sizeof(why)), -EINVAL, "duplicate channel");
	cr_assert(strstr(why, "0x00 listed twice"), "%s", why);

	r.ni.n_channels = 0;
	cr_assert_eq(nodeinfo_validate(&r.ni, why, sizeof(why)), 0, "no channels is valid");
	nodeinfo_free(&r.ni);
}

Test(nodeinfo_validate, moniker)
{
	valid_str(F_MONIKER, "a");
	valid_str(F_MONIKER, " my node ~ ");
	invalid_str(F_MONIKER, "", "moniker");
	invalid_str(F_MONIKER, "    ", "moniker");
	invalid_str(F_MONIKER, "tab\there", "moniker");
	invalid_str(F_MONIKER, "n\xc3\xb6" "de", "moniker");
	invalid_str(F_MONIKER, "line\nbreak", "moniker");
	invalid(F_MONIKER, "ab\0cd", 5, "moniker");
}

Test(nodeinfo_validate, tx_index)
{
	valid_str(F_TX, "");
	valid_str(F_TX, "on");
	valid_str(F_TX, "off");
	invalid_str(F_TX, "ON", "tx_index");
	invalid_str(F_TX, "yes", "tx_index");
	invalid_str(F_TX, " on", "tx_index");
	invalid(F_TX, "on\0", 3, "tx_index");
}

Test(nodeinfo_validate, rpc_address)
{
	valid_str(F_RPC, "");
	valid_str(F_RPC, "anything printable, not parsed");
	invalid_str(F_RPC, " ", "rpc_address");
	invalid_str(F_RPC, "tcp://127.0.0.1:26657\r", "rpc_address");
	invalid(F_RPC, "tcp://\0", 7, "rpc_address");
}

/* A peer's bytes reach the log quoted and escaped, never raw. */
Test(nodeinfo_validate, reason_escapes_the_peers_bytes)
{
	struct raw r;
	make_peer_str(&r, F_MONIKER, "evil\n2026-01-01 fake log line \"quoted\" and more");
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_validate(&r.ni, why, sizeof(why)), -EINVAL);
	cr_assert_null(strchr(why, '\n'), "raw newline in \"%s\"", why);
	cr_assert(strstr(why, "evil\\x0a2026"), "%s", why);
	cr_assert(strstr(why, "..."), "long text is cut: %s", why);
	nodeinfo_free(&r.ni);

	/* The address parser's own reason quotes the address: escaped too (fuzzer find). */
	make_peer_str(&r, F_ID, "\x1b[31mc6107c1842c20449a2e69adba9606b0780be1d");
	cr_assert_eq(nodeinfo_validate(&r.ni, why, sizeof(why)), -EINVAL);
	cr_assert_null(strchr(why, 0x1b), "raw escape byte in \"%s\"", why);
	cr_assert(strstr(why, "\\x1b[31m"), "%s", why);
	nodeinfo_free(&r.ni);
}

/* ---- ID, self, compatibility -------------------------------------------- */

static struct nodeinfo ours(void)
{
	struct nodeinfo_params p;
	nodeinfo_params_default(&p);
	hex_to(ID_OURS, p.id, MUKAN_ID_LEN);
	p.listen_addr = "tcp://192.0.2.10:26656";
	p.network = "mukan-testnet";
	p.moniker = "dialer";
	struct nodeinfo ni;
	cr_assert_eq(nodeinfo_build(&ni, &p, NULL, 0), 0);
	return ni;
}

static void check_refused(const struct nodeinfo *mine, const struct nodeinfo *theirs,
			  const char *auth_hex, enum wire_error want, const char *why_part)
{
	uint8_t auth[MUKAN_ID_LEN];
	hex_to(auth_hex, auth, MUKAN_ID_LEN);
	enum wire_error err = WIRE_OK;
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_check(mine, theirs, auth, &err, why, sizeof(why)), -EPROTO,
		     "accepted, want %s", wire_error_name(want));
	cr_assert_eq(err, want, "%s, want %s (%s)", wire_error_name(err), wire_error_name(want),
		     why);
	cr_assert(strstr(why, why_part), "reason \"%s\" lacks \"%s\"", why, why_part);
}

static void check_ok(const struct nodeinfo *mine, const struct nodeinfo *theirs)
{
	uint8_t auth[MUKAN_ID_LEN];
	hex_to(ID_PEER, auth, MUKAN_ID_LEN);
	enum wire_error err = WIRE_ERR_CLOSED;
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_check(mine, theirs, auth, &err, why, sizeof(why)), 0, "%s: %s",
		     wire_error_name(err), why);
	cr_assert_eq(err, WIRE_OK);
}

Test(nodeinfo_check, invalid_comes_first)
{
	struct nodeinfo me = ours();
	struct raw r;
	/* Invalid and from another network: upstream reports the Validate failure. */
	make_peer_str(&r, F_MONIKER, "");
	r.ni.network = (struct nodeinfo_text){ "other", 5 };
	check_refused(&me, &r.ni, ID_PEER, WIRE_ERR_NODEINFO_INVALID, "moniker");
	nodeinfo_free(&r.ni);
	nodeinfo_free(&me);
}

Test(nodeinfo_check, id_must_be_the_authenticated_keys)
{
	struct nodeinfo me = ours();
	struct raw r;
	make_peer(&r, F_NONE, "", 0);
	check_ok(&me, &r.ni);
	/* Another key authenticated the connection. */
	check_refused(&me, &r.ni, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
		      WIRE_ERR_NODEINFO_ID_MISMATCH, ID_PEER);
	nodeinfo_free(&r.ni);
	/* Same ID in upper case: valid hex, but upstream compares the strings. */
	make_peer_str(&r, F_ID, ID_PEER_UPPER);
	check_refused(&me, &r.ni, ID_PEER, WIRE_ERR_NODEINFO_ID_MISMATCH, "authenticated");
	nodeinfo_free(&r.ni);
	nodeinfo_free(&me);
}

Test(nodeinfo_check, self_is_refused)
{
	struct nodeinfo me = ours();
	struct raw r;
	make_peer_str(&r, F_ID, ID_OURS);
	check_refused(&me, &r.ni, ID_OURS, WIRE_ERR_SELF, "this node");
	nodeinfo_free(&r.ni);
	nodeinfo_free(&me);
}

Test(nodeinfo_check, block_version_must_match_p2p_and_app_need_not)
{
	struct nodeinfo me = ours();
	struct raw r;
	make_peer(&r, F_NONE, "", 0);
	r.ni.p2p = 7;
	r.ni.app = 42;
	check_ok(&me, &r.ni);
	r.ni.block = 10;
	check_refused(&me, &r.ni, ID_PEER, WIRE_ERR_VERSION_MISMATCH, "block protocol 10, ours 11");
	nodeinfo_free(&r.ni);
	nodeinfo_free(&me);
}

Test(nodeinfo_check, network_must_match_exactly)
{
	struct nodeinfo me = ours();
	static const char *const others[] = { "mukan-mainnet", "Mukan-testnet", "mukan-testnet ",
					      "mukan-testne", "" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct raw r;
		make_peer_str(&r, F_NETWORK, others[i]);
		check_refused(&me, &r.ni, ID_PEER, WIRE_ERR_NETWORK_MISMATCH, "network");
		nodeinfo_free(&r.ni);
	}
	/* A NUL after our chain ID is another chain ID, not ours cut short. */
	struct raw r;
	make_peer(&r, F_NETWORK, "mukan-testnet\0x", 15);
	check_refused(&me, &r.ni, ID_PEER, WIRE_ERR_NETWORK_MISMATCH, "mukan-testnet\\x00x");
	nodeinfo_free(&r.ni);
	nodeinfo_free(&me);
}

Test(nodeinfo_check, a_channel_in_common)
{
	struct nodeinfo me = ours(); /* 0x00 alone */
	struct raw r;
	make_peer(&r, F_NONE, "", 0);
	const uint8_t no_pex[] = { 0x40, 0x20, 0x21 };
	r.ni.channels = no_pex;
	r.ni.n_channels = sizeof(no_pex);
	check_refused(&me, &r.ni, ID_PEER, WIRE_ERR_NO_COMMON_CHANNEL, "no channel in common");
	r.ni.n_channels = 0;
	check_refused(&me, &r.ni, ID_PEER, WIRE_ERR_NO_COMMON_CHANNEL, "no channel in common");
	/* Upstream: when we announce no channel at all, any peer is compatible. */
	me.n_channels = 0;
	check_ok(&me, &r.ni);
	nodeinfo_free(&r.ni);
	nodeinfo_free(&me);
}

Test(nodeinfo_check, build_refuses_what_peers_would_drop)
{
	struct nodeinfo_params p;
	nodeinfo_params_default(&p);
	hex_to(ID_OURS, p.id, MUKAN_ID_LEN);
	p.listen_addr = "tcp://192.0.2.10:26656";
	p.network = "mukan-testnet";
	struct nodeinfo ni;
	char why[NODEINFO_WHY_LEN] = "";
	cr_assert_eq(nodeinfo_build(&ni, &p, why, sizeof(why)), -EINVAL, "no moniker");
	cr_assert(strstr(why, "moniker"), "%s", why);
	cr_assert_null(ni.mem, "nothing kept on failure");
	p.moniker = "m";
	p.listen_addr = NULL;
	cr_assert_eq(nodeinfo_build(&ni, &p, why, sizeof(why)), -EINVAL, "no listen address");
	p.listen_addr = "tcp://192.0.2.10:26656";
	cr_assert_eq(nodeinfo_build(&ni, &p, why, sizeof(why)), 0, "%s", why);
	nodeinfo_free(&ni);
}

Test(nodeinfo_check, netaddr_of_a_named_listen_address)
{
	struct raw r;
	make_peer_str(&r, F_LISTEN, "tcp://seed.example.org:26656");
	struct netaddr na;
	char name[256] = "";
	cr_assert_eq(nodeinfo_netaddr(&r.ni, &na, name, sizeof(name)), -EAGAIN);
	cr_assert_str_eq(name, "seed.example.org", "the name, for the caller to resolve");
	nodeinfo_free(&r.ni);
	make_peer_str(&r, F_LISTEN, "tcp://[2001:db8::7]:26656");
	cr_assert_eq(nodeinfo_netaddr(&r.ni, &na, name, sizeof(name)), 0);
	char text[NETADDR_STRLEN];
	netaddr_format(&na, text);
	cr_assert_str_eq(text, ID_PEER "@[2001:db8::7]:26656");
	nodeinfo_free(&r.ni);
}
