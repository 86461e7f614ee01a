/*
 * test_conn.c: the connection state machine without sockets: bytes in,
 * frames out, with the fake validator behind es_decide().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "log.h"
#include "snapshot.h"
#include "spop.h"

#define CFG "[agent]\nmax_frame_size = %u\n[issuer t]\nissuer = x\n" \
	    "hmac_key = k HS256 /dev/null\n[seal]\nkeyset = /dev/null\n"

/* --- frame builders ----------------------------------------------- */

struct hello_opts {
	const char *versions;	/* NULL: key absent */
	long long frame_size;	/* < 0: key absent */
	const char *size_key;	/* default "max-frame-size" */
	const char *caps;
	bool healthcheck;
	uint32_t flags;
};

static size_t
build_hello(uint8_t *buf, size_t cap, const struct hello_opts *o)
{
	struct spop_writer w;

	spop_frame_begin(&w, buf, cap, SPOP_FT_HAPROXY_HELLO, 0, 0);
	if (o->versions != NULL)
		spop_put_kv_string(&w, "supported-versions", o->versions,
				   strlen(o->versions));
	if (o->frame_size >= 0)
		spop_put_kv_uint32(&w, o->size_key ? o->size_key :
				   "max-frame-size", (uint32_t)o->frame_size);
	if (o->caps != NULL)
		spop_put_kv_string(&w, "capabilities", o->caps,
				   strlen(o->caps));
	if (o->healthcheck) {
		spop_put_varint(&w, 11);
		memcpy(w.pos, "healthcheck", 11);
		w.pos += 11;
		*w.pos++ = 0x11;
	} else {
		spop_put_kv_string(&w, "engine-id", "0123", 4);
	}
	return spop_frame_end(&w, UINT32_MAX);
}

static size_t
good_hello(uint8_t *buf, size_t cap, long long size)
{
	struct hello_opts o = { "2.0", size, NULL, "pipelining,async",
				false, 0 };

	return build_hello(buf, cap, &o);
}

/* NOTIFY with one message; auth_type 0xff means no auth arg at all. */
static size_t
build_notify(uint8_t *buf, size_t cap, uint64_t sid, uint64_t fid,
	     const char *msg, uint8_t auth_type, const char *auth)
{
	struct spop_writer w;

	spop_frame_begin(&w, buf, cap, SPOP_FT_NOTIFY, sid, fid);
	spop_put_varint(&w, strlen(msg));
	memcpy(w.pos, msg, strlen(msg));
	w.pos += strlen(msg);
	*w.pos++ = auth_type == 0xff ? 1 : 2;

	/* An unrelated argument first: it must be skipped. */
	spop_put_varint(&w, 3);
	memcpy(w.pos, "src", 3);
	w.pos += 3;
	*w.pos++ = SPOP_DT_IPV4;
	memcpy(w.pos, "\x7f\0\0\1", 4);
	w.pos += 4;
	if (auth_type != 0xff) {
		spop_put_varint(&w, 4);
		memcpy(w.pos, "auth", 4);
		w.pos += 4;
		*w.pos++ = auth_type;
		if (auth_type == SPOP_DT_STRING || auth_type == SPOP_DT_BINARY) {
			spop_put_varint(&w, strlen(auth));
			memcpy(w.pos, auth, strlen(auth));
			w.pos += strlen(auth);
		} else if (auth_type == SPOP_DT_INT64) {
			spop_put_varint(&w, 42);
		}
	}
	return spop_frame_end(&w, UINT32_MAX);
}

/* --- driving the state machine ------------------------------------ */

static void
feed(struct es_conn *c, const uint8_t *data, size_t len)
{
	while (len > 0) {
		size_t room = es_conn_in_room(c);
		size_t n = len < room ? len : room;

		assert_true(room > 0);
		memcpy(c->in + c->in_len, data, n);
		c->in_len += n;
		data += n;
		len -= n;
		(void)es_conn_process(c);
	}
}

/* Frames the connection wrote, decoded in order. */
struct out_frame {
	struct spop_frame f;
};

static unsigned
take_frames(struct es_conn *c, struct out_frame *out, unsigned max)
{
	unsigned n = 0;
	size_t pos = c->out_off;

	while (pos < c->out_len && n < max) {
		uint32_t len;

		assert_int_equal(spop_frame_length(c->out + pos,
						   c->out_len - pos, &len), 1);
		assert_true(len <= c->max_frame);
		assert_int_equal(spop_frame_decode(c->out + pos + 4, len,
						   &out[n].f), 0);
		assert_true(out[n].f.flags & SPOP_FL_FIN);
		pos += 4 + len;
		n++;
	}
	assert_int_equal(pos, c->out_len);
	return n;
}

static void
consume_out(struct es_conn *c)
{
	c->out_off = c->out_len = 0;
	c->acks_unflushed = 0;
}

static uint64_t
disconnect_status(const struct out_frame *o)
{
	uint64_t st;
	const uint8_t *msg;
	size_t len;

	assert_int_equal(o->f.type, SPOP_FT_AGENT_DISCONNECT);
	assert_int_equal(spop_disconnect_parse(&o->f, &st, &msg, &len), 0);
	return st;
}

/* The actions of an ACK, as "set:name=value" / "unset:name" strings. */
static unsigned
ack_actions(const struct spop_frame *f, char acts[][128], unsigned max)
{
	const uint8_t *p = f->payload;
	unsigned n = 0;

	while (p < f->end && n < max) {
		uint8_t type = *p++, nb = *p++, scope = *p++;
		const uint8_t *name;
		size_t nlen;
		struct spop_data v;

		assert_int_equal(scope, SPOP_SCOPE_TXN);
		assert_int_equal(spop_string_decode(&p, f->end, &name, &nlen),
				 0);
		if (type == 2) {
			assert_int_equal(nb, 2);
			snprintf(acts[n++], 128, "unset:%.*s", (int)nlen, name);
			continue;
		}
		assert_int_equal(type, 1);
		assert_int_equal(nb, 3);
		assert_int_equal(spop_data_decode(&p, f->end, &v), 0);
		if (v.type == SPOP_DT_BOOL)
			snprintf(acts[n++], 128, "set:%.*s=%s", (int)nlen,
				 name, v.boolean ? "true" : "false");
		else
			snprintf(acts[n++], 128, "set:%.*s=%.*s", (int)nlen,
				 name, (int)(v.len > 40 ? 40 : v.len), v.ptr);
	}
	assert_ptr_equal(p, f->end);
	return n;
}

static int
setup(void **state)
{
	char text[512], err[256];
	struct es_config *cfg;

	snprintf(text, sizeof(text), CFG, 16380u);
	cfg = es_config_parse_string(text, "t.conf", err, sizeof(err));
	assert_non_null(cfg);
	es_snapshot_publish(es_snapshot_wrap(cfg,
		es_validator_new(cfg, err, sizeof(err))));
	es_log_init(ES_LOG_ERROR, ES_LOG_LOGFMT, false);
	*state = es_conn_new(1, -1, 16380);
	assert_non_null(*state);
	return 0;
}

static int
teardown(void **state)
{
	es_conn_free(*state);
	es_snapshot_shutdown();
	return 0;
}

static struct es_conn *
ready_conn(void **state, long long size)
{
	struct es_conn *c = *state;
	uint8_t buf[256];
	struct out_frame o[2];

	feed(c, buf, good_hello(buf, sizeof(buf), size));
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_int_equal(o[0].f.type, SPOP_FT_AGENT_HELLO);
	assert_int_equal(c->state, ES_CONN_READY);
	consume_out(c);
	return c;
}

/* --- tests -------------------------------------------------------- */

static void
hello_negotiates_smaller_size(void **state)
{
	struct es_conn *c = ready_conn(state, 1000);

	assert_int_equal(c->max_frame, 1000);
}

static void
hello_keeps_our_limit(void **state)
{
	struct es_conn *c = ready_conn(state, 60000);

	assert_int_equal(c->max_frame, 16380);
}

static void
hello_refusals(void **state)
{
	static const struct {
		struct hello_opts o;
		uint64_t status;
	} cases[] = {
		{ { "1.0", 16380, NULL, "", false, 0 }, SPOP_ST_BAD_VSN },
		{ { NULL, 16380, NULL, "", false, 0 }, SPOP_ST_NO_VSN },
		{ { "2.0", -1, NULL, "", false, 0 }, SPOP_ST_NO_FRAME_SIZE },
		{ { "2.0", 255, NULL, "", false, 0 }, SPOP_ST_BAD_FRAME_SIZE },
		{ { "2.0", 16380, "max", "", false, 0 },
		  SPOP_ST_NO_FRAME_SIZE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct es_conn *c = es_conn_new(2, -1, 16380);
		uint8_t buf[256];
		struct out_frame o[2];

		feed(c, buf, build_hello(buf, sizeof(buf), &cases[i].o));
		assert_int_equal(take_frames(c, o, 2), 1);
		assert_true(disconnect_status(&o[0]) == cases[i].status);
		assert_int_equal(c->state, ES_CONN_CLOSING);
		es_conn_free(c);
	}
}

static void
healthcheck_hello(void **state)
{
	struct es_conn *c = *state;
	struct hello_opts o = { "2.0", 16380, NULL, "", true, 0 };
	uint8_t buf[256];
	struct out_frame f[2];

	feed(c, buf, build_hello(buf, sizeof(buf), &o));
	assert_int_equal(take_frames(c, f, 2), 1);
	assert_int_equal(f[0].f.type, SPOP_FT_AGENT_HELLO);
	assert_true(c->healthcheck);
	assert_int_equal(c->state, ES_CONN_CLOSING);
}

static void
hello_one_byte_at_a_time(void **state)
{
	struct es_conn *c = *state;
	uint8_t buf[256];
	size_t n = good_hello(buf, sizeof(buf), 16380);
	struct out_frame o[2];

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(c->out_len, 0);
		feed(c, buf + i, 1);
	}
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_int_equal(o[0].f.type, SPOP_FT_AGENT_HELLO);
}

static void
notify_before_hello(void **state)
{
	struct es_conn *c = *state;
	uint8_t buf[256];
	struct out_frame o[2];

	feed(c, buf, build_notify(buf, sizeof(buf), 1, 1, "edgeseal-check",
				  SPOP_DT_STRING, "Bearer good"));
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_true(disconnect_status(&o[0]) == SPOP_ST_INVALID);
}

static void
hello_and_notify_in_one_write(void **state)
{
	struct es_conn *c = *state;
	uint8_t buf[512];
	size_t n = good_hello(buf, sizeof(buf), 16380);
	struct out_frame o[3];
	char acts[8][128];

	n += build_notify(buf + n, sizeof(buf) - n, 0, 1, "edgeseal-check",
			  SPOP_DT_STRING, "Bearer good");
	feed(c, buf, n);
	assert_int_equal(take_frames(c, o, 3), 2);
	assert_int_equal(o[0].f.type, SPOP_FT_AGENT_HELLO);
	assert_int_equal(o[1].f.type, SPOP_FT_ACK);
	assert_true(o[1].f.sid == 0 && o[1].f.fid == 1);
	assert_int_equal(ack_actions(&o[1].f, acts, 8), 5);
	assert_string_equal(acts[0], "set:valid=true");
	assert_string_equal(acts[1], "set:sub=alice");
	assert_string_equal(acts[2], "set:seal=fake.seal.mac");
	assert_string_equal(acts[3], "set:iss=https://idp.test/");
	assert_string_equal(acts[4], "set:kid=k1");
}

static void
notify_outcomes(void **state)
{
	static const struct {
		const char *msg;
		uint8_t type;
		const char *auth;
		const char *want;
	} cases[] = {
		{ "edgeseal-check", SPOP_DT_STRING, "Bearer bad",
		  "set:reason=bad_signature" },
		{ "edgeseal-check", SPOP_DT_BINARY, "Bearer good",
		  "set:valid=true" },
		{ "edgeseal-check", SPOP_DT_NULL, NULL,
		  "set:reason=missing_token" },
		{ "edgeseal-check", 0xff, NULL, "set:reason=missing_token" },
		{ "edgeseal-check", SPOP_DT_INT64, NULL,
		  "set:reason=malformed_token" },
		{ "other-message", SPOP_DT_STRING, "Bearer good",
		  "unset:valid" },
		{ "edgeseal-chec", SPOP_DT_STRING, "Bearer good",
		  "unset:valid" },
	};
	struct es_conn *c = ready_conn(state, 16380);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[256];
		struct out_frame o[2];
		char acts[8][128];
		unsigned n;

		feed(c, buf, build_notify(buf, sizeof(buf), 7, i + 1,
					  cases[i].msg, cases[i].type,
					  cases[i].auth));
		assert_int_equal(take_frames(c, o, 2), 1);
		assert_int_equal(o[0].f.type, SPOP_FT_ACK);
		assert_true(o[0].f.sid == 7 && o[0].f.fid == i + 1);
		n = ack_actions(&o[0].f, acts, 8);
		assert_string_equal(acts[0], cases[i].want);
		/* A failure sets reason and nothing else. */
		if (strncmp(cases[i].want, "set:reason", 10) == 0)
			assert_int_equal(n, 1);
		consume_out(c);
	}
}

static void
notify_with_two_messages_and_none(void **state)
{
	struct es_conn *c = ready_conn(state, 16380);
	uint8_t buf[512];
	struct spop_writer w;
	struct out_frame o[2];
	char acts[8][128];
	size_t n;

	/* Two messages: an unknown one then a check with a bad token. */
	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FT_NOTIFY, 3, 9);
	memcpy(w.pos, "\x05other\x00\x0e" "edgeseal-check\x01\x04" "auth"
	       "\x08\x0a" "Bearer bad", 40);
	w.pos += 40;
	n = spop_frame_end(&w, UINT32_MAX);
	feed(c, buf, n);
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_int_equal(ack_actions(&o[0].f, acts, 8), 2);
	assert_string_equal(acts[0], "unset:valid");
	assert_string_equal(acts[1], "set:reason=bad_signature");
	consume_out(c);

	/* An empty NOTIFY still gets one action. */
	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FT_NOTIFY, 5, 1);
	feed(c, buf, spop_frame_end(&w, UINT32_MAX));
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_int_equal(ack_actions(&o[0].f, acts, 8), 1);
	assert_string_equal(acts[0], "unset:valid");
}

static void
twenty_in_flight(void **state)
{
	struct es_conn *c = ready_conn(state, 16380);
	uint8_t buf[20 * 64];
	size_t n = 0;
	struct out_frame o[21];

	for (unsigned i = 0; i < 20; i++)
		n += build_notify(buf + n, sizeof(buf) - n, 2 * i + 1, 1,
				  "edgeseal-check", SPOP_DT_STRING,
				  i % 2 ? "Bearer good" : "Bearer no");
	feed(c, buf, n);
	assert_int_equal(take_frames(c, o, 21), 20);
	assert_int_equal(c->acks_unflushed, 20);
	for (unsigned i = 0; i < 20; i++) {
		assert_int_equal(o[i].f.type, SPOP_FT_ACK);
		assert_true(o[i].f.sid == 2 * i + 1 && o[i].f.fid == 1);
	}
}

static void
frame_errors(void **state)
{
	static const struct {
		const uint8_t *bytes;
		size_t len;
		uint64_t status;
	} cases[] = {
		{ (const uint8_t *)"\0\0\0\0", 4, SPOP_ST_INVALID },
		{ (const uint8_t *)"\0\0\x40\0", 4, SPOP_ST_TOO_BIG },
		{ (const uint8_t *)"\xff\xff\xff\xff", 4, SPOP_ST_TOO_BIG },
		{ (const uint8_t *)"\0\0\0\7\3\0\0\0\0\1\1", 11,
		  SPOP_ST_FRAG_NOT_SUPPORTED },
		{ (const uint8_t *)"\0\0\0\7\x67\0\0\0\1\1\1", 11,
		  SPOP_ST_INVALID },
		{ (const uint8_t *)"\0\0\0\7\x65\0\0\0\1\0\0", 11,
		  SPOP_ST_INVALID },
		{ (const uint8_t *)"\0\0\0\7\x09\0\0\0\1\0\0", 11,
		  SPOP_ST_INVALID },
		{ (const uint8_t *)"\0\0\0\7\0\0\0\0\1\0\0", 11,
		  SPOP_ST_INVALID },
		{ (const uint8_t *)"\0\0\0\3\1\0\0", 7, SPOP_ST_INVALID },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct es_conn *c = es_conn_new(3, -1, 16380);
		struct out_frame o[2];

		feed(c, cases[i].bytes, cases[i].len);
		assert_int_equal(take_frames(c, o, 2), 1);
		assert_true(disconnect_status(&o[0]) == cases[i].status);
		es_conn_free(c);
	}
}

static void
too_big_after_negotiation(void **state)
{
	struct es_conn *c = ready_conn(state, 300);
	uint8_t buf[512];
	struct out_frame o[2];
	char big[400];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	feed(c, buf, build_notify(buf, sizeof(buf), 1, 1, "edgeseal-check",
				  SPOP_DT_STRING, big));
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_true(disconnect_status(&o[0]) == SPOP_ST_TOO_BIG);
}

static void
answer_too_large_for_frame(void **state)
{
	struct es_conn *c = ready_conn(state, 256);
	uint8_t buf[256];
	struct out_frame o[2];
	char acts[8][128];

	feed(c, buf, build_notify(buf, sizeof(buf), 1, 1, "edgeseal-check",
				  SPOP_DT_STRING, "Bearer big"));
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_int_equal(ack_actions(&o[0].f, acts, 8), 1);
	assert_string_equal(acts[0], "set:reason=internal_error");
}

static void
haproxy_disconnect(void **state)
{
	struct es_conn *c = ready_conn(state, 16380);
	uint8_t buf[128];
	struct spop_writer w;
	struct out_frame o[2];

	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FT_HAPROXY_DISCONNECT, 0,
			 0);
	spop_put_kv_uint32(&w, "status-code", 2);
	spop_put_kv_string(&w, "message", "a timeout occurred", 18);
	feed(c, buf, spop_frame_end(&w, UINT32_MAX));
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_true(disconnect_status(&o[0]) == 0);
	assert_int_equal(c->state, ES_CONN_CLOSING);
}

static void
malformed_notify(void **state)
{
	struct es_conn *c = ready_conn(state, 16380);
	/* nb-args 2, one present */
	static const uint8_t bad[] = { 0, 0, 0, 13, 3, 0, 0, 0, 1, 1, 1,
				       1, 'm', 2, 1, 'a', 0 };
	struct out_frame o[2];

	feed(c, bad, sizeof(bad));
	assert_int_equal(take_frames(c, o, 2), 1);
	assert_true(disconnect_status(&o[0]) == SPOP_ST_INVALID);
}

static void
back_pressure(void **state)
{
	struct es_conn *c = ready_conn(state, 256);
	uint8_t buf[60 * 64];
	size_t n = 0;
	struct out_frame o[61];
	unsigned answered = 0;

	for (unsigned i = 0; i < 60; i++)
		n += build_notify(buf + n, sizeof(buf) - n, i, 1,
				  "edgeseal-check", SPOP_DT_STRING,
				  "Bearer good");
	feed(c, buf, n);

	/* The output queue stops the loop well before all 60 answers. */
	for (int round = 0; round < 100 && answered < 60; round++) {
		unsigned got = take_frames(c, o, 61);

		assert_true(c->out_len <= 5 * (256 + 4));
		for (unsigned i = 0; i < got; i++)
			assert_true(o[i].f.sid == answered + i);
		answered += got;
		consume_out(c);
		(void)es_conn_process(c);
		if (round == 0)
			assert_true(answered < 60);
	}
	assert_int_equal(answered, 60);
	assert_int_equal(c->in_len, 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(hello_negotiates_smaller_size),
		T(hello_keeps_our_limit),
		T(hello_refusals),
		T(healthcheck_hello),
		T(hello_one_byte_at_a_time),
		T(notify_before_hello),
		T(hello_and_notify_in_one_write),
		T(notify_outcomes),
		T(notify_with_two_messages_and_none),
		T(twenty_in_flight),
		T(frame_errors),
		T(too_big_after_negotiation),
		T(answer_too_large_for_frame),
		T(haproxy_disconnect),
		T(malformed_notify),
		T(back_pressure),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
