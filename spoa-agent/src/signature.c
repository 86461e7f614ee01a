/*
 * signature.c: HMAC, RSA PKCS#1 v1.5, RSA-PSS and ECDSA verification with
 * OpenSSL, on keys loaded once by issuer_keys.c.
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "signature.h"

static int
hmac_verify(const struct es_key *key, const struct es_alg_info *ai,
	    const uint8_t *input, size_t len, const uint8_t *sig,
	    size_t sig_len)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	int ok = 0;

	if (sig_len != ai->hash_len || key->secret_len == 0)
		goto out;
	if (HMAC(key->md, key->secret,
		 (int)key->secret_len, input, len, mac, &mac_len) == NULL ||
	    mac_len != sig_len)
		goto out;
	ok = CRYPTO_memcmp(mac, sig, sig_len) == 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

/*
 * JWS carries ECDSA signatures as fixed-size R || S; OpenSSL wants DER.
 * Returns the DER length written to *der (caller frees), or 0.
 */
static int
ecdsa_raw_to_der(const uint8_t *sig, size_t sig_len, uint8_t **der)
{
	size_t half = sig_len / 2;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
	BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
	int n = 0;

	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;	/* owned by es now */
	*der = NULL;
	n = i2d_ECDSA_SIG(es, der);
	if (n < 0)
		n = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return n;
}

static int
pkey_verify(const struct es_key *key, const struct es_alg_info *ai,
	    const uint8_t *input, size_t len, const uint8_t *sig,
	    size_t sig_len)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	int ok = 0, der_len;

	if (ai->family == ES_FAM_EC) {
		if (sig_len != ai->ec_sig_len)
			goto out;
		der_len = ecdsa_raw_to_der(sig, sig_len, &der);
		if (der_len == 0)
			goto out;
		sig = der;
		sig_len = (size_t)der_len;
	} else if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey)) {
		goto out;
	}

	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, &pctx, key->md, NULL,
					       key->pkey) != 1)
		goto out;

	/* RFC 7518 section 3.5: MGF1 with the same hash, salt = hash size. */
	if (ai->family == ES_FAM_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)ai->hash_len) != 1))
		goto out;
	if (ai->family == ES_FAM_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto out;

	ok = EVP_DigestVerify(md, sig, sig_len, input, len) == 1;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

int
es_sig_verify(const struct es_key *key, const uint8_t *input, size_t len,
	      const uint8_t *sig, size_t sig_len)
{
	const struct es_alg_info *ai = es_alg_info(key->alg);

	if (sig_len == 0)
		return 0;
	if (key->md == NULL)
		return 0;
	if (ai->family == ES_FAM_HMAC)
		return hmac_verify(key, ai, input, len, sig, sig_len);
	if (key->pkey == NULL)
		return 0;
	return pkey_verify(key, ai, input, len, sig, sig_len);
}
