/* SPDX-License-Identifier: Apache-2.0 */
/* bpf_report.c - links, maps and counters for people and for scripts. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_report.h"
#include "cgroup_id.h"

const char *const report_map_pins[REPORT_N_MAPS] = { "book",	"book_idx", "meta",
						      "config", "stats",    "events" };

/* The cgroup hook of each link, by kern's link name. */
static int attach_type_of(const char *link)
{
	if (strcmp(link, "sockops") == 0)
		return BPF_CGROUP_SOCK_OPS;
	return strcmp(link, "connect4") == 0 ? BPF_CGROUP_INET4_CONNECT : BPF_CGROUP_INET6_CONNECT;
}

static void prog_name(uint32_t id, char out[32])
{
	out[0] = '\0';
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		snprintf(out, 32, "%s", info.name);
	close(fd);
}

void report_link(const struct kern_link_status *st, struct link_report *r)
{
	memset(r, 0, sizeof(*r));
	r->st = st;
	r->programs_on_hook = -1;
	if (!st->pinned)
		return;
	prog_name(st->prog_id, r->prog_name);
	if (cgroup_path_by_id(st->cgroup_id, r->cgroup, sizeof(r->cgroup)) < 0)
		r->cgroup[0] = '\0';
	uint32_t ids[64];
	int n = cgroup_prog_count(st->cgroup_id, attach_type_of(st->name), ids, 64);
	r->programs_on_hook = n;
	for (int i = 0; i < n && i < 64; i++)
		r->attached = r->attached || ids[i] == st->prog_id;
}

void report_links_text(FILE *f, const struct kern_status *st)
{
	for (int i = 0; i < 3; i++) {
		struct link_report r;
		report_link(&st->links[i], &r);
		fprintf(f, "  %-10s", st->links[i].name);
		if (!st->links[i].pinned) {
			fprintf(f, "not attached (no pinned link)\n");
			continue;
		}
		fprintf(f, "prog %u %s, cgroup %llu %s: ", st->links[i].prog_id,
			r.prog_name[0] ? r.prog_name : "?", (unsigned long long)st->links[i].cgroup_id,
			r.cgroup[0] ? r.cgroup : "(cgroup gone)");
		if (r.attached)
			fprintf(f, "attached, %d program%s on this hook\n", r.programs_on_hook,
				r.programs_on_hook == 1 ? "" : "s");
		else
			fprintf(f, "pinned but NOT on the cgroup's hook\n");
	}
}

json_t *report_links_json(const struct kern_status *st)
{
	json_t *arr = json_array();
	for (int i = 0; arr && i < 3; i++) {
		const struct kern_link_status *l = &st->links[i];
		struct link_report r;
		report_link(l, &r);
		json_t *o = json_pack("{s:s, s:b, s:b, s:I, s:s, s:I, s:s, s:i}", "name", l->name,
				      "pinned", l->pinned, "attached", r.attached, "prog_id",
				      (json_int_t)l->prog_id, "prog_name", r.prog_name, "cgroup_id",
				      (json_int_t)l->cgroup_id, "cgroup", r.cgroup,
				      "programs_on_hook", r.programs_on_hook);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

void report_maps_pinned(const char *pin_dir, bool pinned[REPORT_N_MAPS])
{
	for (int i = 0; i < REPORT_N_MAPS; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", pin_dir, report_map_pins[i]);
		pinned[i] = access(path, F_OK) == 0;
	}
}

/* The counters in struct order, with their names. */
static const char *const stat_names[] = { "connects",	 "established", "refused",  "timed_out",
					  "unreachable", "other_error", "abandoned", "bans",
					  "gated",	 "not_in_book" };
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) ==
		       sizeof(struct mukan_stats) / sizeof(__u64),
	       "a name for every counter");

static uint64_t stat_at(const struct mukan_stats *s, size_t i)
{
	uint64_t v;
	memcpy(&v, (const char *)s + i * sizeof(v), sizeof(v));
	return v;
}

void report_stats_text(FILE *f, const struct mukan_stats *s)
{
	for (size_t i = 0; i < sizeof(stat_names) / sizeof(stat_names[0]); i++)
		fprintf(f, "%s%s %llu", i % 5 ? ", " : i ? "\n  " : "  ", stat_names[i],
			(unsigned long long)stat_at(s, i));
	fprintf(f, "\n");
}

json_t *report_stats_json(const struct mukan_stats *s)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < sizeof(stat_names) / sizeof(stat_names[0]); i++)
		json_object_set_new(o, stat_names[i], json_integer((json_int_t)stat_at(s, i)));
	return o;
}
