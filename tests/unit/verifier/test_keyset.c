/*
 * test_keyset.c: key set parsing, the file secrecy checks and add_key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

static char dir[64];

/* Write text to dir/name with mode; returns the path (static buffer). */
static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Load path and expect failure with err containing want. */
static void
expect_load_error(const char *path, const char *want)
{
	char err[256] = "";
	struct edgeseal_keyset *ks = edgeseal_keyset_load(path, err,
							  sizeof(err));

	assert_null(ks);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_non_null(strstr(err, path));
}

/* Parse text and expect failure with err containing want. */
static void
expect_parse_error(const char *text, const char *want)
{
	char err[256] = "";

	assert_null(edgeseal_keyset_parse(text, strlen(text), err,
					  sizeof(err)));
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
test_parse_good(void **state)
{
	struct edgeseal_keyset *ks = t_keyset(1);

	(void)state;
	assert_int_equal(edgeseal_keyset_count(ks), 2);
	assert_string_equal(edgeseal_keyset_kid(ks, 0), "k1");
	assert_string_equal(edgeseal_keyset_kid(ks, 1), "job");
	assert_null(edgeseal_keyset_kid(ks, 2));
	assert_true(edgeseal_keyset_has_kid(ks, "job"));
	assert_false(edgeseal_keyset_has_kid(ks, "jo"));
	edgeseal_keyset_free(ks);
	edgeseal_keyset_free(NULL);
}

static void
test_parse_refusals(void **state)
{
	static const char k32[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY";
	char text[512];

	(void)state;
	expect_parse_error("{\"keys\":[]}", "no key");
	expect_parse_error("{}", "\"keys\" must be an array");
	expect_parse_error("[]", "not a JSON object");
	expect_parse_error("{\"keys\":[", "line 1");

	/* Red team 5: Jansson quotes the input near a syntax error, which
	 * in a key set is the secret. Only the position may be reported. */
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\","
		 "\"kid\":\"a\",\"k\":%s}]}", k32);
	{
		char err[256] = "";

		assert_null(edgeseal_keyset_parse(text, strlen(text), err,
						  sizeof(err)));
		assert_non_null(strstr(err, "line 1 column"));
		assert_null(strstr(err, "MDEy"));
		assert_null(strstr(err, "near"));
	}
	/* 16 bytes is half of what HS256 needs. */
	expect_parse_error("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
			   "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZg\"}]}",
			   "shorter than 32 bytes");

	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"k\":\"%s\"},{\"kty\":\"oct\",\"kid\":\"a\",\"k\":\"%s\"}]}",
		 k32, k32);
	expect_parse_error(text, "key 1: duplicate kid");

	/* Red team 6: a job key copied with the main key's secret, and a
	 * misspelt restriction, would each make a restriction void. */
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"k\":\"%s\"},{\"kty\":\"oct\",\"kid\":\"job\",\"k\":\"%s\","
		 "\"edgeseal_sub_prefix\":\"job:\"}]}", k32, k32);
	expect_parse_error(text, "key 1: the same secret as an earlier key");

	/* Red team 7: one HMAC key, two spellings: K and K || 00 (zero
	 * padding to the block), L of 70 bytes and SHA-256(L). */
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"k\":\"%s\"},{\"kty\":\"oct\",\"kid\":\"b\",\"k\":\"%sA\"}]}",
		 k32, k32);
	expect_parse_error(text, "key 1: the same secret as an earlier key");
	expect_parse_error("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\",\"k\":"
		"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
		"LS4vMDEyMzQ1Njc4OTo7PD0-P0BBQkNERQ\"},{\"kty\":\"oct\",\"kid\":"
		"\"b\",\"k\":\"V2fWmpBtSGDbkHnrfpCrSlQ-XLAy_OhGVUrvbOtgDh0\"}]}",
		"key 1: the same secret as an earlier key");
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"k\":\"%s\",\"edgeseal_sub_prefx\":\"job:\"}]}", k32);
	expect_parse_error(text, "key 0: unknown edgeseal_ member");
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\","
		 "\"k\":\"%s\"}]}", k32);
	expect_parse_error(text, "kty");
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"alg\":\"HS512\",\"k\":\"%s\"}]}", k32);
	expect_parse_error(text, "alg");
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"k\":\"%s=\"}]}", k32);
	expect_parse_error(text, "base64url");
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"kid\":\"b\",\"k\":\"%s\"}]}", k32);
	expect_parse_error(text, "duplicate");
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\","
		 "\"kid\":\"a b\",\"k\":\"%s\"}]}", k32);
	expect_parse_error(text, "kid");
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"k\":\"%s\",\"edgeseal_require_act\":1}]}", k32);
	expect_parse_error(text, "edgeseal_require_act");
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"k\":\"%s\",\"edgeseal_sub_prefix\":\"\"}]}", k32);
	expect_parse_error(text, "edgeseal_sub_prefix");

	/* alg may be absent: a seal key is HS256 whatever it says. */
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
		 "\"k\":\"%s\"}]}", k32);
	struct edgeseal_keyset *ks = edgeseal_keyset_parse(text, strlen(text),
							   NULL, 0);
	assert_non_null(ks);
	edgeseal_keyset_free(ks);
}

/* One key with extra JWK members (text after the "k" member). */
static const char *
key_with(const char *members)
{
	static char text[4096];

	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\","
		 "\"kid\":\"j\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
		 "ODlhYmNkZWY\"%s}]}", members);
	return text;
}

/* edgeseal_allowed_claims: an array of distinct, sane, forwarded names. */
static void
test_parse_allowed_claims(void **state)
{
	static const char *const bad[][2] = {
		{ "\"tenant\"", "must be an array" },
		{ "{}", "must be an array" },
		{ "[\"tenant\",7]", "1-256 bytes" },
		{ "[\"\"]", "1-256 bytes" },
		{ "[\"a,b\"]", "1-256 bytes" },
		{ "[\"a\\nb\"]", "1-256 bytes" },
		{ "[\"a\\u007fb\"]", "1-256 bytes" },
		{ "[null]", "1-256 bytes" },
		{ "[\"sub\"]", "claim of the format" },
		{ "[\"tenant\",\"act\"]", "claim of the format" },
		{ "[\"tenant\",\"t\\u0065nant\"]", "twice" },
	};
	char members[1024], many[900];
	struct edgeseal_keyset *ks;
	size_t at = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(members, sizeof(members), ",\"edgeseal_sub_prefix\":"
			 "\"job:\",\"edgeseal_allowed_claims\":%s", bad[i][0]);
		expect_parse_error(key_with(members), bad[i][1]);
		expect_parse_error(key_with(members), "key 0: ");
	}

	/* 64 names are fine, 65 are not. */
	for (int n = 0; n < 65; n++)
		at += (size_t)snprintf(many + at, sizeof(many) - at,
				       "%s\"c%d\"", n ? "," : "[", n);
	snprintf(members, sizeof(members), ",\"edgeseal_allowed_claims\":%s]",
		 many);
	expect_parse_error(key_with(members), "more than 64");
	*strrchr(many, ',') = '\0';
	snprintf(members, sizeof(members), ",\"edgeseal_allowed_claims\":%s]",
		 many);
	ks = edgeseal_keyset_parse(key_with(members), strlen(key_with(members)),
				   NULL, 0);
	assert_non_null(ks);
	edgeseal_keyset_free(ks);

	/* An empty list is the default made explicit. */
	ks = edgeseal_keyset_parse(key_with(",\"edgeseal_allowed_claims\":[]"),
				   strlen(key_with(",\"edgeseal_allowed_claims"
						   "\":[]")), NULL, 0);
	assert_non_null(ks);
	edgeseal_keyset_free(ks);
}

static void
test_load_file_checks(void **state)
{
	char json[1024], sub[128];
	struct edgeseal_keyset *ks;
	const char *path;

	(void)state;
	t_keyset_json(1, json, sizeof(json));

	path = write_file("good.json", json, 0600);
	ks = edgeseal_keyset_load(path, NULL, 0);
	assert_non_null(ks);
	edgeseal_keyset_free(ks);

	path = write_file("world.json", json, 0644);
	expect_load_error(path, "group or others");
	path = write_file("group.json", json, 0640);
	expect_load_error(path, "group or others");
	path = write_file("empty.json", "{\"keys\":[]}", 0600);
	expect_load_error(path, "no key");
	expect_load_error(dir, "not a regular file");
	snprintf(sub, sizeof(sub), "%s/missing.json", dir);
	expect_load_error(sub, "No such file");

	/* A foreign owner can only be staged by root. */
	if (geteuid() == 0) {
		path = write_file("foreign.json", json, 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		expect_load_error(path, "owned by another user");
	}
}

/* Load path and expect n keys, kid among them. */
static void
expect_keys(const char *path, size_t n, const char *kid)
{
	char err[256] = "";
	struct edgeseal_keyset *ks = edgeseal_keyset_load(path, err,
							  sizeof(err));

	if (ks == NULL)
		fail_msg("%s", err);
	assert_int_equal(edgeseal_keyset_count(ks), n);
	assert_true(edgeseal_keyset_has_kid(ks, kid));
	edgeseal_keyset_free(ks);
}

/*
 * Root adds a key to a set the agent's user owns (the documented
 * rotation) only where no other user can swap a folder on the way (red
 * team 7): here, in a folder of /tmp (world-writable), it is refused; in
 * a root-only folder under /run it works, keeps the owner, and root still
 * may not load the set.
 */
static void
root_adds_to_foreign_set(const char *tmp_path)
{
	char dir_run[] = "/run/es-keyset-XXXXXX", path[64], cmd[96], err[256];
	struct stat st;

	assert_int_equal(chown(tmp_path, 65534, 65534), 0);
	assert_int_equal(edgeseal_keyset_add_key(tmp_path, "by-root", NULL, 0,
		err, sizeof(err)), EDGESEAL_NO_KEY);
	assert_non_null(strstr(err, "owned by another user"));
	assert_int_equal(chown(tmp_path, 0, 0), 0);

	assert_non_null(mkdtemp(dir_run));
	snprintf(path, sizeof(path), "%s/seal.jwks", dir_run);
	assert_int_equal(edgeseal_keyset_add_key(path, "first", NULL, 0, err,
		sizeof(err)), EDGESEAL_OK);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(edgeseal_keyset_add_key(path, "by-root", NULL, 0, err,
		sizeof(err)), EDGESEAL_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_null(edgeseal_keyset_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "owned by another user"));
	assert_int_equal(chown(path, 0, 0), 0);
	expect_keys(path, 2, "by-root");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir_run);
	assert_int_equal(system(cmd), 0);
}

static void
test_add_key(void **state)
{
	char path[128], kid[64], err[256], long_kid[300];
	struct edgeseal_keyset *ks;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/new.json", dir);
	unlink(path);

	assert_int_equal(edgeseal_keyset_add_key(path, "first", kid,
		sizeof(kid), err, sizeof(err)), EDGESEAL_OK);
	assert_string_equal(kid, "first");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(edgeseal_keyset_add_key(path, NULL, kid,
		sizeof(kid), err, sizeof(err)), EDGESEAL_OK);
	assert_true(strlen(kid) > 0);
	ks = edgeseal_keyset_load(path, err, sizeof(err));
	assert_non_null(ks);
	assert_int_equal(edgeseal_keyset_count(ks), 2);
	assert_true(edgeseal_keyset_has_kid(ks, "first"));
	assert_true(edgeseal_keyset_has_kid(ks, kid));
	edgeseal_keyset_free(ks);

	/* A kid_out too small for the kid: refused before the file is
	 * touched, never a success with a cut kid (red team 6). */
	assert_int_equal(edgeseal_keyset_add_key(path, "long-kid-name", kid,
		5, err, sizeof(err)), EDGESEAL_INTERNAL_ERROR);
	assert_non_null(strstr(err, "kid_out too small"));
	assert_int_equal(edgeseal_keyset_add_key(path, NULL, kid, 12, err,
		sizeof(err)), EDGESEAL_INTERNAL_ERROR);
	assert_int_equal(edgeseal_keyset_add_key(NULL, "k", NULL, 0, err,
		sizeof(err)), EDGESEAL_INTERNAL_ERROR);
	memset(long_kid, 'k', sizeof(long_kid) - 1);
	long_kid[sizeof(long_kid) - 1] = '\0';
	assert_int_equal(edgeseal_keyset_add_key(path, long_kid, kid,
		sizeof(kid), err, sizeof(err)), EDGESEAL_NO_KEY);
	assert_non_null(strstr(err, "kid must be 1-128"));
	expect_keys(path, 2, "first");

	/* A second "first" would make the set ambiguous: refused, kept. */
	assert_int_equal(edgeseal_keyset_add_key(path, "first", NULL, 0, err,
		sizeof(err)), EDGESEAL_NO_KEY);
	assert_non_null(strstr(err, "duplicate kid"));

	if (geteuid() == 0)
		root_adds_to_foreign_set(path);

	/* An unsafe existing file is not touched. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(edgeseal_keyset_add_key(path, "x", NULL, 0, err,
		sizeof(err)), EDGESEAL_NO_KEY);
	assert_non_null(strstr(err, "group or others"));
}


/*
 * A key set reached through a symbolic link (a Kubernetes volume, or
 * /etc pointing into /srv): the target gets the key, the link stays.
 */
static void
test_add_key_through_link(void **state)
{
	char real_dir[96], real[128], link[128], err[256];
	struct stat st;

	(void)state;
	snprintf(real_dir, sizeof(real_dir), "%s/real", dir);
	snprintf(real, sizeof(real), "%s/seal.jwks", real_dir);
	snprintf(link, sizeof(link), "%s/link.jwks", dir);
	assert_int_equal(mkdir(real_dir, 0700), 0);
	assert_int_equal(edgeseal_keyset_add_key(real, "old", NULL, 0, err,
		sizeof(err)), EDGESEAL_OK);
	assert_int_equal(symlink("real/seal.jwks", link), 0);

	assert_int_equal(edgeseal_keyset_add_key(link, "new", NULL, 0, err,
		sizeof(err)), EDGESEAL_OK);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	expect_keys(real, 2, "new");
}

/* Concurrent additions each keep every other one's key. */
static void
test_add_key_concurrent(void **state)
{
	enum { RUNS = 8 };
	char path[128], kid[16], err[256];
	pid_t pids[RUNS];
	int status;

	(void)state;
	snprintf(path, sizeof(path), "%s/busy.jwks", dir);
	assert_int_equal(edgeseal_keyset_add_key(path, "k0", NULL, 0, err,
		sizeof(err)), EDGESEAL_OK);
	for (int i = 0; i < RUNS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			snprintf(kid, sizeof(kid), "k%d", i + 1);
			_exit(edgeseal_keyset_add_key(path, kid, NULL, 0, err,
				sizeof(err)) == EDGESEAL_OK ? 0 : 1);
		}
	}
	for (int i = 0; i < RUNS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 0; i <= RUNS; i++) {
		snprintf(kid, sizeof(kid), "k%d", i);
		expect_keys(path, RUNS + 1, kid);
	}
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/edgeseal-ks-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_parse_allowed_claims),
		cmocka_unit_test(test_load_file_checks),
		cmocka_unit_test(test_add_key),
		cmocka_unit_test(test_add_key_through_link),
		cmocka_unit_test(test_add_key_concurrent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
