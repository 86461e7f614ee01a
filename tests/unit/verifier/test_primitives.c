/*
 * test_primitives.c: HMAC-SHA256 against RFC 4231, strict base64url,
 * the reason table, subjects, the strict JSON object loader and its
 * nesting limit, and fingerprints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base64url.h"
#include "internal.h"

static void
hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* RFC 4231 section 4: test cases 1-4, 6 and 7 (5 is truncated). */
static void
test_hmac_rfc4231(void **state)
{
	static const char tc7[] =
		"This is a test using a larger than block-size key and a "
		"larger than block-size data. The key needs to be hashed "
		"before being used by the HMAC algorithm.";
	uint8_t k1[20], k3[20], d3[50], k4[25], d4[50], k6[131], mac[32];
	char hex[65];
	struct {
		const uint8_t *key;
		size_t key_len;
		const void *data;
		size_t data_len;
		const char *want;
	} cases[] = {
		{ k1, 20, "Hi There", 8, "b0344c61d8db38535ca8afceaf0bf12b"
		  "881dc200c9833da726e9376c2e32cff7" },
		{ (const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
		  28, "5bdcc146bf60754e6a042426089575c7"
		  "5a003f089d2739839dec58b964ec3843" },
		{ k3, 20, d3, 50, "773ea91e36800e46854db8ebd09181a7"
		  "2959098b3ef8c122d9635514ced565fe" },
		{ k4, 25, d4, 50, "82558a389a443c0ea4cc819899f2083a"
		  "85f0faa3e578f8077a2e3ff46729665b" },
		{ k6, 131, "Test Using Larger Than Block-Size Key - Hash Key "
		  "First", 54, "60e431591ee0b67f0d8a26aacbf5b77f"
		  "8e0bc6213728c5140546040f0ee37f54" },
		{ k6, 131, tc7, sizeof(tc7) - 1,
		  "9b09ffa71b942fcb27635fbcd5b0e944"
		  "bfdc63644f0713938a7f51535c3a35e2" },
	};

	(void)state;
	memset(k1, 0x0b, sizeof(k1));
	memset(k3, 0xaa, sizeof(k3));
	memset(d3, 0xdd, sizeof(d3));
	for (int i = 0; i < 25; i++)
		k4[i] = (uint8_t)(i + 1);
	memset(d4, 0xcd, sizeof(d4));
	memset(k6, 0xaa, sizeof(k6));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(edgeseal__hmac_sha256(cases[i].key,
			cases[i].key_len, cases[i].data, cases[i].data_len,
			mac), 0);
		hex_of(mac, 32, hex);
		assert_string_equal(hex, cases[i].want);
	}
}

static void
test_mac_equal(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	memset(a, 7, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(edgeseal__mac_equal(a, 32, b, 32));
	assert_false(edgeseal__mac_equal(a, 32, b, 31));
	assert_false(edgeseal__mac_equal(a, 0, b, 0));
	b[31] ^= 1;
	assert_false(edgeseal__mac_equal(a, 32, b, 32));
}

/* Decode text and compare to want (hex); want NULL: must be refused. */
static void
check_decode(const char *text, const char *want)
{
	uint8_t out[64];
	char hex[129];
	size_t len = 0;
	int rc = edgeseal__b64url_decode(text, strlen(text), out, sizeof(out),
					 &len);

	if (want == NULL) {
		assert_int_equal(rc, -1);
		return;
	}
	assert_int_equal(rc, 0);
	hex_of(out, len, hex);
	hex[2 * len] = '\0';
	assert_string_equal(hex, want);
}

static void
test_b64url_decode(void **state)
{
	(void)state;
	check_decode("", "");
	check_decode("Zg", "66");
	check_decode("Zm8", "666f");
	check_decode("Zm9v", "666f6f");
	check_decode("-_-_", "fbffbf");
	check_decode("_w", "ff");

	/* Non-canonical: padding, unused bits set, wrong alphabet, length. */
	check_decode("Zg==", NULL);
	check_decode("Zh", NULL);		/* 'h' leaves a low bit set */
	check_decode("Zm9", NULL);		/* '9' leaves low bits set */
	check_decode("Z", NULL);
	check_decode("Zm9v+A", NULL);
	check_decode("Zm9v/w", NULL);
	check_decode("Zm 9v", NULL);
	check_decode("Zm9v\n", NULL);
}

static void
test_b64url_roundtrip(void **state)
{
	uint8_t in[40], back[40];
	char text[64];
	size_t n, len;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (n = 0; n <= sizeof(in); n++) {
		assert_int_equal(edgeseal__b64url_encode(in, n, text),
				 edgeseal__b64url_encoded_len(n));
		assert_int_equal(edgeseal__b64url_decode(text, strlen(text),
			back, sizeof(back), &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(in, back, n);
		assert_true(edgeseal__b64url_decoded_max(strlen(text)) >= n);
	}

	/* A cap one byte short is refused rather than overrun. */
	edgeseal__b64url_encode(in, 30, text);
	assert_int_equal(edgeseal__b64url_decode(text, 40, back, 29, &len),
			 -1);
}

static void
test_reason_table(void **state)
{
	(void)state;
	for (int r = 0; r < EDGESEAL_REASON_COUNT; r++)
		assert_int_equal(edgeseal_reason_from_str(
			edgeseal_reason_str((enum edgeseal_reason)r)), r);
	assert_string_equal(edgeseal_reason_str(EDGESEAL_BAD_SIGNATURE),
			    "bad_signature");
	assert_string_equal(edgeseal_reason_str(EDGESEAL_KEY_RESTRICTED),
			    "key_restricted");
	assert_string_equal(edgeseal_reason_str(EDGESEAL_REASON_COUNT),
			    "internal_error");
	assert_int_equal(edgeseal_reason_from_str("nope"),
			 EDGESEAL_REASON_COUNT);
}

static void
test_subject_rules(void **state)
{
	char long_sub[300];

	(void)state;
	assert_true(edgeseal__subject_ok("alice", 5));
	assert_true(edgeseal__subject_ok("j\xc3\xb6rg", 5));
	assert_false(edgeseal__subject_ok("", 0));
	assert_false(edgeseal__subject_ok("a,b", 3));
	assert_false(edgeseal__subject_ok("a\nb", 3));
	assert_false(edgeseal__subject_ok(" admin", 6));
	assert_false(edgeseal__subject_ok("admin ", 6));
	assert_false(edgeseal__subject_ok(" ", 1));
	assert_true(edgeseal__subject_ok("Ada Lovelace", 12));

	/* Other space a trim takes off, at either end; C1 controls anywhere. */
	assert_false(edgeseal__subject_ok("alice\xc2\xa0", 7));	  /* NBSP */
	assert_false(edgeseal__subject_ok("\xe3\x80\x80" "alice", 8)); /* U+3000 */
	assert_false(edgeseal__subject_ok("alice\xe2\x80\x83", 8));	  /* U+2003 */
	assert_false(edgeseal__subject_ok("alice\xe2\x80\x8b", 8));	  /* ZWSP */
	assert_false(edgeseal__subject_ok("\xef\xbb\xbf" "alice", 8)); /* BOM */
	assert_false(edgeseal__subject_ok("alice\xe2\x80\xa8", 8));	  /* LS */
	assert_false(edgeseal__subject_ok("a\xc2\x85" "b", 4));	  /* NEL */
	assert_false(edgeseal__subject_ok("a\xc2\x9f" "b", 4));	  /* C1 */
	assert_true(edgeseal__subject_ok("a\xc2\xa0" "b", 4));	  /* inside */

	/* Line breaks and bidirectional controls anywhere (red team 5). */
	assert_false(edgeseal__subject_ok("a\xe2\x80\xae" "b", 5)); /* RLO */
	assert_false(edgeseal__subject_ok("a\xe2\x80\xa8" "b", 5)); /* LS */
	assert_false(edgeseal__subject_ok("a\xe2\x80\x8f" "b", 5)); /* RLM */
	assert_false(edgeseal__subject_ok("a\xe2\x81\xa6" "b", 5)); /* LRI */
	assert_false(edgeseal__subject_ok("a\xd8\x9c" "b", 4));	    /* ALM */
	assert_true(edgeseal__subject_ok("a\xe2\x80\xa7" "b", 5));  /* U+2027 */
	/* Invisible format characters inside too (red team 7), except the
	 * joiners that Persian and Indic names need. */
	assert_false(edgeseal__subject_ok("a\xe2\x80\x8b" "b", 5)); /* ZWSP */
	assert_false(edgeseal__subject_ok("a\xc2\xad" "b", 4));	    /* SHY */
	assert_false(edgeseal__subject_ok("a\xe2\x81\xa4" "b", 5)); /* U+2064 */
	assert_false(edgeseal__subject_ok("a\xef\xbb\xbf" "b", 5)); /* BOM */
	assert_false(edgeseal__subject_ok("a\xf3\xa0\x80\x81" "b", 6)); /* tag */
	assert_true(edgeseal__subject_ok("a\xe2\x80\x8c" "b", 5));  /* ZWNJ */
	assert_true(edgeseal__subject_ok("a\xe2\x80\x8d" "b", 5));  /* ZWJ */
	assert_true(edgeseal__subject_ok("a\xe2\x81\xaa" "b", 5));  /* U+206A */
	assert_true(edgeseal__subject_ok("\xd8\xb9\xd9\x84\xd9\x8a", 6));
	assert_true(edgeseal__subject_ok("a\xc2\xa1", 3));		  /* U+00A1 */
	assert_true(edgeseal__subject_ok("\xe5\xb1\xb1\xe7\x94\xb0", 6));
	assert_false(edgeseal__subject_ok("a\0b", 3));
	assert_false(edgeseal__subject_ok("a\x7f", 2));
	assert_false(edgeseal__subject_ok("\xc3", 1));
	assert_false(edgeseal__subject_ok("\xc0\xaf", 2));
	assert_false(edgeseal__subject_ok("\xed\xa0\x80", 3));

	memset(long_sub, 'a', sizeof(long_sub));
	assert_true(edgeseal__subject_ok(long_sub, 256));
	assert_false(edgeseal__subject_ok(long_sub, 257));
}

static void
test_json_quote(void **state)
{
	char buf[32];
	size_t pos = 0;

	(void)state;
	assert_int_equal(edgeseal__json_quote(buf, sizeof(buf), &pos,
					      "a\"b\\c\n\x01", 7), 0);
	assert_int_equal(pos, 17);
	assert_memory_equal(buf, "\"a\\\"b\\\\c\\n\\u0001\"", 17);

	/* Too small: refused, position unchanged. */
	pos = 0;
	assert_int_equal(edgeseal__json_quote(buf, 4, &pos, "abcd", 4), -1);
	assert_int_equal(pos, 0);
	assert_int_equal(edgeseal__json_quote(buf, 32, &pos, "\xff", 1), -1);
}

/* What edgeseal__json_object_load says about text. */
static enum edgeseal_reason
load(const char *text)
{
	enum edgeseal_reason why = EDGESEAL_OK;
	json_t *obj = edgeseal__json_object_load(text, strlen(text), &why);

	if (obj != NULL && why != EDGESEAL_OK)
		fail_msg("%s: an object and a reason", text);
	json_decref(obj);
	return why;
}

static void
test_json_load(void **state)
{
	static const char *const bad[] = {
		"", "[]", "1", "\"s\"", "{", "{\"a\"}", "{\"a\":}",
		"{\"a\":1,}", "{,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
		"{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}",
		"{\"a\":\"\\u0000\"}", "{\"a\\u0000\":1}",
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\t\"}", "{\"a\":\"\xff\"}",
		"{\"a\":\"\xc0\xaf\"}", "{\"a\":9223372036854775808}",
		"{\"a\":1e400}", "{} x", "{'a':1}", "\xef\xbb\xbf{}",
	};

	(void)state;
	assert_int_equal(load(" {\"a\" : \"x\\u00e9\\ud83d\\ude00\", "
			      "\"b\":-12,\"c\":[1,{\"d\":null}],\"e\":1.5e3,"
			      "\"f\":-9223372036854775808} "), EDGESEAL_OK);
	assert_int_equal(load("{}"), EDGESEAL_OK);

	/* Names compare decoded: "\u0073ub" is "sub". Any depth counts. */
	assert_int_equal(load("{\"sub\":1,\"\\u0073ub\":2}"),
			 EDGESEAL_DUPLICATE_MEMBER);
	assert_int_equal(load("{\"a\":{\"b\":1,\"b\":2}}"),
			 EDGESEAL_DUPLICATE_MEMBER);
	assert_int_equal(load("{\"a\":[{\"b\":1,\"b\":2}]}"),
			 EDGESEAL_DUPLICATE_MEMBER);
	assert_int_equal(load("{\"a\":{\"b\":1},\"c\":{\"b\":2}}"),
			 EDGESEAL_OK);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (load(bad[i]) != EDGESEAL_MALFORMED_TOKEN)
			fail_msg("accepted %s", bad[i]);
}

/* {"a": followed by n arrays or objects (alternating), then 1. */
static json_t *
nested(int n)
{
	char text[512];
	size_t at = 0;
	enum edgeseal_reason why;
	json_t *obj;

	at += (size_t)snprintf(text, sizeof(text), "{\"a\":");
	for (int i = 0; i < n; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%s",
				       i % 2 ? "{\"b\":" : "[");
	text[at++] = '1';
	for (int i = n - 1; i >= 0; i--)
		text[at++] = i % 2 ? '}' : ']';
	text[at++] = '}';
	obj = edgeseal__json_object_load(text, at, &why);
	assert_non_null(obj);
	return obj;
}

static void
test_json_depth(void **state)
{
	json_t *obj;

	(void)state;
	for (int n = 0; n <= 3; n++) {
		obj = nested(n);
		assert_int_equal(edgeseal__json_depth_ok(obj, 2), n <= 2);
		json_decref(obj);
	}
	obj = nested(32);
	assert_true(edgeseal__json_depth_ok(obj, 32));
	json_decref(obj);
	obj = nested(33);
	assert_false(edgeseal__json_depth_ok(obj, 32));
	json_decref(obj);
}

static void
test_fingerprint(void **state)
{
	char fp[9];

	(void)state;
	/* SHA-256("abc") starts ba7816bf (FIPS 180-2 example). */
	edgeseal_fingerprint("abc", 3, fp);
	assert_string_equal(fp, "ba7816bf");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_mac_equal),
		cmocka_unit_test(test_b64url_decode),
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_reason_table),
		cmocka_unit_test(test_subject_rules),
		cmocka_unit_test(test_json_quote),
		cmocka_unit_test(test_json_load),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
