/* SPDX-License-Identifier: Apache-2.0 */
/*
 * live_edit.h - edits of the live book, one JSON request in and one JSON
 * answer out. mukan-dialctl's live writers (book add --live, book import
 * --live) build the request; whoever holds the pin-dir lock applies it: the
 * daemon, when one runs (control socket), else mukan-dialctl itself. The
 * same code runs on both sides, so the answer is the same.
 *
 * Requests:
 *   {"edit": "add", "addr": "ID@IP:PORT", "src": "[ID@]IP:PORT"}
 *   {"edit": "import", "file": "/absolute/path/addrbook.json"}
 *   {"edit": "repair", "drop": bool, "slots": [N, ...]}  (no slots: every quarantined one)
 * Answers:
 *   add:    {"ok": true, "addr": A, "added": bool, "slot": N, "bucket": B or -1}
 *           {"ok": false, "addr": A, "errno": E}      (book_add refused it)
 *   import: {"ok": true, "file": F, "imported", "new", "old", "banned", "duplicates", "expired",
 *            "refused", "first_refusal", "placement": "adopted"|"kept"|"anew",
 *            "live": {"new", "old", "banned", "capacity"}}
 *   repair: {"ok": true, "quarantined": left, "results": [{"slot", "problem", "done": bool,
 *            "action": "repaired"|"dropped", "type", "bucket", "error"}]}
 *   any:    {"ok": false, "error": "one line"}
 */
#ifndef MUKAN_DAEMON_LIVE_EDIT_H
#define MUKAN_DAEMON_LIVE_EDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct kern;
struct book;

struct live_edit_ctx {
	struct kern *k;
	struct book *live; /* open over k's map (kern_book_open) */
	int64_t now;	   /* book time */
	bool changed;	   /* set when records changed */
};

/* Is this request an edit (an object with "edit")? */
bool live_edit_is_edit(json_t *req);
/* Apply it; never NULL (out of memory aside). */
json_t *live_edit_apply(struct live_edit_ctx *c, json_t *req);

#endif
