/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netaddr_class.c - which ranges an address is in, and its bucket group.
 * The ranges and their order follow upstream p2p/netaddress.go and
 * p2p/pex/addrbook.go (groupKeyFor); see REFERENCE.md section 1.
 */
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

/* Is the address inside prefix/bits of its own family? */
static bool in_prefix(const struct mukan_addr *a, int family, const uint8_t *prefix,
		      unsigned bits)
{
	if (a->family != family)
		return false;
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a->ip, prefix, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->ip[full] & mask) == (prefix[full] & mask);
}

#define V4(a, b, c, d) ((const uint8_t[]){ a, b, c, d })
#define V6(...) ((const uint8_t[16]){ __VA_ARGS__ })
#define IN4(x, p, bits) in_prefix(x, MUKAN_AF_INET, p, bits)
#define IN6(x, p, bits) in_prefix(x, MUKAN_AF_INET6, p, bits)

static bool rfc1918(const struct mukan_addr *a)
{
	return IN4(a, V4(10, 0, 0, 0), 8) || IN4(a, V4(192, 168, 0, 0), 16) ||
	       IN4(a, V4(172, 16, 0, 0), 12);
}
static bool rfc3849(const struct mukan_addr *a) { return IN6(a, V6(0x20, 0x01, 0x0d, 0xb8), 32); }
static bool rfc3927(const struct mukan_addr *a) { return IN4(a, V4(169, 254, 0, 0), 16); }
static bool rfc3964(const struct mukan_addr *a) { return IN6(a, V6(0x20, 0x02), 16); }
static bool rfc4193(const struct mukan_addr *a) { return IN6(a, V6(0xfc), 7); }
static bool rfc4380(const struct mukan_addr *a) { return IN6(a, V6(0x20, 0x01, 0, 0), 32); }
static bool rfc4843(const struct mukan_addr *a) { return IN6(a, V6(0x20, 0x01, 0x00, 0x10), 28); }
static bool rfc4862(const struct mukan_addr *a) { return IN6(a, V6(0xfe, 0x80), 64); }
static bool rfc6052(const struct mukan_addr *a)
{
	return IN6(a, V6(0x00, 0x64, 0xff, 0x9b), 96);
}
static bool rfc6145(const struct mukan_addr *a)
{
	return IN6(a, V6(0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0), 96);
}
static bool onion_cat(const struct mukan_addr *a)
{
	return IN6(a, V6(0xfd, 0x87, 0xd8, 0x7e, 0xeb, 0x43), 48);
}
static bool he_net(const struct mukan_addr *a) { return IN6(a, V6(0x20, 0x01, 0x04, 0x70), 32); }

bool ip_is_unspecified(const struct mukan_addr *a)
{
	static const uint8_t zero[16];
	if (a->family == MUKAN_AF_INET)
		return memcmp(a->ip, zero, 4) == 0;
	return a->family == MUKAN_AF_INET6 && memcmp(a->ip, zero, 16) == 0;
}

bool ip_is_loopback(const struct mukan_addr *a)
{
	return IN4(a, V4(127, 0, 0, 0), 8) ||
	       IN6(a, V6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), 128);
}

bool ip_is_local(const struct mukan_addr *a)
{
	return ip_is_loopback(a) || IN4(a, V4(0, 0, 0, 0), 8);
}

bool ip_is_private(const struct mukan_addr *a)
{
	return rfc1918(a) || rfc4193(a);
}

bool ip_is_valid(const struct mukan_addr *a)
{
	if (a->family != MUKAN_AF_INET && a->family != MUKAN_AF_INET6)
		return false;
	return !ip_is_unspecified(a) && !rfc3849(a) &&
	       !IN4(a, V4(255, 255, 255, 255), 32);
}

bool ip_is_routable(const struct mukan_addr *a)
{
	return ip_is_valid(a) && !(rfc1918(a) || rfc3927(a) || rfc4862(a) ||
				   rfc4193(a) || rfc4843(a) || ip_is_local(a));
}

/* "a.b.0.0" from four bytes of an IPv4 address (the /16 as Go prints it). */
static size_t group16(const uint8_t *b, char out[GROUP_STRLEN])
{
	/* By hand, not snprintf: every book_add computes two of these. */
	struct mukan_addr v4 = { .family = MUKAN_AF_INET, .ip = { b[0], b[1] } };
	return ip_format(&v4, out);
}

size_t ip_group(const struct mukan_addr *a, bool strict, char out[GROUP_STRLEN])
{
	if (strict && ip_is_local(a))
		return (size_t)snprintf(out, GROUP_STRLEN, "local");
	if (strict && !ip_is_routable(a))
		return (size_t)snprintf(out, GROUP_STRLEN, "unroutable");
	if (a->family == MUKAN_AF_INET)
		return group16(a->ip, out);
	if (a->family != MUKAN_AF_INET6) {
		/* Not an IP at all: only reachable when not strict. */
		return (size_t)snprintf(out, GROUP_STRLEN, "<nil>");
	}
	if (rfc6145(a) || rfc6052(a))
		return group16(a->ip + 12, out);
	if (rfc3964(a))
		return group16(a->ip + 2, out);
	if (rfc4380(a)) {
		uint8_t v4[4];
		for (int i = 0; i < 4; i++)
			v4[i] = a->ip[12 + i] ^ 0xff;
		return group16(v4, out);
	}
	if (onion_cat(a))
		return (size_t)snprintf(out, GROUP_STRLEN, "tor:%u", a->ip[6] & 0x0f);

	struct mukan_addr m = { .family = MUKAN_AF_INET6 };
	unsigned bits = he_net(a) ? 36 : 32;
	memcpy(m.ip, a->ip, bits / 8);
	if (bits % 8)
		m.ip[bits / 8] = a->ip[bits / 8] & (uint8_t)(0xff << (8 - bits % 8));
	return ip_format(&m, out);
}
