/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netns.h - the farm's named network namespace: created with `ip netns add`
 * (so `ip netns list` and nsenter --net=/run/netns/NAME see it), entered by
 * this process with setns() so every socket, `ip` and `nft` run after that
 * is inside it, and removed again with `ip netns del`.
 */
#ifndef MUKAN_PEERFARM_NETNS_H
#define MUKAN_PEERFARM_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#include "farm.h"

struct farm_ns {
	char name[FARM_NS_STRLEN];
	char path[sizeof(FARM_NETNS_DIR) + FARM_NS_STRLEN];
	int home_fd;  /* the namespace we started in, to go back to */
	bool created; /* by us: only then do we delete it */
	bool entered;
};

/* "mukanfarm-NAME" and its /run/netns path into ns; creates nothing. */
void netns_init(struct farm_ns *ns, const char *name);
bool netns_exists(const struct farm_ns *ns);

/*
 * Create the namespace, enter it, bring its loopback up. -EEXIST if the
 * name is taken (a running farm, or leftovers of a killed one).
 */
int netns_create_enter(struct farm_ns *ns, char *err, size_t errsz);

/* Enter an existing namespace (--cleanup). */
int netns_enter(struct farm_ns *ns, char *err, size_t errsz);

/* Go back home; then delete the namespace if we created it. 0 or -errno. */
int netns_leave_remove(struct farm_ns *ns, bool remove);

#endif /* MUKAN_PEERFARM_NETNS_H */
