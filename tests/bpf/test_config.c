/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c - a config written straight into the pinned map (as
 * `bpftool map update` would, bypassing kern_config_write): userspace names
 * the bad field and refuses to write the same values, and the kernel clamps
 * them (rules_config_clamp) instead of misbehaving.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "fixture.h"
#include "mukan/rules.h"

#define PORT 26656
#define IP "127.0.0.1"

TestSuite(config, .init = bt_setup, .fini = bt_teardown, .timeout = 20);

static void write_raw(const struct mukan_config *c)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/config", bt.pin_dir);
	int fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "bpf_obj_get %s: %s", path, strerror(errno));
	uint32_t zero = 0;
	int e = bpf_map_update_elem(fd, &zero, c, BPF_ANY);
	close(fd);
	cr_assert_eq(e, 0, "raw config update: %s", strerror(-e));
}

/* The problem text names the field, and kern_config_write refuses it. */
static void assert_refused(const struct mukan_config *c, const char *field)
{
	const char *why = kern_config_problem(c);
	cr_assert(why && strstr(why, field), "problem \"%s\" should name %s", why ? why : "", field);
	char err[256] = "";
	cr_assert_eq(kern_config_write(bt.k, c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, field), "kern_config_write said \"%s\", not naming %s", err, field);
}

Test(config, raw_zeroes_are_clamped)
{
	struct mukan_config c = bt_config_defaults();
	c.fail_limit = 0;
	c.backoff_base_ns = 0;
	c.backoff_cap_ns = 0;
	c.backoff_jitter_ns = 0;
	c.ban_ns = 0;
	write_raw(&c);

	assert_refused(&c, "fail_limit");
	struct mukan_config only_base = bt_config_defaults();
	only_base.backoff_base_ns = 0;
	assert_refused(&only_base, "backoff_base_ns");
	struct mukan_config now;
	cr_assert_eq(kern_config_read(bt.k, &now), 0);
	cr_assert_eq(memcmp(&now, &c, sizeof(c)), 0, "a refused write must change nothing");

	int slot = bt_add(IP, PORT);
	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	struct mukan_peer p = bt_peer(slot);
	cr_assert_eq(p.failures, 1);
	/* fail_limit 0 acts as 1, ban 0 as 1 s, base/cap 0 as 1 ms (no jitter). */
	cr_assert_eq(p.ban_until, p.last_attempt + MUKAN_MIN_BAN_NS, "banned at the first failure");
	cr_assert_eq(p.next_dial, p.last_attempt + MUKAN_MIN_BACKOFF_NS);
	cr_assert_eq(bt_stats().bans, 1);
	cr_assert_eq(bt_dial(IP, PORT).err, EPERM, "banned: the gate refuses");
}

Test(config, raw_unknown_flag_bits_ignored)
{
	struct mukan_config c = bt_config_defaults();
	c.flags = 0xf0 | MUKAN_CFG_GATE;
	write_raw(&c);
	assert_refused(&c, "flags");

	int slot = bt_add(IP, PORT);
	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED);
	cr_assert_eq(bt_dial(IP, PORT).err, EPERM, "the gate bit still counts");

	c.flags = 0xf0; /* junk, gate bit off */
	write_raw(&c);
	cr_assert_eq(bt_dial(IP, PORT).err, ECONNREFUSED, "gate off despite the junk bits");
	cr_assert_eq(bt_peer(slot).dials, 2);
}
