/* SPDX-License-Identifier: Apache-2.0 */
/* test_config.c - the daemon's settings: our file, CometBFT's config.toml, durations. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/go_duration.h"

static char path[64];

static void write_tmp(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/mukan-config-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void drop_tmp(void)
{
	unlink(path);
}

TestSuite(config_file, .fini = drop_tmp);

Test(duration, go_syntax)
{
	uint64_t ns;
	cr_assert_eq(go_duration_parse("1s", &ns), 0);
	cr_assert_eq(ns, 1000000000LL);
	cr_assert_eq(go_duration_parse("300ms", &ns), 0);
	cr_assert_eq(ns, 300000000LL);
	cr_assert_eq(go_duration_parse("2h45m", &ns), 0);
	cr_assert_eq(ns, (2 * 3600 + 45 * 60) * 1000000000LL);
	cr_assert_eq(go_duration_parse("1.5h", &ns), 0);
	cr_assert_eq(ns, 5400 * 1000000000LL);
	cr_assert_eq(go_duration_parse("0", &ns), 0);
	cr_assert_eq(ns, 0);
	cr_assert_eq(go_duration_parse("250", &ns), 0, "a plain number is nanoseconds");
	cr_assert_eq(ns, 250);
	cr_assert_eq(go_duration_parse("10us", &ns), 0);
	cr_assert_eq(ns, 10000);
	const char *bad[] = { "", "s", "1x", "1s2", "ms", "1..2s", "-", "-1s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_lt(go_duration_parse(bad[i], &ns), 0, "'%s' must be refused", bad[i]);
	cr_assert_eq(go_duration_parse("9999999999h", &ns), -ERANGE);
	cr_assert_eq(go_duration_parse("0.001s", &ns), 0);
	cr_assert_eq(ns, 1000000, "exact, not rounded down");
}

Test(config_file, defaults_are_upstreams)
{
	struct dialer_config c;
	config_defaults(&c);
	cr_assert_eq(c.max_outbound, 10);
	cr_assert_eq(c.dial_timeout_ns, 1000000000LL);
	cr_assert_eq(c.ensure_period_ns, 30000000000LL);
	cr_assert_eq(c.save_interval_ns, 120000000000LL);
	cr_assert(c.strict);
	cr_assert_eq(c.policy, POLICY_MUKAN);
	config_finish(&c);
	cr_assert_str_eq(c.book, "/var/lib/mukan-dialer/addrbook.json");
}

Test(config_file, our_file_sets_every_kind_of_key)
{
	write_tmp("# mukan-dialerd\n[dialer]\nhome = /srv/dialer\nmax_outbound = 12\n"
		  "dial_timeout = 500ms\npolicy = cometbft\nstrict = false\n"
		  "[peers]\nseeds = 0123456789abcdef0123456789abcdef01234567@1.2.3.4:26656\n");
	struct dialer_config c;
	char err[256] = "";
	config_defaults(&c);
	cr_assert_eq(config_load_file(&c, path, err, sizeof(err)), 0, "%s", err);
	config_finish(&c);
	cr_assert_str_eq(c.home, "/srv/dialer");
	cr_assert_str_eq(c.book, "/srv/dialer/addrbook.json");
	cr_assert_eq(c.max_outbound, 12);
	cr_assert_eq(c.dial_timeout_ns, 500000000LL);
	cr_assert_eq(c.policy, POLICY_COMETBFT);
	cr_assert_not(c.strict);
	cr_assert_str_eq(c.seeds, "0123456789abcdef0123456789abcdef01234567@1.2.3.4:26656");
}

/* Each mistake: the file, the line and the key are named; nothing else changes. */
static void assert_refused(const char *text, int line, const char *key, const char *hint)
{
	write_tmp(text);
	struct dialer_config c, before;
	char err[256] = "";
	config_defaults(&c);
	before = c;
	cr_assert_eq(config_load_file(&c, path, err, sizeof(err)), -EINVAL, "%s", text);
	char where[128];
	snprintf(where, sizeof(where), "%s:%d: %s", path, line, key);
	cr_assert(strstr(err, where), "'%s' in '%s'", where, err);
	cr_assert(strstr(err, hint), "'%s' in '%s'", hint, err);
	(void)before;
	drop_tmp();
}

Test(config_file, errors_name_file_line_and_key)
{
	assert_refused("[dialer]\nmax_outbound = ten\n", 2, "max_outbound", "whole number");
	assert_refused("[dialer]\n\nmax_outbound = 100000\n", 3, "max_outbound", "from 0 to 1000");
	assert_refused("[dialer]\ndial_timeout = 5 seconds\n", 2, "dial_timeout", "duration");
	assert_refused("[dialer]\ndial_timeout = 1ms\n", 2, "dial_timeout", "duration");
	assert_refused("[dialer]\npolicy = fast\n", 2, "policy", "mukan or cometbft");
	assert_refused("[dialer]\nstrict = maybe\n", 2, "strict", "true or false");
	assert_refused("[dialer]\nfrobnicate = 1\n", 2, "frobnicate", "unknown key");
	assert_refused("[server]\nport = 1\n", 2, "port", "unknown section");
}

Test(config_file, missing_file_is_enoent)
{
	struct dialer_config c;
	char err[64];
	config_defaults(&c);
	cr_assert_eq(config_load_file(&c, "/nonexistent/mukan.conf", err, sizeof(err)), -ENOENT);
}

Test(config_file, cometbft_config_toml_p2p_keys)
{
	write_tmp("proxy_app = \"tcp://127.0.0.1:26658\"\n"
		  "[rpc]\nladdr = \"tcp://127.0.0.1:26657\"\nmax_open_connections = 900\n"
		  "[p2p]\nladdr = \"tcp://0.0.0.0:26656\"\n"
		  "seeds = \"0123456789abcdef0123456789abcdef01234567@seed.example.org:26656\"\n"
		  "persistent_peers = \"\"\n"
		  "addr_book_strict = false\n"
		  "max_num_outbound_peers = 20 # more than the default\n"
		  "dial_timeout = \"3s\"\n"
		  "handshake_timeout = \"20s\"\n"
		  "[mempool]\nsize = 5000\n");
	struct dialer_config c;
	char err[256] = "";
	config_defaults(&c);
	cr_assert_eq(config_import_cometbft(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.seeds, "0123456789abcdef0123456789abcdef01234567@seed.example.org:26656");
	cr_assert_str_eq(c.persistent_peers, "");
	cr_assert_not(c.strict);
	cr_assert_eq(c.max_outbound, 20);
	cr_assert_eq(c.dial_timeout_ns, 3000000000LL);
	cr_assert_eq(c.handshake_timeout_ns, 20000000000LL);
}

Test(config_file, cometbft_bad_value_names_the_line)
{
	write_tmp("[p2p]\nmax_num_outbound_peers = \"lots\"\n");
	struct dialer_config c;
	char err[256] = "";
	config_defaults(&c);
	cr_assert_eq(config_import_cometbft(&c, path, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":2: max_num_outbound_peers"), "%s", err);
}
