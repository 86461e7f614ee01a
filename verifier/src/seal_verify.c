/*
 * seal_verify.c: the strict seal verifier. The rules and their order are
 * those of docs/seal-format.md; the first rule that fails names the reason.
 * Pure: the key set, the rules and the time are parameters.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "base64url.h"
#include "internal.h"

/* The minter's header around a kid that needs no escaping. */
#define HEADER_HEAD ES_HEADER_HEAD "\""
#define HEADER_TAIL "\"}"

/* Decoded segments of one seal; the stack buffer fits default-sized ones. */
struct segments {
	uint8_t stack[3072];
	uint8_t *buf;
	const char *header, *claims;
	size_t header_len, claims_len;
	const uint8_t *mac;
	size_t mac_len;
	size_t signed_len;	/* bytes of "header.claims" in the seal */
};

/* The claims of a seal: the parsed object, then the format's own by type. */
struct claims {
	json_t *obj;
	struct edgeseal__text iss, sub, aud, jti, act;
	int64_t iat, exp, nbf;
};

/* Find the two dots of header.claims.mac; every part non-empty. */
static enum edgeseal_reason
split(const char *seal, size_t len, size_t *dot1, size_t *dot2)
{
	const char *a, *b;

	a = memchr(seal, '.', len);
	if (a == NULL)
		return EDGESEAL_MALFORMED_TOKEN;
	b = memchr(a + 1, '.', len - (size_t)(a + 1 - seal));
	if (b == NULL || memchr(b + 1, '.', len - (size_t)(b + 1 - seal)))
		return EDGESEAL_MALFORMED_TOKEN;

	*dot1 = (size_t)(a - seal);
	*dot2 = (size_t)(b - seal);
	if (*dot1 == 0 || *dot2 == *dot1 + 1 || *dot2 + 1 == len)
		return EDGESEAL_MALFORMED_TOKEN;
	return EDGESEAL_OK;
}

/* Decode one segment at *at in seg->buf; -1 when not canonical. */
static int
decode_one(const char *text, size_t n, uint8_t **at, const uint8_t *end,
	   size_t *len)
{
	if (edgeseal__b64url_decode(text, n, *at, (size_t)(end - *at),
				    len) != 0)
		return -1;
	*at += *len;
	return 0;
}

/* Split and decode the three segments of a seal into seg. */
static enum edgeseal_reason
decode_segments(const char *seal, size_t len, struct segments *seg)
{
	size_t dot1, dot2, cap = edgeseal__b64url_decoded_max(len);
	enum edgeseal_reason rc;
	uint8_t *at, *end;

	rc = split(seal, len, &dot1, &dot2);
	if (rc != EDGESEAL_OK)
		return rc;
	seg->signed_len = dot2;
	seg->buf = cap <= sizeof(seg->stack) ? seg->stack : malloc(cap);
	if (seg->buf == NULL)
		return EDGESEAL_INTERNAL_ERROR;

	at = seg->buf;
	end = seg->buf + cap;
	seg->header = (const char *)at;
	if (decode_one(seal, dot1, &at, end, &seg->header_len) != 0)
		return EDGESEAL_MALFORMED_TOKEN;
	seg->claims = (const char *)at;
	if (decode_one(seal + dot1 + 1, dot2 - dot1 - 1, &at, end,
		       &seg->claims_len) != 0)
		return EDGESEAL_MALFORMED_TOKEN;
	seg->mac = at;
	if (decode_one(seal + dot2 + 1, len - dot2 - 1, &at, end,
		       &seg->mac_len) != 0)
		return EDGESEAL_MALFORMED_TOKEN;
	return EDGESEAL_OK;
}

/* 1 when member name of obj is a string equal to want. */
static int
member_is(json_t *obj, const char *name, const char *want)
{
	json_t *v = json_object_get(obj, name);

	return json_is_string(v) && strcmp(json_string_value(v), want) == 0 &&
	       json_string_length(v) == strlen(want);
}

/*
 * The general header check: exactly alg, typ and kid, in any order.
 * Sets *kid (pointing into the returned object, which the caller frees).
 */
static json_t *
check_header_json(const char *text, size_t len, const char **kid,
		  size_t *kid_len, enum edgeseal_reason *rc)
{
	json_t *hdr = edgeseal__json_object_load(text, len, rc), *k;

	if (hdr == NULL)
		return NULL;
	k = json_object_get(hdr, "kid");
	if (!member_is(hdr, "alg", "HS256"))
		*rc = EDGESEAL_ALG_NOT_ALLOWED;
	else if (json_object_get(hdr, "crit") != NULL)
		*rc = EDGESEAL_UNSUPPORTED_CRIT;
	else if (json_object_get(hdr, "jku") || json_object_get(hdr, "jwk") ||
		 json_object_get(hdr, "x5u") || json_object_get(hdr, "x5c"))
		*rc = EDGESEAL_UNTRUSTED_KEY_HEADER;
	else if (!member_is(hdr, "typ", "edgeseal+jwt"))
		*rc = EDGESEAL_UNSUPPORTED_TOKEN_TYPE;
	else if (!json_is_string(k))
		*rc = EDGESEAL_UNKNOWN_KID;
	else if (json_object_size(hdr) != 3)
		*rc = EDGESEAL_MALFORMED_TOKEN;
	else
		*rc = EDGESEAL_OK;

	*kid = json_string_value(k);
	*kid_len = json_string_length(k);
	return hdr;
}

/*
 * The header in the exact form our minter writes, recognised without a
 * JSON parser: the prefix, a kid free of quotes and escapes, the suffix.
 * Any other spelling goes to check_header_json(). Returns 1 on a match.
 */
static int
canonical_header(const char *text, size_t len, const char **kid,
		 size_t *kid_len)
{
	size_t head = sizeof(HEADER_HEAD) - 1, tail = sizeof(HEADER_TAIL) - 1;

	if (len <= head + tail || memcmp(text, HEADER_HEAD, head) != 0 ||
	    memcmp(text + len - tail, HEADER_TAIL, tail) != 0 ||
	    !edgeseal__kid_ok(text + head, len - head - tail))
		return 0;
	*kid = text + head;
	*kid_len = len - head - tail;
	return 1;
}

/* Check the header and find the key its kid names; never another key. */
static enum edgeseal_reason
find_key(const struct edgeseal_keyset *ks, const struct segments *seg,
	 const struct edgeseal__key **key)
{
	enum edgeseal_reason rc = EDGESEAL_OK;
	json_t *hdr = NULL;
	const char *kid = NULL;
	size_t kid_len = 0;

	if (!canonical_header(seg->header, seg->header_len, &kid, &kid_len))
		hdr = check_header_json(seg->header, seg->header_len, &kid,
					&kid_len, &rc);
	if (rc == EDGESEAL_OK) {
		*key = edgeseal__keyset_find(ks, kid, kid_len);
		if (*key == NULL)
			rc = EDGESEAL_UNKNOWN_KID;
	}
	json_decref(hdr);
	return rc;
}

/* The MAC over header.claims as sent, compared in constant time. */
static enum edgeseal_reason
check_mac(const struct edgeseal__key *key, const char *seal,
	  const struct segments *seg)
{
	uint8_t mac[ES_HS256_LEN];
	enum edgeseal_reason rc = EDGESEAL_BAD_SIGNATURE;

	if (seg->mac_len != ES_HS256_LEN)
		return rc;
	if (edgeseal__hmac_key_mac(&key->mac, seal, seg->signed_len, mac) != 0)
		rc = EDGESEAL_INTERNAL_ERROR;
	else if (edgeseal__mac_equal(mac, sizeof(mac), seg->mac, seg->mac_len))
		rc = EDGESEAL_OK;
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* A string claim; missing is an error only when required. */
static enum edgeseal_reason
get_string(const struct claims *c, const char *name, int required,
	   struct edgeseal__text *out)
{
	json_t *v = json_object_get(c->obj, name);

	out->s = NULL;
	out->len = 0;
	if (v == NULL)
		return required ? EDGESEAL_MISSING_CLAIM : EDGESEAL_OK;
	if (!json_is_string(v))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	out->s = json_string_value(v);
	out->len = json_string_length(v);
	return EDGESEAL_OK;
}

/*
 * A NumericDate: a JSON integer in (0, 2^53), so doubles agree on it.
 * Jansson keeps "1.0" and "1e3" as reals, which fail here as they should.
 */
static enum edgeseal_reason
get_time(const struct claims *c, const char *name, int required,
	 int64_t *out)
{
	json_t *v = json_object_get(c->obj, name);

	if (v == NULL)
		return required ? EDGESEAL_MISSING_CLAIM : EDGESEAL_OK;
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) >= ES_TIME_MAX)
		return EDGESEAL_INVALID_CLAIM_TYPE;
	*out = json_integer_value(v);
	return EDGESEAL_OK;
}

/* act: exactly {"sub": "<service>"} with a valid subject. */
static enum edgeseal_reason
get_act(struct claims *c)
{
	json_t *act = json_object_get(c->obj, "act"), *sub;

	if (act == NULL)
		return EDGESEAL_OK;
	sub = json_object_get(act, "sub");
	if (!json_is_object(act) || json_object_size(act) != 1 ||
	    !json_is_string(sub) ||
	    !edgeseal__subject_ok(json_string_value(sub),
				  json_string_length(sub)))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	c->act.s = json_string_value(sub);
	c->act.len = json_string_length(sub);
	return EDGESEAL_OK;
}

/* Every claim of the format, by type; the first failure wins. */
static enum edgeseal_reason
read_claims(struct claims *c)
{
	enum edgeseal_reason rc;

	if ((rc = get_string(c, "iss", 1, &c->iss)) ||
	    (rc = get_string(c, "sub", 1, &c->sub)) ||
	    (rc = get_time(c, "iat", 1, &c->iat)) ||
	    (rc = get_time(c, "exp", 1, &c->exp)) ||
	    (rc = get_string(c, "jti", 1, &c->jti)) ||
	    (rc = get_string(c, "aud", 0, &c->aud)) ||
	    (rc = get_time(c, "nbf", 0, &c->nbf)) ||
	    (rc = get_act(c)))
		return rc;

	if (!edgeseal__subject_ok(c->sub.s, c->sub.len))
		return EDGESEAL_INVALID_SUBJECT;
	if (c->exp < c->iat)
		return EDGESEAL_INVALID_CLAIM_TYPE;
	return EDGESEAL_OK;
}

/*
 * The clock rules. Every value is in (0, 2^53) and leeway below 2^32, so
 * no sum or difference below can overflow whatever now is. nbf is 0 when
 * absent, which never fails.
 */
static enum edgeseal_reason
check_time(const struct claims *c, const struct edgeseal__verify_rules *r,
	   int64_t now)
{
	if (c->iat - r->leeway > now)
		return EDGESEAL_IAT_IN_FUTURE;
	if (c->nbf - r->leeway > now)
		return EDGESEAL_NOT_YET_VALID;
	if (c->exp + r->leeway < now)
		return EDGESEAL_EXPIRED;
	if (c->exp - c->iat > r->max_lifetime)
		return EDGESEAL_LIFETIME_TOO_LONG;
	return EDGESEAL_OK;
}

static int
text_equal(struct edgeseal__text t, const char *s, size_t len)
{
	return t.len == len && memcmp(t.s, s, len) == 0;
}

/* Issuer, audience and the restrictions of the key that signed. */
static enum edgeseal_reason
check_parties(const struct claims *c, const struct edgeseal__verify_rules *r,
	      const struct edgeseal__key *key)
{
	if (!text_equal(c->iss, r->issuer, r->issuer_len))
		return EDGESEAL_BAD_ISSUER;
	if (r->audience == NULL && c->aud.s != NULL)
		return EDGESEAL_BAD_AUDIENCE;
	if (r->audience != NULL &&
	    (c->aud.s == NULL ||
	     !text_equal(c->aud, r->audience, r->audience_len)))
		return EDGESEAL_BAD_AUDIENCE;
	if (!edgeseal__key_permits(key, c->sub.s, c->sub.len,
				   c->act.s != NULL) ||
	    !edgeseal__key_permits_claims(key, c->obj))
		return EDGESEAL_KEY_RESTRICTED;
	return EDGESEAL_OK;
}

/*
 * The forwarded members as compact JSON, in the seal's order, written by
 * Jansson: a new object borrowing the values, dumped once. The caller
 * frees the text.
 */
static char *
forwarded_claims(json_t *claims)
{
	json_t *fwd = json_object(), *value;
	const char *name;
	char *text = NULL;

	if (fwd == NULL)
		return NULL;
	json_object_foreach(claims, name, value)
		if (!edgeseal__own_claim(name, strlen(name)) &&
		    json_object_set(fwd, name, value) != 0)
			goto out;
	text = json_dumps(fwd, JSON_COMPACT);
out:
	json_decref(fwd);
	return text;
}

/* Build the identity of a seal that passed every rule. */
static enum edgeseal_reason
make_identity(const struct claims *c, const struct edgeseal__key *key,
	      struct edgeseal_identity **out)
{
	struct edgeseal__identity_fields f = {
		.sub = c->sub, .iss = c->iss, .aud = c->aud, .act = c->act,
		.jti = c->jti, .kid = { key->kid, key->kid_len },
		.iat = c->iat, .exp = c->exp,
	};
	char *claims = forwarded_claims(c->obj);

	f.claims_json = (struct edgeseal__text){ claims,
		claims != NULL ? strlen(claims) : 0 };
	*out = claims != NULL ? edgeseal__identity_new(&f) : NULL;
	free(claims);
	return *out != NULL ? EDGESEAL_OK : EDGESEAL_INTERNAL_ERROR;
}

/*
 * The claims object into c->obj: strict JSON (json.c), at most
 * ES_CLAIMS_MAX members, nesting at most ES_JSON_DEPTH_MAX deep.
 */
static enum edgeseal_reason
parse_claims(const struct segments *seg, struct claims *c)
{
	enum edgeseal_reason rc = EDGESEAL_MALFORMED_TOKEN;

	c->obj = edgeseal__json_object_load(seg->claims, seg->claims_len, &rc);
	if (c->obj == NULL)
		return rc;
	if (json_object_size(c->obj) > ES_CLAIMS_MAX ||
	    !edgeseal__json_depth_ok(c->obj, ES_JSON_DEPTH_MAX))
		return EDGESEAL_MALFORMED_TOKEN;
	return EDGESEAL_OK;
}

/* The rules that read the claims, after the MAC has been checked. */
static enum edgeseal_reason
check_claims(const struct segments *seg, const struct edgeseal__key *key,
	     const struct edgeseal__verify_rules *rules, int64_t now,
	     struct edgeseal_identity **out)
{
	struct claims c = { .obj = NULL };
	enum edgeseal_reason rc;

	rc = parse_claims(seg, &c);
	if (rc == EDGESEAL_OK)
		rc = read_claims(&c);
	if (rc == EDGESEAL_OK)
		rc = check_time(&c, rules, now);
	if (rc == EDGESEAL_OK)
		rc = check_parties(&c, rules, key);
	if (rc == EDGESEAL_OK && out != NULL)
		rc = make_identity(&c, key, out);

	json_decref(c.obj);
	return rc;
}

enum edgeseal_reason
edgeseal__seal_verify(const struct edgeseal_keyset *ks,
		      const struct edgeseal__verify_rules *rules,
		      const char *seal, size_t seal_len, int64_t now,
		      struct edgeseal_identity **out)
{
	struct segments seg = { .buf = NULL };
	const struct edgeseal__key *key = NULL;
	enum edgeseal_reason rc;

	if (seal == NULL || seal_len == 0)
		return EDGESEAL_MISSING_TOKEN;
	if (seal_len > rules->max_size)
		return EDGESEAL_TOKEN_TOO_LARGE;
	if (ks == NULL)
		return EDGESEAL_NO_KEY;

	rc = decode_segments(seal, seal_len, &seg);
	if (rc == EDGESEAL_OK)
		rc = find_key(ks, &seg, &key);
	if (rc == EDGESEAL_OK)
		rc = check_mac(key, seal, &seg);
	if (rc == EDGESEAL_OK)
		rc = check_claims(&seg, key, rules, now, out);

	if (seg.buf != NULL && seg.buf != seg.stack)
		free(seg.buf);
	return rc;
}
