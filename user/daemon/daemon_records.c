/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon_records.c - the daemon's watch over the shared records: every
 * record the book quarantines is named once in the log, a slice of the slots
 * is checked against the book's copy at each housekeeping tick, and a re-read
 * after another writer's change leaves the kernel's address index true.
 */
#include <stdio.h>

#include "book/book.h"
#include "book/netaddr.h"
#include "daemon.h"
#include "kern/kern.h"

/* Slots checked per housekeeping tick (once a second): 32,768 in 8 s. */
#define VERIFY_PER_TICK 4096

/* One line per record the book quarantined or put right, naming its slot. */
static void on_record(void *ctx, uint32_t slot, enum book_event ev, enum book_problem why,
		      const struct mukan_peer *seen)
{
	const struct daemon *d = ctx;
	char addr[NETADDR_STRLEN] = "";
	if (seen->addr.family == MUKAN_AF_INET || seen->addr.family == MUKAN_AF_INET6) {
		struct netaddr na;
		book_peer_addr(seen, &na);
		netaddr_format(&na, addr);
	}
	if (ev == BOOK_EV_RESTORED) {
		fprintf(stderr,
			"mukan-dialerd: map %s: slot %u: %s%s%s%s; the book's placement was "
			"written back\n",
			d->cfg.pin_dir, slot, book_problem_text(why), addr[0] ? " (" : "", addr,
			addr[0] ? ")" : "");
		return;
	}
	fprintf(stderr,
		"mukan-dialerd: map %s: slot %u quarantined: %s%s%s%s; the book goes on without "
		"it (`mukan-dialctl book repair --live --pin-dir %s [--drop] %u`)\n",
		d->cfg.pin_dir, slot, book_problem_text(why), addr[0] ? " (" : "", addr,
		addr[0] ? ")" : "", d->cfg.pin_dir, slot);
}

void daemon_records_watch(struct daemon *d)
{
	if (d->kern)
		book_set_record_hook(d->book, on_record, d);
}

void daemon_records_resync(struct daemon *d)
{
	char why[256];
	int n = book_resync(d->book, why, sizeof(why));
	if (n < 0) {
		fprintf(stderr, "mukan-dialerd: re-reading the map: %s\n", why);
		return;
	}
	kern_index_sync(d->kern, d->book);
	const struct book_sync_tally *t = book_last_sync(d->book);
	fprintf(stderr,
		"mukan-dialerd: records changed in the map by another process: %d re-read (%u "
		"slots changed, %u quarantined, %u expired from full buckets)\n",
		n, t->changed, t->quarantined, t->expired);
}

void daemon_records_check(struct daemon *d)
{
	if (!d->kern)
		return;
	struct book_verify_tally t; /* each finding is logged by on_record */
	book_verify_some(d->book, VERIFY_PER_TICK, &t);
}
