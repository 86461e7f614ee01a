/*
 * mac.c: HMAC-SHA256 (RFC 2104) with the key's pads absorbed once per key,
 * constant-time tag comparison, and log fingerprints.
 *
 * A key's inner and outer SHA-256 states after its ipad and opad blocks
 * are kept; each MAC copies them, so per seal there is no key schedule,
 * no algorithm fetch, and two compression calls fewer than a one-shot
 * HMAC(). The states are only read after set-up, so threads share them.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

#define SHA256_BLOCK 64

/* state = SHA-256 after absorbing the block-sized key XOR pad. */
static int
absorb_pad(EVP_MD_CTX *state, const uint8_t *key, size_t len, uint8_t pad)
{
	uint8_t block[SHA256_BLOCK];
	int ok;

	memset(block, pad, sizeof(block));
	for (size_t i = 0; i < len; i++)
		block[i] ^= key[i];
	ok = EVP_DigestInit_ex(state, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(state, block, sizeof(block)) == 1;
	OPENSSL_cleanse(block, sizeof(block));
	return ok ? 0 : -1;
}

int
edgeseal__hmac_key_init(struct edgeseal__hmac_key *hk, const uint8_t *key,
			size_t len)
{
	uint8_t hashed[ES_HS256_LEN];
	unsigned int hashed_len = 0;
	int rc = -1;

	hk->inner = EVP_MD_CTX_new();
	hk->outer = EVP_MD_CTX_new();
	if (hk->inner == NULL || hk->outer == NULL)
		goto out;

	/* RFC 2104 section 2: a key longer than a block is hashed first. */
	if (len > SHA256_BLOCK) {
		if (EVP_Digest(key, len, hashed, &hashed_len, EVP_sha256(),
			       NULL) != 1)
			goto out;
		key = hashed;
		len = hashed_len;
	}
	if (absorb_pad(hk->inner, key, len, 0x36) != 0 ||
	    absorb_pad(hk->outer, key, len, 0x5c) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(hashed, sizeof(hashed));
	if (rc != 0)
		edgeseal__hmac_key_clear(hk);
	return rc;
}

void
edgeseal__hmac_key_clear(struct edgeseal__hmac_key *hk)
{
	/* Freeing a SHA-256 context wipes its state (OPENSSL_clear_free). */
	EVP_MD_CTX_free(hk->inner);
	EVP_MD_CTX_free(hk->outer);
	hk->inner = NULL;
	hk->outer = NULL;
}

int
edgeseal__hmac_key_mac(const struct edgeseal__hmac_key *hk, const void *data,
		       size_t n, uint8_t out[ES_HS256_LEN])
{
	EVP_MD_CTX *work = EVP_MD_CTX_new();
	uint8_t inner[ES_HS256_LEN];
	unsigned int len = 0;
	int rc = -1;

	if (work == NULL)
		return -1;
	if (EVP_MD_CTX_copy_ex(work, hk->inner) != 1 ||
	    EVP_DigestUpdate(work, data, n) != 1 ||
	    EVP_DigestFinal_ex(work, inner, &len) != 1)
		goto out;
	if (EVP_MD_CTX_copy_ex(work, hk->outer) != 1 ||
	    EVP_DigestUpdate(work, inner, sizeof(inner)) != 1 ||
	    EVP_DigestFinal_ex(work, out, &len) != 1)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(inner, sizeof(inner));
	EVP_MD_CTX_free(work);
	return rc;
}

int
edgeseal__hmac_sha256(const uint8_t *key, size_t key_len, const void *data,
		      size_t n, uint8_t out[ES_HS256_LEN])
{
	struct edgeseal__hmac_key hk;
	int rc;

	if (edgeseal__hmac_key_init(&hk, key, key_len) != 0)
		return -1;
	rc = edgeseal__hmac_key_mac(&hk, data, n, out);
	edgeseal__hmac_key_clear(&hk);
	return rc;
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
