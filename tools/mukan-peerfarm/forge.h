/* SPDX-License-Identifier: Apache-2.0 */
/*
 * forge.h - the bytes an oversized_frame peer sends instead of the
 * protocol's, each correct in every respect but its size, so that a
 * dialer's refusal can only be about the size:
 *   frame     a sealed frame, good tag and nonce, whose length field says 65,535
 *             (above 1024): frame_too_large
 *   nodeinfo  a NodeInfo message whose varint length says 1 MiB (the limit is
 *             10,240): msg_too_large, before any body byte
 *   packet    after a proper NodeInfo, an MConnection packet whose length says
 *             100,000 (the limit is 1,034): msg_too_large
 */
#ifndef MUKAN_PEERFARM_FORGE_H
#define MUKAN_PEERFARM_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/delim.h"
#include "wire/secret_conn.h"

#define FORGE_FRAME_LEN 0xffffu	      /* the length field of the forged frame */
#define FORGE_NODEINFO_LEN (1u << 20) /* the length a "nodeinfo" peer announces */
#define FORGE_PACKET_LEN 100000u      /* the length a "packet" peer announces */
#define FORGE_BODY_BYTES 64	      /* of body sent after such a length */
#define FORGE_MSG_MAX (DELIM_MAX_HDR + FORGE_BODY_BYTES)

/*
 * The next sealed frame of c's send direction (c just opened: its counter
 * is the frame after our AuthSigMessage), with an oversized length field.
 */
void forge_frame(const struct secret_conn *c, uint8_t out[SC_FRAME_SEALED]);

/* A delimited message announcing `len` body bytes, and a few of them: its length. */
size_t forge_message(uint32_t len, uint8_t out[FORGE_MSG_MAX]);

#endif /* MUKAN_PEERFARM_FORGE_H */
