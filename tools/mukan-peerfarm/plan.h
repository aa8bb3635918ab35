/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan.h - which addresses the farm has and how each behaves: a pure
 * function of the options, so one --seed always gives the same network.
 * The addresses are drawn so that the address book keeps every one.
 */
#ifndef MUKAN_PEERFARM_PLAN_H
#define MUKAN_PEERFARM_PLAN_H

#include "farm.h"

/* Fill f->peers, f->count and f->n_ipv6 from f->opts. 0, or -errno with err. */
int plan_build(struct farm *f, char *err, size_t errsz);
void plan_free(struct farm *f);

#endif /* MUKAN_PEERFARM_PLAN_H */
