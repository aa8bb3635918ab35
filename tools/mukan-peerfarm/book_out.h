/* SPDX-License-Identifier: Apache-2.0 */
/*
 * book_out.h - the farm as a CometBFT addrbook.json, through the project's
 * own book library: addr_book_strict = false (loopback and fd00::/8 are not
 * routable), every address learned from one source, keys from --seed.
 */
#ifndef MUKAN_PEERFARM_BOOK_OUT_H
#define MUKAN_PEERFARM_BOOK_OUT_H

#include <stddef.h>

#include "book/book.h"
#include "farm.h"

/* The book's options; plan.c needs the same keys to place addresses. */
void book_out_opts(const struct farm_opts *o, struct book_opts *bo);

/*
 * Write DIR/addrbook.json holding every peer; fails (-ENOSPC) rather than
 * write a book that lost some to a full bucket. 0 or -errno with err.
 */
int book_out_write(const struct farm *f, const char *dir, char *err, size_t errsz);

#endif /* MUKAN_PEERFARM_BOOK_OUT_H */
