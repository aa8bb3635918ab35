/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fd_budget.c - file descriptors: how many the settings can make the daemon
 * hold at once, the soft RLIMIT_NOFILE raised to that (never past the hard
 * limit; below it the daemon refuses to start, naming the numbers), and a
 * few descriptors held in reserve for the whole run and given back only for
 * a save, so that SIGTERM can always write the book whatever else is open.
 *
 * At run time nothing else can grow past the budget: dials stop at
 * max_inflight, connections at the outbound limit plus the persistent and
 * unconditional peers, control clients at their cap, nodes at one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"

static int count_entry(void *ctx, const struct netaddr *na)
{
	(void)na;
	(*(unsigned *)ctx)++;
	return 0;
}

static unsigned list_len(const char *list, bool ids_only)
{
	unsigned n = 0;
	char err[64];
	peer_list_each(list, ids_only, count_entry, &n, err, sizeof(err));
	return n;
}

void fd_need_compute(const struct dialer_config *cfg, struct fd_need *n)
{
	memset(n, 0, sizeof(*n));
	n->base = FD_BASE;
	n->dials = cfg->max_inflight + 1; /* + the route probe of engine_route.c */
	/* Kept while no node takes them: counted outbound, and the peers outside the limit. */
	n->conns = cfg->max_outbound + list_len(cfg->persistent_peers, false) +
		   list_len(cfg->unconditional_peer_ids, true);
	n->control = CONTROL_MAX_CLIENTS + 1; /* + one being turned away */
	n->node = cfg->handoff[0] ? 2 : 0;    /* the node, and a second one being turned away */
	n->reserve = FD_SAVE_RESERVE;
	n->total = n->base + n->dials + n->conns + n->control + n->node + n->reserve;
}

int fd_limit_ensure(const struct fd_need *n, unsigned *limit, char *err, size_t errsz)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, errsz, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -errno;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < n->total) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n->total) {
			unsigned rest = n->total - n->dials;
			char fix[64] = "";
			if (rl.rlim_max > rest + 1)
				snprintf(fix, sizeof(fix), " or lower --max-inflight to %llu",
					 (unsigned long long)(rl.rlim_max - rest - 1));
			snprintf(err, errsz,
				 "the settings need %u open files (max_inflight %u, %u connections, "
				 "%u control clients, %u for the daemon itself and a save) but the "
				 "hard limit is %llu: raise it (ulimit -Hn, LimitNOFILE= in a systemd "
				 "unit)%s",
				 n->total, n->dials - 1, n->conns, n->control - 1,
				 n->base + n->node + n->reserve, (unsigned long long)rl.rlim_max, fix);
			return -EMFILE;
		}
		rl.rlim_cur = n->total;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			int e = -errno;
			snprintf(err, errsz, "raising the open files limit to %u: %s", n->total,
				 strerror(-e));
			return e;
		}
	}
	*limit = rl.rlim_cur == RLIM_INFINITY ? UINT32_MAX : (unsigned)rl.rlim_cur;
	return 0;
}

unsigned fd_open_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return 0;
	unsigned n = 0;
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the directory's own */
}

void fd_reserve_take(struct daemon *d)
{
	for (unsigned i = 0; i < FD_SAVE_RESERVE; i++)
		if (d->fd_reserve[i] < 0)
			d->fd_reserve[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void fd_reserve_give(struct daemon *d)
{
	for (unsigned i = 0; i < FD_SAVE_RESERVE; i++) {
		if (d->fd_reserve[i] >= 0)
			close(d->fd_reserve[i]);
		d->fd_reserve[i] = -1;
	}
}

void fd_budget_settle(struct daemon *d)
{
	/* The base was an estimate: with what start-up really opened (the
	 * reserve among it), raise the limit further if that is needed. */
	struct fd_need n = d->fd_need;
	n.base = fd_open_count();
	n.reserve = 0;
	n.total = n.base + n.dials + n.conns + n.control + n.node;
	if (n.total <= d->fd_limit)
		return;
	char err[512];
	if (fd_limit_ensure(&n, &d->fd_limit, err, sizeof(err)) < 0)
		fprintf(stderr, "mukan-dialerd: warning: %s\n", err);
	else
		d->fd_need = n;
}
