/*
 * signature.c: HMAC, RSA PKCS#1 v1.5, RSA-PSS and ECDSA verification with
 * OpenSSL, on keys loaded once by issuer_keys.c.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "signature.h"

static int
hmac_verify(const struct es_key *key, const struct es_alg_info *ai,
	    const uint8_t *input, size_t len, const uint8_t *sig,
	    size_t sig_len)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	EVP_MAC_CTX *ctx = NULL;
	int ok = 0;

	if (sig_len != ai->hash_len || key->mac_tpl == NULL)
		goto out;
	ctx = EVP_MAC_CTX_dup(key->mac_tpl);
	if (ctx == NULL || EVP_MAC_update(ctx, input, len) != 1 ||
	    EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1 ||
	    mac_len != sig_len)
		goto out;
	ok = CRYPTO_memcmp(mac, sig, sig_len) == 0;
out:
	EVP_MAC_CTX_free(ctx);	/* wipes the copied key state */
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
	if (md == NULL || key->verify_tpl == NULL ||
	    EVP_MD_CTX_copy_ex(md, key->verify_tpl) != 1)
		goto out;
	ok = EVP_DigestVerifyUpdate(md, input, len) == 1 &&
	     EVP_DigestVerifyFinal(md, sig, sig_len) == 1;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

/* The HMAC template: the key absorbed once, per RFC 2104. */
static int
prepare_hmac(struct es_key *key)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[2];
	int rc = -1;

	if (mac == NULL)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		(char *)EVP_MD_get0_name(key->md), 0);
	params[1] = OSSL_PARAM_construct_end();
	key->mac_tpl = EVP_MAC_CTX_new(mac);
	if (key->mac_tpl != NULL &&
	    EVP_MAC_init(key->mac_tpl, key->secret, key->secret_len,
			 params) == 1)
		rc = 0;
	EVP_MAC_free(mac);
	return rc;
}

/* The public-key template: digest, key and padding chosen once. */
static int
prepare_pkey(struct es_key *key, const struct es_alg_info *ai)
{
	EVP_PKEY_CTX *pctx = NULL;

	key->verify_tpl = EVP_MD_CTX_new();
	if (key->verify_tpl == NULL ||
	    EVP_DigestVerifyInit(key->verify_tpl, &pctx, key->md, NULL,
				 key->pkey) != 1)
		return -1;

	/* RFC 7518 section 3.5: MGF1 with the same hash, salt = hash size. */
	if (ai->family == ES_FAM_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)ai->hash_len) != 1))
		return -1;
	if (ai->family == ES_FAM_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		return -1;
	return 0;
}

int
es_sig_prepare(struct es_key *key)
{
	const struct es_alg_info *ai = es_alg_info(key->alg);
	int rc;

	if (key->md == NULL)
		return -1;
	if (ai->family == ES_FAM_HMAC)
		rc = key->secret != NULL ? prepare_hmac(key) : -1;
	else
		rc = key->pkey != NULL ? prepare_pkey(key, ai) : -1;
	if (rc != 0)
		es_sig_release(key);
	return rc;
}

void
es_sig_release(struct es_key *key)
{
	EVP_MD_CTX_free(key->verify_tpl);
	EVP_MAC_CTX_free(key->mac_tpl);
	key->verify_tpl = NULL;
	key->mac_tpl = NULL;
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
