/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire_crypto.c - the crypto user/wire/ writes itself: Keccak-f[1600],
 * STROBE-128 and Merlin, plus HKDF-SHA256 on libsodium's HMAC.
 *
 * Keccak-f is checked through a SHA3-256 / SHAKE128 sponge built here on
 * top of it, against FIPS 202 known answers (also reproduced with Python's
 * hashlib, an independent implementation). Merlin is checked against the
 * published transcripts of its reference implementations (merlin.cool and
 * the Go port upstream uses), including one that wraps the sponge many
 * times. HKDF is checked against RFC 5869 appendix A and upstream's golden
 * file for SecretConnection's key derivation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "vectors.h"
#include "wire/hkdf.h"
#include "wire/keccak.h"
#include "wire/merlin.h"
#include "wire_helpers.h"

/* ---- Keccak-f[1600] through a FIPS 202 sponge ------------------------- */

/* A one-shot Keccak sponge: rate bytes, domain suffix byte (0x06 SHA3, 0x1f SHAKE). */
static void sponge(const uint8_t *in, size_t len, unsigned rate, uint8_t suffix, uint8_t *out,
		   size_t out_len)
{
	uint8_t st[KECCAK_STATE_BYTES] = { 0 };
	while (len >= rate) {
		for (unsigned i = 0; i < rate; i++)
			st[i] ^= in[i];
		keccak_f1600(st);
		in += rate, len -= rate;
	}
	for (size_t i = 0; i < len; i++)
		st[i] ^= in[i];
	st[len] ^= suffix;
	st[rate - 1] ^= 0x80;
	keccak_f1600(st);
	while (out_len > 0) {
		size_t n = out_len < rate ? out_len : rate;
		memcpy(out, st, n);
		out += n, out_len -= n;
		if (out_len)
			keccak_f1600(st);
	}
}

static void check_sha3_256(const uint8_t *msg, size_t len, const char *want_hex)
{
	uint8_t got[32], want[32];
	hex_to(want_hex, want, sizeof(want));
	sponge(msg, len, 136, 0x06, got, sizeof(got));
	cr_assert_arr_eq(got, want, sizeof(want), "SHA3-256 of %zu bytes differs", len);
}

Test(wire_keccak, zero_state_first_lane)
{
	/* KeccakF-1600-IntermediateValues.txt: the all-zero state after one permutation. */
	uint8_t st[KECCAK_STATE_BYTES] = { 0 };
	keccak_f1600(st);
	static const uint8_t want[8] = { 0xe7, 0xdd, 0xe1, 0x40, 0x79, 0x8f, 0x25, 0xf1 };
	cr_assert_arr_eq(st, want, sizeof(want), "lane 0 is not 0xF1258F7940E1DDE7");
}

Test(wire_keccak, sha3_256_known_answers)
{
	check_sha3_256((const uint8_t *)"", 0,
		       "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
	check_sha3_256((const uint8_t *)"abc", 3,
		       "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check_sha3_256((const uint8_t *)m448, sizeof(m448) - 1,
		       "41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376");
	/* NIST's 1600-bit message of 0xa3: more than one block (rate 136). */
	uint8_t a3[200];
	memset(a3, 0xa3, sizeof(a3));
	check_sha3_256(a3, sizeof(a3),
		       "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787");
}

Test(wire_keccak, shake128_long_output)
{
	uint8_t got[400], want[32];
	sponge((const uint8_t *)"", 0, 168, 0x1f, got, 32);
	hex_to("7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26", want, 32);
	cr_assert_arr_eq(got, want, 32, "SHAKE128(\"\") differs");
	/* 400 bytes out of 0xa3 x 200 in: squeezing across three permutations. */
	uint8_t a3[200];
	memset(a3, 0xa3, sizeof(a3));
	sponge(a3, sizeof(a3), 168, 0x1f, got, sizeof(got));
	hex_to("b744c8506f37e9b4e749a184b30f43eb188d855f1b70d71ff3e50c537ac1b0f8", want, 32);
	cr_assert_arr_eq(got + 368, want, 32, "SHAKE128 output bytes 368..399 differ");
}

/* ---- Merlin ----------------------------------------------------------- */

#define LBL(s) s, sizeof(s) - 1

Test(wire_merlin, published_simple_transcript)
{
	/* merlin.cool and REFERENCE.md: the transcript every port checks first. */
	struct merlin t;
	uint8_t got[32], want[32];
	merlin_init(&t, LBL("test protocol"));
	merlin_append(&t, LBL("some label"), LBL("some data"));
	merlin_challenge(&t, LBL("challenge"), got, sizeof(got));
	hex_to("d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615", want, 32);
	cr_assert_arr_eq(got, want, 32, "Merlin simple transcript challenge differs");
}

Test(wire_merlin, published_complex_transcript)
{
	/*
	 * The Go port's TestComplexTranscript (github.com/gtank/merlin, which
	 * upstream uses): 1 KiB appends wrap STROBE's 166-byte rate many times.
	 * Every intermediate challenge, so a failure names the first round off.
	 */
	static const char *const want_hex[32] = {
		"b61a5540c3dc16e5d746c22e0bfd3509621e37e088a1445581813a746e9c12ea",
		"c66c13d15ff45b5318ee2cef99d3eb8346eb037468090ee32569714617c66c78",
		"cab17754446aabaee9b962006c85457fd61ee1c70ee75a6f92db430bb4c44a7d",
		"15a0d953adf1b55ad2defe664955866200ba2cfb3c1d02209efd63691b07e23e",
		"b7598ad695abf1b8682301d13d3a1208547c79cd00d8fd5c7817bd9beea306d0",
		"3b5518effca8e27942425a8d027223da4c2b86226f247f4cea2df01f7153bc9a",
		"a4964319661dd522f2f9bd676e1c975ca0004a57df92fc5dcafe90d1cd19ab4b",
		"9907ebb80c2c865c82c21642ed7a391a2bfd57510647b073aaa6bd0e50b48941",
		"9de843864ba4eb4bdb9cb17c8081418c4fa6d250576e6be19ca4613c052ce691",
		"663771dec95f0f4df735ad79c20adb5598601a7ec3d96d39ba6be8d6abc19bcc",
		"4b3b2b8646791a5badad81b277b261f5c92403fd70fde4f309bc0b16f51e6bab",
		"a201a470f41038154a7d1d30c5218de1eec441841a5d1f7c562c15fc31ea2746",
		"9a5f590e2494c60db3d5e956fe0ac1e07150bdd0c220f6261aa2d02484911436",
		"d829b1ffeeb4204ab1d2ef7e7337c0382b3c3edf10e4f94073cd1d782c39be04",
		"89149073193054670dfdae73eb3669bdde497597e1e1916a618a7325e8175218",
		"3235b2e321974e9be15b2d6f5a73d4c605a3cc681fec13ab2327d2ebe0bafe32",
		"0bbe994b9f0e9a95a646a67d572d52a11431692c6244db8ed0197cd911a7379b",
		"f6a2b8d174ff192a22bd6f5ed4973a8c86398a6f5f0c1f07a12c70fc8eba7e35",
		"93ec8d8d33c0d5a67c57b1663245be0b065178460180b390e7c3f3c657060aab",
		"fd5ec47965f27ca5decb2275ea3a279bc9b9148b1d55b66d65813808bc32ea83",
		"a3dbffb2c49c9a02ff59baff013f94605511181679c8a6a7a1996f08b1ec2c83",
		"6297acf2d6054b235e90f44223addaab8b990b720c93dc19b60f54006cd81521",
		"d6e5c0db1039ff7d28dfef0135e6387e3da057539a485ea29cf9ada629d50901",
		"16901da1e38bf7de8e27e06d1bd7fb684496d36211ef16982afd498db8ef19c8",
		"7c86ec1f6a97881ada2af2b14bf303d102bc715fc8fa68974782246f5d636211",
		"e7ab040204bffb73564de12914b4d1836852d37698ee5beff1089fa1c10fd2f2",
		"f1d3a50ecf8a8514ed04f5011042979efe44084b8dc33245659c67400dce8686",
		"172c8e5b77c665c2cd9fa8f4fd942dc50137a6e46718d713a0f01cd0f3026ef3",
		"6393df668f1c16f08b1eb4f4d6532681dabe205c2400f9dd271dd7d8ae43e751",
		"84834f888c4d87e4ef962dbf5e11609ccc3126a7c829c0b360023b11b566237c",
		"a3f6a8056fe1e090a0d5a07f2361f8b804a3e45df5c74a81e8c1c430ee7e24f8",
		"a8c933f54fae76e3f9bea93648c1308e7dfa2152dd51674ff3ca438351cf003c",
	};
	struct merlin t;
	uint8_t data[1024], chl[32], want[32];
	memset(data, 99, sizeof(data));
	merlin_init(&t, LBL("test protocol"));
	merlin_append(&t, LBL("step1"), LBL("some data"));
	for (int i = 0; i < 32; i++) {
		merlin_challenge(&t, LBL("challenge"), chl, sizeof(chl));
		hex_to(want_hex[i], want, sizeof(want));
		cr_assert_arr_eq(chl, want, 32, "challenge %d of 32 differs", i + 1);
		merlin_append(&t, LBL("bigdata"), data, sizeof(data));
		merlin_append(&t, LBL("challengedata"), chl, sizeof(chl));
	}
}

Test(wire_merlin, secret_connection_challenge_of_transcript_1)
{
	/* Upstream's own handshake: lo, hi, dh in; the challenge both nodes signed out. */
	json_t *root = transcript_load(TRANSCRIPT_1);
	uint8_t lo[32], hi[32], dh[32], want[32], got[32];
	transcript_hex(root, "handshake.lo_eph_pub", lo, 32);
	transcript_hex(root, "handshake.hi_eph_pub", hi, 32);
	transcript_hex(root, "handshake.dh_secret", dh, 32);
	transcript_hex(root, "handshake.challenge", want, 32);
	struct merlin t;
	merlin_init(&t, LBL("TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH"));
	merlin_append(&t, LBL("EPHEMERAL_LOWER_PUBLIC_KEY"), lo, 32);
	merlin_append(&t, LBL("EPHEMERAL_UPPER_PUBLIC_KEY"), hi, 32);
	merlin_append(&t, LBL("DH_SECRET"), dh, 32);
	merlin_challenge(&t, LBL("SECRET_CONNECTION_MAC"), got, 32);
	cr_assert_arr_eq(got, want, 32, "SecretConnection challenge differs from upstream's");
	merlin_wipe(&t);
	static const uint8_t zero[sizeof(t)];
	cr_assert_arr_eq(&t, zero, sizeof(t), "merlin_wipe left state behind");
	json_decref(root);
}

Test(wire_merlin, every_input_changes_the_challenge)
{
	/* Labels, lengths and data are all bound: change any one and the output moves. */
	uint8_t base[32], other[32];
	struct merlin t;
	merlin_init(&t, LBL("p"));
	merlin_append(&t, LBL("ab"), LBL("c"));
	merlin_challenge(&t, LBL("x"), base, 32);

	merlin_init(&t, LBL("p"));
	merlin_append(&t, LBL("a"), LBL("bc")); /* same bytes, other split */
	merlin_challenge(&t, LBL("x"), other, 32);
	cr_assert(memcmp(base, other, 32) != 0, "label/message split is not bound");

	merlin_init(&t, LBL("q"));
	merlin_append(&t, LBL("ab"), LBL("c"));
	merlin_challenge(&t, LBL("x"), other, 32);
	cr_assert(memcmp(base, other, 32) != 0, "protocol label is not bound");

	merlin_init(&t, LBL("p"));
	merlin_append(&t, LBL("ab"), LBL("c"));
	merlin_challenge(&t, LBL("x"), other, 31);
	cr_assert(memcmp(base, other, 31) != 0, "challenge length is not bound");
}

/* ---- HKDF-SHA256 ------------------------------------------------------ */

static void check_rfc5869(const char *ikm_hex, const char *salt_hex, const char *info_hex,
			  const char *prk_hex, const char *okm_hex, const char *name)
{
	size_t ikm_len, salt_len, info_len, prk_len, okm_len;
	uint8_t *ikm = hex_dup(ikm_hex, &ikm_len), *salt = hex_dup(salt_hex, &salt_len);
	uint8_t *info = hex_dup(info_hex, &info_len), *prk = hex_dup(prk_hex, &prk_len);
	uint8_t *okm = hex_dup(okm_hex, &okm_len);
	uint8_t got_prk[HKDF_SHA256_LEN], got[128];
	hkdf_sha256_extract(got_prk, salt, salt_len, ikm, ikm_len);
	cr_assert_arr_eq(got_prk, prk, 32, "%s: PRK differs", name);
	cr_assert_eq(hkdf_sha256_expand(got, okm_len, got_prk, info, info_len), 0);
	cr_assert_arr_eq(got, okm, okm_len, "%s: OKM differs", name);
	memset(got, 0, sizeof(got));
	cr_assert_eq(hkdf_sha256(got, okm_len, salt, salt_len, ikm, ikm_len, info, info_len), 0);
	cr_assert_arr_eq(got, okm, okm_len, "%s: one-shot OKM differs", name);
	free(ikm), free(salt), free(info), free(prk), free(okm);
}

Test(wire_hkdf, rfc5869_appendix_a)
{
	check_rfc5869("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
		      "f0f1f2f3f4f5f6f7f8f9",
		      "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
		      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
		      "A.1");
	check_rfc5869("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
		      "404142434445464748494a4b4c4d4e4f",
		      "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
		      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
		      "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
		      "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
		      "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
		      "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
		      "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
		      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
		      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
		      "cc30c58179ec3e87c14c01d5c1f3434f1d87",
		      "A.2");
	/* A.3: no salt and no info, as SecretConnection calls it. */
	check_rfc5869("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
		      "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
		      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
		      "A.3");
}

Test(wire_hkdf, refuses_more_than_255_blocks)
{
	uint8_t prk[32] = { 0 }, out[1];
	cr_assert_eq(hkdf_sha256_expand(out, HKDF_SHA256_MAX_OUT + 1, prk, NULL, 0), -EINVAL);
}

Test(wire_hkdf, upstream_golden_derive_secrets)
{
	/*
	 * Upstream's TestDeriveSecretsAndChallengeGolden: dh, locIsLeast, recv,
	 * send, and the legacy challenge (bytes 64..95 of the same expansion).
	 */
	static const char info[] = "TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN";
	char path[4096], line[1024];
	FILE *f = vectors_open(GOLDEN_DERIVE, path, sizeof(path));
	int cases = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line)
			continue;
		char *col[5], *save = NULL;
		int n = 0;
		for (char *tok = strtok_r(line, ",", &save); tok && n < 5;
		     tok = strtok_r(NULL, ",", &save))
			col[n++] = tok;
		cr_assert_eq(n, 5, "%s: case %d has %d columns", path, cases + 1, n);
		uint8_t dh[32], recv[32], send[32], legacy[32], okm[96];
		hex_to(col[0], dh, 32);
		hex_to(col[2], recv, 32);
		hex_to(col[3], send, 32);
		hex_to(col[4], legacy, 32);
		bool least = strcmp(col[1], "true") == 0;
		cr_assert(least || strcmp(col[1], "false") == 0, "bad locIsLeast %s", col[1]);
		cr_assert_eq(hkdf_sha256(okm, sizeof(okm), NULL, 0, dh, 32, (const uint8_t *)info,
					 sizeof(info) - 1),
			     0);
		cr_assert_arr_eq(least ? okm : okm + 32, recv, 32, "case %d: recv key", cases + 1);
		cr_assert_arr_eq(least ? okm + 32 : okm, send, 32, "case %d: send key", cases + 1);
		cr_assert_arr_eq(okm + 64, legacy, 32, "case %d: legacy challenge", cases + 1);
		cases++;
	}
	fclose(f);
	cr_assert_eq(cases, 32, "%s: %d cases, want 32", path, cases);
}
