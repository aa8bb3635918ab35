/* SPDX-License-Identifier: Apache-2.0 */
/* netns_lo.h - what every test or benchmark in a namespace of its own needs first. */
#ifndef MUKAN_TEST_NETNS_LO_H
#define MUKAN_TEST_NETNS_LO_H

/* Bring `lo` up in the current network namespace (a new one starts with it down). 0 or -errno. */
int netns_lo_up(void);

/* unshare(CLONE_NEWNET) and bring `lo` up: a private network for this process. 0 or -errno. */
int netns_private(void);

#endif
