/*
 * test_jwks_fetch.c: the pure decisions behind key rotation in the agent:
 * the refresh interval from Cache-Control, which JWKS URLs are fetched,
 * which files a configuration makes the agent watch, and which inotify
 * event names call for a reload. The network side is covered end to end
 * by tests/e2e/test_rotation.py against tests/tools/jwks_server.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "jwks_fetch.h"
#include "snapshot.h"

static void
test_refresh_delay(void **state)
{
	(void)state;
	/* No header: the upper bound. */
	assert_int_equal(es_jwks_refresh_delay(NULL, 60, 3600), 3600);
	assert_int_equal(es_jwks_refresh_delay("public", 60, 3600), 3600);

	/* max-age inside, below and above the bounds. */
	assert_int_equal(es_jwks_refresh_delay("max-age=600", 60, 3600), 600);
	assert_int_equal(es_jwks_refresh_delay(" public, max-age=59", 60,
					       3600), 60);
	assert_int_equal(es_jwks_refresh_delay("max-age=3601", 60, 3600),
			 3600);
	assert_int_equal(es_jwks_refresh_delay("Max-Age=120", 60, 3600), 120);

	/* Unreadable numbers fall back to the upper bound. */
	assert_int_equal(es_jwks_refresh_delay("max-age=", 60, 3600), 3600);
	assert_int_equal(es_jwks_refresh_delay("max-age=x1", 60, 3600), 3600);
	assert_int_equal(es_jwks_refresh_delay(
		"max-age=99999999999999999999999", 60, 3600), 3600);

	/* Asked not to cache: as often as allowed. */
	assert_int_equal(es_jwks_refresh_delay("no-cache", 60, 3600), 60);
	assert_int_equal(es_jwks_refresh_delay("no-store, max-age=900", 60,
					       3600), 60);
}

static void
test_url_allowed(void **state)
{
	(void)state;
	assert_true(es_jwks_url_allowed("https://idp.example/jwks.json"));
	assert_true(es_jwks_url_allowed("http://127.0.0.1:8080/jwks.json"));
	assert_false(es_jwks_url_allowed("HTTP://idp.example/"));
	assert_false(es_jwks_url_allowed("ftp://idp.example/jwks.json"));
	assert_false(es_jwks_url_allowed("file:///etc/passwd"));
	assert_false(es_jwks_url_allowed("idp.example/jwks.json"));
	assert_false(es_jwks_url_allowed(""));
}

/* What a log line shows of a URL: no userinfo, query or fragment. */
static void
redact_is(const char *url, const char *want)
{
	char out[128];

	es_jwks_url_redact(url, out, sizeof(out));
	assert_string_equal(out, want);
}

static void
test_url_redact(void **state)
{
	char small[12];

	(void)state;
	redact_is("https://idp.example/jwks.json", "https://idp.example/jwks.json");
	redact_is("https://u:pw@idp.example:8443/k?access_token=t#f",
		  "https://idp.example:8443/k");
	redact_is("http://a@b@127.0.0.1:80/j", "http://127.0.0.1:80/j");
	redact_is("https://idp.example?token=t", "https://idp.example");
	redact_is("https://u:p@idp.example#x@y", "https://idp.example");
	redact_is("idp.example/j?x", "(not a URL)");

	/* Truncated, never overrun. */
	es_jwks_url_redact("https://u:p@idp.example/jwks", small, sizeof(small));
	assert_string_equal(small, "https://idp");
}

static const char conf_text[] =
	"[issuer a]\n"
	"issuer = https://a/\n"
	"jwks_file = /etc/es/a.jwks\n"
	"pem_key = p1 RS256 /etc/es/keys/p1.pem\n"
	"[issuer b]\n"
	"issuer = https://b/\n"
	"subject_prefix = b:\n"
	"algorithms = HS256\n"
	"hmac_key = h1 HS256 /run/secrets/h1\n"
	"jwks_url = https://b/jwks\n"
	"jwks_cache_file = /var/cache/es/b.json\n"
	"[seal]\n"
	"keyset = /run/secrets/seal.jwks\n";

static void
test_watch_paths(void **state)
{
	char err[256];
	const char *paths[16];
	struct es_config *cfg;
	size_t n;

	(void)state;
	cfg = es_config_parse_string(conf_text, "t.conf", err, sizeof(err));
	assert_non_null(cfg);
	n = es_watch_paths(cfg, "/etc/es/agent.conf", paths, 16);
	assert_int_equal(n, 5);
	assert_string_equal(paths[0], "/etc/es/agent.conf");
	assert_string_equal(paths[1], "/run/secrets/seal.jwks");
	assert_string_equal(paths[2], "/etc/es/a.jwks");
	assert_string_equal(paths[3], "/etc/es/keys/p1.pem");
	assert_string_equal(paths[4], "/run/secrets/h1");

	/* The cache file is ours to write: watching it would reload on
	 * every fetch. A short array is filled, never overrun. */
	assert_int_equal(es_watch_paths(cfg, "x", paths, 2), 2);
	assert_int_equal(es_watch_paths(NULL, "x", paths, 16), 1);
	es_config_free(cfg);
}

static void
test_name_matters(void **state)
{
	const char *const bases[] = { "seal.jwks", "h1" };

	(void)state;
	assert_true(es_watch_name_matters("seal.jwks", bases, 2));
	assert_true(es_watch_name_matters("h1", bases, 2));
	assert_true(es_watch_name_matters("..data", bases, 2));
	assert_false(es_watch_name_matters("seal.jwks.tmp", bases, 2));
	assert_false(es_watch_name_matters("..2026_12_03_18_00", bases, 2));
	assert_false(es_watch_name_matters("h", bases, 2));
	assert_false(es_watch_name_matters("seal.jwks", bases, 0));
}

static void
test_config_keys(void **state)
{
	char err[256];
	struct es_config *cfg;

	(void)state;
	cfg = es_config_parse_string(conf_text, "t.conf", err, sizeof(err));
	assert_non_null(cfg);
	assert_int_equal(cfg->issuers[1].jwks_refresh_min, 60);
	assert_int_equal(cfg->issuers[1].jwks_refresh_max, 3600);
	assert_int_equal(cfg->issuers[1].jwks_max_stale, 86400);
	es_config_free(cfg);

	cfg = es_config_parse_string(
		"[issuer a]\nissuer = x\njwks_url = https://a/\n"
		"jwks_refresh_min = 600\njwks_refresh_max = 60\n"
		"[seal]\nkeyset = /k\n", "t.conf", err, sizeof(err));
	assert_null(cfg);
	assert_non_null(strstr(err, "t.conf:1: "));
	assert_non_null(strstr(err, "jwks_refresh_min"));

	cfg = es_config_parse_string(
		"[issuer a]\nissuer = x\njwks_cache_file = /c\n"
		"[seal]\nkeyset = /k\n", "t.conf", err, sizeof(err));
	assert_null(cfg);
	assert_non_null(strstr(err, "needs jwks_url"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refresh_delay),
		cmocka_unit_test(test_url_allowed),
		cmocka_unit_test(test_url_redact),
		cmocka_unit_test(test_watch_paths),
		cmocka_unit_test(test_name_matters),
		cmocka_unit_test(test_config_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
