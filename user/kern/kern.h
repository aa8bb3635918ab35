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
/* True when the maps were created by this open (nothing was pinned). */
bool kern_fresh(const struct kern *k);

/* book_idx: address -> slot; slot < 0 deletes. Fits book_opts.on_index. */
void kern_index_hook(void *kern, const struct mukan_addr *a, int slot);
int kern_index_set(struct kern *k, const struct mukan_addr *a, int slot);
int kern_index_count(struct kern *k);

int kern_meta_read(struct kern *k, struct mukan_book_meta *m);
int kern_meta_write(struct kern *k, const struct mukan_book_meta *m);

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
	struct kern_link_status links[3];
	uint32_t book_capacity;
	uint32_t book_used;
	uint32_t index_entries;
};
int kern_status(const char *pin_dir, struct kern_status *st, char *err, size_t errsz);

/*
 * The address book over the pinned maps (kern_book.c): records in the
 * mmapped `book`, placement keys from `meta` (written there when the map is
 * new), the address index mirrored into `book_idx`. Existing records are
 * re-indexed, so a restart loses nothing.
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
/* Tell other users of the map (the daemon) that records changed under them. */
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
