/*
 * seal_bench.c: edgeseal-seal-bench: seals verified and minted per second
 * on one core, beside a raw HMAC-SHA256 over the same bytes (OpenSSL's
 * one-shot HMAC(), what a hand-rolled verifier would call). Prints one
 * figure per line and, last, "verify_vs_hmac RATIO" for bench/run.
 *
 * Usage: edgeseal-seal-bench [SECONDS]   (CPU seconds per measurement,
 *                                        default 1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

struct ctx {
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
}

int
main(int argc, char **argv)
{
	struct ctx c;
	double hmac_rate, verify_rate, identity_rate, mint_rate;

	if (argc > 1)
		seconds = atof(argv[1]) > 0 ? atof(argv[1]) : 1.0;
	setup(&c);

	hmac_rate = rate(one_hmac, &c);
	verify_rate = rate(one_verify, &c);
	identity_rate = rate(one_verify_identity, &c);
	mint_rate = rate(one_mint, &c);

	printf("seal of %zu bytes (MAC over %zu), one thread\n", c.seal_len,
	       c.signed_len);
	printf("raw HMAC-SHA256, same bytes  %10.0f /s per core\n", hmac_rate);
	printf("edgeseal_verify              %10.0f /s per core\n",
	       verify_rate);
	printf("edgeseal_verify + identity   %10.0f /s per core\n",
	       identity_rate);
	printf("edgeseal_mint                %10.0f /s per core\n", mint_rate);
	printf("verify_vs_hmac %.2f\n", verify_rate / hmac_rate);

	edgeseal_verifier_free(c.v);
	edgeseal_keyset_free(c.ks);
	return 0;
}
