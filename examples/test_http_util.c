/*
 * test_http_util.c: the pure helpers the example services parse their
 * command line and build URLs with (ctest unit.examples.http_util).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "http_util.h"

static void
listen_accepts_ipv4_and_port(void **state)
{
	struct sockaddr_in a;

	assert_int_equal(ex_parse_listen("127.0.0.1:8081", &a), 0);
	assert_int_equal(a.sin_family, AF_INET);
	assert_int_equal(ntohs(a.sin_port), 8081);
	assert_int_equal(ntohl(a.sin_addr.s_addr), 0x7f000001);

	assert_int_equal(ex_parse_listen("0.0.0.0:1", &a), 0);
	assert_int_equal(ntohs(a.sin_port), 1);
	assert_int_equal(ex_parse_listen("10.1.2.3:65535", &a), 0);
	assert_int_equal(ntohs(a.sin_port), 65535);
}

static void
listen_refuses_the_rest(void **state)
{
	static const char *bad[] = {
		"", "8081", "127.0.0.1", "127.0.0.1:", ":8081",
		"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:80x", "127.0.0.1: 80", "localhost:8081",
		"[::1]:8081", "127.0.0.256:80",
		"1111111111111111111111111111:80",
	};
	struct sockaddr_in a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(ex_parse_listen(bad[i], &a), -1);
	}
}

static void
uint_edges(void **state)
{
	unsigned int n = 42;

	assert_int_equal(ex_parse_uint("0", 10, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ex_parse_uint("10", 10, &n), 0);
	assert_int_equal(n, 10);

	/* Refused values leave the output alone. */
	n = 7;
	assert_int_equal(ex_parse_uint("11", 10, &n), -1);
	assert_int_equal(ex_parse_uint("", 10, &n), -1);
	assert_int_equal(ex_parse_uint("-1", 10, &n), -1);
	assert_int_equal(ex_parse_uint("+1", 10, &n), -1);
	assert_int_equal(ex_parse_uint(" 1", 10, &n), -1);
	assert_int_equal(ex_parse_uint("1s", 10, &n), -1);
	assert_int_equal(ex_parse_uint("99999999999999999999", 4000000000u,
				       &n), -1);
	assert_int_equal(n, 7);
}

static void
join_url_drops_trailing_slashes(void **state)
{
	char out[64];

	assert_int_equal(ex_join_url("http://h:1", "/users/me", out,
				     sizeof(out)), 0);
	assert_string_equal(out, "http://h:1/users/me");
	assert_int_equal(ex_join_url("http://h:1//", "/users/me", out,
				     sizeof(out)), 0);
	assert_string_equal(out, "http://h:1/users/me");
}

static void
join_url_refuses_what_does_not_fit(void **state)
{
	char out[20];

	/* 19 characters plus NUL fit exactly; one more does not. */
	assert_int_equal(ex_join_url("http://h:1", "/users/me", out,
				     sizeof(out)), 0);
	assert_int_equal(ex_join_url("http://h:12", "/users/me", out,
				     sizeof(out)), -1);
}

static void
request_complete_after_headers_and_body(void **state)
{
	void *req_cls = NULL;
	size_t upload = 0;

	/* Headers only: the first call waits, the second answers. */
	assert_int_equal(ex_request_complete(&req_cls, &upload), 0);
	assert_non_null(req_cls);
	assert_int_equal(ex_request_complete(&req_cls, &upload), 1);

	/* A body is consumed (and ignored) before the answer. */
	req_cls = NULL;
	assert_int_equal(ex_request_complete(&req_cls, &upload), 0);
	upload = 5;
	assert_int_equal(ex_request_complete(&req_cls, &upload), 0);
	assert_int_equal(upload, 0);
	assert_int_equal(ex_request_complete(&req_cls, &upload), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listen_accepts_ipv4_and_port),
		cmocka_unit_test(listen_refuses_the_rest),
		cmocka_unit_test(uint_edges),
		cmocka_unit_test(join_url_drops_trailing_slashes),
		cmocka_unit_test(join_url_refuses_what_does_not_fit),
		cmocka_unit_test(request_complete_after_headers_and_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
