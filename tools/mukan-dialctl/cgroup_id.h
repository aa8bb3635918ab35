/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup_id.h - from the cgroup ID a link reports back to the cgroup itself. */
#ifndef MUKAN_DIALCTL_CGROUP_ID_H
#define MUKAN_DIALCTL_CGROUP_ID_H

#include <stddef.h>
#include <stdint.h>

/* An O_RDONLY descriptor of the cgroup v2 directory with this ID, or -errno. */
int cgroup_open_by_id(uint64_t id);

/* Its path (e.g. /sys/fs/cgroup/unified/mukan-dialer), 0 or -errno. */
int cgroup_path_by_id(uint64_t id, char *out, size_t sz);

/* Programs attached to the cgroup of `id` for one attach type (-errno on failure). */
int cgroup_prog_count(uint64_t id, int attach_type, uint32_t *ids, uint32_t max);

#endif /* MUKAN_DIALCTL_CGROUP_ID_H */
