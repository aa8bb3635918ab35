/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire_replay_internal.h - what the `wire check` replay's sources share:
 * the two nodes, the first difference, reading the transcript's JSON, and
 * comparing a node's writes with upstream's.
 */
#ifndef MUKAN_DIALCTL_WIRE_REPLAY_INTERNAL_H
#define MUKAN_DIALCTL_WIRE_REPLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "wire/mconn.h"
#include "wire/nodeinfo.h"
#include "wire/nodekey.h"
#include "wire/pex.h"
#include "wire/secret_conn.h"

struct node {
	const char *name; /* "A" */
	json_t *j;	  /* nodes.<name> */
	struct node_key key;
	uint8_t eph_priv[32];
	struct secret_conn sc;
	char dir[16];		 /* "A_to_B": what this node wrote */
	json_t *writes, *frames; /* wire.<dir>.writes, .frames_decrypted */
	size_t next_write, next_frame;
	struct sc_dir shadow; /* our send key and counter, to open what we sealed */
	/* The layers above the secret connection. */
	struct nodeinfo ni;
	struct mconn mc;
	struct pex_peer pex;
	int64_t now;
	bool sc_live, ni_live, mc_live;
};

struct replay {
	json_t *root;
	FILE *log;
	char *diff;
	size_t diffsz;
	bool failed;
	struct node n[2];
};

/* Record the first difference; always false, so callers can `return differ(...)`. */
bool differ(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on the log (with -v) for an item that matched. */
void replay_log(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* obj.key as a string; NULL and a difference naming where.key when absent. */
const char *jstr(struct replay *r, json_t *obj, const char *key, const char *where);

/* obj.key as an unsigned integer; false and a difference when absent. */
bool juint(struct replay *r, json_t *obj, const char *key, const char *where, uint64_t *out);

/* Hex at obj.key into a malloc'ed buffer (free it); NULL and a difference when unusable. */
uint8_t *jhex(struct replay *r, json_t *obj, const char *key, const char *where, size_t *len);

/* The same for exactly want bytes. */
bool jhex_n(struct replay *r, json_t *obj, const char *key, const char *where, uint8_t *out,
	    size_t want);

/* ours against upstream's bytes: the first differing byte, or the lengths. */
bool same(struct replay *r, const char *what, const uint8_t *ours, size_t ours_len,
	  const uint8_t *up, size_t up_len);

/* ours against the hex at obj.key. */
bool same_hex(struct replay *r, const char *what, const uint8_t *ours, size_t ours_len,
	      json_t *obj, const char *key, const char *where);

/*
 * nd's next write against upstream's: the phase, the bytes, each sealed
 * frame in it (also against msg_frames, a message's own list, when given),
 * then the plaintext they carry against expect (when given). On success the
 * write's upstream bytes are in *up (free them, or hand them to deliver).
 */
bool our_write(struct replay *r, struct node *nd, const char *phase, json_t *msg_frames,
	       const uint8_t *expect, size_t expect_len, const char *expect_name, uint8_t **up,
	       size_t *up_len);

/* Upstream's bytes of from's last write into to's session (frees bytes). */
bool deliver(struct replay *r, struct node *from, struct node *to, uint8_t *bytes, size_t len,
	     const char *phase);

/* The layers (wire_replay_layers.c): set up, NodeInfo both ways, messages, freed. */
bool replay_layers_setup(struct replay *r);
bool replay_node_info(struct replay *r, struct node *nd, struct node *peer);
bool replay_messages(struct replay *r);
bool replay_layers_idle(struct replay *r);
void replay_layers_free(struct replay *r);

#endif /* MUKAN_DIALCTL_WIRE_REPLAY_INTERNAL_H */
