/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_book_caps.c - upstream's bucket sizes on every path that puts records
 * into buckets without book_add: a file's records (book_insert_record, also
 * what a live import uses), a re-read of shared slots (book_resync). What is
 * tried: many records that all list one bucket; what must hold: no bucket
 * ever holds more than 65, what does not fit goes as upstream's add would
 * send it, and nothing vanishes uncounted.
 */
#include <errno.h>
#include <stdlib.h>

#include "book_helpers.h"
#include "mukan/rules.h"

#define BUCKET 7

static struct mukan_peer record(uint32_t n, int type, uint16_t bucket, int64_t last_attempt)
{
	struct mukan_peer p = { 0 };
	struct netaddr a = test_v4(n, 1, (int)(n >> 16) & 0xff, (int)(n >> 8) & 0xff, (int)n & 0xff);
	p.addr = a.a;
	memcpy(p.id, a.id, MUKAN_ID_LEN);
	p.src = a.a;
	p.flags = MUKAN_PEER_SRC_NO_ID;
	p.bucket_type = (uint8_t)type;
	p.n_buckets = 1;
	p.buckets[0] = bucket;
	p.last_attempt = last_attempt;
	p.last_success = type == MUKAN_BUCKET_OLD ? last_attempt : MUKAN_TIME_NEVER;
	p.ban_until = p.next_dial = p.last_dial = p.last_connected = MUKAN_TIME_NEVER;
	return p;
}

static uint32_t max_new_bucket(const struct book *b)
{
	uint32_t m = 0;
	for (unsigned i = 0; i < BOOK_NEW_BUCKETS; i++)
		if (book_bucket_len(b, MUKAN_BUCKET_NEW, i) > m)
			m = book_bucket_len(b, MUKAN_BUCKET_NEW, i);
	return m;
}

/* Today's main: a file listing 200 records in one bucket gives a bucket of 200. */
Test(book_caps, a_files_records_never_fill_a_new_bucket_past_65)
{
	struct book *b = test_book(true, 1024, 1);
	book_set_now(b, T0);
	char err[128];
	for (uint32_t i = 0; i < 200; i++) {
		struct mukan_peer p = record(i + 1, MUKAN_BUCKET_NEW, BUCKET, T0 - (int64_t)i * SEC);
		cr_assert_geq(book_insert_record(b, &p, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, BUCKET), BOOK_NEW_BUCKET_SIZE + 1);
	cr_assert_eq(book_size(b), 65);
	cr_assert_eq(book_n_expired(b), 135, "every record that did not fit is counted");
	book_free(b);
}

/* Upstream's expireNew: the first bad entry goes, even when others are older. */
Test(book_caps, a_full_new_bucket_expires_the_first_bad_entry)
{
	struct book *b = test_book(true, 1024, 1);
	book_set_now(b, T0);
	char err[128];
	for (uint32_t i = 0; i < 65; i++) {
		struct mukan_peer p = record(i + 1, MUKAN_BUCKET_NEW, BUCKET, T0 - (int64_t)i * SEC);
		if (i == 10) { /* tried 3 times, never reached, 2 min ago: bad */
			p.attempts = 3;
			p.last_attempt = T0 - 120 * SEC;
		}
		cr_assert_geq(book_insert_record(b, &p, err, sizeof(err)), 0, "%s", err);
	}
	struct mukan_peer extra = record(1000, MUKAN_BUCKET_NEW, BUCKET, T0);
	cr_assert_geq(book_insert_record(b, &extra, err, sizeof(err)), 0, "%s", err);
	uint8_t id11[MUKAN_ID_LEN], id65[MUKAN_ID_LEN];
	test_id(11, id11);
	test_id(65, id65);
	cr_assert_eq(book_find(b, id11), -ENOENT, "the bad one left");
	cr_assert_geq(book_find(b, id65), 0, "the oldest stays while a bad one is there");
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, BUCKET), 65);
	book_free(b);
}

/* An old bucket over 65: its longest-unattempted entry goes back to a new
 * bucket, as marking good does; no record is lost. */
Test(book_caps, a_full_old_bucket_demotes_to_new)
{
	struct book *b = test_book(true, 1024, 1);
	book_set_now(b, T0);
	char err[128];
	for (uint32_t i = 0; i < 70; i++) {
		struct mukan_peer p = record(i + 1, MUKAN_BUCKET_OLD, 3, T0 - (int64_t)i * SEC);
		cr_assert_geq(book_insert_record(b, &p, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_OLD, 3), 65);
	cr_assert_eq(book_n_old(b), 65);
	cr_assert_eq(book_n_new(b), 5);
	cr_assert_eq(book_size(b), 70);
	cr_assert_leq(max_new_bucket(b), 65);
	book_free(b);
}

/* Slots another process filled with 100 records claiming one bucket. */
Test(book_caps, resync_of_shared_slots_caps_buckets_too)
{
	static struct mukan_peer shared[256];
	memset(shared, 0, sizeof(shared));
	for (uint32_t i = 0; i < 100; i++) {
		shared[i] = record(i + 1, MUKAN_BUCKET_NEW, BUCKET, T0 - (int64_t)i * SEC);
		shared[i].in_use = 1;
	}
	struct book *b;
	struct book_opts o = { .strict = true, .capacity = 256, .seed = 1, .slots = shared };
	cr_assert_eq(book_new(&b, &o), 0);
	book_set_now(b, T0);
	char err[128];
	cr_assert_eq(book_reindex(b, err, sizeof(err)), 65, "%s", err);
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, BUCKET), 65);
	cr_assert_eq(book_last_sync(b)->expired, 35);
	unsigned in_use = 0;
	for (unsigned i = 0; i < 256; i++)
		in_use += shared[i].in_use;
	cr_assert_eq(in_use, 65, "records that left the book left their slots");
	cr_assert_eq(book_resync(b, err, sizeof(err)), 65);
	cr_assert_eq(book_bucket_len(b, MUKAN_BUCKET_NEW, BUCKET), 65);
	book_free(b);
}

/* A ban of any length a caller asks for lasts what the rules allow, never overflows. */
Test(book_mark_bad, ban_length_is_clamped)
{
	struct book *b = test_book(true, 64, 1);
	struct netaddr a = test_v4(1, 1, 2, 3, 4), c = test_v4(2, 1, 2, 3, 5);
	struct netaddr s = test_v4(9, 5, 6, 7, 8);
	book_add(b, &a, &s, T0);
	book_add(b, &c, &s, T0);
	cr_assert_eq(book_mark_bad(b, a.id, INT64_MAX, T0), 0);
	cr_assert_eq(test_rec(b, &a)->ban_until, T0 + MUKAN_MAX_BAN_NS);
	cr_assert_eq(book_mark_bad(b, c.id, -5, T0), -EINVAL, "a negative length is refused");
	cr_assert_eq(book_mark_bad(b, c.id, 5, T0), 0);
	cr_assert_eq(test_rec(b, &c)->ban_until, T0 + MUKAN_MIN_BAN_NS, "at least the rules' 1 s");
	book_free(b);
}
