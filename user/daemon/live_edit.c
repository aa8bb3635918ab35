/* SPDX-License-Identifier: Apache-2.0 */
/* live_edit.c - the live edits (see live_edit.h). */
#include "live_edit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/book.h"
#include "book/book_file.h"
#include "book/netaddr.h"
#include "kern/kern.h"

static json_t *refused(const char *fmt, const char *arg)
{
	char line[1200];
	snprintf(line, sizeof(line), fmt, arg);
	return json_pack("{s:b, s:s}", "ok", 0, "error", line);
}

bool live_edit_is_edit(json_t *req)
{
	return json_is_object(req) && json_is_string(json_object_get(req, "edit"));
}

static json_t *edit_add(struct live_edit_ctx *c, json_t *req)
{
	const char *at = json_string_value(json_object_get(req, "addr"));
	const char *st = json_string_value(json_object_get(req, "src"));
	struct netaddr addr, src;
	char shown[NETADDR_STRLEN];
	if (!at || netaddr_parse(at, NETADDR_NEED_ID, &addr, NULL, 0, NULL, 0) < 0)
		return refused("add: \"addr\" must be ID@IP:PORT (%s)", at ? at : "missing");
	if (!st)
		src = addr;
	else if (netaddr_parse(st, 0, &src, NULL, 0, NULL, 0) < 0)
		return refused("add: \"src\" must be [ID@]IP:PORT (%s)", st);
	netaddr_format(&addr, shown);
	int rc = book_add(c->live, &addr, &src, c->now);
	if (rc < 0)
		return json_pack("{s:b, s:s, s:i}", "ok", 0, "addr", shown, "errno", -rc);
	int slot = book_find(c->live, addr.id);
	const struct mukan_peer *p = slot >= 0 ? book_slot(c->live, (uint32_t)slot) : NULL;
	c->changed = c->changed || rc > 0;
	return json_pack("{s:b, s:s, s:b, s:i, s:i}", "ok", 1, "addr", shown, "added", rc > 0,
			 "slot", slot, "bucket",
			 p && p->n_buckets > 0 ? (int)p->buckets[p->n_buckets - 1] : -1);
}

static json_t *edit_import(struct live_edit_ctx *c, json_t *req)
{
	const char *path = json_string_value(json_object_get(req, "file"));
	if (!path || path[0] != '/')
		return refused("import: \"file\" must be an absolute path (%s)",
			       path ? path : "missing");
	/* The record limit of the load is the capacity it loads into. */
	struct book_opts bo = { .strict = book_strict(c->live), .seed = 1,
				.capacity = book_capacity(c->live) };
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	struct book *file;
	char err[1024] = "";
	int e = book_load(path, &bo, &fo, &file, err, sizeof(err));
	if (e == -ENOENT)
		return refused("%s: no such file", path);
	if (e < 0)
		return refused("%s", err);
	struct kern_import_tally t;
	kern_book_merge(c->k, c->live, file, &t, err, sizeof(err));
	book_free(file);
	c->changed = c->changed || t.imported > 0 || t.adopted;
	const char *placement = t.adopted ? "adopted" : t.kept_buckets ? "kept" : "anew";
	return json_pack("{s:b, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s, "
			 "s:{s:i, s:i, s:i, s:i}}",
			 "ok", 1, "file", path, "imported", t.imported, "new", t.n_new, "old",
			 t.n_old, "banned", t.n_banned, "duplicates", t.duplicates, "refused",
			 t.refused, "first_refusal", t.first_refusal, "placement", placement, "live",
			 "new", book_n_new(c->live), "old", book_n_old(c->live), "banned",
			 book_n_banned(c->live), "capacity", book_capacity(c->live));
}

json_t *live_edit_apply(struct live_edit_ctx *c, json_t *req)
{
	const char *what = json_string_value(json_object_get(req, "edit"));
	if (!what)
		return refused("not an edit request%s", "");
	if (!strcmp(what, "add"))
		return edit_add(c, req);
	if (!strcmp(what, "import"))
		return edit_import(c, req);
	return refused("unknown edit \"%s\" (add, import)", what);
}
