/* SPDX-License-Identifier: Apache-2.0 */
/* peer_lists.c - "id@host:port,id@host:port" and "id,id" lists from the settings. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/resolve.h"
#include "daemon.h"

int peer_list_each(const char *list, bool ids_only,
		   int (*fn)(void *ctx, const struct netaddr *na), void *ctx, char *err,
		   size_t errsz)
{
	const char *p = list;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[512];
		/* Trim the spaces people put after commas. */
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(item)) {
			snprintf(err, errsz, "list entry too long: '%.40s...'", p);
			return -EINVAL;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (len > 0) {
			struct netaddr na = { 0 };
			int e;
			if (ids_only) {
				e = node_id_parse(item, len, na.id);
				if (e < 0)
					snprintf(err, errsz, "'%s' is not a node ID (40 hex characters)", item);
				na.has_id = e == 0;
			} else {
				e = netaddr_resolve(item, &na, err, errsz);
			}
			if (e < 0)
				return e;
			if ((e = fn(ctx, &na)) < 0) {
				snprintf(err, errsz, "'%s': %s", item, strerror(-e));
				return e;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}
