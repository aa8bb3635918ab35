/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kern.c - open, load, pin, reuse, attach: the life cycle of the programs
 * and maps described in kern.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connect_gate.skel.h"
#include "kern_internal.h"
#include "mukan/rules.h"
#include "sockops.skel.h"

const struct kern_map_def kern_maps[KM_COUNT] = {
	[KM_BOOK] = { "book", "book_v1" },	   [KM_IDX] = { "book_idx", "book_idx_v1" },
	[KM_META] = { "meta", "meta_v2" },	   [KM_CONFIG] = { "config", "config_v1" },
	[KM_STATS] = { "stats", "stats_v1" },	   [KM_EVENTS] = { "events", "events_v1" },
};
const char *const kern_link_pins[KL_COUNT] = { "link_sockops", "link_connect4", "link_connect6" };
const char *const kern_link_names[KL_COUNT] = { "sockops", "connect4", "connect6" };

void kern_path(const char *dir, const char *name, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", dir, name);
}

static int fail(char *err, size_t errsz, int e, const char *fmt, const char *arg)
{
	char what[2048];
	snprintf(what, sizeof(what), fmt, arg);
	snprintf(err, errsz, "%s: %s", what, strerror(e < 0 ? -e : e));
	return e < 0 ? e : -e;
}

int kern_map_fd(const struct kern *k, enum kern_map_id id)
{
	if (!k->so)
		return k->fd[id];
	return bpf_map__fd(bpf_object__find_map_by_name(k->so->obj, kern_maps[id].kname));
}

int kern_mmap_book(struct kern *k, char *err, size_t errsz)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	k->map_len = ((size_t)k->capacity * sizeof(struct mukan_peer) + page - 1) / page * page;
	void *p = mmap(NULL, k->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       kern_map_fd(k, KM_BOOK), 0);
	if (p == MAP_FAILED)
		return fail(err, errsz, -errno, "cannot mmap the %s map", "book");
	k->slots = p;
	return 0;
}

int kern_mmap_meta(struct kern *k, char *err, size_t errsz)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	k->meta_len = (sizeof(struct mukan_book_meta) + page - 1) / page * page;
	void *p = mmap(NULL, k->meta_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       kern_map_fd(k, KM_META), 0);
	if (p == MAP_FAILED)
		return fail(err, errsz, -errno, "cannot mmap the %s map", "meta");
	k->meta = p;
	return 0;
}

/* Records in use in the pinned book map at fd (mapped read-only to count). */
static int pinned_book_used(int fd, uint32_t entries)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = ((size_t)entries * sizeof(struct mukan_peer) + page - 1) / page * page;
	const struct mukan_peer *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	int n = 0;
	for (uint32_t i = 0; i < entries; i++)
		n += p[i].in_use != 0;
	munmap((void *)p, len);
	return n;
}

/*
 * A pinned book with no record in use and fewer than `need` slots is
 * unpinned with its index: nothing is lost, and a book of the capacity asked
 * for is created in its place (the programs loaded next use it).
 */
static int drop_small_empty_book(struct kern *k, uint32_t need, char *err, size_t errsz)
{
	char path[512];
	kern_path(k->pin_dir, kern_maps[KM_BOOK].pin, path, sizeof(path));
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	int used = -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    strcmp(info.name, kern_maps[KM_BOOK].kname) == 0 && info.max_entries < need)
		used = pinned_book_used(fd, info.max_entries);
	close(fd);
	if (used != 0)
		return 0;
	for (int i = KM_BOOK; i <= KM_IDX; i++) {
		kern_path(k->pin_dir, kern_maps[i].pin, path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT)
			return fail(err, errsz, -errno, "cannot replace the empty map %s", path);
	}
	k->replaced_capacity = info.max_entries;
	return 0;
}

/* The value of a pinned meta_v1 at path, if that is what it is. */
static bool read_meta_v1(const char *path, struct mukan_book_meta_v1 *v1)
{
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), zero = 0;
	bool ok = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		  strcmp(info.name, KERN_META_V1_KNAME) == 0 && info.value_size == sizeof(*v1) &&
		  bpf_map_lookup_elem(fd, &zero, v1) == 0;
	close(fd);
	return ok;
}

/*
 * A meta_v1 pinned by an earlier version is renamed aside and read; its keys
 * go into the new meta once it exists (finish_meta_v1). A rename left by an
 * open that died half way is read again.
 */
static int take_meta_v1(struct kern *k, char *err, size_t errsz)
{
	char path[512], aside[512];
	kern_path(k->pin_dir, kern_maps[KM_META].pin, path, sizeof(path));
	kern_path(k->pin_dir, KERN_META_V1_ASIDE, aside, sizeof(aside));
	if (read_meta_v1(path, &k->v1)) {
		if (rename(path, aside) < 0)
			return fail(err, errsz, -errno, "cannot move aside pinned map %s", path);
		k->migrate_v1 = true;
	} else if (read_meta_v1(aside, &k->v1)) {
		k->migrate_v1 = true;
	}
	return 0;
}

/* The v1 keys into meta_v2 (once), then the old map goes. */
static void finish_meta_v1(struct kern *k)
{
	struct mukan_book_meta *m = k->meta;
	if (!k->migrate_v1)
		return;
	if (m->key_len == 0 && k->v1.key_len > 0 && k->v1.key_len <= sizeof(m->key)) {
		memcpy(m->key, k->v1.key, sizeof(m->key));
		memcpy(m->hash_key, k->v1.hash_key, sizeof(m->hash_key));
		m->strict = k->v1.strict;
		bool used = false;
		for (uint32_t i = 0; i < k->capacity && !used; i++)
			used = k->slots[i].in_use != 0;
		/* Which file it came from was never recorded: path and generation unknown. */
		m->book_gen = 0;
		m->book_path[0] = '\0';
		__atomic_store_n(&m->records_gen, (uint64_t)k->v1.generation, __ATOMIC_SEQ_CST);
		m->state = used ? MUKAN_META_READY : MUKAN_META_EMPTY;
		__atomic_store_n(&m->key_len, k->v1.key_len, __ATOMIC_RELEASE);
	}
	char aside[512];
	kern_path(k->pin_dir, KERN_META_V1_ASIDE, aside, sizeof(aside));
	unlink(aside);
}

/*
 * Is the pinned map at fd the layout this program knows? The kernel name
 * carries the version; sizes and type must match too.
 */
static bool same_layout(int fd, const struct bpf_map *want, const char *kname, uint32_t *entries)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return false;
	*entries = info.max_entries;
	return strcmp(info.name, kname) == 0 && info.type == (uint32_t)bpf_map__type(want) &&
	       info.key_size == bpf_map__key_size(want) &&
	       info.value_size == bpf_map__value_size(want) &&
	       info.map_flags == bpf_map__map_flags(want);
}

/* Before load: reuse every compatible pinned map; report which need pinning. */
static int reuse_pinned(struct kern *k, uint32_t capacity, bool need_pin[KM_COUNT], char *err,
			size_t errsz)
{
	int e = take_meta_v1(k, err, errsz);
	if (e < 0)
		return e;
	for (int i = 0; i < KM_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(k->so->obj, kern_maps[i].kname);
		char path[512];
		kern_path(k->pin_dir, kern_maps[i].pin, path, sizeof(path));
		if ((i == KM_BOOK || i == KM_IDX) && capacity)
			bpf_map__set_max_entries(m, capacity);
		need_pin[i] = true;
		int fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		uint32_t entries = 0;
		if (!same_layout(fd, m, kern_maps[i].kname, &entries)) {
			/* Another layout: keep it for inspection, never misread it. */
			char aside[600];
			/* (bpffs refuses names with a dot) */
			snprintf(aside, sizeof(aside), "%s_old_%d", path, fd);
			close(fd);
			if (rename(path, aside) < 0)
				return fail(err, errsz, -errno, "cannot move aside pinned map %s", path);
			continue;
		}
		if (i == KM_BOOK || i == KM_IDX)
			bpf_map__set_max_entries(m, entries); /* the pinned size wins */
		e = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (e < 0)
			return fail(err, errsz, e, "cannot reuse pinned map %s", path);
		need_pin[i] = false;
	}
	return 0;
}

static void write_default_config(struct kern *k)
{
	struct mukan_config c;
	uint32_t zero = 0;
	rules_config_defaults(&c);
	c.generation = 1;
	bpf_map_update_elem(kern_map_fd(k, KM_CONFIG), &zero, &c, BPF_ANY);
}

static int load_programs(struct kern *k, const struct kern_opts *opts, char *err, size_t errsz)
{
	bool need_pin[KM_COUNT];
	uint32_t capacity = opts->capacity;
	if (opts->min_capacity && capacity < opts->min_capacity)
		capacity = opts->min_capacity;
	kern_log_capture();
	k->so = mukan_sockops__open();
	k->cg = mukan_connect_gate__open();
	if (!k->so || !k->cg)
		return fail(err, errsz, -errno, "cannot open the BPF objects%s",
			    access("/sys/kernel/btf/vmlinux", R_OK) ? " (the kernel has no BTF)" : "");
	int e = 0;
	if (opts->min_capacity && !opts->no_attach)
		e = drop_small_empty_book(k, opts->min_capacity, err, errsz);
	if (e == 0)
		e = reuse_pinned(k, capacity, need_pin, err, errsz);
	if (e < 0)
		return e;
	if ((e = mukan_sockops__load(k->so)) < 0) {
		snprintf(err, errsz, "the verifier refused sockops: %s", kern_log_tail(12));
		return e;
	}
	/* The gate shares every map of the first object. */
	for (int i = 0; i < KM_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(k->cg->obj, kern_maps[i].kname);
		if (m && (e = bpf_map__reuse_fd(m, kern_map_fd(k, (enum kern_map_id)i))) < 0)
			return fail(err, errsz, e, "cannot share map %s", kern_maps[i].kname);
	}
	if ((e = mukan_connect_gate__load(k->cg)) < 0) {
		snprintf(err, errsz, "the verifier refused connect_gate: %s", kern_log_tail(12));
		return e;
	}
	for (int i = 0; i < KM_COUNT; i++) {
		if (!need_pin[i])
			continue;
		char path[512];
		kern_path(k->pin_dir, kern_maps[i].pin, path, sizeof(path));
		struct bpf_map *m = bpf_object__find_map_by_name(k->so->obj, kern_maps[i].kname);
		if ((e = bpf_map__pin(m, path)) < 0)
			return fail(err, errsz, e, "cannot pin %s", path);
		if (i == KM_CONFIG)
			write_default_config(k);
		if (i == KM_BOOK)
			k->fresh = true;
	}
	k->capacity = bpf_map__max_entries(bpf_object__find_map_by_name(k->so->obj, "book_v1"));
	return 0;
}

static struct bpf_program *link_prog(struct kern *k, int i)
{
	if (i == KL_SOCKOPS)
		return k->so->progs.mukan_sockops;
	return i == KL_CONNECT4 ? k->cg->progs.mukan_gate4 : k->cg->progs.mukan_gate6;
}

static uint64_t link_cgroup_id(struct bpf_link *l)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(bpf_link__fd(l), &info, &len) < 0)
		return 0;
	return info.cgroup.cgroup_id;
}

/*
 * Reuse a pinned link on the same cgroup by swapping in the new program
 * (atomic, one attachment), or attach and pin a new one.
 */
static int attach_programs(struct kern *k, const char *cgroup, char *err, size_t errsz)
{
	uint64_t cgid = kern_cgroup_id(cgroup);
	int cgfd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0 || cgid == 0) {
		int e = -errno;
		if (cgfd >= 0)
			close(cgfd);
		return fail(err, errsz, e, "cannot open cgroup %s", cgroup);
	}
	int e = 0;
	for (int i = 0; i < KL_COUNT && e == 0; i++) {
		char path[512];
		kern_path(k->pin_dir, kern_link_pins[i], path, sizeof(path));
		struct bpf_link *l = bpf_link__open(path);
		if (l && link_cgroup_id(l) == cgid) {
			if ((e = bpf_link__update_program(l, link_prog(k, i))) < 0)
				fail(err, errsz, e, "cannot update the program of %s", path);
			k->links[i] = l;
			continue;
		}
		if (l) { /* attached elsewhere: move it here */
			bpf_link__unpin(l);
			bpf_link__destroy(l);
		}
		l = bpf_program__attach_cgroup(link_prog(k, i), cgfd);
		if (!l) {
			e = fail(err, errsz, -errno, "cannot attach to cgroup %s", cgroup);
			break;
		}
		k->links[i] = l;
		if ((e = bpf_link__pin(l, path)) < 0)
			fail(err, errsz, e, "cannot pin %s", path);
	}
	close(cgfd);
	return e;
}

int kern_open(struct kern **out, const struct kern_opts *opts, char *err, size_t errsz)
{
	struct kern *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	snprintf(k->pin_dir, sizeof(k->pin_dir), "%s", opts->pin_dir ? opts->pin_dir : KERN_PIN_DIR);
	char cgroup[1024];
	int e = kern_ensure_bpffs(err, errsz);
	if (e == 0 && mkdir(k->pin_dir, 0700) < 0 && errno != EEXIST)
		e = fail(err, errsz, -errno, "cannot create %s", k->pin_dir);
	if (e == 0)
		e = load_programs(k, opts, err, errsz);
	if (e == 0 && !opts->no_attach) {
		if (opts->cgroup)
			snprintf(cgroup, sizeof(cgroup), "%s", opts->cgroup);
		else
			e = kern_cgroup_default(cgroup, sizeof(cgroup), err, errsz);
		if (e == 0)
			e = attach_programs(k, cgroup, err, errsz);
	}
	if (e == 0)
		e = kern_mmap_book(k, err, errsz);
	if (e == 0)
		e = kern_mmap_meta(k, err, errsz);
	if (e < 0) {
		kern_close(k);
		return e;
	}
	finish_meta_v1(k);
	if (k->meta->capacity != k->capacity)
		k->meta->capacity = k->capacity;
	*out = k;
	return 0;
}

int kern_open_pinned(struct kern **out, const char *pin_dir, char *err, size_t errsz)
{
	struct kern *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	snprintf(k->pin_dir, sizeof(k->pin_dir), "%s", pin_dir ? pin_dir : KERN_PIN_DIR);
	for (int i = 0; i < KM_COUNT; i++)
		k->fd[i] = -1;
	int e = 0;
	for (int i = 0; i < KM_COUNT && e == 0; i++) {
		char path[512];
		kern_path(k->pin_dir, kern_maps[i].pin, path, sizeof(path));
		k->fd[i] = bpf_obj_get(path);
		if (k->fd[i] < 0) {
			e = -errno;
			fail(err, errsz, e,
			     e == -ENOENT ? "no pinned map %s (is the dialer loaded? mukan-dialctl bpf "
					    "attach)"
					  : "cannot open pinned map %s",
			     path);
			break;
		}
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		if (bpf_obj_get_info_by_fd(k->fd[i], &info, &len) < 0 ||
		    strcmp(info.name, kern_maps[i].kname) != 0) {
			if (i == KM_META && strcmp(info.name, KERN_META_V1_KNAME) == 0)
				snprintf(err, errsz,
					 "%s is the older layout meta_v1: `mukan-dialctl bpf attach` "
					 "or starting mukan-dialerd migrates it (keys kept)",
					 path);
			else
				snprintf(err, errsz,
					 "%s is map '%s', not '%s': another layout version", path,
					 info.name, kern_maps[i].kname);
			e = -EPROTO;
		}
		if (i == KM_BOOK)
			k->capacity = info.max_entries;
	}
	if (e == 0)
		e = kern_mmap_book(k, err, errsz);
	if (e == 0)
		e = kern_mmap_meta(k, err, errsz);
	if (e < 0) {
		kern_close(k);
		return e;
	}
	*out = k;
	return 0;
}

void kern_close(struct kern *k)
{
	if (!k)
		return;
	ring_buffer__free(k->rb);
	if (k->slots)
		munmap(k->slots, k->map_len);
	if (k->meta)
		munmap(k->meta, k->meta_len);
	/* Pinned links stay attached when our descriptors close. */
	for (int i = 0; i < KL_COUNT; i++)
		bpf_link__destroy(k->links[i]);
	if (k->so || k->cg) {
		mukan_connect_gate__destroy(k->cg);
		mukan_sockops__destroy(k->so);
	} else {
		for (int i = 0; i < KM_COUNT; i++)
			if (k->fd[i] >= 0)
				close(k->fd[i]);
	}
	free(k);
}

int kern_detach(const char *pin_dir, bool purge, char *err, size_t errsz)
{
	const char *dir = pin_dir ? pin_dir : KERN_PIN_DIR;
	char path[512];
	int e = 0;
	/*
	 * BPF_LINK_DETACH takes the program off its hook at once, whoever else
	 * holds the link (a running daemon); unpinning alone only drops one
	 * reference, and the last one goes later, from deferred work.
	 */
	for (int i = 0; i < KL_COUNT; i++) {
		kern_path(dir, kern_link_pins[i], path, sizeof(path));
		int fd = bpf_obj_get(path);
		if (fd >= 0) {
			int d = bpf_link_detach(fd);
			close(fd);
			if (d < 0 && d != -ENOLINK && e == 0)
				e = fail(err, errsz, d, "cannot detach %s", path);
		}
		if (unlink(path) < 0 && errno != ENOENT && e == 0)
			e = fail(err, errsz, -errno, "cannot remove %s", path);
	}
	if (!purge)
		return e;
	for (int i = 0; i <= KM_COUNT; i++) {
		kern_path(dir, i < KM_COUNT ? kern_maps[i].pin : KERN_META_V1_ASIDE, path,
			  sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT && e == 0)
			e = fail(err, errsz, -errno, "cannot remove %s", path);
	}
	rmdir(dir); /* only when nothing else (e.g. a map moved aside) is left */
	return e;
}

struct mukan_peer *kern_slots(struct kern *k) { return k->slots; }
uint32_t kern_capacity(const struct kern *k) { return k->capacity; }
bool kern_fresh(const struct kern *k) { return k->fresh; }
bool kern_meta_migrated(const struct kern *k) { return k->migrate_v1; }
uint32_t kern_replaced_capacity(const struct kern *k) { return k->replaced_capacity; }
struct mukan_book_meta *kern_meta(struct kern *k) { return k->meta; }

uint32_t kern_used(const struct kern *k)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < k->capacity; i++)
		n += k->slots[i].in_use != 0;
	return n;
}
