/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sc_frame.h - SecretConnection's sealed frames, as upstream writes them.
 *
 * A frame carries up to 1024 bytes of data: the plaintext is a 4-byte
 * little-endian data length, the data, then padding to 1028 bytes, sealed
 * with ChaCha20-Poly1305 (IETF, no associated data) into 1044 bytes. The
 * 12-byte nonce is 4 zero bytes then a little-endian 64-bit counter, one
 * counter per direction, starting at 0 and moving by one per frame: a
 * replayed, dropped or reordered frame fails its tag. We write zero
 * padding; upstream leaves whatever its buffer held, so readers ignore it.
 */
#ifndef MUKAN_WIRE_SC_FRAME_H
#define MUKAN_WIRE_SC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wire_error.h"

#define SC_KEY_LEN 32
#define SC_NONCE_LEN 12
#define SC_DATA_MAX 1024		     /* upstream's dataMaxSize */
#define SC_LEN_BYTES 4			     /* the LE32 data length */
#define SC_FRAME_PLAIN (SC_LEN_BYTES + SC_DATA_MAX) /* 1028 */
#define SC_TAG_LEN 16
#define SC_FRAME_SEALED (SC_FRAME_PLAIN + SC_TAG_LEN) /* 1044: every frame on the wire */

/* One direction of a connection: its key and the next frame's counter. */
struct sc_dir {
	uint8_t key[SC_KEY_LEN];
	uint64_t counter;
};

/* The nonce of frame number counter. */
void sc_nonce(uint8_t nonce[SC_NONCE_LEN], uint64_t counter);

/*
 * Seal len (<= SC_DATA_MAX) bytes of data into out and move the counter.
 * data may point into out (at out + SC_LEN_BYTES, for sealing in place).
 * 0, -EMSGSIZE for more than SC_DATA_MAX bytes, -EOVERFLOW once the counter
 * is spent (upstream panics there; 2^64 frames never happen in practice).
 */
int sc_frame_seal(struct sc_dir *d, const uint8_t *data, size_t len,
		  uint8_t out[SC_FRAME_SEALED]);

/*
 * Open one sealed frame: 0 with the data in data[0..*len) and the counter
 * moved; or -EPROTO with *why = WIRE_ERR_BAD_MAC (corrupt, replayed,
 * reordered, another key) or WIRE_ERR_FRAME_TOO_LARGE (a data length above
 * 1024 under a good tag), the counter unmoved. in and data may not overlap.
 */
int sc_frame_open(struct sc_dir *d, const uint8_t in[SC_FRAME_SEALED],
		  uint8_t data[SC_DATA_MAX], size_t *len, enum wire_error *why);

#endif /* MUKAN_WIRE_SC_FRAME_H */
