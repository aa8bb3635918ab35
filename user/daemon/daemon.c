/* SPDX-License-Identifier: Apache-2.0 */
/* daemon.c - start-up, the loop, and an orderly stop. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "book/book_file.h"
#include "handoff/handoff.h"
#include "kern/kern.h"
#include "mukan/rules.h"

#define HOUSEKEEPING_NS 1000000000LL /* bans, config, kernel events: once a second */
#define KERNEL_DEADLINE_MARGIN_MS 500 /* the engine's backstop after the kernel's SYN deadline */

static int fail(char *err, size_t errsz, int e, const char *what)
{
	snprintf(err, errsz, "%s: %s", what, strerror(e < 0 ? -e : e));
	return e < 0 ? e : -e;
}

uint64_t daemon_seed(void)
{
	return (uint64_t)kern_now() ^ ((uint64_t)getpid() << 32);
}

static int add_persistent(void *ctx, const struct netaddr *na)
{
	struct daemon *d = ctx;
	return manager_add_persistent(d->mgr, na, kern_now());
}

static int add_seed(void *ctx, const struct netaddr *na)
{
	return manager_add_seed(((struct daemon *)ctx)->mgr, na);
}

static int add_unconditional(void *ctx, const struct netaddr *na)
{
	return manager_add_unconditional(((struct daemon *)ctx)->mgr, na->id);
}

static int add_private(void *ctx, const struct netaddr *na)
{
	return book_add_private_id(((struct daemon *)ctx)->book, na->id);
}

static int start_manager(struct daemon *d, char *err, size_t errsz)
{
	struct manager_config mc;
	manager_config_defaults(&mc, d->cfg.policy == POLICY_COMETBFT ? MANAGER_POLICY_COMETBFT
								      : MANAGER_POLICY_MUKAN);
	mc.max_outbound = d->cfg.max_outbound;
	if (mc.policy == MANAGER_POLICY_MUKAN) {
		/* Race dials for free slots (connections never exceed the limit: a
		 * surplus is closed, the rest cancelled), leaving room in the engine
		 * for persistent peers. */
		mc.overdial = d->cfg.overdial;
		mc.max_dialing = d->cfg.max_inflight > 8 ? d->cfg.max_inflight - 8 : 1;
	}
	mc.ensure_period_ns = d->cfg.ensure_period_ns;
	mc.allow_duplicate_ip = d->cfg.allow_duplicate_ip;
	mc.record_outcomes = d->kern == NULL; /* the kernel records them otherwise */
	/* A peer that hangs up before a handshake could finish is a failed dial. */
	mc.min_session_ns = d->cfg.handshake_timeout_ns;
	mc.rules = d->rules;
	mc.persist.max_period_ns = d->cfg.persistent_max_dial_period_ns;
	mc.seed = daemon_seed();
	int e = manager_new(&d->mgr, d->book, &mc);
	if (e < 0)
		return fail(err, errsz, e, "peer manager");
	if ((e = peer_list_each(d->cfg.private_peer_ids, true, add_private, d, err, errsz)) < 0 ||
	    (e = peer_list_each(d->cfg.unconditional_peer_ids, true, add_unconditional, d, err,
				errsz)) < 0 ||
	    (e = peer_list_each(d->cfg.persistent_peers, false, add_persistent, d, err, errsz)) < 0 ||
	    (e = peer_list_each(d->cfg.seeds, false, add_seed, d, err, errsz)) < 0)
		return e;
	return manager_start(d->mgr, kern_now());
}

static int open_sockets(struct daemon *d, char *err, size_t errsz)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return fail(err, errsz, -errno, "signalfd");
	daemon_arm_poll(d, d->sigfd, TAG_SIGNAL, 0, POLLIN, true);
	int e = control_open(d, d->cfg.control);
	if (e < 0)
		return fail(err, errsz, e, d->cfg.control);
	if (d->cfg.handoff[0] && (e = node_open(d, d->cfg.handoff)) < 0)
		return fail(err, errsz, e, d->cfg.handoff);
	return 0;
}

/* CQEs of the daemon's own that the engine meets while it waits (at stop). */
static void foreign_cqe(void *ctx, const struct io_uring_cqe *cqe)
{
	daemon_on_cqe(ctx, cqe, kern_now());
}

static int check_entry(void *ctx, const struct netaddr *na)
{
	(void)ctx;
	(void)na;
	return 0;
}

int daemon_init(struct daemon *d, const struct dialer_config *cfg, char *err, size_t errsz)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->sigfd = d->ctl.listen_fd = d->node.listen_fd = d->node.fd = -1;
	d->home_lock_fd = d->pin_lock_fd = -1;
	for (unsigned i = 0; i < FD_SAVE_RESERVE; i++)
		d->fd_reserve[i] = -1;
	d->started = kern_now();
	rules_config_defaults(&d->rules);
	d->rules.dial_timeout_ms = (uint32_t)(cfg->dial_timeout_ns / 1000000);
	mkdir(cfg->home, 0750);

	int e;
	/* Every list is checked before anything is created (pins, cgroup, sockets). */
	if ((e = peer_list_each(cfg->seeds, false, check_entry, NULL, err, errsz)) < 0 ||
	    (e = peer_list_each(cfg->persistent_peers, false, check_entry, NULL, err, errsz)) < 0 ||
	    (e = peer_list_each(cfg->unconditional_peer_ids, true, check_entry, NULL, err,
				errsz)) < 0 ||
	    (e = peer_list_each(cfg->private_peer_ids, true, check_entry, NULL, err, errsz)) < 0)
		return e;
	/* Enough descriptors for what the settings allow, or a refusal naming them. */
	fd_need_compute(cfg, &d->fd_need);
	if ((e = fd_limit_ensure(&d->fd_need, &d->fd_limit, err, errsz)) < 0)
		return e;
	fd_reserve_take(d);
	/* Nothing created, pinned, attached or listened on before both locks are ours. */
	if ((e = daemon_lock(d, err, errsz)) < 0)
		return e;
	struct book *file;
	if ((e = daemon_load_book_file(d, &file, err, errsz)) < 0)
		return e;
	if (cfg->bpf) {
		/* A new map (or an empty one too small) is made big enough for the file. */
		uint32_t need = file ? book_file_count(file) : 0;
		/* Join the cgroup the programs watch, so our own dials are recorded. */
		if ((e = daemon_cgroup_open(&d->cg, cfg->cgroup, err, errsz)) < 0) {
			book_free(file);
			return e;
		}
		struct kern_opts ko = { .pin_dir = cfg->pin_dir, .cgroup = d->cg.path,
					.capacity = need > cfg->book_capacity ? need : cfg->book_capacity,
					.min_capacity = need };
		if ((e = kern_open(&d->kern, &ko, err, errsz)) < 0 ||
		    (e = daemon_cgroup_join(&d->cg, err, errsz)) < 0) {
			book_free(file);
			return e;
		}
		struct mukan_config kc;
		if (kern_config_read(d->kern, &kc) == 0 && !kern_config_problem(&kc)) {
			/* Our dial timeout is the kernel's SYN deadline too. */
			kc.dial_timeout_ms = d->rules.dial_timeout_ms;
			kern_config_write(d->kern, &kc, err, errsz);
			d->rules = kc;
		}
	}
	if ((e = daemon_open_book(d, file, err, errsz)) < 0)
		return e;
	daemon_records_watch(d);

	unsigned k = cfg->max_inflight;
	if ((e = io_uring_queue_init(ENGINE_SQES_PER_DIAL * k + 64, &d->ring, 0)) < 0)
		return fail(err, errsz, e, "io_uring");
	/*
	 * With BPF the kernel times the SYN out itself at the dial timeout and
	 * records ETIMEDOUT; the engine's own deadline is then only a backstop,
	 * a little later, or it would close the socket first and the kernel
	 * would see an abandoned dial instead of a timeout.
	 */
	unsigned timeout_ms = (unsigned)(cfg->dial_timeout_ns / 1000000);
	struct engine_opts eo = { .max_inflight = k,
				  .timeout_ms = timeout_ms + (d->kern ? KERNEL_DEADLINE_MARGIN_MS : 0),
				  .foreign_cqe = foreign_cqe, .foreign_ctx = d };
	if ((e = engine_new(&d->engine, &d->ring, &eo)) < 0)
		return fail(err, errsz, e, "dial engine");
	d->pending = calloc(k, sizeof(*d->pending));
	if (!d->pending)
		return fail(err, errsz, -ENOMEM, "dial table");
	if ((e = open_sockets(d, err, errsz)) < 0)
		return e;
	if ((e = start_manager(d, err, errsz)) < 0)
		return e;
	d->next_save = d->started + cfg->save_interval_ns;
	fd_budget_settle(d);
	return 0;
}

/* Once a second: kernel bans into the book, the config map, the event ring. */
static int on_kernel_event(void *ctx, const struct mukan_event *e)
{
	struct daemon *d = ctx;
	d->kernel_events++;
	/* A record the kernel changed, maybe for a connect we did not make: status counts it. */
	if (e->kind != MUKAN_EV_CONNECT && e->kind != MUKAN_EV_GATED)
		manager_note_record(d->mgr, e->slot, kern_now());
	return 0;
}

static void housekeeping(struct daemon *d, int64_t now)
{
	if (d->kern) {
		struct mukan_config kc;
		if (kern_config_read(d->kern, &kc) == 0 && kc.generation != d->config_generation) {
			d->config_generation = kc.generation;
			const char *why = kern_config_problem(&kc);
			if (why) {
				/* Written raw (bpftool): report it, keep the last valid rules. */
				if (strcmp(why, d->last_config_problem) != 0)
					fprintf(stderr, "mukan-dialerd: config map refused: %s; the kernel "
						"clamps it, the daemon keeps its last valid rules\n", why);
				snprintf(d->last_config_problem, sizeof(d->last_config_problem), "%s", why);
			} else {
				d->last_config_problem[0] = '\0';
				d->rules = kc;
				manager_set_rules(d->mgr, &kc);
			}
		}
		kern_events_poll(d->kern, on_kernel_event, d, 0);
		uint64_t gen = kern_records_gen(d->kern);
		if (gen != d->records_seen) {
			/* Another process wrote records (bpftool, or a tool that skipped the lock). */
			d->records_seen = gen;
			daemon_records_resync(d);
			manager_recount(d->mgr, now);
		}
		daemon_records_check(d);
	}
	/* Listeners that ran out of descriptors listen again. */
	control_resume(d);
	node_resume(d);
	d->next_housekeeping = now + HOUSEKEEPING_NS;
}

/*
 * Every save advances the book's generation; with BPF the map records it, so
 * the next start knows the map holds all of this file. A file holding
 * another book or more records is kept aside first (book_save_guarded).
 */
int daemon_save(struct daemon *d, char *err, size_t errsz)
{
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	struct mukan_book_meta *m = d->kern ? kern_meta(d->kern) : NULL;
	uint64_t gen = (m ? m->book_gen : book_file_generation(d->book)) + 1;
	book_set_file_generation(d->book, gen);
	char kept[CONFIG_PATH_MAX + 256] = "";
	/* The reserve is for this: a save never meets "Too many open files". */
	fd_reserve_give(d);
	int e = book_save_guarded(d->book, d->book_path, &fo, &d->file_seen, kept, sizeof(kept),
				  err, errsz);
	fd_reserve_take(d);
	if (kept[0])
		fprintf(stderr, "mukan-dialerd: %s; saved %u addresses (generation %llu) in its "
				"place\n",
			kept, book_file_count(d->book), (unsigned long long)gen);
	if (e == 0 && m) {
		m->book_gen = gen;
		m->synced_unix_ns = kern_now() + kern_wall_offset();
	}
	return e;
}

static void reload(struct daemon *d)
{
	struct dialer_config c = d->cfg;
	char err[512];
	char path[CONFIG_PATH_MAX + 32];
	if (c.config_file[0])
		snprintf(path, sizeof(path), "%s", c.config_file);
	else
		snprintf(path, sizeof(path), "%s/mukan-dialerd.conf", c.home);
	int e = config_load_file(&c, path, err, sizeof(err));
	if (e < 0 && e != -ENOENT) {
		fprintf(stderr, "mukan-dialerd: SIGHUP: %s; settings unchanged\n", err);
		return;
	}
	/* The command line wins over the file, now as at start. */
	if (config_apply_flags(&c, &d->cfg.flags, err, sizeof(err)) < 0) {
		fprintf(stderr, "mukan-dialerd: SIGHUP: %s; settings unchanged\n", err);
		return;
	}
	if (c.max_outbound != d->cfg.max_outbound)
		manager_set_max_outbound(d->mgr, c.max_outbound, kern_now());
	d->cfg.max_outbound = c.max_outbound;
	daemon_drop_surplus(d, kern_now());
	fprintf(stderr, "mukan-dialerd: SIGHUP: settings reloaded (max_outbound %u)%s\n",
		c.max_outbound,
		config_flag_given(&d->cfg.flags, "max_outbound") ? ", as --max-outbound says" : "");
}

static void timeout_until(struct __kernel_timespec *ts, int64_t now, int64_t when)
{
	int64_t wait = when > now ? when - now : 0;
	ts->tv_sec = wait / 1000000000LL;
	ts->tv_nsec = wait % 1000000000LL;
}

/* One turn: decide, submit, wait for anything, handle everything that came. */
static void turn(struct daemon *d)
{
	int64_t now = kern_now();
	if (now >= manager_next_wakeup(d->mgr, now))
		manager_tick(d->mgr, now);
	daemon_drain_actions(d, now);
	if (now >= d->next_housekeeping)
		housekeeping(d, now);
	if (now >= d->next_save) {
		char err[512];
		if (daemon_save(d, err, sizeof(err)) < 0)
			fprintf(stderr, "mukan-dialerd: %s\n", err);
		d->next_save = now + d->cfg.save_interval_ns;
	}
	control_expire(d, now);
	node_expire(d, now);
	int64_t when = manager_next_wakeup(d->mgr, now);
	int64_t other[] = { d->next_housekeeping, d->next_save, control_next_deadline(d),
			    node_next_deadline(d) };
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (other[i] < when)
			when = other[i];
	struct __kernel_timespec ts;
	timeout_until(&ts, now, when);
	struct io_uring_cqe *cqe;
	int e = io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &ts, NULL);
	if (e < 0 && e != -ETIME && e != -EINTR)
		fprintf(stderr, "mukan-dialerd: io_uring: %s\n", strerror(-e));
	unsigned head, n = 0;
	now = kern_now();
	io_uring_for_each_cqe(&d->ring, head, cqe) {
		daemon_on_cqe(d, cqe, now);
		n++;
	}
	io_uring_cq_advance(&d->ring, n);
}

/* Stop dialing, let every dial in flight finish, keep what is connected. */
static void stop(struct daemon *d)
{
	manager_stop(d->mgr);
	daemon_drain_actions(d, kern_now());
	engine_cancel_all(d->engine);
	for (int i = 0; i < 100 && engine_inflight(d->engine) > 0; i++) {
		struct dial_result r[16];
		int n = engine_wait(d->engine, r, 16, 50);
		for (int k = 0; k < n; k++)
			daemon_on_dial_result(d, &r[k], kern_now());
	}
}

int daemon_run(struct daemon *d, char *err, size_t errsz)
{
	while (!d->stopping) {
		turn(d);
		if (d->reload) {
			d->reload = false;
			reload(d);
		}
	}
	stop(d);
	return daemon_save(d, err, errsz);
}

void daemon_free(struct daemon *d)
{
	/* Before the ring goes: closing a client removes its poll there. */
	if (d->ring.ring_fd > 0) {
		control_close(d, d->cfg.control);
		node_close(d, d->cfg.handoff);
	}
	for (uint32_t i = 0; i < d->n_conns; i++)
		if (d->conns[i].fd >= 0)
			close(d->conns[i].fd);
	free(d->conns);
	manager_free(d->mgr);
	engine_free(d->engine);
	if (d->ring.ring_fd > 0)
		io_uring_queue_exit(&d->ring);
	free(d->pending);
	book_free(d->book);
	daemon_meta_own(d, false);
	kern_close(d->kern);
	kern_unlock(d->pin_lock_fd);
	if (d->home_lock_fd >= 0)
		close(d->home_lock_fd);
	daemon_cgroup_close(&d->cg);
	if (d->sigfd >= 0)
		close(d->sigfd);
	fd_reserve_give(d);
}
