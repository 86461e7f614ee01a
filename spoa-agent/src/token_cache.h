/*
 * token_cache.h: validated user tokens, so a token seen again skips the
 * signature check.
 *
 * Keyed by the SHA-256 of the whole token. Bounded: a fixed number of
 * slots, allocated once with headroom over the entries asked for, spread
 * over lock stripes so worker threads rarely meet. Values are immutable,
 * reference-counted records: a lookup takes a reference under the stripe
 * lock and reads the record without it. Only successes are stored, and
 * the caller re-checks the time rules on every hit, so a hit never
 * outlives the token.
 *
 * The validator keeps two of these: one of verdicts (subject, kid, times,
 * forwarded claims; about 140 bytes a token plus its claims) and a
 * smaller one of recently minted seals for reuse (about 500 bytes each),
 * so memory follows the number of tokens without paying for a seal per
 * token.
 */
#ifndef ES_TOKEN_CACHE_H
#define ES_TOKEN_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "claims.h"

#define ES_CACHE_KEY_LEN 32

/*
 * What is remembered of one validated token, immutable once built. The
 * strings sit NUL-terminated one after another in data[] (read them with
 * the accessors below); a verdict has an empty seal, a seal record may
 * leave the other strings empty.
 */
struct es_cache_rec {
	atomic_uint refs;
	uint16_t issuer;	/* index of the issuer that accepted it */
	uint16_t sub_len, kid_len, claims_len, seal_len;
	struct es_times times;
	int64_t seal_exp;	/* expiry of the stored seal */
	uint8_t key[ES_CACHE_KEY_LEN];
	char data[];
};

static inline const char *
es_cache_rec_sub(const struct es_cache_rec *r)
{
	return r->data;
}

static inline const char *
es_cache_rec_kid(const struct es_cache_rec *r)
{
	return es_cache_rec_sub(r) + r->sub_len + 1;
}

static inline const char *
es_cache_rec_claims(const struct es_cache_rec *r)
{
	return es_cache_rec_kid(r) + r->kid_len + 1;
}

static inline const char *
es_cache_rec_seal(const struct es_cache_rec *r)
{
	return es_cache_rec_claims(r) + r->claims_len + 1;
}

/* The strings of a record; NULL pointers stand for empty ones. */
struct es_cache_text {
	const char *sub, *kid, *claims, *seal;
	size_t sub_len, kid_len, claims_len, seal_len;
};

/*
 * A new record for key (one reference, owned by the caller), copying every
 * string. NULL when out of memory or when a string is longer than 65535
 * bytes.
 */
struct es_cache_rec *es_cache_rec_new(const uint8_t key[ES_CACHE_KEY_LEN],
				      unsigned issuer,
				      const struct es_times *times,
				      const struct es_cache_text *text,
				      int64_t seal_exp);

/* Drop one reference. Accepts NULL. */
void es_cache_rec_release(struct es_cache_rec *rec);

struct es_cache;

/*
 * A cache that holds about entries records (1.5 slots for each, so set
 * conflicts rarely evict before it is full); NULL when entries is 0
 * (disabled).
 */
struct es_cache *es_cache_new(unsigned entries);
void es_cache_free(struct es_cache *c);

/*
 * The record for key with a reference the caller releases, or NULL (also
 * when c is NULL). Counts a hit or a miss.
 */
struct es_cache_rec *es_cache_get(struct es_cache *c,
				  const uint8_t key[ES_CACHE_KEY_LEN]);

/*
 * Store rec under its key, taking a new reference (the caller keeps its
 * own). When every candidate slot is taken the one whose token expires
 * first is evicted. No-op when c or rec is NULL.
 */
void es_cache_put(struct es_cache *c, struct es_cache_rec *rec);

/* Forget key, if present. */
void es_cache_drop(struct es_cache *c, const uint8_t key[ES_CACHE_KEY_LEN]);

/* Lookups answered and not answered since creation (0 when disabled). */
void es_cache_stats(struct es_cache *c, uint64_t *hits, uint64_t *misses);

/* Records held now (0 when disabled). */
size_t es_cache_count(struct es_cache *c);

/*
 * The same counters for a validator's cache of verdicts, for the metrics
 * endpoint. Declared here rather than in validator.h so that header stays
 * as agreed.
 */
struct es_validator;
void es_validator_cache_stats(struct es_validator *v, uint64_t *hits,
			      uint64_t *misses);

#endif
