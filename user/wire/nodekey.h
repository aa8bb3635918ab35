/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodekey.h - a node's identity: CometBFT's node_key.json, an ed25519 key
 *
 *   {"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"<base64>"}}
 *
 * where value is the 64-byte private key as Go's ed25519 holds it: the
 * 32-byte seed, then the public key. The node ID is the first 20 bytes of
 * SHA-256 of the public key.
 *
 * Functions return 0 or -errno; on -EINVAL (and other failures) err gets a
 * one-line reason without the file name, for the caller to print.
 */
#ifndef MUKAN_WIRE_NODEKEY_H
#define MUKAN_WIRE_NODEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "mukan/abi.h"

#define NODE_KEY_SEED_LEN 32
#define NODE_KEY_PRIV_LEN 64
#define NODE_KEY_PUB_LEN 32
#define NODE_KEY_TYPE "tendermint/PrivKeyEd25519"
#define NODE_KEY_FILE_MAX 4096 /* a real file is ~150 bytes */

struct node_key {
	uint8_t priv[NODE_KEY_PRIV_LEN]; /* seed || public key */
	uint8_t pub[NODE_KEY_PUB_LEN];
	uint8_t id[MUKAN_ID_LEN];
};

/* The node ID of an ed25519 public key. */
void node_key_id(const uint8_t pub[NODE_KEY_PUB_LEN], uint8_t id[MUKAN_ID_LEN]);

/* The key of a 32-byte seed (RFC 8032), public half and ID included. */
void node_key_from_seed(struct node_key *k, const uint8_t seed[NODE_KEY_SEED_LEN]);

/* A fresh random key (libsodium's CSPRNG). */
void node_key_generate(struct node_key *k);

/*
 * Parse node_key.json text (len bytes, need not be NUL-terminated).
 * -EINVAL with the reason: not JSON, no priv_key object, a type other than
 * tendermint/PrivKeyEd25519, bad base64, not 64 bytes, or a public half
 * that is not the seed's public key.
 */
int node_key_parse(const char *text, size_t len, struct node_key *k, char *err, size_t errsz);

/* Read and parse path (at most NODE_KEY_FILE_MAX bytes); -ENOENT when absent. */
int node_key_load(const char *path, struct node_key *k, char *err, size_t errsz);

/*
 * The file's text for k, upstream's layout (compact JSON, no newline), in
 * a malloc'ed NUL-terminated string; NULL on -ENOMEM.
 */
char *node_key_format(const struct node_key *k);

/*
 * Write k to path, mode 0600, atomically and never over an existing file:
 * a temporary file beside it, fsynced, linked to path, the directory
 * fsynced. -EEXIST when path exists (an identity is never replaced).
 */
int node_key_save_new(const char *path, const struct node_key *k, char *err, size_t errsz);

/* Load path; if it does not exist, generate a key and save it there (*created = 1). */
int node_key_load_or_create(const char *path, struct node_key *k, int *created, char *err,
			    size_t errsz);

/* Wipe the private key from memory. */
void node_key_wipe(struct node_key *k);

#endif /* MUKAN_WIRE_NODEKEY_H */
