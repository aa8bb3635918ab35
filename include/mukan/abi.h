/* SPDX-License-Identifier: Apache-2.0 */
/*
 * abi.h - every type shared by the BPF programs (bpf/) and userspace (user/).
 *
 * Fixed-width types only, no pointers: the peer records below live in a flat
 * array that is either ordinary memory or an mmapped BPF ARRAY map, and the
 * kernel and userspace must agree on every byte. A layout change of a map's
 * value gives that map a new versioned name (book_v1, meta_v2), so an old
 * pinned map is never misread; a change of struct mukan_peer also bumps
 * MUKAN_ABI_VERSION (the book cache carries it).
 */
#ifndef MUKAN_ABI_H
#define MUKAN_ABI_H

#ifdef __bpf__
/* vmlinux.h provides __u8 .. __s64 */
#else
#include <linux/types.h>
#endif

#define MUKAN_ABI_VERSION 1

#define MUKAN_ID_LEN 20 /* node ID: first 20 bytes of SHA-256(pubkey) */

/* Address families, the kernel's values so BPF can compare directly. */
#define MUKAN_AF_INET 2
#define MUKAN_AF_INET6 10

/*
 * A transport address. IPv4 uses ip[0..3] (network byte order) and leaves
 * the rest zero; IPv4-mapped IPv6 (::ffff:a.b.c.d) is stored as IPv4, as Go
 * treats it. The port is in host byte order. 20 bytes, no holes, so it can be
 * a BPF hash key as is.
 */
struct mukan_addr {
	__u8 family;
	__u8 pad;
	__u16 port;
	__u8 ip[16];
};

/* Book time: signed nanoseconds on the caller's clock; "never" is this. */
#define MUKAN_TIME_NEVER ((__s64)(-0x7fffffffffffffffLL - 1))

/* Where a record sits (upstream bucketTypeNew/Old, plus "in no bucket"). */
enum mukan_bucket_type {
	MUKAN_BUCKET_NONE = 0,
	MUKAN_BUCKET_NEW = 1,
	MUKAN_BUCKET_OLD = 2,
};

/* mukan_peer.flags */
enum mukan_peer_flag {
	MUKAN_PEER_BANNED = 1 << 0,	   /* in the ban list, in no bucket */
	MUKAN_PEER_PERSISTENT = 1 << 1,	   /* configured persistent peer */
	MUKAN_PEER_UNCONDITIONAL = 1 << 2, /* ignores peer limits */
	MUKAN_PEER_SEED = 1 << 3,	   /* configured seed */
	MUKAN_PEER_SRC_NO_ID = 1 << 4,	   /* source had no node ID */
};

#define MUKAN_MAX_NEW_BUCKETS_PER_ADDR 4

/*
 * One slot of the address book. 256 bytes; `in_use` 0 marks a free slot.
 * Fields up to `ban_until` follow upstream's knownAddress; the dial fields
 * after it are what the kernel programs maintain.
 */
struct mukan_peer {
	struct mukan_addr addr;	  /* 0 */
	struct mukan_addr src;	  /* 20: who told us about it */
	__u8 id[MUKAN_ID_LEN];	  /* 40 */
	__u8 src_id[MUKAN_ID_LEN]; /* 60 */
	__u8 in_use;		  /* 80 */
	__u8 bucket_type;	  /* enum mukan_bucket_type */
	__u8 n_buckets;		  /* entries used in buckets[] */
	__u8 flags;		  /* enum mukan_peer_flag */
	__u16 buckets[MUKAN_MAX_NEW_BUCKETS_PER_ADDR]; /* 84: new idxs, or the old idx */
	__s32 attempts;		  /* 92: upstream Attempts (reset by mark good) */
	__u32 failures;		  /* 96: consecutive failed dials */
	__s32 last_error;	  /* 100: errno of the last failed dial, 0 none */
	__u32 dials;		  /* 104: dials seen, all outcomes */
	__u32 pad0;		  /* 108 */
	__s64 last_attempt;	  /* 112 */
	__s64 last_success;	  /* 120 */
	__s64 ban_until;	  /* 128: upstream LastBanTime */
	__s64 next_dial;	  /* 136: no dial before this (backoff) */
	__s64 last_dial;	  /* 144: last connect seen */
	__s64 last_connected;	  /* 152: last dial that reached ESTABLISHED */
	__u8 reserved[96];	  /* 160: room to grow without a new layout */
};

/*
 * The kernel side's tunables: one slot of the `config` map. Operators change
 * it live (mukan-dialctl config set, or bpftool map update); the kernel
 * clamps every field to a safe range and userspace reports invalid values.
 */
struct mukan_config {
	__u32 flags;		 /* enum mukan_config_flag */
	__u32 fail_limit;	 /* consecutive failures that ban an address */
	__u32 dial_timeout_ms;	 /* kernel SYN deadline (TCP_USER_TIMEOUT); 0 = kernel default */
	__u32 generation;	 /* bumped by every writer, so readers see a change */
	__u64 backoff_base_ns;	 /* wait after the first failure */
	__u64 backoff_cap_ns;	 /* longest wait */
	__u64 backoff_jitter_ns; /* uniform random extra, 0..jitter */
	__u64 ban_ns;		 /* ban length once fail_limit is reached */
};

enum mukan_config_flag {
	MUKAN_CFG_GATE = 1 << 0, /* refuse connects to addresses in backoff or banned */
};

/*
 * What userspace needs besides the records to rebuild the book from the
 * pinned maps, and which book the records are: one slot of the `meta` map
 * (kernel name meta_v2; a pinned meta_v1 is migrated, keys kept). The map is
 * mmapped: the counters are changed with atomic operations, every other
 * field only by the process holding the pin-dir lock (docs/live.md).
 */
enum mukan_meta_state {
	MUKAN_META_EMPTY = 0,	  /* no book imported yet (records may still be added live) */
	MUKAN_META_IMPORTING = 1, /* an import began and did not finish: redo it */
	MUKAN_META_READY = 2,	  /* the records are the book named below */
};

/* How an import fills the map, so one that was cut short is redone the same way. */
enum mukan_import_mode {
	MUKAN_IMPORT_NONE = 0,
	MUKAN_IMPORT_REPLACE = 1,	 /* map cleared, the file's keys and records */
	MUKAN_IMPORT_UNION_MAP_NEWER = 2, /* union; the map's record wins where both hold one */
	MUKAN_IMPORT_UNION_FILE_NEWER = 3, /* union; the file's record wins */
};

#define MUKAN_META_PATH_LEN 256
#define MUKAN_META_CONTROL_LEN 108 /* sizeof(sockaddr_un.sun_path) */

struct mukan_book_meta {
	__u8 key[64];	     /* 0: the addrbook.json `key`: the book's identity */
	__u32 key_len;	     /* 64 */
	__u32 strict;	     /* 68: addr_book_strict the book was built with */
	__u8 hash_key[32];   /* 72: HighwayHash key of the placement */
	__u32 capacity;	     /* 104: slots in `book` */
	__u32 state;	     /* 108: enum mukan_meta_state */
	__u32 import_mode;   /* 112: enum mukan_import_mode of the import under way */
	__s32 owner_pid;     /* 116: the daemon holding the pin-dir lock, 0 none */
	__u64 book_gen;	     /* 120: generation of the book file the map holds all of */
	__u64 records_gen;   /* 128: bumped (atomic add) by every writer of records */
	__s64 synced_unix_ns; /* 136: wall time the map and the file last agreed */
	__u8 book_path[MUKAN_META_PATH_LEN];  /* 144: realpath of that file, "" unknown */
	__u8 control[MUKAN_META_CONTROL_LEN]; /* 400: the owner's control socket */
	__u8 reserved[516];		      /* 508: room to grow without a new layout */
};

/* meta_v1, as pinned by earlier versions: read once to migrate it. */
struct mukan_book_meta_v1 {
	__u8 key[64];
	__u32 key_len;
	__u32 strict;
	__u8 hash_key[32];
	__u32 generation;
	__u32 capacity;
};

/* One outcome the kernel saw, for the daemon and `mukan-dialctl events`. */
enum mukan_event_kind {
	MUKAN_EV_CONNECT = 1,	  /* SYN about to leave for a book address */
	MUKAN_EV_ESTABLISHED = 2, /* the dial succeeded */
	MUKAN_EV_FAILED = 3,	  /* refused, timed out, unreachable, other: see err */
	MUKAN_EV_ABANDONED = 4,	  /* closed before an answer, without an error */
	MUKAN_EV_BANNED = 5,	  /* the failure limit was reached */
	MUKAN_EV_GATED = 6,	  /* connect refused by the gate (backoff or ban) */
};

struct mukan_event {
	__u64 time_ns; /* CLOCK_BOOTTIME */
	__u32 slot;
	__s32 err; /* errno for FAILED */
	__u8 kind; /* enum mukan_event_kind */
	__u8 pad[3];
	__u32 failures;
	struct mukan_addr addr;
	__u32 pad2;
};

/* Per-CPU counters: the `stats` map (summed over CPUs by readers). */
struct mukan_stats {
	__u64 connects;	   /* active opens to book addresses */
	__u64 established;
	__u64 refused;
	__u64 timed_out;
	__u64 unreachable; /* EHOSTUNREACH, ENETUNREACH */
	__u64 other_error;
	__u64 abandoned;
	__u64 bans;
	__u64 gated;
	__u64 not_in_book; /* active opens to addresses the book does not know */
};

#ifndef __bpf__
_Static_assert(sizeof(struct mukan_config) == 48, "mukan_config layout");
_Static_assert(sizeof(struct mukan_book_meta) == 1024, "mukan_book_meta layout");
_Static_assert(sizeof(struct mukan_book_meta_v1) == 112, "mukan_book_meta_v1 layout");
_Static_assert(sizeof(struct mukan_event) == 48, "mukan_event layout");
_Static_assert(sizeof(struct mukan_addr) == 20, "mukan_addr layout");
_Static_assert(sizeof(struct mukan_peer) == 256, "mukan_peer layout");
#endif

#endif /* MUKAN_ABI_H */
