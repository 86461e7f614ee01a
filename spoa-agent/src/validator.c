/*
 * validator.c: es_validator_new() loads every issuer's keys and the seal
 * key set; es_decide() runs one Authorization value through the front end,
 * issuer and key selection, the signature, the claims, and mints the seal.
 * The rules and their order are written down in docs/token-validation.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "claims.h"
#include "issuer_keys.h"
#include "jwks_fetch.h"
#include "jwt_front.h"
#include "log.h"
#include "metrics.h"
#include "signature.h"
#include "text.h"
#include "token_cache.h"
#include "validator.h"

#define DEFAULT_MAX_TOKEN_SIZE 8192
#define DEFAULT_MAX_LIFETIME 86400
#define DEFAULT_SEAL_TTL 60

/* One [issuer] section, copied so the validator owns all it reads. */
struct issuer {
	char *name;
	char *iss;
	size_t iss_len;
	struct es_strlist audiences;
	struct es_strlist token_types;
	struct es_strlist forward_claims;
	unsigned allowed;		/* bit (1 << enum es_alg) per alg */
	unsigned leeway;
	unsigned max_lifetime;
	size_t max_token_size;
	char *subject_claim;
	char *subject_prefix;		/* never NULL; "" for none */
	size_t subject_prefix_len;
	struct es_keyring keys;
	struct es_jwks_source *jwks;	/* jwks_url; not owned */
};

struct es_validator {
	struct issuer issuers[ES_MAX_ISSUERS];
	unsigned issuer_count;
	size_t max_cap;			/* the largest max_token_size */
	struct edgeseal_keyset *seal_keys;
	char *seal_kid;
	char *seal_issuer;
	char *seal_audience;
	unsigned seal_ttl;
	struct es_cache *cache;		/* verdicts, by token digest */
	struct es_cache *seals;		/* seals for reuse, same key */
	EVP_MD *sha256;			/* fetched once: SHA256() fetches
					 * (and locks) on every call */
};

/* Seal claims that forward_claims may not name: the seal sets them. */
static const char *const reserved_claims[] = {
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "act"
};

static void __attribute__((format(printf, 5, 6)))
cfg_err(char *err, size_t errlen, const char *file, int line,
	const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errlen == 0)
		return;
	n = snprintf(err, errlen, "%s:%d: ", file, line);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Building                                                            */
/* ------------------------------------------------------------------ */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
strlist_free(struct es_strlist *l)
{
	for (unsigned i = 0; i < l->count; i++)
		free(l->items[i]);
	l->count = 0;
}

/* Copy src, or the default words when src is empty. */
static int
strlist_copy(struct es_strlist *dst, const struct es_strlist *src,
	     const char *const *defaults, unsigned ndefaults)
{
	unsigned n = src->count ? src->count : ndefaults;

	for (dst->count = 0; dst->count < n; dst->count++) {
		const char *s = src->count ? src->items[dst->count]
					   : defaults[dst->count];

		dst->items[dst->count] = strdup(s);
		if (dst->items[dst->count] == NULL)
			return -1;
	}
	return 0;
}

static void
issuer_free(struct issuer *is)
{
	free(is->name);
	free(is->iss);
	free(is->subject_claim);
	free(is->subject_prefix);
	strlist_free(&is->audiences);
	strlist_free(&is->token_types);
	strlist_free(&is->forward_claims);
	es_keyring_clear(&is->keys);
}

/* The algorithms allowlist as a bit set; -1 names the first unknown one. */
static int
allowed_algs(const struct es_strlist *algs, unsigned *bits,
	     const char **bad)
{
	static const char *const defaults[] = { "RS256", "ES256" };
	unsigned n = algs->count ? algs->count : 2;
	enum es_alg alg;

	*bits = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *s = algs->count ? algs->items[i] : defaults[i];

		if (es_alg_parse(s, strlen(s), &alg) != 0) {
			*bad = s;
			return -1;
		}
		*bits |= 1u << alg;
	}
	return 0;
}

static int
claim_reserved(const char *name)
{
	for (size_t i = 0; i < sizeof(reserved_claims) /
	     sizeof(*reserved_claims); i++)
		if (strcmp(name, reserved_claims[i]) == 0)
			return 1;
	return 0;
}

/* Copy one [issuer] section's settings, applying defaults to zeros. */
static int
issuer_settings(struct issuer *is, const struct es_issuer_conf *ic,
		const char *file, char *err, size_t errlen)
{
	static const char *const types[] = { "JWT", "at+jwt" };
	const char *bad = NULL;

	is->name = strdup(ic->name ? ic->name : "");
	is->iss = dup_or_null(ic->issuer);
	is->subject_claim = strdup(ic->subject_claim ? ic->subject_claim
				   : "sub");
	is->subject_prefix = strdup(ic->subject_prefix ? ic->subject_prefix
				    : "");
	if (is->subject_prefix != NULL)
		is->subject_prefix_len = strlen(is->subject_prefix);
	if (is->subject_prefix_len != 0 &&
	    !edgeseal__subject_ok(is->subject_prefix,
				  is->subject_prefix_len)) {
		cfg_err(err, errlen, file, ic->line, "issuer %s: "
			"subject_prefix may not hold control characters or "
			"commas, or start or end with a space",
			ic->name ? ic->name : "");
		return -1;
	}
	if (is->name == NULL || is->iss == NULL || is->subject_claim == NULL ||
	    is->subject_prefix == NULL ||
	    strlist_copy(&is->audiences, &ic->audiences, NULL, 0) != 0 ||
	    strlist_copy(&is->token_types, &ic->token_types, types, 2) != 0 ||
	    strlist_copy(&is->forward_claims, &ic->forward_claims, NULL,
			 0) != 0) {
		cfg_err(err, errlen, file, ic->line, "issuer %s: no issuer "
			"value, or out of memory", ic->name ? ic->name : "");
		return -1;
	}
	is->iss_len = strlen(is->iss);
	is->leeway = ic->leeway;
	is->max_lifetime = ic->max_lifetime ? ic->max_lifetime
					    : DEFAULT_MAX_LIFETIME;
	is->max_token_size = ic->max_token_size ? ic->max_token_size
						: DEFAULT_MAX_TOKEN_SIZE;

	if (allowed_algs(&ic->algorithms, &is->allowed, &bad) != 0) {
		cfg_err(err, errlen, file, ic->line, "issuer %s: unsupported "
			"algorithm \"%s\"", is->name, bad);
		return -1;
	}
	for (unsigned i = 0; i < is->forward_claims.count; i++) {
		if (claim_reserved(is->forward_claims.items[i])) {
			cfg_err(err, errlen, file, ic->line, "issuer %s: "
				"forward_claims cannot name \"%s\"", is->name,
				is->forward_claims.items[i]);
			return -1;
		}
	}
	return 0;
}

/*
 * The keys last fetched from jwks_url (jwks_fetch.h). None to serve is not
 * an error: see issuer_init().
 */
static int
issuer_url_keys(struct issuer *is, const struct es_issuer_conf *ic,
		const char *file, char *err, size_t errlen)
{
	char why[512], shown[512];
	int64_t age;
	char *doc;
	int rc = 0;

	is->jwks = es_jwks_source_get(ic, why, sizeof(why));
	if (is->jwks == NULL) {
		cfg_err(err, errlen, file, ic->line, "%s", why);
		return -1;
	}
	doc = es_jwks_source_document(is->jwks, time(NULL), &age, why,
				      sizeof(why));
	if (doc == NULL) {
		es_log_msg(ES_LOG_WARN, "jwks_unavailable", 0, "issuer %s: %s",
			   is->name, why);
		return 0;
	}
	es_jwks_url_redact(ic->jwks_url, shown, sizeof(shown));
	if (es_keyring_add_jwks(&is->keys, doc, strlen(doc), shown, why,
				sizeof(why)) != 0) {
		cfg_err(err, errlen, file, ic->line, "%s", why);
		rc = -1;
	}
	free(doc);
	return rc;
}

/* Load every key the section names; messages point at the directive. */
static int
issuer_keys(struct issuer *is, const struct es_issuer_conf *ic,
	    const char *file, char *err, size_t errlen)
{
	char why[512];
	const struct es_keyref *k;

	if (ic->jwks_url != NULL &&
	    issuer_url_keys(is, ic, file, err, errlen) != 0)
		return -1;
	if (ic->jwks_file.path != NULL &&
	    es_keyring_add_jwks_file(&is->keys, ic->jwks_file.path, why,
				     sizeof(why)) != 0) {
		cfg_err(err, errlen, file, ic->jwks_file.line, "%s", why);
		return -1;
	}
	for (unsigned i = 0; i < ic->pem_key_count; i++) {
		k = &ic->pem_keys[i];
		if (es_keyring_add_pem_file(&is->keys, k->kid, k->alg,
					    k->file.path, why,
					    sizeof(why)) != 0) {
			cfg_err(err, errlen, file, k->file.line, "%s", why);
			return -1;
		}
	}
	for (unsigned i = 0; i < ic->hmac_key_count; i++) {
		k = &ic->hmac_keys[i];
		if (es_keyring_add_hmac_file(&is->keys, k->kid, k->alg,
					     k->file.path, why,
					     sizeof(why)) != 0) {
			cfg_err(err, errlen, file, k->file.line, "%s", why);
			return -1;
		}
	}
	return 0;
}

/* At least one key whose algorithm the allowlist lets through. */
static int
issuer_usable(const struct issuer *is)
{
	for (size_t i = 0; i < is->keys.count; i++)
		if (is->allowed & (1u << is->keys.keys[i].alg))
			return 1;
	return 0;
}

static int
issuer_init(struct es_validator *v, const struct es_issuer_conf *ic,
	    const char *file, char *err, size_t errlen)
{
	struct issuer *is = &v->issuers[v->issuer_count];

	/* Counted first so a failure below still frees what was built. */
	v->issuer_count++;
	if (issuer_settings(is, ic, file, err, errlen) != 0 ||
	    issuer_keys(is, ic, file, err, errlen) != 0)
		return -1;
	/* A jwks_url issuer may have nothing to serve yet (first start
	 * during an outage) or any more (past jwks_max_stale): it refuses
	 * every token until a fetch succeeds, rather than blocking the
	 * reload that applies the new state. */
	if (is->jwks == NULL && !issuer_usable(is)) {
		cfg_err(err, errlen, file, ic->line, "issuer %s: no usable key "
			"(none whose alg is in algorithms)", is->name);
		return -1;
	}
	for (unsigned i = 0; i + 1 < v->issuer_count; i++) {
		if (strcmp(v->issuers[i].iss, is->iss) == 0) {
			cfg_err(err, errlen, file, ic->line, "issuer %s: iss "
				"already used by issuer %s", is->name,
				v->issuers[i].name);
			return -1;
		}
	}
	if (is->max_token_size > v->max_cap)
		v->max_cap = is->max_token_size;
	return 0;
}

/*
 * A user named like a job: "job:nightly" from an identity provider would
 * reach services as the job whose key is limited to "job:". Only the job
 * keys in the agent's own key set are known here.
 */
static int
in_job_namespace(const struct edgeseal_keyset *ks, const char *sub)
{
	for (size_t i = 0; i < edgeseal_keyset_count(ks); i++) {
		const char *prefix = edgeseal_keyset_sub_prefix(ks, i);

		if (prefix != NULL && strncmp(sub, prefix, strlen(prefix)) == 0)
			return 1;
	}
	return 0;
}

/* The key the agent would sign with: kid, or the only one when unset. */
static int
signing_key_restricted(const struct edgeseal_keyset *ks, const char *kid)
{
	for (size_t i = 0; i < edgeseal_keyset_count(ks); i++)
		if (kid == NULL || strcmp(edgeseal_keyset_kid(ks, i), kid) == 0)
			return edgeseal_keyset_restricted(ks, i);
	return 0;
}

static int
seal_init(struct es_validator *v, const struct es_config *cfg, char *err,
	  size_t errlen)
{
	char why[512];
	const char *bad;
	int line = cfg->seal_keyset.line;

	if (cfg->seal_keyset.path == NULL) {
		cfg_err(err, errlen, cfg->file, line, "[seal] keyset missing");
		return -1;
	}

	/* libedgeseal checks the file; the agent also its folders. */
	bad = es_path_untrusted(cfg->seal_keyset.path, geteuid(), why,
				sizeof(why));
	if (bad != NULL) {
		cfg_err(err, errlen, cfg->file, line, "%s: %s",
			cfg->seal_keyset.path, bad);
		return -1;
	}
	v->seal_keys = edgeseal_keyset_load(cfg->seal_keyset.path, why,
					    sizeof(why));
	if (v->seal_keys == NULL) {
		cfg_err(err, errlen, cfg->file, line, "%s", why);
		return -1;
	}
	if (cfg->seal_signing_kid != NULL ?
	    !edgeseal_keyset_has_kid(v->seal_keys, cfg->seal_signing_kid) :
	    edgeseal_keyset_count(v->seal_keys) != 1) {
		cfg_err(err, errlen, cfg->file, line, "%s: signing_kid not in "
			"the key set (or unset with several keys)",
			cfg->seal_keyset.path);
		return -1;
	}
	if (signing_key_restricted(v->seal_keys, cfg->seal_signing_kid)) {
		cfg_err(err, errlen, cfg->file, line, "%s: the signing key is "
			"a job key (edgeseal_* restrictions); the agent signs "
			"for every user and needs an unrestricted one",
			cfg->seal_keyset.path);
		return -1;
	}
	v->seal_kid = dup_or_null(cfg->seal_signing_kid);
	v->seal_issuer = dup_or_null(cfg->seal_issuer);
	v->seal_audience = dup_or_null(cfg->seal_audience);
	v->seal_ttl = cfg->seal_ttl ? cfg->seal_ttl : DEFAULT_SEAL_TTL;
	if ((cfg->seal_signing_kid && !v->seal_kid) ||
	    (cfg->seal_issuer && !v->seal_issuer) ||
	    (cfg->seal_audience && !v->seal_audience)) {
		cfg_err(err, errlen, cfg->file, line, "out of memory");
		return -1;
	}
	return 0;
}

struct es_validator *
es_validator_new(const struct es_config *cfg, char *err, size_t errlen)
{
	struct es_validator *v;
	const char *file = cfg->file ? cfg->file : "config";
	unsigned seals;

	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		cfg_err(err, errlen, file, 0, "out of memory");
		return NULL;
	}
	if (cfg->issuer_count == 0) {
		cfg_err(err, errlen, file, 0, "no [issuer] section");
		goto fail;
	}
	for (unsigned i = 0; i < cfg->issuer_count; i++)
		if (issuer_init(v, &cfg->issuers[i], file, err, errlen) != 0)
			goto fail;
	if (seal_init(v, cfg, err, errlen) != 0)
		goto fail;
	for (unsigned i = 0; i < cfg->issuer_count; i++) {
		const struct issuer *is = &v->issuers[i];

		/* Every user id of this issuer would be refused. */
		if (is->subject_prefix_len != 0 &&
		    in_job_namespace(v->seal_keys, is->subject_prefix)) {
			cfg_err(err, errlen, file, cfg->issuers[i].line,
				"issuer %s: subject_prefix \"%s\" is inside a "
				"job key's edgeseal_sub_prefix", is->name,
				is->subject_prefix);
			goto fail;
		}
	}
	v->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (v->sha256 == NULL) {
		cfg_err(err, errlen, file, 0, "no SHA-256 in OpenSSL");
		goto fail;
	}

	/* A seal is only looked for once the verdict is found. */
	seals = cfg->cache_seals < cfg->cache_entries ? cfg->cache_seals
						       : cfg->cache_entries;
	v->cache = es_cache_new(cfg->cache_entries);
	v->seals = es_cache_new(seals);
	if ((cfg->cache_entries != 0 && v->cache == NULL) ||
	    (seals != 0 && v->seals == NULL)) {
		cfg_err(err, errlen, file, 0, "cache: out of memory");
		goto fail;
	}
	return v;
fail:
	es_validator_free(v);
	return NULL;
}

void
es_validator_free(struct es_validator *v)
{
	if (v == NULL)
		return;
	for (unsigned i = 0; i < v->issuer_count; i++)
		issuer_free(&v->issuers[i]);
	edgeseal_keyset_free(v->seal_keys);
	free(v->seal_kid);
	free(v->seal_issuer);
	free(v->seal_audience);
	es_cache_free(v->cache);
	es_cache_free(v->seals);
	EVP_MD_free(v->sha256);
	free(v);
}

void
es_validator_describe(const struct es_validator *v, char *buf, size_t len)
{
	size_t at = 0;
	int n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < v->issuer_count && at < len; i++) {
		n = snprintf(buf + at, len - at, "issuer %s: %zu keys; ",
			     v->issuers[i].name, v->issuers[i].keys.count);
		at += n > 0 ? (size_t)n : 0;
	}
	if (at < len)
		snprintf(buf + at, len - at, "seal: %zu keys, signing kid %s",
			 edgeseal_keyset_count(v->seal_keys),
			 v->seal_kid ? v->seal_kid
				     : edgeseal_keyset_kid(v->seal_keys, 0));
}

void
es_validator_cache_stats(struct es_validator *v, uint64_t *hits,
			 uint64_t *misses)
{
	es_cache_stats(v->cache, hits, misses);
}

/* ------------------------------------------------------------------ */
/* Deciding                                                            */
/* ------------------------------------------------------------------ */

static void
copy_field(char *dst, size_t cap, size_t *dst_len, const char *s, size_t n)
{
	if (n > cap)
		n = cap;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*dst_len = n;
}

/* The issuer whose iss equals the token's byte for byte. */
static enum edgeseal_reason
select_issuer(const struct es_validator *v, const struct es_jwt *jwt,
	      unsigned *idx, struct es_decision *out)
{
	enum edgeseal_reason r;
	const char *iss;
	size_t len;

	r = es_claims_issuer(jwt->payload, &iss, &len);
	if (r != EDGESEAL_OK)
		return r;
	for (unsigned i = 0; i < v->issuer_count; i++) {
		const struct issuer *is = &v->issuers[i];

		if (is->iss_len == len && memcmp(is->iss, iss, len) == 0) {
			*idx = i;
			copy_field(out->iss, ES_ISS_MAX, &out->iss_len, iss,
				   len);
			return EDGESEAL_OK;
		}
	}
	return EDGESEAL_BAD_ISSUER;
}

/*
 * The issuer's own cap, and typ. RFC 7515 section 4.1.9 asks for media
 * types to be compared case-insensitively, so "jwt" equals "JWT".
 */
static enum edgeseal_reason
check_shape(const struct issuer *is, const struct es_jwt *jwt)
{
	if (jwt->len > is->max_token_size)
		return EDGESEAL_TOKEN_TOO_LARGE;
	if (jwt->typ == NULL)
		return EDGESEAL_OK;
	for (unsigned i = 0; i < is->token_types.count; i++)
		if (strcasecmp(jwt->typ, is->token_types.items[i]) == 0)
			return EDGESEAL_OK;
	return EDGESEAL_UNSUPPORTED_TOKEN_TYPE;
}

/* Without a kid: the issuer's only key for alg, never a guess among many. */
static enum edgeseal_reason
key_without_kid(const struct issuer *is, enum es_alg alg,
		const struct es_key **key)
{
	const struct es_key *found = NULL;

	for (size_t i = 0; i < is->keys.count; i++) {
		if (is->keys.keys[i].alg != alg)
			continue;
		if (found != NULL)
			return EDGESEAL_UNKNOWN_KID;
		found = &is->keys.keys[i];
	}
	if (found == NULL)
		return EDGESEAL_NO_KEY;
	*key = found;
	return EDGESEAL_OK;
}

/*
 * The key: found by kid among this issuer's keys only, and its alg equal to
 * the token's byte for byte and allowed for the issuer.
 */
static enum edgeseal_reason
select_key(const struct issuer *is, const struct es_jwt *jwt,
	   const struct es_key **key, struct es_decision *out)
{
	enum edgeseal_reason r;
	enum es_alg alg;

	if (es_alg_parse(jwt->alg, jwt->alg_len, &alg) != 0 ||
	    !(is->allowed & (1u << alg)))
		return EDGESEAL_ALG_NOT_ALLOWED;
	if (jwt->kid != NULL) {
		*key = es_keyring_find(&is->keys, jwt->kid, jwt->kid_len);
		r = *key != NULL ? EDGESEAL_OK : EDGESEAL_UNKNOWN_KID;
		/* Maybe the IdP rotated: refuse this one, fetch early. */
		if (r == EDGESEAL_UNKNOWN_KID && is->jwks != NULL)
			es_jwks_source_poke(is->jwks);
	} else {
		r = key_without_kid(is, alg, key);
	}
	if (r != EDGESEAL_OK)
		return r;
	copy_field(out->kid, ES_KID_MAX, &out->kid_len, (*key)->kid,
		   (*key)->kid_len);
	return (*key)->alg == alg ? EDGESEAL_OK : EDGESEAL_ALG_NOT_ALLOWED;
}

/*
 * An issuer without a prefix cannot hand out names inside another's:
 * "social:bob" from it would be the social issuer's bob.
 */
static int
in_other_namespace(const struct es_validator *v, const struct issuer *is,
		   const char *sub, size_t len)
{
	if (is->subject_prefix_len != 0)
		return 0;
	for (unsigned i = 0; i < v->issuer_count; i++) {
		const struct issuer *o = &v->issuers[i];

		if (o->subject_prefix_len != 0 &&
		    o->subject_prefix_len <= len &&
		    memcmp(sub, o->subject_prefix, o->subject_prefix_len) == 0)
			return 1;
	}
	return 0;
}

static enum edgeseal_reason
check_claims(const struct es_validator *v, const struct issuer *is,
	     const struct es_jwt *jwt, int64_t now, struct es_times *times,
	     struct es_decision *out)
{
	enum edgeseal_reason r;
	const char *sub;
	size_t len;

	r = es_claims_times(jwt->payload, times);
	if (r == EDGESEAL_OK)
		r = es_claims_check_times(times, is->leeway, is->max_lifetime,
					  now);
	if (r == EDGESEAL_OK)
		r = es_claims_audience(jwt->payload, &is->audiences);
	if (r == EDGESEAL_OK)
		r = es_claims_subject(jwt->payload, is->subject_claim, &sub,
				      &len);
	if (r != EDGESEAL_OK)
		return r;

	/* The issuer's namespace, if any: the whole must still fit. */
	if (is->subject_prefix_len + len > ES_SUB_MAX ||
	    in_other_namespace(v, is, sub, len))
		return EDGESEAL_INVALID_SUBJECT;
	memcpy(out->sub, is->subject_prefix, is->subject_prefix_len);
	memcpy(out->sub + is->subject_prefix_len, sub, len);
	out->sub_len = is->subject_prefix_len + len;
	out->sub[out->sub_len] = '\0';
	if (in_job_namespace(v->seal_keys, out->sub))
		return EDGESEAL_INVALID_SUBJECT;
	out->iat = times->iat;
	return EDGESEAL_OK;
}

/*
 * The forward_claims present in the payload as one compact JSON object, or
 * NULL in *json when there are none. The caller frees *json.
 */
static enum edgeseal_reason
forwarded_claims(const struct issuer *is, const json_t *payload,
		 char **json)
{
	enum edgeseal_reason r = EDGESEAL_OK;
	json_t *obj;
	json_t *val;

	*json = NULL;
	if (is->forward_claims.count == 0)
		return EDGESEAL_OK;
	obj = json_object();
	if (obj == NULL)
		return EDGESEAL_INTERNAL_ERROR;
	for (unsigned i = 0; i < is->forward_claims.count; i++) {
		val = json_object_get(payload, is->forward_claims.items[i]);
		if (val != NULL)
			json_object_set(obj, is->forward_claims.items[i], val);
	}
	if (json_object_size(obj) != 0) {
		*json = json_dumps(obj, JSON_COMPACT);
		r = *json != NULL ? EDGESEAL_OK : EDGESEAL_INTERNAL_ERROR;
	}
	json_decref(obj);
	return r;
}

/*
 * The seal's lifetime: the configured ttl, but never past the user
 * token's exp, so a seal cannot outlive what it vouches for. A token
 * already past exp yet inside its leeway still gets a seal: of 1 s, the
 * shortest a seal can be (edgeseal_mint counts whole seconds).
 */
static unsigned
seal_ttl_for(const struct es_validator *v, int64_t token_exp, int64_t now)
{
	int64_t left = token_exp - now;

	if (left < 1)
		return 1;
	return left < (int64_t)v->seal_ttl ? (unsigned)left : v->seal_ttl;
}

/*
 * Mint the seal for out->sub. The forwarded claims are what can make a
 * seal too large (sub, kid, iss and aud are bounded): that is named
 * claims_too_large, not blamed on the user's token.
 */
static enum edgeseal_reason
mint_seal(const struct es_validator *v, const char *claims,
	  int64_t token_exp, int64_t now, struct es_decision *out)
{
	struct edgeseal_mint_opts o = {
		.kid = v->seal_kid,
		.sub = out->sub,
		.issuer = v->seal_issuer,
		.audience = v->seal_audience,
		.ttl = seal_ttl_for(v, token_exp, now),
		.claims_json = claims,
		.claims_json_len = claims != NULL ? strlen(claims) : 0,
	};
	enum edgeseal_reason r;

	r = edgeseal_mint(v->seal_keys, &o, now, out->seal,
			  sizeof(out->seal), &out->seal_len);
	if (r == EDGESEAL_TOKEN_TOO_LARGE)
		r = claims != NULL ? EDGESEAL_CLAIMS_TOO_LARGE
				   : EDGESEAL_INTERNAL_ERROR;
	if (r == EDGESEAL_OK)	/* metrics: seals minted by kid */
		es_metrics_seal_minted(o.kid ? o.kid
				       : edgeseal_keyset_kid(v->seal_keys, 0));
	return r;
}

/* Keep a verdict for next time. Failing to allocate only loses the hit. */
static void
remember_verdict(struct es_validator *v, const uint8_t *digest,
		 unsigned idx, const struct es_times *times,
		 const char *claims, const struct es_decision *out)
{
	struct es_cache_text text = {
		.sub = out->sub, .sub_len = out->sub_len,
		.kid = out->kid, .kid_len = out->kid_len,
		.claims = claims, .claims_len = claims ? strlen(claims) : 0,
	};
	struct es_cache_rec *rec;

	if (v->cache == NULL)
		return;
	rec = es_cache_rec_new(digest, idx, times, &text, 0);
	es_cache_put(v->cache, rec);
	es_cache_rec_release(rec);
}

/* Keep the seal just minted for the token, to reuse while it is fresh. */
static void
remember_seal(struct es_validator *v, const uint8_t *digest,
	      const struct es_times *times, int64_t now,
	      const struct es_decision *out)
{
	struct es_cache_text text = {
		.seal = out->seal, .seal_len = out->seal_len,
	};
	struct es_cache_rec *rec;

	if (v->seals == NULL)
		return;
	rec = es_cache_rec_new(digest, 0, times, &text,
			       now + seal_ttl_for(v, times->exp, now));
	es_cache_put(v->seals, rec);
	es_cache_rec_release(rec);
}

static enum edgeseal_reason
decide_fresh(struct es_validator *v, const char *tok, size_t len,
	     const uint8_t *digest, int64_t now, struct es_decision *out)
{
	enum edgeseal_reason r;
	struct es_jwt jwt;
	const struct issuer *is = NULL;
	const struct es_key *key = NULL;
	struct es_times times;
	char *claims = NULL;
	unsigned idx = 0;

	r = es_jwt_parse(tok, len, v->max_cap, &jwt);
	if (r != EDGESEAL_OK)
		return r;

	r = select_issuer(v, &jwt, &idx, out);
	if (r == EDGESEAL_OK) {
		is = &v->issuers[idx];
		r = check_shape(is, &jwt);
	}
	if (r == EDGESEAL_OK)
		r = select_key(is, &jwt, &key, out);
	if (r == EDGESEAL_OK &&
	    !es_sig_verify(key, (const uint8_t *)tok, jwt.signing_len,
			   jwt.sig, jwt.sig_len))
		r = EDGESEAL_BAD_SIGNATURE;

	/* Claims are read only once the signature says whose they are. */
	if (r == EDGESEAL_OK)
		r = check_claims(v, is, &jwt, now, &times, out);
	if (r == EDGESEAL_OK)
		r = forwarded_claims(is, jwt.payload, &claims);
	if (r == EDGESEAL_OK)
		r = mint_seal(v, claims, times.exp, now, out);
	if (r == EDGESEAL_OK) {
		remember_verdict(v, digest, idx, &times, claims, out);
		remember_seal(v, digest, &times, now, out);
	}

	free(claims);
	es_jwt_release(&jwt);
	return r;
}

/*
 * A stored seal is reused while more than half its TTL remains (and it was
 * not minted in what is now the future, after a clock step back), or,
 * near the token's end, while it still runs and already ends with the
 * token: a new one could not last longer.
 */
static int
seal_reusable(const struct es_validator *v, const struct es_cache_rec *rec,
	      int64_t now)
{
	int64_t left;

	if (rec == NULL || rec->seal_len == 0)
		return 0;
	left = rec->seal_exp - now;

	if (left <= 0 || left > (int64_t)v->seal_ttl)
		return 0;
	return left > (int64_t)v->seal_ttl / 2 ||
	       rec->seal_exp == rec->times.exp;
}

/* The stored seal for the token when it can be reused, else a new one. */
static enum edgeseal_reason
seal_for_hit(struct es_validator *v, const struct es_cache_rec *rec,
	     const uint8_t *digest, int64_t now, struct es_decision *out)
{
	struct es_cache_rec *stored = es_cache_get(v->seals, digest);
	enum edgeseal_reason r = EDGESEAL_OK;

	if (seal_reusable(v, stored, now)) {
		copy_field(out->seal, ES_SEAL_MAX, &out->seal_len,
			   es_cache_rec_seal(stored), stored->seal_len);
	} else {
		r = mint_seal(v, rec->claims_len ? es_cache_rec_claims(rec)
						 : NULL,
			      rec->times.exp, now, out);
		if (r == EDGESEAL_OK)
			remember_seal(v, digest, &rec->times, now, out);
	}
	es_cache_rec_release(stored);
	return r;
}

static enum edgeseal_reason
decide_cached(struct es_validator *v, const struct es_cache_rec *rec,
	      const uint8_t *digest, int64_t now, struct es_decision *out)
{
	const struct issuer *is = &v->issuers[rec->issuer];
	enum edgeseal_reason r;

	copy_field(out->iss, ES_ISS_MAX, &out->iss_len, is->iss, is->iss_len);
	copy_field(out->kid, ES_KID_MAX, &out->kid_len, es_cache_rec_kid(rec),
		   rec->kid_len);
	out->cache_hit = 1;

	/* The time rules again: the same verdict a fresh check would give. */
	r = es_claims_check_times(&rec->times, is->leeway, is->max_lifetime,
				  now);
	if (r == EDGESEAL_EXPIRED) {
		es_cache_drop(v->cache, digest);
		es_cache_drop(v->seals, digest);
	}
	if (r != EDGESEAL_OK)
		return r;

	copy_field(out->sub, ES_SUB_MAX, &out->sub_len, es_cache_rec_sub(rec),
		   rec->sub_len);
	out->iat = rec->times.iat;
	return seal_for_hit(v, rec, digest, now, out);
}

/* The fingerprint edgeseal_fingerprint() would give, from our own hash. */
static void
fingerprint_hex(const uint8_t *digest, char out[9])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 4; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 0xf];
	}
	out[8] = '\0';
}

void
es_decide(struct es_validator *v, const char *auth, size_t auth_len,
	  int64_t now, struct es_decision *out)
{
	enum edgeseal_reason r;
	uint8_t digest[SHA256_DIGEST_LENGTH];
	struct es_cache_rec *rec;
	const char *tok = NULL;
	size_t tok_len = 0;

	memset(out, 0, sizeof(*out));
	r = es_bearer_token(auth, auth_len, &tok, &tok_len);
	if (r != EDGESEAL_OK)
		goto out;

	/* The largest issuer cap, before hashing or decoding anything. */
	r = EDGESEAL_TOKEN_TOO_LARGE;
	if (tok_len > v->max_cap)
		goto out;

	r = EDGESEAL_INTERNAL_ERROR;
	if (EVP_Digest(tok, tok_len, digest, NULL, v->sha256, NULL) != 1)
		goto out;
	fingerprint_hex(digest, out->token_fp);

	rec = es_cache_get(v->cache, digest);
	if (rec != NULL)
		r = decide_cached(v, rec, digest, now, out);
	else
		r = decide_fresh(v, tok, tok_len, digest, now, out);
	es_cache_rec_release(rec);
out:
	out->reason = r;
}
