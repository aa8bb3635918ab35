/* SPDX-License-Identifier: Apache-2.0 */
/* lib.bpf.h - small helpers the mukan programs share. */
#ifndef MUKAN_LIB_BPF_H
#define MUKAN_LIB_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_endian.h>

#include "mukan/rules.h"

#define AF_INET 2
#define AF_INET6 10

/* The book's key for an IPv6 peer; ::ffff:a.b.c.d is IPv4, as in the book. */
static __always_inline void key_from_ip6(struct mukan_addr *k, __u32 w0, __u32 w1, __u32 w2,
					 __u32 w3)
{
	if (w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff)) {
		k->family = MUKAN_AF_INET;
		__builtin_memcpy(k->ip, &w3, 4);
		return;
	}
	k->family = MUKAN_AF_INET6;
	__builtin_memcpy(k->ip, &w0, 4);
	__builtin_memcpy(k->ip + 4, &w1, 4);
	__builtin_memcpy(k->ip + 8, &w2, 4);
	__builtin_memcpy(k->ip + 12, &w3, 4);
}

static __always_inline int addr_equal(const struct mukan_addr *a, const struct mukan_addr *b)
{
	__u32 x[4], y[4];
	__builtin_memcpy(x, a->ip, sizeof(x));
	__builtin_memcpy(y, b->ip, sizeof(y));
	return a->family == b->family && a->pad == b->pad && a->port == b->port && x[0] == y[0] &&
	       x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/*
 * The record for a key, or NULL when the book does not know the address.
 * The index is only a hint: the slot it names must be in use and hold this
 * very address, or a stale entry (a slot freed, reused, or written by hand)
 * would turn into writes and gate decisions about another peer.
 */
static __always_inline struct mukan_peer *book_lookup(const struct mukan_addr *k, __u32 *slot)
{
	__u32 *s = bpf_map_lookup_elem(&book_idx_v1, k);
	if (!s)
		return NULL;
	__u32 idx = *s;
	struct mukan_peer *p = bpf_map_lookup_elem(&book_v1, &idx);
	if (!p || MUKAN_LOAD(&p->in_use) != 1)
		return NULL;
	struct mukan_addr held = p->addr;
	if (!addr_equal(&held, k))
		return NULL;
	*slot = idx;
	return p;
}

/* The config in force: the map's, clamped to safe values. */
static __always_inline void config_get(struct mukan_config *c)
{
	__u32 zero = 0;
	struct mukan_config *m = bpf_map_lookup_elem(&config_v1, &zero);
	if (m)
		*c = *m;
	else
		rules_config_defaults(c);
	rules_config_clamp(c);
}

/* One field of the config, clamped like rules_config_clamp would: the hot
 * paths read only what they need instead of copying the whole struct. */
static __always_inline __u32 config_dial_timeout_ms(void)
{
	__u32 zero = 0;
	struct mukan_config *m = bpf_map_lookup_elem(&config_v1, &zero);
	__u32 ms = m ? m->dial_timeout_ms : MUKAN_DEF_DIAL_TIMEOUT_MS;
	return ms > MUKAN_MAX_DIAL_TIMEOUT_MS ? MUKAN_MAX_DIAL_TIMEOUT_MS : ms;
}

static __always_inline int config_gate_on(void)
{
	__u32 zero = 0;
	struct mukan_config *m = bpf_map_lookup_elem(&config_v1, &zero);
	return m ? (m->flags & MUKAN_CFG_GATE) != 0 : (MUKAN_DEF_CONFIG_FLAGS & MUKAN_CFG_GATE) != 0;
}

static __always_inline struct mukan_stats *stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats_v1, &zero);
}

/* Events never wake the reader: it polls on a timer; the maps are the truth. */
static __always_inline void emit(__u8 kind, __u32 slot, __s32 err, __u32 failures,
				 const struct mukan_addr *k, __u64 now)
{
	struct mukan_event *e = bpf_ringbuf_reserve(&events_v1, sizeof(*e), 0);
	if (!e)
		return;
	e->time_ns = now;
	e->slot = slot;
	e->err = err;
	e->kind = kind;
	e->failures = failures;
	e->addr = *k;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	e->pad2 = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

#endif
