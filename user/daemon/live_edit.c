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
	return json_pack("{s:b, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s, "
			 "s:{s:i, s:i, s:i, s:i}}",
			 "ok", 1, "file", path, "imported", t.imported, "new", t.n_new, "old",
			 t.n_old, "banned", t.n_banned, "duplicates", t.duplicates, "refused",
			 t.refused, "expired", t.expired, "first_refusal", t.first_refusal,
			 "placement", placement, "live",
			 "new", book_n_new(c->live), "old", book_n_old(c->live), "banned",
			 book_n_banned(c->live), "capacity", book_capacity(c->live));
}

/* One quarantined slot repaired or dropped: its line of the answer. */
static json_t *repair_one(struct live_edit_ctx *c, uint32_t slot, bool drop)
{
	struct book_verify_tally vt;
	book_verify_slot(c->live, slot, &vt); /* what bpf status saw may be newer than our look */
	enum book_problem why;
	if (slot >= book_capacity(c->live) || book_next_quarantined(c->live, slot, &why) != (int)slot)
		return json_pack("{s:I, s:n, s:b, s:s}", "slot", (json_int_t)slot, "problem", "done",
				 0, "error", "not quarantined: nothing to do");
	char err[256] = "";
	int e = drop ? book_drop(c->live, slot) : book_repair(c->live, slot, err, sizeof(err));
	if (e < 0)
		return json_pack("{s:I, s:s, s:b, s:s}", "slot", (json_int_t)slot, "problem",
				 book_problem_text(why), "done", 0, "error", err);
	c->changed = true;
	const struct mukan_peer *p = book_slot(c->live, slot);
	const char *type = drop ? NULL
			   : p->flags & MUKAN_PEER_BANNED	? "banned"
			   : p->bucket_type == MUKAN_BUCKET_OLD ? "old"
								: "new";
	int bucket = !drop && !(p->flags & MUKAN_PEER_BANNED) ? p->buckets[0] : -1;
	return json_pack("{s:I, s:s, s:b, s:s, s:s?, s:i, s:n}", "slot", (json_int_t)slot, "problem",
			 book_problem_text(why), "done", 1, "action", drop ? "dropped" : "repaired",
			 "type", type, "bucket", bucket, "error");
}

static json_t *edit_repair(struct live_edit_ctx *c, json_t *req)
{
	bool drop = json_is_true(json_object_get(req, "drop"));
	json_t *slots = json_object_get(req, "slots");
	if (slots && !json_is_array(slots))
		return refused("repair: \"slots\" must be an array of slot numbers%s", "");
	json_t *results = json_array();
	if (!results)
		return NULL;
	if (slots && json_array_size(slots) > 0) {
		size_t i;
		json_t *v;
		json_array_foreach(slots, i, v) {
			json_int_t n = json_integer_value(v);
			if (!json_is_integer(v) || n < 0 || n > UINT32_MAX) {
				json_decref(results);
				return refused("repair: \"slots\" must hold slot numbers%s", "");
			}
			json_array_append_new(results, repair_one(c, (uint32_t)n, drop));
		}
	} else {
		/* Every slot looked at now, then every quarantined record handled. */
		struct book_verify_tally vt;
		book_verify_some(c->live, book_capacity(c->live), &vt);
		for (int s = book_next_quarantined(c->live, 0, NULL); s >= 0;
		     s = book_next_quarantined(c->live, (uint32_t)s + 1, NULL))
			json_array_append_new(results, repair_one(c, (uint32_t)s, drop));
	}
	return json_pack("{s:b, s:o, s:I}", "ok", 1, "results", results, "quarantined",
			 (json_int_t)book_n_quarantined(c->live));
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
	if (!strcmp(what, "repair"))
		return edit_repair(c, req);
	return refused("unknown edit \"%s\" (add, import, repair)", what);
}
