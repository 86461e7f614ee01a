/*
 * claims.h: the registered claims of a user token, read with strict types.
 * Pure: the payload and "now" are parameters, nothing else is consulted.
 */
#ifndef ES_CLAIMS_H
#define ES_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include <edgeseal.h>
#include <jansson.h>

#include "config.h"

/* Largest NumericDate we accept, exclusive: 2^53, exact in a double. */
#define ES_NUMERIC_DATE_LIMIT ((int64_t)1 << 53)

/* exp, nbf and iat; nbf and iat are 0 when absent (valid ones are > 0). */
struct es_times {
	int64_t exp;
	int64_t nbf;
	int64_t iat;
};

/*
 * Read exp (required), nbf and iat. Each must be a JSON integer in
 * (0, 2^53): a string, a float, 0, a negative or a larger value is
 * EDGESEAL_INVALID_CLAIM_TYPE; no exp is EDGESEAL_MISSING_CLAIM.
 */
enum edgeseal_reason es_claims_times(const json_t *payload,
				     struct es_times *out);

/*
 * The time rules at now, in order: expired when now > exp + leeway;
 * not_yet_valid when nbf > now + leeway; iat_in_future when iat > now +
 * leeway; lifetime_too_long when exp - iat > max_lifetime, or, without
 * iat, exp - now > max_lifetime. No sum can overflow whatever now is.
 */
enum edgeseal_reason es_claims_check_times(const struct es_times *t,
					   unsigned leeway,
					   unsigned max_lifetime,
					   int64_t now);

/*
 * The token's iss: a string (EDGESEAL_INVALID_CLAIM_TYPE otherwise),
 * required (EDGESEAL_MISSING_CLAIM). Borrowed from payload.
 */
enum edgeseal_reason es_claims_issuer(const json_t *payload,
				      const char **iss, size_t *len);

/*
 * aud against the configured audiences (none configured: not checked).
 * aud is a string or an array of strings (EDGESEAL_INVALID_CLAIM_TYPE
 * otherwise); absent while audiences are configured is
 * EDGESEAL_MISSING_CLAIM; no byte-exact match is EDGESEAL_BAD_AUDIENCE.
 */
enum edgeseal_reason es_claims_audience(const json_t *payload,
					const struct es_strlist *audiences);

/*
 * The subject from the named claim: absent EDGESEAL_MISSING_CLAIM, not a
 * string EDGESEAL_INVALID_CLAIM_TYPE, empty, longer than ES_SUB_MAX, with
 * a control character (NUL, CR, LF, DEL, ...) or a comma
 * EDGESEAL_INVALID_SUBJECT. Borrowed from payload.
 */
enum edgeseal_reason es_claims_subject(const json_t *payload,
				       const char *claim, const char **sub,
				       size_t *len);

#endif
