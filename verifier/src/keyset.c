/*
 * keyset.c: seal key sets in memory: parse a JWKS of HS256 keys, look keys
 * up by kid, check a key's restrictions, wipe and free.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "base64url.h"
#include "internal.h"

void
edgeseal__set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Scrub the "k" string of one JWK inside Jansson's own buffer. */
static void
wipe_jwk(json_t *jwk)
{
	json_t *k = json_object_get(jwk, "k");

	/* The buffer is Jansson's, but nobody reads it after this. */
	if (json_is_string(k))
		OPENSSL_cleanse((char *)json_string_value(k),
				json_string_length(k));
}

void
edgeseal__jwks_wipe(json_t *root)
{
	json_t *jwk;
	size_t i;

	wipe_jwk(root);
	json_array_foreach(json_object_get(root, "keys"), i, jwk)
		wipe_jwk(jwk);
}

static void
key_clear(struct edgeseal__key *key)
{
	edgeseal__hmac_key_clear(&key->mac);
	free(key->kid);
	free(key->sub_prefix);
	for (size_t i = 0; i < key->allowed_count; i++)
		free(key->allowed_claims[i]);
	free(key->allowed_claims);
	memset(key, 0, sizeof(*key));
}

/* The secret of one JWK into key->mac; NULL on success, else why not. */
static const char *
parse_secret(json_t *jwk, struct edgeseal__key *key)
{
	json_t *k = json_object_get(jwk, "k");
	uint8_t secret[ES_KEY_MAX];
	const char *why = NULL;
	size_t len = 0;

	if (!json_is_string(k))
		return "k must be a base64url string";
	if (edgeseal__b64url_decoded_max(json_string_length(k)) > ES_KEY_MAX)
		return "k is longer than 256 bytes";

	if (edgeseal__b64url_decode(json_string_value(k), json_string_length(k),
				    secret, sizeof(secret), &len) != 0)
		why = "k is not canonical base64url";
	else if (len < ES_KEY_MIN)
		why = "k is shorter than 32 bytes";
	else if (edgeseal__hmac_key_init(&key->mac, secret, len) != 0)
		why = "cannot prepare the key";
	OPENSSL_cleanse(secret, sizeof(secret));
	return why;
}

/* The edgeseal_* restriction members of one JWK; NULL or why not. */
static const char *
parse_restrictions(json_t *jwk, struct edgeseal__key *key)
{
	json_t *prefix = json_object_get(jwk, "edgeseal_sub_prefix");
	json_t *act = json_object_get(jwk, "edgeseal_require_act");

	if (prefix != NULL) {
		if (!json_is_string(prefix) ||
		    !edgeseal__subject_ok(json_string_value(prefix),
					  json_string_length(prefix)))
			return "edgeseal_sub_prefix must be a valid subject";
		key->sub_prefix_len = json_string_length(prefix);
		key->sub_prefix = strndup(json_string_value(prefix),
					  key->sub_prefix_len);
		if (key->sub_prefix == NULL)
			return "out of memory";
	}

	if (act != NULL && !json_is_boolean(act))
		return "edgeseal_require_act must be true or false";
	key->require_act = json_is_true(act);
	return NULL;
}

/* 1 when key already lists name. */
static int
key_lists(const struct edgeseal__key *key, const char *name)
{
	for (size_t i = 0; i < key->allowed_count; i++)
		if (strcmp(key->allowed_claims[i], name) == 0)
			return 1;
	return 0;
}

/*
 * edgeseal_allowed_claims: the forwarded claims a restricted key may
 * carry. Each name follows the subject rule (so no control character can
 * hide in a log line), is not one of the format's own claims and appears
 * once. NULL on success, else why not.
 */
static const char *
parse_allowed_claims(json_t *list, struct edgeseal__key *key)
{
	json_t *name;
	size_t i;

	if (!json_is_array(list))
		return "edgeseal_allowed_claims must be an array of names";
	if (json_array_size(list) > ES_CLAIMS_MAX)
		return "edgeseal_allowed_claims lists more than 64 claims";

	/* One spare slot: calloc(0) may be NULL, and [] is a valid list. */
	key->allowed_claims = calloc(json_array_size(list) + 1,
				     sizeof(*key->allowed_claims));
	if (key->allowed_claims == NULL)
		return "out of memory";

	json_array_foreach(list, i, name) {
		if (!json_is_string(name) ||
		    !edgeseal__subject_ok(json_string_value(name),
					  json_string_length(name)))
			return "edgeseal_allowed_claims: each name must be "
			       "1-256 bytes of UTF-8 without control "
			       "characters or commas";
		if (edgeseal__own_claim(json_string_value(name),
					json_string_length(name)))
			return "edgeseal_allowed_claims may not name a claim "
			       "of the format (iss sub iat exp nbf jti aud "
			       "act)";
		if (key_lists(key, json_string_value(name)))
			return "edgeseal_allowed_claims names a claim twice";
		key->allowed_claims[i] = strdup(json_string_value(name));
		if (key->allowed_claims[i] == NULL)
			return "out of memory";
		key->allowed_count = i + 1;
	}
	return NULL;
}

/*
 * Any edgeseal_* member makes the key restricted: a key handed out with
 * a restriction must not carry claims nobody vetted, so an absent
 * allowed list means no forwarded claim at all.
 */
static const char *
parse_claim_rules(json_t *jwk, struct edgeseal__key *key)
{
	json_t *list = json_object_get(jwk, "edgeseal_allowed_claims");
	const char *name;
	json_t *value;

	/* A misspelt restriction would leave the key unrestricted. */
	json_object_foreach(jwk, name, value) {
		if (strncmp(name, "edgeseal_", 9) == 0 &&
		    strcmp(name, "edgeseal_sub_prefix") != 0 &&
		    strcmp(name, "edgeseal_require_act") != 0 &&
		    strcmp(name, "edgeseal_allowed_claims") != 0)
			return "unknown edgeseal_ member (the restrictions are "
			       "edgeseal_sub_prefix, edgeseal_require_act and "
			       "edgeseal_allowed_claims)";
	}

	key->restricted =
		json_object_get(jwk, "edgeseal_sub_prefix") != NULL ||
		json_object_get(jwk, "edgeseal_require_act") != NULL ||
		list != NULL;
	return list != NULL ? parse_allowed_claims(list, key) : NULL;
}

/* One JWK into key; NULL on success, else why not. */
static const char *
parse_key(json_t *jwk, struct edgeseal__key *key)
{
	json_t *kty = json_object_get(jwk, "kty");
	json_t *alg = json_object_get(jwk, "alg");
	json_t *kid = json_object_get(jwk, "kid");
	const char *why;

	if (!json_is_object(jwk))
		return "not a JSON object";
	if (!json_is_string(kty) || strcmp(json_string_value(kty), "oct") != 0)
		return "kty must be \"oct\"";

	/* An absent alg means HS256: it is the only algorithm of a seal key. */
	if (alg != NULL && (!json_is_string(alg) ||
			    strcmp(json_string_value(alg), "HS256") != 0))
		return "alg must be \"HS256\"";
	if (!json_is_string(kid) ||
	    !edgeseal__kid_ok(json_string_value(kid),
			      json_string_length(kid)))
		return "kid must be 1-128 printable ASCII characters";

	key->kid_len = json_string_length(kid);
	key->kid = strndup(json_string_value(kid), key->kid_len);
	if (key->kid == NULL)
		return "out of memory";

	why = parse_secret(jwk, key);
	if (why == NULL)
		why = parse_restrictions(jwk, key);
	if (why == NULL)
		why = parse_claim_rules(jwk, key);
	return why;
}

/*
 * 1 when key i signs like an earlier key. Comparing "k" is not enough:
 * HMAC pads a key with zero bytes to 64 and hashes a longer one, so K and
 * K || 00, or L and SHA-256(L), are one key under two kids. Equal MACs of
 * a fixed text mean equal effective keys. id[] holds each key's MAC.
 */
static int
same_secret_before(const struct edgeseal_keyset *ks, size_t i,
		   uint8_t (*id)[ES_HS256_LEN])
{
	static const char text[] = "edgeseal: one secret, one kid";

	if (edgeseal__hmac_key_mac(&ks->keys[i].mac, text, sizeof(text) - 1,
				   id[i]) != 0)
		return 1;	/* cannot tell: refuse rather than guess */
	for (size_t j = 0; j < i; j++)
		if (CRYPTO_memcmp(id[j], id[i], ES_HS256_LEN) == 0)
			return 1;
	return 0;
}

/* Parse every key of the "keys" array into ks; NULL or why not. */
static const char *
parse_keys(json_t *keys, struct edgeseal_keyset *ks, size_t *bad)
{
	uint8_t (*id)[ES_HS256_LEN];
	const char *why;
	json_t *jwk;
	size_t i;

	if (!json_is_array(keys))
		return "\"keys\" must be an array";
	if (json_array_size(keys) == 0)
		return "the key set has no key";

	ks->keys = calloc(json_array_size(keys), sizeof(*ks->keys));
	id = calloc(json_array_size(keys), sizeof(*id));
	if (ks->keys == NULL || id == NULL) {
		free(id);
		return "out of memory";
	}

	why = NULL;
	json_array_foreach(keys, i, jwk) {
		*bad = i;
		ks->count = i + 1;
		why = parse_key(jwk, &ks->keys[i]);
		if (why == NULL && edgeseal__keyset_find(ks, ks->keys[i].kid,
				ks->keys[i].kid_len) != &ks->keys[i])
			why = "duplicate kid";
		if (why == NULL && same_secret_before(ks, i, id))
			why = "the same secret as an earlier key: a kid's "
			      "restrictions mean nothing when another kid "
			      "has its secret";
		if (why != NULL)
			break;
	}
	OPENSSL_cleanse(id, json_array_size(keys) * sizeof(*id));
	free(id);
	return why;
}

struct edgeseal_keyset *
edgeseal_keyset_parse(const char *json, size_t len, char *err, size_t errlen)
{
	struct edgeseal_keyset *ks = NULL, *result = NULL;
	const char *why = "out of memory";
	size_t bad = SIZE_MAX;
	json_error_t jerr;
	json_t *root;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* Jansson ends its message with "near '<input>'", which
		 * here would be part of a secret: keep what comes before. */
		char *near = strstr(jerr.text, " near ");

		if (near != NULL)
			*near = '\0';
		edgeseal__set_err(err, errlen, "line %d column %d: %s",
				  jerr.line, jerr.column, jerr.text);
		goto out;
	}

	ks = calloc(1, sizeof(*ks));
	if (ks != NULL && !json_is_object(root))
		why = "not a JSON object";
	else if (ks != NULL)
		why = parse_keys(json_object_get(root, "keys"), ks, &bad);
	if (why != NULL && bad != SIZE_MAX)
		edgeseal__set_err(err, errlen, "key %zu: %s", bad, why);
	else if (why != NULL)
		edgeseal__set_err(err, errlen, "%s", why);
	if (why != NULL)
		goto out;

	result = ks;
	ks = NULL;
out:
	edgeseal_keyset_free(ks);
	if (root != NULL)
		edgeseal__jwks_wipe(root);
	json_decref(root);
	return result;
}

void
edgeseal_keyset_free(struct edgeseal_keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->count; i++)
		key_clear(&ks->keys[i]);
	free(ks->keys);
	free(ks);
}

size_t
edgeseal_keyset_count(const struct edgeseal_keyset *ks)
{
	return ks != NULL ? ks->count : 0;
}

int
edgeseal_keyset_has_kid(const struct edgeseal_keyset *ks, const char *kid)
{
	return kid != NULL &&
	       edgeseal__keyset_find(ks, kid, strlen(kid)) != NULL;
}

const char *
edgeseal_keyset_kid(const struct edgeseal_keyset *ks, size_t i)
{
	if (ks == NULL || i >= ks->count)
		return NULL;
	return ks->keys[i].kid;
}

int
edgeseal_keyset_restricted(const struct edgeseal_keyset *ks, size_t i)
{
	return ks != NULL && i < ks->count && ks->keys[i].restricted;
}

const char *
edgeseal_keyset_sub_prefix(const struct edgeseal_keyset *ks, size_t i)
{
	if (ks == NULL || i >= ks->count)
		return NULL;
	return ks->keys[i].sub_prefix;
}

const struct edgeseal__key *
edgeseal__keyset_find(const struct edgeseal_keyset *ks, const char *kid,
		      size_t kid_len)
{
	if (ks == NULL)
		return NULL;

	/* Key sets hold a handful of keys: a scan beats any index. */
	for (size_t i = 0; i < ks->count; i++)
		if (ks->keys[i].kid_len == kid_len &&
		    memcmp(ks->keys[i].kid, kid, kid_len) == 0)
			return &ks->keys[i];
	return NULL;
}

int
edgeseal__key_permits(const struct edgeseal__key *key, const char *sub,
		      size_t sub_len, int has_act)
{
	if (key->require_act && !has_act)
		return 0;
	if (key->sub_prefix != NULL &&
	    (sub_len < key->sub_prefix_len ||
	     memcmp(sub, key->sub_prefix, key->sub_prefix_len) != 0))
		return 0;
	return 1;
}

int
edgeseal__own_claim(const char *name, size_t len)
{
	static const char *const own[] = {
		"iss", "sub", "iat", "exp", "nbf", "jti", "aud", "act",
	};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (len == strlen(own[i]) && memcmp(name, own[i], len) == 0)
			return 1;
	return 0;
}

int
edgeseal__key_permits_claims(const struct edgeseal__key *key,
			     json_t *claims)
{
	const char *name;
	json_t *value;

	if (!key->restricted)
		return 1;

	/* Names hold no NUL: json.c refuses \u0000, so strlen is exact. */
	json_object_foreach(claims, name, value)
		if (!edgeseal__own_claim(name, strlen(name)) &&
		    !key_lists(key, name))
			return 0;
	return 1;
}
