/* SPDX-License-Identifier: Apache-2.0 */
/* loopback6.c - the IPv6 peer addresses, added to lo in one ip batch. */
#include "loopback6.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"

int loopback6_add(const struct farm *f, char *err, size_t errsz)
{
	if (f->n_ipv6 == 0)
		return 0;
	char *text = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&text, &len);
	if (!o) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < f->n_peers; i++) {
		if (f->peers[i].na.a.family != MUKAN_AF_INET6)
			continue;
		char ip[IP_STRLEN];
		ip_format(&f->peers[i].na.a, ip);
		/* nodad: lo does no duplicate detection anyway; never wait for it. */
		fprintf(o, "address add %s/128 dev lo nodad\n", ip);
	}
	if (fclose(o) != 0) {
		free(text);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	char *argv[] = { "ip", "-batch", "-", NULL };
	int rc = spawn_wait(argv, text, len, false);
	free(text);
	if (rc == 0)
		return 0;
	snprintf(err, errsz, "ip -batch (IPv6 addresses on lo) failed (%s)",
		 rc < 0 ? strerror(-rc) : "see its message above");
	return rc < 0 ? rc : -EIO;
}
