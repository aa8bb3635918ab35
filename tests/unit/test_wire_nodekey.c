/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_nodekey.c - node_key.json: the key and ID of upstream's
 * transcript node A from its seed, the file's exact text, every way a file
 * can be wrong (each refused with its one-line reason), and creation:
 * mode 0600, atomic, never over an existing file.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "wire/nodekey.h"
#include "wire_helpers.h"

/* Node A of transcript 1: seed 00 01 .. 1f. */
#define A_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA=="
#define A_FILE "{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"" A_B64 "\"}}"

static char dir[PATH_MAX];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mukan-nodekey-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[PATH_MAX + 256];
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(wire_nodekey, transcript_node_a_from_seed)
{
	json_t *root = transcript_load(TRANSCRIPT_1);
	uint8_t seed[32], pub[32], id[MUKAN_ID_LEN], priv[64];
	transcript_hex(root, "nodes.A.ed25519_seed", seed, 32);
	transcript_hex(root, "nodes.A.ed25519_pub_key", pub, 32);
	transcript_hex(root, "nodes.A.node_id", id, MUKAN_ID_LEN);
	transcript_hex(root, "nodes.A.ed25519_priv_key_64", priv, 64);
	struct node_key k;
	node_key_from_seed(&k, seed);
	cr_assert_arr_eq(k.pub, pub, 32);
	cr_assert_arr_eq(k.id, id, MUKAN_ID_LEN);
	cr_assert_arr_eq(k.priv, priv, 64, "private key is not Go's seed || public key");
	json_decref(root);
}

Test(wire_nodekey, format_is_upstreams_text_and_parses_back)
{
	uint8_t seed[32];
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	struct node_key k, back;
	node_key_from_seed(&k, seed);
	char *text = node_key_format(&k);
	cr_assert_str_eq(text, A_FILE);
	char err[256] = "";
	cr_assert_eq(node_key_parse(text, strlen(text), &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_arr_eq(&back, &k, sizeof(k));
	free(text);
	/* Whitespace and key order as a person or another tool may write them. */
	static const char spaced[] = "{\n  \"priv_key\": {\n    \"value\": \"" A_B64
				     "\",\n    \"type\": \"tendermint/PrivKeyEd25519\"\n  }\n}\n";
	cr_assert_eq(node_key_parse(spaced, strlen(spaced), &back, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_arr_eq(back.id, k.id, MUKAN_ID_LEN);
}

static void expect_refused(const char *text, const char *reason)
{
	struct node_key k;
	memset(&k, 0xaa, sizeof(k));
	struct node_key before = k;
	char err[256] = "";
	cr_assert_eq(node_key_parse(text, strlen(text), &k, err, sizeof(err)), -EINVAL,
		     "accepted: %s", text);
	cr_assert(strstr(err, reason), "reason \"%s\" lacks \"%s\" (input %s)", err, reason, text);
	cr_assert(!strchr(err, '\n'), "reason is not one line: %s", err);
	cr_assert_arr_eq(&k, &before, sizeof(k), "a refused file changed the key");
}

Test(wire_nodekey, refuses_each_kind_of_bad_file)
{
	expect_refused("", "not valid JSON");
	expect_refused("{\"priv_key\":", "not valid JSON");
	expect_refused("{\"priv_key\":\"a\nb\"}", "not valid JSON"); /* raw newline, quoted by jansson */
	expect_refused("[1]", "not a JSON object");
	expect_refused("{}", "no \"priv_key\"");
	expect_refused("{\"priv_key\":\"x\"}", "no \"priv_key\"");
	expect_refused("{\"priv_key\":{\"value\":\"" A_B64 "\"}}", "no \"type\"");
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeySecp256k1\",\"value\":\"" A_B64
		       "\"}}",
		       "is not tendermint/PrivKeyEd25519");
	/* a control character in the type is not echoed (the fuzzer's find) */
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKe\\nEd25519\",\"value\":\"" A_B64
		       "\"}}",
		       "\"tendermint/PrivKe?Ed25519\" is not");
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":5}}",
		       "no \"value\"");
	/* base64: a bad character, missing padding, inner whitespace, URL alphabet */
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"AAEC*wQF\"}}",
		       "not valid base64");
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":"
		       "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"}}",
		       "not valid base64");
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"AAEC AwQF\"}}",
		       "not valid base64");
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"AAEC_wQF\"}}",
		       "not valid base64");
	/* the seed alone (32 bytes), and 64 bytes whose public half is off by one bit */
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":"
		       "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}}",
		       "holds 32 bytes, want 64");
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":"
		       "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d"
		       "3IZkElUxuQ==\"}}",
		       "public half");
	expect_refused("{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"" A_B64
		       "\",\"value\":\"" A_B64 "\"}}",
		       "not valid JSON");
}

Test(wire_nodekey, load_reports_missing_and_oversized_files, .init = make_dir,
     .fini = remove_dir)
{
	char path[PATH_MAX + 32], err[256];
	struct node_key k;
	snprintf(path, sizeof(path), "%s/node_key.json", dir);
	cr_assert_eq(node_key_load(path, &k, err, sizeof(err)), -ENOENT);
	char *big = malloc(NODE_KEY_FILE_MAX + 2);
	memset(big, ' ', NODE_KEY_FILE_MAX + 1);
	big[NODE_KEY_FILE_MAX + 1] = '\0';
	write_file(path, big);
	free(big);
	cr_assert_eq(node_key_load(path, &k, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "too large"), "%s", err);
	write_file(path, A_FILE);
	cr_assert_eq(node_key_load(path, &k, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(node_key_load(dir, &k, err, sizeof(err)), -EISDIR);
}

Test(wire_nodekey, create_is_0600_and_never_replaces, .init = make_dir, .fini = remove_dir)
{
	char path[PATH_MAX + 32], err[256] = "";
	snprintf(path, sizeof(path), "%s/node_key.json", dir);
	struct node_key k, again, loaded;
	int created = -1;
	cr_assert_eq(node_key_load_or_create(path, &k, &created, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(created, 1);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	cr_assert_eq(count_entries(), 1, "a temporary file was left behind");
	cr_assert_eq(node_key_load(path, &loaded, err, sizeof(err)), 0, "%s", err);
	cr_assert_arr_eq(&loaded, &k, sizeof(k));

	/* Second start: the same identity, nothing written. */
	cr_assert_eq(node_key_load_or_create(path, &again, &created, err, sizeof(err)), 0);
	cr_assert_eq(created, 0);
	cr_assert_arr_eq(&again, &k, sizeof(k));

	/* An explicit save over it is refused and the file is untouched. */
	struct node_key other;
	node_key_generate(&other);
	cr_assert_eq(node_key_save_new(path, &other, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "never replaced"), "%s", err);
	cr_assert_eq(node_key_load(path, &loaded, err, sizeof(err)), 0);
	cr_assert_arr_eq(&loaded, &k, sizeof(k));
	cr_assert_eq(count_entries(), 1);
}

Test(wire_nodekey, create_refuses_a_broken_file_instead_of_replacing_it, .init = make_dir,
     .fini = remove_dir)
{
	/* A damaged identity is the operator's to fix: reported, kept, not regenerated. */
	char path[PATH_MAX + 32], err[256] = "";
	snprintf(path, sizeof(path), "%s/node_key.json", dir);
	write_file(path, "{\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"AA==\"}}");
	struct node_key k;
	int created = -1;
	cr_assert_eq(node_key_load_or_create(path, &k, &created, err, sizeof(err)), -EINVAL);
	cr_assert_eq(created, 0);
	cr_assert(strstr(err, "holds 1 bytes"), "%s", err);
	cr_assert_eq(count_entries(), 1);
}

Test(wire_nodekey, create_in_a_missing_directory_fails_cleanly, .init = make_dir,
     .fini = remove_dir)
{
	char path[PATH_MAX + 32], err[256] = "";
	snprintf(path, sizeof(path), "%s/absent/node_key.json", dir);
	struct node_key k;
	int created = -1;
	cr_assert_eq(node_key_load_or_create(path, &k, &created, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "create temporary file"), "%s", err);
	static const struct node_key zero;
	cr_assert_arr_eq(&k, &zero, sizeof(k), "the key of a failed create is wiped");
	cr_assert_eq(count_entries(), 0);
}

Test(wire_nodekey, generated_keys_differ)
{
	struct node_key a, b;
	node_key_generate(&a);
	node_key_generate(&b);
	cr_assert(memcmp(a.priv, b.priv, 64) != 0);
	node_key_wipe(&a);
	static const struct node_key zero;
	cr_assert_arr_eq(&a, &zero, sizeof(a));
}
