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

const char *argp_program_version = FARM_TOOL " 0.1";

static const char doc[] =
	"Build a test network of CometBFT peers in a network namespace of its own,\n"
	"write it out as addrbook.json, a seeds list and a manifest, keep it up until\n"
	"SIGINT/SIGTERM/SIGHUP (or --duration), then tear it all down.\n"
	"\n"
	"Each peer is an address 127.a.b.c (fdXX:XXXX::1 with --ipv6) on the loopback\n"
	"of namespace mukanfarm-NAME, all on one port. What a dialer sees:\n"
	"  live         a listener accepts and holds the connection until the dialer\n"
	"               closes it (whatever the dialer sends is read and dropped)\n"
	"  closed       nothing listens: the kernel answers RST -> ECONNREFUSED\n"
	"  blackhole    nftables drops every packet to it -> the dial times out\n"
	"  unreachable  nftables answers ICMP host-unreachable -> EHOSTUNREACH\n"
	"  slow         a listener, but nftables drops each attempt's SYNs for\n"
	"               --slow-delay: connect completes at the dialer's first SYN\n"
	"               retransmission after that (Linux: 1, 3, 7 s after the first)\n"
	"  flapping     a listener up for --flap-up, then closed with its connections\n"
	"               for --flap-down (ECONNREFUSED meanwhile), and so on\n"
	"Without category flags, --total addresses are 10% live, 40% closed, 40%\n"
	"blackhole, 5% unreachable, 3% slow, 2% flapping. Once one category is given\n"
	"the others default to 0. N is a count, P% a share of --total.\n"
	"\n"
	"Join with `nsenter --net=/run/netns/mukanfarm-NAME CMD` or setns() on that\n"
	"path; not `ip netns exec`, which remounts /sys and hides /sys/fs/bpf.\n"
	"\n"
	"Files in --out DIR:\n"
	"  addrbook.json  CometBFT format, for addr_book_strict = false; every address\n"
	"                 learned from the first seed; keys from --seed\n"
	"  seeds.txt      id@ip:port,... of live peers, as CometBFT's `seeds`\n"
	"  nftables.conf  the rules loaded in the namespace\n"
	"  manifest.json  namespace, pid, every peer with its category; written\n"
	"                 last, once the network is up: wait for it\n"
	"\n"
	"SIGINT, SIGTERM, SIGHUP and --duration tear down and exit 0; an error tears\n"
	"down and exits 1. SIGKILL cannot be caught and leaves the namespace and its\n"
	"rules behind: `mukan-peerfarm --cleanup NAME` removes them. Needs root.\n"
	"\n"
	"EXAMPLES:\n"
	"  mukan-peerfarm --out /tmp/farm              # 200 addresses, default mix\n"
	"  mukan-peerfarm -o /tmp/farm -n demo --total 1000 --seed 7\n"
	"  mukan-peerfarm -o /tmp/farm --live 10 --closed 40 --blackhole 40 \\\n"
	"      --unreachable 5 --slow 3 --flapping 2   # 100 addresses, by count\n"
	"  mukan-peerfarm -o /tmp/farm -t 400 --live 25% --blackhole 75% --ipv6 10\n"
	"  mukan-peerfarm -o /tmp/farm --flapping 5 --flap-up 2s --flap-down 500ms \\\n"
	"      --duration 30s\n"
	"  nsenter --net=/run/netns/mukanfarm-demo nft list table inet mukanfarm\n"
	"                                              # rules, with hit counters\n"
	"  mukan-peerfarm --cleanup demo               # after a kill -9"
	"\v"
	"Exit status: 0 torn down after a signal or --duration, or cleanup done;\n"
	"1 error (what was created is removed again); 2 usage error.";

enum {
	OPT_LIVE = 256,
	OPT_CLOSED,
	OPT_BLACKHOLE,
	OPT_UNREACHABLE,
	OPT_SLOW,
	OPT_FLAPPING,
	OPT_SEEDS,
	OPT_SLOW_DELAY,
	OPT_FLAP_UP,
	OPT_FLAP_DOWN,
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
	  "Seed of every random choice: addresses, categories, node IDs, book keys "
	  "(default 1)", 1 },
	{ "port", 'p', "PORT", 0, "TCP port of every peer (default 26656)", 1 },
	{ "ipv6", '6', "PERCENT", 0,
	  "Share of addresses that are IPv6 fdXX:XXXX::1/128, added to lo (default 0)", 1 },
	{ "seeds", OPT_SEEDS, "N", 0, "Live peers listed in seeds.txt (default 2)", 1 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0,
	  "Accepted connections held at once; beyond that a new one is accepted and closed "
	  "(default 4096)", 1 },
	{ "mukan", OPT_MUKAN, NULL, 0,
	  "Also write the book's \"mukan\" fields (hash key); default: upstream fields only",
	  1 },

	{ NULL, 0, NULL, 0, "How many of each (N or P% of --total):", 2 },
	{ "total", 't', "N", 0, "Base of P% and of the default mix (default 200)", 2 },
	{ "live", OPT_LIVE, "N|P%", 0, "Listeners that accept and hold", 2 },
	{ "closed", OPT_CLOSED, "N|P%", 0, "Nothing listening (refused)", 2 },
	{ "blackhole", OPT_BLACKHOLE, "N|P%", 0, "Packets dropped (dial times out)", 2 },
	{ "unreachable", OPT_UNREACHABLE, "N|P%", 0, "ICMP host-unreachable", 2 },
	{ "slow", OPT_SLOW, "N|P%", 0, "Listeners behind dropped first SYNs", 2 },
	{ "flapping", OPT_FLAPPING, "N|P%", 0, "Listeners going up and down", 2 },

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

static error_t parse_opt(int key, char *arg, struct argp_state *st)
{
	struct farm_opts *o = st->input;
	const uint64_t day_ms = 86400000ULL;
	if (key >= OPT_LIVE && key <= OPT_FLAPPING) {
		enum farm_cat c = (enum farm_cat)(key - OPT_LIVE);
		char flag[32];
		snprintf(flag, sizeof(flag), "--%s", farm_cat_name(c));
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
	};
	argp_err_exit_status = 2; /* usage errors, as the other mukan tools */
	struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	argp_parse(&argp, argc, argv, 0, NULL, o);
}
