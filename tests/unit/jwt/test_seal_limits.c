/*
 * test_seal_limits.c: the seal never outlives the user token (fresh and
 * from the cache, inside the leeway too), and forwarded claims too large
 * for a seal are named claims_too_large, not token_too_large.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "base64url.h"
#include "jwt_testlib.h"
#include "validator.h"

#define T0 1800000000LL
#define HDR "{\"alg\":\"HS256\",\"kid\":\"h1\",\"typ\":\"JWT\"}"

static struct {
	char *dir;
	uint8_t secret[32];
	struct tk_key key;
	struct es_config cfg;
} w;

static int
setup(void **state)
{
	struct es_issuer_conf *ic = &w.cfg.issuers[0];

	(void)state;
	w.dir = tk_tmpdir();
	if (RAND_bytes(w.secret, sizeof(w.secret)) != 1)
		return -1;
	w.key = (struct tk_key){ .kid = "h1", .alg = "HS256",
				 .secret = w.secret, .secret_len = 32 };

	w.cfg.file = strdup("agent.conf");
	ic->name = strdup("idp");
	ic->issuer = strdup("https://idp/");
	ic->line = 1;
	ic->hmac_keys[0].kid = strdup("h1");
	ic->hmac_keys[0].alg = strdup("HS256");
	ic->hmac_keys[0].file.path = tk_write(w.dir, "h1.key", w.secret, 32,
					      0600);
	ic->hmac_key_count = 1;
	tk_list(&ic->algorithms, "HS256");
	tk_list(&ic->forward_claims, "roles");
	ic->leeway = 30;
	ic->max_lifetime = 86400;
	ic->max_token_size = 8192;
	w.cfg.issuer_count = 1;
	w.cfg.seal_keyset.path = tk_seal_keyset(w.dir);
	w.cfg.seal_signing_kid = strdup("seal1");
	w.cfg.seal_ttl = 60;
	w.cfg.cache_entries = 100;
	w.cfg.cache_seals = 100;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tk_config_free(&w.cfg);
	tk_rmdir(w.dir);
	return 0;
}

static struct es_validator *
validator(void)
{
	char err[512] = "";
	struct es_validator *v = es_validator_new(&w.cfg, err, sizeof(err));

	if (v == NULL)
		fail_msg("es_validator_new: %s", err);
	return v;
}

/* "Bearer <token>" for a token with this exp and extra claims JSON. */
static char *
bearer(int64_t exp, const char *extra)
{
	char *payload = tk_fmt("{\"iss\":\"https://idp/\",\"sub\":\"u1\","
			       "\"iat\":%lld,\"exp\":%lld%s%s}",
			       (long long)(T0 - 10), (long long)exp,
			       extra ? "," : "", extra ? extra : "");
	char *tok = tk_token(HDR, payload, &w.key);
	char *auth = tk_bearer(tok);

	free(payload);
	free(tok);
	return auth;
}

/* The claim name of the seal in d, read without checking the MAC. */
static int64_t
seal_claim(const struct es_decision *d, const char *name)
{
	const char *dot1 = strchr(d->seal, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	uint8_t buf[ES_SEAL_MAX];
	size_t n = 0;
	json_t *claims;
	int64_t v;

	assert_non_null(dot2);
	assert_int_equal(edgeseal__b64url_decode(dot1 + 1,
						 (size_t)(dot2 - dot1 - 1),
						 buf, sizeof(buf), &n), 0);
	claims = json_loadb((const char *)buf, n, 0, NULL);
	assert_non_null(claims);
	v = json_integer_value(json_object_get(claims, name));
	json_decref(claims);
	return v;
}

static void
decide(struct es_validator *v, const char *auth, int64_t now,
       struct es_decision *d)
{
	es_decide(v, auth, strlen(auth), now, d);
	assert_int_equal(d->reason, EDGESEAL_OK);
}

/* A long-lived token: the configured ttl, as before. */
static void
ttl_when_token_outlives_it(void **state)
{
	static struct es_decision d;
	struct es_validator *v = validator();
	char *auth = bearer(T0 + 600, NULL);

	(void)state;
	decide(v, auth, T0, &d);
	assert_int_equal(seal_claim(&d, "exp"), T0 + 60);
	es_validator_free(v);
	free(auth);
}

/* A token ending in 3 s: the seal ends with it, also when reused. */
static void
seal_ends_with_the_token(void **state)
{
	static struct es_decision a, b;
	struct es_validator *v = validator();
	char *auth = bearer(T0 + 3, NULL);

	(void)state;
	decide(v, auth, T0, &a);
	assert_int_equal(a.cache_hit, 0);
	assert_int_equal(seal_claim(&a, "exp"), T0 + 3);
	assert_int_equal(seal_claim(&a, "iat"), T0);

	/* A fresh seal could not last longer: the stored one is reused. */
	decide(v, auth, T0 + 2, &b);
	assert_int_equal(b.cache_hit, 1);
	assert_string_equal(a.seal, b.seal);
	es_validator_free(v);
	free(auth);
}

/* Reminted from the cache: capped again at the token's exp. */
static void
cached_remint_is_capped(void **state)
{
	static struct es_decision a, b;
	struct es_validator *v = validator();
	char *auth = bearer(T0 + 100, NULL);

	(void)state;
	decide(v, auth, T0, &a);
	assert_int_equal(seal_claim(&a, "exp"), T0 + 60);

	/* 10 s of seal left (under half the ttl): a new one, to T0 + 100. */
	decide(v, auth, T0 + 50, &b);
	assert_int_equal(b.cache_hit, 1);
	assert_string_not_equal(a.seal, b.seal);
	assert_int_equal(seal_claim(&b, "exp"), T0 + 100);
	es_validator_free(v);
	free(auth);
}

/* Past exp but inside the leeway: accepted, with a 1 s seal. */
static void
inside_leeway_gets_one_second(void **state)
{
	static struct es_decision d;
	struct es_validator *v = validator();
	char *auth = bearer(T0 - 10, NULL);

	(void)state;
	decide(v, auth, T0, &d);
	assert_int_equal(seal_claim(&d, "exp"), T0 + 1);

	/* The same token from the cache a second later: still 1 s. */
	decide(v, auth, T0 + 1, &d);
	assert_int_equal(d.cache_hit, 1);
	assert_int_equal(seal_claim(&d, "exp"), T0 + 2);

	/* Past exp + leeway: refused as before. */
	es_decide(v, auth, strlen(auth), T0 + 21, &d);
	assert_int_equal(d.reason, EDGESEAL_EXPIRED);
	es_validator_free(v);
	free(auth);
}

/* roles as a JSON array of n strings of len letters each. */
static char *
roles(unsigned n, unsigned len)
{
	char *s = tk_fmt("\"roles\":["), *t, *role = malloc(len + 1);

	assert_non_null(role);
	memset(role, 'r', len);
	role[len] = '\0';
	for (unsigned i = 0; i < n; i++) {
		t = tk_fmt("%s%s\"%s\"", s, i ? "," : "", role);
		free(s);
		s = t;
	}
	t = tk_fmt("%s]", s);
	free(s);
	free(role);
	return t;
}

/* A token well under max_token_size whose roles cannot fit a seal. */
static void
claims_too_large(void **state)
{
	static struct es_decision d;
	struct es_validator *v = validator();
	char *big = roles(30, 100), *small = roles(3, 10);
	char *auth = bearer(T0 + 600, big);

	(void)state;
	assert_true(strlen(auth) < 8192 && strlen(auth) > 4096);
	es_decide(v, auth, strlen(auth), T0, &d);
	assert_int_equal(d.reason, EDGESEAL_CLAIMS_TOO_LARGE);
	assert_string_equal(edgeseal_reason_str(d.reason),
			    "claims_too_large");
	assert_int_equal(edgeseal_reason_from_str("claims_too_large"),
			 EDGESEAL_CLAIMS_TOO_LARGE);
	free(auth);

	/* The same with roles that fit: allowed, roles in the seal. */
	auth = bearer(T0 + 600, small);
	decide(v, auth, T0, &d);
	assert_true(d.seal_len > 0);
	es_validator_free(v);
	free(auth);
	free(big);
	free(small);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ttl_when_token_outlives_it),
		cmocka_unit_test(seal_ends_with_the_token),
		cmocka_unit_test(cached_remint_is_capped),
		cmocka_unit_test(inside_leeway_gets_one_second),
		cmocka_unit_test(claims_too_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
