/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netaddr.h - peer addresses as CometBFT sees them: `id@ip:port`.
 *
 * Parsing, Go-compatible printing, and the address classes upstream uses for
 * routability and for the bucket group (p2p/netaddress.go, groupKeyFor).
 * Pure functions; host name resolution lives in resolve.c.
 */
#ifndef MUKAN_NETADDR_H
#define MUKAN_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mukan/abi.h"

/* A node ID plus a transport address (upstream NetAddress). */
struct netaddr {
	uint8_t id[MUKAN_ID_LEN];
	bool has_id;
	struct mukan_addr a;
};

/* Longest text: 40 + "@[" + 39 + "]:" + 5 + NUL, rounded up. */
#define NETADDR_STRLEN 96
#define IP_STRLEN 48	/* an IP as Go prints it, NUL included */
#define GROUP_STRLEN 48 /* a group key, NUL included */

/* netaddr_parse flags */
enum {
	NETADDR_NEED_ID = 1 << 0,    /* "ip:port" without "id@" is an error */
	NETADDR_ALLOW_NAME = 1 << 1, /* a host name is kept for resolve.c */
};

/*
 * Parse "[tcp://]id@host:port" (IPv6 in brackets). Returns 0, or -EINVAL with
 * a one-line reason in err (may be NULL). With NETADDR_ALLOW_NAME a host that
 * is not an IP literal is copied into name (size namesz) and -EAGAIN is
 * returned so the caller can resolve it; without it, names are an error
 * (addresses learned from peers are IPs only).
 */
int netaddr_parse(const char *s, unsigned flags, struct netaddr *out,
		  char *name, size_t namesz, char *err, size_t errsz);

/* Parse a textual IP (no brackets, no port) into a. Returns 0 or -EINVAL. */
int ip_parse(const char *s, struct mukan_addr *a);

/* Exactly 2n hex characters (either case) into n bytes. 0 or -EINVAL. */
int hex_decode(const char *s, size_t len, uint8_t *out, size_t n);

/* 40 hex characters, either case (Go's hex.DecodeString). 0 or -EINVAL. */
int node_id_parse(const char *s, size_t len, uint8_t id[MUKAN_ID_LEN]);
void node_id_format(const uint8_t id[MUKAN_ID_LEN], char out[2 * MUKAN_ID_LEN + 1]);

/* Print an IP as Go's net.IP.String() does. Returns the length. */
size_t ip_format(const struct mukan_addr *a, char out[IP_STRLEN]);
/* "id@ip:port" (or "ip:port" without an ID), IPv6 in brackets. */
size_t netaddr_format(const struct netaddr *na, char out[NETADDR_STRLEN]);

bool netaddr_equal(const struct netaddr *x, const struct netaddr *y);
bool mukan_addr_equal(const struct mukan_addr *x, const struct mukan_addr *y);

/* Address classes (upstream names). */
bool ip_is_unspecified(const struct mukan_addr *a);
bool ip_is_loopback(const struct mukan_addr *a);
bool ip_is_local(const struct mukan_addr *a);	/* loopback or 0.0.0.0/8 */
bool ip_is_private(const struct mukan_addr *a); /* RFC1918, RFC4193 */
bool ip_is_valid(const struct mukan_addr *a);	/* usable at all */
bool ip_is_routable(const struct mukan_addr *a);

/*
 * The upstream group key of an address: "local", "unroutable" (strict only),
 * the /16 for IPv4 and embedded IPv4, "tor:N", or the IPv6 /32 (/36 for
 * he.net), as text. Returns the length.
 */
size_t ip_group(const struct mukan_addr *a, bool strict, char out[GROUP_STRLEN]);

#endif /* MUKAN_NETADDR_H */
