/*
 * verifier_seal.c: fuzz the seal verifier.
 *
 * The low two bits of the first byte pick a mode. Mode 0 (and 3) verifies
 * the rest as a seal, which mostly exercises the framing, base64url and
 * header rules. Mode 1 reads the rest as "header JSON\nclaims JSON",
 * encodes and MACs it with the test key, so the claim rules behind the MAC
 * check are reached too. Mode 2 reads the rest with the claims reader
 * (json_scan.c) and with Jansson and aborts when they disagree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64url.h"
#include "edgeseal.h"
#include "internal.h"

#define NOW 1800000000

static const uint8_t key[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz!";

static struct edgeseal_verifier *
verifier(void)
{
	static struct edgeseal_verifier *v;
	struct edgeseal_verifier_opts o = { .leeway = 5, .audience = "api" };
	char json[256], k[64];

	if (v != NULL)
		return v;
	edgeseal__b64url_encode(key, sizeof(key), k);
	snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"oct\","
		 "\"kid\":\"f\",\"k\":\"%s\",\"edgeseal_sub_prefix\":\"u\"}]}",
		 k);
	v = edgeseal_verifier_new(&o, edgeseal_keyset_parse(json,
		strlen(json), NULL, 0));
	if (v == NULL)
		abort();
	return v;
}

static void
verify(const char *seal, size_t len)
{
	struct edgeseal_identity *id = NULL;
	char *json;

	if (edgeseal_verify(verifier(), seal, len, NOW, &id) != EDGESEAL_OK)
		return;
	json = edgeseal_identity_to_json(id);
	if (json == NULL || edgeseal_identity_sub(id)[0] != 'u')
		abort();
	free(json);
	edgeseal_identity_free(id);
}

/* header\nclaims -> b64(header).b64(claims).b64(mac) */
static void
verify_signed(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	uint8_t mac[32];
	size_t h, pos;
	char *seal;

	if (nl == NULL)
		return;
	h = (size_t)(nl - data);
	seal = malloc(edgeseal__b64url_encoded_len(size) + 64);
	if (seal == NULL)
		return;
	pos = edgeseal__b64url_encode(data, h, seal);
	seal[pos++] = '.';
	pos += edgeseal__b64url_encode(nl + 1, size - h - 1, seal + pos);
	if (edgeseal__hmac_sha256(key, sizeof(key), seal, pos, mac) == 0) {
		seal[pos++] = '.';
		pos += edgeseal__b64url_encode(mac, sizeof(mac), seal + pos);
		verify(seal, pos);
	}
	free(seal);
}

/*
 * 1 when the input may reach the limits where the readers differ on
 * purpose: nesting past 32, a number within reach of a double's range
 * (an exponent of three digits or more, or 300 digits in a row), or a NUL
 * byte, which Jansson lets through in places and RFC 8259 never does.
 */
static int
near_limits(const uint8_t *d, size_t n)
{
	size_t opens = 0, run = 0;

	for (size_t i = 0; i < n; i++) {
		opens += d[i] == '[' || d[i] == '{';
		run = d[i] >= '0' && d[i] <= '9' ? run + 1 : 0;
		if (run >= 300)
			return 1;
		if ((d[i] == 'e' || d[i] == 'E') && i + 3 < n) {
			size_t j = i + 1 + (d[i + 1] == '+' || d[i + 1] == '-');
			if (j + 2 < n && d[j] >= '0' && d[j] <= '9' &&
			    d[j + 1] >= '0' && d[j + 1] <= '9' &&
			    d[j + 2] >= '0' && d[j + 2] <= '9')
				return 1;
		}
	}
	return opens > 32 || memchr(d, 0, n) != NULL;
}

/* Both JSON readers must accept and refuse the same objects. */
static void
compare_json(const uint8_t *data, size_t size)
{
	struct edgeseal__jmember m[ES_CLAIMS_MAX];
	char *arena = malloc(size + 1);
	enum edgeseal__jscan ours;
	json_error_t jerr;
	json_t *theirs;
	size_t n;

	if (arena == NULL)
		return;
	ours = edgeseal__json_scan_object((const char *)data, size, m,
					  ES_CLAIMS_MAX, arena, size, &n);
	theirs = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
			    &jerr);

	/* Our limits (members, depth) are ours alone: nothing to compare. */
	if (ours == ES_JSCAN_FULL || near_limits(data, size))
		goto out;
	if ((ours == ES_JSCAN_OK) != json_is_object(theirs))
		abort();
	if (ours == ES_JSCAN_DUP && (theirs != NULL ||
	    json_error_code(&jerr) != json_error_duplicate_key))
		abort();
out:
	json_decref(theirs);
	free(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 1:
		verify_signed(data + 1, size - 1);
		break;
	case 2:
		compare_json(data + 1, size - 1);
		break;
	default:
		verify((const char *)data + 1, size - 1);
	}
	return 0;
}
