/*
 * claims.c: strict reading of exp, nbf, iat, iss, aud and the subject.
 */
#include <string.h>

#include "claims.h"
#include "text.h"
#include "validator.h"

/* One NumericDate: absent (0 returned in *v), or an integer in (0, 2^53). */
static enum edgeseal_reason
numeric_date(const json_t *payload, const char *name, int64_t *v)
{
	const json_t *j = json_object_get(payload, name);
	json_int_t n;

	*v = 0;
	if (j == NULL)
		return EDGESEAL_OK;
	if (!json_is_integer(j))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	n = json_integer_value(j);
	if (n <= 0 || n >= ES_NUMERIC_DATE_LIMIT)
		return EDGESEAL_INVALID_CLAIM_TYPE;
	*v = (int64_t)n;
	return EDGESEAL_OK;
}

enum edgeseal_reason
es_claims_times(const json_t *payload, struct es_times *out)
{
	enum edgeseal_reason r;
	struct es_times t;

	r = numeric_date(payload, "exp", &t.exp);
	if (r == EDGESEAL_OK && t.exp == 0)
		r = EDGESEAL_MISSING_CLAIM;
	if (r == EDGESEAL_OK)
		r = numeric_date(payload, "nbf", &t.nbf);
	if (r == EDGESEAL_OK)
		r = numeric_date(payload, "iat", &t.iat);
	if (r == EDGESEAL_OK)
		*out = t;
	return r;
}

enum edgeseal_reason
es_claims_check_times(const struct es_times *t, unsigned leeway,
		      unsigned max_lifetime, int64_t now)
{
	/*
	 * Every claim is below 2^53 and leeway and max_lifetime below 2^32,
	 * so sums and differences of claims cannot overflow; now is only
	 * ever compared, never added to.
	 */
	if (now > t->exp + (int64_t)leeway)
		return EDGESEAL_EXPIRED;
	if (t->nbf != 0 && t->nbf - (int64_t)leeway > now)
		return EDGESEAL_NOT_YET_VALID;
	if (t->iat != 0 && t->iat - (int64_t)leeway > now)
		return EDGESEAL_IAT_IN_FUTURE;
	if (t->iat != 0 && t->exp - t->iat > (int64_t)max_lifetime)
		return EDGESEAL_LIFETIME_TOO_LONG;
	if (t->iat == 0 && t->exp - (int64_t)max_lifetime > now)
		return EDGESEAL_LIFETIME_TOO_LONG;
	return EDGESEAL_OK;
}

enum edgeseal_reason
es_claims_issuer(const json_t *payload, const char **iss, size_t *len)
{
	const json_t *j = json_object_get(payload, "iss");

	if (j == NULL)
		return EDGESEAL_MISSING_CLAIM;
	if (!json_is_string(j))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	*iss = json_string_value(j);
	*len = json_string_length(j);
	return EDGESEAL_OK;
}

static int
audience_listed(const json_t *s, const struct es_strlist *audiences)
{
	size_t len = json_string_length(s);

	for (unsigned i = 0; i < audiences->count; i++)
		if (strlen(audiences->items[i]) == len &&
		    memcmp(audiences->items[i], json_string_value(s), len) == 0)
			return 1;
	return 0;
}

enum edgeseal_reason
es_claims_audience(const json_t *payload, const struct es_strlist *audiences)
{
	const json_t *aud = json_object_get(payload, "aud");
	int found = 0;
	size_t i;
	json_t *item;

	if (aud == NULL)
		return audiences->count ? EDGESEAL_MISSING_CLAIM : EDGESEAL_OK;
	if (json_is_string(aud))
		found = audience_listed(aud, audiences);
	else if (!json_is_array(aud))
		return EDGESEAL_INVALID_CLAIM_TYPE;

	json_array_foreach(aud, i, item) {
		if (!json_is_string(item))
			return EDGESEAL_INVALID_CLAIM_TYPE;
		found |= audience_listed(item, audiences);
	}
	if (audiences->count == 0 || found)
		return EDGESEAL_OK;
	return EDGESEAL_BAD_AUDIENCE;
}

enum edgeseal_reason
es_claims_subject(const json_t *payload, const char *claim, const char **sub,
		  size_t *len)
{
	const json_t *j = json_object_get(payload, claim);
	const char *s;
	size_t n;

	if (j == NULL)
		return EDGESEAL_MISSING_CLAIM;
	if (!json_is_string(j))
		return EDGESEAL_INVALID_CLAIM_TYPE;
	s = json_string_value(j);
	n = json_string_length(j);

	/*
	 * The subject becomes a header value, a log field and the seal's
	 * sub: the seal's own rule (no control characters, commas, or
	 * spaces at either end) so the three always agree.
	 */
	if (n > ES_SUB_MAX || !edgeseal__subject_ok(s, n))
		return EDGESEAL_INVALID_SUBJECT;
	*sub = s;
	*len = n;
	return EDGESEAL_OK;
}
