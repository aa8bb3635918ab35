/* SPDX-License-Identifier: Apache-2.0 */
/* kern_maps.c - reading and writing the shared maps (besides the mmapped book). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kern_internal.h"
#include "mukan/rules.h"

int kern_index_set(struct kern *k, const struct mukan_addr *a, int slot)
{
	int fd = kern_map_fd(k, KM_IDX);
	if (slot >= 0) {
		uint32_t s = (uint32_t)slot;
		return bpf_map_update_elem(fd, a, &s, BPF_ANY);
	}
	int e = bpf_map_delete_elem(fd, a);
	return e == -ENOENT ? 0 : e;
}

void kern_index_hook(void *kern, const struct mukan_addr *a, int slot)
{
	kern_index_set(kern, a, slot);
}

static int count_keys(int fd, size_t key_size)
{
	uint8_t key[64], next[64];
	int n = 0;
	void *prev = NULL;
	if (key_size > sizeof(key))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

int kern_index_count(struct kern *k)
{
	return count_keys(kern_map_fd(k, KM_IDX), sizeof(struct mukan_addr));
}

int kern_meta_read(struct kern *k, struct mukan_book_meta *m)
{
	if (!k->meta)
		return -ENODATA;
	memcpy(m, k->meta, sizeof(*m));
	m->records_gen = kern_records_gen(k);
	return 0;
}

uint64_t kern_records_gen(struct kern *k)
{
	return __atomic_load_n(&k->meta->records_gen, __ATOMIC_ACQUIRE);
}

uint64_t kern_records_bump(struct kern *k)
{
	return __atomic_fetch_add(&k->meta->records_gen, 1, __ATOMIC_ACQ_REL);
}

#define CONFIG_READ_TRIES 16

int kern_config_read(struct kern *k, struct mukan_config *c)
{
	/*
	 * A lookup copies the value while a writer (bpftool, mukan-dialctl) may be
	 * copying a new one in: a read can mix the two. Read until two agree.
	 */
	uint32_t zero = 0;
	int fd = kern_map_fd(k, KM_CONFIG);
	int e = bpf_map_lookup_elem(fd, &zero, c);
	for (int i = 0; e == 0 && i < CONFIG_READ_TRIES; i++) {
		struct mukan_config again;
		if ((e = bpf_map_lookup_elem(fd, &zero, &again)) < 0)
			break;
		if (memcmp(c, &again, sizeof(again)) == 0)
			return 0;
		*c = again;
	}
	return e < 0 ? e : -EAGAIN; /* written without pause: try again later */
}

const char *kern_config_problem(const struct mukan_config *c)
{
	switch (rules_config_check(c)) {
	case MUKAN_CFG_OK:
		return NULL;
	case MUKAN_CFG_BAD_FLAGS:
		return "flags has unknown bits (only 1 = gate)";
	case MUKAN_CFG_BAD_FAIL_LIMIT:
		return "fail_limit must be 1..1000";
	case MUKAN_CFG_BAD_DIAL_TIMEOUT:
		return "dial_timeout_ms must be 0..60000";
	case MUKAN_CFG_BAD_BASE:
		return "backoff_base_ns must be 1 ms .. 7 days";
	case MUKAN_CFG_BAD_CAP:
		return "backoff_cap_ns must be at least backoff_base_ns and at most 7 days";
	case MUKAN_CFG_BAD_JITTER:
		return "backoff_jitter_ns must be at most backoff_cap_ns";
	case MUKAN_CFG_BAD_BAN:
		return "ban_ns must be 1 s .. 30 days";
	}
	return "unknown problem";
}

int kern_config_write(struct kern *k, const struct mukan_config *c, char *err, size_t errsz)
{
	const char *why = kern_config_problem(c);
	if (why) {
		snprintf(err, errsz, "config refused: %s", why);
		return -EINVAL;
	}
	struct mukan_config cur, next = *c;
	if (kern_config_read(k, &cur) == 0)
		next.generation = cur.generation + 1;
	uint32_t zero = 0;
	int e = bpf_map_update_elem(kern_map_fd(k, KM_CONFIG), &zero, &next, BPF_ANY);
	if (e < 0)
		snprintf(err, errsz, "cannot write the config map: %s", strerror(-e));
	return e;
}

int kern_stats_read(struct kern *k, struct mukan_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	struct mukan_stats *per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	uint32_t zero = 0;
	int e = bpf_map_lookup_elem(kern_map_fd(k, KM_STATS), &zero, per);
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; e == 0 && c < ncpu; c++) {
		const uint64_t *src = (const uint64_t *)&per[c];
		uint64_t *dst = (uint64_t *)sum;
		for (size_t f = 0; f < sizeof(*sum) / sizeof(uint64_t); f++)
			dst[f] += src[f];
	}
	free(per);
	return e;
}

static int on_ring_sample(void *ctx, void *data, size_t size)
{
	struct kern *k = ctx;
	if (size < sizeof(struct mukan_event))
		return 0;
	return k->ev_cb(k->ev_ctx, data);
}

int kern_events_poll(struct kern *k, kern_event_fn cb, void *ctx, int timeout_ms)
{
	k->ev_cb = cb;
	k->ev_ctx = ctx;
	if (!k->rb) {
		k->rb = ring_buffer__new(kern_map_fd(k, KM_EVENTS), on_ring_sample, k, NULL);
		if (!k->rb)
			return -errno;
	}
	/* Producers never wake us (BPF_RB_NO_WAKEUP): drain now, then sleep. */
	int n = ring_buffer__consume(k->rb);
	if (n != 0 || timeout_ms == 0)
		return n;
	usleep((useconds_t)timeout_ms * 1000);
	return ring_buffer__consume(k->rb);
}

int kern_status(const char *pin_dir, struct kern_status *st, char *err, size_t errsz)
{
	const char *dir = pin_dir ? pin_dir : KERN_PIN_DIR;
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < KL_COUNT; i++) {
		char path[512];
		kern_path(dir, kern_link_pins[i], path, sizeof(path));
		st->links[i].name = kern_link_names[i];
		int fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		struct bpf_link_info info = { 0 };
		uint32_t len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			st->links[i].pinned = true;
			st->links[i].prog_id = info.prog_id;
			st->links[i].cgroup_id = info.cgroup.cgroup_id;
		}
		close(fd);
	}
	struct kern *k;
	int e = kern_open_pinned(&k, dir, err, errsz);
	if (e == -ENOENT)
		return 0; /* nothing pinned: a valid state to report */
	if (e == -EPROTO) {
		st->maps_pinned = true; /* of another layout: pinned, not readable here */
		return 0;
	}
	if (e < 0)
		return e;
	st->maps_pinned = true;
	st->meta_ok = kern_meta_read(k, &st->meta) == 0;
	st->book_capacity = k->capacity;
	for (uint32_t i = 0; i < k->capacity; i++)
		st->book_used += k->slots[i].in_use != 0;
	int n = kern_index_count(k);
	st->index_entries = n > 0 ? (uint32_t)n : 0;
	kern_close(k);
	return 0;
}
