/*
 * test_front.c: the pure pieces on their own: the Bearer rule, the JSON
 * depth guard, the front end's segment rules, the time rules at their
 * edges and at extreme clocks, audiences, subjects, and the cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "claims.h"
#include "jwt_front.h"
#include "token_cache.h"

static enum edgeseal_reason
bearer(const char *auth, const char **tok, size_t *len)
{
	return es_bearer_token(auth, auth ? strlen(auth) : 0, tok, len);
}

static void
test_bearer(void **state)
{
	const char *tok = NULL;
	size_t len = 0;

	assert_int_equal(bearer(NULL, &tok, &len), EDGESEAL_MISSING_TOKEN);
	assert_int_equal(bearer("", &tok, &len), EDGESEAL_MISSING_TOKEN);
	assert_int_equal(bearer("Bear", &tok, &len), EDGESEAL_MISSING_TOKEN);
	assert_int_equal(bearer("Basic x", &tok, &len),
			 EDGESEAL_MISSING_TOKEN);
	assert_int_equal(bearer("Bearerx y", &tok, &len),
			 EDGESEAL_MISSING_TOKEN);
	assert_int_equal(bearer("Bearer", &tok, &len),
			 EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(bearer("bEaReR ", &tok, &len),
			 EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(bearer("bEaReR a.b.c", &tok, &len), EDGESEAL_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(tok, "a.b.c", 5);
}

static void
test_depth(void **state)
{
	const char *ok = "{\"a\":[[1]],\"s\":\"[[[[[[\"}";
	const char *deep = "{\"a\":[[[1]]]}";
	const char *escaped = "{\"s\":\"\\\"[[[[\"}";

	assert_true(es_json_depth_ok((const uint8_t *)ok, strlen(ok), 3));
	assert_false(es_json_depth_ok((const uint8_t *)deep, strlen(deep),
				      3));
	assert_true(es_json_depth_ok((const uint8_t *)deep, strlen(deep), 4));
	assert_true(es_json_depth_ok((const uint8_t *)escaped,
				     strlen(escaped), 1));
}

static enum edgeseal_reason
parse(const char *tok, size_t cap)
{
	struct es_jwt jwt;
	enum edgeseal_reason r = es_jwt_parse(tok, strlen(tok), cap, &jwt);

	if (r == EDGESEAL_OK)
		es_jwt_release(&jwt);
	return r;
}

/* {"alg":"HS256"} . {"a":1} . (empty) */
#define HDR "eyJhbGciOiJIUzI1NiJ9"
#define PAY "eyJhIjoxfQ"

static void
test_parse(void **state)
{
	struct es_jwt jwt;
	const char *t = HDR "." PAY ".";

	assert_int_equal(parse(t, 100), EDGESEAL_OK);
	assert_int_equal(parse(t, strlen(t)), EDGESEAL_OK);
	assert_int_equal(parse(t, strlen(t) - 1), EDGESEAL_TOKEN_TOO_LARGE);
	assert_int_equal(parse(HDR "." PAY, 100), EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(parse(HDR "." PAY "..", 100),
			 EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(parse(HDR "." PAY ".....", 100),
			 EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(parse(HDR "." PAY "...", 100),
			 EDGESEAL_UNSUPPORTED_TOKEN_TYPE);
	assert_int_equal(parse(HDR "=." PAY ".", 100),
			 EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(parse(HDR "." PAY ".A", 100),
			 EDGESEAL_MALFORMED_TOKEN);

	assert_int_equal(es_jwt_parse(t, strlen(t), 100, &jwt), EDGESEAL_OK);
	assert_string_equal(jwt.alg, "HS256");
	assert_null(jwt.kid);
	assert_null(jwt.typ);
	assert_int_equal(jwt.sig_len, 0);
	assert_int_equal(jwt.signing_len, strlen(HDR "." PAY));
	es_jwt_release(&jwt);
}

static void
test_times(void **state)
{
	struct es_times t = { .exp = 1000, .nbf = 0, .iat = 900 };

	assert_int_equal(es_claims_check_times(&t, 10, 100, 1010),
			 EDGESEAL_OK);
	assert_int_equal(es_claims_check_times(&t, 10, 100, 1011),
			 EDGESEAL_EXPIRED);
	assert_int_equal(es_claims_check_times(&t, 10, 100, INT64_MAX),
			 EDGESEAL_EXPIRED);
	assert_int_equal(es_claims_check_times(&t, 10, 100, INT64_MIN),
			 EDGESEAL_IAT_IN_FUTURE);
	assert_int_equal(es_claims_check_times(&t, 10, 99, 950),
			 EDGESEAL_LIFETIME_TOO_LONG);

	/* Without iat the lifetime counts from now; extreme clocks too. */
	t.iat = 0;
	t.nbf = 950;
	assert_int_equal(es_claims_check_times(&t, 10, 100, 939),
			 EDGESEAL_NOT_YET_VALID);
	assert_int_equal(es_claims_check_times(&t, 10, 100, 940),
			 EDGESEAL_OK);
	t.nbf = 0;
	assert_int_equal(es_claims_check_times(&t, 0, 100, INT64_MIN),
			 EDGESEAL_LIFETIME_TOO_LONG);
	t.exp = ES_NUMERIC_DATE_LIMIT - 1;
	assert_int_equal(es_claims_check_times(&t, UINT32_MAX, UINT32_MAX,
					       ES_NUMERIC_DATE_LIMIT),
			 EDGESEAL_OK);
}

static enum edgeseal_reason
times_of(const char *json)
{
	struct es_times t;
	json_t *p = json_loads(json, 0, NULL);
	enum edgeseal_reason r;

	assert_non_null(p);
	r = es_claims_times(p, &t);
	json_decref(p);
	return r;
}

static void
test_claim_types(void **state)
{
	assert_int_equal(times_of("{\"exp\":1}"), EDGESEAL_OK);
	assert_int_equal(times_of("{\"exp\":9007199254740991}"), EDGESEAL_OK);
	assert_int_equal(times_of("{\"exp\":9007199254740992}"),
			 EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(times_of("{}"), EDGESEAL_MISSING_CLAIM);
	assert_int_equal(times_of("{\"exp\":5,\"nbf\":0}"),
			 EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(times_of("{\"exp\":5,\"iat\":-1}"),
			 EDGESEAL_INVALID_CLAIM_TYPE);
}

static enum edgeseal_reason
aud_of(const char *json, const char *words)
{
	struct es_strlist l = { .count = 0 };
	char buf[64], *save = NULL;
	json_t *p = json_loads(json, 0, NULL);
	enum edgeseal_reason r;

	strcpy(buf, words);
	for (char *w = strtok_r(buf, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save))
		l.items[l.count++] = w;
	r = es_claims_audience(p, &l);
	json_decref(p);
	return r;
}

static void
test_audience(void **state)
{
	assert_int_equal(aud_of("{}", ""), EDGESEAL_OK);
	assert_int_equal(aud_of("{\"aud\":\"x\"}", ""), EDGESEAL_OK);
	assert_int_equal(aud_of("{\"aud\":5}", ""),
			 EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(aud_of("{}", "api"), EDGESEAL_MISSING_CLAIM);
	assert_int_equal(aud_of("{\"aud\":[\"web\"]}", "api web"),
			 EDGESEAL_OK);
	assert_int_equal(aud_of("{\"aud\":[\"apis\"]}", "api"),
			 EDGESEAL_BAD_AUDIENCE);
	assert_int_equal(aud_of("{\"aud\":\"ap\"}", "api"),
			 EDGESEAL_BAD_AUDIENCE);
	assert_int_equal(aud_of("{\"aud\":[[\"api\"]]}", "api"),
			 EDGESEAL_INVALID_CLAIM_TYPE);
}

static void
test_cache(void **state)
{
	struct es_times t = { .exp = 100 };
	uint8_t k1[32] = { 1 }, k2[32] = { 2 };
	struct es_cache *c = es_cache_new(10);
	struct es_cache_rec *r = es_cache_rec_new(3, &t, "sub", 3, "kid", 3,
						  "seal", 4, NULL, 0, 50);
	struct es_cache_rec *got;
	uint64_t hits, misses;

	assert_null(es_cache_new(0));
	assert_null(es_cache_get(NULL, k1));
	es_cache_put(c, k1, r);
	es_cache_rec_release(r);

	got = es_cache_get(c, k1);
	assert_non_null(got);
	assert_string_equal(got->sub, "sub");
	assert_string_equal(got->seal, "seal");
	assert_string_equal(got->claims, "");
	assert_int_equal(got->issuer, 3);

	/* A reference outlives removal from the cache. */
	es_cache_drop(c, k1);
	assert_string_equal(got->kid, "kid");
	es_cache_rec_release(got);

	assert_null(es_cache_get(c, k1));
	assert_null(es_cache_get(c, k2));
	es_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 2);
	es_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_claim_types),
		cmocka_unit_test(test_audience),
		cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
