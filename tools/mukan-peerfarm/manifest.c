/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.c - manifest.json with jansson. */
#include "manifest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "outfiles.h"

static json_t *peer_json(const struct farm_peer *p)
{
	char addr[NETADDR_STRLEN], ip[IP_STRLEN], id[2 * MUKAN_ID_LEN + 1];
	netaddr_format(&p->na, addr);
	ip_format(&p->na.a, ip);
	node_id_format(p->na.id, id);
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:b}", "addr", addr, "id", id, "ip", ip,
			 "port", (int)p->na.a.port, "family",
			 p->na.a.family == MUKAN_AF_INET ? 4 : 6, "category",
			 farm_cat_name(p->cat), "seed", p->seed);
}

static json_t *file_path(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return json_string(path);
}

static json_t *manifest_json(const struct farm *f, const char *dir)
{
	const struct farm_opts *o = &f->opts;
	char ns_path[sizeof(FARM_NETNS_DIR) + FARM_NS_STRLEN], src[NETADDR_STRLEN];
	snprintf(ns_path, sizeof(ns_path), FARM_NETNS_DIR "/%s", f->ns_name);
	netaddr_format(&f->source, src);
	json_t *counts = json_object(), *peers = json_array();
	for (int c = 0; c < CAT_COUNT; c++)
		json_object_set_new(counts, farm_cat_name((enum farm_cat)c),
				    json_integer(f->count[c]));
	for (uint32_t i = 0; i < f->n_peers; i++)
		json_array_append_new(peers, peer_json(&f->peers[i]));
	return json_pack(
		"{s:i, s:s, s:s, s:s, s:I, s:I, s:i, s:s, s:I, s:I, s:I, s:I, s:{s:o, s:o, s:o}, "
		"s:o, s:o}",
		"format", MANIFEST_FORMAT, "tool", FARM_TOOL, "namespace", f->ns_name, "netns_path",
		ns_path, "pid", (json_int_t)getpid(), "seed", (json_int_t)o->seed, "port",
		(int)o->port, "book_source", src, "slow_delay_ms", (json_int_t)o->slow_ms,
		"flap_up_ms", (json_int_t)o->flap_up_ms, "flap_down_ms", (json_int_t)o->flap_down_ms,
		"duration_ms", (json_int_t)o->duration_ms, "files", "addrbook",
		file_path(dir, OUT_BOOK), "seeds", file_path(dir, OUT_SEEDS), "nftables",
		file_path(dir, OUT_NFT), "counts", counts, "peers", peers);
}

int manifest_write(const struct farm *f, const char *dir, char *err, size_t errsz)
{
	json_t *m = manifest_json(f, dir);
	char *text = m ? json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(m);
	if (!text) {
		snprintf(err, errsz, "manifest: out of memory");
		return -ENOMEM;
	}
	size_t len = strlen(text);
	/* jansson leaves off the final newline; put it back. */
	char *full = realloc(text, len + 2);
	if (!full) {
		free(text);
		snprintf(err, errsz, "manifest: out of memory");
		return -ENOMEM;
	}
	full[len] = '\n';
	full[len + 1] = '\0';
	int e = out_write(dir, OUT_MANIFEST, full, len + 1, err, errsz);
	free(full);
	return e;
}
