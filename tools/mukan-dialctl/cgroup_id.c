/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup_id.c - a cgroup v2 ID is the kernfs file handle of its directory,
 * so open_by_handle_at() finds it without walking the hierarchy (root only,
 * like every live verb), and /proc/self/fd gives back its path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup_id.h"
#include "kern/kern.h"

#define FILEID_KERNFS 0xfe /* include/linux/exportfs.h */

int cgroup_open_by_id(uint64_t id)
{
	char mnt[1024];
	int e = kern_cgroup2_mount(mnt, sizeof(mnt));
	if (e < 0)
		return e;
	int mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	union {
		struct file_handle fh;
		char room[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	h.fh.handle_bytes = sizeof(id);
	h.fh.handle_type = FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	int fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = fd < 0 ? -errno : fd;
	close(mfd);
	return e;
}

int cgroup_path_by_id(uint64_t id, char *out, size_t sz)
{
	int fd = cgroup_open_by_id(id);
	if (fd < 0)
		return fd;
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, sz - 1);
	int e = n < 0 ? -errno : 0;
	close(fd);
	if (e == 0)
		out[n] = '\0';
	return e;
}

int cgroup_prog_count(uint64_t id, int attach_type, uint32_t *ids, uint32_t max)
{
	int fd = cgroup_open_by_id(id);
	if (fd < 0)
		return fd;
	uint32_t flags = 0, cnt = max;
	int e = bpf_prog_query(fd, (enum bpf_attach_type)attach_type, 0, &flags, ids, &cnt);
	close(fd);
	return e < 0 ? e : (int)cnt;
}
