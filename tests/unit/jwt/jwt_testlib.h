/*
 * jwt_testlib.h: what the JWT unit tests need to build their own world:
 * fresh keys, key files in a private temp dir, a small token signer that
 * can also produce broken tokens, and a configuration filled by hand (the
 * tests never depend on the INI parser).
 */
#ifndef JWT_TESTLIB_H
#define JWT_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "config.h"

/* A signing key as the test's identity provider holds it. */
struct tk_key {
	const char *kid;
	const char *alg;
	EVP_PKEY *pkey;			/* private key for RS, PS, ES */
	const uint8_t *secret;		/* HS */
	size_t secret_len;
};

/* A private temp dir (0700); files are written into it 0600. */
char *tk_tmpdir(void);
void tk_rmdir(char *dir);

/* Write len bytes to dir/name with mode; returns the malloc'd path. */
char *tk_write(const char *dir, const char *name, const void *data,
	       size_t len, int mode);

EVP_PKEY *tk_rsa(int bits);
EVP_PKEY *tk_ec(const char *curve);	/* "P-256", "P-384", "P-521" */

/* The public key as PEM text (malloc'd, NUL-terminated). */
char *tk_pem(EVP_PKEY *pkey);

/* One public JWK object as JSON text (alg may be NULL: left out). */
char *tk_jwk(EVP_PKEY *pkey, const char *kid, const char *alg);

/* A seal key set with one 32-byte key "seal1", written 0600. */
char *tk_seal_keyset(const char *dir);

/* base64url of len bytes (malloc'd). */
char *tk_b64(const void *data, size_t len);

/* The signature bytes over input with key (malloc'd, length in *len). */
uint8_t *tk_sign(const struct tk_key *key, const char *input, size_t n,
		 size_t *len);

/*
 * A compact token: base64url(header).base64url(payload).signature, where
 * the signature is made with key (NULL: empty signature). malloc'd.
 */
char *tk_token(const char *header, const char *payload,
	       const struct tk_key *key);

/* "Bearer " + token (malloc'd). */
char *tk_bearer(const char *token);

/* printf into a malloc'd string. */
char *tk_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Add words to a string list. */
void tk_list(struct es_strlist *l, const char *words);

/* Free what the tests put into a configuration by hand. */
void tk_config_free(struct es_config *cfg);

#endif
