/*
 * reason.c: the one table between reason codes and their stable strings.
 */
#include <string.h>

#include "edgeseal.h"

/* Indexed by enum edgeseal_reason; a missing row fails the build below. */
static const char *const reason_names[] = {
	[EDGESEAL_OK] = "ok",
	[EDGESEAL_MISSING_TOKEN] = "missing_token",
	[EDGESEAL_MALFORMED_TOKEN] = "malformed_token",
	[EDGESEAL_TOKEN_TOO_LARGE] = "token_too_large",
	[EDGESEAL_ALG_NOT_ALLOWED] = "alg_not_allowed",
	[EDGESEAL_UNKNOWN_KID] = "unknown_kid",
	[EDGESEAL_BAD_SIGNATURE] = "bad_signature",
	[EDGESEAL_UNSUPPORTED_CRIT] = "unsupported_crit",
	[EDGESEAL_UNTRUSTED_KEY_HEADER] = "untrusted_key_header",
	[EDGESEAL_DUPLICATE_MEMBER] = "duplicate_member",
	[EDGESEAL_INVALID_CLAIM_TYPE] = "invalid_claim_type",
	[EDGESEAL_MISSING_CLAIM] = "missing_claim",
	[EDGESEAL_EXPIRED] = "expired",
	[EDGESEAL_NOT_YET_VALID] = "not_yet_valid",
	[EDGESEAL_IAT_IN_FUTURE] = "iat_in_future",
	[EDGESEAL_LIFETIME_TOO_LONG] = "lifetime_too_long",
	[EDGESEAL_BAD_ISSUER] = "bad_issuer",
	[EDGESEAL_BAD_AUDIENCE] = "bad_audience",
	[EDGESEAL_INVALID_SUBJECT] = "invalid_subject",
	[EDGESEAL_UNSUPPORTED_TOKEN_TYPE] = "unsupported_token_type",
	[EDGESEAL_NO_KEY] = "no_key",
	[EDGESEAL_SUBJECT_MISMATCH] = "subject_mismatch",
	[EDGESEAL_MISSING_INTERNAL_CALL] = "missing_internal_call",
	[EDGESEAL_DUPLICATE_HEADER] = "duplicate_header",
	[EDGESEAL_INTERNAL_ERROR] = "internal_error",
	[EDGESEAL_KEY_RESTRICTED] = "key_restricted",
	[EDGESEAL_CLAIMS_TOO_LARGE] = "claims_too_large",
};

_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) ==
		       EDGESEAL_REASON_COUNT,
	       "every reason needs its stable string");

const char *
edgeseal_reason_str(enum edgeseal_reason reason)
{
	if ((unsigned)reason >= EDGESEAL_REASON_COUNT)
		return reason_names[EDGESEAL_INTERNAL_ERROR];
	return reason_names[reason];
}

enum edgeseal_reason
edgeseal_reason_from_str(const char *s)
{
	if (s == NULL)
		return EDGESEAL_REASON_COUNT;
	for (unsigned i = 0; i < EDGESEAL_REASON_COUNT; i++)
		if (strcmp(reason_names[i], s) == 0)
			return (enum edgeseal_reason)i;
	return EDGESEAL_REASON_COUNT;
}
