/*
 * helpers.h: what the libedgeseal unit tests share: fixed test keys, a key
 * set built from them, and a way to MAC any header and claims text so a
 * test can write exactly the seal it means to refuse.
 */
#ifndef EDGESEAL_TEST_HELPERS_H
#define EDGESEAL_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "edgeseal.h"

#define T_NOW 1800000000LL	/* the tests' "now" */

/* Raw 32-byte keys: "user" signs anything, "job" is restricted. */
extern const uint8_t t_key_user[32];
extern const uint8_t t_key_job[32];

/* A key set of user ("k1") and, when with_job, job ("job", prefix
   "job:", act required). The caller frees it. */
struct edgeseal_keyset *t_keyset(int with_job);

/* The JSON text of that key set into buf. */
void t_keyset_json(int with_job, char *buf, size_t cap);

/*
 * b64url(header).b64url(claims).b64url(HMAC(key, ...)) into out (which
 * holds cap bytes). mac_len < 32 cuts the MAC, 33 appends a byte.
 */
void t_craft(const char *header, const char *claims, const uint8_t *key,
	     size_t mac_len, char *out, size_t cap);

/* t_craft with the standard header for kid and the user key. */
void t_craft_claims(const char *claims, char *out, size_t cap);

/* A verifier over t_keyset(1) with these rules. */
struct edgeseal_verifier *t_verifier(const char *iss, const char *aud,
				     unsigned leeway, unsigned max_lifetime);

#endif
