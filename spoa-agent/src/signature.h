/*
 * signature.h: check a JWS signature with a key and algorithm we chose.
 *
 * The algorithm is the key's, never the token's: the caller has already
 * required the token's alg to equal it. Public keys are pre-loaded
 * EVP_PKEY objects (measured faster than handing PEM to libjwt on every
 * call, see docs/token-validation.md) and PS256/384/512, which libjwt 1.10
 * lacks, use the same path.
 */
#ifndef ES_SIGNATURE_H
#define ES_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#include "issuer_keys.h"

/*
 * 1 when sig is a valid signature by key over input[0..len), else 0.
 * Lengths are exact: RSA signatures are the modulus size, ECDSA ones the
 * raw R || S of twice the field size (RFC 7518 section 3.4), HMAC ones the
 * hash size, compared in constant time. Thread-safe.
 */
int es_sig_verify(const struct es_key *key, const uint8_t *input,
		  size_t len, const uint8_t *sig, size_t sig_len)
	__attribute__((warn_unused_result));

/*
 * Set up key->verify_tpl once its alg, md and pkey or secret are in
 * place: a context already initialised for that key, which each
 * es_sig_verify() copies. OpenSSL 3 fetches the signature or MAC
 * implementation (under global locks) on every initialisation; a copy
 * skips that, about 9 us per RSA check and 1.5 us per HMAC here. Returns
 * 0, or -1 (out of memory, or OpenSSL refused the key).
 */
int es_sig_prepare(struct es_key *key);

/* Free what es_sig_prepare() made. */
void es_sig_release(struct es_key *key);

#endif
