/*
 * mac.c: HMAC-SHA256, constant-time tag comparison and log fingerprints.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "internal.h"

int
edgeseal__hmac_sha256(const uint8_t *key, size_t key_len, const void *data,
		      size_t n, uint8_t out[ES_HS256_LEN])
{
	unsigned int len = 0;

	if (key_len > INT32_MAX)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)key_len, data, n, out, &len) == NULL ||
	    len != ES_HS256_LEN) {
		OPENSSL_cleanse(out, ES_HS256_LEN);
		return -1;
	}
	return 0;
}

int
edgeseal__mac_equal(const uint8_t *a, size_t a_len, const uint8_t *b,
		    size_t b_len)
{
	/* Lengths are public; only the contents must not leak by timing. */
	if (a_len != b_len || a_len == 0)
		return 0;
	return CRYPTO_memcmp(a, b, a_len) == 0;
}

void
edgeseal_fingerprint(const void *data, size_t len, char out[9])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	/* A digest failure must not print stale bytes: show zeros. */
	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len < 4)
		memset(md, 0, 4);
	for (int i = 0; i < 4; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[8] = '\0';
}
