/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pex_out.h - the PEX messages farm peers send: a reply with what the peer
 * knows, and the pex_flood peers' oversized reply (more addresses than
 * upstream's cap, which user/wire/ refuses to encode, rightly).
 */
#ifndef MUKAN_PEERFARM_PEX_OUT_H
#define MUKAN_PEERFARM_PEX_OUT_H

#include <sys/types.h>

#include "farm.h"
#include "wire/pex.h"

#define PEX_OUT_OVER_CAP 300 /* addresses in an over_cap reply: 50 above the cap */

/* Message{pex_addrs} of the addresses peer p knows, into out (PEX_MAX_MSG_SIZE bytes). */
ssize_t pex_out_knows(const struct farm *f, uint32_t p, uint8_t *out, size_t cap);

/*
 * Message{pex_addrs} of PEX_OUT_OVER_CAP farm addresses (the peers after p,
 * round and round: a small farm repeats them). Still under 64,000 bytes,
 * so a dialer refuses it for its count (pex_too_many_addrs). -ENOMEM.
 */
ssize_t pex_out_over_cap(const struct farm *f, uint32_t p, uint8_t *out, size_t cap);

#endif /* MUKAN_PEERFARM_PEX_OUT_H */
