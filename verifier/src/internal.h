/*
 * internal.h: what the files of libedgeseal share with each other and
 * nothing else. Helpers carry the edgeseal__ prefix and stay hidden.
 */
#ifndef EDGESEAL_INTERNAL_H
#define EDGESEAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "edgeseal.h"
#include "text.h"

#define ES_HS256_LEN 32		/* bytes of an HMAC-SHA256 tag */
#define ES_KEY_MIN 32		/* shortest seal key, in bytes */
#define ES_KEY_MAX 256		/* longest seal key we accept */
#define ES_KID_MAX 128		/* longest kid, in bytes */
#define ES_SUB_MAX 256		/* longest subject, in bytes */
#define ES_JTI_BYTES 16		/* 128 random bits */
#define ES_CLAIMS_MAX 64	/* members a seal's claims may have */
#define ES_JSON_DEPTH_MAX 32	/* containers nested inside the claims */
#define ES_DEFAULT_ISSUER "edgeseal"
#define ES_DEFAULT_TTL 60
#define ES_DEFAULT_MAX_LIFETIME 300
#define ES_MAX_LEEWAY 300	/* more would let a seal outlive its exp by minutes */
#define ES_DEFAULT_MAX_SIZE 4096
#define ES_TIME_MAX 9007199254740992LL	/* 2^53: iat and exp stay below */

/* The header every seal carries, up to the kid's quoted value. */
#define ES_HEADER_HEAD "{\"alg\":\"HS256\",\"typ\":\"edgeseal+jwt\",\"kid\":"

/* A key ready for HMAC-SHA256: SHA-256 states after ipad and opad. */
struct edgeseal__hmac_key {
	struct evp_md_ctx_st *inner;
	struct evp_md_ctx_st *outer;
};

/*
 * One seal key with the restrictions of its JWK. A key with any of the
 * edgeseal_* members is restricted: besides its subject and act rules,
 * it forwards only the claims its allowed list names (none by default).
 */
struct edgeseal__key {
	char *kid;
	size_t kid_len;
	struct edgeseal__hmac_key mac;	/* the secret, ready to use */
	char *sub_prefix;	/* NULL: any subject */
	size_t sub_prefix_len;
	int require_act;	/* 1: seals must name the acting service */
	int restricted;		/* 1: only allowed forwarded claims */
	char **allowed_claims;	/* names, NUL-terminated */
	size_t allowed_count;
};

struct edgeseal_keyset {
	struct edgeseal__key *keys;
	size_t count;
};

struct json_t;

/*
 * Wipe the base64url secret ("k") of every key of a parsed JWKS, or of a
 * single JWK, in place just before it is freed: Jansson frees unwiped.
 */
void edgeseal__jwks_wipe(struct json_t *root);

/* Format err like snprintf; tolerates err == NULL or errlen == 0. */
void edgeseal__set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * edgeseal_keyset_load() that also says whether a failure was transient
 * (the file could not be read) rather than the file's own fault.
 */
struct edgeseal_keyset *edgeseal__keyset_load(const char *path,
					      int *transient, char *err,
					      size_t errlen);

/* The key with this kid (kid_len bytes), or NULL. */
const struct edgeseal__key *
edgeseal__keyset_find(const struct edgeseal_keyset *ks, const char *kid,
		      size_t kid_len);

/*
 * Whether the key's restrictions allow a seal for sub (sub_len bytes) that
 * does (has_act != 0) or does not name an acting service.
 */
int edgeseal__key_permits(const struct edgeseal__key *key, const char *sub,
			  size_t sub_len, int has_act);

/*
 * 1 when name (len bytes) is a claim the format defines (iss sub iat exp
 * nbf jti aud act): never forwarded, never in an allowed list.
 */
int edgeseal__own_claim(const char *name, size_t len);

/*
 * Whether the key may carry every forwarded member of the JSON object
 * claims (members named by edgeseal__own_claim are skipped). Always 1
 * for an unrestricted key.
 */
int edgeseal__key_permits_claims(const struct edgeseal__key *key,
				 struct json_t *claims);

/*
 * Prepare hk for key (len bytes). Returns 0, or -1 with hk cleared. The
 * caller wipes key; hk holds only derived states, wiped by _clear.
 */
int edgeseal__hmac_key_init(struct edgeseal__hmac_key *hk, const uint8_t *key,
			    size_t len);
void edgeseal__hmac_key_clear(struct edgeseal__hmac_key *hk);

/* HMAC-SHA256 of n bytes under a prepared key. Returns 0 or -1. */
int edgeseal__hmac_key_mac(const struct edgeseal__hmac_key *hk,
			   const void *data, size_t n,
			   uint8_t out[ES_HS256_LEN]);

/* HMAC-SHA256 of n bytes under key. Returns 0, or -1 on an OpenSSL error. */
int edgeseal__hmac_sha256(const uint8_t *key, size_t key_len,
			  const void *data, size_t n,
			  uint8_t out[ES_HS256_LEN]);

/*
 * 1 when the two tags are equal: lengths first, then CRYPTO_memcmp, so the
 * time taken says nothing about where they differ.
 */
int edgeseal__mac_equal(const uint8_t *a, size_t a_len, const uint8_t *b,
			size_t b_len);

/* Length of the UTF-8 sequence at s (n > 0 bytes left), 0 if invalid/NUL. */
size_t edgeseal__utf8_seq_len(const unsigned char *s, size_t n);


/*
 * 1 when kid (len bytes) is a valid key id: 1..128 printable ASCII
 * characters without space, '"' or '\\', so it needs no JSON escaping.
 */
int edgeseal__kid_ok(const char *kid, size_t len);

/*
 * Append s (n bytes of UTF-8) as a quoted JSON string at *pos in buf of
 * size cap. Returns 0 and moves *pos, or -1 when s is not valid UTF-8 or
 * the buffer is too small (then *pos is unchanged).
 */
int edgeseal__json_quote(char *buf, size_t cap, size_t *pos, const char *s,
			 size_t n);

/*
 * Parse text (len bytes) with Jansson as the single JSON object it must
 * be, refusing a name repeated in any object at any depth and \u0000.
 * Returns the object (the caller decrefs it), or NULL with *why set to
 * EDGESEAL_DUPLICATE_MEMBER or EDGESEAL_MALFORMED_TOKEN.
 */
struct json_t *edgeseal__json_object_load(const char *text, size_t len,
					  enum edgeseal_reason *why);

/*
 * 1 when no array or object inside obj is nested more than max levels
 * deep (a member's own array or object is level 1), else 0.
 */
int edgeseal__json_depth_ok(const struct json_t *obj, int max);

/* What the seal verifier needs besides the key set; defaults applied. */
struct edgeseal__verify_rules {
	const char *issuer;
	size_t issuer_len;
	const char *audience;	/* NULL: aud must be absent */
	size_t audience_len;
	int64_t leeway;
	int64_t max_lifetime;
	size_t max_size;
};

/*
 * Verify one seal against a key set at time now, in the order written in
 * docs/seal-format.md. Pure: no I/O, no clock, no locks. On EDGESEAL_OK and
 * when out is not NULL, *out receives a new identity.
 */
enum edgeseal_reason
edgeseal__seal_verify(const struct edgeseal_keyset *ks,
		      const struct edgeseal__verify_rules *rules,
		      const char *seal, size_t seal_len, int64_t now,
		      struct edgeseal_identity **out);

/* A string by pointer and length; s NULL when absent. */
struct edgeseal__text {
	const char *s;
	size_t len;
};

/* The fields of a verified seal, still pointing into the claims. */
struct edgeseal__identity_fields {
	struct edgeseal__text sub, iss, aud, act, jti, kid;
	int64_t iat, exp;
	struct edgeseal__text claims_json;	/* forwarded, "{}" if none */
};

/* A new identity with NUL-terminated copies of every field, or NULL. */
struct edgeseal_identity *
edgeseal__identity_new(const struct edgeseal__identity_fields *f);

#endif
