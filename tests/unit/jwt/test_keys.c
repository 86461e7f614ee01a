/*
 * test_keys.c: loading issuer keys and building a validator: every refusal
 * names the configuration file and line (or the key file) and says why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>

#include "issuer_keys.h"
#include "jwt_testlib.h"
#include "validator.h"

static char *dir;
static EVP_PKEY *rsa, *ec;

/* One issuer with one HS256 secret at line 21, and a seal key set. */
static void
base_config(struct es_config *cfg)
{
	struct es_issuer_conf *ic = &cfg->issuers[0];
	uint8_t secret[32];
	char *p;

	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	p = tk_write(dir, "hs.key", secret, sizeof(secret), 0600);
	cfg->file = strdup("agent.conf");
	ic->name = strdup("corp");
	ic->line = 20;
	ic->issuer = strdup("https://idp/");
	ic->hmac_keys[0] = (struct es_keyref){ strdup("hs1"), strdup("HS256"),
					       { p, 21 } };
	ic->hmac_key_count = 1;
	tk_list(&ic->algorithms, "HS256");
	cfg->issuer_count = 1;
	cfg->seal_keyset.path = tk_seal_keyset(dir);
	cfg->seal_keyset.line = 40;
	cfg->seal_signing_kid = strdup("seal1");
}

/* es_validator_new must fail with a message containing want. */
static void
refused(struct es_config *cfg, const char *want)
{
	char err[512] = "";
	struct es_validator *v = es_validator_new(cfg, err, sizeof(err));

	if (v != NULL || strstr(err, want) == NULL)
		fail_msg("want refusal \"%s\", got %s \"%s\"", want,
			 v ? "a validator" : "", err);
	tk_config_free(cfg);
}

static void
accepted(struct es_config *cfg)
{
	char err[512] = "";
	struct es_validator *v = es_validator_new(cfg, err, sizeof(err));

	if (v == NULL)
		fail_msg("refused: %s", err);
	es_validator_free(v);
	tk_config_free(cfg);
}

static void
set_hmac_file(struct es_config *cfg, const void *data, size_t len, int mode)
{
	struct es_keyref *k = &cfg->issuers[0].hmac_keys[0];

	free(k->file.path);
	k->file.path = tk_write(dir, "hs2.key", data, len, mode);
}

static void
test_hmac_files(void **state)
{
	struct es_config cfg;
	uint8_t secret[64] = { 1 };
	char *p;

	base_config(&cfg);
	accepted(&cfg);

	base_config(&cfg);
	set_hmac_file(&cfg, secret, 32, 0644);
	refused(&cfg, "agent.conf:21: ");
	base_config(&cfg);
	set_hmac_file(&cfg, secret, 32, 0640);
	refused(&cfg, "readable or writable by group or others");
	base_config(&cfg);
	set_hmac_file(&cfg, secret, 31, 0600);
	refused(&cfg, "secret shorter than 32 bytes");
	base_config(&cfg);
	set_hmac_file(&cfg, secret, 0, 0600);
	refused(&cfg, "secret shorter than 32 bytes");
	base_config(&cfg);
	set_hmac_file(&cfg, secret, 63, 0600);
	free(cfg.issuers[0].hmac_keys[0].alg);
	cfg.issuers[0].hmac_keys[0].alg = strdup("HS512");
	tk_list(&cfg.issuers[0].algorithms, "HS512");
	refused(&cfg, "secret shorter than 64 bytes");
	base_config(&cfg);
	free(cfg.issuers[0].hmac_keys[0].alg);
	cfg.issuers[0].hmac_keys[0].alg = strdup("RS256");
	refused(&cfg, "agent.conf:21: ");

	/* A secret owned by someone else (needs root to arrange). */
	base_config(&cfg);
	set_hmac_file(&cfg, secret, 32, 0600);
	p = cfg.issuers[0].hmac_keys[0].file.path;
	if (geteuid() == 0 && chown(p, 65534, 65534) == 0)
		refused(&cfg, "owned by another user");
	else
		tk_config_free(&cfg);
}

static void
add_pem(struct es_config *cfg, const char *kid, const char *alg,
	EVP_PKEY *pkey)
{
	struct es_issuer_conf *ic = &cfg->issuers[0];
	char *pem = pkey ? tk_pem(pkey) : strdup("not a key\n");
	char *p = tk_write(dir, "k.pem", pem, strlen(pem), 0644);

	ic->pem_keys[ic->pem_key_count++] = (struct es_keyref){ strdup(kid),
		strdup(alg), { p, 30 } };
	free(pem);
}

static void
test_pem_files(void **state)
{
	struct es_config cfg;
	EVP_PKEY *small = tk_rsa(1024);

	base_config(&cfg);
	add_pem(&cfg, "r", "RS256", rsa);
	accepted(&cfg);
	base_config(&cfg);
	add_pem(&cfg, "r", "PS512", rsa);
	accepted(&cfg);
	base_config(&cfg);
	add_pem(&cfg, "e", "ES256", ec);
	accepted(&cfg);

	base_config(&cfg);
	add_pem(&cfg, "e", "ES384", ec);
	refused(&cfg, "agent.conf:30: ");
	base_config(&cfg);
	add_pem(&cfg, "e", "RS256", ec);
	refused(&cfg, "not an RSA key");
	base_config(&cfg);
	add_pem(&cfg, "r", "RS256", small);
	refused(&cfg, "shorter than 2048 bits");
	base_config(&cfg);
	add_pem(&cfg, "r", "HS256", rsa);
	refused(&cfg, "unsupported public key algorithm");
	base_config(&cfg);
	add_pem(&cfg, "r", "RS256", NULL);
	refused(&cfg, "no PEM public key");
	base_config(&cfg);
	add_pem(&cfg, "hs1", "RS256", rsa);
	refused(&cfg, "used twice");
	base_config(&cfg);
	add_pem(&cfg, "r", "RS256", rsa);
	free(cfg.issuers[0].pem_keys[0].file.path);
	cfg.issuers[0].pem_keys[0].file.path = strdup("/nonexistent/k.pem");
	refused(&cfg, "agent.conf:30: /nonexistent/k.pem: ");
	EVP_PKEY_free(small);
}

static void
set_jwks(struct es_config *cfg, const char *json)
{
	struct es_issuer_conf *ic = &cfg->issuers[0];

	ic->jwks_file.path = tk_write(dir, "keys.jwks", json, strlen(json),
				      0644);
	ic->jwks_file.line = 25;
	tk_list(&ic->algorithms, "RS256 ES256 ES384");
}

/* The JWKS document built from pieces (each piece a JWK or raw JSON). */
static char *
jwks(const char *a, const char *b)
{
	return tk_fmt("{\"keys\":[%s%s%s]}", a, b ? "," : "", b ? b : "");
}

static void
jwks_case(const char *a, const char *b, const char *want)
{
	struct es_config cfg;
	char *doc = jwks(a, b);

	base_config(&cfg);
	set_jwks(&cfg, doc);
	free(doc);
	if (want == NULL)
		accepted(&cfg);
	else
		refused(&cfg, want);
}

static void
test_jwks(void **state)
{
	struct es_config cfg;
	char *r = tk_jwk(rsa, "r", NULL), *e = tk_jwk(ec, "e", "ES256");
	char *e_def = tk_jwk(ec, "e", NULL), *e384 = tk_jwk(ec, "e", "ES384");
	char *r_hs = tk_jwk(rsa, "r", "HS256"), *r2 = tk_jwk(rsa, "e", NULL);
	char *enc = tk_fmt("{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"x\"}");
	char *bad_n = strdup(r), *off_curve = strdup(e), *at;

	jwks_case(r, e, NULL);
	jwks_case(e_def, NULL, NULL);
	jwks_case("{\"kty\":\"oct\",\"kid\":\"o\",\"k\":\"AAAA\"}", NULL,
		  "agent.conf:25: ");
	jwks_case("{\"kty\":\"oct\",\"kid\":\"o\",\"k\":\"AAAA\"}", NULL,
		  "no usable key");
	jwks_case(enc, NULL, "no usable key");
	jwks_case(enc, r, NULL);
	jwks_case(e384, NULL, "crv and alg disagree");
	jwks_case(r_hs, NULL, "HMAC algorithm given for a public key");
	jwks_case(e, r2, "used twice");
	jwks_case("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", NULL,
		  "missing kid");
	jwks_case("[]", NULL, "key 0: no kty");
	base_config(&cfg);
	set_jwks(&cfg, "{\"keys\":{}}");
	refused(&cfg, "not a JSON Web Key Set");
	base_config(&cfg);
	set_jwks(&cfg, "{\"keys\":[],\"keys\":[]}");
	refused(&cfg, "not a JSON Web Key Set");

	/* Non-canonical base64url in n; a point moved off the curve. */
	at = strstr(bad_n, "\"n\":\"") + 5;
	at[0] = '+';
	jwks_case(bad_n, NULL, "bad key material");
	at = strstr(off_curve, "\"x\":\"") + 5;
	at[0] = at[0] == 'A' ? 'B' : 'A';
	jwks_case(off_curve, NULL, "key 0: ");

	free(r);
	free(e);
	free(e_def);
	free(e384);
	free(r_hs);
	free(r2);
	free(enc);
	free(bad_n);
	free(off_curve);
}

static void
test_config_rules(void **state)
{
	struct es_config cfg;
	struct es_issuer_conf *b;
	char err[256];

	base_config(&cfg);
	tk_list(&cfg.issuers[0].algorithms, "none");
	refused(&cfg, "agent.conf:20: issuer corp: unsupported algorithm");
	base_config(&cfg);
	free(cfg.issuers[0].algorithms.items[0]);
	cfg.issuers[0].algorithms.count = 0;
	refused(&cfg, "agent.conf:20: issuer corp: no usable key");
	base_config(&cfg);
	cfg.issuers[0].jwks_url = strdup("ftp://idp/keys");
	refused(&cfg, "agent.conf:20: jwks_url ftp://idp/keys: only https://");
	base_config(&cfg);
	tk_list(&cfg.issuers[0].forward_claims, "scope sub");
	refused(&cfg, "forward_claims cannot name \"sub\"");

	base_config(&cfg);
	b = &cfg.issuers[1];
	b->name = strdup("other");
	b->line = 33;
	b->issuer = strdup("https://idp/");
	b->hmac_keys[0] = cfg.issuers[0].hmac_keys[0];
	b->hmac_keys[0].kid = strdup("hs1");
	b->hmac_keys[0].alg = strdup("HS256");
	b->hmac_keys[0].file.path = strdup(b->hmac_keys[0].file.path);
	b->hmac_key_count = 1;
	tk_list(&b->algorithms, "HS256");
	cfg.issuer_count = 2;
	refused(&cfg, "agent.conf:33: issuer other: iss already used");

	base_config(&cfg);
	free(cfg.seal_signing_kid);
	cfg.seal_signing_kid = strdup("nope");
	refused(&cfg, "agent.conf:40: ");
	base_config(&cfg);
	free(cfg.seal_keyset.path);
	cfg.seal_keyset.path = strdup("/nonexistent/seal.jwks");
	refused(&cfg, "agent.conf:40: /nonexistent/seal.jwks");
	base_config(&cfg);
	cfg.issuer_count = 0;
	assert_null(es_validator_new(&cfg, err, sizeof(err)));
	assert_string_equal(err, "agent.conf:0: no [issuer] section");
	cfg.issuer_count = 1;
	tk_config_free(&cfg);
}

/*
 * An RSA modulus above 8192 bits is refused by its size, before the public
 * check whose cost grows with it (seconds per key at 16384 bits).
 */
static void
test_rsa_too_long(void **state)
{
	uint8_t n[1025];
	char *b64, *jwk;

	(void)state;
	memset(n, 0xff, sizeof(n));
	b64 = tk_b64(n, sizeof(n));
	jwk = tk_fmt("{\"kty\":\"RSA\",\"kid\":\"big\",\"alg\":\"RS256\","
		     "\"e\":\"AQAB\",\"n\":\"%s\"}", b64);
	jwks_case(jwk, NULL, "RSA modulus longer than 8192 bits");
	free(jwk);
	free(b64);

	/* 8192 bits is past the size rule (this n then fails the check). */
	b64 = tk_b64(n, sizeof(n) - 1);
	jwk = tk_fmt("{\"kty\":\"RSA\",\"kid\":\"big\",\"alg\":\"RS256\","
		     "\"e\":\"AQAB\",\"n\":\"%s\"}", b64);
	jwks_case(jwk, NULL, "public key check failed");
	free(jwk);
	free(b64);
}

/*
 * A P-256 JWK whose x has a leading zero byte, written the way PyJWT 2.6
 * writes it (31 bytes) or padded to 33: the short one is the same key and
 * must verify its tokens; the long one is refused.
 */
static void
test_ec_short_coordinate(void **state)
{
	struct tk_key key = { .kid = "short", .alg = "ES256" };
	uint8_t pt[65];
	size_t n = 0;
	char *x, *y, *jwk, *doc, *tok, *auth, err[512] = "";
	struct es_config cfg;
	struct es_validator *v;
	static struct es_decision d;
	uint8_t longer[33] = { 0 };

	(void)state;
	do {
		EVP_PKEY_free(key.pkey);
		key.pkey = tk_ec("P-256");
		assert_int_equal(EVP_PKEY_get_octet_string_param(key.pkey,
			OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
			&n), 1);
	} while (pt[1] != 0);

	x = tk_b64(pt + 2, 31);
	y = tk_b64(pt + 33, 32);
	jwk = tk_fmt("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"short\","
		     "\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	doc = jwks(jwk, NULL);
	base_config(&cfg);
	set_jwks(&cfg, doc);
	cfg.issuers[0].max_lifetime = 3600;
	v = es_validator_new(&cfg, err, sizeof(err));
	if (v == NULL)
		fail_msg("refused: %s", err);

	tok = tk_token("{\"alg\":\"ES256\",\"kid\":\"short\"}",
		       "{\"iss\":\"https://idp/\",\"sub\":\"u\","
		       "\"exp\":1800000060}", &key);
	auth = tk_bearer(tok);
	es_decide(v, auth, strlen(auth), 1800000000, &d);
	assert_string_equal(edgeseal_reason_str(d.reason), "ok");
	assert_string_equal(d.sub, "u");
	es_validator_free(v);
	tk_config_free(&cfg);
	free(doc);
	free(jwk);
	free(x);

	/* One byte past the field size: refused, even with a zero lead. */
	memcpy(longer + 1, pt + 1, 32);
	x = tk_b64(longer, sizeof(longer));
	jwk = tk_fmt("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"long\","
		     "\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	jwks_case(jwk, NULL, "bad key material");

	free(jwk);
	free(x);
	free(y);
	free(tok);
	free(auth);
	EVP_PKEY_free(key.pkey);
}

static int
setup(void **state)
{
	dir = tk_tmpdir();
	rsa = tk_rsa(2048);
	ec = tk_ec("P-256");
	return 0;
}

static int
teardown(void **state)
{
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	tk_rmdir(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_files),
		cmocka_unit_test(test_pem_files),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_rsa_too_long),
		cmocka_unit_test(test_ec_short_coordinate),
		cmocka_unit_test(test_config_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
