/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_node_key.c - libFuzzer target for node_key.json parsing.
 *
 * The input is the file's text. Invariants (a broken one aborts): the
 * result is 0 or -EINVAL (-ENOMEM aside); a refusal has a one-line reason;
 * an accepted key is consistent (the public half is the seed's, the ID is
 * SHA-256 of the public key), and what node_key_format writes for it parses
 * back to the same key.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wire/nodekey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		check(sodium_init() >= 0, "libsodium");
		init = 1;
	}
	struct node_key k;
	char err[256];
	memset(err, 'x', sizeof(err));
	int rc = node_key_parse((const char *)data, size, &k, err, sizeof(err));
	check(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "unexpected error code");
	if (rc != 0) {
		check(memchr(err, '\0', sizeof(err)) != NULL, "reason not terminated");
		check(strchr(err, '\n') == NULL, "reason is not one line");
		return 0;
	}
	struct node_key again;
	node_key_from_seed(&again, k.priv);
	check(memcmp(&again, &k, sizeof(k)) == 0, "accepted key is not its seed's key");
	uint8_t id[MUKAN_ID_LEN];
	node_key_id(k.pub, id);
	check(memcmp(id, k.id, sizeof(id)) == 0, "ID is not SHA-256 of the public key");
	char *text = node_key_format(&k);
	check(text != NULL, "format");
	struct node_key back;
	check(node_key_parse(text, strlen(text), &back, err, sizeof(err)) == 0,
	      "formatted key does not parse back");
	check(memcmp(&back, &k, sizeof(k)) == 0, "round trip changed the key");
	free(text);
	return 0;
}
