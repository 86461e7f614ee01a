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

/* The header every seal carries, up to the kid's value and after it. */
#define HEADER_HEAD "{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":\""
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

/* The claims of a seal once their types are checked. */
struct claims {
	const char *iss, *sub, *aud, *jti, *act;
	size_t iss_len, sub_len, aud_len;
	int64_t iat, exp, nbf;
	int has_nbf;
	size_t known;		/* members above present in the object */
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

/*
 * Parse a JSON object with duplicate names refused. Returns the object or
 * NULL with *rc set to duplicate_member or malformed_token.
 */
static json_t *
parse_object(const char *text, size_t len, enum edgeseal_reason *rc)
{
	json_error_t jerr;
	json_t *obj;

	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL && json_error_code(&jerr) == json_error_duplicate_key)
		*rc = EDGESEAL_DUPLICATE_MEMBER;
	else if (!json_is_object(obj))
		*rc = EDGESEAL_MALFORMED_TOKEN;
	if (!json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
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
	json_t *hdr = parse_object(text, len, rc), *k;

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
	    memcmp(text + len - tail, HEADER_TAIL, tail) != 0)
		return 0;
	for (size_t i = head; i < len - tail; i++)
		if (text[i] <= ' ' || text[i] > '~' || text[i] == '"' ||
		    text[i] == '\\')
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
	const char *kid;
	size_t kid_len;

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
get_string(json_t *obj, const char *name, int required, const char **out,
	   size_t *len, size_t *known)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL)
		return required ? EDGESEAL_MISSING_CLAIM : EDGESEAL_OK;
	if (!json_is_string(v))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	*out = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	(*known)++;
	return EDGESEAL_OK;
}

/* A NumericDate: a JSON integer in (0, 2^53), so doubles agree on it. */
static enum edgeseal_reason
get_time(json_t *obj, const char *name, int required, int64_t *out,
	 size_t *known)
{
	json_t *v = json_object_get(obj, name);
	json_int_t t;

	if (v == NULL)
		return required ? EDGESEAL_MISSING_CLAIM : EDGESEAL_OK;
	if (!json_is_integer(v))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	t = json_integer_value(v);
	if (t <= 0 || t >= ES_TIME_MAX)
		return EDGESEAL_INVALID_CLAIM_TYPE;
	*out = t;
	(*known)++;
	return EDGESEAL_OK;
}

/* act: exactly {"sub": "<service>"} with a valid subject. */
static enum edgeseal_reason
get_act(json_t *obj, const char **act, size_t *known)
{
	json_t *v = json_object_get(obj, "act"), *sub;

	*act = NULL;
	if (v == NULL)
		return EDGESEAL_OK;
	sub = json_object_get(v, "sub");
	if (!json_is_object(v) || json_object_size(v) != 1 ||
	    !json_is_string(sub) ||
	    !edgeseal__subject_ok(json_string_value(sub),
				  json_string_length(sub)))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	*act = json_string_value(sub);
	(*known)++;
	return EDGESEAL_OK;
}

/* Every claim of the format, by type; the first failure wins. */
static enum edgeseal_reason
read_claims(json_t *obj, struct claims *c)
{
	enum edgeseal_reason rc;

	memset(c, 0, sizeof(*c));
	if ((rc = get_string(obj, "iss", 1, &c->iss, &c->iss_len, &c->known)) ||
	    (rc = get_string(obj, "sub", 1, &c->sub, &c->sub_len, &c->known)) ||
	    (rc = get_time(obj, "iat", 1, &c->iat, &c->known)) ||
	    (rc = get_time(obj, "exp", 1, &c->exp, &c->known)) ||
	    (rc = get_string(obj, "jti", 1, &c->jti, NULL, &c->known)) ||
	    (rc = get_string(obj, "aud", 0, &c->aud, &c->aud_len, &c->known)) ||
	    (rc = get_time(obj, "nbf", 0, &c->nbf, &c->known)) ||
	    (rc = get_act(obj, &c->act, &c->known)))
		return rc;

	c->has_nbf = json_object_get(obj, "nbf") != NULL;
	if (!edgeseal__subject_ok(c->sub, c->sub_len))
		return EDGESEAL_INVALID_SUBJECT;
	if (c->exp < c->iat)
		return EDGESEAL_INVALID_CLAIM_TYPE;
	return EDGESEAL_OK;
}

/*
 * The clock rules. Every value is in (0, 2^53) and leeway below 2^32, so
 * no sum or difference below can overflow whatever now is.
 */
static enum edgeseal_reason
check_time(const struct claims *c, const struct edgeseal__verify_rules *r,
	   int64_t now)
{
	if (c->iat - r->leeway > now)
		return EDGESEAL_IAT_IN_FUTURE;
	if (c->has_nbf && c->nbf - r->leeway > now)
		return EDGESEAL_NOT_YET_VALID;
	if (c->exp + r->leeway < now)
		return EDGESEAL_EXPIRED;
	if (c->exp - c->iat > r->max_lifetime)
		return EDGESEAL_LIFETIME_TOO_LONG;
	return EDGESEAL_OK;
}

static int
bytes_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
	return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* Issuer, audience and the restrictions of the key that signed. */
static enum edgeseal_reason
check_parties(const struct claims *c, const struct edgeseal__verify_rules *r,
	      const struct edgeseal__key *key)
{
	if (!bytes_equal(c->iss, c->iss_len, r->issuer, r->issuer_len))
		return EDGESEAL_BAD_ISSUER;
	if (r->audience == NULL && c->aud != NULL)
		return EDGESEAL_BAD_AUDIENCE;
	if (r->audience != NULL &&
	    (c->aud == NULL ||
	     !bytes_equal(c->aud, c->aud_len, r->audience, r->audience_len)))
		return EDGESEAL_BAD_AUDIENCE;
	if (!edgeseal__key_permits(key, c->sub, c->sub_len, c->act != NULL))
		return EDGESEAL_KEY_RESTRICTED;
	return EDGESEAL_OK;
}

/* The members that are not the format's own, as compact JSON text. */
static char *
forwarded_claims(json_t *obj, const struct claims *c)
{
	static const char *const own[] = {
		"iss", "sub", "iat", "exp", "nbf", "jti", "aud", "act",
	};
	json_t *copy;
	char *text;

	if (json_object_size(obj) == c->known)
		return strdup("{}");
	copy = json_copy(obj);
	for (size_t i = 0; copy != NULL && i < sizeof(own) / sizeof(own[0]); i++)
		json_object_del(copy, own[i]);
	text = copy != NULL ? json_dumps(copy, JSON_COMPACT) : NULL;
	json_decref(copy);
	return text;
}

/* Build the identity of a seal that passed every rule. */
static enum edgeseal_reason
make_identity(json_t *obj, const struct claims *c,
	      const struct edgeseal__key *key, struct edgeseal_identity **out)
{
	struct edgeseal__identity_fields f = {
		.sub = c->sub, .iss = c->iss, .aud = c->aud, .act = c->act,
		.jti = c->jti, .kid = key->kid, .iat = c->iat, .exp = c->exp,
	};
	char *claims = forwarded_claims(obj, c);

	f.claims_json = claims;
	*out = claims != NULL ? edgeseal__identity_new(&f) : NULL;
	free(claims);
	return *out != NULL ? EDGESEAL_OK : EDGESEAL_INTERNAL_ERROR;
}

/* The rules that read the claims, after the MAC has been checked. */
static enum edgeseal_reason
check_claims(const struct segments *seg, const struct edgeseal__key *key,
	     const struct edgeseal__verify_rules *rules, int64_t now,
	     struct edgeseal_identity **out)
{
	enum edgeseal_reason rc = EDGESEAL_OK;
	struct claims c;
	json_t *obj;

	obj = parse_object(seg->claims, seg->claims_len, &rc);
	if (obj == NULL)
		return rc;

	rc = read_claims(obj, &c);
	if (rc == EDGESEAL_OK)
		rc = check_time(&c, rules, now);
	if (rc == EDGESEAL_OK)
		rc = check_parties(&c, rules, key);
	if (rc == EDGESEAL_OK && out != NULL)
		rc = make_identity(obj, &c, key, out);
	json_decref(obj);
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
