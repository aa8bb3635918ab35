/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dialctl.h - what the mukan-dialctl sources share: exit codes, the options
 * every book verb and every live verb takes, opening a book file or the
 * pinned maps, and the verbs themselves.
 *
 * Each verb is `int verb_x(int argc, char **argv)` with its own argp parser;
 * argv[0] is the full command ("mukan-dialctl book x") so that usage and
 * error messages name it. A verb returns the process exit status.
 */
#ifndef MUKAN_DIALCTL_H
#define MUKAN_DIALCTL_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "book/book.h"
#include "book/netaddr.h"

#define DIALCTL_NAME "mukan-dialctl"

enum dialctl_exit {
	DIALCTL_EXIT_OK = 0,
	DIALCTL_EXIT_FAIL = 1,	/* the operation failed: bad file, not found, refused */
	DIALCTL_EXIT_USAGE = 2, /* the command line was wrong */
};

/* Options every book verb takes (the argp child below fills them in). */
struct common_opts {
	bool strict; /* upstream addr_book_strict; true unless --no-strict */
};

/* Argp child for struct common_opts; put its input in child_inputs[0]. */
extern const struct argp common_argp;
extern const struct argp_child common_children[];

/* Book time for the CLI: the wall clock (CLOCK_REALTIME), so files need no offset. */
int64_t dialctl_now(void);

/* 64 random bits for a seed when the operator gives none. */
uint64_t dialctl_random_seed(void);

/*
 * Load FILE. On failure prints "mukan-dialctl: <loader's line>" to stderr
 * and returns DIALCTL_EXIT_FAIL. With `created` non-NULL a missing file is
 * not an error: a fresh book (new random key) is returned and *created set.
 * Never writes, renames or quarantines FILE.
 */
int dialctl_open_book(const char *path, const struct common_opts *c, uint64_t seed,
		      struct book **out, bool *created);

/*
 * Save b to FILE (book_save: a temporary file and a rename). On failure
 * prints "mukan-dialctl: <saver's line>" and returns DIALCTL_EXIT_FAIL.
 */
int dialctl_save_book(const struct book *b, const char *path);

/*
 * A peer named on the command line: a bare 40-hex node ID, or a full
 * "id@ip:port" (then *full is filled and *has_full set). 0 or -EINVAL with
 * a reason in err.
 */
int dialctl_parse_peer(const char *s, uint8_t id[MUKAN_ID_LEN], struct netaddr *full,
		       bool *has_full, char *err, size_t errsz);

/* Decimal or 0x-hex into [min, max]; argp_error (exit 2) otherwise. */
unsigned long long dialctl_parse_number(struct argp_state *state, const char *flag,
					const char *arg, unsigned long long min,
					unsigned long long max);

/* Why book_add refused an address (its -errno), in the operator's terms. */
const char *dialctl_add_refusal(int e);

/* "ECONNREFUSED", or "E<n>" for a number glibc has no name for. */
const char *dialctl_errno_name(int e, char buf[16]);

/*
 * Options every live verb takes (they work on the pinned maps): --pin-dir.
 * Put its input in the child_inputs slot of live_children[] / book_live_children[].
 */
struct live_opts {
	const char *pin_dir; /* never NULL after parsing: KERN_PIN_DIR by default */
	bool live;	     /* --live was given (book verbs only) */
};
extern const struct argp live_argp;
/* Just --pin-dir: for the bpf, config and events verbs (child_inputs[0]). */
extern const struct argp_child live_children[];
/* --no-strict, then --live and --pin-dir: live book verbs (child_inputs[0], [1]). */
extern const struct argp_child book_live_children[];

/* Does a book verb's command line ask for the live maps (--live before any "--")? */
bool dialctl_wants_live(int argc, char **argv);

struct kern;
/*
 * kern_open_pinned on o->pin_dir. On failure prints "mukan-dialctl: <why>"
 * (with a hint when the reason is missing privileges) and returns
 * DIALCTL_EXIT_FAIL.
 */
int dialctl_open_pinned(const struct live_opts *o, struct kern **k);

/*
 * The body of a live verb: open the pinned maps (dialctl_open_pinned), run
 * fn(args, k), close them. The exit status of fn, or of the opening.
 */
int dialctl_with_pinned(const struct live_opts *o, int (*fn)(const void *args, struct kern *k),
			const void *args);

/*
 * A live edit of the records (live_write.c, daemon/live_edit.h): applied by
 * whoever holds the pin-dir lock - this process when the lock is free (the
 * live book opened with `strict`), the daemon holding it otherwise - after a
 * bounded wait when another mukan-dialctl holds it. The answer (JSON,
 * caller frees), or NULL with the reason printed and *status set.
 */
json_t *dialctl_live_write(const struct live_opts *o, bool strict, json_t *request,
			   int *status);
/* A failed answer ({"ok": false, "error": ...}): print the error; true. */
bool dialctl_answer_failed(json_t *answer);

/*
 * The pin-dir lock for a verb that changes the maps wholesale (bpf attach,
 * bpf detach --purge): a bounded wait while another mukan-dialctl holds it,
 * a refusal while a daemon does. DIALCTL_EXIT_OK and *fd (kern_unlock it),
 * or the exit status after printing why.
 */
int dialctl_lock_pins(const char *pin_dir, bool create, const char *verb, int *fd);

/* Print "mukan-dialctl: [<what>: ]<err>" plus a hint for EPERM; DIALCTL_EXIT_FAIL. */
int dialctl_kern_fail(const char *what, int e, const char *err);

/* Verbs of the `book` group. */
int verb_check(int argc, char **argv);
int verb_stats(int argc, char **argv);
int verb_show(int argc, char **argv);
int verb_add(int argc, char **argv);
int verb_remove(int argc, char **argv);
int verb_pick(int argc, char **argv);
int verb_buckets(int argc, char **argv);

/* A running daemon, over its control socket (verb_daemon.c). */
int verb_status(int argc, char **argv);
int verb_peers(int argc, char **argv);
/* ... and their live forms, on the pinned maps. */
int verb_live_show(int argc, char **argv);
int verb_live_add(int argc, char **argv);
int verb_import(int argc, char **argv);
int verb_export(int argc, char **argv);
int verb_repair(int argc, char **argv);

/* Verbs of the `bpf` group. */
int verb_bpf_attach(int argc, char **argv);
int verb_bpf_detach(int argc, char **argv);
int verb_bpf_status(int argc, char **argv);

/* Verbs of the `config` group. */
int verb_config_get(int argc, char **argv);
int verb_config_set(int argc, char **argv);

/* Verbs of the `wire` group. */
int verb_wire_check(int argc, char **argv);

/* `events`, a command on its own. */
int verb_events(int argc, char **argv);

#endif /* MUKAN_DIALCTL_H */
