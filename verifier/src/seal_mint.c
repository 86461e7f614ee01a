/*
 * seal_mint.c: build and MAC a seal.
 *
 * The agent mints one seal per request, so the JSON is written by hand into
 * stack buffers; forwarded claims are read and written back by Jansson,
 * straight into the claims buffer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base64url.h"
#include "internal.h"

#define MINT_HEADER_MAX 256	/* the fixed header with a kid of <= 128 */
#define MINT_CLAIMS_MAX 3072	/* claims that still fit a 4 KiB seal */

/* A JSON text being written into a fixed buffer; failed sticks. */
struct jbuf {
	char *p;
	size_t cap;
	size_t len;
	int failed;
};

static void
put_bytes(struct jbuf *b, const char *s, size_t n)
{
	if (b->failed || b->cap - b->len < n) {
		b->failed = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
put_raw(struct jbuf *b, const char *s)
{
	put_bytes(b, s, strlen(s));
}

static void
put_str(struct jbuf *b, const char *s)
{
	if (!b->failed &&
	    edgeseal__json_quote(b->p, b->cap, &b->len, s, strlen(s)) != 0)
		b->failed = 1;
}

/* ,"name":"value" */
static void
put_member(struct jbuf *b, const char *name, const char *value)
{
	put_raw(b, ",\"");
	put_raw(b, name);
	put_raw(b, "\":");
	put_str(b, value);
}

static void
put_int_member(struct jbuf *b, const char *name, int64_t value)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, value);
	put_raw(b, ",\"");
	put_raw(b, name);
	put_raw(b, "\":");
	put_raw(b, num);
}

/*
 * 0 when obj is forwardable: room left for the seal's own claims, nesting
 * the verifier accepts, no reserved name.
 */
static int
forwardable(json_t *obj)
{
	const char *name;
	json_t *value;

	if (json_object_size(obj) > ES_CLAIMS_MAX - 8 ||
	    !edgeseal__json_depth_ok(obj, ES_JSON_DEPTH_MAX))
		return -1;
	json_object_foreach(obj, name, value)
		if (edgeseal__own_claim(name, strlen(name)))
			return -1;
	return 0;
}

/*
 * Append the members of the JSON object in text (len bytes) to b, as
 * Jansson writes them compactly. Returns EDGESEAL_OK,
 * EDGESEAL_INVALID_CLAIM_TYPE for anything but a strict JSON object that
 * forwardable() accepts, EDGESEAL_KEY_RESTRICTED for a claim the key may
 * not carry, or EDGESEAL_TOKEN_TOO_LARGE.
 */
static enum edgeseal_reason
put_forwarded(struct jbuf *b, const struct edgeseal__key *key,
	      const char *text, size_t len)
{
	enum edgeseal_reason rc = EDGESEAL_INVALID_CLAIM_TYPE, why;
	size_t room = b->cap - b->len, n;
	json_t *obj;

	if (len > MINT_CLAIMS_MAX)
		return EDGESEAL_TOKEN_TOO_LARGE;
	obj = edgeseal__json_object_load(text, len, &why);
	if (obj == NULL || forwardable(obj) != 0)
		goto out;

	/* The verifier would refuse it (rule 25): fail here, visibly. */
	rc = EDGESEAL_KEY_RESTRICTED;
	if (!edgeseal__key_permits_claims(key, obj))
		goto out;
	rc = EDGESEAL_OK;
	if (json_object_size(obj) == 0)
		goto out;

	/*
	 * Dumped in place as {"a":1,...}: the opening brace becomes the
	 * comma after the seal's own claims and the closing one is dropped.
	 */
	n = json_dumpb(obj, b->p + b->len, room, JSON_COMPACT);
	if (n == 0 || n > room) {
		b->failed = 1;
		rc = n == 0 ? EDGESEAL_INTERNAL_ERROR
			    : EDGESEAL_TOKEN_TOO_LARGE;
		goto out;
	}
	b->p[b->len] = ',';
	b->len += n - 1;
out:
	json_decref(obj);
	return rc;
}

/* The key to sign with: the named one, or the only one when kid is NULL. */
static const struct edgeseal__key *
signing_key(const struct edgeseal_keyset *ks, const char *kid)
{
	if (kid != NULL)
		return edgeseal__keyset_find(ks, kid, strlen(kid));
	return ks->count == 1 ? &ks->keys[0] : NULL;
}

/* 1 when an optional string claim is absent or non-empty UTF-8. */
static int
text_ok(const char *s)
{
	return s == NULL || (s[0] != '\0' && edgeseal__utf8_ok(s, strlen(s)));
}

/* Checks on everything the caller passed, before any work. */
static enum edgeseal_reason
check_opts(const struct edgeseal__key *key,
	   const struct edgeseal_mint_opts *o, int64_t now, int64_t ttl)
{
	if (key == NULL)
		return EDGESEAL_UNKNOWN_KID;
	if (o->sub == NULL || !edgeseal__subject_ok(o->sub, strlen(o->sub)))
		return EDGESEAL_INVALID_SUBJECT;
	if (o->act != NULL && !edgeseal__subject_ok(o->act, strlen(o->act)))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	if (!text_ok(o->issuer) || !text_ok(o->audience))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	if (now <= 0 || now >= ES_TIME_MAX - ttl)
		return EDGESEAL_INVALID_CLAIM_TYPE;
	if (!edgeseal__key_permits(key, o->sub, strlen(o->sub), o->act != NULL))
		return EDGESEAL_KEY_RESTRICTED;
	return EDGESEAL_OK;
}

/* The claims object of a seal into b. */
static enum edgeseal_reason
write_claims(struct jbuf *b, const struct edgeseal__key *key,
	     const struct edgeseal_mint_opts *o, int64_t now, int64_t ttl)
{
	uint8_t raw[ES_JTI_BYTES];
	char jti[ES_JTI_BYTES * 2];
	enum edgeseal_reason rc = EDGESEAL_OK;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return EDGESEAL_INTERNAL_ERROR;
	edgeseal__b64url_encode(raw, sizeof(raw), jti);

	put_raw(b, "{\"iss\":");
	put_str(b, o->issuer != NULL ? o->issuer : ES_DEFAULT_ISSUER);
	put_member(b, "sub", o->sub);
	if (o->audience != NULL)
		put_member(b, "aud", o->audience);
	put_int_member(b, "iat", now);
	put_int_member(b, "exp", now + ttl);
	put_member(b, "jti", jti);
	if (o->act != NULL) {
		put_raw(b, ",\"act\":{\"sub\":");
		put_str(b, o->act);
		put_raw(b, "}");
	}
	if (o->claims_json != NULL && !b->failed)
		rc = put_forwarded(b, key, o->claims_json,
				   o->claims_json_len);
	put_raw(b, "}");

	/* Every string was checked before: only a full buffer fails here. */
	if (rc == EDGESEAL_OK && b->failed)
		rc = EDGESEAL_TOKEN_TOO_LARGE;
	return rc;
}

/*
 * header.claims.mac into out. The signing input is encoded in place, so
 * the MAC is computed over exactly the bytes that are sent.
 */
static enum edgeseal_reason
assemble(const struct edgeseal__key *key, const struct jbuf *header,
	 const struct jbuf *claims, char *out, size_t out_size,
	 size_t *out_len)
{
	uint8_t mac[ES_HS256_LEN];
	size_t h = edgeseal__b64url_encoded_len(header->len);
	size_t c = edgeseal__b64url_encoded_len(claims->len);
	size_t m = edgeseal__b64url_encoded_len(ES_HS256_LEN);
	size_t pos;

	if (out_size < h + c + m + 3)
		return EDGESEAL_TOKEN_TOO_LARGE;

	pos = edgeseal__b64url_encode((const uint8_t *)header->p, header->len,
				      out);
	out[pos++] = '.';
	pos += edgeseal__b64url_encode((const uint8_t *)claims->p, claims->len,
				       out + pos);
	if (edgeseal__hmac_key_mac(&key->mac, out, pos, mac) != 0)
		return EDGESEAL_INTERNAL_ERROR;
	out[pos++] = '.';
	pos += edgeseal__b64url_encode(mac, sizeof(mac), out + pos);
	OPENSSL_cleanse(mac, sizeof(mac));
	*out_len = pos;
	return EDGESEAL_OK;
}

enum edgeseal_reason
edgeseal_mint(const struct edgeseal_keyset *ks,
	      const struct edgeseal_mint_opts *opts, int64_t now, char *out,
	      size_t out_size, size_t *out_len)
{
	char hbuf[MINT_HEADER_MAX], cbuf[MINT_CLAIMS_MAX];
	struct jbuf header = { hbuf, sizeof(hbuf), 0, 0 };
	struct jbuf claims = { cbuf, sizeof(cbuf), 0, 0 };
	const struct edgeseal__key *key;
	int64_t ttl;
	enum edgeseal_reason rc;

	if (ks == NULL || opts == NULL || out == NULL || out_len == NULL)
		return EDGESEAL_INTERNAL_ERROR;
	ttl = opts->ttl != 0 ? opts->ttl : ES_DEFAULT_TTL;
	key = signing_key(ks, opts->kid);
	rc = check_opts(key, opts, now, ttl);
	if (rc != EDGESEAL_OK)
		return rc;

	put_raw(&header, ES_HEADER_HEAD);
	put_str(&header, key->kid);
	put_raw(&header, "}");
	if (header.failed)
		return EDGESEAL_INTERNAL_ERROR;

	rc = write_claims(&claims, key, opts, now, ttl);
	if (rc != EDGESEAL_OK)
		return rc;
	return assemble(key, &header, &claims, out, out_size, out_len);
}
