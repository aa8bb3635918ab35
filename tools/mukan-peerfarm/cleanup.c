/* SPDX-License-Identifier: Apache-2.0 */
/* cleanup.c - remove a killed farm's namespace and nftables table. */
#include "cleanup.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "firewall.h"
#include "netns.h"

/* A process whose network namespace is the farm's: the pid, or 0. */
static long ns_user(const struct farm_ns *ns)
{
	struct stat want;
	if (stat(ns->path, &want) < 0)
		return 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	long found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d)) != NULL) { /* ends: /proc lists finitely many */
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[sizeof(e->d_name) + 16];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		if (stat(path, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			found = strtol(e->d_name, NULL, 10);
	}
	closedir(d);
	return found;
}

int cleanup_run(const char *name)
{
	struct farm_ns ns;
	char err[512];
	netns_init(&ns, name);
	if (!netns_exists(&ns)) {
		printf(FARM_TOOL ": nothing to clean up: no %s\n", ns.path);
		return 0;
	}
	long pid = ns_user(&ns);
	if (pid) {
		fprintf(stderr,
			FARM_TOOL ": %s is in use by process %ld (a running farm stops and cleans "
			"up on SIGTERM); left as it is\n", ns.name, pid);
		return 1;
	}
	if (netns_enter(&ns, err, sizeof(err)) < 0) {
		fprintf(stderr, FARM_TOOL ": %s\n", err);
		netns_leave_remove(&ns, false);
		return 1;
	}
	bool had_table = firewall_present();
	int fw = firewall_remove();
	int rm = netns_leave_remove(&ns, true);
	if (fw < 0 || rm < 0) {
		fprintf(stderr, FARM_TOOL ": could not remove %s%s\n", ns.name,
			fw < 0 ? " (its nftables table would not go)" : "");
		return 1;
	}
	printf(FARM_TOOL ": removed namespace %s%s\n", ns.name,
	       had_table ? " and its nftables table inet " FARM_NFT_TABLE : "");
	return 0;
}
