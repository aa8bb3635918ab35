/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mukan-dialerd - keep a validator's outbound peer slots full.
 * Settings: defaults < CometBFT config.toml [p2p] < our file < flags
 * (docs/config.md).
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"

static const char doc[] =
	"Keep max_num_outbound_peers outbound peers connected: pick from a CometBFT-compatible "
	"address book, dial many at once on io_uring, record every outcome in the kernel (eBPF), "
	"hand connected sockets to the node.\n"
	"\n"
	"EXAMPLES:\n"
	"  mukan-dialerd --home /var/lib/mukan-dialer --cometbft-config ~/.cometbft/config/config.toml\n"
	"  mukan-dialerd --book addrbook.json --no-strict --seeds ID@127.0.0.1:26656 --max-outbound 10\n"
	"  mukan-dialerd --no-bpf --policy cometbft      # upstream's schedule, as a baseline\n"
	"\v"
	"Signals: SIGTERM/SIGINT stop dialing, close cleanly and save the book; SIGHUP re-reads "
	"the settings file (--config, default <home>/mukan-dialerd.conf) and applies its max_outbound (a flag given here still wins). Status: mukan-dialctl status --control PATH.\n"
	"One daemon per pin dir and per home: a second one exits (status 1) naming the pid that "
	"holds them. A pinned map holding another book than --book is refused (status 1); "
	"--reimport or `mukan-dialctl bpf detach --purge --yes` resolves it (docs/live.md).";

enum {
	OPT_COMETBFT = 256, OPT_BOOK, OPT_MAX_OUT, OPT_NO_STRICT, OPT_SEEDS, OPT_PERSISTENT,
	OPT_DIAL_TIMEOUT, OPT_POLICY, OPT_NO_BPF, OPT_CGROUP, OPT_CONTROL, OPT_HANDOFF,
	OPT_PIN_DIR, OPT_MAX_INFLIGHT, OPT_ENSURE, OPT_SAVE, OPT_OVERDIAL, OPT_CAPACITY,
	OPT_REIMPORT,
};

static const struct argp_option options[] = {
	{ "home", 'H', "DIR", 0, "State directory (default /var/lib/mukan-dialer)", 0 },
	{ "config", 'c', "FILE", 0, "Settings file (default <home>/mukan-dialerd.conf)", 0 },
	{ "cometbft-config", OPT_COMETBFT, "FILE", 0, "Read the [p2p] keys of a CometBFT config.toml", 0 },
	{ "book", OPT_BOOK, "FILE", 0, "addrbook.json (default <home>/addrbook.json)", 0 },
	{ "max-outbound", OPT_MAX_OUT, "N", 0, "Outbound peers to keep (default 10)", 0 },
	{ "no-strict", OPT_NO_STRICT, NULL, 0, "Accept non-routable addresses (addr_book_strict = false)", 0 },
	{ "seeds", OPT_SEEDS, "LIST", 0, "Seeds, id@host:port,...", 0 },
	{ "persistent-peers", OPT_PERSISTENT, "LIST", 0, "Persistent peers, id@host:port,...", 0 },
	{ "dial-timeout", OPT_DIAL_TIMEOUT, "MS", 0, "TCP dial deadline in ms (default 1000)", 0 },
	{ "policy", OPT_POLICY, "mukan|cometbft", 0, "Dial schedule (default mukan)", 0 },
	{ "no-bpf", OPT_NO_BPF, NULL, 0, "Do not load the kernel programs", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "cgroup v2 to attach to (default <cgroup2>/mukan-dialer)", 0 },
	{ "control", OPT_CONTROL, "PATH", 0, "Control socket (default <home>/control.sock)", 0 },
	{ "handoff", OPT_HANDOFF, "PATH", 0, "Hand connected sockets to the node here", 0 },
	{ "pin-dir", OPT_PIN_DIR, "DIR", 0, "bpffs directory of the maps (default /sys/fs/bpf/mukan)", 0 },
	{ "max-inflight", OPT_MAX_INFLIGHT, "K", 0, "Dials in flight at once (default 256)", 0 },
	{ "overdial", OPT_OVERDIAL, "N", 0,
	  "Dials per free slot (default 16; 1 = upstream's connected + dialing <= max)", 0 },
	{ "ensure-period", OPT_ENSURE, "DUR", 0, "Ensure-peers round (default 30s)", 0 },
	{ "save-interval", OPT_SAVE, "DUR", 0, "Book save period (default 2m)", 0 },
	{ "capacity", OPT_CAPACITY, "N", 0,
	  "Book slots (64..1048576, default 32768): the most records a book file may hold, "
	  "and the size of a new map (made bigger if the file holds more)", 0 },
	{ "reimport", OPT_REIMPORT, NULL, 0,
	  "Replace the pinned map's records with the book file's, after saving them beside "
	  "the file (PATH.map-<UTC time>): for a map that holds another book", 0 },
	{ 0 }
};

/* Flags are applied after the files (and again on SIGHUP), so they are kept as key/value pairs. */
struct flags {
	const char *config, *cometbft;
	bool reimport;
	struct config_flags set;
	char timeout[32];
};

static void push(struct argp_state *st, struct flags *f, const char *key, const char *value)
{
	if (f->set.n == CONFIG_FLAGS_MAX)
		argp_error(st, "too many options");
	f->set.key[f->set.n] = key;
	f->set.value[f->set.n++] = value;
}

static error_t parse(int key, char *arg, struct argp_state *st)
{
	struct flags *f = st->input;
	switch (key) {
	case 'H': push(st, f, "home", arg); return 0;
	case 'c': f->config = arg; return 0;
	case OPT_COMETBFT: f->cometbft = arg; return 0;
	case OPT_BOOK: push(st, f, "book", arg); return 0;
	case OPT_MAX_OUT: push(st, f, "max_outbound", arg); return 0;
	case OPT_NO_STRICT: push(st, f, "strict", "false"); return 0;
	case OPT_SEEDS: push(st, f, "seeds", arg); return 0;
	case OPT_PERSISTENT: push(st, f, "persistent_peers", arg); return 0;
	case OPT_DIAL_TIMEOUT:
		snprintf(f->timeout, sizeof(f->timeout), "%sms", arg);
		push(st, f, "dial_timeout", f->timeout);
		return 0;
	case OPT_POLICY: push(st, f, "policy", arg); return 0;
	case OPT_NO_BPF: push(st, f, "bpf", "false"); return 0;
	case OPT_CGROUP: push(st, f, "cgroup", arg); return 0;
	case OPT_CONTROL: push(st, f, "control", arg); return 0;
	case OPT_HANDOFF: push(st, f, "handoff", arg); return 0;
	case OPT_PIN_DIR: push(st, f, "pin_dir", arg); return 0;
	case OPT_MAX_INFLIGHT: push(st, f, "max_inflight", arg); return 0;
	case OPT_OVERDIAL: push(st, f, "overdial", arg); return 0;
	case OPT_ENSURE: push(st, f, "ensure_period", arg); return 0;
	case OPT_SAVE: push(st, f, "save_interval", arg); return 0;
	case OPT_CAPACITY: push(st, f, "book_capacity", arg); return 0;
	case OPT_REIMPORT: f->reimport = true; return 0;
	case ARGP_KEY_ARG: argp_error(st, "no arguments expected ('%s')", arg); return 0;
	default: return ARGP_ERR_UNKNOWN;
	}
}

static int apply_flags(struct dialer_config *c, const struct flags *f)
{
	char err[512];
	if (config_apply_flags(c, &f->set, err, sizeof(err)) < 0) {
		fprintf(stderr, "mukan-dialerd: %s\n", err);
		return -EINVAL;
	}
	c->flags = f->set;
	return 0;
}

static int settle(struct dialer_config *c, const struct flags *f)
{
	char err[1024];
	config_defaults(c);
	if (apply_flags(c, f) < 0) /* for --home, before the files are looked for */
		return -EINVAL;
	if (f->cometbft && config_import_cometbft(c, f->cometbft, err, sizeof(err)) < 0) {
		fprintf(stderr, "mukan-dialerd: %s\n", err);
		return -EINVAL;
	}
	char own[CONFIG_PATH_MAX + 32];
	snprintf(own, sizeof(own), "%s/mukan-dialerd.conf", c->home);
	const char *path = f->config ? f->config : own;
	int e = config_load_file(c, path, err, sizeof(err));
	if (e < 0 && (e != -ENOENT || f->config)) {
		if (e == -ENOENT)
			fprintf(stderr, "mukan-dialerd: %s: %s\n", path, strerror(ENOENT));
		else
			fprintf(stderr, "mukan-dialerd: %s\n", err);
		return e;
	}
	if (apply_flags(c, f) < 0) /* flags win over the files */
		return -EINVAL;
	snprintf(c->config_file, sizeof(c->config_file), "%.1000s", path);
	c->reimport = f->reimport;
	config_finish(c);
	return 0;
}

int main(int argc, char **argv)
{
	struct flags f = { 0 };
	struct argp argp = { options, parse, NULL, doc, NULL, NULL, NULL };
	argp_parse(&argp, argc, argv, 0, NULL, &f);

	struct dialer_config cfg;
	if (settle(&cfg, &f) < 0)
		return 2;
	static struct daemon d;
	char err[1024] = "";
	int e = daemon_init(&d, &cfg, err, sizeof(err));
	if (e < 0) {
		fprintf(stderr, "mukan-dialerd: %s\n", err);
		daemon_free(&d);
		return 1;
	}
	fprintf(stderr, "mukan-dialerd: running: %u outbound slots, policy %s, bpf %s, book %s\n",
		cfg.max_outbound, cfg.policy == POLICY_COMETBFT ? "cometbft" : "mukan",
		cfg.bpf ? "on" : "off", cfg.book);
	e = daemon_run(&d, err, sizeof(err));
	if (e < 0)
		fprintf(stderr, "mukan-dialerd: %s\n", err);
	else
		fprintf(stderr, "mukan-dialerd: stopped; book saved to %s\n", cfg.book);
	daemon_free(&d);
	return e < 0 ? 1 : 0;
}
