/* SPDX-License-Identifier: Apache-2.0 */
/* resolve.c - host names in configured addresses (upstream NewNetAddressString). */
#include "resolve.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int netaddr_resolve(const char *s, struct netaddr *out, char *err, size_t errsz)
{
	char name[256];
	int e = netaddr_parse(s, NETADDR_NEED_ID | NETADDR_ALLOW_NAME, out, name, sizeof(name),
			      err, errsz);
	if (e != -EAGAIN)
		return e;

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int g = getaddrinfo(name, NULL, &hints, &res);
	if (g != 0 || !res) {
		if (err && errsz)
			snprintf(err, errsz, "address '%s': cannot resolve '%s': %s", s, name,
				 g ? gai_strerror(g) : "no address");
		return -EHOSTUNREACH;
	}
	uint16_t port = out->a.port;
	char text[IP_STRLEN];
	if (res->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, text, sizeof(text));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, text, sizeof(text));
	freeaddrinfo(res);
	e = ip_parse(text, &out->a);
	out->a.port = port;
	if (e < 0 && err && errsz)
		snprintf(err, errsz, "address '%s': '%s' resolved to an unusable address", s, name);
	return e;
}
