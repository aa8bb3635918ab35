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

#include "node.h"
#include "outfiles.h"

static void set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static json_t *id_json(const uint8_t id[MUKAN_ID_LEN])
{
	char hex[2 * MUKAN_ID_LEN + 1];
	node_id_format(id, hex);
	return json_string(hex);
}

static json_t *peer_json(const struct farm *f, uint32_t i)
{
	const struct farm_peer *p = &f->peers[i];
	char addr[NETADDR_STRLEN], ip[IP_STRLEN];
	netaddr_format(&p->na, addr);
	ip_format(&p->na.a, ip);
	json_t *o = json_object(), *knows = json_array();
	set(o, "index", json_integer(i));
	set(o, "addr", json_string(addr));
	set(o, "id", id_json(p->na.id));
	set(o, "key_id", id_json(p->key.id));
	set(o, "ip", json_string(ip));
	set(o, "port", json_integer(p->na.a.port));
	set(o, "family", json_integer(p->na.a.family == MUKAN_AF_INET ? 4 : 6));
	set(o, "category", json_string(farm_cat_name(p->cat)));
	const char *v = farm_variant_name(p->variant);
	set(o, "variant", v ? json_string(v) : json_null());
	set(o, "seed", json_boolean(p->seed));
	set(o, "seed_mode", json_boolean(p->seed && f->opts.seed_mode));
	set(o, "network", farm_cat_listens(p->cat)
				  ? json_string(p->cat == CAT_WRONG_NETWORK ? f->opts.other_network
									    : f->opts.network)
				  : json_null());
	for (uint32_t k = 0; k < p->n_knows; k++)
		json_array_append_new(knows, json_integer(f->knows[p->knows_off + k]));
	set(o, "knows", knows);
	return o;
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
	char channels[2 * NODE_N_CHANNELS + 1];
	snprintf(ns_path, sizeof(ns_path), FARM_NETNS_DIR "/%s", f->ns_name);
	netaddr_format(&f->source, src);
	for (int i = 0; i < NODE_N_CHANNELS; i++)
		snprintf(channels + 2 * i, 3, "%02x", node_channels[i]);
	json_t *m = json_object(), *counts = json_object(), *files = json_object(),
	       *peers = json_array();
	set(m, "format", json_integer(MANIFEST_FORMAT));
	set(m, "tool", json_string(FARM_TOOL));
	set(m, "namespace", json_string(f->ns_name));
	set(m, "netns_path", json_string(ns_path));
	set(m, "pid", json_integer(getpid()));
	set(m, "seed", json_integer((json_int_t)o->seed));
	set(m, "port", json_integer(o->port));
	set(m, "network", json_string(o->network));
	set(m, "other_network", json_string(o->other_network));
	set(m, "channels", json_string(channels));
	set(m, "seed_mode", json_boolean(o->seed_mode));
	set(m, "knows", json_integer(o->knows));
	set(m, "seed_knows", json_integer(o->seed_knows));
	set(m, "book_source", json_string(src));
	set(m, "slow_delay_ms", json_integer(o->slow_ms));
	set(m, "flap_up_ms", json_integer(o->flap_up_ms));
	set(m, "flap_down_ms", json_integer(o->flap_down_ms));
	set(m, "handshake_timeout_ms", json_integer(o->handshake_timeout_ms));
	set(m, "ping_interval_ms", json_integer(o->ping_interval_ms));
	set(m, "pong_timeout_ms", json_integer(o->pong_timeout_ms));
	set(m, "drip_ms", json_integer(o->drip_ms));
	set(m, "duration_ms", json_integer((json_int_t)o->duration_ms));
	set(m, "max_conns", json_integer(o->max_conns));
	set(files, "addrbook", file_path(dir, OUT_BOOK));
	set(files, "seeds", file_path(dir, OUT_SEEDS));
	set(files, "nftables", file_path(dir, OUT_NFT));
	set(m, "files", files);
	for (int c = 0; c < CAT_COUNT; c++)
		set(counts, farm_cat_name((enum farm_cat)c), json_integer(f->count[c]));
	set(m, "counts", counts);
	for (uint32_t i = 0; i < f->n_peers; i++)
		json_array_append_new(peers, peer_json(f, i));
	set(m, "peers", peers);
	return m;
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
