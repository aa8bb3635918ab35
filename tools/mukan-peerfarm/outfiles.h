/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outfiles.h - the --out directory and the small files in it. Every file is
 * written whole or not at all (temp file, fsync, rename), so a reader that
 * waits for one never sees half of it.
 */
#ifndef MUKAN_PEERFARM_OUTFILES_H
#define MUKAN_PEERFARM_OUTFILES_H

#include <stddef.h>

#include "farm.h"

#define OUT_BOOK "addrbook.json"
#define OUT_SEEDS "seeds.txt"
#define OUT_NFT "nftables.conf"
#define OUT_MANIFEST "manifest.json"

/* Create DIR if missing; its absolute path into abs (PATH_MAX bytes). 0 or -errno with err. */
int outdir_prepare(const char *dir, char *abs, char *err, size_t errsz);

/*
 * Remove a manifest an earlier farm left in DIR, so that waiting for the
 * manifest means waiting for this farm. Called once the namespace is ours:
 * a farm that fails on a taken name leaves the running one's manifest be.
 */
int out_forget_manifest(const char *dir, char *err, size_t errsz);

/* DIR/NAME := text, atomically. 0 or -errno with err. */
int out_write(const char *dir, const char *name, const char *text, size_t len, char *err,
	      size_t errsz);

/* seeds.txt: the seed peers as CometBFT's `seeds` setting, id@ip:port,... */
int out_seeds(const struct farm *f, const char *dir, char *err, size_t errsz);

#endif /* MUKAN_PEERFARM_OUTFILES_H */
