/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_buckets.c - `book buckets FILE ADDR`: where upstream's formulas put
 * an address under the file's keys, to compare placement with CometBFT by
 * hand. Upstream never saves its hash key (a new one at every start), so
 * for an upstream file the hash key must come from --hash-key.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "dialctl.h"

struct buckets_args {
	struct common_opts common;
	const char *file;
	struct addr_src as;
	uint8_t hash_key[BOOK_HASH_KEY_LEN];
	bool has_hash_key;
};

enum { OPT_SRC = 's', OPT_HASH_KEY = 'k' };

static const struct argp_option options[] = {
	{ "src", OPT_SRC, "ADDR", 0,
	  "The source the address came from (id@ip:port, or ip:port); its group picks the "
	  "new bucket. Default: ADDR itself.",
	  0 },
	{ "hash-key", OPT_HASH_KEY, "HEX64", 0,
	  "HighwayHash key as 64 hex characters (32 bytes, in the order Go's "
	  "highwayhash.New64 takes them). Default: the file's mukan.hash_key.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Print the new and the old bucket of an address under a book file's keys.\n"
	"\n"
	"USAGE: mukan-dialctl book buckets [--src ADDR] [--hash-key HEX64]\n"
	"                                  [--no-strict] FILE ADDR\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl book buckets addrbook.json ID@77.145.180.81:28569 \\\n"
	"        --src ID2@1.2.3.4:26656\n"
	"    mukan-dialctl book buckets addrbook.json ID@77.145.180.81:28569 -k \\\n"
	"        000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	"(ID, ID2: node IDs, 40 hex characters)\n"
	"\n"
	"FORMULAS (upstream calcNewBucket, calcOldBucket):\n"
	"    new = H(key | g(src) | BE64(H(key | g(addr) | g(src)) % 32)) % 256\n"
	"    old = H(key | g(addr) | BE64(H(key | \"id@ip:port\") % 4)) % 64\n"
	"H: HighwayHash-64 digest read big-endian; key: the file's \"key\";\n"
	"g: the group printed beside each address."
	"\v"
	"Groups depend on strict mode: strict makes loopback \"local\" and other "
	"non-routable addresses \"unroutable\"; --no-strict groups them by /16 or /32 like "
	"any other. Exit status 0, 1 when FILE does not load, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct buckets_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		return 0;
	case OPT_SRC:
		return args_src(state, arg, &a->as);
	case OPT_HASH_KEY:
		if (hex_decode(arg, strlen(arg), a->hash_key, sizeof(a->hash_key)) < 0)
			argp_error(state, "--hash-key wants 64 hex characters, not '%s'", arg);
		a->has_hash_key = true;
		return 0;
	case ARGP_KEY_ARG:
		/* ADDR needs its ID: the old bucket hashes "id@ip:port". */
		if (args_file_then_addr(state, arg, &a->file, "FILE ADDR"))
			args_addr(state, arg, &a->as);
		return 0;
	case ARGP_KEY_END:
		args_need_file_addr(state, a->file, a->as.addr_text);
		args_src_default(&a->as);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp buckets_argp = { options, parse, "FILE ADDR", doc, common_children,
					  NULL, NULL };

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int verb_buckets(int argc, char **argv)
{
	struct buckets_args a = { 0 };
	argp_parse(&buckets_argp, argc, argv, 0, NULL, &a);

	struct book *b;
	int status = dialctl_open_book(a.file, &a.common, 0, &b, NULL);
	if (status != DIALCTL_EXIT_OK)
		return status;

	struct placement_keys keys = *book_placement(b);
	const char *hk_from = "from the file";
	if (a.has_hash_key) {
		placement_set_hash_key(&keys, a.hash_key);
		hk_from = "from --hash-key";
	} else if (!book_hash_key_from_file(b)) {
		hk_from = "RANDOM: the file has none (upstream never saves it); pass --hash-key";
	}
	const uint8_t *hk = a.has_hash_key ? a.hash_key : book_hash_key(b);

	char addr[NETADDR_STRLEN], src[NETADDR_STRLEN], ga[GROUP_STRLEN], gs[GROUP_STRLEN];
	netaddr_format(&a.as.addr, addr);
	netaddr_format(&a.as.src, src);
	ip_group(&a.as.addr.a, keys.strict, ga);
	ip_group(&a.as.src.a, keys.strict, gs);

	printf("key         %s\n", keys.key);
	printf("hash key    ");
	print_hex(hk, BOOK_HASH_KEY_LEN);
	printf(" (%s)\n", hk_from);
	printf("strict      %s\n", keys.strict ? "yes" : "no");
	printf("addr        %s group %s\n", addr, ga);
	printf("src         %s group %s\n", src, gs);
	printf("new bucket  %u\n", placement_new_bucket(&keys, &a.as.addr, &a.as.src));
	printf("old bucket  %u\n", placement_old_bucket(&keys, &a.as.addr));
	book_free(b);
	return DIALCTL_EXIT_OK;
}
