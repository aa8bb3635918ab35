/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kern.h - the kernel side of mukan-dialer from userspace: load the BPF
 * programs through their skeletons, create or reuse the pinned maps, attach
 * to a cgroup (or reuse the pinned links), and mmap the book records.
 *
 * Everything lives under one pin directory (default /sys/fs/bpf/mukan):
 *   book  book_idx  meta  config  stats  events       maps
 *   link_sockops  link_connect4  link_connect6        links (attachments)
 * Pins outlive the process: a restarted or killed loader finds them, reuses
 * the maps (no count is lost) and updates the pinned links to its freshly
 * loaded programs in place (never a second attachment). A pinned map of
 * another layout (its kernel name carries the version) is moved aside, never
 * misread.
 *
 * Functions return 0 or -errno and fill `err` with one line for a person.
 */
#ifndef MUKAN_KERN_H
#define MUKAN_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mukan/abi.h"

#define KERN_PIN_DIR "/sys/fs/bpf/mukan"
#define KERN_BPFFS "/sys/fs/bpf"
#define KERN_CGROUP_NAME "mukan-dialer"

struct kern;

struct kern_opts {
	const char *pin_dir; /* NULL: KERN_PIN_DIR */
	const char *cgroup;  /* cgroup v2 path to attach to; NULL: <cgroup2 mount>/mukan-dialer */
	uint32_t capacity;   /* book slots when the maps are created; 0: the default */
	/*
	 * The book must hold at least this many records: a pinned book with no
	 * record in use and fewer slots is replaced by a new one (nothing is
	 * lost); a new one gets at least this many slots. 0: no need.
	 */
	uint32_t min_capacity;
	bool no_attach;	     /* load and pin maps, leave attachments as they are */
};

/* Load, pin, attach (or reuse), mmap. Needs root and a kernel with BTF. */
int kern_open(struct kern **out, const struct kern_opts *opts, char *err, size_t errsz);

/*
 * Open the pinned maps only (no program is loaded): for operator verbs that
 * read or edit the book and config of a running system. -ENOENT when nothing
 * is pinned.
 */
int kern_open_pinned(struct kern **out, const char *pin_dir, char *err, size_t errsz);

/* Unmap and close. Pins and attachments stay. */
void kern_close(struct kern *k);

/*
 * Detach every pinned link (BPF_LINK_DETACH: the programs are off their hooks
 * when this returns, even while another process such as a daemon holds the
 * link) and unpin it; with purge the maps too.
 */
int kern_detach(const char *pin_dir, bool purge, char *err, size_t errsz);

/* The records (capacity slots) as mapped into this process. */
struct mukan_peer *kern_slots(struct kern *k);
uint32_t kern_capacity(const struct kern *k);
/* Records in use (a scan of the slots). */
uint32_t kern_used(const struct kern *k);
/* True when the maps were created by this open (nothing was pinned). */
bool kern_fresh(const struct kern *k);
/* This open migrated a meta_v1 (keys kept, book path and generation unknown). */
bool kern_meta_migrated(const struct kern *k);
/* This open replaced an empty pinned book of this many slots (0: it did not). */
uint32_t kern_replaced_capacity(const struct kern *k);

/*
 * The one userspace writer (docs/live.md): flock(LOCK_EX) on the pin
 * directory. Whoever holds it is the only process that writes records, the
 * index or meta; a daemon holds it for its whole life. kern_lock tries once:
 * 0 and *fd, or -EWOULDBLOCK with *holder the pid holding it (0 when it
 * cannot be told), or another -errno with err set. With create the pin
 * directory (and bpffs) is made if missing.
 */
int kern_lock(const char *pin_dir, bool create, int *fd, int *holder, char *err, size_t errsz);
/* The same, retried every few ms for up to wait_ms while another process holds it. */
int kern_lock_wait(const char *pin_dir, bool create, int wait_ms, int *fd, int *holder,
		   char *err, size_t errsz);
void kern_unlock(int fd);
/* The pid holding a flock on the file or directory open at fd, from /proc/locks; 0 unknown. */
int kern_flock_holder(int fd);

/*
 * The mmapped meta slot (struct mukan_book_meta): which book the records
 * are. Only the lock holder writes its fields; records_gen is bumped by
 * atomic adds and read atomically.
 */
struct mukan_book_meta *kern_meta(struct kern *k);
uint64_t kern_records_gen(struct kern *k);
/* records_gen += 1; returns the value before (a reader compares it with what it last saw). */
uint64_t kern_records_bump(struct kern *k);

/* book_idx: address -> slot; slot < 0 deletes. Fits book_opts.on_index. */
void kern_index_hook(void *kern, const struct mukan_addr *a, int slot);
int kern_index_set(struct kern *k, const struct mukan_addr *a, int slot);
int kern_index_count(struct kern *k);

/* A copy of meta (for readers that keep it). */
int kern_meta_read(struct kern *k, struct mukan_book_meta *m);

/* Read until two reads agree (a concurrent write can tear one); -EAGAIN when none did. */
int kern_config_read(struct kern *k, struct mukan_config *c);
/* Refuses an invalid config (-EINVAL, the field named in err). */
int kern_config_write(struct kern *k, const struct mukan_config *c, char *err, size_t errsz);
/* Name of the first bad field of a config, or NULL when it is valid. */
const char *kern_config_problem(const struct mukan_config *c);

/* The per-CPU counters summed. */
int kern_stats_read(struct kern *k, struct mukan_stats *sum);

/* Consume the events ring buffer: cb for each event, up to timeout_ms. */
typedef int (*kern_event_fn)(void *ctx, const struct mukan_event *e);
int kern_events_poll(struct kern *k, kern_event_fn cb, void *ctx, int timeout_ms);

/* What is attached where, for `mukan-dialctl bpf status`. */
struct kern_link_status {
	const char *name; /* "sockops", "connect4", "connect6" */
	bool pinned;
	uint32_t prog_id;
	uint64_t cgroup_id;
};
struct kern_status {
	bool maps_pinned;
	bool meta_ok; /* meta below was read */
	struct mukan_book_meta meta;
	struct kern_link_status links[3];
	uint32_t book_capacity;
	uint32_t book_used;
	uint32_t index_entries;
};
int kern_status(const char *pin_dir, struct kern_status *st, char *err, size_t errsz);

/*
 * The address book over the pinned maps (kern_book.c): records in the
 * mmapped `book`, placement keys from `meta`, the address index mirrored
 * into `book_idx`. Existing records are re-indexed, so a restart loses
 * nothing. For the lock holder only: it rewrites book_idx, and a map
 * without keys gets the new book's keys in meta.
 */
struct book;
int kern_book_open(struct kern *k, bool strict, uint64_t seed, struct book **out, char *err,
		   size_t errsz);
/*
 * Remove the book_idx entries the book does not back (left by a dead writer,
 * bpftool, or a record overwritten in its slot); the number removed.
 */
int kern_index_sync(struct kern *k, const struct book *b);

/*
 * The live book as a reader sees it, writing nothing: a private copy of every
 * slot, taken once, indexed with the map's placement keys. Bad records are
 * quarantined in the copy (book_next_quarantined lists them), exactly as the
 * record writer would quarantine them.
 */
int kern_book_snapshot(struct kern *k, bool strict, struct book **out, char *err,
		       size_t errsz);
/* After an import: placement keys of `from` become the map's. */
int kern_book_adopt_keys(struct kern *k, const struct book *from);
/* Tell other users of the map (a daemon) that records changed under them. */
int kern_book_touch(struct kern *k);

/*
 * Every record of `file` (a loaded addrbook.json) into the live book, dial
 * state and bans included. An empty live book adopts the file's keys first,
 * so each record keeps the buckets the file lists; otherwise records are
 * placed anew under the live keys. *live is the live book afterwards.
 */
struct kern_import_tally {
	unsigned imported, n_new, n_old, n_banned, duplicates, refused;
	unsigned expired; /* records that left a full new bucket (upstream's add) */
	bool adopted;	   /* the live book took the file's keys */
	bool kept_buckets; /* records kept the file's buckets */
	char first_refusal[512];
};
int kern_book_import(struct kern *k, bool strict, uint64_t seed, const struct book *file,
		     struct book **live, struct kern_import_tally *t, char *err, size_t errsz);
/*
 * The same into a live book already open (a daemon's): an empty one takes
 * the file's keys, records already there (by node ID) are duplicates.
 */
int kern_book_merge(struct kern *k, struct book *live, const struct book *file,
		    struct kern_import_tally *t, char *err, size_t errsz);

/*
 * A daemon's book file into the map (kern_import.c), recorded in meta so an
 * import cut short (kill -9) is redone the same way: state IMPORTING with
 * the mode and the file while it runs, READY with book_gen = the file's
 * generation when it is done.
 *   REPLACE: every record and the index cleared, the file's keys and records.
 *   UNION_*: both kept (book_union); the newer side wins where both hold an ID.
 * *live is the live book afterwards (also on a refusal: NULL then).
 */
struct kern_book_load {
	enum mukan_import_mode mode;
	const char *path;      /* the file's realpath, recorded in meta */
	int64_t synced_unix_ns; /* now, in wall time */
};
struct kern_load_tally {
	unsigned imported, refused; /* REPLACE */
	unsigned added, replaced, kept; /* UNION */
	uint32_t needed;		/* records the result holds (UNION) */
	char first_refusal[512];
};
int kern_book_load_file(struct kern *k, bool strict, uint64_t seed, const struct book *file,
			const struct kern_book_load *how, struct book **live,
			struct kern_load_tally *t, char *err, size_t errsz);
/* Zero every record and empty the index (REPLACE's first step). */
int kern_book_clear(struct kern *k);

/* Host plumbing (kern_env.c): bpffs at /sys/fs/bpf, cgroup v2 wherever it is. */
int kern_ensure_bpffs(char *err, size_t errsz);
int kern_cgroup2_mount(char *path, size_t sz);
int kern_cgroup_default(char *path, size_t sz, char *err, size_t errsz);
uint64_t kern_cgroup_id(const char *path);

/* Book time for everything that shares records with the kernel. */
int64_t kern_now(void);
/* unix ns = book ns + this (for addrbook.json files). */
int64_t kern_wall_offset(void);

#endif /* MUKAN_KERN_H */
