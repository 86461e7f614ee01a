/*
 * test_log.c: log lines as operators grep them: logfmt quoting, JSON
 * escaping, level filtering, one line per event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Run fn with stderr captured; returns what was written. */
static void
capture(void (*fn)(void), char *out, size_t cap)
{
	int fds[2], saved;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, cap - 1);
	close(fds[0]);
	out[n < 0 ? 0 : n] = '\0';
}

static void
emit_decision(void)
{
	struct es_logline l;

	es_log_begin(&l, ES_LOG_INFO, "decision", 3);
	es_log_uint(&l, "sid", 5);
	es_log_str(&l, "result", "deny");
	es_log_str(&l, "iss", "https://idp/ \"x\"");
	es_log_mem(&l, "caps", "", 0);
	es_log_int(&l, "us", -1);
	es_log_end(&l);
}

static void
emit_debug(void)
{
	es_log_msg(ES_LOG_DEBUG, "notify", 1, "hidden %d", 1);
}

static void
logfmt_line(void **state)
{
	char out[2048];

	es_log_init(ES_LOG_INFO, ES_LOG_LOGFMT, false);
	capture(emit_decision, out, sizeof(out));
	assert_int_equal(strncmp(out, "ts=", 3), 0);
	assert_non_null(strstr(out, " level=info event=decision conn=3 sid=5 "
			       "result=deny iss=\"https://idp/ \\\"x\\\"\" "
			       "caps=\"\" us=-1\n"));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
}

static void
json_line(void **state)
{
	char out[2048];

	es_log_init(ES_LOG_INFO, ES_LOG_JSON, false);
	capture(emit_decision, out, sizeof(out));
	assert_int_equal(strncmp(out, "{\"ts\":\"", 7), 0);
	assert_non_null(strstr(out, ",\"level\":\"info\",\"event\":\"decision\","
			       "\"conn\":3,\"sid\":5,\"result\":\"deny\","
			       "\"iss\":\"https://idp/ \\\"x\\\"\",\"caps\":\"\","
			       "\"us\":-1}\n"));
	es_log_init(ES_LOG_INFO, ES_LOG_LOGFMT, false);
}

static void
level_filter(void **state)
{
	char out[256];

	es_log_init(ES_LOG_INFO, ES_LOG_LOGFMT, false);
	capture(emit_debug, out, sizeof(out));
	assert_string_equal(out, "");
	es_log_init(ES_LOG_DEBUG, ES_LOG_LOGFMT, false);
	capture(emit_debug, out, sizeof(out));
	assert_non_null(strstr(out, "event=notify conn=1 msg=\"hidden 1\""));
	assert_false(es_log_enabled((enum es_log_level)(ES_LOG_DEBUG + 1)));
}

static void
control_bytes_escaped(void **state)
{
	struct es_logline l;

	es_log_init(ES_LOG_INFO, ES_LOG_LOGFMT, false);
	es_log_begin(&l, ES_LOG_INFO, "x", 0);
	es_log_mem(&l, "v", "a\nb\x01", 4);
	assert_non_null(strstr(l.buf, "v=\"a\\u000ab\\u0001\""));
	assert_null(strstr(l.buf, "conn="));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(logfmt_line),
		cmocka_unit_test(json_line),
		cmocka_unit_test(level_filter),
		cmocka_unit_test(control_bytes_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
