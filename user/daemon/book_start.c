/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_start.c - the daemon's locks and its book at start-up.
 *
 * One daemon per home and per pin dir: flocks held for the daemon's life
 * (the pin-dir lock is also the one userspace writer lock of the records).
 * Then the book: the pinned map records which book it holds (meta: key,
 * generation, path, whether an import finished), and the table in
 * book_start_decide says what happens with the file given by --book. The
 * daemon says what it did in one line, with counts; a map holding another
 * book is refused, never silently used or overwritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "book/book_file.h"
#include "book_start.h"
#include "daemon.h"
#include "kern/kern.h"

#define PIN_LOCK_WAIT_MS 10000 /* a CLI edit holds the lock for milliseconds */

static int failf(char *err, size_t errsz, int e, const char *what, const char *path)
{
	snprintf(err, errsz, "%s %s: %s", what, path, strerror(-e));
	return e;
}

/* ---- the decision ------------------------------------------------------ */

enum start_action book_start_decide(const struct start_facts *f)
{
	bool same = f->file && f->map_key[0] && strcmp(f->file_key, f->map_key) == 0;
	if (f->state == MUKAN_META_IMPORTING) {
		if (!f->file)
			return f->reimport ? START_NOTHING_TO_REIMPORT : START_MAP;
		if (f->file_count > f->map_capacity)
			return START_TOO_BIG;
		if (f->reimport)
			return START_REIMPORT;
		return same ? START_REDO : START_OTHER_BOOK;
	}
	if (f->map_used == 0) {
		if (!f->file)
			return f->reimport ? START_NOTHING_TO_REIMPORT : START_EMPTY;
		return f->file_count > f->map_capacity ? START_TOO_BIG : START_IMPORT;
	}
	if (!f->file)
		return f->reimport ? START_NOTHING_TO_REIMPORT : START_MAP;
	if (f->reimport)
		return f->file_count > f->map_capacity ? START_TOO_BIG : START_REIMPORT;
	if (!same)
		return START_OTHER_BOOK;
	if (f->file_gen == f->map_gen)
		return START_MAP; /* the map holds all of that file, and what came after */
	bool file_newer = f->file_gen > f->map_gen ||
			  (f->file_gen == 0 && f->file_mtime_ns > f->map_synced_ns);
	return file_newer ? START_UNION_FILE_NEWER : START_UNION_MAP_NEWER;
}

const char *book_start_action_name(enum start_action a)
{
	static const char *const names[] = {
		[START_EMPTY] = "empty",
		[START_MAP] = "map",
		[START_IMPORT] = "import",
		[START_REDO] = "redo",
		[START_UNION_MAP_NEWER] = "union-map-newer",
		[START_UNION_FILE_NEWER] = "union-file-newer",
		[START_REIMPORT] = "reimport",
		[START_OTHER_BOOK] = "other-book",
		[START_TOO_BIG] = "too-big",
		[START_NOTHING_TO_REIMPORT] = "nothing-to-reimport",
	};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

/* ---- locks --------------------------------------------------------------- */

static int lock_home(struct daemon *d, char *err, size_t errsz)
{
	char path[CONFIG_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/mukan-dialerd.lock", d->cfg.home);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return failf(err, errsz, -errno, "cannot open", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = -errno;
		char pid[24] = "";
		if (e == -EWOULDBLOCK) {
			ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			if (!pid[0])
				snprintf(pid, sizeof(pid), "%d", kern_flock_holder(fd));
			snprintf(err, errsz,
				 "another mukan-dialerd (pid %s) runs with the home %s (it holds %s): "
				 "one daemon per home",
				 pid, d->cfg.home, path);
		} else {
			failf(err, errsz, e, "cannot lock", path);
		}
		close(fd);
		return e;
	}
	char pid[24];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		int e = -errno;
		close(fd);
		return failf(err, errsz, e, "cannot write", path);
	}
	d->home_lock_fd = fd;
	return 0;
}

/* Is the holder of the pin-dir lock a daemon (the owner meta names)? */
static bool held_by_daemon(const char *pin_dir, int holder)
{
	struct kern *k;
	char err[256];
	if (!holder || kern_open_pinned(&k, pin_dir, err, sizeof(err)) < 0)
		return false;
	bool daemon = kern_meta(k)->owner_pid == holder;
	kern_close(k);
	return daemon;
}

int daemon_lock(struct daemon *d, char *err, size_t errsz)
{
	int e = lock_home(d, err, errsz);
	if (e < 0 || !d->cfg.bpf)
		return e;
	const char *dir = d->cfg.pin_dir;
	int holder = 0;
	e = kern_lock(dir, true, &d->pin_lock_fd, &holder, err, errsz);
	if (e == -EWOULDBLOCK && !held_by_daemon(dir, holder)) /* a CLI edit: brief */
		e = kern_lock_wait(dir, true, PIN_LOCK_WAIT_MS, &d->pin_lock_fd, &holder, err,
				   errsz);
	if (e == -EWOULDBLOCK) {
		if (held_by_daemon(dir, holder))
			snprintf(err, errsz,
				 "another mukan-dialerd (pid %d) holds the pin dir %s: one daemon "
				 "per pin dir (stop it, or give this one its own --pin-dir)",
				 holder, dir);
		else
			snprintf(err, errsz,
				 "the pin dir %s is still locked by pid %d after %d s (a "
				 "mukan-dialctl edit?): try again",
				 dir, holder, PIN_LOCK_WAIT_MS / 1000);
	}
	return e;
}

/* ---- the file -------------------------------------------------------------- */

/* An absolute path for meta and messages (the file need not exist yet). */
static void absolute(const char *path, char *out, size_t sz)
{
	char dir[PATH_MAX], parent[PATH_MAX], full[2 * PATH_MAX];
	const char *slash = strrchr(path, '/');
	snprintf(full, sizeof(full), "%s", path);
	if (!slash) {
		if (getcwd(dir, sizeof(dir)))
			snprintf(full, sizeof(full), "%s/%s", dir, path);
	} else {
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
		if (realpath(parent[0] ? parent : "/", dir))
			snprintf(full, sizeof(full), "%s%s", strcmp(dir, "/") ? dir : "", slash);
	}
	if (strlen(full) < sz)
		memcpy(out, full, strlen(full) + 1);
	else
		snprintf(out, sz, "%s", path); /* too long to resolve: as given */
}

int daemon_load_book_file(struct daemon *d, struct book **out, char *err, size_t errsz)
{
	*out = NULL;
	absolute(d->cfg.book, d->book_path, sizeof(d->book_path));
	struct book_opts bo = { .strict = d->cfg.strict, .seed = daemon_seed(),
				.capacity = d->cfg.book_capacity };
	/* With BPF a new map is made as big as the file; without, the capacity is the limit. */
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset(), .grow = d->cfg.bpf };
	char why[1024] = "";
	int e = book_load(d->cfg.book, &bo, &fo, out, why, sizeof(why));
	if (e == 0) {
		book_file_note(d->cfg.book, *out, &d->file_seen);
		return 0;
	}
	if (e == -ENOENT)
		return 0;
	if (e == -ENOSPC || e == -EFBIG) {
		/* A valid book that is too big for this capacity: keep it, refuse to start. */
		snprintf(err, errsz,
			 "%s; the file is left as it is: start with --capacity N (book_capacity, "
			 "up to %u) at least its record count",
			 why, BOOK_MAX_CAPACITY);
		return e;
	}
	char moved[CONFIG_PATH_MAX + 32] = "";
	book_quarantine(d->cfg.book, moved, sizeof(moved));
	fprintf(stderr, "mukan-dialerd: %s; moved aside to %s\n", why,
		moved[0] ? moved : "(could not move it)");
	return 0;
}

/* ---- the map ------------------------------------------------------------ */

/* "PATH (key K, N addresses, generation G)" of the map as meta describes it. */
static void describe_map(struct kern *k, uint32_t used, char *out, size_t sz)
{
	const struct mukan_book_meta *m = kern_meta(k);
	char key[BOOK_KEY_MAX + 1] = "";
	if (m->key_len <= BOOK_KEY_MAX)
		snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
	snprintf(out, sz, "book %s (key %s, %u address%s, generation %llu)",
		 m->book_path[0] ? (const char *)m->book_path : "of unknown path",
		 key[0] ? key : "none", used, used == 1 ? "" : "es", (unsigned long long)m->book_gen);
}

static void describe_file(const struct daemon *d, const struct book *file, char *out, size_t sz)
{
	uint32_t n = book_file_count(file);
	snprintf(out, sz, "%s (key %s, %u address%s, generation %llu)", d->book_path,
		 book_key(file), n, n == 1 ? "" : "es",
		 (unsigned long long)book_file_generation(file));
}

static int64_t wall_now(void)
{
	return kern_now() + kern_wall_offset();
}

static void claim_for_file(struct daemon *d)
{
	struct mukan_book_meta *m = kern_meta(d->kern);
	memset(m->book_path, 0, sizeof(m->book_path));
	if (strlen(d->book_path) < sizeof(m->book_path))
		memcpy(m->book_path, d->book_path, strlen(d->book_path));
	m->import_mode = MUKAN_IMPORT_NONE;
	__atomic_store_n(&m->state, MUKAN_META_READY, __ATOMIC_RELEASE);
}

/* The map's records as a complete addrbook.json beside the file, before they go. */
static int save_map_aside(struct daemon *d, char *saved, size_t sz, char *err, size_t errsz)
{
	struct book *snap;
	int e = kern_book_snapshot(d->kern, d->cfg.strict, &snap, err, errsz);
	if (e < 0)
		return e;
	book_set_file_generation(snap, kern_meta(d->kern)->book_gen);
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset(), .no_cache = true };
	if ((e = book_aside_path(d->book_path, "map", saved, sz)) < 0)
		snprintf(err, errsz, "%s: no free name beside it: %s", d->book_path, strerror(-e));
	else
		e = book_save(snap, saved, &fo, err, errsz);
	book_free(snap);
	return e;
}

static int load_file(struct daemon *d, const struct book *file, enum mukan_import_mode mode,
		     struct kern_load_tally *t, char *err, size_t errsz)
{
	struct kern_book_load how = { .mode = mode, .path = d->book_path,
				      .synced_unix_ns = wall_now() };
	return kern_book_load_file(d->kern, d->cfg.strict, daemon_seed(), file, &how, &d->book, t,
				   err, errsz);
}

static int too_big(struct daemon *d, uint32_t records, char *err, size_t errsz)
{
	const char *dir = d->cfg.pin_dir;
	uint32_t cap = kern_capacity(d->kern);
	snprintf(err, errsz,
		 "%s needs %u slots, more than the %u of the pinned map in %s; nothing was "
		 "changed. To use it: keep the map's records if wanted (mukan-dialctl book export "
		 "--live FILE --pin-dir %s), mukan-dialctl bpf detach --purge --yes --pin-dir %s, then "
		 "start with --capacity %u or more",
		 d->book_path, records, cap, dir, dir, dir, records);
	return -ENOSPC;
}

static int open_map_book(struct daemon *d, const struct book *file, char *err, size_t errsz)
{
	struct kern *k = d->kern;
	struct mukan_book_meta *m = kern_meta(k);
	uint32_t used = kern_used(k);
	char key[BOOK_KEY_MAX + 1] = "", map[CONFIG_PATH_MAX + 160], fdesc[CONFIG_PATH_MAX + 160] = "";
	if (m->key_len <= BOOK_KEY_MAX)
		snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
	describe_map(k, used, map, sizeof(map));
	if (file)
		describe_file(d, file, fdesc, sizeof(fdesc));
	struct start_facts f = {
		.file = file != NULL,
		.file_key = file ? book_key(file) : "",
		.file_count = file ? book_file_count(file) : 0,
		.file_gen = file ? book_file_generation(file) : 0,
		.file_mtime_ns = d->file_seen.mtime_ns,
		.map_used = used,
		.map_capacity = kern_capacity(k),
		.state = m->state,
		.map_key = key,
		.map_gen = m->book_gen,
		.map_synced_ns = m->synced_unix_ns,
		.reimport = d->cfg.reimport,
	};
	enum start_action act = book_start_decide(&f);
	struct kern_load_tally t;
	char saved[CONFIG_PATH_MAX + 64] = "";
	int e = 0;
	switch (act) {
	case START_OTHER_BOOK:
		snprintf(err, errsz,
			 "the pinned map in %s holds another %s%s than %s; nothing was changed. To "
			 "use the file: mukan-dialerd --reimport (the map's records are saved beside "
			 "it first); to drop the map: mukan-dialctl bpf detach --purge --yes --pin-dir "
			 "%s",
			 d->cfg.pin_dir, map,
			 m->state == MUKAN_META_IMPORTING ? " (its import was cut short)" : "", fdesc,
			 d->cfg.pin_dir);
		return -EEXIST;
	case START_TOO_BIG:
		return too_big(d, f.file_count, err, errsz);
	case START_NOTHING_TO_REIMPORT:
		snprintf(err, errsz, "--reimport: no book file at %s to import; nothing was changed",
			 d->book_path);
		return -ENOENT;
	case START_EMPTY:
		if ((e = kern_book_open(k, d->cfg.strict, daemon_seed(), &d->book, err, errsz)) < 0)
			return e;
		claim_for_file(d);
		fprintf(stderr, "mukan-dialerd: no book at %s and the pinned map is empty: starting "
				"with an empty book\n",
			d->book_path);
		return 0;
	case START_MAP:
		if ((e = kern_book_open(k, d->cfg.strict, daemon_seed(), &d->book, err, errsz)) < 0)
			return e;
		fprintf(stderr, "mukan-dialerd: using the pinned map's %s%s\n", map,
			!file ? (m->state == MUKAN_META_IMPORTING
					 ? "; its import was cut short and the file is gone"
					 : "; there is no book file to compare")
			      : ": it holds all of the file's generation and what came since");
		claim_for_file(d);
		return 0;
	case START_IMPORT:
		if ((e = load_file(d, file, MUKAN_IMPORT_REPLACE, &t, err, errsz)) < 0)
			return e;
		fprintf(stderr, "mukan-dialerd: imported %u of the %u addresses of %s into the %s map "
				"(%u slots)%s%s\n",
			t.imported, f.file_count, fdesc, kern_fresh(k) ? "new" : "empty",
			kern_capacity(k), t.refused ? "; refused: " : "", t.first_refusal);
		break;
	case START_REDO:
		if ((e = load_file(d, file, m->import_mode ? (enum mukan_import_mode)m->import_mode
							   : MUKAN_IMPORT_REPLACE,
				   &t, err, errsz)) < 0)
			return e;
		fprintf(stderr, "mukan-dialerd: an import of %s was cut short: redone; the map holds "
				"%u addresses\n",
			fdesc, kern_used(k));
		break;
	case START_UNION_MAP_NEWER:
	case START_UNION_FILE_NEWER: {
		bool fn = act == START_UNION_FILE_NEWER;
		e = load_file(d, file, fn ? MUKAN_IMPORT_UNION_FILE_NEWER : MUKAN_IMPORT_UNION_MAP_NEWER,
			      &t, err, errsz);
		if (e == -ENOSPC)
			return too_big(d, t.needed, err, errsz);
		if (e < 0)
			return e;
		fprintf(stderr, "mukan-dialerd: the pinned map's %s and the file %s are one book "
				"gone apart: joined, the %s record winning where both hold one: %u "
				"added from the file, %u updated, %u unchanged; the map holds %u\n",
			map, fdesc, fn ? "file's" : "map's", t.added, t.replaced, t.kept, kern_used(k));
		break;
	}
	case START_REIMPORT:
		if (used > 0 && (e = save_map_aside(d, saved, sizeof(saved), err, errsz)) < 0)
			return e; /* never cleared without a copy */
		if ((e = load_file(d, file, MUKAN_IMPORT_REPLACE, &t, err, errsz)) < 0)
			return e;
		fprintf(stderr, "mukan-dialerd: --reimport: the map's %s%s%s; the map now holds %u "
				"addresses of %s\n",
			map, saved[0] ? " saved to " : " (none to save)", saved, t.imported, fdesc);
		break;
	}
	if (t.refused && act != START_IMPORT)
		fprintf(stderr, "mukan-dialerd: %u record%s of %s refused, the first: %s\n", t.refused,
			t.refused == 1 ? "" : "s", d->book_path, t.first_refusal);
	daemon_records_changed(d);
	return 0;
}

int daemon_open_book(struct daemon *d, struct book *file, char *err, size_t errsz)
{
	int e = 0;
	if (!d->kern) {
		if (file) {
			d->book = file;
			fprintf(stderr, "mukan-dialerd: loaded %u addresses from %s (generation %llu)\n",
				book_file_count(file), d->book_path,
				(unsigned long long)book_file_generation(file));
			return 0;
		}
		struct book_opts bo = { .strict = d->cfg.strict, .seed = daemon_seed(),
					.capacity = d->cfg.book_capacity };
		if ((e = book_new(&d->book, &bo)) < 0) {
			snprintf(err, errsz, "book: %s", strerror(-e));
			return e;
		}
		fprintf(stderr, "mukan-dialerd: no book at %s: starting with an empty book\n",
			d->book_path);
		return 0;
	}
	/* Before the book is opened: a change made meanwhile is then seen. */
	d->records_seen = kern_records_gen(d->kern);
	if (kern_meta_migrated(d->kern))
		fprintf(stderr, "mukan-dialerd: the pinned meta map of an earlier version was "
				"migrated (keys kept; which file it came from was not recorded)\n");
	if (kern_replaced_capacity(d->kern))
		fprintf(stderr, "mukan-dialerd: the pinned book was empty and had %u slots, too "
				"few for %s: replaced by one of %u\n",
			kern_replaced_capacity(d->kern), d->book_path, kern_capacity(d->kern));
	e = open_map_book(d, file, err, errsz);
	book_free(file);
	if (e == 0)
		daemon_meta_own(d, true);
	return e;
}

void daemon_records_changed(struct daemon *d)
{
	if (!d->kern)
		return;
	uint64_t before = kern_records_bump(d->kern);
	if (before != d->records_seen) {
		/* Someone else changed records too since we last looked: re-read them. */
		daemon_records_resync(d);
		if (d->mgr)
			manager_recount(d->mgr, kern_now());
	}
	d->records_seen = before + 1;
}

void daemon_meta_own(struct daemon *d, bool own)
{
	if (!d->kern)
		return;
	struct mukan_book_meta *m = kern_meta(d->kern);
	if (!own && m->owner_pid != (int32_t)getpid())
		return; /* never ours (a refused start) */
	memset(m->control, 0, sizeof(m->control));
	if (own) {
		char path[CONFIG_PATH_MAX];
		absolute(d->cfg.control, path, sizeof(path));
		if (strlen(path) < sizeof(m->control))
			memcpy(m->control, path, strlen(path));
	}
	__atomic_store_n(&m->owner_pid, own ? (int32_t)getpid() : 0, __ATOMIC_RELEASE);
}
