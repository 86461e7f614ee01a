/*
 * jwks_fetch.h: issuer keys from a JWKS URL, kept last-known-good.
 *
 * A source is one jwks_url. It outlives configuration snapshots: a reload
 * finds the source it already has by URL and reads its current document,
 * so reloading never waits for the network. One fetcher thread refreshes
 * every source off the request path, on an interval taken from the
 * response's Cache-Control max-age, clamped to [refresh_min, refresh_max]
 * and jittered. When the fetched key set differs from the one being served
 * it asks for a reload, which builds a new validator (and so a new, empty
 * verified-token cache) with the new keys.
 *
 * Last-known-good: a failed fetch, an error status or a body that is not a
 * usable JWKS never replaces the document being served; a good one is
 * also written to the cache file (0600, atomically), which is read when
 * the source is created, so a restart during an IdP outage still
 * validates. Keys older than max_stale are no longer served.
 *
 * An unknown kid pokes the source: one fetch (single flight, at most one
 * per refresh_min, which also serves as the negative cache). The token
 * that poked is refused with unknown_kid; tokens after the reload pass.
 */
#ifndef ES_JWKS_FETCH_H
#define ES_JWKS_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Largest JWKS body we accept, and longest a fetch may take. */
#define ES_JWKS_MAX_BODY (1024 * 1024)
#define ES_JWKS_TIMEOUT_MS 5000

struct es_jwks_source;

/*
 * The seconds until the next refresh for a Cache-Control header value (NULL
 * when absent): max-age clamped to [min, max]; max when there is none,
 * min for no-cache/no-store. Pure, for tests.
 */
unsigned es_jwks_refresh_delay(const char *cache_control, unsigned min,
			       unsigned max);

/*
 * Is url one we fetch? https://, or http:// written out literally (for
 * loopback and tests). Anything else is refused.
 */
int es_jwks_url_allowed(const char *url);

/*
 * url as scheme://host[:port]/path into out (truncated to outlen): no
 * userinfo, query or fragment, which may hold credentials. For logs.
 */
void es_jwks_url_redact(const char *url, char *out, size_t outlen);

/*
 * The source for ic's jwks_url, created on first use: its cache file is
 * read and one fetch is made at once (bounded by ES_JWKS_TIMEOUT_MS), in
 * the calling thread. Later calls return the same source. NULL with a
 * reason in err only for an unusable URL or out of memory.
 */
struct es_jwks_source *es_jwks_source_get(const struct es_issuer_conf *ic,
					  char *err, size_t errlen);

/*
 * Copy of the document being served (caller frees) and its age in seconds
 * at now. NULL when the source has none, or only one older than
 * max_stale; then err says why.
 */
char *es_jwks_source_document(struct es_jwks_source *src, int64_t now,
			      int64_t *age, char *err, size_t errlen);

/* An unknown kid was seen: ask for an early fetch. Any thread, cheap. */
void es_jwks_source_poke(struct es_jwks_source *src);

/*
 * Start the fetcher thread (after daemon(): a fork keeps no thread).
 * notify is called from that thread when a reload should pick up new or
 * expired keys. Returns 0, or -1 when the thread cannot start.
 */
int es_jwks_start(void (*notify)(void *arg), void *arg);

/* Stop the thread and free every source. */
void es_jwks_shutdown(void);

/*
 * For metrics and logs: fn(arg, issuer name, url, age of the served keys in
 * seconds or -1 when none, consecutive failed fetches) per source.
 */
void es_jwks_foreach(void (*fn)(void *arg, const char *issuer,
				const char *url, int64_t age,
				unsigned failures),
		     void *arg, int64_t now);

#endif
