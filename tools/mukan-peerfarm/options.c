/* SPDX-License-Identifier: Apache-2.0 */
/* options.c - mukan-peerfarm's flags, their defaults and their checks. */
#include "options.h"

#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *argp_program_version = FARM_TOOL " " FARM_VERSION;

static const char doc[] =
	"Build a test network of CometBFT peers in a network namespace of its own,\n"
	"write it out as addrbook.json, a seeds list and a manifest, keep it up until\n"
	"SIGINT/SIGTERM/SIGHUP (or --duration), then tear it all down.\n"
	"\n"
	"Each peer is an address 127.a.b.c (fdXX:XXXX::1 with --ipv6) on the loopback\n"
	"of namespace mukanfarm-NAME, all on one port. Every listening peer has an\n"
	"ed25519 key of its own, drawn from --seed, and speaks CometBFT's p2p protocol\n"
	"(v0.34 to v0.38) as upstream's listener does: SecretConnection, NodeInfo\n"
	"(network --network, listen address tcp://IP:PORT, channels 40 20 21 22 23 30\n"
	"38 60 61 00), then MConnection (answers pings, pings every --ping-interval,\n"
	"drops a dialer whose pong is --pong-timeout late) and PEX on channel 0x00:\n"
	"a request gets the addresses the peer knows (--knows; seeds --seed-knows),\n"
	"all of them farm peers; a dialer that breaks upstream's PEX rules\n"
	"(unsolicited addresses, a third request within 10 s) is disconnected.\n"
	"The live peers know each other in a ring and between them know every\n"
	"listening peer, so a crawl from any seed reaches the whole farm. What a\n"
	"dialer sees:\n"
	"  live            a CometBFT peer: handshake, NodeInfo, ping/pong, PEX\n"
	"  closed          nothing listens: the kernel answers RST -> ECONNREFUSED\n"
	"  blackhole       nftables drops every packet to it -> the dial times out\n"
	"  unreachable     nftables answers ICMP host-unreachable -> EHOSTUNREACH\n"
	"  slow            a live peer, but nftables drops each attempt's SYNs for\n"
	"                  --slow-delay: connect completes at the dialer's first SYN\n"
	"                  retransmission after that (Linux: 1, 3, 7 s after the first)\n"
	"  flapping        a live peer up for --flap-up, then closed with its\n"
	"                  connections for --flap-down (ECONNREFUSED meanwhile), ...\n"
	"  wrong-id        authenticates with a key that is not the key of the ID the\n"
	"                  book and PEX list -> a dialer must refuse it (wrong_id)\n"
	"  wrong-network   its NodeInfo names --other-network (network_mismatch)\n"
	"  slow-handshake  accepts, then sends its handshake one byte per --drip\n"
	"                  (\"drip\") or never a byte (\"silent\") -> handshake timeout\n"
	"  pex-flood       sends addresses nobody asked for, two at once after the\n"
	"                  NodeInfo and then every second (\"unsolicited\":\n"
	"                  pex_unsolicited), or answers a request with 300 addresses\n"
	"                  (\"over_cap\": pex_too_many_addrs)\n"
	"  oversized-frame after the handshake: a sealed frame whose length field is\n"
	"                  above 1024 (\"frame\": frame_too_large), a NodeInfo whose\n"
	"                  length is above 10,240 (\"nodeinfo\": msg_too_large), or an\n"
	"                  MConnection packet above 1,034 (\"packet\": msg_too_large)\n"
	"The peers of a category with variants take them in turn (the manifest says\n"
	"which). Without category flags, --total addresses are 10% live, 40% closed,\n"
	"40% blackhole, 5% unreachable, 3% slow, 2% flapping. Once one category is\n"
	"given the others default to 0. N is a count, P% a share of --total.\n"
	"\n"
	"Join with `nsenter --net=/run/netns/mukanfarm-NAME CMD` or setns() on that\n"
	"path; not `ip netns exec`, which remounts /sys and hides /sys/fs/bpf.\n"
	"\n"
	"Files in --out DIR:\n"
	"  addrbook.json  CometBFT format, for addr_book_strict = false; every address\n"
	"                 learned from the first seed; keys from --seed\n"
	"  seeds.txt      id@ip:port,... of live peers, as CometBFT's `seeds`\n"
	"  nftables.conf  the rules loaded in the namespace\n"
	"  manifest.json  namespace, pid, settings, every peer with its category,\n"
	"                 variant, listed ID, its key's ID and the peers it knows;\n"
	"                 written last, once the network is up: wait for it\n"
	"\n"
	"One process, one io_uring for everything (accepts, reads, writes, timers,\n"
	"signals), no thread per peer. SIGINT, SIGTERM, SIGHUP and --duration tear\n"
	"down and exit 0; an error tears down and exits 1. SIGKILL cannot be caught\n"
	"and leaves the namespace and its rules behind: `mukan-peerfarm --cleanup\n"
	"NAME` removes them. Needs root.\n"
	"\n"
	"EXAMPLES:\n"
	"  mukan-peerfarm --out /tmp/farm              # 200 addresses, default mix\n"
	"  mukan-peerfarm -o /tmp/farm -n demo --total 1000 --seed 7\n"
	"  mukan-peerfarm -o /tmp/farm --live 10 --closed 40 --blackhole 40 \\\n"
	"      --unreachable 5 --slow 3 --flapping 2   # 100 addresses, by count\n"
	"  mukan-peerfarm -o /tmp/farm -t 400 --live 25% --blackhole 75% --ipv6 10\n"
	"  mukan-peerfarm -o /tmp/farm --live 50 --wrong-id 5 --wrong-network 5 \\\n"
	"      --slow-handshake 4 --pex-flood 4 --oversized-frame 6 \\\n"
	"      --network my-chain-1                    # a hostile CometBFT network\n"
	"  mukan-peerfarm -o /tmp/farm --live 200 --closed 800 --seeds 3 --seed-mode\n"
	"                                              # bootstrap from seeds only\n"
	"  mukan-peerfarm -o /tmp/farm --flapping 5 --flap-up 2s --flap-down 500ms \\\n"
	"      --duration 30s\n"
	"  nsenter --net=/run/netns/mukanfarm-demo nft list table inet mukanfarm\n"
	"                                              # rules, with hit counters\n"
	"  mukan-peerfarm --cleanup demo               # after a kill -9"
	"\v"
	"Exit status: 0 torn down after a signal or --duration, or cleanup done;\n"
	"1 error (what was created is removed again); 2 usage error.";

enum {
	OPT_CAT0 = 256, /* one per category, in enum farm_cat order */
	OPT_SEEDS = OPT_CAT0 + CAT_COUNT,
	OPT_SEED_MODE,
	OPT_NETWORK,
	OPT_OTHER_NETWORK,
	OPT_KNOWS,
	OPT_SEED_KNOWS,
	OPT_SLOW_DELAY,
	OPT_FLAP_UP,
	OPT_FLAP_DOWN,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_PING_INTERVAL,
	OPT_PONG_TIMEOUT,
	OPT_DRIP,
	OPT_MAX_CONNS,
	OPT_MUKAN,
	OPT_CLEANUP,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "The network:", 1 },
	{ "name", 'n', "NAME", 0,
	  "Namespace mukanfarm-NAME (letters, digits, '-', '_'; default \"default\")", 1 },
	{ "out", 'o', "DIR", 0, "Directory for the files (created if missing; required)", 1 },
	{ "seed", 's', "S", 0,
	  "Seed of every random choice: addresses, categories, node keys and IDs, who "
	  "knows whom, book keys (default 1)", 1 },
	{ "port", 'p', "PORT", 0, "TCP port of every peer (default 26656)", 1 },
	{ "ipv6", '6', "PERCENT", 0,
	  "Share of addresses that are IPv6 fdXX:XXXX::1/128, added to lo (default 0)", 1 },
	{ "seeds", OPT_SEEDS, "N", 0, "Live peers listed in seeds.txt (default 2)", 1 },
	{ "seed-mode", OPT_SEED_MODE, NULL, 0,
	  "The seeds run in seed mode, as upstream's: answer an inbound peer's first PEX "
	  "request, then hang up (default: they stay connected like any live peer)", 1 },
	{ "network", OPT_NETWORK, "CHAIN_ID", 0,
	  "Chain ID in every peer's NodeInfo (default mukan-testnet)", 1 },
	{ "other-network", OPT_OTHER_NETWORK, "CHAIN_ID", 0,
	  "Chain ID of the wrong-network peers (default: --network with \"-fork\")", 1 },
	{ "knows", OPT_KNOWS, "N", 0,
	  "Addresses a peer tells in a PEX reply (default 32, upstream's minGetSelection; "
	  "at most 250)", 1 },
	{ "seed-knows", OPT_SEED_KNOWS, "N", 0, "Addresses a seed tells (default 250)", 1 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0,
	  "Accepted connections held at once; beyond that a new one is accepted and closed "
	  "(default 4096)", 1 },
	{ "mukan", OPT_MUKAN, NULL, 0,
	  "Also write the book's \"mukan\" fields (hash key); default: upstream fields only",
	  1 },

	{ NULL, 0, NULL, 0, "How many of each (N or P% of --total):", 2 },
	{ "total", 't', "N", 0, "Base of P% and of the default mix (default 200)", 2 },
	{ "live", OPT_CAT0 + CAT_LIVE, "N|P%", 0, "CometBFT peers", 2 },
	{ "closed", OPT_CAT0 + CAT_CLOSED, "N|P%", 0, "Nothing listening (refused)", 2 },
	{ "blackhole", OPT_CAT0 + CAT_BLACKHOLE, "N|P%", 0, "Packets dropped (dial times out)",
	  2 },
	{ "unreachable", OPT_CAT0 + CAT_UNREACHABLE, "N|P%", 0, "ICMP host-unreachable", 2 },
	{ "slow", OPT_CAT0 + CAT_SLOW, "N|P%", 0, "Live peers behind dropped first SYNs", 2 },
	{ "flapping", OPT_CAT0 + CAT_FLAPPING, "N|P%", 0, "Live peers going up and down", 2 },
	{ "wrong-id", OPT_CAT0 + CAT_WRONG_ID, "N|P%", 0,
	  "Peers whose key is not the listed ID's", 2 },
	{ "wrong-network", OPT_CAT0 + CAT_WRONG_NETWORK, "N|P%", 0,
	  "Peers on --other-network", 2 },
	{ "slow-handshake", OPT_CAT0 + CAT_SLOW_HANDSHAKE, "N|P%", 0,
	  "Peers that stall the handshake (drip, silent)", 2 },
	{ "pex-flood", OPT_CAT0 + CAT_PEX_FLOOD, "N|P%", 0,
	  "Peers that break PEX's rules (unsolicited, over_cap)", 2 },
	{ "oversized-frame", OPT_CAT0 + CAT_OVERSIZED_FRAME, "N|P%", 0,
	  "Peers that send something too large (frame, nodeinfo, packet)", 2 },

	{ NULL, 0, NULL, 0, "Timing (DUR: 500ms, 2s, 1.5s, 3m, 1h; a bare number is seconds):",
	  3 },
	{ "slow-delay", OPT_SLOW_DELAY, "DUR", 0,
	  "How long SYNs to a slow peer are dropped, from an attempt's first SYN "
	  "(default 800ms: connect after ~1 s)", 3 },
	{ "flap-up", OPT_FLAP_UP, "DUR", 0,
	  "Time a flapping peer listens (default 10s); the first up time of each ends at a "
	  "random point, so they do not flap in step", 3 },
	{ "flap-down", OPT_FLAP_DOWN, "DUR", 0, "Time a flapping peer is closed (default 10s)",
	  3 },
	{ "handshake-timeout", OPT_HANDSHAKE_TIMEOUT, "DUR", 0,
	  "A peer hangs up on a dialer whose SecretConnection and NodeInfo are not done "
	  "this long after the accept (default 20s, upstream's handshake_timeout)", 3 },
	{ "ping-interval", OPT_PING_INTERVAL, "DUR", 0,
	  "A peer pings each connected dialer this often (default 60s, upstream's)", 3 },
	{ "pong-timeout", OPT_PONG_TIMEOUT, "DUR", 0,
	  "A peer drops a dialer whose pong is this late (default 45s, upstream's, or 3/4 of "
	  "a shorter --ping-interval; below --ping-interval)", 3 },
	{ "drip", OPT_DRIP, "DUR", 0,
	  "A drip slow-handshake peer sends one byte this often (default 1s: its 35-byte key "
	  "alone takes 35 s; it hangs up 3 x --handshake-timeout after the accept)", 3 },
	{ "duration", 'd', "DUR", 0, "Tear down and exit 0 after DUR (default: run until "
	  "a signal)", 3 },

	{ NULL, 0, NULL, 0, "Leftovers:", 4 },
	{ "cleanup", OPT_CLEANUP, "NAME", 0,
	  "Remove namespace mukanfarm-NAME and its nftables table, left by a farm killed "
	  "with SIGKILL, then exit", 4 },
	{ 0 }
};

int duration_ms_parse(const char *s, uint64_t *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "ms", 1 }, { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 }, { "", 1e3 } };
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		double r = v * units[i].ms;
		if (r > 1e15) /* 30 000 years is enough */
			return -EINVAL;
		*ms = (uint64_t)llround(r);
		return 0;
	}
	return -EINVAL;
}

static uint64_t parse_uint(struct argp_state *st, const char *flag, const char *arg, uint64_t min,
			   uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < min || v > max)
		argp_error(st, "%s: '%s' is not a whole number from %llu to %llu", flag, arg,
			   (unsigned long long)min, (unsigned long long)max);
	return v;
}

static uint64_t parse_dur(struct argp_state *st, const char *flag, const char *arg, uint64_t max_ms)
{
	uint64_t ms;
	if (duration_ms_parse(arg, &ms) < 0 || ms > max_ms)
		argp_error(st, "%s: '%s' is not a duration such as 500ms or 2s (at most %llu ms)",
			   flag, arg, (unsigned long long)max_ms);
	return ms;
}

static void parse_share(struct argp_state *st, const char *flag, const char *arg,
			struct farm_share *sh)
{
	char buf[32];
	size_t n = strlen(arg);
	sh->given = true;
	sh->percent = n > 0 && arg[n - 1] == '%';
	if (sh->percent) {
		if (n >= sizeof(buf))
			argp_error(st, "%s: '%s' is too long", flag, arg);
		memcpy(buf, arg, n - 1);
		buf[n - 1] = '\0';
		sh->value = (uint32_t)parse_uint(st, flag, buf, 0, 100);
	} else {
		sh->value = (uint32_t)parse_uint(st, flag, arg, 0, FARM_MAX_ADDRS);
	}
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > FARM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static const char *checked_name(struct argp_state *st, const char *arg)
{
	/* Accept the namespace's own name too: it is what `ip netns list` shows. */
	if (strncmp(arg, FARM_NS_PREFIX, strlen(FARM_NS_PREFIX)) == 0 &&
	    arg[strlen(FARM_NS_PREFIX)] != '\0')
		arg += strlen(FARM_NS_PREFIX);
	if (!name_ok(arg))
		argp_error(st, "NAME '%s': 1 to %d letters, digits, '-' or '_'", arg,
			   FARM_NAME_MAX);
	return arg;
}

/* A chain ID as upstream takes it: 1 to 50 printable ASCII characters, no space. */
static const char *checked_network(struct argp_state *st, const char *flag, const char *arg)
{
	size_t n = strlen(arg);
	bool ok = n > 0 && n <= FARM_NETWORK_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = arg[i] > 0x20 && arg[i] < 0x7f;
	if (!ok)
		argp_error(st, "%s '%s': 1 to %d printable ASCII characters without spaces", flag,
			   arg, FARM_NETWORK_MAX);
	return arg;
}

static error_t parse_opt(int key, char *arg, struct argp_state *st)
{
	struct farm_opts *o = st->input;
	const uint64_t day_ms = 86400000ULL;
	if (key >= OPT_CAT0 && key < OPT_CAT0 + CAT_COUNT) {
		enum farm_cat c = (enum farm_cat)(key - OPT_CAT0);
		char flag[32];
		snprintf(flag, sizeof(flag), "--%s", farm_cat_flag(c));
		parse_share(st, flag, arg, &o->share[c]);
		return 0;
	}
	switch (key) {
	case 'n':
		o->name = checked_name(st, arg);
		return 0;
	case 'o':
		o->out_dir = arg;
		return 0;
	case 's':
		o->seed = parse_uint(st, "--seed", arg, 0, INT64_MAX);
		return 0;
	case 'p':
		o->port = (uint16_t)parse_uint(st, "--port", arg, 1, 65535);
		return 0;
	case '6':
		o->ipv6_percent = (uint32_t)parse_uint(st, "--ipv6", arg, 0, 100);
		return 0;
	case 't':
		o->total = (uint32_t)parse_uint(st, "--total", arg, 1, FARM_MAX_ADDRS);
		return 0;
	case OPT_SEEDS:
		o->seeds = (uint32_t)parse_uint(st, "--seeds", arg, 0, FARM_MAX_ADDRS);
		return 0;
	case OPT_SEED_MODE:
		o->seed_mode = true;
		return 0;
	case OPT_NETWORK:
		o->network = checked_network(st, "--network", arg);
		return 0;
	case OPT_OTHER_NETWORK:
		o->other_network = checked_network(st, "--other-network", arg);
		return 0;
	case OPT_KNOWS:
		o->knows = (uint32_t)parse_uint(st, "--knows", arg, 0, 250);
		return 0;
	case OPT_SEED_KNOWS:
		o->seed_knows = (uint32_t)parse_uint(st, "--seed-knows", arg, 0, 250);
		return 0;
	case OPT_HANDSHAKE_TIMEOUT:
		o->handshake_timeout_ms = (uint32_t)parse_dur(st, "--handshake-timeout", arg, day_ms);
		if (o->handshake_timeout_ms == 0)
			argp_error(st, "--handshake-timeout must be above 0");
		return 0;
	case OPT_PING_INTERVAL:
		o->ping_interval_ms = (uint32_t)parse_dur(st, "--ping-interval", arg, day_ms);
		return 0;
	case OPT_PONG_TIMEOUT:
		o->pong_timeout_ms = (uint32_t)parse_dur(st, "--pong-timeout", arg, day_ms);
		o->pong_given = true;
		return 0;
	case OPT_DRIP:
		o->drip_ms = (uint32_t)parse_dur(st, "--drip", arg, 3600000);
		if (o->drip_ms == 0)
			argp_error(st, "--drip must be above 0");
		return 0;
	case OPT_SLOW_DELAY:
		o->slow_ms = (uint32_t)parse_dur(st, "--slow-delay", arg, 60000);
		return 0;
	case OPT_FLAP_UP:
		o->flap_up_ms = (uint32_t)parse_dur(st, "--flap-up", arg, day_ms);
		if (o->flap_up_ms == 0)
			argp_error(st, "--flap-up must be above 0");
		return 0;
	case OPT_FLAP_DOWN:
		o->flap_down_ms = (uint32_t)parse_dur(st, "--flap-down", arg, day_ms);
		if (o->flap_down_ms == 0)
			argp_error(st, "--flap-down must be above 0");
		return 0;
	case 'd':
		o->duration_ms = parse_dur(st, "--duration", arg, 365 * day_ms);
		if (o->duration_ms == 0)
			argp_error(st, "--duration must be above 0");
		return 0;
	case OPT_MAX_CONNS:
		o->max_conns = (uint32_t)parse_uint(st, "--max-conns", arg, 1, 1000000);
		return 0;
	case OPT_MUKAN:
		o->mukan_fields = true;
		return 0;
	case OPT_CLEANUP:
		o->cleanup = checked_name(st, arg);
		return 0;
	case ARGP_KEY_ARG:
		argp_error(st, "unexpected argument '%s' (every input is a flag)", arg);
		return 0;
	case ARGP_KEY_END:
		if (!o->cleanup && !o->out_dir)
			argp_error(st, "--out DIR is missing");
		if (!o->pong_given && o->pong_timeout_ms >= o->ping_interval_ms)
			o->pong_timeout_ms = o->ping_interval_ms / 4 * 3;
		/* Upstream panics on pong >= ping: the next ping would reset the pong timer. */
		if (o->pong_timeout_ms == 0 || o->pong_timeout_ms >= o->ping_interval_ms)
			argp_error(st, "--pong-timeout (%u ms) must be above 0 and below "
				   "--ping-interval (%u ms)", o->pong_timeout_ms,
				   o->ping_interval_ms);
		if (!o->other_network) {
			snprintf(o->other_buf, sizeof(o->other_buf), "%s-fork", o->network);
			o->other_network = o->other_buf;
		}
		if (strcmp(o->other_network, o->network) == 0)
			argp_error(st, "--other-network must differ from --network");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

void options_parse(int argc, char **argv, struct farm_opts *o)
{
	*o = (struct farm_opts){
		.name = "default",
		.seed = 1,
		.total = 200,
		.port = 26656,
		.seeds = 2,
		.slow_ms = 800,
		.flap_up_ms = 10000,
		.flap_down_ms = 10000,
		.max_conns = 4096,
		.network = "mukan-testnet",
		.knows = 32,
		.seed_knows = 250,
		.handshake_timeout_ms = 20000,
		.ping_interval_ms = 60000,
		.pong_timeout_ms = 45000,
		.drip_ms = 1000,
	};
	argp_err_exit_status = 2; /* usage errors, as the other mukan tools */
	struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	argp_parse(&argp, argc, argv, 0, NULL, o);
}
