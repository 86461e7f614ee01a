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
#include <openssl/sha.h>

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
	struct es_cache_text text = { .sub = "sub", .sub_len = 3,
				      .kid = "kid", .kid_len = 3,
				      .seal = "seal", .seal_len = 4 };
	struct es_cache_rec *r = es_cache_rec_new(k1, 3, &t, &text, 50);
	struct es_cache_rec *got;
	uint64_t hits, misses;

	(void)state;
	assert_null(es_cache_new(0));
	assert_null(es_cache_get(NULL, k1));
	es_cache_put(c, r);
	es_cache_rec_release(r);

	got = es_cache_get(c, k1);
	assert_non_null(got);
	assert_string_equal(es_cache_rec_sub(got), "sub");
	assert_string_equal(es_cache_rec_seal(got), "seal");
	assert_string_equal(es_cache_rec_claims(got), "");
	assert_int_equal(got->issuer, 3);
	assert_int_equal(got->seal_exp, 50);

	/* A reference outlives removal from the cache. */
	es_cache_drop(c, k1);
	assert_string_equal(es_cache_rec_kid(got), "kid");
	es_cache_rec_release(got);

	assert_null(es_cache_get(c, k1));
	assert_null(es_cache_get(c, k2));
	es_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 2);
	assert_int_equal(es_cache_count(c), 0);
	es_cache_free(c);
}

/* Deterministic, uniform 32-byte keys (a SHA-256 stands in for tokens). */
static void
key_of(unsigned i, uint8_t key[32])
{
	SHA256((const uint8_t *)&i, sizeof(i), key);
}

/*
 * A cache asked for N entries holds N distinct tokens: set conflicts evict
 * almost none (the slots have headroom), and every one held is found.
 */
static void
test_cache_capacity(void **state)
{
	enum { N = 100000 };
	struct es_times t = { .exp = 1000 };
	struct es_cache_text none = { 0 };
	struct es_cache *c = es_cache_new(N);
	uint8_t key[32];
	size_t found = 0;

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		struct es_cache_rec *r;

		key_of(i, key);
		r = es_cache_rec_new(key, 0, &t, &none, 0);
		assert_non_null(r);
		es_cache_put(c, r);
		es_cache_rec_release(r);
	}
	for (unsigned i = 0; i < N; i++) {
		struct es_cache_rec *r;

		key_of(i, key);
		r = es_cache_get(c, key);
		if (r != NULL) {
			assert_memory_equal(r->key, key, 32);
			found++;
		}
		es_cache_rec_release(r);
	}
	assert_int_equal(es_cache_count(c), found);
	assert_true(found >= N * 99 / 100);
	es_cache_free(c);
}

/* Small caches stay small: bounded, and the soonest to expire goes. */
static void
test_cache_small(void **state)
{
	struct es_cache_text none = { 0 };
	struct es_cache *c = es_cache_new(1);
	uint8_t key[32];

	(void)state;
	for (unsigned i = 0; i < 200; i++) {
		struct es_times t = { .exp = 1000 + i };
		struct es_cache_rec *r;

		key_of(i, key);
		r = es_cache_rec_new(key, 0, &t, &none, 0);
		es_cache_put(c, r);
		es_cache_rec_release(r);
	}
	assert_true(es_cache_count(c) <= 16);

	/* The last token expires last, so nothing evicted it. */
	key_of(199, key);
	es_cache_rec_release(es_cache_get(c, key));
	{
		struct es_cache_rec *r = es_cache_get(c, key);

		assert_non_null(r);
		assert_int_equal(r->times.exp, 1199);
		es_cache_rec_release(r);
	}
	es_cache_free(c);
}

/* A string too long for the record's 16-bit lengths is refused whole. */
static void
test_cache_rec_limits(void **state)
{
	static char big[70000];
	struct es_times t = { .exp = 1 };
	struct es_cache_text text = { .seal = big, .seal_len = sizeof(big) };
	uint8_t key[32] = { 0 };

	(void)state;
	assert_null(es_cache_rec_new(key, 0, &t, &text, 0));
	assert_null(es_cache_rec_new(key, 70000, &t,
				     &(struct es_cache_text){ 0 }, 0));
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
		cmocka_unit_test(test_cache_capacity),
		cmocka_unit_test(test_cache_small),
		cmocka_unit_test(test_cache_rec_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
