/* SPDX-License-Identifier: Apache-2.0 */
/* netns.c - create, enter, leave and delete the farm's network namespace. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spawn.h"

void netns_init(struct farm_ns *ns, const char *name)
{
	memset(ns, 0, sizeof(*ns));
	snprintf(ns->name, sizeof(ns->name), "%s%s", FARM_NS_PREFIX, name);
	snprintf(ns->path, sizeof(ns->path), "%s/%s", FARM_NETNS_DIR, ns->name);
	ns->home_fd = -1;
}

bool netns_exists(const struct farm_ns *ns)
{
	struct stat st;
	return stat(ns->path, &st) == 0;
}

int netns_enter(struct farm_ns *ns, char *err, size_t errsz)
{
	if (ns->home_fd < 0) {
		ns->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (ns->home_fd < 0) {
			snprintf(err, errsz, "/proc/self/ns/net: %s", strerror(errno));
			return -errno;
		}
	}
	int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errsz, "%s: %s", ns->path, strerror(e));
		return -e;
	}
	int rc = setns(fd, CLONE_NEWNET);
	int e = errno;
	close(fd);
	if (rc < 0) {
		snprintf(err, errsz, "setns %s: %s", ns->path, strerror(e));
		return -e;
	}
	ns->entered = true;
	return 0;
}

int netns_create_enter(struct farm_ns *ns, char *err, size_t errsz)
{
	if (netns_exists(ns)) {
		snprintf(err, errsz,
			 "namespace %s exists: a farm of that name is running, or one was killed "
			 "(then: " FARM_TOOL " --cleanup %s)",
			 ns->name, ns->name + strlen(FARM_NS_PREFIX));
		return -EEXIST;
	}
	char *add[] = { "ip", "netns", "add", ns->name, NULL };
	int rc = spawn_wait(add, NULL, 0, false);
	if (rc != 0) {
		/* Another farm may have taken the name meanwhile: not ours to delete. */
		snprintf(err, errsz, "ip netns add %s failed (%s)", ns->name,
			 rc < 0 ? strerror(-rc) : "see its message above");
		return rc < 0 ? rc : -EIO;
	}
	ns->created = true;
	if ((rc = netns_enter(ns, err, errsz)) < 0)
		return rc;
	char *lo_up[] = { "ip", "link", "set", "lo", "up", NULL };
	rc = spawn_wait(lo_up, NULL, 0, false);
	if (rc != 0) {
		snprintf(err, errsz, "ip link set lo up failed in %s", ns->name);
		return -EIO;
	}
	return 0;
}

int netns_leave_remove(struct farm_ns *ns, bool remove)
{
	int rc = 0;
	if (ns->entered && setns(ns->home_fd, CLONE_NEWNET) < 0)
		rc = -errno;
	else
		ns->entered = false;
	if (ns->home_fd >= 0)
		close(ns->home_fd);
	ns->home_fd = -1;
	if (remove) {
		char *del[] = { "ip", "netns", "del", ns->name, NULL };
		if (spawn_wait(del, NULL, 0, false) != 0 && rc == 0)
			rc = -EIO;
		if (netns_exists(ns) && rc == 0)
			rc = -EBUSY;
		if (rc == 0)
			ns->created = false;
	}
	return rc;
}
