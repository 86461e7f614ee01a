/*
 * metrics.h: the agent's counters and the Prometheus listener that serves
 * them as text (exposition format 0.0.4) on GET /metrics.
 *
 * Recording functions are called on the request path by any thread: they
 * only add to relaxed atomics, spread over per-thread shards so worker
 * threads do not fight over one cache line. The render sums the shards.
 *
 * Label values are bounded. Reasons and SPOP statuses are enums. Issuer
 * names come from the configuration ([issuer NAME]); key ids come from a
 * decision's kid, which the validator only sets from a loaded key (never
 * from token text), and from the seal key set. Each of those tables also
 * has a fixed size: a series past it is counted under the value "_other",
 * so even a bug upstream cannot grow memory or series without limit.
 */
#ifndef ES_METRICS_H
#define ES_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "validator.h"

/* Outcome of one JWKS download, for es_metrics_jwks_fetch(). */
enum es_jwks_result {
	ES_JWKS_OK,		/* new keys accepted */
	ES_JWKS_NOT_MODIFIED,	/* 304, or the same document again */
	ES_JWKS_NETWORK_ERROR,	/* connect, TLS, timeout, size cap */
	ES_JWKS_HTTP_ERROR,	/* a status other than 200/304 */
	ES_JWKS_INVALID,	/* the body was not a usable key set */
	ES_JWKS_RESULT_COUNT
};

/*
 * One decision: counted by result and reason, by issuer and kid, its
 * latency in microseconds, and for tokens validated afresh (not cache
 * hits) the clock skew now - iat. cfg maps d->iss to its section name;
 * cfg may be NULL (no issuer label then).
 */
void es_metrics_decision(const struct es_config *cfg,
			 const struct es_decision *d, int64_t us,
			 int64_t now);

/* A seal was minted (not reused from the cache) with this signing kid. */
void es_metrics_seal_minted(const char *kid);

/* SPOP connections: accepted, and closed (the open gauge is the gap). */
void es_metrics_conn_opened(void);
void es_metrics_conn_closed(void);

/* One frame received from HAProxy, by its SPOP frame type byte. */
void es_metrics_frame(unsigned spop_type);

/*
 * A DISCONNECT: sent by us (sent true) or received from HAProxy, with
 * its SPOP status code (codes past 15 are counted as "other").
 */
void es_metrics_disconnect(bool sent, uint64_t status);

/* A reload finished: ok true when the new snapshot was published. */
void es_metrics_reload(bool ok);

/*
 * For the JWKS fetcher: one download of issuer's (the section name)
 * jwks_url ended with result.
 */
void es_metrics_jwks_fetch(const char *issuer, enum es_jwks_result result);

/*
 * For the JWKS fetcher: issuer's keys were last fetched and validated at
 * unix time fetched_at (also when they are the last-known-good set loaded
 * from a cache file). The render reports their age at scrape time.
 */
void es_metrics_keys_updated(const char *issuer, int64_t fetched_at);

/*
 * Render every metric as Prometheus text at unix time now. Returns a
 * malloc'ed NUL-terminated buffer the caller frees (length in *len), or
 * NULL when out of memory.
 */
char *es_metrics_render(int64_t now, size_t *len);

/* Forget every recorded value (tests only; not thread-safe). */
void es_metrics_reset(void);

/*
 * Serve GET /metrics on the already listening socket fd (taken over and
 * closed by es_metrics_stop). Starts a thread: call after daemon().
 * Returns 0, or -1 with a message in err (also when the agent was built
 * without libmicrohttpd).
 */
int es_metrics_start(int fd, char *err, size_t errlen);

/* Stop the listener, if started. */
void es_metrics_stop(void);

#endif
