/*
 * token_cache.h: validated user tokens, so a token seen again skips the
 * signature check.
 *
 * Keyed by the SHA-256 of the whole token. Bounded: a fixed number of
 * slots, allocated once, spread over lock stripes so worker threads rarely
 * meet. Values are immutable, reference-counted records: a lookup takes a
 * reference under the stripe lock and reads the record without it. Only
 * successes are stored, and the caller re-checks the time rules on every
 * hit, so a hit never outlives the token.
 */
#ifndef ES_TOKEN_CACHE_H
#define ES_TOKEN_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "claims.h"

#define ES_CACHE_KEY_LEN 32

/* What is remembered of one validated token. Immutable once built. */
struct es_cache_rec {
	atomic_uint refs;
	unsigned issuer;	/* index of the issuer that accepted it */
	struct es_times times;
	int64_t seal_exp;	/* expiry of the stored seal */
	/* NUL-terminated, stored in data[] */
	const char *sub, *kid, *seal, *claims;
	size_t sub_len, kid_len, seal_len, claims_len;
	char data[];
};

/*
 * A new record (one reference, owned by the caller), copying every string;
 * claims may be NULL. NULL when out of memory.
 */
struct es_cache_rec *es_cache_rec_new(unsigned issuer,
				      const struct es_times *times,
				      const char *sub, size_t sub_len,
				      const char *kid, size_t kid_len,
				      const char *seal, size_t seal_len,
				      const char *claims, size_t claims_len,
				      int64_t seal_exp);

/* Drop one reference. Accepts NULL. */
void es_cache_rec_release(struct es_cache_rec *rec);

struct es_cache;

/* A cache of about entries records; NULL when entries is 0 (disabled). */
struct es_cache *es_cache_new(unsigned entries);
void es_cache_free(struct es_cache *c);

/*
 * The record for key with a reference the caller releases, or NULL (also
 * when c is NULL). Counts a hit or a miss.
 */
struct es_cache_rec *es_cache_get(struct es_cache *c,
				  const uint8_t key[ES_CACHE_KEY_LEN]);

/*
 * Store rec under key, taking a new reference (the caller keeps its own).
 * When every candidate slot is taken the one whose token expires first is
 * evicted. No-op when c is NULL.
 */
void es_cache_put(struct es_cache *c, const uint8_t key[ES_CACHE_KEY_LEN],
		  struct es_cache_rec *rec);

/* Forget key, if present. */
void es_cache_drop(struct es_cache *c, const uint8_t key[ES_CACHE_KEY_LEN]);

/* Lookups answered and not answered since creation (0 when disabled). */
void es_cache_stats(struct es_cache *c, uint64_t *hits, uint64_t *misses);

/*
 * The same counters for a validator's cache, for the metrics endpoint.
 * Declared here rather than in validator.h so that header stays as agreed.
 */
struct es_validator;
void es_validator_cache_stats(struct es_validator *v, uint64_t *hits,
			      uint64_t *misses);

#endif
