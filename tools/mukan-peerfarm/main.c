/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mukan-peerfarm - a local test network of CometBFT peers for the dialer:
 * peers that speak the p2p protocol with keys of their own, peers that
 * misbehave in it, and closed, black-holed, unreachable, slow and flapping
 * addresses, in a network namespace of its own, described as an
 * addrbook.json, a seeds list and a manifest; torn down on
 * SIGINT/SIGTERM/SIGHUP, --duration, or error.
 *
 * Order of work: plan (pure: keys, categories, who knows whom), namespace,
 * IPv6 addresses, nftables, listeners and the ring, files (manifest last:
 * "ready"), serve, tear down in reverse.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "book_out.h"
#include "cleanup.h"
#include "firewall.h"
#include "loop.h"
#include "loopback6.h"
#include "manifest.h"
#include "netns.h"
#include "options.h"
#include "outfiles.h"
#include "plan.h"
#include "summary.h"

/* Every listener and every held connection is a descriptor. */
static int raise_fd_limit(const struct farm *f, char *err, size_t errsz)
{
	rlim_t need = (rlim_t)f->n_peers + f->opts.max_conns + 64;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		snprintf(err, errsz, "RLIMIT_NOFILE allows %llu descriptors, %llu needed for "
			 "the listeners and --max-conns", (unsigned long long)rl.rlim_max,
			 (unsigned long long)need);
		return -EMFILE;
	}
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

/* Everything that needs the namespace, in order; stops at the first failure. */
static int build_network(struct farm *f, struct farm_ns *ns, const sigset_t *stop,
			 const char *dir, struct farm_loop **loop, char *err, size_t errsz)
{
	int e = netns_create_enter(ns, err, errsz);
	if (!e)
		e = out_forget_manifest(dir, err, errsz);
	if (!e)
		e = loopback6_add(f, err, errsz);
	char *rules = NULL;
	size_t rules_len = 0;
	if (!e && (e = firewall_render(f, &rules, &rules_len)) < 0)
		snprintf(err, errsz, "nftables rules: out of memory");
	if (!e)
		e = out_write(dir, OUT_NFT, rules, rules_len, err, errsz);
	if (!e)
		e = firewall_load(rules, rules_len, err, errsz);
	free(rules);
	if (!e)
		e = loop_start(f, stop, loop, err, errsz);
	if (!e)
		e = book_out_write(f, dir, err, errsz);
	if (!e)
		e = out_seeds(f, dir, err, errsz);
	if (!e)
		e = manifest_write(f, dir, err, errsz);
	return e;
}

/* Undo in reverse whatever exists; 0 if all of it is gone. */
static int tear_down(struct farm_ns *ns, struct farm_loop *loop)
{
	loop_free(loop);
	int e = 0;
	if (ns->entered && firewall_remove() < 0) {
		fprintf(stderr, FARM_TOOL ": could not delete table inet " FARM_NFT_TABLE "\n");
		e = -EIO;
	}
	bool created = ns->created;
	if (netns_leave_remove(ns, created) < 0) {
		fprintf(stderr, FARM_TOOL ": could not remove %s: run " FARM_TOOL " --cleanup %s\n",
			ns->name, ns->name + strlen(FARM_NS_PREFIX));
		e = -EIO;
	}
	return e;
}

static int farm_run(struct farm *f)
{
	char err[1024] = "", dir[PATH_MAX];
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	/* Blocked from the start: a signal during setup waits for the loop, then tears down. */
	sigprocmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	int e = plan_build(f, err, sizeof(err));
	if (!e)
		e = outdir_prepare(f->opts.out_dir, dir, err, sizeof(err));
	if (!e)
		e = raise_fd_limit(f, err, sizeof(err));
	if (e) {
		fprintf(stderr, FARM_TOOL ": %s\n", err[0] ? err : strerror(-e));
		plan_free(f);
		return 1;
	}

	struct farm_ns ns;
	struct farm_loop *loop = NULL;
	netns_init(&ns, f->opts.name);
	snprintf(f->ns_name, sizeof(f->ns_name), "%s", ns.name);
	e = build_network(f, &ns, &stop, dir, &loop, err, sizeof(err));
	int sig = 0;
	if (!e) {
		summary_print_up(f, dir);
		sig = loop_run(loop, f->opts.duration_ms);
		if (sig < 0) {
			e = sig;
			snprintf(err, sizeof(err), "event loop: %s", strerror(-sig));
		}
	}
	if (e)
		fprintf(stderr, FARM_TOOL ": %s; tearing down\n", err[0] ? err : strerror(-e));
	struct farm_stats st = { 0 };
	if (loop)
		st = *loop_stats(loop);
	int td = tear_down(&ns, loop);
	if (!e) {
		printf(FARM_TOOL ": %s: %llu connections accepted (%llu closed over --max-conns), "
		       "%llu handshakes, %llu sessions, %llu PEX replies; %s %s\n",
		       sig > 0 ? strsignal(sig) : "duration over", (unsigned long long)st.accepted,
		       (unsigned long long)st.over_cap, (unsigned long long)st.sc_open,
		       (unsigned long long)st.sessions, (unsigned long long)st.pex_replies,
		       ns.name, td ? "NOT fully removed" : "removed");
		summary_print_ended(&st);
	}
	plan_free(f);
	return e || td ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct farm f = { 0 };
	options_parse(argc, argv, &f.opts);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		fprintf(stderr, FARM_TOOL ": needs root (network namespaces, nftables)\n");
		return 1;
	}
	if (f.opts.cleanup)
		return cleanup_run(f.opts.cleanup);
	if (sodium_init() < 0) {
		fprintf(stderr, FARM_TOOL ": libsodium cannot start (no entropy source)\n");
		return 1;
	}
	return farm_run(&f);
}
