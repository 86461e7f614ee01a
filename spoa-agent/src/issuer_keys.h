/*
 * issuer_keys.h: the verification keys of one trusted issuer.
 *
 * Keys come from a JWKS file (RSA and EC public keys), PEM public key files
 * and raw HMAC secret files. Each key carries the one algorithm it may be
 * used with; a token's alg must equal it byte for byte. Public keys are
 * parsed once into OpenSSL EVP_PKEY objects at load time so that a request
 * never parses PEM or JSON key material.
 *
 * Loading functions append to a keyring and, on failure, leave it as it was
 * and write "<path>: <reason>" into err. A loaded keyring is immutable and
 * may be read by any number of threads.
 */
#ifndef ES_ISSUER_KEYS_H
#define ES_ISSUER_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "validator.h"

enum es_alg_family { ES_FAM_HMAC, ES_FAM_RSA, ES_FAM_PSS, ES_FAM_EC };

enum es_alg {
	ES_ALG_HS256, ES_ALG_HS384, ES_ALG_HS512,
	ES_ALG_RS256, ES_ALG_RS384, ES_ALG_RS512,
	ES_ALG_PS256, ES_ALG_PS384, ES_ALG_PS512,
	ES_ALG_ES256, ES_ALG_ES384, ES_ALG_ES512,
	ES_ALG_COUNT
};

/* What an algorithm needs: its digest, and for EC the curve and R||S size. */
struct es_alg_info {
	const char *name;
	enum es_alg_family family;
	const char *digest;	/* OpenSSL digest name */
	size_t hash_len;
	const char *curve;	/* EC group name, NULL otherwise */
	size_t ec_sig_len;	/* 2 * field bytes for ES*, 0 otherwise */
};

/*
 * The algorithm named exactly (byte for byte) by name[0..len). Returns 0 and
 * sets *alg, or -1 for a name we do not support ("none" included).
 */
int es_alg_parse(const char *name, size_t len, enum es_alg *alg);
const struct es_alg_info *es_alg_info(enum es_alg alg);

struct es_key {
	char kid[ES_KID_MAX + 1];
	size_t kid_len;
	enum es_alg alg;
	EVP_MD *md;		/* alg's digest, fetched once: a per-call
				   fetch by name takes global locks */
	EVP_PKEY *pkey;		/* RS*, PS*, ES* */
	uint8_t *secret;	/* HS*: never empty, at least hash_len bytes */
	size_t secret_len;
	/* Initialised once by es_sig_prepare(), then only copied. */
	EVP_MD_CTX *verify_tpl;	/* RS*, PS*, ES* */
	EVP_MAC_CTX *mac_tpl;	/* HS* */
};

struct es_keyring {
	struct es_key *keys;
	size_t count;
	size_t cap;
};

/* Smallest RSA modulus we accept, in bits. */
#define ES_RSA_MIN_BITS 2048
/* Above this an RSA key's public check costs seconds of CPU: refused. */
#define ES_RSA_MAX_BITS 8192
/* Largest key file we read. */
#define ES_KEY_FILE_MAX (1024 * 1024)

/*
 * Add every signing key of a JWKS document (RFC 7517). Keys with
 * "use": "enc" and key types other than RSA and EC are skipped; a key we
 * would use but cannot (bad members, small RSA modulus, point not on the
 * curve, alg contradicting the curve, duplicate kid) fails the whole load.
 * Defaults when alg is absent: RSA -> RS256, EC P-256/384/521 ->
 * ES256/384/512. Zero usable keys is an error ("no usable key").
 * path is only used in messages.
 */
int es_keyring_add_jwks(struct es_keyring *kr, const char *json, size_t len,
			const char *path, char *err, size_t errlen);

/* Read a JWKS file and add its keys as es_keyring_add_jwks(). */
int es_keyring_add_jwks_file(struct es_keyring *kr, const char *path,
			     char *err, size_t errlen);

/* Add one PEM public key (SubjectPublicKeyInfo) for kid and alg. */
int es_keyring_add_pem_file(struct es_keyring *kr, const char *kid,
			    const char *alg, const char *path, char *err,
			    size_t errlen);

/*
 * Add one HMAC secret: the file's bytes exactly (nothing is stripped), at
 * least the hash length of alg (32/48/64 bytes, RFC 7518 section 3.2). The
 * file must be a regular file owned by the caller and not readable or
 * writable by group or others.
 */
int es_keyring_add_hmac_file(struct es_keyring *kr, const char *kid,
			     const char *alg, const char *path, char *err,
			     size_t errlen);

/* The key with this kid, or NULL. */
const struct es_key *es_keyring_find(const struct es_keyring *kr,
				     const char *kid, size_t kid_len);

/* Free every key, wiping secrets. Leaves an empty keyring. */
void es_keyring_clear(struct es_keyring *kr);

#endif
