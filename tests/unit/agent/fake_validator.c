/*
 * fake_validator.c: a test double of validator.h for transport tests.
 *
 * Decides without keys so the SPOP side can be tested on its own:
 *   "Bearer good"  -> OK, sub alice, iss https://idp.test/, kid k1
 *   "Bearer big"   -> OK with a 4000-byte seal (overflows small frames)
 *   NULL           -> missing_token
 *   anything else  -> bad_signature
 * es_validator_new fails when the config's seal keyset path contains
 * "fail", so reload failures can be provoked.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validator.h"

struct es_validator {
	unsigned long decisions;
};

struct es_validator *
es_validator_new(const struct es_config *cfg, char *err, size_t errlen)
{
	if (cfg->seal_keyset.path != NULL &&
	    strstr(cfg->seal_keyset.path, "fail") != NULL) {
		snprintf(err, errlen, "%s:%d: fake validator refuses %s",
			 cfg->file, cfg->seal_keyset.line,
			 cfg->seal_keyset.path);
		return NULL;
	}
	return calloc(1, sizeof(struct es_validator));
}

void
es_validator_free(struct es_validator *v)
{
	free(v);
}

static size_t
put(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n > cap)
		n = cap;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

static bool
is(const char *auth, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(auth, want, len) == 0;
}

void
es_decide(struct es_validator *v, const char *auth, size_t auth_len,
	  int64_t now, struct es_decision *out)
{
	memset(out, 0, sizeof(*out));
	__atomic_add_fetch(&v->decisions, 1, __ATOMIC_RELAXED);
	if (auth == NULL) {
		out->reason = EDGESEAL_MISSING_TOKEN;
		return;
	}
	edgeseal_fingerprint(auth, auth_len, out->token_fp);
	if (!is(auth, auth_len, "Bearer good") &&
	    !is(auth, auth_len, "Bearer big")) {
		out->reason = EDGESEAL_BAD_SIGNATURE;
		return;
	}

	out->reason = EDGESEAL_OK;
	out->sub_len = put(out->sub, ES_SUB_MAX, "alice");
	out->iss_len = put(out->iss, ES_ISS_MAX, "https://idp.test/");
	out->kid_len = put(out->kid, ES_KID_MAX, "k1");
	if (auth_len == strlen("Bearer big")) {
		memset(out->seal, 's', 4000);
		out->seal[4000] = '\0';
		out->seal_len = 4000;
	} else {
		out->seal_len = put(out->seal, ES_SEAL_MAX, "fake.seal.mac");
	}
	out->iat = now;
}

void
es_validator_describe(const struct es_validator *v, char *buf, size_t len)
{
	snprintf(buf, len, "fake validator (tests only)");
}
