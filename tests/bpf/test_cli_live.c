/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cli_live.c - mukan-dialctl's live verbs, run as an operator runs
 * them: the built binary ($MUKAN_BUILD/mukan-dialctl) with fork/exec, on the
 * fixture's private pin directory, cgroup and network namespace. What the
 * CLI prints is checked against what the kernel itself says (bpf_prog_query,
 * the pinned maps read directly, book_load of the files it writes).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <jansson.h>

#include "book/book.h"
#include "book/book_file.h"
#include "fixture.h"
#include "mukan/rules.h"

#define RUN_BOUND_MS 15000 /* a CLI run is killed after this */
#define RUN_MAX_ARGS 96
#define TEXT_MAX (1u << 20)
#define PORT_A 26656
#define PORT_B 26657
#define ID_A "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define ID_B "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
#define PEER_A ID_A "@127.0.0.1:26656"
#define PEER_B ID_B "@127.0.0.1:26657"
#define BOOKGEN_COUNT "500"

static char tmpdir[64];

static void cli_teardown(void)
{
	static const char *const files[] = { "gen.json", "out.json" };
	if (tmpdir[0]) {
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char p[128];
			snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
			unlink(p);
		}
		rmdir(tmpdir);
	}
	bt_teardown();
}

TestSuite(cli_live, .init = bt_setup_env, .fini = cli_teardown, .timeout = 60);

/* ---- running the CLI ---------------------------------------------------- */

struct spawn {
	pid_t pid;
	int fd[2];	/* stdout, stderr; -1 at EOF */
	char *text[2];	/* what they printed so far */
	size_t len[2];
	int64_t start_ms;
};

struct cli {
	int status; /* exit status, 128 + signal, or -1 when it had to be killed */
	char *out, *err;
	int64_t ms; /* how long it ran */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *tool(const char *name)
{
	static char path[2][512];
	static int turn;
	char *p = path[turn++ % 2];
	snprintf(p, sizeof(path[0]), "%s/%s", bt_build_dir(), name);
	cr_assert_eq(access(p, X_OK), 0, "%s is not an executable (%s): build it first", p,
		     strerror(errno));
	return p;
}

/* Start `mukan-dialctl args...` (or another program when args[0] is a path). */
static struct spawn spawn_argv(const char *prog, const char *const args[])
{
	const char *argv[RUN_MAX_ARGS + 2];
	int n = 0;
	argv[n++] = prog;
	for (; args[n - 1] && n <= RUN_MAX_ARGS; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	struct spawn s = { .start_ms = mono_ms() };
	int po[2], pe[2];
	cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
	s.pid = fork();
	cr_assert_geq(s.pid, 0, "fork: %s", strerror(errno));
	if (s.pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execv(prog, (char *const *)argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	bt_track_child(s.pid);
	close(po[1]);
	close(pe[1]);
	s.fd[0] = po[0];
	s.fd[1] = pe[0];
	for (int i = 0; i < 2; i++) {
		s.text[i] = calloc(1, TEXT_MAX + 1);
		cr_assert_not_null(s.text[i]);
	}
	return s;
}

/* Read whatever the child printed, for up to wait_ms; false once both streams ended. */
static bool pump(struct spawn *s, int wait_ms)
{
	struct pollfd p[2];
	for (int i = 0; i < 2; i++)
		p[i] = (struct pollfd){ .fd = s->fd[i], .events = POLLIN };
	if (s->fd[0] < 0 && s->fd[1] < 0)
		return false;
	if (poll(p, 2, wait_ms) <= 0)
		return true;
	for (int i = 0; i < 2; i++) {
		if (s->fd[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char buf[4096];
		ssize_t got = read(s->fd[i], buf, sizeof(buf));
		if (got <= 0) {
			close(s->fd[i]);
			s->fd[i] = -1;
			continue;
		}
		size_t room = TEXT_MAX - s->len[i];
		size_t keep = (size_t)got < room ? (size_t)got : room;
		memcpy(s->text[i] + s->len[i], buf, keep);
		s->len[i] += keep;
	}
	return true;
}

/* Wait (bounded) until the child's stream `which` (0 out, 1 err) contains needle. */
static bool wait_for_text(struct spawn *s, int which, const char *needle, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	while (!strstr(s->text[which], needle)) {
		int left = (int)(deadline - mono_ms());
		if (left <= 0 || !pump(s, left < 50 ? left : 50))
			return strstr(s->text[which], needle) != NULL;
	}
	return true;
}

static struct cli finish(struct spawn *s)
{
	int64_t deadline = s->start_ms + RUN_BOUND_MS;
	while (mono_ms() < deadline && pump(s, 50)) {
	}
	for (int i = 0; i < 2; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	int left = (int)(deadline - mono_ms());
	int st = bt_wait_child(s->pid, left > 0 ? left : 0);
	struct cli r = { .out = s->text[0], .err = s->text[1], .ms = mono_ms() - s->start_ms };
	if (st == -1) {
		kill(s->pid, SIGKILL);
		bt_wait_child(s->pid, 2000);
		r.status = -1;
	} else {
		r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	return r;
}

static struct cli run_prog(const char *prog, const char *const args[])
{
	struct spawn s = spawn_argv(prog, args);
	return finish(&s);
}

static void cli_free(struct cli *r)
{
	free(r->out);
	free(r->err);
}

#define CLI(...) run_prog(tool("mukan-dialctl"), (const char *const[]){ __VA_ARGS__, NULL })
#define SPAWN(...) spawn_argv(tool("mukan-dialctl"), (const char *const[]){ __VA_ARGS__, NULL })
#define PIN "--pin-dir", bt.pin_dir

#define assert_ran(r, want)                                                                \
	cr_assert_eq((r).status, (want), "exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", \
		     (r).status, (want), (r).out, (r).err)

static json_t *parse_json(const struct cli *r)
{
	json_error_t je;
	json_t *j = json_loads(r->out, 0, &je);
	cr_assert_not_null(j, "not JSON (%s):\n%s", je.text, r->out);
	return j;
}

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

/* ---- the kernel's own view ---------------------------------------------- */

static const enum bpf_attach_type hooks[3] = { BPF_CGROUP_SOCK_OPS, BPF_CGROUP_INET4_CONNECT,
					       BPF_CGROUP_INET6_CONNECT };

/* Programs on one hook of the test cgroup; ids[0] is the first. */
static uint32_t hook_programs(enum bpf_attach_type type, uint32_t ids[8])
{
	int cg = open(bt.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(cg, 0, "open %s: %s", bt.cgroup, strerror(errno));
	uint32_t count = 8, flags = 0;
	int e = bpf_prog_query(cg, type, 0, &flags, ids, &count);
	close(cg);
	cr_assert_eq(e, 0, "bpf_prog_query(%d): %s", type, strerror(-e));
	return count;
}

static struct mukan_config map_config(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/config", bt.pin_dir);
	int fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "bpf_obj_get %s: %s", path, strerror(errno));
	struct mukan_config c;
	uint32_t zero = 0;
	int e = bpf_map_lookup_elem(fd, &zero, &c);
	close(fd);
	cr_assert_eq(e, 0, "lookup in %s: %s", path, strerror(errno));
	return c;
}

static void attach(void)
{
	struct cli r = CLI("bpf", "attach", "--cgroup", bt.cgroup, "--capacity", "1024", PIN);
	assert_ran(r, 0);
	cli_free(&r);
}

static void add_live(const char *peer)
{
	struct cli r = CLI("book", "add", "--live", "--no-strict", peer, PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, "added"), "%s", r.out);
	cli_free(&r);
}

/* ---- bpf attach / status / detach --------------------------------------- */

Test(cli_live, attach_twice_keeps_one_program_per_hook_and_status_shows_them)
{
	attach();
	struct cli r = CLI("bpf", "attach", "--cgroup", bt.cgroup, PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, "replaced in place"), "second attach did not reuse:\n%s", r.out);
	cr_assert(strstr(r.out, "reused"), "%s", r.out);
	cli_free(&r);

	uint32_t ids[3][8];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(hook_programs(hooks[i], ids[i]), 1, "hook %d: not exactly one program",
			     hooks[i]);

	r = CLI("bpf", "status", "--json", PIN);
	assert_ran(r, 0);
	json_t *st = parse_json(&r);
	json_t *links = json_object_get(st, "links");
	cr_assert_eq(json_array_size(links), 3);
	static const char *const names[3] = { "sockops", "connect4", "connect6" };
	for (size_t i = 0; i < 3; i++) {
		json_t *l = json_array_get(links, i);
		cr_assert_str_eq(jstr(l, "name"), names[i]);
		cr_assert(json_is_true(json_object_get(l, "pinned")), "%s not pinned", names[i]);
		cr_assert(json_is_true(json_object_get(l, "attached")), "%s not attached", names[i]);
		cr_assert_eq(jint(l, "prog_id"), ids[i][0], "%s: status prog %lld, kernel %u",
			     names[i], jint(l, "prog_id"), ids[i][0]);
		cr_assert_eq(jint(l, "programs_on_hook"), 1);
		cr_assert_str_eq(jstr(l, "cgroup"), bt.cgroup);
		struct stat sb;
		cr_assert_eq(stat(bt.cgroup, &sb), 0);
		cr_assert_eq(jint(l, "cgroup_id"), (long long)sb.st_ino);
	}
	cr_assert(json_is_true(json_object_get(st, "maps_pinned")));
	json_t *book = json_object_get(st, "book");
	cr_assert_eq(jint(book, "capacity"), 1024);
	cr_assert_eq(jint(book, "used"), 0);
	json_t *cfg = json_object_get(st, "config");
	cr_assert(json_is_true(json_object_get(cfg, "valid")));
	cr_assert_eq(jint(cfg, "fail_limit"), MUKAN_DEF_FAIL_LIMIT);
	cr_assert_eq(jint(json_object_get(st, "stats"), "connects"), 0);
	json_decref(st);
	cli_free(&r);

	r = CLI("bpf", "status", PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, "mukan_sockops"), "%s", r.out);
	cr_assert(strstr(r.out, "attached, 1 program on this hook"), "%s", r.out);
	cr_assert(strstr(r.out, "0 of 1024 slots used"), "%s", r.out);
	cli_free(&r);
}

Test(cli_live, detach_keeps_the_maps_and_purge_removes_the_pin_dir)
{
	attach();
	add_live(PEER_A);
	struct cli r = CLI("bpf", "detach", PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, "sockops   detached"), "%s", r.out);
	cli_free(&r);
	uint32_t ids[8];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(hook_programs(hooks[i], ids), 0, "hook %d still has a program", hooks[i]);

	r = CLI("bpf", "status", "--json", PIN);
	assert_ran(r, 0);
	json_t *st = parse_json(&r);
	for (size_t i = 0; i < 3; i++)
		cr_assert(json_is_false(json_object_get(json_array_get(json_object_get(st, "links"), i),
							"pinned")));
	cr_assert(json_is_true(json_object_get(st, "maps_pinned")));
	cr_assert_eq(jint(json_object_get(st, "book"), "used"), 1, "the record was lost");
	json_decref(st);
	cli_free(&r);

	r = CLI("bpf", "detach", "--purge", PIN); /* no --yes: refused, nothing removed */
	assert_ran(r, 2);
	cr_assert(strstr(r.err, "--yes"), "%s", r.err);
	cli_free(&r);
	char path[256];
	snprintf(path, sizeof(path), "%s/book", bt.pin_dir);
	cr_assert_eq(access(path, F_OK), 0, "the book went without --yes");

	r = CLI("bpf", "detach", "--purge", "--yes", PIN);
	assert_ran(r, 0);
	cli_free(&r);
	cr_assert_eq(access(bt.pin_dir, F_OK), -1, "%s is still there", bt.pin_dir);
	cr_assert_eq(errno, ENOENT);

	r = CLI("bpf", "status", "--json", PIN);
	assert_ran(r, 0);
	st = parse_json(&r);
	cr_assert(json_is_false(json_object_get(st, "maps_pinned")));
	cr_assert(json_is_null(json_object_get(st, "book")));
	json_decref(st);
	cli_free(&r);
}

Test(cli_live, live_verbs_without_pins_fail_with_a_hint)
{
	const char *const *cmds[] = {
		(const char *const[]){ "config", "get", PIN, NULL },
		(const char *const[]){ "book", "show", "--live", PIN, NULL },
		(const char *const[]){ "events", "--duration", "1", PIN, NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct cli r = run_prog(tool("mukan-dialctl"), cmds[i]);
		assert_ran(r, 1);
		cr_assert(strstr(r.err, "bpf attach"), "case %zu: no hint in: %s", i, r.err);
		cli_free(&r);
	}
}

/* ---- config ------------------------------------------------------------- */

Test(cli_live, config_set_valid_values_show_in_get_and_in_the_map)
{
	attach();
	uint32_t gen = map_config().generation;
	struct cli r = CLI("config", "set", "gate", "off", "fail_limit", "8", "dial_timeout_ms",
			   "250", "backoff_base", "1.5s", "backoff_cap", "90m", "backoff_jitter",
			   "250ms", "ban", "1h30m", PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, "fail_limit       16 -> 8"), "%s", r.out);
	cli_free(&r);

	struct mukan_config c = map_config();
	cr_assert_eq(c.flags, 0);
	cr_assert_eq(c.fail_limit, 8);
	cr_assert_eq(c.dial_timeout_ms, 250);
	cr_assert_eq(c.backoff_base_ns, 1500000000ULL);
	cr_assert_eq(c.backoff_cap_ns, 90ULL * 60 * 1000000000ULL);
	cr_assert_eq(c.backoff_jitter_ns, 250000000ULL);
	cr_assert_eq(c.ban_ns, 5400ULL * 1000000000ULL);
	cr_assert_eq(c.generation, gen + 1, "one write, one generation step");

	r = CLI("config", "get", "--json", PIN);
	assert_ran(r, 0);
	json_t *j = parse_json(&r);
	cr_assert(json_is_true(json_object_get(j, "valid")));
	cr_assert(json_is_false(json_object_get(j, "gate")));
	cr_assert_eq(jint(j, "fail_limit"), c.fail_limit);
	cr_assert_eq(jint(j, "dial_timeout_ms"), c.dial_timeout_ms);
	cr_assert_eq(jint(j, "backoff_base_ns"), (long long)c.backoff_base_ns);
	cr_assert_eq(jint(j, "backoff_cap_ns"), (long long)c.backoff_cap_ns);
	cr_assert_eq(jint(j, "backoff_jitter_ns"), (long long)c.backoff_jitter_ns);
	cr_assert_eq(jint(j, "ban_ns"), (long long)c.ban_ns);
	cr_assert_eq(jint(j, "generation"), c.generation);
	cr_assert_str_eq(jstr(j, "backoff_base"), "1.5s");
	cr_assert_str_eq(jstr(j, "backoff_cap"), "1h30m0s");
	cr_assert_str_eq(jstr(j, "ban"), "1h30m0s");
	json_decref(j);
	cli_free(&r);

	/* Plain nanoseconds are durations too; a fraction at the lower limit is exact. */
	r = CLI("config", "set", "backoff_jitter", "1000", "gate", "on", "backoff_base", "0.001s",
		PIN);
	assert_ran(r, 0);
	cli_free(&r);
	c = map_config();
	cr_assert_eq(c.backoff_jitter_ns, 1000);
	cr_assert_eq(c.flags, MUKAN_CFG_GATE);
	cr_assert_eq(c.backoff_base_ns, MUKAN_MIN_BACKOFF_NS);

	r = CLI("config", "get", PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, ": valid\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  fail_limit       8\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  backoff_jitter   1us (1000 ns)\n"), "%s", r.out);
	cli_free(&r);
}

Test(cli_live, config_set_invalid_values_exit_1_name_the_field_and_leave_the_map)
{
	attach();
	/* backoff_base is 2 s by default, so a 1 s cap is below it. */
	static const struct {
		const char *args[5];
		const char *named;
	} cases[] = {
		{ { "backoff_cap", "1s" }, "backoff_cap" },
		{ { "fail_limit", "0" }, "fail_limit" },
		{ { "fail_limit", "1001" }, "fail_limit" },
		{ { "dial_timeout_ms", "70000" }, "dial_timeout_ms" },
		{ { "bogus_key", "1" }, "bogus_key" },
		{ { "ban", "2x" }, "ban" },
		{ { "ban", "0.5s" }, "ban" },
		{ { "backoff_base", "99999999999h" }, "backoff_base" },
		{ { "gate", "maybe" }, "gate" },
		/* valid first, invalid second: all or nothing */
		{ { "fail_limit", "8", "backoff_jitter", "2h" }, "backoff_jitter" },
	};
	struct mukan_config before = map_config();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[12] = { "config", "set" };
		int n = 2;
		for (int a = 0; cases[i].args[a]; a++)
			argv[n++] = cases[i].args[a];
		argv[n++] = "--pin-dir";
		argv[n++] = bt.pin_dir;
		argv[n] = NULL;
		struct cli r = run_prog(tool("mukan-dialctl"), argv);
		cr_assert_eq(r.status, 1, "case %zu (%s %s): status %d\n%s%s", i, cases[i].args[0],
			     cases[i].args[1], r.status, r.out, r.err);
		cr_assert(strstr(r.err, cases[i].named), "case %zu: \"%s\" not named in: %s", i,
			  cases[i].named, r.err);
		cr_assert(strstr(r.err, "unchanged"), "case %zu: %s", i, r.err);
		struct mukan_config after = map_config();
		cr_assert(memcmp(&before, &after, sizeof(after)) == 0,
			  "case %zu changed the map (generation %u -> %u)", i, before.generation,
			  after.generation);
		cli_free(&r);
	}
}

/* The bytes docs/live.md tells operators to write with bpftool: fail_limit 8. */
#define DOC_HEX_FAIL_LIMIT_8                                                           \
	"01 00 00 00 08 00 00 00 e8 03 00 00 02 00 00 00 00 94 35 77 00 00 00 00 00 a0 b8 " \
	"30 46 03 00 00 00 ca 9a 3b 00 00 00 00 00 00 4f 91 94 4e 00 00"
/* ... and the invalid example: fail_limit 0, backoff_cap 1 ms (below the base). */
#define DOC_HEX_INVALID                                                                \
	"01 00 00 00 00 00 00 00 e8 03 00 00 03 00 00 00 00 94 35 77 00 00 00 00 40 42 0f " \
	"00 00 00 00 00 00 ca 9a 3b 00 00 00 00 00 00 4f 91 94 4e 00 00"

/* bpftool itself (found in PATH), with the exact arguments of the docs. */
static void bpftool_update_config(const char *hex)
{
	char path[256], bytes[256], *save = NULL;
	const char *argv[RUN_MAX_ARGS] = { "map", "update", "pinned", path, "key", "0", "0", "0", "0",
				 "value", "hex" };
	int n = 11;
	snprintf(path, sizeof(path), "%s/config", bt.pin_dir);
	snprintf(bytes, sizeof(bytes), "%s", hex);
	for (char *t = strtok_r(bytes, " ", &save); t && n < RUN_MAX_ARGS - 1; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	static const char *const dirs[] = { "/usr/sbin/bpftool", "/usr/bin/bpftool",
					    "/usr/local/sbin/bpftool" };
	const char *prog = NULL;
	for (size_t i = 0; !prog && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (access(dirs[i], X_OK) == 0)
			prog = dirs[i];
	cr_assert_not_null(prog, "bpftool is not installed (make deps installs it)");
	struct cli r = run_prog(prog, argv);
	assert_ran(r, 0);
	cli_free(&r);
}

Test(cli_live, the_documented_bpftool_updates_do_what_the_docs_say)
{
	attach();
	bpftool_update_config(DOC_HEX_FAIL_LIMIT_8);
	struct mukan_config want, got = map_config();
	rules_config_defaults(&want);
	want.fail_limit = 8;
	want.generation = 2;
	cr_assert(memcmp(&want, &got, sizeof(got)) == 0, "fail_limit %u gen %u", got.fail_limit,
		  got.generation);
	struct cli r = CLI("config", "get", PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, "generation 2: valid\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  fail_limit       8\n"), "%s", r.out);
	cli_free(&r);

	bpftool_update_config(DOC_HEX_INVALID);
	r = CLI("config", "get", PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, "INVALID: fail_limit must be 1..1000"), "%s", r.out);
	cr_assert(strstr(r.out, "  fail_limit       0   <- invalid; the kernel applies 1\n"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "<- invalid; the kernel applies 2s\n"), "%s", r.out);
	cli_free(&r);
	r = CLI("config", "get", "--json", PIN);
	json_t *j = parse_json(&r);
	cr_assert(json_is_false(json_object_get(j, "valid")));
	cr_assert_eq(jint(json_object_get(j, "in_force"), "fail_limit"), 1);
	cr_assert_eq(jint(json_object_get(j, "in_force"), "backoff_cap_ns"), 2000000000LL);
	json_decref(j);
	cli_free(&r);

	/* The clamped limit is what the kernel applies: one refused dial bans. */
	add_live(PEER_A);
	cr_assert_eq(bt_dial("127.0.0.1", PORT_A).err, ECONNREFUSED);
	r = CLI("book", "show", "--live", "--json", "127.0.0.1:26656", PIN);
	assert_ran(r, 0);
	j = parse_json(&r);
	cr_assert(json_is_true(json_object_get(json_array_get(j, 0), "ban_active")), "%s", r.out);
	json_decref(j);
	cli_free(&r);

	/* A set that leaves the bad field alone is refused and says which field. */
	r = CLI("config", "set", "ban", "2h", PIN);
	assert_ran(r, 1);
	cr_assert(strstr(r.err, "fail_limit") && strstr(r.err, "set it too"), "%s", r.err);
	cli_free(&r);
	r = CLI("config", "set", "fail_limit", "8", "backoff_cap", "1h", PIN);
	assert_ran(r, 0);
	cli_free(&r);
	cr_assert_eq(map_config().fail_limit, 8);
}

/* ---- the live book -------------------------------------------------------- */

Test(cli_live, live_add_then_show_finds_the_record)
{
	attach();
	struct cli r = CLI("book", "add", "--live", PEER_A, PIN); /* strict: loopback refused */
	assert_ran(r, 1);
	cr_assert(strstr(r.err, "--no-strict"), "%s", r.err);
	cli_free(&r);
	add_live(PEER_A);

	r = CLI("book", "show", "--live", PIN);
	assert_ran(r, 0);
	cr_assert(strncmp(r.out, PEER_A "\n", strlen(PEER_A) + 1) == 0, "%s", r.out);
	cr_assert(strstr(r.out, "  dials         0\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  last connect  never\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  next dial     any time (no backoff)\n"), "%s", r.out);
	cli_free(&r);

	/* By node ID, by id@ip:port and by ip:port: the same one record. */
	const char *keys[] = { ID_A, PEER_A, "127.0.0.1:26656" };
	for (size_t i = 0; i < 3; i++) {
		r = CLI("book", "show", "--live", "--json", keys[i], PIN);
		assert_ran(r, 0);
		json_t *arr = parse_json(&r);
		cr_assert_eq(json_array_size(arr), 1, "%s", r.out);
		json_t *o = json_array_get(arr, 0);
		cr_assert_str_eq(jstr(o, "addr"), PEER_A);
		cr_assert_eq(jint(o, "failures"), 0);
		cr_assert(json_is_null(json_object_get(o, "next_dial_in_s")));
		json_decref(arr);
		cli_free(&r);
	}
	r = CLI("book", "show", "--live", "127.0.0.1:1", PIN);
	assert_ran(r, 1);
	cr_assert_str_empty(r.out);
	cli_free(&r);
}

Test(cli_live, a_refused_dial_shows_econnrefused_and_the_backoff)
{
	attach();
	add_live(PEER_A);
	struct bt_dial d = bt_dial("127.0.0.1", PORT_A);
	cr_assert_eq(d.err, ECONNREFUSED, "dial: %s", strerror(d.err));

	struct cli r = CLI("book", "show", "--live", "127.0.0.1:26656", PIN);
	assert_ran(r, 0);
	cr_assert(strstr(r.out, "  last error    ECONNREFUSED (Connection refused)\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  failures      1\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  dials         1\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  attempts      1\n"), "%s", r.out);
	cr_assert(strstr(r.out, "  next dial     20"), "next dial has no time:\n%s", r.out);
	cr_assert(strstr(r.out, "Z (in "), "next dial is not in the future:\n%s", r.out);
	cli_free(&r);

	r = CLI("book", "show", "--live", "--json", ID_A, PIN);
	assert_ran(r, 0);
	json_t *arr = parse_json(&r), *o = json_array_get(arr, 0);
	cr_assert_str_eq(jstr(o, "last_error"), "ECONNREFUSED");
	cr_assert_eq(jint(o, "last_errno"), ECONNREFUSED);
	cr_assert_eq(jint(o, "failures"), 1);
	cr_assert_eq(jint(o, "dials"), 1);
	/* Default backoff after one failure: 2 s plus up to 1 s of jitter, from the dial. */
	double in = json_real_value(json_object_get(o, "next_dial_in_s"));
	cr_assert(in > 0 && in <= 3.0, "next_dial_in_s %f", in);
	/* Wall times: the last dial happened within the last minute. */
	time_t now = time(NULL);
	char year[8];
	strftime(year, sizeof(year), "%Y", gmtime(&now));
	cr_assert(strncmp(jstr(o, "last_dial"), year, 4) == 0, "last_dial %s is not wall time",
		  jstr(o, "last_dial"));
	json_decref(arr);
	cli_free(&r);

	r = CLI("bpf", "status", "--json", PIN);
	assert_ran(r, 0);
	json_t *st = parse_json(&r);
	cr_assert_eq(jint(json_object_get(st, "stats"), "connects"), 1);
	cr_assert_eq(jint(json_object_get(st, "stats"), "refused"), 1);
	json_decref(st);
	cli_free(&r);
}

/* ---- events ---------------------------------------------------------------- */

/* Split the output into lines; the count. */
static size_t lines_of(char *text, char *lines[], size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	return n;
}

static void assert_event_line(const char *line, const char *kind, const char *peer,
			      const char *err, unsigned failures)
{
	char want[64];
	cr_assert(strstr(line, kind), "not a %s event: %s", kind, line);
	cr_assert(strstr(line, peer), "not %s: %s", peer, line);
	cr_assert(strstr(line, err), "no %s: %s", err, line);
	snprintf(want, sizeof(want), "failures=%u", failures);
	cr_assert(strstr(line, want), "no %s: %s", want, line);
}

Test(cli_live, events_print_the_connect_and_the_failure_of_a_dial)
{
	attach();
	add_live(PEER_A);
	cr_assert_eq(bt_dial("127.0.0.1", PORT_A).err, ECONNREFUSED);

	struct cli r = CLI("events", "--count", "2", "--duration", "3", PIN);
	assert_ran(r, 0);
	char *lines[8];
	size_t n = lines_of(r.out, lines, 8);
	cr_assert_eq(n, 2, "want 2 lines, got %zu", n);
	assert_event_line(lines[0], " connect ", PEER_A, "  -  ", 0);
	assert_event_line(lines[1], " failed ", PEER_A, "ECONNREFUSED", 1);
	cr_assert_lt(r.ms, 2500, "the count did not end it: %lld ms", (long long)r.ms);
	cli_free(&r);

	/* Nothing more to read: --duration ends it, on time. */
	r = CLI("events", "--duration", "0.5", PIN);
	assert_ran(r, 0);
	cr_assert_str_empty(r.out);
	cr_assert(r.ms >= 450 && r.ms < 3000, "ran %lld ms", (long long)r.ms);
	cli_free(&r);
}

Test(cli_live, events_follow_new_dials_and_skip_pending_ones)
{
	attach();
	add_live(PEER_A);
	add_live(PEER_B);
	cr_assert_eq(bt_dial("127.0.0.1", PORT_A).err, ECONNREFUSED); /* two pending events */

	struct spawn s = SPAWN("events", "--skip-pending", "--count", "2", "--duration", "8", PIN);
	cr_assert(wait_for_text(&s, 1, "skipped 2 pending events", 5000),
		  "no skip report; stderr: %s", s.text[1]);
	cr_assert_eq(bt_dial("127.0.0.1", PORT_B).err, ECONNREFUSED);
	struct cli r = finish(&s);
	assert_ran(r, 0);
	cr_assert_lt(r.ms, 7000, "the count did not end it: %lld ms", (long long)r.ms);
	char *lines[8];
	size_t n = lines_of(r.out, lines, 8);
	cr_assert_eq(n, 2, "want 2 lines, got %zu", n);
	assert_event_line(lines[0], " connect ", PEER_B, "  -  ", 0);
	assert_event_line(lines[1], " failed ", PEER_B, "ECONNREFUSED", 1);
	cli_free(&r);
}

Test(cli_live, events_stop_on_sigterm)
{
	attach();
	struct spawn s = SPAWN("events", PIN);
	pump(&s, 300); /* let it start polling */
	kill(s.pid, SIGTERM);
	struct cli r = finish(&s);
	assert_ran(r, 0);
	cr_assert_lt(r.ms, 3000);
	cli_free(&r);
}

/* ---- import / export -------------------------------------------------------- */

static struct book *load(const char *path)
{
	struct book_opts o = { .strict = true };
	struct book_file_opts fo = { .wall_offset_ns = kern_wall_offset() };
	struct book *b;
	char err[512];
	cr_assert_eq(book_load(path, &o, &fo, &b, err, sizeof(err)), 0, "%s", err);
	return b;
}

Test(cli_live, import_and_export_round_trip_a_generated_book)
{
	attach();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mukan-cli-live-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	char gen[128], out[128];
	snprintf(gen, sizeof(gen), "%s/gen.json", tmpdir);
	snprintf(out, sizeof(out), "%s/out.json", tmpdir);
	struct cli r = run_prog(tool("mukan-bookgen"),
				(const char *const[]){ "-n", BOOKGEN_COUNT, "--seed", "3", gen, NULL });
	assert_ran(r, 0);
	cli_free(&r);
	struct book *file = load(gen);
	uint32_t total = book_size(file) + book_n_banned(file);
	cr_assert_gt(total, 400, "bookgen wrote only %u records", total);

	r = CLI("book", "import", "--live", gen, PIN);
	assert_ran(r, 0);
	char want[160];
	snprintf(want, sizeof(want), "imported %u records", total);
	cr_assert(strstr(r.out, want), "want \"%s\" in:\n%s", want, r.out);
	cr_assert(strstr(r.out, "adopted"), "%s", r.out);
	cli_free(&r);

	r = CLI("book", "show", "--live", "--json", PIN);
	assert_ran(r, 0);
	json_t *arr = parse_json(&r);
	cr_assert_eq(json_array_size(arr), total);
	json_decref(arr);
	cli_free(&r);

	r = CLI("book", "import", "--live", gen, PIN); /* again: every record a duplicate */
	assert_ran(r, 0);
	snprintf(want, sizeof(want), "imported 0 records");
	cr_assert(strstr(r.out, want), "%s", r.out);
	snprintf(want, sizeof(want), "%u duplicates skipped", total);
	cr_assert(strstr(r.out, want), "%s", r.out);
	cli_free(&r);

	r = CLI("book", "export", "--live", out, PIN);
	assert_ran(r, 0);
	cli_free(&r);
	struct book *back = load(out);
	cr_assert_eq(book_size(back), book_size(file));
	cr_assert_eq(book_n_new(back), book_n_new(file));
	cr_assert_eq(book_n_old(back), book_n_old(file));
	cr_assert_eq(book_n_banned(back), book_n_banned(file));
	cr_assert_str_eq(book_key(back), book_key(file));
	/* Placement kept: every record in the same buckets as in the file. */
	for (int s = book_next_slot(file, 0); s >= 0; s = book_next_slot(file, (uint32_t)s + 1)) {
		const struct mukan_peer *p = book_slot(file, (uint32_t)s);
		int t = book_find(back, p->id);
		cr_assert_geq(t, 0, "a record went missing");
		const struct mukan_peer *q = book_slot(back, (uint32_t)t);
		cr_assert_eq(q->bucket_type, p->bucket_type);
		cr_assert_eq(q->n_buckets, p->n_buckets);
		cr_assert(memcmp(q->buckets, p->buckets, sizeof(p->buckets[0]) * p->n_buckets) == 0);
		cr_assert(mukan_addr_equal(&q->addr, &p->addr));
		cr_assert_eq(q->attempts, p->attempts);
	}
	book_free(back);
	book_free(file);
}

/* ---- help ------------------------------------------------------------------- */

Test(cli_live, every_live_verb_has_help_with_examples_and_pin_dir)
{
	const char *const *cmds[] = {
		(const char *const[]){ "bpf", "attach", "--help", NULL },
		(const char *const[]){ "bpf", "detach", "--help", NULL },
		(const char *const[]){ "bpf", "status", "--help", NULL },
		(const char *const[]){ "config", "get", "--help", NULL },
		(const char *const[]){ "config", "set", "--help", NULL },
		(const char *const[]){ "events", "--help", NULL },
		(const char *const[]){ "book", "show", "--live", "--help", NULL },
		(const char *const[]){ "book", "add", "--live", "--help", NULL },
		(const char *const[]){ "book", "import", "--help", NULL },
		(const char *const[]){ "book", "export", "--help", NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct cli r = run_prog(tool("mukan-dialctl"), cmds[i]);
		assert_ran(r, 0);
		cr_assert(strstr(r.out, "EXAMPLES:"), "case %zu: no examples:\n%s", i, r.out);
		cr_assert(strstr(r.out, "--pin-dir"), "case %zu: no --pin-dir:\n%s", i, r.out);
		cli_free(&r);
	}
}
