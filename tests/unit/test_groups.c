/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_groups.c - IP printing, classes and bucket groups against Go.
 *
 * tests/vectors/ip_group.tsv was produced by Go's own net package
 * (tools/vectors/gen_placement.go), so every line checks ip_parse,
 * ip_format, ip_is_local, ip_is_routable and ip_group against what CometBFT
 * would compute. The named tests below spell out one rule each, so a reader
 * (or a failure message) says which range is wrong.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "book/netaddr.h"
#include "vectors.h"

#define IP_GROUP_VECTORS "tests/vectors/ip_group.tsv"
#define IP_GROUP_MIN_CASES 400

Test(ip_group_vectors, match_go)
{
	struct vectors v;
	char *col[6];
	vectors_begin(&v, IP_GROUP_VECTORS);
	while (vectors_next(&v, col, 6)) {
		const char *input = col[0], *want_ip = col[2], *want_group = col[5];
		bool strict = col[1][0] == '1';
		bool want_local = col[3][0] == '1', want_routable = col[4][0] == '1';

		struct mukan_addr a;
		char got_ip[IP_STRLEN], got_group[GROUP_STRLEN];
		cr_assert_eq(ip_parse(input, &a), 0, "%s:%d: ip_parse(\"%s\") refused it", v.path,
			     v.lineno, input);
		ip_format(&a, got_ip);
		cr_assert_str_eq(got_ip, want_ip, "%s:%d: ip_format(\"%s\"): want \"%s\", got \"%s\"",
				 v.path, v.lineno, input, want_ip, got_ip);
		cr_assert_eq(ip_is_local(&a), want_local,
			     "%s:%d: ip_is_local(\"%s\"): want %d, got %d", v.path, v.lineno, input,
			     want_local, ip_is_local(&a));
		cr_assert_eq(ip_is_routable(&a), want_routable,
			     "%s:%d: ip_is_routable(\"%s\"): want %d, got %d", v.path, v.lineno,
			     input, want_routable, ip_is_routable(&a));
		size_t len = ip_group(&a, strict, got_group);
		cr_assert_str_eq(got_group, want_group,
				 "%s:%d: ip_group(\"%s\", strict=%d): want \"%s\", got \"%s\"", v.path,
				 v.lineno, input, strict, want_group, got_group);
		cr_assert_eq(len, strlen(want_group), "%s:%d: ip_group length", v.path, v.lineno);
	}
	vectors_end(&v, IP_GROUP_MIN_CASES);
}

/* ---- one named test per rule ------------------------------------------ */

static struct mukan_addr ip(const char *s)
{
	struct mukan_addr a;
	cr_assert_eq(ip_parse(s, &a), 0, "ip_parse(\"%s\")", s);
	return a;
}

static void assert_group(const char *s, bool strict, const char *want)
{
	struct mukan_addr a = ip(s);
	char got[GROUP_STRLEN];
	ip_group(&a, strict, got);
	cr_assert_str_eq(got, want, "ip_group(\"%s\", strict=%d): want \"%s\", got \"%s\"", s,
			 strict, want, got);
}

static void assert_routable(const char *s, bool want)
{
	struct mukan_addr a = ip(s);
	cr_assert_eq(ip_is_routable(&a), want, "ip_is_routable(\"%s\"): want %d", s, want);
}

/* An unroutable range: "unroutable" in strict mode, its own group otherwise. */
static void assert_unroutable(const char *s, const char *loose_group)
{
	assert_routable(s, false);
	assert_group(s, true, "unroutable");
	assert_group(s, false, loose_group);
}

Test(ip_group_rules, rfc1918_10_slash_8)
{
	assert_unroutable("10.0.0.0", "10.0.0.0");
	assert_unroutable("10.255.255.255", "10.255.0.0");
	assert_routable("9.255.255.255", true);
	assert_routable("11.0.0.0", true);
}

Test(ip_group_rules, rfc1918_172_16_slash_12)
{
	assert_unroutable("172.16.0.0", "172.16.0.0");
	assert_unroutable("172.31.255.255", "172.31.0.0");
	assert_routable("172.15.255.255", true);
	assert_routable("172.32.0.0", true);
}

Test(ip_group_rules, rfc1918_192_168_slash_16)
{
	assert_unroutable("192.168.0.1", "192.168.0.0");
	assert_unroutable("192.168.255.255", "192.168.0.0");
	assert_routable("192.167.255.255", true);
	assert_routable("192.169.0.0", true);
	struct mukan_addr a = ip("192.168.1.1");
	cr_assert(ip_is_private(&a));
}

Test(ip_group_rules, rfc3927_link_local_v4)
{
	assert_unroutable("169.254.0.1", "169.254.0.0");
	assert_routable("169.253.255.255", true);
	assert_routable("169.255.0.1", true);
}

Test(ip_group_rules, rfc4862_link_local_v6_is_only_a_slash_64)
{
	/* Upstream uses fe80::/64, not fe80::/10: fe80:0:0:1:: is routable. */
	assert_unroutable("fe80::1", "fe80::");
	assert_unroutable("fe80::ffff:ffff:ffff:ffff", "fe80::");
	assert_routable("fe80:0:0:1::", true);
	assert_group("fe80:0:0:1::1", true, "fe80::");
}

Test(ip_group_rules, rfc4193_unique_local_fc00_slash_7)
{
	assert_unroutable("fc00::1", "fc00::");
	assert_unroutable("fdff:ffff::1", "fdff:ffff::");
	assert_routable("fbff:ffff::1", true);
	assert_routable("fe00::1", true);
	struct mukan_addr a = ip("fd00::1");
	cr_assert(ip_is_private(&a));
}

Test(ip_group_rules, rfc4843_orchid_slash_28)
{
	assert_unroutable("2001:10::1", "2001:10::");
	assert_unroutable("2001:1f:ffff::1", "2001:1f::");
	assert_routable("2001:f::1", true);
	assert_routable("2001:20::1", true);
}

Test(ip_group_rules, rfc3849_documentation_is_invalid)
{
	struct mukan_addr doc = ip("2001:db8::1"), next = ip("2001:db9::1");
	cr_assert_not(ip_is_valid(&doc));
	cr_assert(ip_is_valid(&next));
	assert_unroutable("2001:db8:ffff::1", "2001:db8::");
	assert_group("2001:db9::1", true, "2001:db9::");
}

Test(ip_group_rules, invalid_v4_unspecified_and_broadcast)
{
	struct mukan_addr bcast = ip("255.255.255.255"), any6 = ip("::");
	cr_assert_not(ip_is_valid(&bcast));
	cr_assert_not(ip_is_valid(&any6));
	assert_unroutable("255.255.255.255", "255.255.0.0");
	assert_unroutable("::", "::");
}

Test(ip_group_rules, rfc6145_translated_v4)
{
	assert_group("::ffff:0:1.2.3.4", true, "1.2.0.0");
	assert_group("::ffff:0:a00:1", true, "10.0.0.0"); /* routable as IPv6 */
}

Test(ip_group_rules, rfc6052_nat64_slash_96)
{
	assert_group("64:ff9b::1.2.3.4", true, "1.2.0.0");
	/* Outside the /96 it is an ordinary IPv6 /32. */
	assert_group("64:ff9b:1::1.2.3.4", true, "64:ff9b::");
}

Test(ip_group_rules, rfc3964_6to4_bytes_2_to_5)
{
	assert_group("2002:102:304::1", true, "1.2.0.0");
	assert_group("2002:ae59:0:d840::bd38", false, "174.89.0.0");
}

Test(ip_group_rules, rfc4380_teredo_last_4_bytes_xor_ff)
{
	/* 3fff:fdd2 ^ ffff:ffff = c000:022d = 192.0.2.45 */
	assert_group("2001:0:4136:e378:8000:63bf:3fff:fdd2", true, "192.0.0.0");
	assert_group("2001::", true, "255.255.0.0");
	assert_group("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", true, "0.0.0.0");
}

Test(ip_group_rules, onioncat_tor_only_when_not_strict)
{
	/* OnionCat lies inside RFC 4193, so strict mode never gets to it. */
	assert_unroutable("fd87:d87e:eb43:1234::1", "tor:2");
	assert_group("fd87:d87e:eb43::", false, "tor:0");
	assert_group("fd87:d87e:eb43:ffff::", false, "tor:15");
	assert_group("fd87:d87e:eb44::1", false, "fd87:d87e::");
}

Test(ip_group_rules, he_net_slash_36)
{
	assert_group("2001:470:1f0b::1", true, "2001:470:1000::");
	assert_group("2001:470:ab00::1", true, "2001:470:a000::");
	assert_group("2001:470::1", true, "2001:470::");
	assert_group("2001:471:1f0b::1", true, "2001:471::"); /* not he.net: /32 */
}

Test(ip_group_rules, plain_ipv6_slash_32)
{
	assert_group("2a01:4f8:c0c:1234::2", true, "2a01:4f8::");
	assert_group("2606:4700:4700::1111", true, "2606:4700::");
	assert_group("1:2:3:4:5:6:7:8", true, "1:2::");
	assert_group("0:1:0:0:2:0:0:3", true, "0:1::");
}

Test(ip_group_rules, plain_ipv4_slash_16)
{
	assert_group("93.184.216.34", true, "93.184.0.0");
	assert_group("::ffff:93.184.216.34", true, "93.184.0.0");
}

Test(ip_group_rules, strict_local_before_unroutable)
{
	/* Local addresses are unroutable too, but "local" is checked first. */
	assert_group("127.0.0.1", true, "local");
	assert_group("0.1.2.3", true, "local");
	assert_group("0.0.0.0", true, "local");
	assert_group("::1", true, "local");
	assert_group("::ffff:127.0.0.1", true, "local");
	assert_group("10.0.0.1", true, "unroutable");
	struct mukan_addr any6 = ip("::");
	cr_assert_not(ip_is_local(&any6), ":: is unspecified, not local");
	assert_group("::", true, "unroutable");
}

Test(ip_group_rules, non_strict_loopback_uses_its_slash_16)
{
	assert_group("127.0.0.1", false, "127.0.0.0");
	assert_group("127.255.255.255", false, "127.255.0.0");
	assert_group("0.1.2.3", false, "0.1.0.0");
	assert_group("::1", false, "::");
}
