/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_netaddr.c - netaddr_parse / netaddr_format / node IDs: the
 * `[tcp://]id@host:port` syntax CometBFT accepts, and the reason given for
 * each way an address can be wrong.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "book/netaddr.h"

#define ID_HEX "0123456789abcdef0123456789abcdef01234567"
#define ID_HEX_UPPER "0123456789ABCDEF0123456789ABCDEF01234567"

static const uint8_t id_bytes[MUKAN_ID_LEN] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23,
	0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67,
};

/* Parse text that must be accepted; the flags are the caller's. */
static struct netaddr parse_ok(const char *s, unsigned flags)
{
	struct netaddr na;
	char err[128] = "";
	int rc = netaddr_parse(s, flags, &na, NULL, 0, err, sizeof(err));
	cr_assert_eq(rc, 0, "netaddr_parse(\"%s\") = %d (%s), want 0", s, rc, err);
	return na;
}

/* Parse text that must be refused with -EINVAL and a reason naming `why`. */
static void parse_fails(const char *s, unsigned flags, const char *why)
{
	struct netaddr na;
	char err[256] = "";
	int rc = netaddr_parse(s, flags, &na, NULL, 0, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL, "netaddr_parse(\"%s\") = %d, want -EINVAL", s, rc);
	cr_assert(strstr(err, why), "netaddr_parse(\"%s\"): reason \"%s\" lacks \"%s\"", s, err,
		  why);
}

static void assert_ipv4(const struct netaddr *na, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
			uint16_t port)
{
	static const uint8_t zero[12];
	cr_assert_eq(na->a.family, MUKAN_AF_INET);
	cr_assert_eq(na->a.ip[0], a);
	cr_assert_eq(na->a.ip[1], b);
	cr_assert_eq(na->a.ip[2], c);
	cr_assert_eq(na->a.ip[3], d);
	cr_assert_arr_eq(na->a.ip + 4, zero, sizeof(zero), "IPv4 must leave ip[4..15] zero");
	cr_assert_eq(na->a.port, port);
}

/* ---- accepted forms --------------------------------------------------- */

Test(netaddr_parse, ipv4_with_id)
{
	struct netaddr na = parse_ok(ID_HEX "@1.2.3.4:26656", NETADDR_NEED_ID);
	cr_assert(na.has_id);
	cr_assert_arr_eq(na.id, id_bytes, MUKAN_ID_LEN);
	assert_ipv4(&na, 1, 2, 3, 4, 26656);
}

Test(netaddr_parse, ipv4_without_id_when_not_needed)
{
	struct netaddr na = parse_ok("8.8.8.8:53", 0);
	cr_assert_not(na.has_id);
	assert_ipv4(&na, 8, 8, 8, 8, 53);
}

Test(netaddr_parse, bracketed_ipv6)
{
	static const uint8_t want[16] = { 0x20, 0x01, 0x04, 0x70, 0, 0, 0, 0,
					  0,    0,    0,    0,    0, 0, 0, 1 };
	struct netaddr na = parse_ok(ID_HEX "@[2001:470::1]:80", NETADDR_NEED_ID);
	cr_assert_eq(na.a.family, MUKAN_AF_INET6);
	cr_assert_arr_eq(na.a.ip, want, 16);
	cr_assert_eq(na.a.port, 80);
}

Test(netaddr_parse, tcp_prefix_is_stripped)
{
	struct netaddr with = parse_ok("tcp://" ID_HEX "@5.6.7.8:1", NETADDR_NEED_ID);
	struct netaddr without = parse_ok(ID_HEX "@5.6.7.8:1", NETADDR_NEED_ID);
	cr_assert(netaddr_equal(&with, &without));
	assert_ipv4(&with, 5, 6, 7, 8, 1);
}

Test(netaddr_parse, v4_mapped_ipv6_is_stored_as_ipv4)
{
	/* Go's To4() makes ::ffff:a.b.c.d an IPv4 address everywhere. */
	struct netaddr na = parse_ok(ID_HEX "@[::ffff:10.20.30.40]:7", NETADDR_NEED_ID);
	assert_ipv4(&na, 10, 20, 30, 40, 7);
}

Test(netaddr_parse, upper_case_id_is_accepted)
{
	struct netaddr na = parse_ok(ID_HEX_UPPER "@1.2.3.4:26656", NETADDR_NEED_ID);
	cr_assert(na.has_id);
	cr_assert_arr_eq(na.id, id_bytes, MUKAN_ID_LEN);
}

Test(netaddr_parse, port_bounds)
{
	cr_assert_eq(parse_ok("1.2.3.4:0", 0).a.port, 0);
	cr_assert_eq(parse_ok("1.2.3.4:65535", 0).a.port, 65535);
	/* strconv.ParseUint takes leading zeros. */
	cr_assert_eq(parse_ok("1.2.3.4:00080", 0).a.port, 80);
}

/* ---- refused forms, each with its reason ------------------------------ */

Test(netaddr_parse, missing_id_when_needed)
{
	parse_fails("1.2.3.4:26656", NETADDR_NEED_ID, "node ID");
}

Test(netaddr_parse, id_of_39_chars)
{
	parse_fails("0123456789abcdef0123456789abcdef0123456@1.2.3.4:1", 0, "node ID");
}

Test(netaddr_parse, id_of_41_chars)
{
	parse_fails("0123456789abcdef0123456789abcdef012345678@1.2.3.4:1", 0, "node ID");
}

Test(netaddr_parse, id_not_hex)
{
	parse_fails("0123456789abcdef0123456789abcdef0123456g@1.2.3.4:1", 0, "node ID");
	parse_fails("@1.2.3.4:1", 0, "node ID");
}

Test(netaddr_parse, two_at_signs)
{
	parse_fails(ID_HEX "@" ID_HEX "@1.2.3.4:1", 0, "'@'");
}

Test(netaddr_parse, missing_port)
{
	parse_fails(ID_HEX "@1.2.3.4", 0, "host:port");
}

Test(netaddr_parse, port_65536)
{
	parse_fails(ID_HEX "@1.2.3.4:65536", 0, "port");
}

Test(netaddr_parse, port_with_sign)
{
	parse_fails(ID_HEX "@1.2.3.4:+1", 0, "port");
	parse_fails(ID_HEX "@1.2.3.4:-1", 0, "port");
}

Test(netaddr_parse, empty_port)
{
	parse_fails("1.2.3.4:", 0, "port");
}

Test(netaddr_parse, ipv6_without_brackets)
{
	parse_fails(ID_HEX "@2001:470::1:80", 0, "brackets");
	parse_fails("::1:80", 0, "brackets");
}

Test(netaddr_parse, text_between_bracket_and_port)
{
	parse_fails("[::1]x:80", 0, "host:port");
}

Test(netaddr_parse, empty_host)
{
	parse_fails(ID_HEX "@:80", 0, "empty host");
	parse_fails("[]:80", 0, "empty host");
}

Test(netaddr_parse, host_name_refused_without_allow_name)
{
	parse_fails(ID_HEX "@seed.example.com:26656", NETADDR_NEED_ID, "not an IP");
}

Test(netaddr_parse, host_name_handed_back_with_allow_name)
{
	struct netaddr na;
	char name[64] = "", err[128] = "";
	int rc = netaddr_parse(ID_HEX "@seed.example.com:26656", NETADDR_ALLOW_NAME, &na, name,
			       sizeof(name), err, sizeof(err));
	cr_assert_eq(rc, -EAGAIN, "rc = %d (%s), want -EAGAIN", rc, err);
	cr_assert_str_eq(name, "seed.example.com");
	/* The parts that are known are filled in for the caller. */
	cr_assert(na.has_id);
	cr_assert_arr_eq(na.id, id_bytes, MUKAN_ID_LEN);
	cr_assert_eq(na.a.port, 26656);
}

Test(netaddr_parse, host_name_too_long_for_buffer)
{
	struct netaddr na;
	char name[4] = "", err[128] = "";
	int rc = netaddr_parse("seed.example.com:1", NETADDR_ALLOW_NAME, &na, name, sizeof(name),
			       err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert(strstr(err, "too long"), "reason \"%s\"", err);
}

Test(netaddr_parse, null_err_buffer_is_allowed)
{
	struct netaddr na;
	cr_assert_eq(netaddr_parse("nonsense", 0, &na, NULL, 0, NULL, 0), -EINVAL);
}

/* ---- printing --------------------------------------------------------- */

static void assert_round_trip(const char *in, const char *want)
{
	char out[NETADDR_STRLEN];
	struct netaddr na = parse_ok(in, 0);
	size_t n = netaddr_format(&na, out);
	cr_assert_str_eq(out, want, "format(parse(\"%s\")) = \"%s\", want \"%s\"", in, out, want);
	cr_assert_eq(n, strlen(want));
}

Test(netaddr_format, round_trips)
{
	assert_round_trip(ID_HEX "@1.2.3.4:26656", ID_HEX "@1.2.3.4:26656");
	assert_round_trip(ID_HEX "@[2001:470::1]:80", ID_HEX "@[2001:470::1]:80");
	assert_round_trip("1.2.3.4:1", "1.2.3.4:1");
	assert_round_trip("[::1]:65535", "[::1]:65535");
}

Test(netaddr_format, prints_go_canonical_forms)
{
	assert_round_trip("tcp://" ID_HEX_UPPER "@1.2.3.4:26656", ID_HEX "@1.2.3.4:26656");
	assert_round_trip(ID_HEX "@[::ffff:1.2.3.4]:5", ID_HEX "@1.2.3.4:5");
	assert_round_trip("[2A01:04F8:0000:0000:0000:0000:0000:0001]:9", "[2a01:4f8::1]:9");
	assert_round_trip("1.2.3.4:007", "1.2.3.4:7");
}

Test(netaddr_format, longest_address_fits)
{
	char out[NETADDR_STRLEN];
	const char *in = ID_HEX "@[1111:2222:3333:4444:5555:6666:7777:8888]:65535";
	struct netaddr na = parse_ok(in, 0);
	cr_assert_eq(netaddr_format(&na, out), strlen(in));
	cr_assert_str_eq(out, in);
}

/* ---- node IDs --------------------------------------------------------- */

Test(node_id, parse_both_cases)
{
	uint8_t id[MUKAN_ID_LEN];
	cr_assert_eq(node_id_parse(ID_HEX, 40, id), 0);
	cr_assert_arr_eq(id, id_bytes, MUKAN_ID_LEN);
	memset(id, 0, sizeof(id));
	cr_assert_eq(node_id_parse(ID_HEX_UPPER, 40, id), 0);
	cr_assert_arr_eq(id, id_bytes, MUKAN_ID_LEN);
}

Test(node_id, parse_refuses_wrong_length_and_non_hex)
{
	uint8_t id[MUKAN_ID_LEN];
	cr_assert_eq(node_id_parse(ID_HEX, 39, id), -EINVAL);
	cr_assert_eq(node_id_parse(ID_HEX "8", 41, id), -EINVAL);
	cr_assert_eq(node_id_parse(ID_HEX, 0, id), -EINVAL);
	cr_assert_eq(node_id_parse("0123456789abcdef0123456789abcdef0123456z", 40, id), -EINVAL);
	cr_assert_eq(node_id_parse(" 123456789abcdef0123456789abcdef01234567", 40, id), -EINVAL);
}

Test(node_id, format_is_lower_case_hex)
{
	char out[2 * MUKAN_ID_LEN + 1];
	node_id_format(id_bytes, out);
	cr_assert_str_eq(out, ID_HEX);

	uint8_t ff[MUKAN_ID_LEN];
	memset(ff, 0xff, sizeof(ff));
	node_id_format(ff, out);
	cr_assert_str_eq(out, "ffffffffffffffffffffffffffffffffffffffff");
}

Test(node_id, format_then_parse_round_trips)
{
	uint8_t in[MUKAN_ID_LEN], back[MUKAN_ID_LEN];
	char text[2 * MUKAN_ID_LEN + 1];
	for (int i = 0; i < MUKAN_ID_LEN; i++)
		in[i] = (uint8_t)(i * 37 + 11);
	node_id_format(in, text);
	cr_assert_eq(node_id_parse(text, strlen(text), back), 0);
	cr_assert_arr_eq(back, in, MUKAN_ID_LEN);
}

/* ---- bare IPs: what Go's net.ParseIP refuses, we refuse -------------- */

Test(ip_parse, refuses_what_go_refuses)
{
	static const char *const bad[] = {
		"",		/* empty */
		"1.2.3",	/* three parts */
		"01.2.3.4",	/* leading zero (Go >= 1.17) */
		"256.1.1.1",	/* octet out of range */
		"1.2.3.4 ",	/* trailing space */
		"[::1]",	/* brackets belong to host:port */
		"fe80::1%eth0", /* zones are not IPs */
		"1::2::3",	/* two "::" */
		"::ffff:01.2.3.4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mukan_addr a;
		cr_assert_eq(ip_parse(bad[i], &a), -EINVAL, "ip_parse(\"%s\") accepted it", bad[i]);
	}
}
