/* SPDX-License-Identifier: Apache-2.0 */
/* firewall.c - render, load and delete the farm's nftables table. */
#include "firewall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"

static void put_set(FILE *o, const struct farm *f, const char *name, enum farm_cat cat, int family)
{
	fprintf(o, "\tset %s%c {\n\t\ttype %s\n", name, family == MUKAN_AF_INET ? '4' : '6',
		family == MUKAN_AF_INET ? "ipv4_addr" : "ipv6_addr");
	unsigned n = 0;
	for (uint32_t i = 0; i < f->n_peers; i++) {
		const struct farm_peer *p = &f->peers[i];
		if (p->cat != cat || p->na.a.family != family)
			continue;
		char ip[IP_STRLEN];
		ip_format(&p->na.a, ip);
		fprintf(o, "%s%s", n == 0 ? "\t\telements = {\n\t\t\t" : n % 6 ? ", " : ",\n\t\t\t",
			ip);
		n++;
	}
	fprintf(o, "%s\t}\n", n ? "\n\t\t}\n" : "");
}

/*
 * Slow peers: the first SYN of a flow (dialer address, its port, the peer)
 * enters `slow_seen` and `slow_held` and is dropped; retransmitted SYNs are
 * dropped while the flow is still in `slow_held` (--slow-delay), and let
 * through after. `slow_seen` outlives the first retransmission after the
 * delay (Linux retransmits at 1, 3, 7... s: the next one comes before
 * 2 * delay + 1 s), so a flow is held back once, never again.
 */
static void put_slow_sets(FILE *o, const struct farm *f, char v)
{
	const char *t = v == '4' ? "ipv4_addr . inet_service . ipv4_addr"
				 : "ipv6_addr . inet_service . ipv6_addr";
	unsigned seen_ms = 2 * f->opts.slow_ms + 2000;
	fprintf(o, "\tset slow_seen%c {\n\t\ttype %s\n\t\tflags dynamic, timeout\n"
		   "\t\ttimeout %ums\n\t\tsize 65536\n\t}\n", v, t, seen_ms);
	fprintf(o, "\tset slow_held%c {\n\t\ttype %s\n\t\tflags dynamic, timeout\n"
		   "\t\ttimeout %ums\n\t\tsize 65536\n\t}\n", v, t, f->opts.slow_ms);
}

static void put_slow_rules(FILE *o, char v)
{
	const char *ip = v == '4' ? "ip" : "ip6";
	char flow[96];
	snprintf(flow, sizeof(flow), "%s saddr . tcp sport . %s daddr", ip, ip);
	fprintf(o,
		"\t\t%s daddr @slow%c tcp flags & (syn | ack) == syn %s != @slow_seen%c "
		"add @slow_seen%c { %s } add @slow_held%c { %s } counter drop\n",
		ip, v, flow, v, v, flow, v, flow);
	fprintf(o, "\t\t%s daddr @slow%c tcp flags & (syn | ack) == syn %s @slow_held%c "
		   "counter drop\n", ip, v, flow, v);
}

int firewall_render(const struct farm *f, char **text, size_t *len)
{
	FILE *o = open_memstream(text, len);
	if (!o)
		return -ENOMEM;
	fprintf(o, "# " FARM_TOOL ": the rules of namespace %s (nft -f)\n", f->ns_name);
	fprintf(o, "table inet " FARM_NFT_TABLE " {\n");
	for (int fam = MUKAN_AF_INET; fam; fam = fam == MUKAN_AF_INET ? MUKAN_AF_INET6 : 0) {
		put_set(o, f, "blackhole", CAT_BLACKHOLE, fam);
		put_set(o, f, "unreachable", CAT_UNREACHABLE, fam);
		put_set(o, f, "slow", CAT_SLOW, fam);
	}
	bool slow = f->opts.slow_ms > 0;
	if (slow) {
		put_slow_sets(o, f, '4');
		put_slow_sets(o, f, '6');
	}
	/*
	 * ICMP errors pass first: a dialer's source for fdXX::1 is fdXX::1
	 * itself, so the host-unreachable our reject sends is addressed to a
	 * peer address in a set, and would be dropped on its way back.
	 */
	fprintf(o, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
		   "\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem } "
		   "accept\n"
		   "\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, "
		   "parameter-problem } accept\n"
		   "\t\tip daddr @blackhole4 counter drop\n"
		   "\t\tip6 daddr @blackhole6 counter drop\n"
		   "\t\tip daddr @unreachable4 counter reject with icmpx type host-unreachable\n"
		   "\t\tip6 daddr @unreachable6 counter reject with icmpx type host-unreachable\n");
	if (slow) {
		put_slow_rules(o, '4');
		put_slow_rules(o, '6');
	}
	fprintf(o, "\t}\n}\n");
	if (fclose(o) != 0) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

int firewall_load(const char *text, size_t len, char *err, size_t errsz)
{
	char *argv[] = { "nft", "-f", "-", NULL };
	int rc = spawn_wait(argv, text, len, false);
	if (rc == 0)
		return 0;
	snprintf(err, errsz, "nft -f failed (%s)",
		 rc < 0 ? strerror(-rc) : "see its message above; the rules are in nftables.conf");
	return rc < 0 ? rc : -EIO;
}

bool firewall_present(void)
{
	char *argv[] = { "nft", "list", "table", "inet", FARM_NFT_TABLE, NULL };
	return spawn_wait(argv, NULL, 0, true) == 0;
}

int firewall_remove(void)
{
	char *argv[] = { "nft", "delete", "table", "inet", FARM_NFT_TABLE, NULL };
	if (spawn_wait(argv, NULL, 0, true) == 0)
		return 0;
	return firewall_present() ? -EIO : 0;
}
