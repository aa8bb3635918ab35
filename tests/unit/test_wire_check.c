/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_check.c - `mukan-dialctl wire check` as an operator runs it: on
 * the kept upstream transcript (exit 0, "wire: transcript ok"), and on
 * copies altered in one place each (exit 1, the place named on stderr):
 * a byte of a write, a derived secret, a signature, a frame's nonce as a
 * message lists it, an ephemeral key, a missing field, not JSON at all.
 * The altered copies are the transcript with one JSON value changed, so
 * each test says exactly what was tried.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vectors.h"
#include "wire_helpers.h"

static char workdir[PATH_MAX];

static void setup(void)
{
	snprintf(workdir, sizeof(workdir), "/tmp/wire-check-XXXXXX");
	cr_assert_not_null(mkdtemp(workdir));
}

static void teardown(void)
{
	static const char *const names[] = { "t.json", "out", "err" };
	char p[PATH_MAX + 16];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", workdir, names[i]);
		unlink(p);
	}
	rmdir(workdir);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	static char buf[16384];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strdup(buf);
}

struct run {
	int status;
	char *out, *err;
};

/* mukan-dialctl wire check [-v] FILE, output captured. */
static struct run wire_check(const char *file, bool verbose)
{
	const char *dir = getenv("MUKAN_BUILD");
	cr_assert(dir && *dir, "MUKAN_BUILD must name the build directory (`make unit` sets it)");
	char bin[PATH_MAX], out[PATH_MAX + 8], err[PATH_MAX + 8];
	snprintf(bin, sizeof(bin), "%s/mukan-dialctl", dir);
	snprintf(out, sizeof(out), "%s/out", workdir);
	snprintf(err, sizeof(err), "%s/err", workdir);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		if (verbose)
			execl(bin, bin, "wire", "check", "-v", file, (char *)NULL);
		else
			execl(bin, bin, "wire", "check", file, (char *)NULL);
		_exit(127);
	}
	int ws;
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	struct run r = { WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws), slurp(out),
			 slurp(err) };
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The kept transcript's absolute path (the child runs the same cwd, but be exact). */
static const char *kept(void)
{
	static char path[PATH_MAX];
	char rel[4096];
	FILE *f = vectors_open(TRANSCRIPT_1, rel, sizeof(rel));
	fclose(f);
	cr_assert_not_null(realpath(rel, path));
	return path;
}

Test(wire_check, kept_transcript_passes, .init = setup, .fini = teardown)
{
	struct run r = wire_check(kept(), false);
	cr_assert_eq(r.status, 0, "exit %d, stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "wire: transcript ok\n");
	cr_assert_str_eq(r.err, "");
	run_free(&r);
	/* -v lists what was compared: every write of both directions. */
	r = wire_check(kept(), true);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "A_to_B write 1 (auth_sig): 1044 bytes"), "%s", r.out);
	cr_assert(strstr(r.out, "B_to_A write 4 (pong)"), "%s", r.out);
	cr_assert(strstr(r.out, "node A authenticated B"), "%s", r.out);
	run_free(&r);
}

/* Write the kept transcript with fn applied to it as workdir/t.json. */
static const char *altered(void (*fn)(json_t *root))
{
	static char path[PATH_MAX + 16];
	json_t *root = transcript_load(TRANSCRIPT_1);
	fn(root);
	snprintf(path, sizeof(path), "%s/t.json", workdir);
	cr_assert_eq(json_dump_file(root, path, JSON_INDENT(1)), 0);
	json_decref(root);
	return path;
}

static json_t *at(json_t *root, const char *a, const char *b, const char *c)
{
	json_t *n = json_object_get(root, a);
	if (b)
		n = json_object_get(n, b);
	if (c)
		n = json_object_get(n, c);
	cr_assert_not_null(n, "transcript lacks %s.%s.%s", a, b, c);
	return n;
}

/* Flip the low bit of the hex digit at index i of the string obj[key]. */
static void flip_hex(json_t *obj, const char *key, size_t i)
{
	const char *s = json_string_value(json_object_get(obj, key));
	cr_assert_not_null(s, "no string %s", key);
	char *c = strdup(s);
	cr_assert_gt(strlen(c), i);
	static const char digits[] = "0123456789abcdef";
	int v = (int)(strchr(digits, c[i]) - digits);
	c[i] = digits[v ^ 1];
	json_object_set_new(obj, key, json_string(c));
	free(c);
}

static void expect_named(void (*fn)(json_t *), const char *place)
{
	struct run r = wire_check(altered(fn), false);
	cr_assert_eq(r.status, 1, "exit %d for an altered %s (stderr: %s)", r.status, place, r.err);
	cr_assert(strstr(r.err, place), "stderr does not name \"%s\": %s", place, r.err);
	cr_assert_str_eq(r.out, "", "a failed check printed on stdout: %s", r.out);
	run_free(&r);
}

/* A byte of B's 4th write changed, in the write and in the joined stream alike. */
static void alter_write(json_t *root)
{
	json_t *b2a = at(root, "wire", "B_to_A", NULL);
	json_t *w = json_array_get(json_object_get(b2a, "writes"), 3);
	size_t before = 0;
	for (size_t i = 0; i < 3; i++)
		before += strlen(json_string_value(
			json_object_get(json_array_get(json_object_get(b2a, "writes"), i), "hex")));
	flip_hex(w, "hex", 40);
	flip_hex(b2a, "stream_hex", before + 40);
}

Test(wire_check, altered_write_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_write, "B_to_A write 3 (pex_addrs): byte 20 of 1044");
}

static void alter_stream_only(json_t *root)
{
	flip_hex(at(root, "wire", "A_to_B", NULL), "stream_hex", 100);
}

Test(wire_check, inconsistent_stream_is_named, .init = setup, .fini = teardown)
{
	expect_named(alter_stream_only, "wire.A_to_B.stream_hex is not its writes joined");
}

static void alter_challenge(json_t *root)
{
	flip_hex(at(root, "nodes", "A", NULL), "challenge", 63);
}

Test(wire_check, altered_challenge_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_challenge, "node A challenge: byte 31");
}

static void alter_signature(json_t *root)
{
	flip_hex(at(root, "nodes", "B", NULL), "auth_signature", 0);
}

Test(wire_check, altered_signature_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_signature, "node B AuthSigMessage signature: byte 0");
}

static void alter_message_nonce(json_t *root)
{
	json_t *m = json_array_get(json_object_get(root, "messages"), 1);
	flip_hex(json_array_get(json_object_get(m, "frames"), 0), "nonce", 9);
}

Test(wire_check, altered_message_frame_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_message_nonce, "frame 0 (as the message lists it) nonce: byte 4");
}

static void alter_eph(json_t *root)
{
	flip_hex(at(root, "nodes", "B", NULL), "eph_x25519_priv", 10);
}

Test(wire_check, altered_ephemeral_key_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_eph, "node B ephemeral public key");
}

static void drop_node_id(json_t *root)
{
	json_object_del(at(root, "nodes", "B", NULL), "node_id");
}

Test(wire_check, missing_field_names_it, .init = setup, .fini = teardown)
{
	expect_named(drop_node_id, "the transcript has no string nodes.B.node_id");
}

static void alter_node_info(json_t *root)
{
	flip_hex(at(root, "nodes", "A", NULL), "node_info_proto", 20);
}

Test(wire_check, altered_node_info_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_node_info, "node_info read by node B: byte 10");
}

Test(wire_check, not_json, .init = setup, .fini = teardown)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/t.json", workdir);
	FILE *f = fopen(path, "w");
	fputs("{ nope", f);
	fclose(f);
	struct run r = wire_check(path, false);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "not a transcript"), "%s", r.err);
	run_free(&r);
}

/* ---- the layers above the secret connection ----------------------------- */

static void alter_moniker(json_t *root)
{
	json_object_set_new(at(root, "nodes", "B", "node_info"), "moniker",
			    json_string("another-moniker"));
}

Test(wire_check, altered_node_info_field_names_it, .init = setup, .fini = teardown)
{
	/* Our NodeInfo is built from the decoded fields: upstream's bytes no longer match. */
	expect_named(alter_moniker, "node B NodeInfo as we encode it");
}

static void alter_pex_message(json_t *root)
{
	flip_hex(json_array_get(json_object_get(root, "messages"), 1), "message_plaintext", 7);
}

Test(wire_check, altered_pex_message_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_pex_message, "messages[1] (pex_addrs) PEX message: byte 3");
}

static void alter_pex_addr(json_t *root)
{
	json_array_set_new(json_object_get(root, "pex_addrs"), 2,
			   json_string("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c@8.8.4.4:36657"));
}

Test(wire_check, altered_pex_address_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_pex_addr, "messages[1] (pex_addrs) PEX message");
}

static void alter_packet(json_t *root)
{
	flip_hex(json_array_get(json_object_get(root, "messages"), 2), "written_plaintext", 3);
}

Test(wire_check, altered_ping_packet_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_packet, "messages[2] (ping) packet as MConnection writes it: byte 1");
}

static void alter_step(json_t *root)
{
	json_object_set_new(json_array_get(json_object_get(root, "messages"), 3), "step",
			    json_string("pong2"));
}

Test(wire_check, unknown_step_names_it, .init = setup, .fini = teardown)
{
	expect_named(alter_step, "messages[3]: step \"pong2\" is not one this replay knows");
}

/* ---- nothing specific to this file's values ----------------------------- */

static void swap_names(json_t *root)
{
	/* Node "A" becomes the listener whose key sorts high, "B" the dialer. */
	json_t *nodes = json_object_get(root, "nodes"), *wire = json_object_get(root, "wire");
	json_t *a = json_incref(json_object_get(nodes, "A")), *b = json_incref(json_object_get(nodes, "B"));
	json_object_set_new(nodes, "A", b);
	json_object_set_new(nodes, "B", a);
	json_t *ab = json_incref(json_object_get(wire, "A_to_B"));
	json_t *ba = json_incref(json_object_get(wire, "B_to_A"));
	json_object_set_new(ba, "from", json_string("A"));
	json_object_set_new(ba, "to", json_string("B"));
	json_object_set_new(ab, "from", json_string("B"));
	json_object_set_new(ab, "to", json_string("A"));
	json_object_set_new(wire, "A_to_B", ba);
	json_object_set_new(wire, "B_to_A", ab);
	json_t *msgs = json_object_get(root, "messages");
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		json_t *m = json_array_get(msgs, i);
		bool from_a = strcmp(json_string_value(json_object_get(m, "from")), "A") == 0;
		json_object_set_new(m, "from", json_string(from_a ? "B" : "A"));
		json_object_set_new(m, "to", json_string(from_a ? "A" : "B"));
	}
}

Test(wire_check, names_and_roles_swapped_still_pass, .init = setup, .fini = teardown)
{
	/* The same bytes with the node names swapped: the dialer is "B", sorting low. */
	struct run r = wire_check(altered(swap_names), false);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "wire: transcript ok\n");
	run_free(&r);
}
