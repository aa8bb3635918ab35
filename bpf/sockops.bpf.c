/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * sockops.bpf.c - the outcome of every TCP dial from the attached cgroup to
 * an address in the book, written straight into the book's record.
 *
 *   TIMEOUT_INIT              a dial deadline under 1 s sets the first SYN timeout
 *   TCP_CONNECT_CB            the SYN is about to leave: count the dial, give
 *                             the kernel the dial deadline (TCP_USER_TIMEOUT),
 *                             and ask for state changes on this socket only
 *   ACTIVE_ESTABLISHED_CB     success: failures reset, backoff cleared
 *   STATE_CB SYN_SENT->CLOSE  failure: sk_err says refused (111), timed out
 *                             (110), unreachable (113/101) or other; failures+1,
 *                             backoff from rules.h, a ban at the failure limit
 *
 * Addresses the book does not know cost one hash lookup and nothing else.
 */
#include "lib.bpf.h"

#define SOL_TCP 6
#define TCP_USER_TIMEOUT 18
#define ECONNREFUSED 111
#define ETIMEDOUT 110
#define EHOSTUNREACH 113
#define ENETUNREACH 101

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* From the kernel's config when libbpf can read it; 0 otherwise (then the
 * kernel's own 1 s first SYN timeout stays). */
extern int CONFIG_HZ __kconfig __weak;

static __always_inline int key_from_skops(struct bpf_sock_ops *skops, struct mukan_addr *k)
{
	__u32 family = skops->family;
	__builtin_memset(k, 0, sizeof(*k));
	k->port = (__u16)bpf_ntohl(skops->remote_port);
	if (family == AF_INET) {
		__u32 ip4 = skops->remote_ip4;
		k->family = MUKAN_AF_INET;
		__builtin_memcpy(k->ip, &ip4, 4);
		return 0;
	}
	if (family == AF_INET6) {
		key_from_ip6(k, skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2],
			     skops->remote_ip6[3]);
		return 0;
	}
	return -1;
}

static __always_inline void on_connect(struct bpf_sock_ops *skops, struct mukan_addr *k)
{
	struct mukan_stats *st = stats();
	__u32 slot;
	struct mukan_peer *p = book_lookup(k, &slot);
	if (!p) {
		if (st)
			__sync_fetch_and_add(&st->not_in_book, 1);
		return;
	}
	__u64 now = bpf_ktime_get_boot_ns();
	rules_record_dial(p, (__s64)now);
	if (st)
		__sync_fetch_and_add(&st->connects, 1);

	int ms = (int)config_dial_timeout_ms();
	if (ms) {
		/* The kernel times the SYN out itself, so a timeout is ETIMEDOUT
		 * in sk_err rather than a silent close by an impatient caller. */
		bpf_setsockopt(skops, SOL_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
	}
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	emit(MUKAN_EV_CONNECT, slot, 0, p->failures, k, now);
}

/* The outcome is known: no more callbacks for this socket, normal timeouts. */
static __always_inline void done_with(struct bpf_sock_ops *skops)
{
	int zero = 0;
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags & ~BPF_SOCK_OPS_STATE_CB_FLAG);
	bpf_setsockopt(skops, SOL_TCP, TCP_USER_TIMEOUT, &zero, sizeof(zero));
}

static __always_inline void on_established(struct bpf_sock_ops *skops, struct mukan_addr *k)
{
	__u32 slot;
	struct mukan_peer *p = book_lookup(k, &slot);
	if (!p)
		return;
	__u64 now = bpf_ktime_get_boot_ns();
	rules_record_success(p, (__s64)now);
	struct mukan_stats *st = stats();
	if (st)
		__sync_fetch_and_add(&st->established, 1);
	emit(MUKAN_EV_ESTABLISHED, slot, 0, 0, k, now);
	done_with(skops);
}

static __always_inline void count_error(struct mukan_stats *st, int err)
{
	if (!st)
		return;
	if (err == ECONNREFUSED)
		__sync_fetch_and_add(&st->refused, 1);
	else if (err == ETIMEDOUT)
		__sync_fetch_and_add(&st->timed_out, 1);
	else if (err == EHOSTUNREACH || err == ENETUNREACH)
		__sync_fetch_and_add(&st->unreachable, 1);
	else
		__sync_fetch_and_add(&st->other_error, 1);
}

static __always_inline void on_syn_sent_closed(struct bpf_sock_ops *skops, struct mukan_addr *k)
{
	__u32 slot;
	struct mukan_peer *p = book_lookup(k, &slot);
	if (!p)
		return;
	struct bpf_sock *sk = skops->sk;
	if (!sk)
		return;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	int err = tp->inet_conn.icsk_inet.sk.sk_err;
	if (err == 0) {
		/* An ICMP error that arrived while connect() held the socket is kept
		 * as a soft error; a caller that gives up on it closes with no hard
		 * error, but the peer did answer "unreachable". */
		err = tp->inet_conn.icsk_inet.sk.sk_err_soft;
	}
	__u64 now = bpf_ktime_get_boot_ns();
	struct mukan_stats *st = stats();
	if (err == 0) {
		/* Closed by its owner before any answer: not the peer's fault. */
		if (st)
			__sync_fetch_and_add(&st->abandoned, 1);
		emit(MUKAN_EV_ABANDONED, slot, 0, p->failures, k, now);
		return;
	}

	struct mukan_config c;
	config_get(&c);
	__u64 rand = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32();
	/* Only the failure that starts a ban reports one, not each after it. */
	int ban_started = rules_record_failure(p, &c, err, (__s64)now, rand);
	count_error(st, err);
	emit(MUKAN_EV_FAILED, slot, err, p->failures, k, now);
	if (ban_started) {
		if (st)
			__sync_fetch_and_add(&st->bans, 1);
		emit(MUKAN_EV_BANNED, slot, err, p->failures, k, now);
	}
}

/*
 * The first SYN timeout of a dial to a book address, in jiffies, when the
 * configured dial timeout is below the kernel's fixed 1 s: otherwise a
 * 300 ms deadline would only be noticed at the first retransmission, 1 s in.
 */
static __always_inline int syn_rto_jiffies(struct bpf_sock_ops *skops)
{
	/* Cheapest checks first: with the default 1 s deadline nothing is looked up. */
	if (!CONFIG_HZ)
		return -1;
	__u32 ms = config_dial_timeout_ms();
	if (!ms || ms >= 1000)
		return -1;
	struct mukan_addr k;
	__u32 slot;
	if (key_from_skops(skops, &k) < 0 || !book_lookup(&k, &slot))
		return -1;
	int j = (int)((__u64)ms * CONFIG_HZ / 1000);
	return j > 0 ? j : 1;
}

SEC("sockops")
int mukan_sockops(struct bpf_sock_ops *skops)
{
	struct mukan_addr k;
	__u32 op = skops->op;
	if (op == BPF_SOCK_OPS_TIMEOUT_INIT) {
		int rto = syn_rto_jiffies(skops);
		if (rto > 0)
			skops->reply = rto;
		return 1;
	}
	/* Only dials to book addresses asked for state changes: a connection the
	 * book does not know needs no lookup when it is established. */
	if (op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    !(skops->bpf_sock_ops_cb_flags & BPF_SOCK_OPS_STATE_CB_FLAG))
		return 1;
	if (op != BPF_SOCK_OPS_TCP_CONNECT_CB && op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    op != BPF_SOCK_OPS_STATE_CB)
		return 1;
	if (key_from_skops(skops, &k) < 0)
		return 1;
	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		on_connect(skops, &k);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		on_established(skops, &k);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[0] == BPF_TCP_SYN_SENT && skops->args[1] == BPF_TCP_CLOSE) {
			on_syn_sent_closed(skops, &k);
			done_with(skops);
		}
		break;
	}
	return 1;
}
