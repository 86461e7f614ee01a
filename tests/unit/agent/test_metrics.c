/*
 * test_metrics.c: the agent's counters as Prometheus text: values after
 * known events, bounded label sets, escaping, histograms, and exact sums
 * when several threads count at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define NOW 1800000000

static struct es_config cfg;

static int
setup(void **state)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.issuers[0].name = "corp";
	cfg.issuers[0].issuer = "https://idp.example/";
	cfg.issuer_count = 1;
	cfg.cache_entries = 100;
	es_metrics_reset();
	return 0;
}

static void
decision(struct es_decision *d, enum edgeseal_reason r, const char *iss,
	 const char *kid)
{
	memset(d, 0, sizeof(*d));
	d->reason = r;
	d->iss_len = (size_t)snprintf(d->iss, sizeof(d->iss), "%s", iss);
	d->kid_len = (size_t)snprintf(d->kid, sizeof(d->kid), "%s", kid);
	strcpy(d->token_fp, "0a1b2c3d");
}

/* The value of the sample line that starts with series, or -1. */
static long long
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atoll(p + n + 1);
		p += n;
	}
	return -1;
}

static char *
render(void)
{
	size_t len = 0;
	char *text = es_metrics_render(NOW, &len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void
decisions_by_reason_issuer_and_kid(void **state)
{
	struct es_decision d;
	char *t;

	decision(&d, EDGESEAL_OK, "https://idp.example/", "k1");
	d.iat = NOW - 3;
	es_metrics_decision(&cfg, &d, 40, NOW);
	d.cache_hit = 1;
	es_metrics_decision(&cfg, &d, 4, NOW);
	decision(&d, EDGESEAL_EXPIRED, "https://idp.example/", "k1");
	es_metrics_decision(&cfg, &d, 700, NOW);
	decision(&d, EDGESEAL_MALFORMED_TOKEN, "", "");
	es_metrics_decision(&cfg, &d, 2, NOW);

	t = render();
	assert_int_equal(sample(t, "edgeseal_decisions_total{result=\"allow\","
				"reason=\"ok\"}"), 2);
	assert_int_equal(sample(t, "edgeseal_decisions_total{result=\"deny\","
				"reason=\"expired\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_decisions_total{result=\"deny\","
				"reason=\"malformed_token\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_decisions_total{result=\"deny\","
				"reason=\"bad_signature\"}"), 0);
	assert_int_equal(sample(t, "edgeseal_issuer_decisions_total{issuer="
				"\"corp\",kid=\"k1\",result=\"allow\"}"), 2);
	assert_int_equal(sample(t, "edgeseal_issuer_decisions_total{issuer="
				"\"corp\",kid=\"k1\",result=\"deny\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_cache_lookups_total{result="
				"\"hit\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_cache_lookups_total{result="
				"\"miss\"}"), 3);
	free(t);
}

static void
histograms_are_cumulative(void **state)
{
	struct es_decision d;
	char *t;

	decision(&d, EDGESEAL_OK, "https://idp.example/", "k1");
	d.iat = NOW - 3;
	es_metrics_decision(&cfg, &d, 40, NOW);
	d.iat = NOW + 20;	/* the IdP clock runs ahead of ours */
	es_metrics_decision(&cfg, &d, 30000, NOW);
	d.cache_hit = 1;		/* hits say nothing about skew */
	es_metrics_decision(&cfg, &d, 9, NOW);

	t = render();
	assert_int_equal(sample(t, "edgeseal_validation_duration_seconds_"
				"bucket{le=\"1e-05\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_validation_duration_seconds_"
				"bucket{le=\"5e-05\"}"), 2);
	assert_int_equal(sample(t, "edgeseal_validation_duration_seconds_"
				"bucket{le=\"0.025\"}"), 2);
	assert_int_equal(sample(t, "edgeseal_validation_duration_seconds_"
				"bucket{le=\"+Inf\"}"), 3);
	assert_int_equal(sample(t, "edgeseal_validation_duration_seconds_"
				"count"), 3);
	assert_int_equal(sample(t, "edgeseal_clock_skew_seconds_bucket"
				"{le=\"-30\"}"), 0);
	assert_int_equal(sample(t, "edgeseal_clock_skew_seconds_bucket"
				"{le=\"-10\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_clock_skew_seconds_bucket"
				"{le=\"2\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_clock_skew_seconds_bucket"
				"{le=\"5\"}"), 2);
	assert_int_equal(sample(t, "edgeseal_clock_skew_seconds_count"), 2);
	assert_non_null(strstr(t, "\nedgeseal_clock_skew_seconds_sum "
			       "-17.000000\n"));
	free(t);
}

static void
label_sets_are_bounded(void **state)
{
	struct es_decision d;
	char kid[32], *t;
	unsigned lines = 0;
	const char *p;

	for (int i = 0; i < 200; i++) {
		snprintf(kid, sizeof(kid), "kid-%d", i);
		decision(&d, EDGESEAL_UNKNOWN_KID, "https://idp.example/", kid);
		es_metrics_decision(&cfg, &d, 1, NOW);
	}
	/* An iss the configuration does not name never gets its own row. */
	decision(&d, EDGESEAL_BAD_ISSUER, "https://evil/", "x");
	es_metrics_decision(&cfg, &d, 1, NOW);
	for (int i = 0; i < 40; i++) {
		snprintf(kid, sizeof(kid), "seal-%d", i);
		es_metrics_seal_minted(kid);
	}

	t = render();
	for (p = t; (p = strstr(p, "\nedgeseal_issuer_decisions_total{"));
	     p++)
		lines++;
	assert_int_equal(lines, 64 + 1);
	assert_int_equal(sample(t, "edgeseal_issuer_decisions_total{issuer="
				"\"_other\",kid=\"_other\",result=\"deny\"}"),
			 200 - 64 + 1);
	assert_null(strstr(t, "evil"));
	assert_int_equal(sample(t, "edgeseal_seals_minted_total{kid="
				"\"_other\"}"), 40 - 16);
	free(t);
}

static void
label_values_are_escaped(void **state)
{
	struct es_decision d;
	char *t;

	decision(&d, EDGESEAL_OK, "https://idp.example/", "a\"b\\c\nd");
	es_metrics_decision(&cfg, &d, 1, NOW);
	t = render();
	assert_int_equal(sample(t, "edgeseal_issuer_decisions_total{issuer="
				"\"corp\",kid=\"a\\\"b\\\\c\\nd\",result="
				"\"allow\"}"), 1);
	free(t);
}

static void
spop_reload_and_jwks(void **state)
{
	char *t;

	es_metrics_conn_opened();
	es_metrics_conn_opened();
	es_metrics_conn_closed();
	es_metrics_frame(3);
	es_metrics_frame(1);
	es_metrics_frame(77);
	es_metrics_disconnect(true, 3);
	es_metrics_disconnect(false, 99);
	es_metrics_reload(true);
	es_metrics_reload(false);
	es_metrics_reload(false);
	es_metrics_jwks_fetch("corp", ES_JWKS_OK);
	es_metrics_jwks_fetch("corp", ES_JWKS_NETWORK_ERROR);
	es_metrics_jwks_fetch("corp", ES_JWKS_NETWORK_ERROR);
	es_metrics_keys_updated("corp", NOW - 30);

	t = render();
	assert_int_equal(sample(t, "edgeseal_spop_connections_total"), 2);
	assert_int_equal(sample(t, "edgeseal_spop_connections_open"), 1);
	assert_int_equal(sample(t, "edgeseal_spop_frames_received_total{type="
				"\"notify\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_spop_frames_received_total{type="
				"\"haproxy_hello\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_spop_frames_received_total{type="
				"\"other\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_spop_disconnects_total{direction="
				"\"sent\",status=\"3\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_spop_disconnects_total{direction="
				"\"received\",status=\"other\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_reloads_total{result=\"ok\"}"),
			 1);
	assert_int_equal(sample(t, "edgeseal_reloads_total{result="
				"\"failed\"}"), 2);
	assert_int_equal(sample(t, "edgeseal_jwks_fetches_total{issuer="
				"\"corp\",result=\"network_error\"}"), 2);
	assert_int_equal(sample(t, "edgeseal_jwks_fetches_total{issuer="
				"\"corp\",result=\"ok\"}"), 1);
	assert_int_equal(sample(t, "edgeseal_keys_age_seconds{issuer="
				"\"corp\"}"), 30);
	free(t);
}

#define THREADS 4
#define PER_THREAD 50000

static void *
count_many(void *arg)
{
	struct es_decision d;

	decision(&d, EDGESEAL_OK, "https://idp.example/", "k1");
	for (int i = 0; i < PER_THREAD; i++)
		es_metrics_decision(&cfg, &d, 5, NOW);
	return NULL;
}

static void
threads_lose_nothing(void **state)
{
	pthread_t th[THREADS];
	char *t;

	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, count_many,
						NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);

	t = render();
	assert_int_equal(sample(t, "edgeseal_decisions_total{result=\"allow\","
				"reason=\"ok\"}"), THREADS * PER_THREAD);
	assert_int_equal(sample(t, "edgeseal_issuer_decisions_total{issuer="
				"\"corp\",kid=\"k1\",result=\"allow\"}"),
			 THREADS * PER_THREAD);
	assert_int_equal(sample(t, "edgeseal_validation_duration_seconds_"
				"count"), THREADS * PER_THREAD);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(decisions_by_reason_issuer_and_kid,
				       setup),
		cmocka_unit_test_setup(histograms_are_cumulative, setup),
		cmocka_unit_test_setup(label_sets_are_bounded, setup),
		cmocka_unit_test_setup(label_values_are_escaped, setup),
		cmocka_unit_test_setup(spop_reload_and_jwks, setup),
		cmocka_unit_test_setup(threads_lose_nothing, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
