/* SPDX-License-Identifier: Apache-2.0 */
/* summary.c - the startup report, one line per category. */
#include "summary.h"

#include <stdio.h>
#include <unistd.h>

#include "outfiles.h"

/* Linux retransmits a SYN 1, 3, 7, 15... s after the first: the first one after delay_ms. */
static unsigned slow_connect_s(uint32_t delay_ms)
{
	unsigned t = 1;
	while (t * 1000u <= delay_ms && t < 1u << 20) /* ends: t doubles */
		t = 2 * t + 1;
	return t;
}

static void category_line(const struct farm *f, enum farm_cat c)
{
	const struct farm_opts *o = &f->opts;
	printf("  %-15s %5u  ", farm_cat_name(c), f->count[c]);
	switch (c) {
	case CAT_LIVE:
		printf("CometBFT peer: handshake, NodeInfo, ping/pong, PEX\n");
		break;
	case CAT_CLOSED:
		printf("nothing listens: RST -> ECONNREFUSED\n");
		break;
	case CAT_BLACKHOLE:
		printf("nftables drops every packet -> the dial times out\n");
		break;
	case CAT_UNREACHABLE:
		printf("nftables answers ICMP host-unreachable -> EHOSTUNREACH\n");
		break;
	case CAT_SLOW:
		if (o->slow_ms)
			printf("live peer; nftables drops an attempt's SYNs for %u ms -> connect "
			       "after ~%u s (the SYN retransmission)\n",
			       o->slow_ms, slow_connect_s(o->slow_ms));
		else
			printf("live peer (--slow-delay 0: no delay)\n");
		break;
	case CAT_FLAPPING:
		printf("live peer up %u ms, then closed with its connections for %u ms, "
		       "repeatedly\n", o->flap_up_ms, o->flap_down_ms);
		break;
	case CAT_WRONG_ID:
		printf("key is not the listed ID's -> wrong_id\n");
		break;
	case CAT_WRONG_NETWORK:
		printf("NodeInfo network %s -> network_mismatch\n", o->other_network);
		break;
	case CAT_SLOW_HANDSHAKE:
		printf("drip (a byte every %u ms) or silent -> handshake timeout\n", o->drip_ms);
		break;
	case CAT_PEX_FLOOD:
		printf("unsolicited addresses or 300 in a reply -> pex_unsolicited, "
		       "pex_too_many_addrs\n");
		break;
	default:
		printf("frame length > 1024, NodeInfo > 10240, packet > 1034 -> "
		       "frame_too_large, msg_too_large\n");
		break;
	}
}

void summary_print_ended(const struct farm_stats *st)
{
	bool any = st->unread || st->internal;
	for (int e = 0; e < WIRE_N_ERRORS; e++)
		any |= st->ended[e] != 0;
	if (!any)
		return;
	printf(FARM_TOOL ": sessions the farm ended:");
	if (st->ended[WIRE_OK])
		printf(" seed_mode_hangup %llu", (unsigned long long)st->ended[WIRE_OK]);
	for (int e = 1; e < WIRE_N_ERRORS; e++)
		if (st->ended[e])
			printf(" %s %llu", wire_error_name((enum wire_error)e),
			       (unsigned long long)st->ended[e]);
	if (st->unread)
		printf(" dialer_not_reading %llu", (unsigned long long)st->unread);
	if (st->internal)
		printf(" out_of_memory %llu", (unsigned long long)st->internal);
	printf("\n");
}

void summary_print_up(const struct farm *f, const char *dir)
{
	uint32_t seeds = 0;
	for (uint32_t i = 0; i < f->n_peers; i++)
		seeds += f->peers[i].seed;
	char s[NETADDR_STRLEN];
	netaddr_format(&f->source, s);

	printf(FARM_TOOL ": %u addresses (%u IPv6) up in namespace %s, pid %d, network %s\n",
	       f->n_peers, f->n_ipv6, f->ns_name, (int)getpid(), f->opts.network);
	for (int c = 0; c < CAT_COUNT; c++)
		category_line(f, (enum farm_cat)c);
	printf("  join:  nsenter --net=" FARM_NETNS_DIR "/%s CMD   (or setns() on that path)\n",
	       f->ns_name);
	printf("  PEX:   a peer tells %u addresses, a seed %u%s; a crawl from any seed reaches "
	       "every listening peer\n", f->opts.knows, f->opts.seed_knows,
	       f->opts.seed_mode ? " and hangs up (seed mode)" : "");
	printf("  files: %s/" OUT_BOOK " (learned from %s), %s/" OUT_SEEDS " (%u seeds), "
	       "%s/" OUT_NFT ", %s/" OUT_MANIFEST "\n", dir, s, dir, seeds, dir, dir);
	if (f->opts.duration_ms)
		printf("  running for %.3f s, or until SIGINT/SIGTERM\n",
		       (double)f->opts.duration_ms / 1000);
	else
		printf("  running until SIGINT/SIGTERM\n");
	fflush(stdout);
}
