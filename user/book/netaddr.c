/* SPDX-License-Identifier: Apache-2.0 */
/* netaddr.c - parse and print `id@ip:port` the way CometBFT does. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	if (err && errsz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int node_id_parse(const char *s, size_t len, uint8_t id[MUKAN_ID_LEN])
{
	return hex_decode(s, len, id, MUKAN_ID_LEN);
}

void node_id_format(const uint8_t id[MUKAN_ID_LEN], char out[2 * MUKAN_ID_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < MUKAN_ID_LEN; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * MUKAN_ID_LEN] = '\0';
}

static const uint8_t v4_in_v6[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int ip_parse(const char *s, struct mukan_addr *a)
{
	uint8_t buf[16];
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, buf) == 1) {
		a->family = MUKAN_AF_INET;
		memcpy(a->ip, buf, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		/* Go treats ::ffff:a.b.c.d as IPv4 everywhere (To4). */
		if (memcmp(buf, v4_in_v6, sizeof(v4_in_v6)) == 0) {
			a->family = MUKAN_AF_INET;
			memcpy(a->ip, buf + 12, 4);
		} else {
			a->family = MUKAN_AF_INET6;
			memcpy(a->ip, buf, 16);
		}
		return 0;
	}
	return -EINVAL;
}

/* Decimal digits of v (0..65535); returns the count. Hot in book saves. */
static size_t put_u16(char *out, unsigned v)
{
	char tmp[5];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static size_t ip4_format(const uint8_t *b, char *out)
{
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		if (i)
			out[n++] = '.';
		n += put_u16(out + n, b[i]);
	}
	out[n] = '\0';
	return n;
}

/* RFC 5952 as Go does it: longest run (>= 2) of zero groups becomes "::". */
static size_t ip6_format(const uint8_t *b, char *out)
{
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && b[2 * j] == 0 && b[2 * j + 1] == 0)
			j++;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	size_t n = 0;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			out[n++] = ':';
			out[n++] = ':';
			i += best_len - 1;
			continue;
		}
		if (n > 0 && out[n - 1] != ':')
			out[n++] = ':';
		static const char hex[] = "0123456789abcdef";
		unsigned g = (unsigned)(b[2 * i] << 8 | b[2 * i + 1]);
		bool lead = true;
		for (int shift = 12; shift >= 0; shift -= 4) {
			unsigned d = (g >> shift) & 15;
			if (d == 0 && lead && shift > 0)
				continue;
			lead = false;
			out[n++] = hex[d];
		}
	}
	out[n] = '\0';
	return n;
}

size_t ip_format(const struct mukan_addr *a, char out[IP_STRLEN])
{
	if (a->family == MUKAN_AF_INET)
		return ip4_format(a->ip, out);
	if (a->family == MUKAN_AF_INET6)
		return ip6_format(a->ip, out);
	out[0] = '\0';
	return 0;
}

size_t netaddr_format(const struct netaddr *na, char out[NETADDR_STRLEN])
{
	char ip[IP_STRLEN];
	size_t n = 0;
	if (na->has_id) {
		node_id_format(na->id, out);
		n = 2 * MUKAN_ID_LEN;
		out[n++] = '@';
	}
	size_t iplen = ip_format(&na->a, ip);
	bool v6 = na->a.family == MUKAN_AF_INET6;
	if (v6)
		out[n++] = '[';
	memcpy(out + n, ip, iplen);
	n += iplen;
	if (v6)
		out[n++] = ']';
	out[n++] = ':';
	n += put_u16(out + n, na->a.port);
	out[n] = '\0';
	return n;
}

bool mukan_addr_equal(const struct mukan_addr *x, const struct mukan_addr *y)
{
	return x->family == y->family && x->port == y->port &&
	       memcmp(x->ip, y->ip, sizeof(x->ip)) == 0;
}

bool netaddr_equal(const struct netaddr *x, const struct netaddr *y)
{
	if (x->has_id != y->has_id)
		return false;
	if (x->has_id && memcmp(x->id, y->id, MUKAN_ID_LEN) != 0)
		return false;
	return mukan_addr_equal(&x->a, &y->a);
}

/* Go's strconv.ParseUint(s, 10, 16): digits only, at most 65535. */
static int port_parse(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Go's net.SplitHostPort: "[host]:port" or "host:port" with no other ':'. */
static int split_host_port(const char *s, const char **host, size_t *hlen,
			   const char **port, size_t *plen)
{
	const char *colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':' || end + 1 != colon)
			return -EINVAL;
		*host = s + 1;
		*hlen = (size_t)(end - s - 1);
		if (memchr(*host, '[', *hlen))
			return -EINVAL;
	} else {
		*host = s;
		*hlen = (size_t)(colon - s);
		if (memchr(s, ':', *hlen) || memchr(s, '[', *hlen) || memchr(s, ']', *hlen))
			return -EINVAL;
	}
	*port = colon + 1;
	*plen = strlen(colon + 1);
	if (memchr(*port, ']', *plen) || memchr(*port, '[', *plen))
		return -EINVAL;
	return 0;
}

int netaddr_parse(const char *s, unsigned flags, struct netaddr *out,
		  char *name, size_t namesz, char *err, size_t errsz)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return fail(err, errsz, "empty address");
	const char *proto = strstr(s, "://");
	if (proto)
		s = proto + 3;
	if (strstr(s, "://"))
		return fail(err, errsz, "address '%s': more than one protocol prefix", s);

	const char *at = strchr(s, '@');
	const char *hostport = s;
	if (at) {
		if (strchr(at + 1, '@'))
			return fail(err, errsz, "address '%s': more than one '@'", s);
		if (node_id_parse(s, (size_t)(at - s), out->id) < 0)
			return fail(err, errsz,
				    "address '%s': node ID must be 40 hex characters", s);
		out->has_id = true;
		hostport = at + 1;
	} else if (flags & NETADDR_NEED_ID) {
		return fail(err, errsz, "address '%s': missing node ID (want id@host:port)", s);
	}

	const char *host, *port;
	size_t hlen, plen;
	if (split_host_port(hostport, &host, &hlen, &port, &plen) < 0)
		return fail(err, errsz, "address '%s': want host:port, IPv6 in brackets", s);
	if (hlen == 0)
		return fail(err, errsz, "address '%s': empty host", s);
	if (port_parse(port, plen, &out->a.port) < 0)
		return fail(err, errsz, "address '%s': port must be a number 0-65535", s);

	char hbuf[256];
	if (hlen >= sizeof(hbuf))
		return fail(err, errsz, "address '%s': host too long", s);
	memcpy(hbuf, host, hlen);
	hbuf[hlen] = '\0';
	uint16_t p = out->a.port;
	if (ip_parse(hbuf, &out->a) == 0) {
		out->a.port = p;
		return 0;
	}
	out->a.port = p;
	if (!(flags & NETADDR_ALLOW_NAME))
		return fail(err, errsz, "address '%s': '%s' is not an IP address", s, hbuf);
	if (!name || hlen >= namesz)
		return fail(err, errsz, "address '%s': host name too long", s);
	memcpy(name, hbuf, hlen + 1);
	return -EAGAIN;
}
