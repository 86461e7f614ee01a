/*
 * test_limits.c: the red-team fixes that are pure code: which files may
 * be trusted, the connection limit keys and their defaults, relative
 * paths in a configuration file, and the deadline of a connection in
 * each state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "conn.h"

#define TAIL "[issuer a]\nissuer = x\n[seal]\nkeyset = /k\n"

static struct stat
file(mode_t mode, uid_t uid)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_uid = uid;
	return st;
}

/* Both sides of each rule, for public files and secrets. */
static void
file_trust_rules(void **state)
{
	struct stat st;

	(void)state;
	st = file(S_IFREG | 0644, 0);
	assert_null(es_file_untrusted(&st, 1000, 0));
	st = file(S_IFREG | 0644, 1000);
	assert_null(es_file_untrusted(&st, 1000, 0));
	st = file(S_IFREG | 0600, 1000);
	assert_null(es_file_untrusted(&st, 1000, 1));

	st = file(S_IFREG | 0664, 0);
	assert_string_equal(es_file_untrusted(&st, 0, 0),
			    "writable by group or others");
	st = file(S_IFREG | 0646, 0);
	assert_string_equal(es_file_untrusted(&st, 0, 0),
			    "writable by group or others");
	st = file(S_IFREG | 0644, 1001);
	assert_string_equal(es_file_untrusted(&st, 1000, 0),
			    "owned by neither root nor the agent's user");
	st = file(S_IFIFO | 0600, 0);
	assert_string_equal(es_file_untrusted(&st, 0, 0),
			    "not a regular file");
	st = file(S_IFDIR | 0700, 0);
	assert_string_equal(es_file_untrusted(&st, 0, 0),
			    "not a regular file");

	/* A secret: no group/other bit at all, and ours even if root's. */
	st = file(S_IFREG | 0640, 1000);
	assert_string_equal(es_file_untrusted(&st, 1000, 1),
			    "readable or writable by group or others");
	st = file(S_IFREG | 0600, 0);
	assert_string_equal(es_file_untrusted(&st, 1000, 1),
			    "owned by another user");
}

static void
limit_keys_and_defaults(void **state)
{
	char err[512];
	struct es_config *c;

	(void)state;
	c = es_config_parse_string(TAIL, "d.conf", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->hello_timeout, 5);
	assert_int_equal(c->idle_timeout, 300);
	assert_int_equal(c->max_connections, 1000);
	es_config_free(c);

	c = es_config_parse_string("[agent]\nhello_timeout = 2\n"
				   "idle_timeout = 90\nmax_connections = 7\n"
				   TAIL, "d.conf", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->hello_timeout, 2);
	assert_int_equal(c->idle_timeout, 90);
	assert_int_equal(c->max_connections, 7);
	es_config_free(c);

	/* Zero would mean "never": refused, with the line. */
	assert_null(es_config_parse_string("[agent]\nhello_timeout = 0\n"
					   TAIL, "d.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "d.conf:2: hello_timeout: expected"));
	assert_null(es_config_parse_string("[agent]\nidle_timeout = 0\n"
					   TAIL, "d.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "d.conf:2: idle_timeout: expected"));
	assert_null(es_config_parse_string("[agent]\nmax_connections = 0\n"
					   TAIL, "d.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "d.conf:2: max_connections: expected"));
	assert_null(es_config_parse_string("[agent]\nsend_timeout = 1\n"
					   TAIL, "d.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "d.conf:2: unknown key 'send_timeout'"));
}

static char *
write_conf(const char *dir, const char *text, mode_t mode)
{
	char *path = malloc(strlen(dir) + 16);
	FILE *f;

	assert_non_null(path);
	sprintf(path, "%s/agent.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Relative names are relative to the file's folder; absolute ones stay. */
static void
relative_paths_follow_the_file(void **state)
{
	char dir[] = "/tmp/es-limits-XXXXXX", err[512], want[256];
	struct es_config *c;
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = write_conf(dir, "[agent]\nlisten = unix:run/a.sock\n"
			  "listen = unix:/abs.sock\nlisten = 127.0.0.1:1\n"
			  "[issuer a]\nissuer = x\njwks_file = keys/j.json\n"
			  "pem_key = k RS256 ../k.pem\n"
			  "hmac_key = h HS256 /etc/h.key\n"
			  "[seal]\nkeyset = seal.jwks\n", 0600);
	c = es_config_parse(path, err, sizeof(err));
	assert_non_null(c);

	snprintf(want, sizeof(want), "unix:%s/run/a.sock", dir);
	assert_string_equal(c->listen[0], want);
	assert_string_equal(c->listen[1], "unix:/abs.sock");
	assert_string_equal(c->listen[2], "127.0.0.1:1");
	snprintf(want, sizeof(want), "%s/keys/j.json", dir);
	assert_string_equal(c->issuers[0].jwks_file.path, want);
	snprintf(want, sizeof(want), "%s/../k.pem", dir);
	assert_string_equal(c->issuers[0].pem_keys[0].file.path, want);
	assert_string_equal(c->issuers[0].hmac_keys[0].file.path,
			    "/etc/h.key");
	snprintf(want, sizeof(want), "%s/seal.jwks", dir);
	assert_string_equal(c->seal_keyset.path, want);
	es_config_free(c);

	unlink(path);
	free(path);
	rmdir(dir);
}

/* The configuration itself: refused when others could write it. */
static void
config_file_trust(void **state)
{
	char dir[] = "/tmp/es-limits-XXXXXX", err[512], fifo[64];
	struct es_config *c;
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = write_conf(dir, TAIL, 0666);
	assert_null(es_config_parse(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":0: writable by group or others"));

	assert_int_equal(chmod(path, 0644), 0);
	c = es_config_parse(path, err, sizeof(err));
	assert_non_null(c);
	es_config_free(c);

	/* A FIFO is refused at once instead of blocking in open(). */
	snprintf(fifo, sizeof(fifo), "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_null(es_config_parse(fifo, err, sizeof(err)));
	assert_non_null(strstr(err, ":0: not a regular file"));

	unlink(fifo);
	unlink(path);
	free(path);
	rmdir(dir);
}

/* The deadline in each state, on both sides of it. */
static void
deadlines(void **state)
{
	struct es_conn *c = es_conn_new(1, -1, 16380);

	(void)state;
	assert_non_null(c);
	c->hello_timeout = 5;
	c->idle_timeout = 300;
	c->started = 1000;
	c->last_io = 1004;

	/* Before HELLO: counted from the accept, whatever trickled in. */
	assert_true(es_conn_time_left(c, 1004.9) > 0);
	assert_true(es_conn_time_left(c, 1005.0) <= 0);

	c->state = ES_CONN_READY;
	assert_true(es_conn_time_left(c, 1303.9) > 0);
	assert_true(es_conn_time_left(c, 1304.0) <= 0);

	/* Closing: only a last frame to flush, hello_timeout to do it. */
	c->state = ES_CONN_CLOSING;
	assert_true(es_conn_time_left(c, 1008.9) > 0);
	assert_true(es_conn_time_left(c, 1009.0) <= 0);
	es_conn_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_trust_rules),
		cmocka_unit_test(limit_keys_and_defaults),
		cmocka_unit_test(relative_paths_follow_the_file),
		cmocka_unit_test(config_file_trust),
		cmocka_unit_test(deadlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
