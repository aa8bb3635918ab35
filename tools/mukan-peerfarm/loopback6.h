/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loopback6.h - put the farm's IPv6 peer addresses on lo. All of 127/8 is
 * already local on lo, but of IPv6 only ::1 is: without the address, a
 * dial to it fails on the route lookup (ENETUNREACH) and never reaches the
 * listener or the nftables rules.
 */
#ifndef MUKAN_PEERFARM_LOOPBACK6_H
#define MUKAN_PEERFARM_LOOPBACK6_H

#include <stddef.h>

#include "farm.h"

/* Add every IPv6 peer address as /128 on lo (one `ip -batch -`). */
int loopback6_add(const struct farm *f, char *err, size_t errsz);

#endif /* MUKAN_PEERFARM_LOOPBACK6_H */
