/*
 * edgeseal.h: verify and mint edgeseal seals.
 *
 * A seal is a JWS compact token (RFC 7515) MACed with HS256 under a key from
 * a JSON Web Key Set of symmetric keys. The gateway mints one per request;
 * internal services verify it next to X-User-Id and X-Internal-Call; jobs
 * with no user request mint their own with a service key.
 *
 * Conventions: every function that can fail returns an enum edgeseal_reason
 * (EDGESEAL_OK on success) or NULL; outputs are written only on success.
 * Strings are NUL-terminated unless a length is passed beside them. Objects
 * are opaque, created by _new/_load/_parse and released by _free, and every
 * _free accepts NULL. Time is always a parameter (seconds since the epoch)
 * so callers and tests control the clock.
 *
 * Thread safety: a struct edgeseal_keyset is immutable once loaded and may
 * be shared by any number of threads. A struct edgeseal_verifier may be used
 * by many threads at once, including while another thread replaces its key
 * set with edgeseal_verifier_set_keyset().
 */
#ifndef EDGESEAL_H
#define EDGESEAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EDGESEAL_BUILDING)
#define EDGESEAL_API __attribute__((visibility("default")))
#else
#define EDGESEAL_API
#endif
#define EDGESEAL_MUST_CHECK __attribute__((warn_unused_result))

/*
 * Every way a token, a seal or a request can be refused. The strings given
 * by edgeseal_reason_str() are stable: they are the agent's `reason`
 * variable, the log field, the metric label and the CLI's message. Values
 * are only ever appended.
 */
enum edgeseal_reason {
	EDGESEAL_OK = 0,
	EDGESEAL_MISSING_TOKEN,		/* missing_token */
	EDGESEAL_MALFORMED_TOKEN,	/* malformed_token */
	EDGESEAL_TOKEN_TOO_LARGE,	/* token_too_large */
	EDGESEAL_ALG_NOT_ALLOWED,	/* alg_not_allowed */
	EDGESEAL_UNKNOWN_KID,		/* unknown_kid */
	EDGESEAL_BAD_SIGNATURE,		/* bad_signature */
	EDGESEAL_UNSUPPORTED_CRIT,	/* unsupported_crit */
	EDGESEAL_UNTRUSTED_KEY_HEADER,	/* untrusted_key_header */
	EDGESEAL_DUPLICATE_MEMBER,	/* duplicate_member */
	EDGESEAL_INVALID_CLAIM_TYPE,	/* invalid_claim_type */
	EDGESEAL_MISSING_CLAIM,		/* missing_claim */
	EDGESEAL_EXPIRED,		/* expired */
	EDGESEAL_NOT_YET_VALID,		/* not_yet_valid */
	EDGESEAL_IAT_IN_FUTURE,		/* iat_in_future */
	EDGESEAL_LIFETIME_TOO_LONG,	/* lifetime_too_long */
	EDGESEAL_BAD_ISSUER,		/* bad_issuer */
	EDGESEAL_BAD_AUDIENCE,		/* bad_audience */
	EDGESEAL_INVALID_SUBJECT,	/* invalid_subject */
	EDGESEAL_UNSUPPORTED_TOKEN_TYPE, /* unsupported_token_type */
	EDGESEAL_NO_KEY,		/* no_key */
	EDGESEAL_SUBJECT_MISMATCH,	/* subject_mismatch */
	EDGESEAL_MISSING_INTERNAL_CALL,	/* missing_internal_call */
	EDGESEAL_DUPLICATE_HEADER,	/* duplicate_header */
	EDGESEAL_INTERNAL_ERROR,	/* internal_error */
	EDGESEAL_KEY_RESTRICTED,	/* key_restricted: a job key used
					   outside its restriction */
	EDGESEAL_CLAIMS_TOO_LARGE,	/* claims_too_large: the forwarded
					   claims do not fit a seal */
	EDGESEAL_REASON_COUNT
};

/* The stable string for a reason; "internal_error" for unknown values. */
EDGESEAL_API const char *edgeseal_reason_str(enum edgeseal_reason reason);

/* The reason for a stable string, or EDGESEAL_REASON_COUNT if unknown. */
EDGESEAL_API enum edgeseal_reason edgeseal_reason_from_str(const char *s);

/* ------------------------------------------------------------------ */
/* Key sets                                                            */
/* ------------------------------------------------------------------ */

/*
 * A JSON Web Key Set (RFC 7517) of symmetric keys:
 *   {"keys": [{"kty": "oct", "kid": "...", "alg": "HS256", "k": "<b64url>",
 *              "edgeseal_sub_prefix": "job:",   (optional restriction)
 *              "edgeseal_require_act": true,    (optional restriction)
 *              "edgeseal_allowed_claims": ["scope"]}]}  (optional
 *              restriction: the forwarded claims a restricted key may carry)
 * Every key is at least 32 bytes; kids are unique; the set is not empty.
 */
struct edgeseal_keyset;

/*
 * Load a key set file. Refuses a file that is not a regular file, is
 * readable or writable by group or others, or is owned by another user than
 * the caller, as well as every content rule above. On failure returns NULL
 * and writes "<path>: <reason>" into err (if errlen > 0).
 */
EDGESEAL_API struct edgeseal_keyset *
edgeseal_keyset_load(const char *path, char *err, size_t errlen);

/* Parse a key set from memory (no file checks). As _load otherwise. */
EDGESEAL_API struct edgeseal_keyset *
edgeseal_keyset_parse(const char *json, size_t len, char *err, size_t errlen);

/* Wipe every secret and free. Accepts NULL. */
EDGESEAL_API void edgeseal_keyset_free(struct edgeseal_keyset *ks);

/* Number of keys, and whether one has this kid. */
EDGESEAL_API size_t edgeseal_keyset_count(const struct edgeseal_keyset *ks);
EDGESEAL_API int edgeseal_keyset_has_kid(const struct edgeseal_keyset *ks,
					 const char *kid);

/* The kid of key number i (0 <= i < count), or NULL. */
EDGESEAL_API const char *edgeseal_keyset_kid(const struct edgeseal_keyset *ks,
					     size_t i);

/* 1 when key number i has any edgeseal_* restriction (a job key), else 0. */
EDGESEAL_API int edgeseal_keyset_restricted(const struct edgeseal_keyset *ks,
					    size_t i);

/* The edgeseal_sub_prefix of key number i, or NULL when it has none. */
EDGESEAL_API const char *
edgeseal_keyset_sub_prefix(const struct edgeseal_keyset *ks, size_t i);

/*
 * Add a fresh random 32-byte HS256 key to the key set file at path,
 * creating the file with mode 0600 if it does not exist. kid may be NULL
 * for a generated one. The file is replaced atomically (write, fsync,
 * rename). The kid used is copied into kid_out when it is not NULL; it
 * must then hold the kid and its NUL (13 bytes for a generated kid), or
 * nothing is written and EDGESEAL_INTERNAL_ERROR is returned.
 */
EDGESEAL_API enum edgeseal_reason EDGESEAL_MUST_CHECK
edgeseal_keyset_add_key(const char *path, const char *kid, char *kid_out,
			size_t kid_out_len, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Minting                                                             */
/* ------------------------------------------------------------------ */

struct edgeseal_mint_opts {
	const char *kid;	/* signing key id; NULL: the set's only key */
	const char *sub;	/* required, 1-256 bytes, no control chars */
	const char *issuer;	/* NULL: "edgeseal" */
	const char *audience;	/* NULL: no aud claim */
	const char *act;	/* acting service, NULL: no act claim */
	unsigned ttl;		/* seconds; 0: 60 */
	const char *claims_json; /* NULL or a JSON object of extra claims to
				    copy; reserved names are refused */
	size_t claims_json_len;
};

/*
 * Mint a seal at time now into out (NUL-terminated). Returns EDGESEAL_OK and
 * sets *out_len, or a reason (EDGESEAL_UNKNOWN_KID, EDGESEAL_INVALID_SUBJECT,
 * EDGESEAL_KEY_RESTRICTED, EDGESEAL_TOKEN_TOO_LARGE when out is too small,
 * EDGESEAL_INVALID_CLAIM_TYPE for bad claims_json, ...). Thread-safe.
 */
EDGESEAL_API enum edgeseal_reason EDGESEAL_MUST_CHECK
edgeseal_mint(const struct edgeseal_keyset *ks,
	      const struct edgeseal_mint_opts *opts, int64_t now, char *out,
	      size_t out_size, size_t *out_len);

/* ------------------------------------------------------------------ */
/* Verification                                                        */
/* ------------------------------------------------------------------ */

struct edgeseal_verifier_opts {
	const char *issuer;	/* NULL: "edgeseal" */
	const char *audience;	/* NULL: aud must be absent */
	unsigned leeway;	/* seconds, applied to iat and exp; at most
				 * 300, more makes edgeseal_verifier_new()
				 * fail */
	unsigned max_lifetime;	/* max exp - iat; 0: 300 */
	size_t max_size;	/* max seal length; 0: 4096 */
};

struct edgeseal_verifier;

/* A verifier over a key set; takes ownership of ks (even on failure). */
EDGESEAL_API struct edgeseal_verifier *
edgeseal_verifier_new(const struct edgeseal_verifier_opts *opts,
		      struct edgeseal_keyset *ks);
EDGESEAL_API void edgeseal_verifier_free(struct edgeseal_verifier *v);

/*
 * Replace the key set atomically; takes ownership of ks. Verifications in
 * progress finish with the set they started with.
 */
EDGESEAL_API void edgeseal_verifier_set_keyset(struct edgeseal_verifier *v,
					       struct edgeseal_keyset *ks);

/*
 * Reload the key set from path; on failure the old set stays and err says
 * why. Returns EDGESEAL_OK or EDGESEAL_NO_KEY.
 */
EDGESEAL_API enum edgeseal_reason EDGESEAL_MUST_CHECK
edgeseal_verifier_reload(struct edgeseal_verifier *v, const char *path,
			 char *err, size_t errlen);

/*
 * Reload the key set from path when the file changed since this function
 * last looked: stat() says another device, inode, size, mtime or ctime.
 * Symlinks are followed, so the Kubernetes "..data" swap counts as a
 * change. The first call always loads. Cheap enough for every request:
 * one stat(), and while one thread reloads the others return at once and
 * keep verifying with the current set.
 * Returns 0 when nothing changed (or another thread is reloading), 1 after
 * a reload, -1 when the changed file is unusable: the old set stays, err
 * says why, and that version of the file is not tried again, unless the
 * system could not read it (out of descriptors or memory): then the next
 * call tries again.
 */
EDGESEAL_API int
edgeseal_verifier_reload_if_changed(struct edgeseal_verifier *v,
				    const char *path, char *err,
				    size_t errlen);

/*
 * A thread that keeps v's key set in step with the file at path: it
 * watches the file's directory with inotify (renames and "..data" swaps
 * included), checks at least once a second even without events, and calls
 * edgeseal_verifier_reload_if_changed(). After each reload attempt it calls
 * done(arg, rc, err) when done is not NULL (rc as that function returns,
 * never 0), from the watch thread. v must outlive the watch. Returns NULL
 * when the thread cannot be started.
 */
struct edgeseal_watch;

EDGESEAL_API struct edgeseal_watch *
edgeseal_watch_new(struct edgeseal_verifier *v, const char *path,
		   void (*done)(void *arg, int rc, const char *err),
		   void *arg);

/* Stop the thread, wait for it and free. Accepts NULL. */
EDGESEAL_API void edgeseal_watch_free(struct edgeseal_watch *w);

/* What a verified seal says. Read with the accessors below. */
struct edgeseal_identity;

/*
 * Verify one seal of seal_len bytes at time now. On EDGESEAL_OK and when
 * out is not NULL, *out receives an identity the caller frees.
 */
EDGESEAL_API enum edgeseal_reason EDGESEAL_MUST_CHECK
edgeseal_verify(const struct edgeseal_verifier *v, const char *seal,
		size_t seal_len, int64_t now, struct edgeseal_identity **out);

/*
 * The three headers as a service received them. count is how many times the
 * header arrived (0: absent); value is the first one (NULL when absent).
 */
struct edgeseal_request {
	const char *user_id;
	unsigned user_id_count;
	const char *internal_call;
	unsigned internal_call_count;
	const char *seal;
	unsigned seal_count;
};

/*
 * Verify a request: no header more than once (duplicate_header), a seal
 * present (missing_token), X-Internal-Call equal to "true"
 * (missing_internal_call), the seal valid, and its sub equal to X-User-Id
 * (subject_mismatch).
 */
EDGESEAL_API enum edgeseal_reason EDGESEAL_MUST_CHECK
edgeseal_verify_request(const struct edgeseal_verifier *v,
			const struct edgeseal_request *req, int64_t now,
			struct edgeseal_identity **out);

EDGESEAL_API void edgeseal_identity_free(struct edgeseal_identity *id);
EDGESEAL_API const char *
edgeseal_identity_sub(const struct edgeseal_identity *id);
EDGESEAL_API const char *
edgeseal_identity_iss(const struct edgeseal_identity *id);
/* NULL when absent. */
EDGESEAL_API const char *
edgeseal_identity_aud(const struct edgeseal_identity *id);
/* NULL when absent. */
EDGESEAL_API const char *
edgeseal_identity_act(const struct edgeseal_identity *id);
EDGESEAL_API const char *
edgeseal_identity_jti(const struct edgeseal_identity *id);
EDGESEAL_API const char *
edgeseal_identity_kid(const struct edgeseal_identity *id);
EDGESEAL_API int64_t edgeseal_identity_iat(const struct edgeseal_identity *id);
EDGESEAL_API int64_t edgeseal_identity_exp(const struct edgeseal_identity *id);
/* The forwarded claims as a JSON object text ("{}" when none). */
EDGESEAL_API const char *
edgeseal_identity_claims_json(const struct edgeseal_identity *id);
/* The whole identity as one JSON object; the caller frees it with free(). */
EDGESEAL_API char *edgeseal_identity_to_json(const struct edgeseal_identity *id);

/* ------------------------------------------------------------------ */
/* Helpers shared with the agent                                       */
/* ------------------------------------------------------------------ */

/*
 * The first 4 bytes of SHA-256(data) as 8 lowercase hex digits plus NUL:
 * how tokens and secrets appear in logs.
 */
EDGESEAL_API void edgeseal_fingerprint(const void *data, size_t len,
				       char out[9]);

#ifdef __cplusplus
}
#endif
#endif /* EDGESEAL_H */
