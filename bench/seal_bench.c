/*
 * seal_bench.c: edgeseal-seal-bench: seals verified and minted per second
 * on one core, beside two raw HMAC-SHA256 rates over the same bytes in the
 * same process: OpenSSL's one-shot HMAC() (a key schedule per call), and
 * the fastest pre-keyed HMAC we know with OpenSSL 3's supported API (the
 * better of EVP_MAC_init() reusing a keyed context, and SHA-256 pad states
 * copied into one reused EVP_MD_CTX). The target (verification at
 * least 0.5x raw HMAC) is judged against the pre-keyed rate, the stricter
 * one; both ratios are printed. The last line, "verify_vs_hmac RATIO",
 * is the pre-keyed ratio, for bench/run.
 *
 * Usage: edgeseal-seal-bench [SECONDS]   (CPU seconds per measurement,
 *                                        default 1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "base64url.h"
#include "edgeseal.h"

#define NOW 1800000000
#define BATCH 1000

static const uint8_t key[32] = "bench-key-bench-key-bench-key-!!";
static double seconds = 1.0;
static volatile unsigned sink;

/* CPU time of this thread: a busy machine does not skew per-core rates. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run fn in batches for the configured time; returns calls per second. */
static double
rate(void (*fn)(void *), void *arg)
{
	double start = now_s(), elapsed;
	unsigned long calls = 0;

	do {
		for (int i = 0; i < BATCH; i++)
			fn(arg);
		calls += BATCH;
		elapsed = now_s() - start;
	} while (elapsed < seconds);
	return (double)calls / elapsed;
}

/* Pre-keyed HMAC states, built once; the MACs below only reuse them. */
struct prekeyed {
	EVP_MAC_CTX *mac;	/* keyed; EVP_MAC_init(NULL key) rewinds it */
	EVP_MD_CTX *inner, *outer;	/* SHA-256 after key^ipad, key^opad */
	EVP_MD_CTX *work;
};

struct ctx {
	struct prekeyed pk;
	struct edgeseal_keyset *ks;
	struct edgeseal_verifier *v;
	struct edgeseal_mint_opts mint;
	char seal[4096];
	size_t seal_len, signed_len;
};

static void
one_hmac(void *arg)
{
	struct ctx *c = arg;
	uint8_t mac[32];
	unsigned int len;

	HMAC(EVP_sha256(), key, sizeof(key), (const uint8_t *)c->seal,
	     c->signed_len, mac, &len);
	sink += mac[0];
}

/* HMAC of the signing input with the keyed EVP_MAC context, rewound. */
static void
mac_reinit(struct ctx *c, uint8_t mac[32])
{
	size_t len;

	if (EVP_MAC_init(c->pk.mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(c->pk.mac, (const uint8_t *)c->seal,
			   c->signed_len) != 1 ||
	    EVP_MAC_final(c->pk.mac, mac, &len, 32) != 1)
		abort();
}

/* HMAC of the signing input from the pad states, in one reused context. */
static void
mac_pads(struct ctx *c, uint8_t mac[32])
{
	uint8_t inner[32];
	unsigned int len;

	if (EVP_MD_CTX_copy_ex(c->pk.work, c->pk.inner) != 1 ||
	    EVP_DigestUpdate(c->pk.work, c->seal, c->signed_len) != 1 ||
	    EVP_DigestFinal_ex(c->pk.work, inner, &len) != 1 ||
	    EVP_MD_CTX_copy_ex(c->pk.work, c->pk.outer) != 1 ||
	    EVP_DigestUpdate(c->pk.work, inner, sizeof(inner)) != 1 ||
	    EVP_DigestFinal_ex(c->pk.work, mac, &len) != 1)
		abort();
}

static void
one_mac_reinit(void *arg)
{
	uint8_t mac[32];

	mac_reinit(arg, mac);
	sink += mac[0];
}

static void
one_pads_copy(void *arg)
{
	uint8_t mac[32];

	mac_pads(arg, mac);
	sink += mac[0];
}

static void
one_verify(void *arg)
{
	struct ctx *c = arg;

	if (edgeseal_verify(c->v, c->seal, c->seal_len, NOW, NULL) != 0)
		abort();
}

/* As services call it: the identity is built and freed too. */
static void
one_verify_identity(void *arg)
{
	struct ctx *c = arg;
	struct edgeseal_identity *id = NULL;

	if (edgeseal_verify(c->v, c->seal, c->seal_len, NOW, &id) != 0)
		abort();
	edgeseal_identity_free(id);
}

static void
one_mint(void *arg)
{
	struct ctx *c = arg;
	char out[4096];
	size_t len;

	if (edgeseal_mint(c->ks, &c->mint, NOW, out, sizeof(out), &len) != 0)
		abort();
	sink += (unsigned)len;
}

/* state = SHA-256 after the 64-byte block key XOR pad (RFC 2104). */
static void
absorb_pad(EVP_MD_CTX **state, uint8_t pad)
{
	uint8_t block[64];

	memset(block, pad, sizeof(block));
	for (size_t i = 0; i < sizeof(key); i++)
		block[i] ^= key[i];
	*state = EVP_MD_CTX_new();
	if (*state == NULL ||
	    EVP_DigestInit_ex(*state, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(*state, block, sizeof(block)) != 1)
		abort();
}

static void
prekey(struct prekeyed *pk)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	pk->mac = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
	if (pk->mac == NULL ||
	    EVP_MAC_init(pk->mac, key, sizeof(key), params) != 1)
		abort();
	EVP_MAC_free(hmac);	/* the context keeps its own reference */
	absorb_pad(&pk->inner, 0x36);
	absorb_pad(&pk->outer, 0x5c);
	pk->work = EVP_MD_CTX_new();
	if (pk->work == NULL)
		abort();
}

/* Both pre-keyed ways must give the one-shot HMAC()'s tag. */
static void
check_macs(struct ctx *c)
{
	uint8_t want[32], got[32];
	unsigned int len;

	HMAC(EVP_sha256(), key, sizeof(key), (const uint8_t *)c->seal,
	     c->signed_len, want, &len);
	mac_reinit(c, got);
	if (memcmp(got, want, sizeof(want)) != 0)
		abort();
	mac_pads(c, got);
	if (memcmp(got, want, sizeof(want)) != 0)
		abort();
}

/* A key set with one key, and a verifier over a copy of it. */
static void
setup(struct ctx *c)
{
	static const char claims[] =
		"{\"scope\":\"orders:read orders:write\","
		"\"roles\":[\"customer\"],\"tenant\":\"acme\"}";
	char json[256], k[64];

	edgeseal__b64url_encode(key, sizeof(key), k);
	snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"oct\","
		 "\"kid\":\"2026-12-a\",\"alg\":\"HS256\",\"k\":\"%s\"}]}", k);
	c->ks = edgeseal_keyset_parse(json, strlen(json), NULL, 0);
	c->v = edgeseal_verifier_new(NULL, edgeseal_keyset_parse(json,
		strlen(json), NULL, 0));
	if (c->ks == NULL || c->v == NULL)
		abort();

	c->mint = (struct edgeseal_mint_opts){
		.sub = "user-8f14e45f-ceea-467f", .claims_json = claims,
		.claims_json_len = strlen(claims),
	};
	if (edgeseal_mint(c->ks, &c->mint, NOW, c->seal, sizeof(c->seal),
			  &c->seal_len) != 0)
		abort();
	c->signed_len = (size_t)(strrchr(c->seal, '.') - c->seal);
	prekey(&c->pk);
	check_macs(c);
}

static void
cleanup(struct ctx *c)
{
	EVP_MAC_CTX_free(c->pk.mac);
	EVP_MD_CTX_free(c->pk.inner);
	EVP_MD_CTX_free(c->pk.outer);
	EVP_MD_CTX_free(c->pk.work);
	edgeseal_verifier_free(c->v);
	edgeseal_keyset_free(c->ks);
}

int
main(int argc, char **argv)
{
	struct ctx c;
	double oneshot, reinit, pads, prekeyed, verify, identity, mint;

	if (argc > 1)
		seconds = atof(argv[1]) > 0 ? atof(argv[1]) : 1.0;
	setup(&c);

	oneshot = rate(one_hmac, &c);
	reinit = rate(one_mac_reinit, &c);
	pads = rate(one_pads_copy, &c);
	verify = rate(one_verify, &c);
	identity = rate(one_verify_identity, &c);
	mint = rate(one_mint, &c);
	prekeyed = reinit > pads ? reinit : pads;

	printf("seal of %zu bytes (MAC over %zu), one thread\n", c.seal_len,
	       c.signed_len);
	printf("raw HMAC-SHA256 one-shot HMAC()   %10.0f /s per core\n",
	       oneshot);
	printf("raw HMAC-SHA256 pre-keyed         %10.0f /s per core "
	       "(best of: EVP_MAC_init reuse %.0f, pad states copied %.0f)\n",
	       prekeyed, reinit, pads);
	printf("edgeseal_verify                   %10.0f /s per core\n",
	       verify);
	printf("edgeseal_verify + identity        %10.0f /s per core\n",
	       identity);
	printf("edgeseal_mint                     %10.0f /s per core\n", mint);
	printf("verify_vs_hmac_oneshot %.2f\n", verify / oneshot);
	printf("verify_vs_hmac_prekeyed %.2f\n", verify / prekeyed);
	printf("target: verify >= 0.5x raw HMAC, judged against pre-keyed: "
	       "%s\n", verify / prekeyed >= 0.5 ? "met" : "NOT met");
	printf("verify_vs_hmac %.2f\n", verify / prekeyed);

	cleanup(&c);
	return 0;
}
