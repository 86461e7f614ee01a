/*
 * jwt_front.c: Bearer rule, size cap, segments, canonical base64url, strict
 * JSON and the header members we refuse. See jwt_front.h for the order.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64url.h"
#include "jwt_front.h"

enum edgeseal_reason
es_bearer_token(const char *auth, size_t len, const char **tok,
		size_t *tok_len)
{
	static const char scheme[] = "bearer";
	const size_t slen = sizeof(scheme) - 1;

	if (auth == NULL || len == 0)
		return EDGESEAL_MISSING_TOKEN;

	/* The scheme is everything before the first space. */
	if (len < slen || strncasecmp(auth, scheme, slen) != 0 ||
	    (len > slen && auth[slen] != ' '))
		return EDGESEAL_MISSING_TOKEN;

	if (len <= slen + 1)
		return EDGESEAL_MALFORMED_TOKEN;
	*tok = auth + slen + 1;
	*tok_len = len - slen - 1;
	return EDGESEAL_OK;
}

int
es_json_depth_ok(const uint8_t *text, size_t len, unsigned max_depth)
{
	unsigned depth = 0;
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = text[i];

		if (in_string) {
			if (c == '\\')
				i++;	/* the escaped byte cannot end it */
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"')
			in_string = 1;
		else if ((c == '[' || c == '{') && ++depth > max_depth)
			return 0;
		else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return 1;
}

/* Where the dots are: 2 for a JWS, 4 for a JWE, anything else is wrong. */
static enum edgeseal_reason
split(const char *tok, size_t len, size_t dots[2])
{
	size_t count = 0;

	for (size_t i = 0; i < len; i++) {
		if (tok[i] != '.')
			continue;
		if (count < 2)
			dots[count] = i;
		count++;
	}
	if (count == 4)
		return EDGESEAL_UNSUPPORTED_TOKEN_TYPE;
	return count == 2 ? EDGESEAL_OK : EDGESEAL_MALFORMED_TOKEN;
}

/* Decode one segment into a fresh buffer (with a spare byte). */
static uint8_t *
decode(const char *s, size_t n, size_t *out_len)
{
	size_t cap = edgeseal__b64url_decoded_max(n);
	uint8_t *buf = malloc(cap + 1);

	if (buf != NULL && edgeseal__b64url_decode(s, n, buf, cap,
						   out_len) == 0)
		return buf;
	free(buf);
	return NULL;
}

/* Parse one JSON object with every member name unique. */
static enum edgeseal_reason
parse_object(const char *s, size_t n, json_t **out)
{
	enum edgeseal_reason r = EDGESEAL_MALFORMED_TOKEN;
	json_error_t jerr;
	uint8_t *text;
	size_t len;
	json_t *obj = NULL;

	text = decode(s, n, &len);
	if (text == NULL || len == 0)
		goto out;

	/* Jansson parses recursively: bound the depth before it runs. */
	if (!es_json_depth_ok(text, len, ES_JSON_MAX_DEPTH))
		goto out;
	obj = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES,
			 &jerr);
	if (obj == NULL) {
		if (json_error_code(&jerr) == json_error_duplicate_key)
			r = EDGESEAL_DUPLICATE_MEMBER;
		goto out;
	}
	if (!json_is_object(obj))
		goto out;
	*out = obj;
	obj = NULL;
	r = EDGESEAL_OK;
out:
	json_decref(obj);
	free(text);
	return r;
}

/* The header rules that need no key: alg, crit, key headers, kid, typ. */
static enum edgeseal_reason
check_header(struct es_jwt *jwt)
{
	static const char *const key_headers[] = { "jwk", "jku", "x5u",
						   "x5c" };
	const json_t *alg = json_object_get(jwt->header, "alg");
	const json_t *kid = json_object_get(jwt->header, "kid");
	const json_t *typ = json_object_get(jwt->header, "typ");

	if (!json_is_string(alg))
		return EDGESEAL_MALFORMED_TOKEN;
	if (strcasecmp(json_string_value(alg), "none") == 0)
		return EDGESEAL_ALG_NOT_ALLOWED;
	if (json_object_get(jwt->header, "crit") != NULL)
		return EDGESEAL_UNSUPPORTED_CRIT;

	/* Never fetched, never trusted: a token cannot bring its own key. */
	for (size_t i = 0; i < sizeof(key_headers) / sizeof(*key_headers); i++)
		if (json_object_get(jwt->header, key_headers[i]) != NULL)
			return EDGESEAL_UNTRUSTED_KEY_HEADER;

	if (kid != NULL && !json_is_string(kid))
		return EDGESEAL_MALFORMED_TOKEN;
	if (typ != NULL && !json_is_string(typ))
		return EDGESEAL_UNSUPPORTED_TOKEN_TYPE;

	jwt->alg = json_string_value(alg);
	jwt->alg_len = json_string_length(alg);
	jwt->kid = json_string_value(kid);
	jwt->kid_len = kid != NULL ? json_string_length(kid) : 0;
	jwt->typ = json_string_value(typ);
	return EDGESEAL_OK;
}

enum edgeseal_reason
es_jwt_parse(const char *tok, size_t len, size_t cap, struct es_jwt *out)
{
	enum edgeseal_reason r;
	struct es_jwt jwt = { .token = tok, .len = len };
	size_t dots[2];

	r = EDGESEAL_TOKEN_TOO_LARGE;
	if (len > cap)
		goto out;
	r = split(tok, len, dots);
	if (r != EDGESEAL_OK)
		goto out;
	jwt.signing_len = dots[1];

	r = parse_object(tok, dots[0], &jwt.header);
	if (r == EDGESEAL_OK)
		r = parse_object(tok + dots[0] + 1, dots[1] - dots[0] - 1,
				 &jwt.payload);
	if (r != EDGESEAL_OK)
		goto out;

	/* An empty signature decodes to nothing: left for bad_signature. */
	r = EDGESEAL_MALFORMED_TOKEN;
	jwt.sig = decode(tok + dots[1] + 1, len - dots[1] - 1, &jwt.sig_len);
	if (jwt.sig == NULL)
		goto out;

	r = check_header(&jwt);
out:
	if (r == EDGESEAL_OK)
		*out = jwt;
	else
		es_jwt_release(&jwt);
	return r;
}

void
es_jwt_release(struct es_jwt *jwt)
{
	json_decref(jwt->header);
	json_decref(jwt->payload);
	free(jwt->sig);
	memset(jwt, 0, sizeof(*jwt));
}
