/* SPDX-License-Identifier: Apache-2.0 */
/* json_out.h - a verb's JSON answer on stdout: the --json of show, stats, status, config get. */
#ifndef MUKAN_DIALCTL_JSON_OUT_H
#define MUKAN_DIALCTL_JSON_OUT_H

#include <stddef.h>

#include <jansson.h>

/*
 * Print o as one JSON text (json_dumps with flags) and a newline, then free
 * it. o NULL means it could not be built. DIALCTL_EXIT_OK, or on ENOMEM
 * "mukan-dialctl: out of memory building JSON" and DIALCTL_EXIT_FAIL.
 */
int json_out(json_t *o, size_t flags);

#endif /* MUKAN_DIALCTL_JSON_OUT_H */
