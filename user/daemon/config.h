/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - mukan-dialerd's settings: defaults (upstream's where upstream
 * has one), its own key = value file (libinih), the [p2p] keys of a
 * CometBFT config.toml, and command-line overrides on top.
 *
 * Every key, its default and its range is listed in docs/config.md.
 */
#ifndef MUKAN_DAEMON_CONFIG_H
#define MUKAN_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_LIST_MAX 8192 /* comma-separated peer lists */

enum dial_policy { POLICY_MUKAN = 0, POLICY_COMETBFT = 1 };

/*
 * Settings given on the command line, as key/value pairs (the strings stay
 * the caller's): applied after every file, at start and again on SIGHUP, so
 * a flag always wins over the settings file.
 */
#define CONFIG_FLAGS_MAX 32
struct config_flags {
	const char *key[CONFIG_FLAGS_MAX], *value[CONFIG_FLAGS_MAX];
	int n;
};

struct dialer_config {
	char home[CONFIG_PATH_MAX];
	char config_file[CONFIG_PATH_MAX]; /* the settings file SIGHUP re-reads */
	char book[CONFIG_PATH_MAX];	/* addrbook.json; default <home>/addrbook.json */
	char control[CONFIG_PATH_MAX];	/* control socket */
	char handoff[CONFIG_PATH_MAX];	/* handoff socket; empty = keep peers ourselves */
	char cgroup[CONFIG_PATH_MAX];	/* empty = <cgroup2>/mukan-dialer */
	char pin_dir[CONFIG_PATH_MAX];
	char seeds[CONFIG_LIST_MAX];
	char persistent_peers[CONFIG_LIST_MAX];
	char unconditional_peer_ids[CONFIG_LIST_MAX];
	char private_peer_ids[CONFIG_LIST_MAX];
	unsigned max_outbound;		 /* max_num_outbound_peers, 10 */
	unsigned max_inflight;		 /* dials in flight, 256 */
	unsigned overdial;		 /* mukan: dials per free slot, 16; 1 = upstream's exact rule */
	unsigned book_capacity;		 /* book slots, 32768: the file's record limit, a new map's size */
	int64_t dial_timeout_ns;	 /* 1 s (upstream's hard-coded TCP dial timeout) */
	int64_t handshake_timeout_ns;	 /* 3 s */
	int64_t ensure_period_ns;	 /* 30 s */
	int64_t save_interval_ns;	 /* 2 min */
	int64_t persistent_max_dial_period_ns; /* 0 = no cap */
	bool strict;			 /* addr_book_strict, true */
	bool allow_duplicate_ip;	 /* false */
	bool bpf;			 /* track outcomes in the kernel, true */
	bool reimport;			 /* --reimport (flag only): the map's records make way for the file's */
	enum dial_policy policy;
	struct config_flags flags; /* what the command line set */
};

void config_defaults(struct dialer_config *c);

/*
 * Apply one "key = value" (section "dialer" or "peers" of our file, or the
 * same names given on the command line). 0, or -EINVAL with the reason.
 */
int config_set(struct dialer_config *c, const char *key, const char *value, char *why,
	       size_t whysz);

/* Our own file. Errors: "FILE:LINE: key: reason". -ENOENT when absent. */
int config_load_file(struct dialer_config *c, const char *path, char *err, size_t errsz);

/* The [p2p] keys of CometBFT's config.toml that concern dialing. */
int config_import_cometbft(struct dialer_config *c, const char *path, char *err, size_t errsz);

/* Apply every flag in order. 0, or -EINVAL with "--key: reason" in err. */
int config_apply_flags(struct dialer_config *c, const struct config_flags *f, char *err,
		       size_t errsz);
/* Was this key (or its CometBFT name) set on the command line? */
bool config_flag_given(const struct config_flags *f, const char *key);

/* Fill paths left empty from home (book, control). */
void config_finish(struct dialer_config *c);

#endif
