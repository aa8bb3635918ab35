/* SPDX-License-Identifier: Apache-2.0 */
/*
 * farm.h - what mukan-peerfarm builds: the peers, their categories and the
 * options that chose them. Shared by every file of the tool.
 */
#ifndef MUKAN_PEERFARM_FARM_H
#define MUKAN_PEERFARM_FARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/netaddr.h"

#define FARM_TOOL "mukan-peerfarm"
#define FARM_NS_PREFIX "mukanfarm-"
#define FARM_NETNS_DIR "/run/netns"
#define FARM_NFT_TABLE "mukanfarm" /* table inet mukanfarm, inside the namespace */
#define FARM_NAME_MAX 32	   /* of NAME in mukanfarm-NAME */
#define FARM_NS_STRLEN (sizeof(FARM_NS_PREFIX) + FARM_NAME_MAX)
/*
 * Every address comes from one source, so the book puts them in at most 32
 * new buckets (upstream newBucketsPerGroup) of 65: depending on the keys
 * about 1850 to 2000 fit, and plan.c says so when they do not.
 */
#define FARM_MAX_ADDRS 2000

/* How a peer behaves towards a dialer; the order is the output order. */
enum farm_cat {
	CAT_LIVE,	 /* listener that accepts and holds the connection */
	CAT_CLOSED,	 /* nothing listens: RST, ECONNREFUSED */
	CAT_BLACKHOLE,	 /* nft drops every packet: the dial times out */
	CAT_UNREACHABLE, /* nft answers ICMP host-unreachable: EHOSTUNREACH */
	CAT_SLOW,	 /* listener whose first SYNs nft drops for a while */
	CAT_FLAPPING,	 /* listener that is up, then down, then up again */
	CAT_COUNT,
};

const char *farm_cat_name(enum farm_cat c);

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
	uint32_t slow_ms;	/* SYNs to a slow peer are dropped this long */
	uint32_t flap_up_ms, flap_down_ms;
	uint64_t duration_ms;	/* 0: until a signal */
	uint32_t max_conns;	/* accepted connections held at once */
	bool mukan_fields;	/* write the book's "mukan" extension too */
};

struct farm_peer {
	struct netaddr na; /* node ID, IP and port */
	enum farm_cat cat;
	bool seed; /* listed in seeds.txt (live peers only) */
};

struct farm {
	struct farm_opts opts;
	char ns_name[FARM_NS_STRLEN];
	struct netaddr source; /* the book's source of every address: the first seed */
	struct farm_peer *peers;
	uint32_t n_peers;
	uint32_t count[CAT_COUNT];
	uint32_t n_ipv6;
};

static inline bool farm_cat_listens(enum farm_cat c)
{
	return c == CAT_LIVE || c == CAT_SLOW || c == CAT_FLAPPING;
}

#endif /* MUKAN_PEERFARM_FARM_H */
