/*
 * jwt_bench.c: edgeseal-jwt-bench: user tokens validated per second on one
 * core by es_decide(), for RS256, ES256 and HS256, beside the alternatives
 * in the same process:
 *
 *   raw      OpenSSL alone: one EVP_DigestVerify (or HMAC) on a key loaded
 *            once: the floor for the primitive.
 *   libjwt   jwt_decode() with the PEM text (or secret) on every call:
 *            what the agent would do if it handed keys to libjwt.
 *   miss     es_decide() with the cache off, distinct tokens: the strict
 *            front end + claims + signature + seal mint.
 *   new      es_decide() with the cache on and every token new (inserts).
 *   hit      es_decide() on one token again: cache hit, seal reused.
 *
 * Usage: edgeseal-jwt-bench [SECONDS [ALG PATH]]
 *   SECONDS of CPU per measurement (default 0.5); with ALG and PATH only
 *   that one is run, for a profiler: edgeseal-jwt-bench 5 HS256 miss
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base64url.h"
#include "jwt_testlib.h"
#include "validator.h"

#define NOW 1800000000
#define NTOKENS 256

struct alg_run {
	struct tk_key key;
	const char *key_text;	/* PEM text or secret given to libjwt */
	size_t key_len;
	char *auth[NTOKENS];	/* distinct "Bearer ..." values */
	uint8_t *sig;		/* raw: token 0's sig, OpenSSL form */
	size_t sig_len;
	const char *input;	/* raw: signing input of token 0 */
	size_t input_len;
	EVP_PKEY *pub;		/* raw: public key loaded once */
};

static double seconds = 0.5;
static struct es_validator *cached, *uncached;
static struct es_config cfg;
static char *dir;
static unsigned sink;
static uint8_t secret[32];

/*
 * CPU time of this thread, not wall time: the 2 cores are shared with
 * other work, and "per core" is what the figures claim.
 */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls per second of fn(run, i) with i cycling over the tokens. */
static double
rate(void (*fn)(struct alg_run *, unsigned), struct alg_run *run)
{
	double start = now_s(), elapsed;
	unsigned long calls = 0;

	do {
		for (unsigned i = 0; i < 64; i++)
			fn(run, (unsigned)(calls + i) % NTOKENS);
		calls += 64;
		elapsed = now_s() - start;
	} while (elapsed < seconds);
	return (double)calls / elapsed;
}

static void
do_raw(struct alg_run *r, unsigned i)
{
	EVP_MD_CTX *md;
	uint8_t mac[32];
	unsigned mlen;

	if (r->pub == NULL) {
		HMAC(EVP_sha256(), secret, sizeof(secret),
		     (const uint8_t *)r->input, r->input_len, mac, &mlen);
		sink += CRYPTO_memcmp(mac, r->sig, 32) == 0;
		return;
	}
	md = EVP_MD_CTX_new();
	EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, r->pub);
	sink += EVP_DigestVerify(md, r->sig, r->sig_len,
				 (const uint8_t *)r->input, r->input_len) == 1;
	EVP_MD_CTX_free(md);
}

static void
do_libjwt(struct alg_run *r, unsigned i)
{
	jwt_t *jwt = NULL;

	/* 7: past "Bearer ". */
	sink += jwt_decode(&jwt, r->auth[i] + 7,
			   (const unsigned char *)r->key_text,
			   (int)r->key_len) == 0;
	jwt_free(jwt);
}

static void
decide(struct es_validator *v, const char *auth)
{
	static struct es_decision d;

	es_decide(v, auth, strlen(auth), NOW, &d);
	if (d.reason != EDGESEAL_OK) {
		fprintf(stderr, "jwt-bench: token refused: %s\n",
			edgeseal_reason_str(d.reason));
		exit(1);
	}
	sink += d.cache_hit;
}

static void
do_miss(struct alg_run *r, unsigned i)
{
	decide(uncached, r->auth[i]);
}

static void
do_hit(struct alg_run *r, unsigned i)
{
	decide(cached, r->auth[0]);
}

/* Every token new with the cache on: a fresh cache per pass. */
static double
rate_new(struct alg_run *r)
{
	double spent = 0;
	unsigned long calls = 0;
	char err[256];

	while (spent < seconds) {
		struct es_validator *v;
		double start;

		cfg.cache_entries = 4 * NTOKENS;
		cfg.cache_seals = 4 * NTOKENS;
		v = es_validator_new(&cfg, err, sizeof(err));
		if (v == NULL)
			exit(1);
		start = now_s();
		for (unsigned i = 0; i < NTOKENS; i++)
			decide(v, r->auth[i]);
		spent += now_s() - start;
		calls += NTOKENS;
		es_validator_free(v);
	}
	return (double)calls / spent;
}

/* The signing input and signature of token 0, as OpenSSL verifies it. */
static void
prepare_raw(struct alg_run *r)
{
	const char *tok = r->auth[0] + 7;
	const char *dot = strrchr(tok, '.');
	size_t n = strlen(dot + 1), half;
	uint8_t raw[512];
	ECDSA_SIG *es;
	BIGNUM *br, *bs;
	uint8_t *der = NULL;

	r->input = tok;
	r->input_len = (size_t)(dot - tok);
	edgeseal__b64url_decode(dot + 1, n, raw, sizeof(raw), &r->sig_len);
	if (strcmp(r->key.alg, "ES256") != 0) {
		r->sig = malloc(r->sig_len);
		memcpy(r->sig, raw, r->sig_len);
		return;
	}
	half = r->sig_len / 2;
	es = ECDSA_SIG_new();
	br = BN_bin2bn(raw, (int)half, NULL);
	bs = BN_bin2bn(raw + half, (int)half, NULL);
	ECDSA_SIG_set0(es, br, bs);
	r->sig_len = (size_t)i2d_ECDSA_SIG(es, &der);
	r->sig = der;
	ECDSA_SIG_free(es);
}

static void
make_tokens(struct alg_run *r)
{
	char *h = tk_fmt("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
			 r->key.alg, r->key.kid);

	for (unsigned i = 0; i < NTOKENS; i++) {
		char *p = tk_fmt("{\"iss\":\"https://idp.bench/\",\"sub\":"
				 "\"user-%u\",\"aud\":\"api\",\"exp\":%d,"
				 "\"iat\":%d,\"scope\":\"read write\"}", i,
				 NOW + 3000, NOW - 10);
		char *t = tk_token(h, p, &r->key);

		r->auth[i] = tk_bearer(t);
		free(p);
		free(t);
	}
	free(h);
	prepare_raw(r);
}

static void
add_ref(struct es_keyref *ref, const char *kid, const char *alg,
	const char *name, const void *data, size_t len, int mode)
{
	ref->kid = strdup(kid);
	ref->alg = strdup(alg);
	ref->file.path = tk_write(dir, name, data, len, mode);
	ref->file.line = 1;
}

static void
setup(struct alg_run runs[3])
{
	struct es_issuer_conf *ic = &cfg.issuers[0];
	EVP_PKEY *rsa = tk_rsa(2048), *ec = tk_ec("P-256");
	char *rsa_pem = tk_pem(rsa), *ec_pem = tk_pem(ec), err[256];

	dir = tk_tmpdir();
	RAND_bytes(secret, sizeof(secret));
	cfg.file = strdup("bench.conf");
	ic->name = strdup("bench");
	ic->issuer = strdup("https://idp.bench/");
	tk_list(&ic->audiences, "api");
	tk_list(&ic->algorithms, "RS256 ES256 HS256");
	tk_list(&ic->forward_claims, "scope");
	add_ref(&ic->pem_keys[0], "rs", "RS256", "rs.pem", rsa_pem,
		strlen(rsa_pem), 0644);
	add_ref(&ic->pem_keys[1], "es", "ES256", "es.pem", ec_pem,
		strlen(ec_pem), 0644);
	add_ref(&ic->hmac_keys[0], "hs", "HS256", "hs.key", secret,
		sizeof(secret), 0600);
	ic->pem_key_count = 2;
	ic->hmac_key_count = 1;
	ic->leeway = 30;
	ic->max_lifetime = 86400;
	cfg.issuer_count = 1;
	cfg.seal_keyset.path = tk_seal_keyset(dir);
	cfg.seal_signing_kid = strdup("seal1");

	runs[0] = (struct alg_run){ .key = { .kid = "rs", .alg = "RS256",
		.pkey = rsa }, .key_text = rsa_pem, .pub = rsa };
	runs[1] = (struct alg_run){ .key = { .kid = "es", .alg = "ES256",
		.pkey = ec }, .key_text = ec_pem, .pub = ec };
	runs[2] = (struct alg_run){ .key = { .kid = "hs", .alg = "HS256",
		.secret = secret, .secret_len = sizeof(secret) },
		.key_text = (const char *)secret };
	for (int i = 0; i < 3; i++) {
		runs[i].key_len = runs[i].pub ? strlen(runs[i].key_text)
					      : sizeof(secret);
		make_tokens(&runs[i]);
	}

	cfg.cache_entries = 0;
	uncached = es_validator_new(&cfg, err, sizeof(err));
	cfg.cache_entries = 4 * NTOKENS;
	cfg.cache_seals = 4 * NTOKENS;	/* the agent's default keeps 4096 */
	cached = es_validator_new(&cfg, err, sizeof(err));
	if (uncached == NULL || cached == NULL) {
		fprintf(stderr, "jwt-bench: %s\n", err);
		exit(1);
	}
}

/* Only one measurement, named on the command line. */
static int
run_one(struct alg_run runs[3], const char *alg, const char *path)
{
	static const struct {
		const char *name;
		void (*fn)(struct alg_run *, unsigned);
	} paths[] = { { "raw", do_raw }, { "libjwt", do_libjwt },
		      { "miss", do_miss }, { "hit", do_hit } };

	for (int i = 0; i < 3; i++) {
		if (strcmp(runs[i].key.alg, alg) != 0)
			continue;
		for (size_t j = 0; j < sizeof(paths) / sizeof(*paths); j++)
			if (strcmp(paths[j].name, path) == 0) {
				printf("%s %s %.0f\n", alg, path,
				       rate(paths[j].fn, &runs[i]));
				return 0;
			}
	}
	fprintf(stderr, "jwt-bench: unknown ALG or PATH\n");
	return 1;
}

int
main(int argc, char **argv)
{
	struct alg_run runs[3];

	if (argc > 1)
		seconds = atof(argv[1]);
	setup(runs);
	if (argc > 3) {
		int rc = run_one(runs, argv[2], argv[3]);

		tk_rmdir(dir);
		return rc;
	}

	printf("per core (thread CPU time), validations/s, ratio to raw "
	       "OpenSSL verify in ()\n");
	for (int i = 0; i < 3; i++) {
		struct alg_run *r = &runs[i];
		double raw = rate(do_raw, r);
		double lj = rate(do_libjwt, r);
		double miss = rate(do_miss, r);
		double fresh = rate_new(r);
		double hit = rate(do_hit, r);

		printf("%s raw %.0f | libjwt+PEM %.0f (%.2f) | miss %.0f "
		       "(%.2f) | new+cache %.0f (%.2f) | hit %.0f (%.1fx)\n",
		       r->key.alg, raw, lj, lj / raw, miss, miss / raw, fresh,
		       fresh / raw, hit, hit / raw);
	}
	if (sink == 0)
		printf("(no call succeeded)\n");
	tk_rmdir(dir);
	return 0;
}
