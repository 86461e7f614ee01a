/*
 * jwt_front.h: the strict front end every user token passes before any key
 * or signature work. Pure: bytes in, a parsed token or a reason out; no
 * clock, no files, no keys.
 *
 * It exists because libjwt 1.10 fails open on several inputs (empty keys,
 * non-canonical base64url, duplicate members, crit, huge segments); here
 * each of those is refused with a stable reason before anything else runs.
 */
#ifndef ES_JWT_FRONT_H
#define ES_JWT_FRONT_H

#include <stddef.h>
#include <stdint.h>

#include <edgeseal.h>
#include <jansson.h>

/* Deepest JSON nesting we hand to Jansson, whose parser recurses. */
#define ES_JSON_MAX_DEPTH 16

/* A token that passed the front end; nothing in it is trusted yet. */
struct es_jwt {
	const char *token;	/* the compact token, not owned */
	size_t len;
	size_t signing_len;	/* bytes of "header.payload" */
	json_t *header;
	json_t *payload;
	uint8_t *sig;		/* decoded signature, owned */
	size_t sig_len;
	const char *alg;	/* header alg, borrowed from header */
	size_t alg_len;
	const char *kid;	/* header kid or NULL */
	size_t kid_len;
	const char *typ;	/* header typ or NULL */
};

/*
 * The Bearer rule (RFC 6750 section 2.1, narrowed): the value is the scheme
 * "Bearer" in any case, exactly one space, then the token. auth NULL, empty,
 * or another scheme: EDGESEAL_MISSING_TOKEN. "Bearer" followed by nothing,
 * by no space or by an empty token: EDGESEAL_MALFORMED_TOKEN. On EDGESEAL_OK
 * *tok points into auth.
 */
enum edgeseal_reason es_bearer_token(const char *auth, size_t len,
				     const char **tok, size_t *tok_len);

/*
 * Parse a compact JWS of len bytes, refusing it past cap bytes. In order:
 * token_too_large; five segments unsupported_token_type (JWE); not three
 * malformed_token; non-canonical base64url malformed_token; JSON too deep,
 * invalid, or not an object malformed_token; a repeated member
 * duplicate_member; header alg absent or not a string malformed_token;
 * alg "none" in any casing alg_not_allowed; crit unsupported_crit; jwk,
 * jku, x5u or x5c untrusted_key_header; kid not a string malformed_token;
 * typ not a string unsupported_token_type.
 *
 * On EDGESEAL_OK out holds the token and must be released with
 * es_jwt_release(); on failure out needs no release.
 */
enum edgeseal_reason es_jwt_parse(const char *tok, size_t len, size_t cap,
				  struct es_jwt *out);

void es_jwt_release(struct es_jwt *jwt);

/* Is the JSON text's nesting at most max_depth? Strings are skipped. */
int es_json_depth_ok(const uint8_t *text, size_t len, unsigned max_depth);

#endif
