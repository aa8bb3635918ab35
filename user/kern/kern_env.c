/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kern_env.c - what differs between hosts: whether bpffs is mounted (this
 * project's machines boot without it) and where cgroup v2 lives
 * (/sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "kern.h"

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11

int kern_ensure_bpffs(char *err, size_t errsz)
{
	struct statfs st;
	if (statfs(KERN_BPFFS, &st) == 0 && st.f_type == BPF_FS_MAGIC_NUMBER)
		return 0;
	mkdir(KERN_BPFFS, 0700);
	/* As Cilium does: mount it ourselves when the host did not. */
	if (mount("bpf", KERN_BPFFS, "bpf", 0, "mode=0700") < 0) {
		int e = -errno;
		snprintf(err, errsz, "cannot mount bpffs at %s: %s%s", KERN_BPFFS, strerror(-e),
			 e == -EPERM ? " (run as root)" : "");
		return e;
	}
	return 0;
}

int kern_cgroup2_mount(char *path, size_t sz)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char line[4096];
	int found = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		/* "... mount_point options - fstype source super_options" */
		char mnt[1024], fstype[64];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1)
			continue;
		snprintf(path, sz, "%s", mnt);
		found = 0;
		break;
	}
	fclose(f);
	return found;
}

int kern_cgroup_default(char *path, size_t sz, char *err, size_t errsz)
{
	char mnt[1024];
	if (kern_cgroup2_mount(mnt, sizeof(mnt)) < 0) {
		snprintf(err, errsz, "no cgroup v2 hierarchy is mounted (looked in /proc/self/mountinfo)");
		return -ENOENT;
	}
	snprintf(path, sz, "%s/%s", mnt, KERN_CGROUP_NAME);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		int e = -errno;
		snprintf(err, errsz, "cannot create cgroup %s: %s", path, strerror(-e));
		return e;
	}
	return 0;
}

/* On cgroup v2 the directory's inode number is the cgroup ID. */
uint64_t kern_cgroup_id(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int64_t kern_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t kern_wall_offset(void)
{
	struct timespec real, boot;
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return ((int64_t)real.tv_sec - boot.tv_sec) * 1000000000LL + (real.tv_nsec - boot.tv_nsec);
}
