/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * connect_gate.bpf.c - cgroup/connect4 and cgroup/connect6: refuse (EPERM)
 * a TCP connect from the attached cgroup to a book address that is still
 * backing off or banned, when the config's gate flag is on. This holds for
 * every process in the cgroup, the node itself included, not only for the
 * dialer that wrote the backoff.
 */
#include "lib.bpf.h"

#define SOCK_STREAM 1

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int gate(struct mukan_addr *k)
{
	__u32 slot;
	struct mukan_peer *p = book_lookup(k, &slot);
	if (!p)
		return 1;
	if (!config_gate_on())
		return 1;
	__u64 now = bpf_ktime_get_boot_ns();
	if (rules_may_dial(p, (__s64)now))
		return 1;
	struct mukan_stats *st = stats();
	if (st)
		__sync_fetch_and_add(&st->gated, 1);
	emit(MUKAN_EV_GATED, slot, 1 /* EPERM */, p->failures, k, now);
	return 0;
}

SEC("cgroup/connect4")
int mukan_gate4(struct bpf_sock_addr *ctx)
{
	if (ctx->type != SOCK_STREAM)
		return 1;
	struct mukan_addr k = { .family = MUKAN_AF_INET };
	__u32 ip4 = ctx->user_ip4;
	__builtin_memcpy(k.ip, &ip4, 4);
	k.port = bpf_ntohs((__u16)ctx->user_port);
	return gate(&k);
}

SEC("cgroup/connect6")
int mukan_gate6(struct bpf_sock_addr *ctx)
{
	if (ctx->type != SOCK_STREAM)
		return 1;
	struct mukan_addr k = {};
	key_from_ip6(&k, ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]);
	k.port = bpf_ntohs((__u16)ctx->user_port);
	return gate(&k);
}
