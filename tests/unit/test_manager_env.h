/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_manager_env.h - a manager over a real book, a fake clock and a fake
 * engine, shared by the test_manager*.c files.
 *
 * The fake engine keeps what the manager asked for: dials in flight (one per
 * ID, checked), connections, PEX requests and cancels. Tests complete dials
 * in whatever order they like and look at exactly what the manager queued.
 */
#ifndef MUKAN_TEST_MANAGER_ENV_H
#define MUKAN_TEST_MANAGER_ENV_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/book.h"
#include "book/netaddr.h"
#include "manager/manager.h"
#include "mukan/rules.h"

#define SEC MUKAN_NS_PER_SEC
#define MS (SEC / 1000)
#define T0 (100000 * SEC) /* book time at the start of every test */
#define ENV_MAX 4096

struct env {
	struct book *b;
	struct manager *m;
	struct manager_config cfg;
	int64_t now;
	/* Every action drained since env_clear, in order. */
	struct manager_action act[ENV_MAX];
	size_t n_act;
	/* The fake engine. */
	struct netaddr flight[ENV_MAX];
	uint8_t flight_reason[ENV_MAX];
	bool flight_cancelled[ENV_MAX];
	size_t n_flight;
	struct netaddr conn[ENV_MAX];
	size_t n_conn;
};

/* A node ID from a number (distinct for distinct n). */
static inline void env_id(uint32_t n, uint8_t id[MUKAN_ID_LEN])
{
	memset(id, 0, MUKAN_ID_LEN);
	for (int i = 0; i < 4; i++)
		id[i] = (uint8_t)(n >> (8 * (3 - i)));
	id[19] = 0x5a;
}

/* The number an ID was made from. */
static inline uint32_t env_num(const uint8_t id[MUKAN_ID_LEN])
{
	return (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
}

/* ID n at a.b.c.d:26656. */
static inline struct netaddr env_na(uint32_t n, int a, int b, int c, int d)
{
	struct netaddr na;
	memset(&na, 0, sizeof(na));
	na.has_id = true;
	env_id(n, na.id);
	na.a.family = MUKAN_AF_INET;
	na.a.port = 26656;
	na.a.ip[0] = (uint8_t)a;
	na.a.ip[1] = (uint8_t)b;
	na.a.ip[2] = (uint8_t)c;
	na.a.ip[3] = (uint8_t)d;
	return na;
}

/* Address number i in its own /16: 11+i/256 . i%256 . 7 . 9 (public, routable). */
static inline struct netaddr env_distinct(uint32_t i)
{
	return env_na(1000 + i, 11 + (int)(i / 256), (int)(i % 256), 7, 9);
}

/* Address number i inside group 60.70.0.0/16 (or any /16 given by a, b). */
static inline struct netaddr env_in_group(uint32_t i, int a, int b)
{
	return env_na(50000 + (uint32_t)a * 256 * 256 + (uint32_t)b * 256 + i, a, b,
		      (int)(i / 250), (int)(i % 250) + 1);
}

static inline struct netaddr env_src(void)
{
	return env_na(999999, 9, 9, 9, 9);
}

/* A fresh book and default config; `seed` drives the book's picks and the manager. */
static inline void env_config_seed(struct env *e, enum manager_policy policy, uint64_t seed)
{
	memset(e, 0, sizeof(*e));
	manager_config_defaults(&e->cfg, policy);
	e->cfg.record_outcomes = true;
	e->cfg.seed = seed * 1000003 + 42;
	e->now = T0;
	struct book_opts o = { .strict = true, .capacity = 8192, .seed = seed, .keys_from_seed = true };
	cr_assert_eq(book_new(&e->b, &o), 0);
}

static inline void env_config(struct env *e, enum manager_policy policy)
{
	env_config_seed(e, policy, 7);
}

static inline void env_book_add(struct env *e, const struct netaddr *na)
{
	struct netaddr src = env_src();
	cr_assert_geq(book_add(e->b, na, &src, e->now), 0);
}

/*
 * Added as if learned from source number k: upstream places one (group,
 * source group) pair in one new bucket, so many addresses of one group only
 * spread over many buckets when they come from many sources.
 */
static inline void env_book_add_from(struct env *e, const struct netaddr *na, uint32_t k)
{
	struct netaddr src = env_na(900000 + k, 100 + (int)(k % 100), (int)(k % 251), 3, 3);
	cr_assert_geq(book_add(e->b, na, &src, e->now), 0);
}

/* An outbound connection that exists before the start (a restarted daemon). */
static inline void env_adopt(struct env *e, const struct netaddr *na)
{
	cr_assert_eq(manager_adopt_peer(e->m, na, e->now), 0);
	e->conn[e->n_conn++] = *na;
}

/* n addresses, each in its own /16. */
static inline void env_fill_book(struct env *e, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct netaddr na = env_distinct(i);
		env_book_add_from(e, &na, 100000 + i);
	}
}

static inline void env_new_manager(struct env *e)
{
	cr_assert_eq(manager_new(&e->m, e->b, &e->cfg), 0);
}

static inline void env_free(struct env *e)
{
	manager_free(e->m);
	book_free(e->b);
}

static inline int env_find(const struct netaddr *list, size_t n, const uint8_t id[MUKAN_ID_LEN])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(list[i].id, id, MUKAN_ID_LEN) == 0)
			return (int)i;
	return -1;
}

static inline bool env_same_ip(const struct netaddr *x, const struct netaddr *y)
{
	return x->a.family == y->a.family && memcmp(x->a.ip, y->a.ip, 16) == 0;
}

/* Take every queued action into the fake engine, checking the manager's promises. */
static inline void env_drain(struct env *e)
{
	struct manager_action a;
	while (manager_next_action(e->m, &a)) {
		cr_assert_lt(e->n_act, ENV_MAX);
		e->act[e->n_act++] = a;
		cr_assert(a.addr.has_id);
		if (a.kind == MANAGER_DIAL) {
			cr_assert_lt(env_find(e->flight, e->n_flight, a.addr.id), 0,
				     "two dials to one ID at a time");
			cr_assert_lt(env_find(e->conn, e->n_conn, a.addr.id), 0,
				     "a dial to a connected ID");
			if (!e->cfg.allow_duplicate_ip && a.reason != MANAGER_REASON_PERSISTENT) {
				for (size_t i = 0; i < e->n_flight; i++)
					cr_assert_not(env_same_ip(&e->flight[i], &a.addr),
						      "IP dialed twice: %u (reason %d) beside %u (reason %d)",
						      env_num(a.addr.id), a.reason, env_num(e->flight[i].id),
						      e->flight_reason[i]);
				for (size_t i = 0; i < e->n_conn; i++)
					cr_assert_not(env_same_ip(&e->conn[i], &a.addr), "IP connected");
			}
			e->flight[e->n_flight] = a.addr;
			e->flight_reason[e->n_flight] = a.reason;
			e->flight_cancelled[e->n_flight] = false;
			e->n_flight++;
		} else if (a.kind == MANAGER_CANCEL) {
			int i = env_find(e->flight, e->n_flight, a.addr.id);
			cr_assert_geq(i, 0, "cancel of a dial not in flight");
			e->flight_cancelled[i] = true;
		} else {
			cr_assert_eq(a.kind, MANAGER_REQUEST_ADDRS);
			cr_assert_geq(env_find(e->conn, e->n_conn, a.addr.id), 0,
				      "PEX request to a peer not connected");
		}
	}
}

static inline void env_clear(struct env *e)
{
	e->n_act = 0;
}

static inline void env_start(struct env *e)
{
	cr_assert_eq(manager_start(e->m, e->now), 0);
	env_drain(e);
}

static inline void env_tick(struct env *e, int64_t at)
{
	e->now = at;
	cr_assert_eq(manager_tick(e->m, e->now), 0);
	env_drain(e);
}

/* Complete dial number i of the fake engine; returns the manager's answer. */
static inline int env_complete(struct env *e, size_t i, enum manager_outcome o)
{
	cr_assert_lt(i, e->n_flight);
	struct netaddr na = e->flight[i];
	e->flight[i] = e->flight[e->n_flight - 1];
	e->flight_reason[i] = e->flight_reason[e->n_flight - 1];
	e->flight_cancelled[i] = e->flight_cancelled[e->n_flight - 1];
	e->n_flight--;
	int r = manager_on_dial_done(e->m, na.id, o, 0, e->now);
	cr_assert_geq(r, 0, "on_dial_done: %d", r);
	if (o == MANAGER_OUT_CONNECTED && r == MANAGER_KEEP)
		e->conn[e->n_conn++] = na;
	env_drain(e);
	return r;
}

static inline int env_complete_id(struct env *e, const uint8_t id[MUKAN_ID_LEN], enum manager_outcome o)
{
	int i = env_find(e->flight, e->n_flight, id);
	cr_assert_geq(i, 0, "no dial in flight to that ID");
	return env_complete(e, (size_t)i, o);
}

static inline void env_gone(struct env *e, size_t i)
{
	cr_assert_lt(i, e->n_conn);
	struct netaddr na = e->conn[i];
	e->conn[i] = e->conn[--e->n_conn];
	cr_assert_eq(manager_on_peer_gone(e->m, na.id, e->now), 0);
	env_drain(e);
}

/* Actions of a kind (and reason, or -1 for any) since env_clear. */
static inline size_t env_count(const struct env *e, int kind, int reason)
{
	size_t n = 0;
	for (size_t i = 0; i < e->n_act; i++)
		n += e->act[i].kind == kind && (reason < 0 || e->act[i].reason == reason);
	return n;
}

static inline struct mukan_peer *env_rec(struct env *e, const struct netaddr *na)
{
	int slot = book_find(e->b, na->id);
	cr_assert_geq(slot, 0);
	return book_slot_mut(e->b, (uint32_t)slot);
}

#endif /* MUKAN_TEST_MANAGER_ENV_H */
