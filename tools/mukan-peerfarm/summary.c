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
	printf("  %-12s %5u  ", farm_cat_name(c), f->count[c]);
	switch (c) {
	case CAT_LIVE:
		printf("listener accepts and holds the connection until the dialer closes\n");
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
			printf("listener; nftables drops an attempt's SYNs for %u ms -> connect "
			       "after ~%u s (the SYN retransmission)\n",
			       o->slow_ms, slow_connect_s(o->slow_ms));
		else
			printf("listener (--slow-delay 0: no delay)\n");
		break;
	default:
		printf("listener up %u ms, then closed with its connections for %u ms, "
		       "repeatedly\n", o->flap_up_ms, o->flap_down_ms);
		break;
	}
}

void summary_print_up(const struct farm *f, const char *dir)
{
	uint32_t seeds = 0;
	for (uint32_t i = 0; i < f->n_peers; i++)
		seeds += f->peers[i].seed;
	char s[NETADDR_STRLEN];
	netaddr_format(&f->source, s);

	printf(FARM_TOOL ": %u addresses (%u IPv6) up in namespace %s, pid %d\n", f->n_peers,
	       f->n_ipv6, f->ns_name, (int)getpid());
	for (int c = 0; c < CAT_COUNT; c++)
		category_line(f, (enum farm_cat)c);
	printf("  join:  nsenter --net=" FARM_NETNS_DIR "/%s CMD   (or setns() on that path)\n",
	       f->ns_name);
	printf("  files: %s/" OUT_BOOK " (learned from %s), %s/" OUT_SEEDS " (%u seeds), "
	       "%s/" OUT_NFT ", %s/" OUT_MANIFEST "\n", dir, s, dir, seeds, dir, dir);
	if (f->opts.duration_ms)
		printf("  running for %.3f s, or until SIGINT/SIGTERM\n",
		       (double)f->opts.duration_ms / 1000);
	else
		printf("  running until SIGINT/SIGTERM\n");
	fflush(stdout);
}
