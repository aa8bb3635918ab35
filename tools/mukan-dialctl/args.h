/* SPDX-License-Identifier: Apache-2.0 */
/*
 * args.h - the positional arguments of the book verbs (FILE, ADDR) and
 * --src, read the same way and refused with the same usage errors by every
 * verb. Each helper is called from a verb's argp parser; a usage error
 * exits with status 2 (argp_error).
 */
#ifndef MUKAN_DIALCTL_ARGS_H
#define MUKAN_DIALCTL_ARGS_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>

#include "book/netaddr.h"

/* ARGP_KEY_ARG of a verb whose one argument is FILE: a second is "too many arguments". */
error_t args_file(struct argp_state *state, const char *arg, const char **file);

/* ARGP_KEY_END of such a verb: "missing FILE". */
error_t args_need_file(struct argp_state *state, const char *file);

/*
 * ARGP_KEY_ARG of a verb taking FILE, then ADDR (`usage` names them: "FILE
 * ADDR", "FILE [ADDR]"): the first argument goes to *file, a third is "too
 * many arguments (want <usage>)". True when arg is ADDR, for the caller to read.
 */
bool args_file_then_addr(struct argp_state *state, const char *arg, const char **file,
			 const char *usage);

/* ARGP_KEY_END of a verb that needs both: "missing FILE and ADDR" or "missing ADDR". */
void args_need_file_addr(struct argp_state *state, const char *file, const char *addr);

/* An address (netaddr_parse with flags), or the usage error "<what>: <reason>". */
void args_netaddr(struct argp_state *state, const char *what, const char *text, unsigned flags,
		  struct netaddr *out);

/*
 * ADDR naming a record by its node ID: 40 hex characters or id@ip:port
 * (dialctl_parse_peer). The ID goes to id, the text as given to *peer.
 */
void args_peer(struct argp_state *state, const char *arg, uint8_t id[MUKAN_ID_LEN],
	       const char **peer);

/* The address to add or place, and the peer it came from (--src). */
struct addr_src {
	const char *addr_text, *src_text; /* as given; NULL when absent */
	struct netaddr addr, src;
};

/* ADDR: id@ip:port, the ID required. */
void args_addr(struct argp_state *state, const char *arg, struct addr_src *as);

/* --src ADDR: id@ip:port, or ip:port for a source without ID. */
error_t args_src(struct argp_state *state, const char *arg, struct addr_src *as);

/* ARGP_KEY_END: without --src the source is ADDR itself, as the node does for configured peers. */
void args_src_default(struct addr_src *as);

#endif /* MUKAN_DIALCTL_ARGS_H */
