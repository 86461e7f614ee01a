/*
 * test_spop.c: the SPOP codec against the worked examples of
 * HAProxy captures (varints, the captured NOTIFY, the ACK bytes) and against
 * malformed input: every decoder must refuse without reading past end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spop.h"

struct varint_case {
	uint64_t value;
	size_t len;
	uint8_t bytes[SPOP_VARINT_MAX];
};

static const struct varint_case varints[] = {
	{ 0, 1, { 0x00 } },
	{ 239, 1, { 0xef } },
	{ 240, 2, { 0xf0, 0x00 } },
	{ 300, 2, { 0xfc, 0x03 } },
	{ 2287, 2, { 0xff, 0x7f } },
	{ 2288, 3, { 0xf0, 0x80, 0x00 } },
	{ 16380, 3, { 0xfc, 0xf0, 0x06 } },
	{ UINT64_MAX - 4, 10,
	  { 0xfb, 0xf0, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0x0e } },
};

/* Copy into an exact-size heap buffer so ASan catches any over-read. */
static uint8_t *
exact(const void *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, src, len);
	return p;
}

static void
varint_encode_examples(void **state)
{
	for (size_t i = 0; i < sizeof(varints) / sizeof(varints[0]); i++) {
		uint8_t buf[16];
		struct spop_writer w = { buf, buf, buf + sizeof(buf), false };

		spop_put_varint(&w, varints[i].value);
		assert_false(w.failed);
		assert_int_equal(w.pos - buf, varints[i].len);
		assert_memory_equal(buf, varints[i].bytes, varints[i].len);
		assert_int_equal(spop_varint_size(varints[i].value),
				 varints[i].len);
	}
}

static void
varint_decode_examples(void **state)
{
	for (size_t i = 0; i < sizeof(varints) / sizeof(varints[0]); i++) {
		uint8_t *in = exact(varints[i].bytes, varints[i].len);
		const uint8_t *p = in;
		uint64_t v = 1234;

		assert_int_equal(spop_varint_decode(&p, in + varints[i].len,
						    &v), 0);
		assert_true(v == varints[i].value);
		assert_ptr_equal(p, in + varints[i].len);

		/* Every strict prefix is truncated: refused, cursor kept. */
		for (size_t n = 0; n < varints[i].len; n++) {
			p = in;
			assert_int_equal(spop_varint_decode(&p, in + n, &v), -1);
			assert_ptr_equal(p, in);
		}
		free(in);
	}
}

static void
varint_roundtrip(void **state)
{
	uint64_t vals[] = { 1, 127, 128, 241, 264431, 264432, 33818863,
			    33818864, 4328786159ull, 4328786160ull,
			    UINT64_MAX, UINT64_MAX / 3 };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[16];
		struct spop_writer w = { buf, buf, buf + sizeof(buf), false };
		const uint8_t *p = buf;
		uint64_t v;

		spop_put_varint(&w, vals[i]);
		assert_int_equal(spop_varint_decode(&p, w.pos, &v), 0);
		assert_true(v == vals[i]);
		assert_ptr_equal(p, w.pos);
	}
}

static void
varint_too_long_or_overflow(void **state)
{
	/* 11 bytes: ten continuation bytes. */
	static const uint8_t eleven[] = { 0xf0, 0x80, 0x80, 0x80, 0x80, 0x80,
					  0x80, 0x80, 0x80, 0x80, 0x00 };
	/* 10 bytes whose last byte pushes past 2^64. */
	static const uint8_t overflow[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0x7f };
	/* UINT64_MAX itself is fine: the limit is exact. */
	uint8_t buf[16];
	struct spop_writer w = { buf, buf, buf + sizeof(buf), false };
	const uint8_t *p;
	uint64_t v;

	p = eleven;
	assert_int_equal(spop_varint_decode(&p, eleven + sizeof(eleven), &v),
			 -1);
	assert_ptr_equal(p, eleven);
	p = overflow;
	assert_int_equal(spop_varint_decode(&p, overflow + sizeof(overflow),
					    &v), -1);

	spop_put_varint(&w, UINT64_MAX);
	p = buf;
	assert_int_equal(w.pos - buf, 10);
	assert_int_equal(spop_varint_decode(&p, w.pos, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void
varint_encode_no_room(void **state)
{
	uint8_t buf[2] = { 0xaa, 0xaa };
	struct spop_writer w = { buf, buf, buf + 1, false };

	spop_put_varint(&w, 300);
	assert_true(w.failed);
	assert_int_equal(buf[1], 0xaa);
}

/* The captured 2.6 NOTIFY captured from HAProxy 2.6.12 (first three args). */
static const uint8_t captured_notify[] = {
	0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
	0x09, 'c', 'h', 'e', 'c', 'k', '-', 'j', 'w', 't', 0x03,
	0x04, 'a', 'u', 't', 'h',
	0x08, 0x12, 'B', 'e', 'a', 'r', 'e', 'r', ' ', 'a', 'b', 'c', '.',
	'd', 'e', 'f', '.', 'g', 'h', 'i',
	0x03, 's', 'r', 'c', 0x06, 0x7f, 0x00, 0x00, 0x01,
	0x02, 's', 'z', 0x04, 0x01,
};

static void
notify_captured(void **state)
{
	uint8_t *in = exact(captured_notify, sizeof(captured_notify));
	struct spop_frame f;
	struct spop_msg m;
	struct spop_arg a;
	const uint8_t *p;

	assert_int_equal(spop_frame_decode(in, sizeof(captured_notify), &f),
			 0);
	assert_int_equal(f.type, SPOP_FT_NOTIFY);
	assert_int_equal(f.flags, SPOP_FL_FIN);
	assert_true(f.sid == 0 && f.fid == 1);

	p = f.payload;
	assert_int_equal(spop_msg_next(&p, f.end, &m), 1);
	assert_int_equal(m.name_len, 9);
	assert_memory_equal(m.name, "check-jwt", 9);
	assert_int_equal(m.nb_args, 3);

	assert_int_equal(spop_arg_next(&m, &a), 1);
	assert_memory_equal(a.name, "auth", 4);
	assert_int_equal(a.value.type, SPOP_DT_STRING);
	assert_int_equal(a.value.len, 18);
	assert_memory_equal(a.value.ptr, "Bearer abc.def.ghi", 18);

	assert_int_equal(spop_arg_next(&m, &a), 1);
	assert_int_equal(a.value.type, SPOP_DT_IPV4);
	assert_int_equal(a.value.len, 4);
	assert_int_equal(a.value.ptr[0], 0x7f);

	assert_int_equal(spop_arg_next(&m, &a), 1);
	assert_int_equal(a.value.type, SPOP_DT_INT64);
	assert_true(a.value.u64 == 1);
	assert_int_equal(spop_arg_next(&m, &a), 0);
	assert_int_equal(spop_msg_next(&p, f.end, &m), 0);

	/* Cut anywhere inside the payload: the message is refused. */
	for (size_t n = 7; n < sizeof(captured_notify); n++) {
		uint8_t *cut = exact(captured_notify, n);

		assert_int_equal(spop_frame_decode(cut, n, &f), 0);
		p = f.payload;
		assert_int_equal(spop_msg_next(&p, f.end, &m),
				 n == 7 ? 0 : -1);
		free(cut);
	}
	free(in);
}

static void
notify_nb_args_too_large(void **state)
{
	/* Says 2 args, carries 1. */
	static const uint8_t body[] = { 0x03, 0, 0, 0, 1, 0x05, 0x01,
					0x01, 'm', 0x02,
					0x01, 'a', 0x00 };
	uint8_t *in = exact(body, sizeof(body));
	struct spop_frame f;
	struct spop_msg m;
	const uint8_t *p;

	assert_int_equal(spop_frame_decode(in, sizeof(body), &f), 0);
	p = f.payload;
	assert_int_equal(spop_msg_next(&p, f.end, &m), -1);
	assert_ptr_equal(p, f.payload);
	free(in);
}

static void
string_length_past_end(void **state)
{
	/* Length 5 with 2 bytes left; and a length that wraps a pointer. */
	static const uint8_t shortstr[] = { 0x05, 'a', 'b' };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0x0f, 'x' };
	uint8_t *in = exact(shortstr, sizeof(shortstr));
	uint8_t *in2 = exact(huge, sizeof(huge));
	const uint8_t *p = in, *s;
	size_t len;

	assert_int_equal(spop_string_decode(&p, in + sizeof(shortstr), &s,
					    &len), -1);
	assert_ptr_equal(p, in);
	p = in2;
	assert_int_equal(spop_string_decode(&p, in2 + sizeof(huge), &s, &len),
			 -1);
	free(in);
	free(in2);
}

static void
typed_data_kinds(void **state)
{
	static const uint8_t data[] = {
		0x00,				/* NULL */
		0x11,				/* BOOL true */
		0x01,				/* BOOL false */
		0x02, 0xfc, 0x03,		/* INT32 300 */
		0x03, 0x05,			/* UINT32 5 */
		0x04, 0xef,			/* INT64 239 */
		0x05, 0xf0, 0x00,		/* UINT64 240 */
		0x06, 10, 0, 0, 1,		/* IPV4 */
		0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x08, 0x00,			/* empty STRING */
		0x09, 0x02, 0xde, 0xad,		/* BINARY */
	};
	static const enum spop_data_type want[] = {
		SPOP_DT_NULL, SPOP_DT_BOOL, SPOP_DT_BOOL, SPOP_DT_INT32,
		SPOP_DT_UINT32, SPOP_DT_INT64, SPOP_DT_UINT64, SPOP_DT_IPV4,
		SPOP_DT_IPV6, SPOP_DT_STRING, SPOP_DT_BINARY,
	};
	uint8_t *in = exact(data, sizeof(data));
	const uint8_t *p = in, *end = in + sizeof(data);
	struct spop_data d[11];

	for (size_t i = 0; i < 11; i++) {
		assert_int_equal(spop_data_decode(&p, end, &d[i]), 0);
		assert_int_equal(d[i].type, want[i]);
	}
	assert_ptr_equal(p, end);
	assert_true(d[1].boolean);
	assert_false(d[2].boolean);
	assert_true(d[3].u64 == 300 && d[4].u64 == 5 && d[5].u64 == 239 &&
		    d[6].u64 == 240);
	assert_int_equal(d[7].len, 4);
	assert_int_equal(d[8].len, 16);
	assert_int_equal(d[9].len, 0);
	assert_int_equal(d[10].len, 2);
	assert_int_equal(d[10].ptr[1], 0xad);
	free(in);
}

static void
typed_data_bad(void **state)
{
	static const uint8_t reserved[] = { 0x0a, 0x00 };
	static const uint8_t short_ipv6[] = { 0x07, 1, 2, 3 };
	static const uint8_t short_ipv4[] = { 0x06, 1, 2, 3 };
	static const uint8_t int_cut[] = { 0x04, 0xf0 };
	const uint8_t *cases[] = { reserved, short_ipv6, short_ipv4, int_cut };
	size_t lens[] = { 2, 4, 4, 2 };
	struct spop_data d;

	for (size_t i = 0; i < 4; i++) {
		uint8_t *in = exact(cases[i], lens[i]);
		const uint8_t *p = in;

		assert_int_equal(spop_data_decode(&p, in + lens[i], &d), -1);
		assert_ptr_equal(p, in);
		free(in);
	}
}

/* A worked ACK (sid 5, fid 1, valid + sub), byte for byte. */
static void
ack_worked_example(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x1f, 0x67, 0x00, 0x00, 0x00, 0x01, 0x05,
		0x01,
		0x01, 0x03, 0x02, 0x05, 'v', 'a', 'l', 'i', 'd', 0x11,
		0x01, 0x03, 0x02, 0x03, 's', 'u', 'b', 0x08, 0x05,
		'a', 'l', 'i', 'c', 'e',
	};
	uint8_t buf[64];
	struct spop_writer w;

	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FT_ACK, 5, 1);
	spop_put_set_var_bool(&w, SPOP_SCOPE_TXN, "valid", true);
	spop_put_set_var_string(&w, SPOP_SCOPE_TXN, "sub", "alice", 5);
	assert_int_equal(spop_frame_end(&w, 16380), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	/* Too small for the negotiated size, or for the buffer: refused. */
	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FT_ACK, 5, 1);
	spop_put_set_var_bool(&w, SPOP_SCOPE_TXN, "valid", true);
	spop_put_set_var_string(&w, SPOP_SCOPE_TXN, "sub", "alice", 5);
	assert_int_equal(spop_frame_end(&w, 30), 0);
	spop_frame_begin(&w, buf, 20, SPOP_FT_ACK, 5, 1);
	spop_put_set_var_string(&w, SPOP_SCOPE_TXN, "sub", "alice", 5);
	spop_put_set_var_bool(&w, SPOP_SCOPE_TXN, "valid", true);
	assert_int_equal(spop_frame_end(&w, 16380), 0);
}

static void
unset_var_encoding(void **state)
{
	static const uint8_t want[] = { 0x02, 0x02, 0x02, 0x05,
					'v', 'a', 'l', 'i', 'd' };
	uint8_t buf[64];
	struct spop_writer w;
	size_t n;

	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FT_ACK, 0, 1);
	spop_put_unset_var(&w, SPOP_SCOPE_TXN, "valid");
	n = spop_frame_end(&w, 16380);
	assert_int_equal(n, 11 + sizeof(want));
	assert_memory_equal(buf + 11, want, sizeof(want));
}

/* Build a HELLO body from KV bytes. */
static size_t
hello_body(uint8_t *buf, const uint8_t *kv, size_t kvlen)
{
	static const uint8_t head[] = { 0x01, 0, 0, 0, 1, 0, 0 };

	memcpy(buf, head, sizeof(head));
	memcpy(buf + sizeof(head), kv, kvlen);
	return sizeof(head) + kvlen;
}

static void
hello_parse_normal_and_check(void **state)
{
	static const uint8_t kv[] = {
		18, 's', 'u', 'p', 'p', 'o', 'r', 't', 'e', 'd', '-',
		'v', 'e', 'r', 's', 'i', 'o', 'n', 's',
		0x08, 9, ' ', '1', '.', '0', ',', ' ', '2', '.', '0',
		14, 'm', 'a', 'x', '-', 'f', 'r', 'a', 'm', 'e', '-',
		's', 'i', 'z', 'e', 0x03, 0xfc, 0xf0, 0x06,
		12, 'c', 'a', 'p', 'a', 'b', 'i', 'l', 'i', 't', 'i', 'e', 's',
		0x08, 16, 'p', 'i', 'p', 'e', 'l', 'i', 'n', 'i', 'n', 'g',
		',', 'a', 's', 'y', 'n', 'c',
		11, 'h', 'e', 'a', 'l', 't', 'h', 'c', 'h', 'e', 'c', 'k',
		0x11,
	};
	uint8_t buf[256];
	size_t n = hello_body(buf, kv, sizeof(kv));
	uint8_t *in = exact(buf, n);
	struct spop_frame f;
	struct spop_hello h;

	assert_int_equal(spop_frame_decode(in, n, &f), 0);
	assert_int_equal(spop_hello_parse(&f, &h), SPOP_ST_NONE);
	assert_true(h.has_version);
	assert_true(h.has_frame_size);
	assert_true(h.frame_size == 16380);
	assert_true(h.pipelining);
	assert_true(h.healthcheck);
	assert_false(h.has_engine_id);
	free(in);
}

static void
hello_prefix_key_is_not_a_key(void **state)
{
	/* "max" carries a size, "supported" a version: neither counts. */
	static const uint8_t kv[] = {
		9, 's', 'u', 'p', 'p', 'o', 'r', 't', 'e', 'd',
		0x08, 3, '2', '.', '0',
		3, 'm', 'a', 'x', 0x03, 0xfc, 0xf0, 0x06,
	};
	uint8_t buf[128];
	size_t n = hello_body(buf, kv, sizeof(kv));
	struct spop_frame f;
	struct spop_hello h;

	assert_int_equal(spop_frame_decode(buf, n, &f), 0);
	assert_int_equal(spop_hello_parse(&f, &h), SPOP_ST_NONE);
	assert_false(h.has_version);
	assert_false(h.has_frame_size);
}

static void
versions_list(void **state)
{
	assert_true(spop_versions_has_2_0((const uint8_t *)"2.0", 3));
	assert_true(spop_versions_has_2_0((const uint8_t *)" 1.0 ,2.0 ", 10));
	assert_true(spop_versions_has_2_0((const uint8_t *)"2 . 0", 5));
	assert_false(spop_versions_has_2_0((const uint8_t *)"1.0", 3));
	assert_false(spop_versions_has_2_0((const uint8_t *)"2.01", 4));
	assert_false(spop_versions_has_2_0((const uint8_t *)"12.0", 4));
	assert_false(spop_versions_has_2_0((const uint8_t *)"", 0));
	assert_false(spop_versions_has_2_0((const uint8_t *)",,", 2));
}

static void
agent_hello_bytes(void **state)
{
	uint8_t buf[128];
	size_t n = spop_agent_hello(buf, sizeof(buf), 16380);
	struct spop_frame f;
	const uint8_t *p;
	const uint8_t *k;
	size_t klen;
	struct spop_data v;
	unsigned seen = 0;

	assert_true(n > 4);
	assert_int_equal(buf[3] + 4, n);
	assert_int_equal(spop_frame_decode(buf + 4, n - 4, &f), 0);
	assert_int_equal(f.type, SPOP_FT_AGENT_HELLO);
	assert_int_equal(f.flags, SPOP_FL_FIN);
	assert_true(f.sid == 0 && f.fid == 0);

	p = f.payload;
	while (p < f.end) {
		assert_int_equal(spop_string_decode(&p, f.end, &k, &klen), 0);
		assert_int_equal(spop_data_decode(&p, f.end, &v), 0);
		if (klen == 7 && memcmp(k, "version", 7) == 0) {
			assert_int_equal(v.len, 3);
			assert_memory_equal(v.ptr, "2.0", 3);
			seen |= 1;
		} else if (klen == 14) {
			assert_int_equal(v.type, SPOP_DT_UINT32);
			assert_true(v.u64 == 16380);
			seen |= 2;
		} else if (klen == 12) {
			assert_int_equal(v.len, 10);
			assert_memory_equal(v.ptr, "pipelining", 10);
			seen |= 4;
		}
	}
	assert_int_equal(seen, 7);
	assert_int_equal(spop_agent_hello(buf, 10, 16380), 0);
}

static void
disconnect_roundtrip(void **state)
{
	uint8_t buf[128];
	size_t n = spop_agent_disconnect(buf, sizeof(buf), SPOP_ST_TOO_BIG,
					 "frame too big");
	struct spop_frame f;
	uint64_t st;
	const uint8_t *msg;
	size_t mlen;

	assert_true(n > 4);
	assert_int_equal(spop_frame_decode(buf + 4, n - 4, &f), 0);
	assert_int_equal(f.type, SPOP_FT_AGENT_DISCONNECT);
	assert_int_equal(spop_disconnect_parse(&f, &st, &msg, &mlen),
			 SPOP_ST_NONE);
	assert_true(st == 3);
	assert_int_equal(mlen, 13);
	assert_memory_equal(msg, "frame too big", 13);
}

static void
frame_header_bad(void **state)
{
	static const uint8_t cut_ids[] = { 0x03, 0, 0, 0, 1, 0xf0 };
	struct spop_frame f;
	uint32_t len;
	uint8_t *in = exact(cut_ids, sizeof(cut_ids));

	assert_int_equal(spop_frame_decode(in, 4, &f), -1);
	assert_int_equal(spop_frame_decode(in, sizeof(cut_ids), &f), -1);
	assert_int_equal(spop_frame_length(in, 3, &len), 0);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(varint_encode_examples),
		cmocka_unit_test(varint_decode_examples),
		cmocka_unit_test(varint_roundtrip),
		cmocka_unit_test(varint_too_long_or_overflow),
		cmocka_unit_test(varint_encode_no_room),
		cmocka_unit_test(notify_captured),
		cmocka_unit_test(notify_nb_args_too_large),
		cmocka_unit_test(string_length_past_end),
		cmocka_unit_test(typed_data_kinds),
		cmocka_unit_test(typed_data_bad),
		cmocka_unit_test(ack_worked_example),
		cmocka_unit_test(unset_var_encoding),
		cmocka_unit_test(hello_parse_normal_and_check),
		cmocka_unit_test(hello_prefix_key_is_not_a_key),
		cmocka_unit_test(versions_list),
		cmocka_unit_test(agent_hello_bytes),
		cmocka_unit_test(disconnect_roundtrip),
		cmocka_unit_test(frame_header_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
