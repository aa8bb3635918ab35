/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control_edit.c - live edits of the book sent over the control socket.
 *
 * The daemon holds the pin-dir lock for its whole life, so it is the one
 * userspace writer of the records: mukan-dialctl's live writers find the
 * lock taken and send their edit here instead (the socket's path is in the
 * map's meta). The edit is applied to the daemon's own book with the same
 * code mukan-dialctl runs when no daemon does (live_edit.c), and the
 * records generation is bumped for anyone reading the map.
 */
#include <jansson.h>

#include "daemon.h"
#include "kern/kern.h"
#include "live_edit.h"

json_t *control_edit(struct daemon *d, const char *line)
{
	if (line[0] != '{')
		return NULL;
	json_error_t je;
	json_t *req = json_loads(line, 0, &je);
	if (!live_edit_is_edit(req)) {
		json_decref(req);
		return NULL;
	}
	if (!d->kern) {
		json_decref(req);
		return json_pack("{s:b, s:s}", "ok", 0, "error",
				 "this daemon runs without BPF: there is no live book to edit");
	}
	struct live_edit_ctx c = { .k = d->kern, .live = d->book, .now = kern_now() };
	json_t *answer = live_edit_apply(&c, req);
	json_decref(req);
	if (c.changed)
		daemon_records_changed(d);
	return answer;
}
