/*
 * test_config.c: the INI parser: the documented example, defaults, and one
 * error per rule with the line it must name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config.h"

static const char full[] =
	"[agent]\n"
	"listen = 127.0.0.1:12345        ; repeatable\n"
	"listen = [::1]:12345\n"
	"listen = unix:/run/edgeseal.sock\n"
	"threads = 4\n"
	"log_level = debug                ; error | warn | info | debug\n"
	"log_format = json\n"
	"metrics = 127.0.0.1:9145\n"
	"user = edgeseal\n"
	"max_frame_size = 4096\n"
	"\n"
	"[issuer corp]                   ; a trusted identity provider\n"
	"issuer = https://idp.example.com/\n"
	"audiences = api web\n"
	"jwks_file = /etc/edgeseal/corp-jwks.json\n"
	"jwks_url = https://idp.example.com/.well-known/jwks.json\n"
	"pem_key = rs1 RS256 /etc/edgeseal/corp-rs1.pem\n"
	"pem_key = rs2 RS256 /etc/edgeseal/corp-rs2.pem\n"
	"hmac_key = hs1 HS256 /etc/edgeseal/corp-hs1.key\n"
	"algorithms = RS256 ES256\n"
	"leeway = 10\n"
	"max_lifetime = 3600\n"
	"subject_claim = uid\n"
	"forward_claims = scope roles\n"
	"\n"
	"[issuer other]\n"
	"issuer = https://other/\n"
	"jwks_file = /x.json\n"
	"subject_prefix = other:\n"
	"\n"
	"[seal]\n"
	"keyset = /etc/edgeseal/seal-keys.jwks\n"
	"signing_kid = 2026-12-a\n"
	"ttl = 30\n"
	"issuer = gw\n"
	"audience =                       ; optional\n"
	"\n"
	"[cache]\n"
	"entries = 5\n"
	"seals = 3\n";

static void
parses_design_example(void **state)
{
	char err[256] = "";
	struct es_config *c = es_config_parse_string(full, "x.conf", err,
						     sizeof(err));

	assert_non_null(c);
	assert_string_equal(c->file, "x.conf");
	assert_int_equal(c->listen_count, 3);
	assert_string_equal(c->listen[1], "[::1]:12345");
	assert_string_equal(c->listen[2], "unix:/run/edgeseal.sock");
	assert_int_equal(c->threads, 4);
	assert_int_equal(c->log_level, ES_LOG_DEBUG);
	assert_int_equal(c->log_format, ES_LOG_JSON);
	assert_string_equal(c->metrics, "127.0.0.1:9145");
	assert_string_equal(c->user, "edgeseal");
	assert_int_equal(c->max_frame_size, 4096);

	assert_int_equal(c->issuer_count, 2);
	assert_string_equal(c->issuers[0].name, "corp");
	assert_int_equal(c->issuers[0].line, 12);
	assert_string_equal(c->issuers[0].issuer, "https://idp.example.com/");
	assert_int_equal(c->issuers[0].audiences.count, 2);
	assert_string_equal(c->issuers[0].audiences.items[1], "web");
	assert_string_equal(c->issuers[0].jwks_file.path,
			    "/etc/edgeseal/corp-jwks.json");
	assert_int_equal(c->issuers[0].jwks_file.line, 15);
	assert_int_equal(c->issuers[0].pem_key_count, 2);
	assert_string_equal(c->issuers[0].pem_keys[1].kid, "rs2");
	assert_int_equal(c->issuers[0].pem_keys[1].file.line, 18);
	assert_int_equal(c->issuers[0].hmac_key_count, 1);
	assert_string_equal(c->issuers[0].hmac_keys[0].alg, "HS256");
	assert_int_equal(c->issuers[0].leeway, 10);
	assert_int_equal(c->issuers[0].max_lifetime, 3600);
	assert_string_equal(c->issuers[0].subject_claim, "uid");
	assert_int_equal(c->issuers[0].forward_claims.count, 2);
	assert_null(c->issuers[0].subject_prefix);
	assert_string_equal(c->issuers[1].subject_prefix, "other:");

	/* Defaults in the second issuer. */
	assert_int_equal(c->issuers[1].leeway, 30);
	assert_int_equal(c->issuers[1].max_lifetime, 86400);
	assert_int_equal(c->issuers[1].max_token_size, 8192);
	assert_string_equal(c->issuers[1].subject_claim, "sub");
	assert_int_equal(c->issuers[1].algorithms.count, 2);
	assert_int_equal(c->issuers[1].token_types.count, 2);

	assert_string_equal(c->seal_keyset.path,
			    "/etc/edgeseal/seal-keys.jwks");
	assert_int_equal(c->seal_keyset.line, 32);
	assert_string_equal(c->seal_signing_kid, "2026-12-a");
	assert_int_equal(c->seal_ttl, 30);
	assert_string_equal(c->seal_issuer, "gw");
	assert_null(c->seal_audience);
	assert_int_equal(c->cache_entries, 5);
	assert_int_equal(c->cache_seals, 3);
	es_config_free(c);
}

static void
defaults(void **state)
{
	char err[256];
	struct es_config *c = es_config_parse_string(
		"[issuer a]\nissuer = x\n[seal]\nkeyset = /k\n", "d.conf",
		err, sizeof(err));

	assert_non_null(c);
	assert_int_equal(c->listen_count, 1);
	assert_string_equal(c->listen[0], "127.0.0.1:12345");
	assert_int_equal(c->threads, 2);
	assert_int_equal(c->log_level, ES_LOG_INFO);
	assert_int_equal(c->log_format, ES_LOG_LOGFMT);
	assert_int_equal(c->max_frame_size, 16380);
	assert_int_equal(c->seal_ttl, 60);
	assert_string_equal(c->seal_issuer, "edgeseal");
	assert_null(c->seal_signing_kid);
	assert_int_equal(c->cache_entries, 100000);
	assert_int_equal(c->cache_seals, 4096);
	es_config_free(c);
}

#define TAIL "[issuer a]\nissuer = x\n[seal]\nkeyset = /k\n"

static void
errors_name_their_line(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "[agent]\nbogus = 1\n" TAIL,
		  "e.conf:2: unknown key 'bogus' in [agent]" },
		{ "[agent]\n\n[nope]\n" TAIL, "e.conf:3: unknown section [nope]" },
		{ "[agent]\nthreads = 0\n" TAIL, "e.conf:2: threads: expected" },
		{ "[agent]\nthreads = 2x\n" TAIL, "e.conf:2: threads: expected" },
		{ "[agent]\nthreads = -1\n" TAIL, "e.conf:2: threads: expected" },
		{ "[agent]\nthreads = 2\nthreads = 3\n" TAIL,
		  "e.conf:3: threads set twice (first on line 2)" },
		{ "[agent]\nlog_level = loud\n" TAIL, "e.conf:2: log_level:" },
		{ "[agent]\nlog_format = xml\n" TAIL, "e.conf:2: log_format:" },
		{ "[agent]\nmax_frame_size = 100\n" TAIL,
		  "e.conf:2: max_frame_size: expected" },
		{ "[agent]\nthis line has no equals\n" TAIL,
		  "e.conf:2: syntax error" },
		{ TAIL "[issuer a]\nissuer = y\n",
		  "e.conf:5: issuer a defined twice (line 1)" },
		{ "[issuer]\n" TAIL, "e.conf:1: issuer section needs one name" },
		{ TAIL "ttl = 301\n", "e.conf:5: ttl: expected an integer in "
		  "[1, 300]" },
		{ TAIL "[issuer b]\nissuer = y\n",
		  "e.conf:5: [issuer b]: user ids would mix with [issuer a]'s" },
		{ TAIL "[issuer b]\nissuer = y\nsubject_prefix =\n",
		  "e.conf:5: [issuer b]: user ids would mix with [issuer a]'s" },
		{ "[issuer a]\nissuer = x\nsubject_prefix = s:\n"
		  "[issuer b]\nissuer = y\nsubject_prefix = s:x:\n"
		  "[seal]\nkeyset = /k\n",
		  "e.conf:4: [issuer b]: subject_prefix \"s:x:\" overlaps "
		  "[issuer a]'s \"s:\"" },
		{ "[issuer a]\npem_key = k RS256\n[seal]\nkeyset = /k\n",
		  "e.conf:2: expected: KID ALG FILE" },
		{ "[issuer a]\nissuer = x\nmax = 1\n[seal]\nkeyset = /k\n",
		  "e.conf:3: unknown key 'max' in [issuer a]" },
		{ "[issuer a]\njwks_file = /j\n[seal]\nkeyset = /k\n",
		  "e.conf:1: [issuer a]: issuer is required" },
		{ "[issuer a]\nissuer = x\n", "[seal] keyset is required" },
		{ "[seal]\nkeyset = /k\n", "no [issuer NAME] section" },
		{ "[seal]\nkeyset = /k\nttl = 0\n", "e.conf:3: ttl: expected" },
		{ "[cache]\nentries = many\n" TAIL, "e.conf:2: entries: expected" },
		{ "key = 1\n" TAIL, "e.conf:1: key outside a known section" },
		/* Red team 5: each of these passed -t, then failed or bound
		 * something else at start. */
		{ "[agent]\nlisten = 127.0.0.1:99999\n" TAIL,
		  "e.conf:2: 127.0.0.1:99999: expected host:port" },
		{ "[agent]\nlisten = 127.0.0.1:0\n" TAIL,
		  "e.conf:2: 127.0.0.1:0: expected host:port" },
		{ "[agent]\nlisten = 127.0.0.1:-1\n" TAIL,
		  "e.conf:2: 127.0.0.1:-1: expected host:port" },
		{ "[agent]\nlisten = 127.0.0.1:1e3\n" TAIL,
		  "e.conf:2: 127.0.0.1:1e3: expected host:port" },
		{ "[agent]\nlisten = 256.0.0.1:1\n" TAIL,
		  "e.conf:2: 256.0.0.1:1: not an IP address" },
		{ "[agent]\nlisten = [::g]:1\n" TAIL,
		  "e.conf:2: [::g]:1: not an IP address" },
		{ "[agent]\nlisten = unix:\n" TAIL,
		  "e.conf:2: unix:: the socket path is empty" },
		{ "[agent]\nlisten = [::1]:7\nlisten = [::1]:7\n" TAIL,
		  "e.conf:3: listen [::1]:7 given twice" },
		{ "[agent]\nmetrics = 127.0.0.1:86536\n" TAIL,
		  "e.conf:2: 127.0.0.1:86536: expected host:port" },
		{ "[agent]\nuser =\n" TAIL, "e.conf:2: user: empty value" },
		{ "[agent]\nlisten = [::1]:7\nmetrics = [::1]:7\n" TAIL,
		  "metrics [::1]:7 is also a listen address" },
		{ TAIL "issuer =\n", "e.conf:5: issuer: empty value" },
		{ "[issuer a]\nissuer =\n[seal]\nkeyset = /k\n",
		  "e.conf:2: issuer: empty value" },
		{ TAIL "[issuer b]\nissuer = y\nsubject_prefix = b:\n"
		  "subject_claim =\n", "e.conf:8: subject_claim: empty value" },
		{ "[issuer a]\nissuer = x\ntoken_types =\n[seal]\nkeyset = /k\n",
		  "e.conf:3: token_types: empty list" },
		{ "[issuer a]\nissuer = x\nalgorithms = ,\n[seal]\nkeyset = /k\n",
		  "e.conf:3: algorithms: empty list" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		struct es_config *c = es_config_parse_string(cases[i].text,
							     "e.conf", err,
							     sizeof(err));

		if (c != NULL || strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
				 cases[i].want);
	}
}

static void
long_line_is_an_error(void **state)
{
	char text[1024], err[256] = "";
	char value[600];

	memset(value, 'a', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	snprintf(text, sizeof(text), "[agent]\nmetrics = %s\n" TAIL, value);
	assert_null(es_config_parse_string(text, "l.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "l.conf:2: line longer than"));
}

static void
file_errors(void **state)
{
	char err[256] = "";
	char path[] = "/tmp/es-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct es_config *c;

	assert_null(es_config_parse("/nonexistent/x.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.conf:0: "));

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(TAIL, f);
	fclose(f);
	c = es_config_parse(path, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->file, path);
	es_config_free(c);
	unlink(path);
}

/*
 * A trusted file in a folder others may write can be swapped, or replaced
 * by a link to another file (red team: a 0777 key folder let "nobody"
 * point an issuer at another IdP's keys). Sticky folders such as /tmp
 * are fine; so is a link belonging to root or us.
 */
static void
path_trust(void **state)
{
	char dir[] = "/tmp/es-path-XXXXXX", sub[64], file[96], link[96];
	char dlink[96], chain[160], buf[512];
	const char *why;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/keys", dir);
	snprintf(file, sizeof(file), "%s/jwks.json", sub);
	snprintf(link, sizeof(link), "%s/link.json", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("{}", f);
	fclose(f);
	assert_int_equal(symlink(file, link), 0);

	assert_null(es_path_untrusted(file, geteuid(), buf, sizeof(buf)));
	assert_null(es_path_untrusted(link, geteuid(), buf, sizeof(buf)));

	/* World-writable, not sticky: refused, through the link too. */
	assert_int_equal(chmod(sub, 0777), 0);
	why = es_path_untrusted(file, geteuid(), buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, "writable by group or others"));
	assert_non_null(es_path_untrusted(link, geteuid(), buf, sizeof(buf)));

	/* Sticky, as /tmp: others cannot replace our file. */
	assert_int_equal(chmod(sub, 01777), 0);
	assert_null(es_path_untrusted(file, geteuid(), buf, sizeof(buf)));

	/* Relative, with "..", through a Kubernetes-style "..data" link. */
	snprintf(dlink, sizeof(dlink), "%s/..data", dir);
	assert_int_equal(symlink("keys", dlink), 0);
	snprintf(chain, sizeof(chain), "%s/..data/../keys//jwks.json", dir);
	assert_null(es_path_untrusted(chain, geteuid(), buf, sizeof(buf)));
	assert_int_equal(chdir(dir), 0);
	assert_null(es_path_untrusted("..data/jwks.json", geteuid(), buf,
				      sizeof(buf)));
	assert_int_equal(chdir("/"), 0);

	/*
	 * Links someone else owns, when we are root and can make them: the
	 * last one, one in the middle of a chain, and a folder link.
	 */
	if (geteuid() == 0) {
		snprintf(chain, sizeof(chain), "%s/chain.json", dir);
		assert_int_equal(symlink(link, chain), 0);
		assert_null(es_path_untrusted(chain, 0, buf, sizeof(buf)));

		assert_int_equal(lchown(link, 65534, 65534), 0);
		why = es_path_untrusted(link, 0, buf, sizeof(buf));
		assert_non_null(why);
		assert_non_null(strstr(why, "symbolic link"));
		why = es_path_untrusted(chain, 0, buf, sizeof(buf));
		assert_non_null(why);
		assert_non_null(strstr(why, "link.json belongs to another"));

		assert_int_equal(lchown(dlink, 65534, 65534), 0);
		snprintf(chain, sizeof(chain), "%s/..data/jwks.json", dir);
		why = es_path_untrusted(chain, 0, buf, sizeof(buf));
		assert_non_null(why);
		assert_non_null(strstr(why, "..data belongs to another"));
		snprintf(chain, sizeof(chain), "%s/chain.json", dir);
		unlink(chain);
	}

	unlink(dlink);
	unlink(link);
	unlink(file);
	rmdir(sub);
	rmdir(dir);
}

/* -t and the logs point out an issuer that checks no audience. */
static void
warnings_and_restart(void **state)
{
	char err[256], line[256];
	struct es_config *a = es_config_parse_string(
		"[agent]\nlisten = 127.0.0.1:1\n"
		"[issuer open]\nissuer = https://o/\n"
		"[issuer shut]\nissuer = https://s/\naudiences = api\n"
		"subject_prefix = s:\n"
		"[seal]\nkeyset = /k\n", "w.conf", err, sizeof(err));
	struct es_config *b = es_config_parse_string(
		"[agent]\nlisten = 127.0.0.1:2\n"
		"[issuer a]\nissuer = x\naudiences = api\n"
		"[seal]\nkeyset = /k\n", "w.conf", err, sizeof(err));
	const char *what = NULL;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(es_config_warning(a, 0, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "[issuer open]: no audiences"));
	assert_int_equal(es_config_warning(a, 1, line, sizeof(line)), -1);
	assert_int_equal(es_config_warning(b, 0, line, sizeof(line)), -1);

	assert_int_equal(es_config_needs_restart(a, a, &what), 0);
	assert_null(what);
	assert_int_equal(es_config_needs_restart(a, b, &what), 1);
	assert_string_equal(what, "listen");
	es_config_free(a);
	es_config_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_design_example),
		cmocka_unit_test(defaults),
		cmocka_unit_test(warnings_and_restart),
		cmocka_unit_test(errors_name_their_line),
		cmocka_unit_test(long_line_is_an_error),
		cmocka_unit_test(file_errors),
		cmocka_unit_test(path_trust),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
