/*
 * test_listener.c: address forms for listen lines, and real sockets for
 * each form (loopback, port chosen by the kernel).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "listener.h"

static void
split_forms(void **state)
{
	char host[64], port[8];

	assert_int_equal(es_listener_split("127.0.0.1:12345", host,
					   sizeof(host), port, sizeof(port)),
			 0);
	assert_string_equal(host, "127.0.0.1");
	assert_string_equal(port, "12345");
	assert_int_equal(es_listener_split("[::1]:80", host, sizeof(host),
					   port, sizeof(port)), 0);
	assert_string_equal(host, "::1");
	assert_string_equal(port, "80");

	/* Wrong forms: bare v6, no port, no host, unclosed bracket. */
	assert_int_equal(es_listener_split("::1:80", host, sizeof(host), port,
					   sizeof(port)), -1);
	assert_int_equal(es_listener_split("host", host, sizeof(host), port,
					   sizeof(port)), -1);
	assert_int_equal(es_listener_split("host:", host, sizeof(host), port,
					   sizeof(port)), -1);
	assert_int_equal(es_listener_split(":80", host, sizeof(host), port,
					   sizeof(port)), -1);
	assert_int_equal(es_listener_split("[::1:80", host, sizeof(host),
					   port, sizeof(port)), -1);
	assert_int_equal(es_listener_split("h:123456789", host, sizeof(host),
					   port, sizeof(port)), -1);

	/* Ports: digits only, at most 65535 (getaddrinfo would wrap). */
	assert_int_equal(es_listener_split("h:65535", host, sizeof(host),
					   port, sizeof(port)), 0);
	assert_int_equal(es_listener_split("h:65536", host, sizeof(host),
					   port, sizeof(port)), -1);
	assert_int_equal(es_listener_split("h:1e3", host, sizeof(host),
					   port, sizeof(port)), -1);
	assert_int_equal(es_listener_split("h: 80", host, sizeof(host),
					   port, sizeof(port)), -1);
}

/* What the configuration accepts before anything is bound. */
static void
check_forms(void **state)
{
	static const char *const good[] = {
		"127.0.0.1:1", "[::1]:65535", "localhost:80", "unix:/run/x",
		"0.0.0.0:12345", "[::]:9", "[fe80::1%eth0]:80",
	};
	static const char *const bad[] = {
		"127.0.0.1:0", "127.0.0.1:65536", "1.2.3:80", "256.0.0.1:1",
		"[localhost]:80", "unix:", "host", "[::1]",
		"127.0.0.1:080", "[::ffff:127.0.0.1]:80",
	};
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (es_listener_check(good[i], err, sizeof(err)) != 0)
			fail_msg("%s refused: %s", good[i], err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (es_listener_check(bad[i], err, sizeof(err)) == 0 ||
		    strncmp(err, bad[i], strlen(bad[i])) != 0)
			fail_msg("%s accepted or unnamed: %s", bad[i], err);
	}
}

static void
open_each_form(void **state)
{
	char err[256], dir[] = "/tmp/es-listen-XXXXXX", addr[128];
	struct stat st;
	int fd;

	fd = es_listener_open("127.0.0.1:0", err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	fd = es_listener_open("[::1]:0", err, sizeof(err));
	if (fd >= 0)	/* hosts without IPv6 loopback exist */
		close(fd);

	assert_non_null(mkdtemp(dir));
	snprintf(addr, sizeof(addr), "unix:%s/s", dir);
	fd = es_listener_open(addr, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(stat(addr + 5, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	close(fd);

	/* The stale socket is replaced; a regular file is not touched. */
	{
		/* 0660 from bind itself whatever the umask, which it leaves
		 * as it was. */
		mode_t old = umask(0);

		fd = es_listener_open(addr, err, sizeof(err));
		assert_int_equal(umask(old), 0);
	}
	assert_true(fd >= 0);
	assert_int_equal(lstat(addr + 5, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	close(fd);
	unlink(addr + 5);
	close(creat(addr + 5, 0600));
	assert_int_equal(es_listener_open(addr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a socket"));
	unlink(addr + 5);
	rmdir(dir);

	assert_int_equal(es_listener_open("nohost.invalid:1", err,
					  sizeof(err)), -1);
	assert_int_equal(es_listener_open("1.2.3", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected host:port"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_forms),
		cmocka_unit_test(check_forms),
		cmocka_unit_test(open_each_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
