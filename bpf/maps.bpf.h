/* SPDX-License-Identifier: Apache-2.0 */
/*
 * maps.bpf.h - the maps every mukan program shares. Each program object
 * declares them; the loader makes all objects use the same pinned maps.
 * Variable names carry the layout version (they become the kernel's map
 * names), so a loader never reuses a pinned map of another layout.
 */
#ifndef MUKAN_MAPS_BPF_H
#define MUKAN_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "mukan/abi.h"

#define MUKAN_BOOK_SLOTS 32768 /* BOOK_DEFAULT_CAPACITY; the loader may resize */

/* The address book records, mmapped by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MUKAN_BOOK_SLOTS);
	__type(key, __u32);
	__type(value, struct mukan_peer);
} book_v1 SEC(".maps");

/* Address -> slot, so a program finds the record of the peer a socket dials. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MUKAN_BOOK_SLOTS);
	__type(key, struct mukan_addr);
	__type(value, __u32);
} book_idx_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mukan_config);
} config_v1 SEC(".maps");

/*
 * Which book the records are, its placement keys and generations; mmapped by
 * userspace (atomic counters). No program reads it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mukan_book_meta);
} meta_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mukan_stats);
} stats_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events_v1 SEC(".maps");

#endif
