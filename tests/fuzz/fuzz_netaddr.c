/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_netaddr.c - libFuzzer target for the text decoders that see network
 * input: netaddr_parse, ip_parse and time_parse.
 *
 * Beyond "no crash", every successful parse must survive a round trip:
 * what we print must parse back to the same value, because addresses and
 * times are written to addrbook.json and sent to peers, then read back.
 * A broken invariant aborts, so libFuzzer keeps the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/netaddr.h"
#include "book/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *input)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s (input \"%s\")\n", what, input);
	abort();
}

/* A group key is a short NUL-terminated string whose length is returned. */
static void check_groups(const struct mukan_addr *a, const char *s)
{
	for (int strict = 0; strict <= 1; strict++) {
		char g[GROUP_STRLEN + 1];
		memset(g, 'x', sizeof(g));
		size_t n = ip_group(a, strict, g);
		check(memchr(g, '\0', GROUP_STRLEN) != NULL, "ip_group: no NUL", s);
		check(n == strlen(g) && n < GROUP_STRLEN, "ip_group: length", s);
	}
}

/* ip_format of a parsed IP parses back to the same IP (port aside). */
static void check_ip_roundtrip(const struct mukan_addr *a, const char *s)
{
	char text[IP_STRLEN];
	struct mukan_addr back;
	size_t n = ip_format(a, text);
	check(n == strlen(text) && n < IP_STRLEN, "ip_format: length", s);
	check(ip_parse(text, &back) == 0, "ip_format output does not re-parse", s);
	check(back.family == a->family && memcmp(back.ip, a->ip, sizeof(a->ip)) == 0,
	      "ip_format round trip changed the IP", s);
	/* Classification must not depend on anything but the bytes. */
	check(ip_is_routable(a) == ip_is_routable(&back), "routability changed", s);
}

static void check_netaddr(const struct netaddr *na, unsigned flags, const char *s)
{
	char text[NETADDR_STRLEN];
	struct netaddr back;
	size_t n = netaddr_format(na, text);
	check(n == strlen(text) && n < NETADDR_STRLEN, "netaddr_format: length", s);
	/* What we print carries an ID iff the parse had one, so NEED_ID holds. */
	int rc = netaddr_parse(text, flags & ~NETADDR_ALLOW_NAME, &back, NULL, 0, NULL, 0);
	check(rc == 0, "netaddr_format output does not re-parse", s);
	check(netaddr_equal(na, &back), "netaddr round trip changed the address", s);
	check(!(flags & NETADDR_NEED_ID) || na->has_id, "NEED_ID accepted no ID", s);
	check(na->a.family == MUKAN_AF_INET || na->a.family == MUKAN_AF_INET6,
	      "parsed address has no family", s);
	check_groups(&na->a, s);
	check_ip_roundtrip(&na->a, s);
}

static void fuzz_netaddr_parse(const char *s)
{
	static const unsigned flag_sets[] = {
		0,
		NETADDR_NEED_ID,
		NETADDR_ALLOW_NAME,
		NETADDR_NEED_ID | NETADDR_ALLOW_NAME,
	};
	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		unsigned flags = flag_sets[i];
		struct netaddr na;
		char name[64], err[128];
		memset(name, 'x', sizeof(name));
		memset(err, 'x', sizeof(err));
		int rc = netaddr_parse(s, flags, &na, name, sizeof(name), err, sizeof(err));
		check(rc == 0 || rc == -EINVAL || rc == -EAGAIN, "unexpected error code", s);
		check(rc != -EINVAL || memchr(err, '\0', sizeof(err)), "reason not terminated", s);
		if (rc == 0)
			check_netaddr(&na, flags, s);
		else if (rc == -EAGAIN) /* a host name handed back for resolve.c */
			check((flags & NETADDR_ALLOW_NAME) && memchr(name, '\0', sizeof(name)),
			      "host name returned without ALLOW_NAME or unterminated", s);
	}
	/* A tiny name buffer must be refused, not overrun. */
	struct netaddr na;
	char tiny[4];
	netaddr_parse(s, NETADDR_ALLOW_NAME, &na, tiny, sizeof(tiny), NULL, 0);
}

static void fuzz_ip_parse(const char *s)
{
	struct mukan_addr a;
	if (ip_parse(s, &a) != 0)
		return;
	check(a.port == 0, "ip_parse set a port", s);
	check_groups(&a, s);
	check_ip_roundtrip(&a, s);
}

static void fuzz_time_parse(const char *s)
{
	int64_t t, back;
	char text[TIME_STRLEN];
	if (time_parse(s, &t) != 0)
		return;
	size_t n = time_format(t, text);
	check(n == strlen(text) && n < TIME_STRLEN, "time_format: length", s);
	check(time_parse(text, &back) == 0, "time_format output does not re-parse", s);
	check(back == t, "time round trip changed the value", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The decoders take C strings: stop at the first NUL, as a caller would. */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_netaddr_parse(s);
	fuzz_ip_parse(s);
	fuzz_time_parse(s);
	free(s);
	return 0;
}
