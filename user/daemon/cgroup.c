/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup.c - the cgroup v2 group the kernel programs watch and the daemon
 * joins (so its own dials are recorded).
 *
 * The default, <cgroup2>/mukan-dialer, is created when missing and kept. A
 * --cgroup that does not exist is created, with any missing parents, and on
 * a clean stop the daemon moves itself back to the group it started in and
 * removes every directory it made (a group someone else has joined since
 * is left, with a line saying so). A relative --cgroup is taken below the
 * cgroup v2 mount, wherever the host has it: /sys/fs/cgroup on unified
 * hosts, /sys/fs/cgroup/unified on hybrid ones. A path outside the v2
 * hierarchy (e.g. /sys/fs/cgroup/x on a hybrid host, where that is the v1
 * tmpfs) is refused with the place v2 is mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "daemon.h"
#include "kern/kern.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static bool on_cgroup2(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

/* Where this process is now, in the v2 hierarchy ("0::/path" of /proc/self/cgroup). */
static void current_group(const char *mnt, char *out, size_t sz)
{
	out[0] = '\0';
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return;
	char line[CONFIG_PATH_MAX];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, sz, "%.500s%.500s", mnt, strcmp(line + 3, "/") == 0 ? "" : line + 3);
		break;
	}
	fclose(f);
}

static int write_pid(const char *group, char *err, size_t errsz)
{
	char path[CONFIG_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", group);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int e = 0;
	if (fd < 0) {
		e = -errno;
	} else {
		char pid[24];
		int n = snprintf(pid, sizeof(pid), "%d\n", getpid());
		if (write(fd, pid, (size_t)n) != n)
			e = -errno;
		close(fd);
	}
	if (e < 0 && err)
		snprintf(err, errsz, "%s: %s", path, strerror(-e));
	return e;
}

/* Make every missing directory of path, counting them; the first that exists
 * must be on the cgroup v2 hierarchy. */
static int make_path(struct daemon_cgroup *cg, const char *mnt, char *err, size_t errsz)
{
	char p[CONFIG_PATH_MAX];
	snprintf(p, sizeof(p), "%s", cg->path);
	/* Walk up to the deepest existing ancestor. */
	unsigned missing = 0;
	struct stat st;
	while (stat(p, &st) < 0) {
		char *slash = strrchr(p, '/');
		if (errno != ENOENT || !slash || slash == p) {
			snprintf(err, errsz, "cannot create cgroup %s: %s", cg->path, strerror(errno));
			return -ENOENT;
		}
		*slash = '\0';
		missing++;
	}
	if (!on_cgroup2(p)) {
		snprintf(err, errsz, "cgroup %s: %s is not on the cgroup v2 hierarchy (mounted at %s); "
			 "give a path below it, or a name relative to it", cg->path, p, mnt);
		return -EINVAL;
	}
	/* Then down again, creating. */
	for (unsigned k = 0; k < missing; k++) {
		p[strlen(p)] = '/'; /* the separator cut above */
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			int e = -errno;
			snprintf(err, errsz, "cannot create cgroup %s: %s", p, strerror(-e));
			return e;
		}
		cg->made++;
	}
	return 0;
}

int daemon_cgroup_open(struct daemon_cgroup *cg, const char *asked, char *err, size_t errsz)
{
	char mnt[CONFIG_PATH_MAX];
	memset(cg, 0, sizeof(*cg));
	if (kern_cgroup2_mount(mnt, sizeof(mnt)) < 0) {
		snprintf(err, errsz, "no cgroup v2 hierarchy is mounted (looked in /proc/self/mountinfo)");
		return -ENOENT;
	}
	if (!asked[0])
		return kern_cgroup_default(cg->path, sizeof(cg->path), err, errsz);
	if (asked[0] == '/')
		snprintf(cg->path, sizeof(cg->path), "%s", asked);
	else
		snprintf(cg->path, sizeof(cg->path), "%.500s/%.500s", mnt, asked);
	size_t n = strlen(cg->path);
	while (n > 1 && cg->path[n - 1] == '/')
		cg->path[--n] = '\0';
	current_group(mnt, cg->origin, sizeof(cg->origin));
	return make_path(cg, mnt, err, errsz);
}

int daemon_cgroup_join(struct daemon_cgroup *cg, char *err, size_t errsz)
{
	int e = write_pid(cg->path, err, errsz);
	if (e == 0)
		cg->joined = true;
	return e;
}

void daemon_cgroup_close(struct daemon_cgroup *cg)
{
	if (cg->made == 0)
		return;
	/* A group with a process in it cannot go: leave ours first. */
	if (cg->joined && cg->origin[0])
		write_pid(cg->origin, NULL, 0);
	char p[CONFIG_PATH_MAX];
	snprintf(p, sizeof(p), "%s", cg->path);
	for (unsigned k = 0; k < cg->made; k++) {
		if (rmdir(p) < 0) {
			fprintf(stderr, "mukan-dialerd: cgroup %s (made at start) is left: %s\n", p,
				strerror(errno));
			break;
		}
		char *slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	cg->made = 0;
}
