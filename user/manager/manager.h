/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager.h - the ensure-peers policy (upstream's PEX reactor `ensurePeers`,
 * the switch's persistent-peer redial, spec/peer_manager.md) as a pure state
 * machine over the address book.
 *
 * No I/O, no clock, no threads: the daemon feeds events in, each with `now`
 * in book time (CLOCK_BOOTTIME ns), and drains the actions the manager
 * queued (dial, cancel, ask for addresses). manager_next_wakeup says when
 * the manager wants the next manager_tick, so one ring can arm one timer.
 * Every random choice comes from a seeded generator, so a run replays.
 *
 * Peers are named by node ID. Each tracked peer is in one of the states of
 * the spec's life cycle; outbound "slots" are held by normal and seed dials
 * and connections, never by persistent or unconditional peers (they ignore
 * max_outbound, as upstream's limit excludes them).
 *
 * Two policies:
 *  - MANAGER_POLICY_MUKAN: a slot freed by a failed dial or a lost peer is
 *    refilled at once; candidates in backoff or banned are skipped at pick
 *    time; outbound peers prefer distinct groups; addresses from a seed are
 *    dialed first; persistent peers are redialed forever.
 *  - MANAGER_POLICY_COMETBFT: upstream's schedule exactly, the baseline for
 *    the benchmarks: ensure-peers rounds every period only (plus the wake-up
 *    of PR 3360 when a seed answers), upstream's in-memory dial history
 *    (2^attempts s + U[0,1) s, checked only when picked again; a 24 h ban
 *    after 16 attempts), persistent peers given up after the schedule.
 *
 * Functions return 0 (or a count) on success and -errno on failure.
 */
#ifndef MUKAN_MANAGER_H
#define MUKAN_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/book.h"
#include "book/netaddr.h"
#include "mukan/abi.h"

enum manager_policy {
	MANAGER_POLICY_MUKAN = 0,
	MANAGER_POLICY_COMETBFT = 1,
};

/* Life cycle of a peer (spec "Life cycle"). */
enum manager_state {
	MANAGER_CANDIDATE = 0,	  /* in the book (or configured), not being dialed */
	MANAGER_DIALING = 1,	  /* a dial is in flight */
	MANAGER_RECONNECTING = 2, /* persistent peer waiting for its next redial */
	MANAGER_CONNECTED = 3,	  /* an outbound connection we made is up */
	MANAGER_BAD = 4,	  /* marked bad: banned (by the book, or by the kernel) */
	MANAGER_N_STATES = 5,
};

/* Why a dial was queued. */
enum manager_reason {
	MANAGER_REASON_NORMAL = 0,     /* picked from the book */
	MANAGER_REASON_PERSISTENT = 1, /* configured persistent peer */
	MANAGER_REASON_SEED = 2,       /* a seed, because nothing else could be dialed */
	MANAGER_REASON_FAST = 3,       /* an address a seed just sent (fast dialing) */
	MANAGER_N_REASONS = 4,
};

/*
 * How a dial ended. 0..6 have the values of the engine's enum dial_outcome
 * (user/engine/engine.h), so the daemon passes those through as they are.
 */
enum manager_outcome {
	MANAGER_OUT_CONNECTED = 0,   /* established (and authenticated) */
	MANAGER_OUT_REFUSED = 1,     /* RST */
	MANAGER_OUT_TIMED_OUT = 2,   /* no answer within the dial timeout */
	MANAGER_OUT_UNREACHABLE = 3, /* ICMP host/net unreachable */
	MANAGER_OUT_LOCAL_ERROR = 4, /* failed before a SYN left (EMFILE, no route);
					not held against the peer with err EPERM (the
					connect gate), EBUSY or EALREADY (the engine
					did not take the dial) */
	MANAGER_OUT_FAILED = 5,	     /* another error from the peer's side (ECONNRESET) */
	MANAGER_OUT_CANCELLED = 6,   /* cancelled by us: not the peer's fault */
	MANAGER_OUT_REJECTED = 7,    /* handshake failed or wrong node ID: a 24 h ban */
	MANAGER_N_OUTCOMES = 8,
};

/* What manager_on_dial_done says about a connection that came up. */
enum manager_verdict {
	MANAGER_KEEP = 0, /* hand it to the node */
	MANAGER_DROP = 1, /* every slot is taken: close it (over-dialing only) */
};

enum manager_action_kind {
	MANAGER_DIAL = 1,	   /* dial `addr` */
	MANAGER_CANCEL = 2,	   /* cancel the dial to `addr` (report it done as usual) */
	MANAGER_REQUEST_ADDRS = 3, /* send a PEX request to the connected peer `addr` */
};

struct manager_action {
	uint8_t kind;	   /* enum manager_action_kind */
	uint8_t reason;	   /* enum manager_reason, for MANAGER_DIAL */
	int32_t slot;	   /* book slot of addr when it is in the book, else -1 */
	struct netaddr addr; /* always with its node ID */
};

/* The persistent-peer redial schedule (upstream switch.reconnectToPeer). */
struct manager_persist_schedule {
	uint32_t quick_tries;	   /* 20 tries ... */
	int64_t quick_interval_ns; /* ... this far apart (5 s) */
	int64_t jitter_ns;	   /* plus U[0, jitter) on every wait (3 s) */
	uint32_t backoff_tries;	   /* then this many (10) ... */
	uint32_t backoff_base;	   /* ... waiting base^i s, i = 0.. (3) */
	int64_t max_period_ns;	   /* no wait longer than this; 0 none
				      (persistent_peers_max_dial_period) */
	bool forever;		   /* after the schedule: keep trying at the
				      last wait (mukan) or give up (upstream) */
	int64_t startup_jitter_ns; /* first dial at start after U[0, this) */
};

struct manager_config {
	enum manager_policy policy;
	uint32_t max_outbound;	  /* max_num_outbound_peers (10) */
	int64_t ensure_period_ns; /* the ensure-peers round (30 s) */
	bool allow_duplicate_ip;  /* allow_duplicate_ip (false) */
	/*
	 * Mukan policy only (cometbft is always exact).
	 * Dials in flight per free slot. 1 is the upstream rule, exact:
	 * connected + dialing <= max_outbound at every moment. Above 1 the
	 * manager races dials (max_dialing caps them), still never keeps more
	 * than max_outbound connections: a surplus connection gets
	 * MANAGER_DROP and the rest of the dials a MANAGER_CANCEL once every
	 * slot is taken.
	 */
	uint32_t overdial;
	uint32_t max_dialing;	    /* cap on slot dials in flight; 0: no cap */
	bool prefer_distinct_groups; /* outbound peers from distinct /16, /32 */
	int64_t refill_retry_ns;    /* mukan: longest wait before retrying empty slots */
	int64_t min_session_ns;	    /* a peer gone sooner counts as a failed dial (backoff); 0 off */
	/* Write every outcome into the records with rules.h (no BPF). With BPF
	 * (false) only what the kernel cannot see is written: local errors and
	 * rejected handshakes. */
	bool record_outcomes;
	struct mukan_config rules;  /* backoff and ban rules for record_outcomes */
	struct manager_persist_schedule persist;
	struct netaddr self;	    /* our address: source of configured peers in
				       the book; has_id false if unknown */
	uint64_t seed;		    /* generator seed */
};

/* Upstream defaults for a policy (REFERENCE.md section 2). */
void manager_config_defaults(struct manager_config *c, enum manager_policy policy);

struct manager;

/* The book stays the caller's; it must outlive the manager. */
int manager_new(struct manager **out, struct book *book, const struct manager_config *c);
void manager_free(struct manager *m);

/*
 * Configuration lists, before manager_start. A persistent peer is put in
 * the book (flagged MUKAN_PEER_PERSISTENT) when the book takes it, and is
 * dialed whether or not it does. IDs are required.
 */
int manager_add_persistent(struct manager *m, const struct netaddr *na, int64_t now);
int manager_add_seed(struct manager *m, const struct netaddr *na);
int manager_add_unconditional(struct manager *m, const uint8_t id[MUKAN_ID_LEN]);

/* An outbound connection that already exists (a restarted daemon). */
int manager_adopt_peer(struct manager *m, const struct netaddr *na, int64_t now);
/* The node's inbound peer count (only "does the node have peers" is read). */
void manager_on_inbound_count(struct manager *m, uint32_t n);

/*
 * Start: persistent peers are dialed, the first round is scheduled (at once,
 * or after U[0, period) when peers exist or dials are in flight, as upstream;
 * no event-driven refill happens before that first round).
 */
int manager_start(struct manager *m, int64_t now);

/* Run whatever is due at `now`. Call it at manager_next_wakeup or earlier. */
int manager_tick(struct manager *m, int64_t now);

/*
 * A dial queued by the manager ended. For MANAGER_OUT_CONNECTED the return
 * is a verdict (MANAGER_KEEP or MANAGER_DROP); otherwise 0. -ENOENT when no
 * dial to this ID is in flight.
 */
int manager_on_dial_done(struct manager *m, const uint8_t id[MUKAN_ID_LEN],
			 enum manager_outcome outcome, int err, int64_t now);

/* A connected peer went away (the node said so). -ENOENT if not connected. */
int manager_on_peer_gone(struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now);

/*
 * A PEX reply from `from` (with its ID): the addresses go to the book with
 * `from` as their source; from a seed (from_seed, or a configured seed) they
 * are dialed at once. Returns how many were new to the book, or -EPROTO for a reply
 * nobody asked for (the sender is banned 24 h, as upstream; the caller should
 * drop the connection).
 */
int manager_on_addrs(struct manager *m, const struct netaddr *from, bool from_seed,
		     const struct netaddr *addrs, size_t n, int64_t now);

/* Live config: new backoff rules, or a new outbound limit (surplus dials are cancelled). */
void manager_set_rules(struct manager *m, const struct mukan_config *rules);
void manager_set_max_outbound(struct manager *m, uint32_t max_outbound, int64_t now);

/* Stop dialing: every dial in flight gets a MANAGER_CANCEL; nothing new starts. */
void manager_stop(struct manager *m);

/* The time of the next wanted manager_tick (>= now, or INT64_MAX). */
int64_t manager_next_wakeup(const struct manager *m, int64_t now);

/* Take the oldest queued action; false when there is none. */
bool manager_next_action(struct manager *m, struct manager_action *out);
size_t manager_pending(const struct manager *m);

/* The life-cycle state of an ID, or -ENOENT when neither tracked nor in the book. */
int manager_peer_state(const struct manager *m, const uint8_t id[MUKAN_ID_LEN], int64_t now);

struct manager_counts {
	uint32_t state[MANAGER_N_STATES]; /* every tracked peer and book record */
	uint32_t backoff;		  /* candidates that may not be dialed yet */
	uint32_t dialing_out;		  /* dials holding an outbound slot */
	uint32_t connected_out;		  /* connections holding an outbound slot */
	uint32_t max_outbound;
	uint32_t persistent_connected;
};
/*
 * Kept as things change (manager_tally.c): O(1), plus re-classing the
 * records whose backoff or ban ended since the last call.
 */
void manager_counts(struct manager *m, int64_t now, struct manager_counts *out);
/* A record the kernel changed for a connect the manager did not make (the event ring). */
void manager_note_record(struct manager *m, uint32_t slot, int64_t now);
/* Every record changed at once (a resync of the slots): count them all again, O(capacity). */
void manager_recount(struct manager *m, int64_t now);

/* Slot counts only, O(1). */
uint32_t manager_dialing_out(const struct manager *m);
uint32_t manager_connected_out(const struct manager *m);

struct manager_stats {
	uint64_t dials[MANAGER_N_REASONS];
	uint64_t outcomes[MANAGER_N_OUTCOMES];
	uint64_t dropped;     /* surplus connections closed */
	uint64_t cancels;
	uint64_t requests;    /* PEX requests queued */
	uint64_t rounds;      /* ensure-peers rounds run */
	uint64_t fills;	      /* event-driven refills run */
	uint64_t picks;	      /* book_pick calls */
	uint64_t seed_rounds; /* times the seeds were tried */
	uint64_t too_early;   /* cometbft: picked but still in upstream backoff */
	uint64_t unsolicited; /* PEX replies nobody asked for */
};
const struct manager_stats *manager_stats(const struct manager *m);

const char *manager_state_name(int state);
const char *manager_reason_name(int reason);
const char *manager_outcome_name(int outcome);
const char *manager_policy_name(int policy);
/* "mukan" or "cometbft" -> the policy, or -EINVAL. */
int manager_policy_parse(const char *s);

#endif /* MUKAN_MANAGER_H */
