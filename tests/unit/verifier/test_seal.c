/*
 * test_seal.c: minting and every rule of seal and request verification,
 * on both sides of each edge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64url.h"
#include "helpers.h"

#define HDR "{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":\"k1\"}"

static char seal[8192];

/* Standard claims at T_NOW for sub alice, lifetime 60, plus extra. */
static const char *
claims_with(const char *extra)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"iss\":\"edgeseal\",\"sub\":\"alice\",\"iat\":%lld,"
		 "\"exp\":%lld,\"jti\":\"j1\"%s}", T_NOW, T_NOW + 60, extra);
	return buf;
}

/* Verify seal at now under default rules (leeway 5). */
static enum edgeseal_reason
verify_at(const char *s, int64_t now)
{
	struct edgeseal_verifier *v = t_verifier(NULL, NULL, 5, 0);
	enum edgeseal_reason rc = edgeseal_verify(v, s, strlen(s), now, NULL);

	edgeseal_verifier_free(v);
	return rc;
}

static enum edgeseal_reason
verify_header(const char *header)
{
	t_craft(header, claims_with(""), t_key_user, 32, seal, sizeof(seal));
	return verify_at(seal, T_NOW);
}

static enum edgeseal_reason
verify_claims(const char *claims, int64_t now)
{
	t_craft_claims(claims, seal, sizeof(seal));
	return verify_at(seal, now);
}

static void
test_mint_verify_roundtrip(void **state)
{
	struct edgeseal_keyset *ks = t_keyset(1);
	struct edgeseal_verifier *v = t_verifier("edgeseal", "api", 0, 0);
	struct edgeseal_mint_opts o = {
		.kid = "k1", .sub = "alice", .audience = "api",
		.claims_json = "{\"scope\":\"read\",\"roles\":[\"a\"]}",
	};
	struct edgeseal_identity *id = NULL;
	size_t len = 0;

	(void)state;
	o.claims_json_len = strlen(o.claims_json);
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_OK);
	assert_int_equal(len, strlen(seal));
	assert_int_equal(edgeseal_verify(v, seal, len, T_NOW, &id),
			 EDGESEAL_OK);
	assert_string_equal(edgeseal_identity_sub(id), "alice");
	assert_string_equal(edgeseal_identity_iss(id), "edgeseal");
	assert_string_equal(edgeseal_identity_aud(id), "api");
	assert_string_equal(edgeseal_identity_kid(id), "k1");
	assert_null(edgeseal_identity_act(id));
	assert_int_equal(strlen(edgeseal_identity_jti(id)), 22);
	assert_int_equal(edgeseal_identity_iat(id), T_NOW);
	assert_int_equal(edgeseal_identity_exp(id), T_NOW + 60);
	assert_string_equal(edgeseal_identity_claims_json(id),
			    "{\"scope\":\"read\",\"roles\":[\"a\"]}");
	edgeseal_identity_free(id);

	/* Two seals for the same input differ by their jti. */
	char other[8192];
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, other, sizeof(other),
				       &len), EDGESEAL_OK);
	assert_string_not_equal(seal, other);
	edgeseal_verifier_free(v);
	edgeseal_keyset_free(ks);
}

static void
test_mint_refusals(void **state)
{
	struct edgeseal_keyset *ks = t_keyset(1);
	struct edgeseal_mint_opts o = { .kid = "k1", .sub = "alice" };
	size_t len;

	(void)state;
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, 100, &len),
			 EDGESEAL_TOKEN_TOO_LARGE);
	o.kid = NULL;	/* two keys: no implicit choice */
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_UNKNOWN_KID);
	o.kid = "nope";
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_UNKNOWN_KID);
	o.kid = "k1";
	o.sub = "a,b";
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_INVALID_SUBJECT);
	o.sub = "";
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_INVALID_SUBJECT);
	o.sub = "admin ";
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_INVALID_SUBJECT);
	o.sub = "alice";
	o.claims_json = "{\"exp\":1}";
	o.claims_json_len = strlen(o.claims_json);
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_INVALID_CLAIM_TYPE);
	o.claims_json = "[1]";
	o.claims_json_len = 3;
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_INVALID_CLAIM_TYPE);
	o.claims_json = "{\"a\":1,\"a\":2}";
	o.claims_json_len = strlen(o.claims_json);
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_INVALID_CLAIM_TYPE);
	edgeseal_keyset_free(ks);
}

/* A job key cannot mint, nor sign, a seal for a user. */
static void
test_job_key_restrictions(void **state)
{
	struct edgeseal_keyset *ks = t_keyset(1);
	struct edgeseal_verifier *v = t_verifier(NULL, NULL, 0, 0);
	struct edgeseal_mint_opts o = { .kid = "job", .sub = "alice",
					.act = "billing" };
	struct edgeseal_identity *id = NULL;
	char hdr[128];
	size_t len;

	(void)state;
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_KEY_RESTRICTED);
	o.sub = "job:nightly";
	o.act = NULL;
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_KEY_RESTRICTED);
	o.act = "billing";
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_OK);
	assert_int_equal(edgeseal_verify(v, seal, len, T_NOW, &id),
			 EDGESEAL_OK);
	assert_string_equal(edgeseal_identity_act(id), "billing");
	edgeseal_identity_free(id);

	/* Written by hand, past the minter: the verifier refuses too. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":"
		 "\"edgeseal+jwt\",\"kid\":\"job\"}");
	t_craft(hdr, claims_with(",\"act\":{\"sub\":\"billing\"}"),
		t_key_job, 32, seal, sizeof(seal));
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_KEY_RESTRICTED);
	edgeseal_verifier_free(v);
	edgeseal_keyset_free(ks);
}

/* A key set of the job key alone ("job"), with these JWK members. */
static struct edgeseal_keyset *
job_keyset(const char *members)
{
	char json[1024], k[64];
	struct edgeseal_keyset *ks;

	edgeseal__b64url_encode(t_key_job, 32, k);
	snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"oct\","
		 "\"kid\":\"job\",\"k\":\"%s\"%s}]}", k, members);
	ks = edgeseal_keyset_parse(json, strlen(json), NULL, 0);
	assert_non_null(ks);
	return ks;
}

/* Mint under the job key of ks with these forwarded claims. */
static enum edgeseal_reason
mint_job(const struct edgeseal_keyset *ks, const char *sub,
	 const char *claims)
{
	struct edgeseal_mint_opts o = {
		.kid = "job", .sub = sub, .act = "billing",
		.claims_json = claims,
		.claims_json_len = claims != NULL ? strlen(claims) : 0,
	};
	size_t len;

	return edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal), &len);
}

/* Verify, under ks, a seal written by hand with the job key. */
static enum edgeseal_reason
verify_job(struct edgeseal_keyset *ks, const char *sub, const char *extra)
{
	struct edgeseal_verifier_opts o = { .leeway = 0 };
	struct edgeseal_verifier *v = edgeseal_verifier_new(&o, ks);
	char claims[1024];
	enum edgeseal_reason rc;

	assert_non_null(v);
	snprintf(claims, sizeof(claims), "{\"iss\":\"edgeseal\",\"sub\":"
		 "\"%s\",\"iat\":%lld,\"exp\":%lld,\"jti\":\"j1\","
		 "\"act\":{\"sub\":\"billing\"}%s}", sub, T_NOW, T_NOW + 60,
		 extra);
	t_craft("{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\","
		"\"kid\":\"job\"}", claims, t_key_job, 32, seal, sizeof(seal));
	rc = edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL);
	edgeseal_verifier_free(v);
	return rc;
}

/*
 * A restricted key carries only the forwarded claims it lists: a job
 * cannot hand itself roles or a tenant, neither through the minter nor
 * by writing the seal itself.
 */
static void
test_job_key_claims(void **state)
{
	static const char prefix[] = ",\"edgeseal_sub_prefix\":\"job:\","
				     "\"edgeseal_require_act\":true";
	struct edgeseal_keyset *ks = job_keyset(prefix);
	char members[256];

	(void)state;
	assert_int_equal(mint_job(ks, "job:n", NULL), EDGESEAL_OK);
	assert_int_equal(mint_job(ks, "job:n", "{}"), EDGESEAL_OK);
	assert_int_equal(mint_job(ks, "job:n", "{\"roles\":[\"admin\"]}"),
			 EDGESEAL_KEY_RESTRICTED);
	/* A reserved name is still the caller's error, not the key's. */
	assert_int_equal(mint_job(ks, "job:n", "{\"sub\":\"x\"}"),
			 EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(verify_job(job_keyset(prefix), "job:n", ""),
			 EDGESEAL_OK);
	assert_int_equal(verify_job(job_keyset(prefix), "job:n",
				    ",\"roles\":[\"admin\"]"),
			 EDGESEAL_KEY_RESTRICTED);
	assert_int_equal(verify_job(job_keyset(prefix), "job:n",
				    ",\"tenant\":\"*\""),
			 EDGESEAL_KEY_RESTRICTED);
	edgeseal_keyset_free(ks);

	/* Listed names pass, by exact (decoded) name; others do not. */
	snprintf(members, sizeof(members), "%s,\"edgeseal_allowed_claims\":"
		 "[\"tenant\",\"scope\"]", prefix);
	ks = job_keyset(members);
	assert_int_equal(mint_job(ks, "job:n", "{\"tenant\":\"t1\","
				  "\"scope\":\"r\"}"), EDGESEAL_OK);
	assert_int_equal(mint_job(ks, "job:n", "{\"tenant\":\"t1\","
				  "\"roles\":[]}"), EDGESEAL_KEY_RESTRICTED);
	assert_int_equal(mint_job(ks, "job:n", "{\"Tenant\":\"t1\"}"),
			 EDGESEAL_KEY_RESTRICTED);
	assert_int_equal(mint_job(ks, "alice", "{\"tenant\":\"t1\"}"),
			 EDGESEAL_KEY_RESTRICTED);
	assert_int_equal(verify_job(job_keyset(members), "job:n",
				    ",\"t\\u0065nant\":\"t1\""), EDGESEAL_OK);
	assert_int_equal(verify_job(job_keyset(members), "job:n",
				    ",\"tenant\":1,\"tenants\":2"),
			 EDGESEAL_KEY_RESTRICTED);
	edgeseal_keyset_free(ks);

	/* Each restriction member alone makes the key restricted. */
	assert_int_equal(verify_job(job_keyset(",\"edgeseal_require_act\":"
					       "false"), "alice",
				    ",\"roles\":1"), EDGESEAL_KEY_RESTRICTED);
	assert_int_equal(verify_job(job_keyset(",\"edgeseal_require_act\":"
					       "false"), "alice", ""),
			 EDGESEAL_OK);
	assert_int_equal(verify_job(job_keyset(",\"edgeseal_allowed_claims\":"
					       "[\"scope\"]"), "alice",
				    ",\"scope\":\"r\""), EDGESEAL_OK);
	assert_int_equal(verify_job(job_keyset(",\"edgeseal_allowed_claims\":"
					       "[\"scope\"]"), "alice",
				    ",\"roles\":1"), EDGESEAL_KEY_RESTRICTED);

	/* A key with no edgeseal_* member forwards anything, as before. */
	assert_int_equal(verify_job(job_keyset(""), "alice",
				    ",\"roles\":[\"admin\"],\"tenant\":\"*\""),
			 EDGESEAL_OK);
}

static void
test_header_rules(void **state)
{
	(void)state;
	assert_int_equal(verify_header(HDR), EDGESEAL_OK);
	assert_int_equal(verify_header("{\"kid\":\"k1\",\"typ\":\"edgeseal+"
				       "jwt\",\"alg\":\"HS256\"}"),
			 EDGESEAL_OK);
	assert_int_equal(verify_header("{\"alg\":\"none\",\"typ\":\"edgeseal+"
				       "jwt\",\"kid\":\"k1\"}"),
			 EDGESEAL_ALG_NOT_ALLOWED);
	assert_int_equal(verify_header("{\"alg\":\"hs256\",\"typ\":\"edgeseal+"
				       "jwt\",\"kid\":\"k1\"}"),
			 EDGESEAL_ALG_NOT_ALLOWED);
	assert_int_equal(verify_header("{\"alg\":\"HS512\",\"typ\":\"edgeseal+"
				       "jwt\",\"kid\":\"k1\"}"),
			 EDGESEAL_ALG_NOT_ALLOWED);
	assert_int_equal(verify_header("{\"typ\":\"edgeseal+jwt\","
				       "\"kid\":\"k1\"}"),
			 EDGESEAL_ALG_NOT_ALLOWED);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"kid\":\"k1\"}"),
			 EDGESEAL_UNSUPPORTED_TOKEN_TYPE);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"typ\":\"JWT\","
				       "\"kid\":\"k1\"}"),
			 EDGESEAL_UNSUPPORTED_TOKEN_TYPE);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"typ\":\"edgeseal+"
				       "jwt\",\"kid\":\"k1\",\"x\":1}"),
			 EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"typ\":\"edgeseal+"
				       "jwt\",\"kid\":\"k1\",\"crit\":[\"x\"]}"),
			 EDGESEAL_UNSUPPORTED_CRIT);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"typ\":\"edgeseal+"
				       "jwt\",\"kid\":\"k1\",\"jku\":\"u\"}"),
			 EDGESEAL_UNTRUSTED_KEY_HEADER);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"alg\":\"HS256\","
				       "\"typ\":\"edgeseal+jwt\","
				       "\"kid\":\"k1\"}"),
			 EDGESEAL_DUPLICATE_MEMBER);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"typ\":\"edgeseal+"
				       "jwt\",\"kid\":\"zz\"}"),
			 EDGESEAL_UNKNOWN_KID);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"typ\":\"edgeseal+"
				       "jwt\",\"kid\":7}"),
			 EDGESEAL_UNKNOWN_KID);
	assert_int_equal(verify_header("[1]"), EDGESEAL_MALFORMED_TOKEN);
}

/*
 * The canonical header is recognised by its bytes; every other spelling
 * goes through Jansson. Both ways must give the same answer.
 */
static void
test_header_paths(void **state)
{
	static const struct {
		const char *header;
		enum edgeseal_reason want;
	} cases[] = {
		{ HDR, EDGESEAL_OK },
		{ "{\"typ\":\"edgeseal+jwt\",\"kid\":\"k1\",\"alg\":\"HS256\"}",
		  EDGESEAL_OK },
		{ " { \"alg\" : \"HS256\" , \"typ\" : \"edgeseal+jwt\" , "
		  "\"kid\" : \"k1\" } ", EDGESEAL_OK },
		{ "{\"alg\":\"HS\\u0032\\u00356\",\"typ\":\"edgeseal\\/jwt\","
		  "\"kid\":\"k1\"}", EDGESEAL_UNSUPPORTED_TOKEN_TYPE },
		{ "{\"alg\":\"HS\\u0032\\u00356\",\"typ\":\"edgeseal+jwt\","
		  "\"kid\":\"k1\"}", EDGESEAL_OK },
		/* Canonical layout, escaped kid: not the fast path. */
		{ "{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\","
		  "\"kid\":\"k\\u0031\"}", EDGESEAL_OK },
		{ "{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":\"zz\"}",
		  EDGESEAL_UNKNOWN_KID },
		{ "{\"kid\":\"zz\",\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\"}",
		  EDGESEAL_UNKNOWN_KID },
		/* A second member hidden where the kid's text would be. */
		{ "{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":\"k1\","
		  "\"x\":\"y\"}", EDGESEAL_MALFORMED_TOKEN },
		{ "{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":\"k1\","
		  "\"kid\":\"k1\"}", EDGESEAL_DUPLICATE_MEMBER },
		{ "{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":\"\"}",
		  EDGESEAL_UNKNOWN_KID },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (verify_header(cases[i].header) != cases[i].want)
			fail_msg("%s: %s, want %s", cases[i].header,
				 edgeseal_reason_str(verify_header(
					 cases[i].header)),
				 edgeseal_reason_str(cases[i].want));
}

/* A seal made by a key that was removed by a reload. */
static void
test_removed_key(void **state)
{
	struct edgeseal_verifier *v = t_verifier(NULL, NULL, 0, 0);
	char hdr[128];

	(void)state;
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":"
		 "\"edgeseal+jwt\",\"kid\":\"job\"}");
	t_craft(hdr, claims_with(",\"act\":{\"sub\":\"b\"}"), t_key_job, 32,
		seal, sizeof(seal));
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_KEY_RESTRICTED);	/* known, user sub */
	edgeseal_verifier_set_keyset(v, t_keyset(0));
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_UNKNOWN_KID);
	edgeseal_verifier_free(v);
}

static void
test_mac_rules(void **state)
{
	static const size_t cut[] = { 1, 16, 31, 33 };
	char *mac;

	(void)state;
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		t_craft(HDR, claims_with(""), t_key_user, cut[i], seal,
			sizeof(seal));
		assert_int_equal(verify_at(seal, T_NOW), EDGESEAL_BAD_SIGNATURE);
	}

	/* An empty MAC segment is not a JWS at all. */
	t_craft(HDR, claims_with(""), t_key_user, 0, seal, sizeof(seal));
	assert_int_equal(verify_at(seal, T_NOW), EDGESEAL_MALFORMED_TOKEN);

	/* The other key's MAC, and one flipped bit. */
	t_craft(HDR, claims_with(""), t_key_job, 32, seal, sizeof(seal));
	assert_int_equal(verify_at(seal, T_NOW), EDGESEAL_BAD_SIGNATURE);
	t_craft(HDR, claims_with(""), t_key_user, 32, seal, sizeof(seal));
	mac = strrchr(seal, '.') + 1;
	mac[5] = mac[5] == 'A' ? 'B' : 'A';
	assert_int_equal(verify_at(seal, T_NOW), EDGESEAL_BAD_SIGNATURE);
}

static void
test_encoding_rules(void **state)
{
	size_t n;

	(void)state;
	t_craft(HDR, claims_with(""), t_key_user, 32, seal, sizeof(seal));
	assert_int_equal(verify_at(seal, T_NOW), EDGESEAL_OK);

	/* Padding after the MAC. */
	n = strlen(seal);
	strcpy(seal + n, "=");
	assert_int_equal(verify_at(seal, T_NOW), EDGESEAL_MALFORMED_TOKEN);

	/* The MAC's last character carries 2 unused bits: set one. */
	seal[n] = '\0';
	seal[n - 1] = (char)(seal[n - 1] == 'A' ? 'B' : seal[n - 1] + 1);
	assert_int_equal(verify_at(seal, T_NOW), EDGESEAL_MALFORMED_TOKEN);

	assert_int_equal(verify_at("a.b", T_NOW), EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(verify_at("a.b.c.d", T_NOW), EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(verify_at("..", T_NOW), EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(verify_at("", T_NOW), EDGESEAL_MISSING_TOKEN);
	assert_int_equal(verify_at("e30.e30.e+0", T_NOW),
			 EDGESEAL_MALFORMED_TOKEN);

	char big[4200];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(verify_at(big, T_NOW), EDGESEAL_TOKEN_TOO_LARGE);
}

static void
test_claim_types(void **state)
{
	char sub[300], claims[600];

	(void)state;
	assert_int_equal(verify_claims("{\"iss\":\"edgeseal\",\"iat\":1800000000,"
				       "\"exp\":1800000060,\"jti\":\"j\"}",
				       T_NOW), EDGESEAL_MISSING_CLAIM);
	assert_int_equal(verify_claims("{\"iss\":\"edgeseal\",\"sub\":\"a\","
				       "\"iat\":1800000000,\"jti\":\"j\"}",
				       T_NOW), EDGESEAL_MISSING_CLAIM);
	assert_int_equal(verify_claims("{\"iss\":\"edgeseal\",\"sub\":7,"
				       "\"iat\":1800000000,\"exp\":1800000060,"
				       "\"jti\":\"j\"}", T_NOW),
			 EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(verify_claims("{\"iss\":\"edgeseal\",\"sub\":\"a\","
				       "\"iat\":\"1800000000\","
				       "\"exp\":1800000060,\"jti\":\"j\"}",
				       T_NOW), EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(verify_claims("{\"iss\":\"edgeseal\",\"sub\":\"a\","
				       "\"iat\":1800000000.0,"
				       "\"exp\":1800000060,\"jti\":\"j\"}",
				       T_NOW), EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(verify_claims("{\"iss\":\"edgeseal\",\"sub\":\"a\","
				       "\"iat\":1800000000,"
				       "\"exp\":9007199254740992,\"jti\":\"j\"}",
				       T_NOW), EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(verify_claims(claims_with(",\"aud\":[\"x\"]"), T_NOW),
			 EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(verify_claims(claims_with(",\"act\":\"svc\""), T_NOW),
			 EDGESEAL_INVALID_CLAIM_TYPE);
	assert_int_equal(verify_claims(claims_with(",\"sub\":\"bob\""), T_NOW),
			 EDGESEAL_DUPLICATE_MEMBER);

	/* Subject content: commas, control characters, length 256/257. */
	assert_int_equal(verify_claims("{\"iss\":\"edgeseal\",\"sub\":\"a,b\","
				       "\"iat\":1800000000,\"exp\":1800000060,"
				       "\"jti\":\"j\"}", T_NOW),
			 EDGESEAL_INVALID_SUBJECT);
	assert_int_equal(verify_claims("{\"iss\":\"edgeseal\",\"sub\":\"a\\tb\","
				       "\"iat\":1800000000,\"exp\":1800000060,"
				       "\"jti\":\"j\"}", T_NOW),
			 EDGESEAL_INVALID_SUBJECT);
	memset(sub, 'x', 257);
	sub[257] = '\0';
	snprintf(claims, sizeof(claims), "{\"iss\":\"edgeseal\",\"sub\":\"%s\","
		 "\"iat\":1800000000,\"exp\":1800000060,\"jti\":\"j\"}", sub);
	assert_int_equal(verify_claims(claims, T_NOW), EDGESEAL_INVALID_SUBJECT);
	sub[256] = '\0';
	snprintf(claims, sizeof(claims), "{\"iss\":\"edgeseal\",\"sub\":\"%s\","
		 "\"iat\":1800000000,\"exp\":1800000060,\"jti\":\"j\"}", sub);
	assert_int_equal(verify_claims(claims, T_NOW), EDGESEAL_OK);
}

/* n members "m0":1,"m1":1,... into out (room for 9n + 1 bytes). */
static const char *
many_members(int n, char *out)
{
	size_t at = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++)
		at += (size_t)sprintf(out + at, "%s\"m%d\":1", i ? "," : "", i);
	return out;
}

/* claims_with() plus n members "mNN":1, into buf. */
static const char *
claims_with_members(int n, char *buf, size_t cap)
{
	char extra[1024];

	extra[0] = ',';
	many_members(n, extra + 1);
	snprintf(buf, cap, "%s", claims_with(extra));
	return buf;
}

/* "x":[[...1...]] with n arrays, into out (room for 2n + 8 bytes). */
static const char *
nested_member(int n, char *out)
{
	size_t at = 0;

	at += (size_t)sprintf(out, "\"x\":");
	for (int i = 0; i < n; i++)
		out[at++] = '[';
	out[at++] = '1';
	for (int i = 0; i < n; i++)
		out[at++] = ']';
	out[at] = '\0';
	return out;
}

/* claims_with() plus "x" nested n deep, into buf. */
static const char *
claims_with_depth(int n, char *buf, size_t cap)
{
	char extra[128];

	extra[0] = ',';
	nested_member(n, extra + 1);
	snprintf(buf, cap, "%s", claims_with(extra));
	return buf;
}

/* The claims are one strict JSON object: the rules of rule 15. */
static void
test_claims_json(void **state)
{
	static const char *const bad_values[] = {
		"01", "1.", ".5", "1e", "+1", "tru", "\"\\u0000\"",
		"\"\\ud800\"", "\"\\x\"", "\"\t\"", "\"\xff\"",
		"9223372036854775808", "1e400", "[1,]", "{\"a\"}",
	};
	char buf[4096], extra[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]);
	     i++) {
		snprintf(extra, sizeof(extra), ",\"x\":%s", bad_values[i]);
		if (verify_claims(claims_with(extra), T_NOW) !=
		    EDGESEAL_MALFORMED_TOKEN)
			fail_msg("accepted %s", bad_values[i]);
	}
	assert_int_equal(verify_claims("[]", T_NOW), EDGESEAL_MALFORMED_TOKEN);
	assert_int_equal(verify_claims("{} x", T_NOW),
			 EDGESEAL_MALFORMED_TOKEN);

	/* Duplicates: decoded names, at any depth; siblings may share. */
	assert_int_equal(verify_claims(claims_with(",\"\\u0073ub\":\"b\""),
				       T_NOW), EDGESEAL_DUPLICATE_MEMBER);
	assert_int_equal(verify_claims(claims_with(",\"x\":[{\"a\":1,"
						   "\"a\":1}]"), T_NOW),
			 EDGESEAL_DUPLICATE_MEMBER);
	assert_int_equal(verify_claims(claims_with(",\"x\":{\"a\":1},"
						   "\"y\":{\"a\":1}"), T_NOW),
			 EDGESEAL_OK);

	/* 64 members (5 of the format's own), then 65. */
	assert_int_equal(verify_claims(claims_with_members(59, buf,
							   sizeof(buf)),
				       T_NOW), EDGESEAL_OK);
	assert_int_equal(verify_claims(claims_with_members(60, buf,
							   sizeof(buf)),
				       T_NOW), EDGESEAL_MALFORMED_TOKEN);

	/* Nesting: 32 levels inside the claims, then 33. */
	assert_int_equal(verify_claims(claims_with_depth(32, buf, sizeof(buf)),
				       T_NOW), EDGESEAL_OK);
	assert_int_equal(verify_claims(claims_with_depth(33, buf, sizeof(buf)),
				       T_NOW), EDGESEAL_MALFORMED_TOKEN);
}

/* Forwarded claims come out as compact JSON, in the order given. */
static void
test_forwarded_claims(void **state)
{
	struct edgeseal_keyset *ks = t_keyset(1);
	struct edgeseal_verifier *v = t_verifier(NULL, NULL, 0, 0);
	struct edgeseal_mint_opts o = { .kid = "k1", .sub = "alice" };
	struct edgeseal_identity *id = NULL;
	char buf[4096], extra[1024];
	size_t len;

	(void)state;
	o.claims_json = " { \"tenant\" : \"t\\u00e9\" , \"n\" : [ 1 , -0 ] , "
			"\"o\" : { } } ";
	o.claims_json_len = strlen(o.claims_json);
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_OK);
	assert_int_equal(edgeseal_verify(v, seal, len, T_NOW, &id),
			 EDGESEAL_OK);
	assert_string_equal(edgeseal_identity_claims_json(id),
			    "{\"tenant\":\"t\xc3\xa9\",\"n\":[1,0],\"o\":{}}");
	edgeseal_identity_free(id);

	/* An empty object adds nothing. */
	o.claims_json = "{}";
	o.claims_json_len = 2;
	assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal, sizeof(seal),
				       &len), EDGESEAL_OK);
	assert_int_equal(edgeseal_verify(v, seal, len, T_NOW, &id),
			 EDGESEAL_OK);
	assert_string_equal(edgeseal_identity_claims_json(id), "{}");
	edgeseal_identity_free(id);

	/* The minter refuses what the verifier would: depth, members. */
	for (int n = 32; n <= 33; n++) {
		snprintf(buf, sizeof(buf), "{%s}", nested_member(n, extra));
		o.claims_json = buf;
		o.claims_json_len = strlen(buf);
		assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal,
					       sizeof(seal), &len),
				 n == 32 ? EDGESEAL_OK
					 : EDGESEAL_INVALID_CLAIM_TYPE);
	}
	for (int n = 56; n <= 57; n++) {
		snprintf(buf, sizeof(buf), "{%s}", many_members(n, extra));
		o.claims_json = buf;
		o.claims_json_len = strlen(buf);
		assert_int_equal(edgeseal_mint(ks, &o, T_NOW, seal,
					       sizeof(seal), &len),
				 n == 56 ? EDGESEAL_OK
					 : EDGESEAL_INVALID_CLAIM_TYPE);
	}
	edgeseal_verifier_free(v);
	edgeseal_keyset_free(ks);
}

/* leeway 5, lifetime 60: each edge from both sides. */
static void
test_time_edges(void **state)
{
	const char *c = claims_with("");

	(void)state;
	assert_int_equal(verify_claims(c, T_NOW + 60 + 5), EDGESEAL_OK);
	assert_int_equal(verify_claims(c, T_NOW + 60 + 6), EDGESEAL_EXPIRED);
	assert_int_equal(verify_claims(c, T_NOW - 5), EDGESEAL_OK);
	assert_int_equal(verify_claims(c, T_NOW - 6), EDGESEAL_IAT_IN_FUTURE);
	assert_int_equal(verify_claims(claims_with(",\"nbf\":1800000010"),
				       T_NOW + 5), EDGESEAL_OK);
	assert_int_equal(verify_claims(claims_with(",\"nbf\":1800000010"),
				       T_NOW + 4), EDGESEAL_NOT_YET_VALID);

	/* Extreme clocks do not wrap around. */
	assert_int_equal(verify_claims(c, INT64_MAX), EDGESEAL_EXPIRED);
	assert_int_equal(verify_claims(c, INT64_MIN), EDGESEAL_IAT_IN_FUTURE);
}

static void
test_lifetime(void **state)
{
	struct edgeseal_verifier *v = t_verifier(NULL, NULL, 0, 300);
	char claims[256];

	(void)state;
	snprintf(claims, sizeof(claims), "{\"iss\":\"edgeseal\",\"sub\":\"a\","
		 "\"iat\":%lld,\"exp\":%lld,\"jti\":\"j\"}", T_NOW, T_NOW + 300);
	t_craft_claims(claims, seal, sizeof(seal));
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_OK);
	snprintf(claims, sizeof(claims), "{\"iss\":\"edgeseal\",\"sub\":\"a\","
		 "\"iat\":%lld,\"exp\":%lld,\"jti\":\"j\"}", T_NOW, T_NOW + 301);
	t_craft_claims(claims, seal, sizeof(seal));
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_LIFETIME_TOO_LONG);
	edgeseal_verifier_free(v);
}

/* Leeway is capped: 300 s is accepted, anything past it refused. */
static void
test_leeway_cap(void **state)
{
	struct edgeseal_verifier_opts o = { .leeway = 300 };
	struct edgeseal_verifier *v;

	(void)state;
	v = edgeseal_verifier_new(&o, t_keyset(0));
	assert_non_null(v);
	edgeseal_verifier_free(v);
	o.leeway = 301;
	assert_null(edgeseal_verifier_new(&o, t_keyset(0)));
	o.leeway = 86400;
	assert_null(edgeseal_verifier_new(&o, t_keyset(0)));
}

static void
test_issuer_audience(void **state)
{
	struct edgeseal_verifier *v;

	(void)state;
	t_craft_claims(claims_with(""), seal, sizeof(seal));
	v = t_verifier("other", NULL, 0, 0);
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_BAD_ISSUER);
	edgeseal_verifier_free(v);

	/* Audience wanted, seal without one. */
	v = t_verifier(NULL, "api", 0, 0);
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_BAD_AUDIENCE);
	t_craft_claims(claims_with(",\"aud\":\"web\""), seal, sizeof(seal));
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_BAD_AUDIENCE);
	t_craft_claims(claims_with(",\"aud\":\"api\""), seal, sizeof(seal));
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, NULL),
			 EDGESEAL_OK);
	edgeseal_verifier_free(v);

	/* No audience configured: a seal meant for someone is refused. */
	assert_int_equal(verify_at(seal, T_NOW), EDGESEAL_BAD_AUDIENCE);
}

static void
test_request_rules(void **state)
{
	struct edgeseal_verifier *v = t_verifier(NULL, NULL, 0, 0);
	struct edgeseal_identity *id = NULL;
	struct edgeseal_request r;

	(void)state;
	t_craft_claims(claims_with(""), seal, sizeof(seal));
	r = (struct edgeseal_request){ "alice", 1, "true", 1, seal, 1 };
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, &id),
			 EDGESEAL_OK);
	assert_string_equal(edgeseal_identity_sub(id), "alice");
	edgeseal_identity_free(id);

	r.user_id = "bob";
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, NULL),
			 EDGESEAL_SUBJECT_MISMATCH);
	r.user_id = "";
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, NULL),
			 EDGESEAL_SUBJECT_MISMATCH);
	r = (struct edgeseal_request){ NULL, 0, "true", 1, seal, 1 };
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, NULL),
			 EDGESEAL_SUBJECT_MISMATCH);
	r = (struct edgeseal_request){ "alice", 2, "true", 1, seal, 1 };
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, NULL),
			 EDGESEAL_DUPLICATE_HEADER);
	r = (struct edgeseal_request){ "alice", 1, "true", 1, seal, 2 };
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, NULL),
			 EDGESEAL_DUPLICATE_HEADER);
	r = (struct edgeseal_request){ "alice", 1, "true", 1, NULL, 0 };
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, NULL),
			 EDGESEAL_MISSING_TOKEN);
	r = (struct edgeseal_request){ "alice", 1, NULL, 0, seal, 1 };
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, NULL),
			 EDGESEAL_MISSING_INTERNAL_CALL);
	r = (struct edgeseal_request){ "alice", 1, "false", 1, seal, 1 };
	assert_int_equal(edgeseal_verify_request(v, &r, T_NOW, NULL),
			 EDGESEAL_MISSING_INTERNAL_CALL);
	edgeseal_verifier_free(v);
}

static void
test_identity_json(void **state)
{
	struct edgeseal_verifier *v = t_verifier(NULL, NULL, 0, 0);
	struct edgeseal_identity *id = NULL;
	char *json;

	(void)state;
	t_craft_claims(claims_with(",\"tenant\":\"t1\""), seal, sizeof(seal));
	assert_int_equal(edgeseal_verify(v, seal, strlen(seal), T_NOW, &id),
			 EDGESEAL_OK);
	json = edgeseal_identity_to_json(id);
	assert_string_equal(json, "{\"sub\":\"alice\",\"iss\":\"edgeseal\","
			    "\"jti\":\"j1\",\"kid\":\"k1\",\"iat\":1800000000,"
			    "\"exp\":1800000060,\"claims\":{\"tenant\":\"t1\"}}");
	free(json);
	edgeseal_identity_free(id);
	edgeseal_verifier_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint_verify_roundtrip),
		cmocka_unit_test(test_mint_refusals),
		cmocka_unit_test(test_job_key_restrictions),
		cmocka_unit_test(test_job_key_claims),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_header_paths),
		cmocka_unit_test(test_removed_key),
		cmocka_unit_test(test_mac_rules),
		cmocka_unit_test(test_encoding_rules),
		cmocka_unit_test(test_claim_types),
		cmocka_unit_test(test_claims_json),
		cmocka_unit_test(test_forwarded_claims),
		cmocka_unit_test(test_time_edges),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_leeway_cap),
		cmocka_unit_test(test_issuer_audience),
		cmocka_unit_test(test_request_rules),
		cmocka_unit_test(test_identity_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
