/*
 * helpers.c: see helpers.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "helpers.h"
#include "internal.h"

const uint8_t t_key_user[32] = "0123456789abcdef0123456789abcdef";
const uint8_t t_key_job[32] = "job-key-job-key-job-key-job-key!";

void
t_keyset_json(int with_job, char *buf, size_t cap)
{
	char ku[64], kj[64];

	edgeseal__b64url_encode(t_key_user, 32, ku);
	edgeseal__b64url_encode(t_key_job, 32, kj);
	if (with_job)
		snprintf(buf, cap,
			 "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\","
			 "\"alg\":\"HS256\",\"k\":\"%s\"},"
			 "{\"kty\":\"oct\",\"kid\":\"job\",\"alg\":\"HS256\","
			 "\"k\":\"%s\",\"edgeseal_sub_prefix\":\"job:\","
			 "\"edgeseal_require_act\":true}]}", ku, kj);
	else
		snprintf(buf, cap,
			 "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\","
			 "\"alg\":\"HS256\",\"k\":\"%s\"}]}", ku);
}

struct edgeseal_keyset *
t_keyset(int with_job)
{
	char json[1024], err[256];
	struct edgeseal_keyset *ks;

	t_keyset_json(with_job, json, sizeof(json));
	ks = edgeseal_keyset_parse(json, strlen(json), err, sizeof(err));
	if (ks == NULL) {
		fprintf(stderr, "t_keyset: %s\n", err);
		abort();
	}
	return ks;
}

void
t_craft(const char *header, const char *claims, const uint8_t *key,
	size_t mac_len, char *out, size_t cap)
{
	uint8_t mac[33];
	size_t pos;

	if (edgeseal__b64url_encoded_len(strlen(header)) +
	    edgeseal__b64url_encoded_len(strlen(claims)) + 50 > cap)
		abort();
	pos = edgeseal__b64url_encode((const uint8_t *)header, strlen(header),
				      out);
	out[pos++] = '.';
	pos += edgeseal__b64url_encode((const uint8_t *)claims, strlen(claims),
				       out + pos);
	if (edgeseal__hmac_sha256(key, 32, out, pos, mac) != 0)
		abort();
	mac[32] = 0x5a;
	out[pos++] = '.';
	edgeseal__b64url_encode(mac, mac_len, out + pos);
}

void
t_craft_claims(const char *claims, char *out, size_t cap)
{
	t_craft("{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":\"k1\"}",
		claims, t_key_user, 32, out, cap);
}

struct edgeseal_verifier *
t_verifier(const char *iss, const char *aud, unsigned leeway,
	   unsigned max_lifetime)
{
	struct edgeseal_verifier_opts o = {
		.issuer = iss, .audience = aud, .leeway = leeway,
		.max_lifetime = max_lifetime,
	};
	struct edgeseal_verifier *v = edgeseal_verifier_new(&o, t_keyset(1));

	if (v == NULL)
		abort();
	return v;
}
