/* SPDX-License-Identifier: Apache-2.0 */
/* manager_internal.h - the manager's private state, shared by user/manager/ sources only. */
#ifndef MUKAN_MANAGER_INTERNAL_H
#define MUKAN_MANAGER_INTERNAL_H

#include <errno.h>
#include <stdbool.h>

#include "book/rng.h"
#include "keytab.h"
#include "manager.h"

#define MGR_NEVER INT64_MAX
#define MGR_FAST_MAX 256 /* a PEX reply holds at most 250 addresses */

/* mgr_peer.kind */
enum {
	MGR_PERSISTENT = 1 << 0,
	MGR_UNCONDITIONAL = 1 << 1,
	MGR_SEED = 1 << 2,
};

/*
 * A tracked peer: anything dialing or connected, and every configured
 * persistent peer for good. Book candidates are not tracked.
 */
struct mgr_peer {
	struct netaddr na;
	uint8_t group[KEYTAB_KEY_LEN]; /* group key, for counted peers */
	int64_t since;		       /* when it entered its state */
	int64_t next_try;	       /* persistent: next redial, while RECONNECTING */
	int64_t last_request;	       /* last PEX request queued to it */
	uint32_t tries;		       /* persistent: failed redials in this episode */
	uint8_t state;		       /* enum manager_state (CANDIDATE: idle) */
	uint8_t kind;
	uint8_t reason; /* of the dial in flight */
	bool in_use;
	bool counted;	  /* holds an outbound slot while dialing or connected */
	bool cancelling;  /* a MANAGER_CANCEL was queued for its dial */
	bool request_out; /* a PEX request awaits its reply */
	bool in_episode;  /* persistent: redialing after a failure or a loss */
};

/* Upstream's attemptsToDial entry (cometbft policy), one per book slot. */
struct mgr_hist {
	struct mukan_addr a; /* whose history this is (slots get reused) */
	int32_t attempts;
	int64_t last;
};

/* manager_tally.c: what status counts, kept as things change. */
enum mgr_tally_class {
	TC_NONE = 0,	/* free slot, or tracked (counted by its state) */
	TC_CANDIDATE,
	TC_BACKOFF,	/* a candidate that may not be dialed yet */
	TC_BANNED,	/* on the book's ban list */
	TC_BANNED_TIME, /* ban_until ahead, not (yet) on the list */
	TC_N,
};
struct mgr_deadline {
	int64_t at;
	uint32_t slot;
};
struct mgr_tally {
	uint8_t *cls;		   /* per book slot: enum mgr_tally_class */
	uint32_t *pos;		   /* per book slot: its heap index + 1, 0 if none */
	struct mgr_deadline *heap; /* when a class ends by itself, soonest first */
	uint32_t n_heap, cap;
	uint32_t n[TC_N];			/* untracked records by class */
	uint32_t tracked[MANAGER_N_STATES];	/* tracked peers by state */
	int64_t now;				/* the latest time the manager was given */
};

struct mgr_queue {
	struct manager_action *a;
	uint32_t head, n, cap;
};

struct manager {
	struct manager_config cfg;
	struct book *book;
	struct rng rng;

	struct mgr_peer *peers;
	uint32_t cap_peers;
	uint32_t *free_idx; /* free entries of peers[], a stack */
	uint32_t n_free;
	struct keytab by_id;  /* node ID -> index in peers[] */
	struct keytab ips;    /* IP (port 0) -> peers dialing or connected there */
	struct keytab addrs;  /* IP and port -> the same */
	struct keytab groups; /* group key -> counted peers dialing or connected */
	struct keytab uncond; /* unconditional IDs */

	uint32_t *persist; /* indices of persistent peers */
	uint32_t n_persist, cap_persist;

	struct netaddr *seeds;
	uint32_t n_seeds, cap_seeds;
	uint32_t *seed_perm;
	uint32_t seed_pos;
	bool seed_active; /* dialing the seeds one after another */

	uint32_t n_dialing_out, n_connected_out, n_persist_connected;
	uint32_t inbound;

	bool started, stopped, first_round_done;
	int64_t next_round;  /* the periodic round */
	bool round_deferred; /* cometbft: a tick came while the seeds were dialed */
	bool wake_round;     /* cometbft: a seed answered, run a round now (PR 3360) */
	int64_t retry_at;    /* mukan: try the empty slots again */

	uint8_t (*fast)[MUKAN_ID_LEN]; /* IDs a seed just sent, dialed first */
	uint32_t n_fast;

	uint32_t *scratch; /* same-group candidates held back during a fill */
	uint32_t scratch_cap;

	struct mgr_hist *hist; /* cometbft policy only */
	uint32_t hist_cap;

	struct mgr_queue q;
	struct manager_stats st;
	struct mgr_tally tally;
};

/* manager_peers.c: the tracked table and its indices. */
int mgr_peer_new(struct manager *m, const struct netaddr *na, uint8_t kind, int64_t now);
void mgr_peer_release(struct manager *m, uint32_t i);
int mgr_find(const struct manager *m, const uint8_t id[MUKAN_ID_LEN]);
void mgr_set_state(struct manager *m, uint32_t i, int state, int64_t now);
bool mgr_ip_busy(const struct manager *m, const struct mukan_addr *a);
uint32_t mgr_group_count(const struct manager *m, const struct mukan_addr *a);
void mgr_group_key(const struct manager *m, const struct mukan_addr *a, uint8_t key[KEYTAB_KEY_LEN]);
/* A scratch array of at least n entries (reused), or NULL. */
uint32_t *mgr_scratch(struct manager *m, uint32_t n);

/* manager_tally.c */
int mgr_tally_init(struct manager *m);
void mgr_tally_free(struct manager *m);
void mgr_tally_time(struct manager *m, int64_t now);
/* The record of this ID (if the book has one) may have changed class. */
void mgr_tally_id(struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now);
/* A tracked peer moved between states (-1: it was not / is no longer tracked). */
void mgr_tally_state(struct manager *m, int from, int to);

/* manager_queue.c */
int mgr_queue_push(struct manager *m, uint8_t kind, uint8_t reason, const struct netaddr *na);
void mgr_queue_free(struct mgr_queue *q);

/* manager_dial.c: starting and ending dials. */
int mgr_dial(struct manager *m, const struct netaddr *na, uint8_t kind, int reason, int64_t now);
int mgr_dial_existing(struct manager *m, uint32_t i, int reason, int64_t now);
void mgr_cancel(struct manager *m, uint32_t i);
void mgr_cancel_surplus(struct manager *m);
void mgr_request_addrs(struct manager *m, uint32_t i, int64_t now);
uint32_t mgr_free_slots(const struct manager *m);

/* manager_fill.c: choosing what to dial (mukan). */
uint32_t mgr_fill(struct manager *m, int64_t now);
int mgr_candidate_ok(struct manager *m, uint32_t slot, int64_t now, int64_t *soonest);

/* manager_round.c: the periodic round of either policy, seeds, need-more. */
void mgr_round(struct manager *m, int64_t now);
void mgr_seeds_next(struct manager *m, int64_t now);
void mgr_after_seeds(struct manager *m, int64_t now);

/* manager_persist.c */
void mgr_persist_start(struct manager *m, int64_t now);
void mgr_persist_due(struct manager *m, int64_t now);
void mgr_persist_failed(struct manager *m, uint32_t i, int64_t now);
void mgr_persist_lost(struct manager *m, uint32_t i, int64_t now);
int64_t mgr_persist_wait(struct manager *m, uint32_t failed_tries);
int64_t mgr_persist_next(const struct manager *m);

/* A local error that says nothing about the peer: no descriptor, no memory. */
static inline bool mgr_out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* manager_record.c: outcomes into the records and upstream's dial history. */
void mgr_record_dial(struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now);
void mgr_record_outcome(struct manager *m, const struct netaddr *na, int64_t dial_start,
			int outcome, int err,
			int64_t now);
void mgr_sync_ban(struct manager *m, uint32_t slot, int64_t now);
void mgr_record_short_session(struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now);
struct mgr_hist *mgr_hist_of(struct manager *m, uint32_t slot);
void mgr_hist_outcome(struct manager *m, const struct netaddr *na, int outcome, int64_t now);

#endif /* MUKAN_MANAGER_INTERNAL_H */
