/*
 * verifier_seal.c: fuzz the seal verifier.
 *
 * The low two bits of the first byte pick a mode. Mode 0 (and 3) verifies
 * the rest as a seal, which mostly exercises the framing, base64url and
 * header rules. Mode 1 reads the rest as "header JSON\nclaims JSON",
 * encodes and MACs it with the test key, so the claim rules behind the MAC
 * check are reached too. Mode 2 reads the rest as claims alone and signs
 * them under the header our minter writes, so the header's byte-compare
 * fast path is taken and the fuzzer spends its effort on the claims.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	char json[512], k[64];

	if (v != NULL)
		return v;
	edgeseal__b64url_encode(key, sizeof(key), k);
	snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"oct\","
		 "\"kid\":\"f\",\"k\":\"%s\",\"edgeseal_sub_prefix\":\"u\","
		 /* Named claims still reach the forwarded-claims code. */
		 "\"edgeseal_allowed_claims\":[\"scope\",\"roles\","
		 "\"tenant\",\"a\",\"b\"]}]}",
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

/* The minter's header for key "f", a newline, then the claims. */
static void
verify_claims(const uint8_t *data, size_t size)
{
	static const char header[] =
		"{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":\"f\"}\n";
	uint8_t *both = malloc(sizeof(header) - 1 + size);

	if (both == NULL)
		return;
	memcpy(both, header, sizeof(header) - 1);
	if (size > 0)
		memcpy(both + sizeof(header) - 1, data, size);
	verify_signed(both, sizeof(header) - 1 + size);
	free(both);
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
		verify_claims(data + 1, size - 1);
		break;
	default:
		verify((const char *)data + 1, size - 1);
	}
	return 0;
}
