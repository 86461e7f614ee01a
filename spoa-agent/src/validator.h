/*
 * validator.h: the decision the agent makes for one Authorization value.
 *
 * The transport (conn.c) hands the raw Authorization header to es_decide()
 * and turns the decision into SPOE variables. Everything about tokens,
 * keys, the verified-token cache and the seal lives behind this interface.
 *
 * A struct es_validator is built from a parsed configuration (all key files
 * loaded, every key parsed) and is then immutable except for its internal,
 * thread-safe cache; one validator belongs to one configuration snapshot
 * and is freed with it, so a reload starts with an empty cache.
 */
#ifndef ES_VALIDATOR_H
#define ES_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

#include <edgeseal.h>

#include "config.h"

#define ES_SUB_MAX 256
#define ES_ISS_MAX 512
#define ES_KID_MAX 128
#define ES_SEAL_MAX 4096

/*
 * The verdict. On success reason is EDGESEAL_OK and every string is set
 * (NUL-terminated, lengths beside); on failure only reason (and, where
 * known, iss and kid for logs) is meaningful.
 */
struct es_decision {
	enum edgeseal_reason reason;
	char sub[ES_SUB_MAX + 1];
	size_t sub_len;
	char iss[ES_ISS_MAX + 1];
	size_t iss_len;
	char kid[ES_KID_MAX + 1];
	size_t kid_len;
	char seal[ES_SEAL_MAX + 1];
	size_t seal_len;
	char token_fp[9];	/* fingerprint of the token, for logs */
	int cache_hit;		/* 1 when answered from the cache */
	int64_t iat;		/* the user token's iat, 0 when absent */
};

struct es_validator;

/*
 * Build a validator: load every issuer's keys and the seal key set. Returns
 * NULL with "file:line: message" (or "path: message") in err.
 */
struct es_validator *es_validator_new(const struct es_config *cfg, char *err,
				      size_t errlen);
void es_validator_free(struct es_validator *v);

/*
 * Decide for one Authorization header value (auth may be NULL: header
 * absent) at time now. Always fills out; never fails in another way.
 * Safe to call from many threads at once.
 */
void es_decide(struct es_validator *v, const char *auth, size_t auth_len,
	       int64_t now, struct es_decision *out);

/* Short description for `edgeseal-spoa -t` ("issuer corp: 3 keys"). */
void es_validator_describe(const struct es_validator *v, char *buf,
			   size_t len);

#endif
