/* SPDX-License-Identifier: Apache-2.0 */
/* nodekey.c - node_key.json: read strictly, create atomically (see nodekey.h). */
#include "nodekey.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "book/file_io.h"

/* base64 of 64 bytes, padded: 88 characters. */
#define PRIV_B64_LEN 88

static int fail(char *err, size_t errsz, int e, const char *fmt, ...)
{
	if (err && errsz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return e;
}

void node_key_id(const uint8_t pub[NODE_KEY_PUB_LEN], uint8_t id[MUKAN_ID_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, pub, NODE_KEY_PUB_LEN);
	memcpy(id, h, MUKAN_ID_LEN);
}

void node_key_from_seed(struct node_key *k, const uint8_t seed[NODE_KEY_SEED_LEN])
{
	/* libsodium's secret key is Go's: seed || public key. */
	crypto_sign_seed_keypair(k->pub, k->priv, seed);
	node_key_id(k->pub, k->id);
}

void node_key_generate(struct node_key *k)
{
	uint8_t seed[NODE_KEY_SEED_LEN];
	if (sodium_init() < 0)
		abort(); /* libsodium cannot run at all: nothing sensible to return */
	randombytes_buf(seed, sizeof(seed));
	node_key_from_seed(k, seed);
	sodium_memzero(seed, sizeof(seed));
}

/* s for a one-line message, cut to outsz - 1: anything not printable ASCII becomes '?'. */
static const char *printable(const char *s, char *out, size_t outsz)
{
	size_t i = 0;
	for (; s[i] && i + 1 < outsz; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/* Base64 (padded, no whitespace) of value into a malloc'ed buffer: 0, -EINVAL, -ENOMEM. */
static int decode_b64(json_t *value, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(value);
	size_t slen = json_string_length(value), cap = slen / 4 * 3 + 3;
	const char *end = NULL;
	*out = malloc(cap);
	if (!*out)
		return -ENOMEM;
	if (sodium_base642bin(*out, cap, s, slen, NULL, len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + slen) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* The checks on the parsed JSON; 0 with *k filled, or -EINVAL/-ENOMEM and err. */
static int check_key(json_t *root, struct node_key *k, char *err, size_t errsz)
{
	json_t *pk = json_object_get(root, "priv_key");
	const char *type = json_string_value(json_object_get(pk, "type"));
	json_t *value = json_object_get(pk, "value");
	if (!json_is_object(root))
		return fail(err, errsz, -EINVAL, "not a JSON object");
	if (!json_is_object(pk))
		return fail(err, errsz, -EINVAL, "no \"priv_key\" object");
	if (!type)
		return fail(err, errsz, -EINVAL, "priv_key has no \"type\" string");
	char shown[41];
	if (strcmp(type, NODE_KEY_TYPE) != 0)
		return fail(err, errsz, -EINVAL,
			    "key type \"%s\" is not " NODE_KEY_TYPE " (node keys are ed25519)",
			    printable(type, shown, sizeof(shown)));
	if (!json_is_string(value))
		return fail(err, errsz, -EINVAL, "priv_key has no \"value\" string");
	uint8_t *raw;
	size_t raw_len = 0;
	int rc = decode_b64(value, &raw, &raw_len);
	if (rc == -ENOMEM)
		return fail(err, errsz, rc, "out of memory");
	if (rc < 0)
		return fail(err, errsz, rc, "priv_key value is not valid base64");
	if (raw_len != NODE_KEY_PRIV_LEN) {
		rc = fail(err, errsz, -EINVAL,
			  "priv_key value holds %zu bytes, want %d (seed and public key)", raw_len,
			  NODE_KEY_PRIV_LEN);
	} else {
		struct node_key got;
		node_key_from_seed(&got, raw);
		if (sodium_memcmp(got.pub, raw + NODE_KEY_SEED_LEN, NODE_KEY_PUB_LEN) != 0)
			rc = fail(err, errsz, -EINVAL,
				  "the public half of priv_key is not the seed's public key");
		else
			*k = got;
		sodium_memzero(&got, sizeof(got));
	}
	sodium_memzero(raw, raw_len);
	free(raw);
	return rc;
}

int node_key_parse(const char *text, size_t len, struct node_key *k, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	char shown[sizeof(jerr.text)];
	if (!root) /* jansson quotes the input near the error: it may hold a newline */
		return fail(err, errsz, -EINVAL, "not valid JSON (line %d: %s)", jerr.line,
			    printable(jerr.text, shown, sizeof(shown)));
	int rc = check_key(root, k, err, errsz);
	json_decref(root);
	return rc;
}

int node_key_load(const char *path, struct node_key *k, char *err, size_t errsz)
{
	char *text;
	size_t len;
	int rc = file_read_all(path, NODE_KEY_FILE_MAX, &text, &len);
	if (rc == -EFBIG)
		return fail(err, errsz, -EINVAL, "%zu bytes: too large for a node key (at most %d)",
			    len, NODE_KEY_FILE_MAX);
	if (rc < 0)
		return fail(err, errsz, rc, "%s", strerror(-rc));
	rc = node_key_parse(text, len, k, err, errsz);
	sodium_memzero(text, len);
	free(text);
	return rc;
}

char *node_key_format(const struct node_key *k)
{
	char b64[PRIV_B64_LEN + 1];
	sodium_bin2base64(b64, sizeof(b64), k->priv, NODE_KEY_PRIV_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	char *out = NULL;
	if (asprintf(&out, "{\"priv_key\":{\"type\":\"" NODE_KEY_TYPE "\",\"value\":\"%s\"}}",
		     b64) < 0)
		out = NULL;
	sodium_memzero(b64, sizeof(b64));
	return out;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w, len -= (size_t)w;
	}
	return 0;
}

int node_key_save_new(const char *path, const struct node_key *k, char *err, size_t errsz)
{
	char *text = node_key_format(k);
	if (!text)
		return fail(err, errsz, -ENOMEM, "out of memory");
	size_t len = strlen(text);
	char *tmp = NULL;
	int fd = -1, rc = 0;
	const char *step = "create temporary file";
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
	} else if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) { /* mkostemp creates it 0600 */
		rc = -errno;
	} else {
		step = "write";
		rc = write_all(fd, text, len);
		if (rc == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0)) {
			step = "fsync";
			rc = -errno;
		}
		if (close(fd) < 0 && rc == 0)
			rc = -errno;
		/* link() refuses an existing name: an identity is never replaced. */
		if (rc == 0) {
			step = "link into place";
			if (link(tmp, path) < 0)
				rc = -errno;
		}
		unlink(tmp);
		if (rc == 0) {
			step = "fsync directory";
			rc = file_sync_dir(path);
		}
	}
	sodium_memzero(text, len);
	free(text);
	free(tmp);
	if (rc == -EEXIST)
		return fail(err, errsz, rc, "already exists (a node key is never replaced)");
	if (rc < 0)
		return fail(err, errsz, rc, "%s: %s", step, strerror(-rc));
	return 0;
}

int node_key_load_or_create(const char *path, struct node_key *k, int *created, char *err,
			    size_t errsz)
{
	*created = 0;
	int rc = node_key_load(path, k, err, errsz);
	if (rc != -ENOENT)
		return rc;
	node_key_generate(k);
	rc = node_key_save_new(path, k, err, errsz);
	if (rc == -EEXIST) /* another process made it first: use that one */
		return node_key_load(path, k, err, errsz);
	if (rc < 0)
		node_key_wipe(k);
	else
		*created = 1;
	return rc;
}

void node_key_wipe(struct node_key *k)
{
	sodium_memzero(k, sizeof(*k));
}
