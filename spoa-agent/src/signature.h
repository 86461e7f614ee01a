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

#endif
