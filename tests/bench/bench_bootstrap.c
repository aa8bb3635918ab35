/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_bootstrap.c - time until every outbound slot is connected, on the
 * virtual clock (user/manager/sim.c), policy mukan against policy cometbft
 * over the same network model and the same seeds.
 *
 * The scenario (issue 5): 200 addresses in the book, 90% black-holed (a dial
 * to one ends after the 1 s dial timeout), 10 outbound slots; a live peer
 * answers in 3 round trips of 20 ms (TCP, SecretConnection, NodeInfo).
 * Upstream's schedule takes minutes of real time, hence the virtual clock;
 * the real-socket figure (bootstrap_s_mukan) comes from the daemon.
 *
 * Runs of RUNS seeds each:
 *  - cometbft: upstream's 30 s rounds and dial history;
 *  - mukan: the default, the exact limit (connected + dialing <= 10),
 *    event-driven refill;
 *  - mukan_overdial: up to OVERDIAL dials per free slot, at most K in flight
 *    (K_WINDOW; K/2 and 2K shown beside it), never more than 10 kept (a
 *    surplus connection is closed, the other dials cancelled).
 *
 * Output: a readable table (median, p90, max, mean dials, peaks), then
 * `bench: <name> <value> <unit>` lines; the headline values are medians.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/sim.h"
#include "mukan/rules.h"

#define RUNS 41
#define K_WINDOW 64
#define OVERDIAL 16

struct summary {
	double median_s, p90_s, max_s, mean_dials;
	uint32_t peak_connected, peak_slot_sum, peak_in_flight, unfilled;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run_many(const struct sim_config *base, struct summary *out)
{
	double t[RUNS];
	double dials = 0;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < RUNS; i++) {
		struct sim_config c = *base;
		struct sim_result r;
		c.seed = 1000 + (uint64_t)i;
		int err = sim_bootstrap(&c, &r);
		if (err < 0) {
			fprintf(stderr, "bench_bootstrap: simulation failed: %d\n", err);
			return err;
		}
		if (r.fill_ns < 0) {
			out->unfilled++;
			t[i] = (double)c.limit_ns / 1e9;
		} else {
			t[i] = (double)r.fill_ns / 1e9;
		}
		dials += (double)r.dials;
		if (r.peak_connected > out->peak_connected)
			out->peak_connected = r.peak_connected;
		if (r.peak_slot_sum > out->peak_slot_sum)
			out->peak_slot_sum = r.peak_slot_sum;
		if (r.peak_in_flight > out->peak_in_flight)
			out->peak_in_flight = r.peak_in_flight;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	out->median_s = t[RUNS / 2];
	out->p90_s = t[RUNS * 9 / 10];
	out->max_s = t[RUNS - 1];
	out->mean_dials = dials / RUNS;
	return 0;
}

static void row(const char *name, const struct summary *s)
{
	printf("  %-20s %9.3f %9.3f %9.3f %9.1f %6u %8u %8u %6u\n", name, s->median_s, s->p90_s,
	       s->max_s, s->mean_dials, s->peak_connected, s->peak_slot_sum, s->peak_in_flight,
	       s->unfilled);
}

static struct sim_config overdial_config(uint32_t k)
{
	struct sim_config c;
	sim_config_defaults(&c, MANAGER_POLICY_MUKAN);
	c.window = k;
	c.mgr.overdial = OVERDIAL;
	c.mgr.max_dialing = k;
	return c;
}

int main(void)
{
	struct sim_config cmt, muk, half = overdial_config(K_WINDOW / 2), race = overdial_config(K_WINDOW),
				       dbl = overdial_config(K_WINDOW * 2);
	sim_config_defaults(&cmt, MANAGER_POLICY_COMETBFT);
	sim_config_defaults(&muk, MANAGER_POLICY_MUKAN);
	cmt.limit_ns = muk.limit_ns = 2 * 3600 * MUKAN_NS_PER_SEC;
	muk.window = K_WINDOW;

	struct summary s_cmt, s_muk, s_half, s_race, s_dbl;
	if (run_many(&cmt, &s_cmt) < 0 || run_many(&muk, &s_muk) < 0 || run_many(&half, &s_half) < 0 ||
	    run_many(&race, &s_race) < 0 || run_many(&dbl, &s_dbl) < 0)
		return 1;

	printf("bootstrap on the virtual clock: %u addresses, %u%% live, %u slots, dial timeout %.1f s,\n"
	       "live peer %u x %.0f ms RTT, %d seeds per policy (same networks)\n\n",
	       muk.n_addrs, muk.live_percent, muk.mgr.max_outbound,
	       (double)muk.dial_timeout_ns / 1e9, muk.live_rtts, (double)muk.rtt_ns / 1e6, RUNS);
	printf("  %-20s %9s %9s %9s %9s %6s %8s %8s %6s\n", "policy", "median_s", "p90_s", "max_s",
	       "dials", "conn", "conn+dl", "flight", "unfill");
	row("cometbft", &s_cmt);
	row("mukan", &s_muk);
	char name[32];
	snprintf(name, sizeof(name), "mukan_overdial K=%u", K_WINDOW / 2);
	row(name, &s_half);
	snprintf(name, sizeof(name), "mukan_overdial K=%u", K_WINDOW);
	row(name, &s_race);
	snprintf(name, sizeof(name), "mukan_overdial K=%u", K_WINDOW * 2);
	row(name, &s_dbl);
	printf("\n  conn: most outbound connections ever held (never above %u);\n"
	       "  conn+dl: most connections + slot dials (the exact rule keeps it <= %u);\n"
	       "  flight: most dials in flight; unfill: runs not filled within %.0f s;\n"
	       "  mukan_overdial: %u dials per free slot, at most K in flight\n\n",
	       muk.mgr.max_outbound, muk.mgr.max_outbound, (double)muk.limit_ns / 1e9, OVERDIAL);
	printf("  mukan is %.0fx faster than cometbft with the exact limit, %.0fx over-dialing (K=%u)\n\n",
	       s_cmt.median_s / s_muk.median_s, s_cmt.median_s / s_race.median_s, K_WINDOW);

	/* The daemon's default is the over-dialing mukan policy (K=64). The
	 * upstream schedule takes minutes of real time, so its figure is the
	 * virtual one; bench_bootstrap_live measures ours on real sockets. */
	printf("bench: bootstrap_s_cometbft %.3f s\n", s_cmt.median_s);
	printf("bench: bootstrap_virtual_s_cometbft %.3f s\n", s_cmt.median_s);
	printf("bench: bootstrap_virtual_s_mukan %.3f s\n", s_race.median_s);
	printf("bench: bootstrap_virtual_s_mukan_exact %.3f s\n", s_muk.median_s);
	printf("bench: bootstrap_virtual_ratio_mukan_vs_cometbft %.1f x\n",
	       s_cmt.median_s / s_race.median_s);
	printf("bench: bootstrap_virtual_ratio_exact_vs_cometbft %.1f x\n",
	       s_cmt.median_s / s_muk.median_s);
	return 0;
}
