/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf_report.h - what is attached and pinned, as text and JSON: shared by
 * `bpf attach` (what it did) and `bpf status` (what is there).
 */
#ifndef MUKAN_DIALCTL_BPF_REPORT_H
#define MUKAN_DIALCTL_BPF_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "kern/kern.h"

/* One pinned link, with what the kernel says about its cgroup hook. */
struct link_report {
	const struct kern_link_status *st;
	char prog_name[32];	/* the program's kernel name, "" if gone */
	char cgroup[512];	/* the cgroup's path, "" if unknown */
	bool attached;		/* the program is on the cgroup's hook */
	int programs_on_hook;	/* programs on that hook of that cgroup, -1 unknown */
};

/* The pin file names of the maps, as kern.h lists them. */
#define REPORT_N_MAPS 6
extern const char *const report_map_pins[REPORT_N_MAPS];

void report_link(const struct kern_link_status *st, struct link_report *r);
void report_links_text(FILE *f, const struct kern_status *st);
json_t *report_links_json(const struct kern_status *st);

/* Which of the map pins exist under pin_dir. */
void report_maps_pinned(const char *pin_dir, bool pinned[REPORT_N_MAPS]);

void report_stats_text(FILE *f, const struct mukan_stats *s);
json_t *report_stats_json(const struct mukan_stats *s);

#endif /* MUKAN_DIALCTL_BPF_REPORT_H */
