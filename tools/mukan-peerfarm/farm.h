/* SPDX-License-Identifier: Apache-2.0 */
/*
 * farm.h - what mukan-peerfarm builds: the peers, their categories, keys
 * and PEX knowledge, and the options that chose them. Shared by every file
 * of the tool.
 */
#ifndef MUKAN_PEERFARM_FARM_H
#define MUKAN_PEERFARM_FARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/netaddr.h"
#include "wire/nodekey.h"

#define FARM_TOOL "mukan-peerfarm"
#define FARM_VERSION "0.2"
#define FARM_NS_PREFIX "mukanfarm-"
#define FARM_NETNS_DIR "/run/netns"
#define FARM_NFT_TABLE "mukanfarm" /* table inet mukanfarm, inside the namespace */
#define FARM_NAME_MAX 32	   /* of NAME in mukanfarm-NAME */
#define FARM_NS_STRLEN (sizeof(FARM_NS_PREFIX) + FARM_NAME_MAX)
#define FARM_NETWORK_MAX 50	   /* upstream MaxChainIDLen */
/*
 * Every address comes from one source, so the book puts them in at most 32
 * new buckets (upstream newBucketsPerGroup) of 65: depending on the keys
 * about 1850 to 2000 fit, and plan.c says so when they do not.
 */
#define FARM_MAX_ADDRS 2000

/* How a peer behaves towards a dialer; the order is the output order. */
enum farm_cat {
	CAT_LIVE,	     /* a CometBFT peer: handshake, NodeInfo, ping/pong, PEX */
	CAT_CLOSED,	     /* nothing listens: RST, ECONNREFUSED */
	CAT_BLACKHOLE,	     /* nft drops every packet: the dial times out */
	CAT_UNREACHABLE,     /* nft answers ICMP host-unreachable: EHOSTUNREACH */
	CAT_SLOW,	     /* a live peer whose first SYNs nft drops for a while */
	CAT_FLAPPING,	     /* a live peer that is up, then down, then up again */
	CAT_WRONG_ID,	     /* authenticates with a key that is not the listed ID's */
	CAT_WRONG_NETWORK,   /* its NodeInfo names another chain */
	CAT_SLOW_HANDSHAKE,  /* accepts, then drips its handshake a byte at a time, or stays silent */
	CAT_PEX_FLOOD,	     /* unsolicited PEX addresses, or a reply over the cap */
	CAT_OVERSIZED_FRAME, /* a frame or a message above its size limit */
	CAT_COUNT,
};

/* What a misbehaving peer does exactly; they take turns within a category. */
enum farm_variant {
	VAR_NONE = 0,
	VAR_DRIP,	 /* slow_handshake: one byte per --drip */
	VAR_SILENT,	 /* slow_handshake: never a byte */
	VAR_UNSOLICITED, /* pex_flood: addresses nobody asked for, twice at once, then every second */
	VAR_OVER_CAP,	 /* pex_flood: answers a request with more than 250 addresses */
	VAR_FRAME,	 /* oversized_frame: a sealed frame whose length field is above 1024 */
	VAR_NODEINFO,	 /* oversized_frame: a NodeInfo length above 10,240 */
	VAR_PACKET,	 /* oversized_frame: an MConnection packet length above 1,034 */
	VAR_COUNT,
};

const char *farm_cat_name(enum farm_cat c);	   /* "wrong_id": manifest, summary */
const char *farm_cat_flag(enum farm_cat c);	   /* "wrong-id": the option */
const char *farm_variant_name(enum farm_variant v); /* "drip", or NULL for VAR_NONE */

/* A category's size as the user wrote it: a count, or a share of --total. */
struct farm_share {
	bool given;
	bool percent;
	uint32_t value;
};

struct farm_opts {
	const char *name;	/* NAME of mukanfarm-NAME */
	const char *out_dir;
	const char *cleanup;	/* --cleanup NAME: only remove leftovers */
	uint64_t seed;
	uint32_t total;		/* base of percentages and of the default mix */
	struct farm_share share[CAT_COUNT];
	uint32_t ipv6_percent;
	uint16_t port;
	uint32_t seeds;		/* live peers listed as seeds */
	bool seed_mode;		/* seeds answer one PEX request and hang up */
	const char *network;	/* chain ID every peer announces */
	const char *other_network; /* what wrong_network peers announce */
	char other_buf[FARM_NETWORK_MAX + 8]; /* the default other_network */
	uint32_t knows;		/* addresses a peer tells */
	uint32_t seed_knows;	/* addresses a seed tells */
	uint32_t slow_ms;	/* SYNs to a slow peer are dropped this long */
	uint32_t flap_up_ms, flap_down_ms;
	uint32_t handshake_timeout_ms; /* SecretConnection + NodeInfo, from accept */
	uint32_t ping_interval_ms, pong_timeout_ms;
	bool pong_given;	/* else it follows a short --ping-interval */
	uint32_t drip_ms;	/* slow_handshake: one byte this often */
	uint64_t duration_ms;	/* 0: until a signal */
	uint32_t max_conns;	/* accepted connections held at once */
	bool mukan_fields;	/* write the book's "mukan" extension too */
};

struct farm_peer {
	struct netaddr na; /* the listed node ID, IP and port (book, seeds, PEX) */
	enum farm_cat cat;
	enum farm_variant variant;
	bool seed;	   /* listed in seeds.txt (live peers only) */
	struct node_key key; /* the key it authenticates with (wrong_id: not na.id's) */
	uint32_t knows_off, n_knows; /* its PEX addresses: farm.knows[off .. off + n) */
};

struct farm {
	struct farm_opts opts;
	char ns_name[FARM_NS_STRLEN];
	struct netaddr source; /* the book's source of every address: the first seed */
	struct farm_peer *peers;
	uint32_t n_peers;
	uint32_t count[CAT_COUNT];
	uint32_t n_ipv6;
	uint32_t *knows; /* indices into peers, every peer's list one after the other */
	uint32_t n_knows;
};

static inline bool farm_cat_listens(enum farm_cat c)
{
	return c != CAT_CLOSED && c != CAT_BLACKHOLE && c != CAT_UNREACHABLE;
}

/* Runs the whole protocol with a compliant dialer, PEX included. */
static inline bool farm_cat_serves_pex(enum farm_cat c)
{
	return c == CAT_LIVE || c == CAT_SLOW || c == CAT_FLAPPING || c == CAT_WRONG_ID ||
	       c == CAT_PEX_FLOOD;
}

#endif /* MUKAN_PEERFARM_FARM_H */
