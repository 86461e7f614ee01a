/*
 * jwt_token.c (fuzz): any bytes as an Authorization value through the
 * Bearer rule, the strict front end and every claim reader. The reasons
 * themselves are not checked here (the unit tests do); what must hold is
 * no crash, no leak, no undefined behaviour, and nothing accepted past the
 * cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "claims.h"
#include "jwt_front.h"

#define CAP 16384

static void
read_claims(const json_t *payload)
{
	static char api[] = "api";
	struct es_strlist aud = { .items = { api }, .count = 1 };
	struct es_times t;
	const char *s;
	size_t n;

	if (es_claims_times(payload, &t) == EDGESEAL_OK)
		(void)es_claims_check_times(&t, 30, 86400, 1800000000);
	(void)es_claims_issuer(payload, &s, &n);
	(void)es_claims_audience(payload, &aud);
	(void)es_claims_subject(payload, "sub", &s, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tok;
	size_t len;
	struct es_jwt jwt;

	if (es_bearer_token((const char *)data, size, &tok, &len) !=
	    EDGESEAL_OK) {
		/* Not a Bearer value: take the bytes as the token itself. */
		tok = (const char *)data;
		len = size;
	}
	if (es_jwt_parse(tok, len, CAP, &jwt) != EDGESEAL_OK)
		return 0;
	if (jwt.len > CAP || jwt.signing_len >= jwt.len || jwt.alg == NULL)
		abort();
	read_claims(jwt.payload);
	es_jwt_release(&jwt);
	return 0;
}
