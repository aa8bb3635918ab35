/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_status.c - what one `mukan-dialctl status` costs the daemon in the
 * manager: manager_counts (the per-state counts, backoff) on a book of
 * 100,000 records, with a manager that has started (dials in flight, so
 * some records are tracked) and a fifth of the records in backoff.
 *
 * The book: every bucket filled to upstream's size (256 new x 64, 64 old
 * x 64), the rest of the 100,000 on the ban list (which has no size limit),
 * so the figure does not depend on how a book of that size came to be.
 *
 * Output: readable lines and `bench: <name> <value> <unit>`:
 *   status_counts_100k_us              median of 200 calls, microseconds
 *   status_counts_100k_max_us
 *   status_counts_100k_after_expiry_us the first call after 4,096 backoffs ended
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/book.h"
#include "manager/manager.h"
#include "mukan/rules.h"

#define N_RECORDS 100000
#define CAPACITY 131072
#define CALLS 200
#define SEC 1000000000LL
#define T0 (1000 * SEC)

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return a < b ? -1 : a > b;
}

/* Record i: a distinct routable IPv4 address and ID. */
static void record(uint32_t i, struct mukan_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->addr.family = MUKAN_AF_INET;
	p->addr.ip[0] = (uint8_t)(11 + i / (1u << 24));
	p->addr.ip[1] = (uint8_t)(i >> 16);
	p->addr.ip[2] = (uint8_t)(i >> 8);
	p->addr.ip[3] = (uint8_t)i;
	p->addr.port = 26656;
	p->src = p->addr;
	for (int k = 0; k < 4; k++)
		p->id[k] = (uint8_t)(i >> (8 * k));
	p->id[19] = 0x5a;
	p->flags = MUKAN_PEER_SRC_NO_ID;
	p->last_attempt = T0 - 10 * SEC;
	p->last_success = p->ban_until = p->last_dial = p->last_connected = MUKAN_TIME_NEVER;
	p->next_dial = i % 5 == 0 ? T0 + 3600 * SEC : MUKAN_TIME_NEVER; /* a fifth backing off */
}

int main(void)
{
	struct book *b;
	struct book_opts bo = { .strict = false, .capacity = CAPACITY, .seed = 7,
				.keys_from_seed = true };
	if (book_new(&b, &bo) < 0)
		return 1;
	uint32_t n_new = 0, n_old = 0, n_banned = 0;
	char err[256];
	for (uint32_t i = 0; i < N_RECORDS; i++) {
		struct mukan_peer p;
		record(i, &p);
		if (n_new < BOOK_NEW_BUCKETS * BOOK_NEW_BUCKET_SIZE) {
			p.bucket_type = MUKAN_BUCKET_NEW;
			p.buckets[0] = (uint16_t)(n_new++ % BOOK_NEW_BUCKETS);
			p.n_buckets = 1;
		} else if (n_old < BOOK_OLD_BUCKETS * BOOK_OLD_BUCKET_SIZE) {
			p.bucket_type = MUKAN_BUCKET_OLD;
			p.buckets[0] = (uint16_t)(n_old++ % BOOK_OLD_BUCKETS);
			p.n_buckets = 1;
		} else {
			p.flags |= MUKAN_PEER_BANNED;
			p.ban_until = T0 + 86400 * SEC;
			n_banned++;
		}
		if (book_insert_record(b, &p, err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_status: record %u: %s\n", i, err);
			return 1;
		}
	}
	struct manager_config mc;
	manager_config_defaults(&mc, MANAGER_POLICY_MUKAN);
	mc.seed = 3;
	struct manager *m;
	if (manager_new(&m, b, &mc) < 0 || manager_start(m, T0) < 0)
		return 1;
	struct manager_action a;
	unsigned dials = 0;
	while (manager_next_action(m, &a))
		dials += a.kind == MANAGER_DIAL;

	static int64_t took[CALLS];
	struct manager_counts c;
	for (int i = 0; i < CALLS; i++) {
		int64_t t0 = now_ns();
		manager_counts(m, T0 + SEC, &c);
		took[i] = now_ns() - t0;
	}
	/* An hour on: the 4,096 backoffs have ended, and the next call re-counts them. */
	struct manager_counts later;
	int64_t t0 = now_ns();
	manager_counts(m, T0 + 3601 * SEC, &later);
	double after = (double)(now_ns() - t0) / 1000.0;
	qsort(took, CALLS, sizeof(took[0]), cmp_i64);
	double med = (double)took[CALLS / 2] / 1000.0, max = (double)took[CALLS - 1] / 1000.0;
	printf("status counts on %u records (%u new, %u old, %u banned), %u dials in flight:\n",
	       N_RECORDS, n_new, n_old, n_banned, dials);
	printf("  candidate %u, dialing %u, bad %u, backoff %u\n", c.state[MANAGER_CANDIDATE],
	       c.state[MANAGER_DIALING], c.state[MANAGER_BAD], c.backoff);
	printf("  manager_counts: median %.2f us, max %.2f us over %d calls\n", med, max, CALLS);
	printf("  the first call after those backoffs ended: %.2f us (backoff then %u)\n", after,
	       later.backoff);
	printf("bench: status_counts_100k_us %.2f us\n", med);
	printf("bench: status_counts_100k_max_us %.2f us\n", max);
	printf("bench: status_counts_100k_after_expiry_us %.2f us\n", after);
	manager_free(m);
	book_free(b);
	return 0;
}
