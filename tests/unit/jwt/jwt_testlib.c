/*
 * jwt_testlib.c: keys, files, a token signer and hand-made configurations
 * for the JWT unit tests.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "base64url.h"
#include "jwt_testlib.h"

static void *
must(void *p)
{
	if (p == NULL) {
		fprintf(stderr, "jwt_testlib: out of memory or OpenSSL "
			"error\n");
		abort();
	}
	return p;
}

char *
tk_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return must(s);
}

char *
tk_tmpdir(void)
{
	char *dir = must(strdup("/tmp/es-jwt-test-XXXXXX"));

	return must(mkdtemp(dir));
}

void
tk_rmdir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = tk_fmt("%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	free(dir);
}

char *
tk_write(const char *dir, const char *name, const void *data, size_t len,
	 int mode)
{
	char *path = tk_fmt("%s/%s", dir, name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode))
		abort();
	close(fd);
	return path;
}

EVP_PKEY *
tk_rsa(int bits)
{
	return must(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits));
}

EVP_PKEY *
tk_ec(const char *curve)
{
	return must(EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve));
}

char *
tk_pem(EVP_PKEY *pkey)
{
	BIO *b = must(BIO_new(BIO_s_mem()));
	char *data, *out;
	long n;

	if (PEM_write_bio_PUBKEY(b, pkey) != 1)
		abort();
	n = BIO_get_mem_data(b, &data);
	out = must(strndup(data, (size_t)n));
	BIO_free(b);
	return out;
}

char *
tk_b64(const void *data, size_t len)
{
	char *out = must(malloc(edgeseal__b64url_encoded_len(len) + 1));

	edgeseal__b64url_encode(data, len, out);
	return out;
}

static char *
bn_b64(EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		abort();
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	return tk_b64(buf, (size_t)n);
}

char *
tk_jwk(EVP_PKEY *pkey, const char *kid, const char *alg)
{
	json_t *o = json_object();
	char *x, *y, *text, crv[32];
	uint8_t pt[1 + 132];
	size_t n;

	json_object_set_new(o, "kid", json_string(kid));
	if (alg != NULL)
		json_object_set_new(o, "alg", json_string(alg));
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		json_object_set_new(o, "kty", json_string("RSA"));
		x = bn_b64(pkey, OSSL_PKEY_PARAM_RSA_N);
		y = bn_b64(pkey, OSSL_PKEY_PARAM_RSA_E);
		json_object_set_new(o, "n", json_string(x));
		json_object_set_new(o, "e", json_string(y));
	} else {
		if (EVP_PKEY_get_octet_string_param(pkey,
			OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
			&n) != 1 ||
		    EVP_PKEY_get_group_name(pkey, crv, sizeof(crv), NULL) != 1)
			abort();
		json_object_set_new(o, "kty", json_string("EC"));
		json_object_set_new(o, "crv", json_string(
			strcmp(crv, "prime256v1") == 0 ? "P-256" :
			strcmp(crv, "secp384r1") == 0 ? "P-384" : "P-521"));
		x = tk_b64(pt + 1, (n - 1) / 2);
		y = tk_b64(pt + 1 + (n - 1) / 2, (n - 1) / 2);
		json_object_set_new(o, "x", json_string(x));
		json_object_set_new(o, "y", json_string(y));
	}
	text = must(json_dumps(o, JSON_COMPACT));
	free(x);
	free(y);
	json_decref(o);
	return text;
}

char *
tk_seal_keyset(const char *dir)
{
	uint8_t k[32];
	char *kb, *json, *path;

	if (RAND_bytes(k, sizeof(k)) != 1)
		abort();
	kb = tk_b64(k, sizeof(k));
	json = tk_fmt("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"seal1\","
		      "\"alg\":\"HS256\",\"k\":\"%s\"}]}", kb);
	path = tk_write(dir, "seal.jwks", json, strlen(json), 0600);
	free(kb);
	free(json);
	return path;
}

static const char *
digest_of(const char *alg)
{
	if (strcmp(alg + 2, "384") == 0)
		return "SHA384";
	return strcmp(alg + 2, "512") == 0 ? "SHA512" : "SHA256";
}

/* DER ECDSA to the JWS form: R || S, each left-padded to the field size. */
static uint8_t *
der_to_raw(const uint8_t *der, size_t der_len, EVP_PKEY *pkey, size_t *len)
{
	size_t field = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	ECDSA_SIG *es = must(d2i_ECDSA_SIG(NULL, &der, (long)der_len));
	uint8_t *raw = must(calloc(1, 2 * field));

	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)field);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + field, (int)field);
	ECDSA_SIG_free(es);
	*len = 2 * field;
	return raw;
}

uint8_t *
tk_sign(const struct tk_key *key, const char *input, size_t n, size_t *len)
{
	EVP_MD_CTX *md;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *sig, *raw;
	unsigned mlen;

	if (key->alg[0] == 'H') {
		sig = must(malloc(EVP_MAX_MD_SIZE));
		HMAC(EVP_get_digestbyname(digest_of(key->alg)), key->secret,
		     (int)key->secret_len, (const uint8_t *)input, n, sig,
		     &mlen);
		*len = mlen;
		return sig;
	}
	md = must(EVP_MD_CTX_new());
	if (EVP_DigestSignInit_ex(md, &pctx, digest_of(key->alg), NULL, NULL,
				  key->pkey, NULL) != 1)
		abort();
	if (key->alg[0] == 'P') {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	}
	if (EVP_DigestSign(md, NULL, len, (const uint8_t *)input, n) != 1)
		abort();
	sig = must(malloc(*len));
	if (EVP_DigestSign(md, sig, len, (const uint8_t *)input, n) != 1)
		abort();
	EVP_MD_CTX_free(md);
	if (key->alg[0] != 'E')
		return sig;
	raw = der_to_raw(sig, *len, key->pkey, len);
	free(sig);
	return raw;
}

char *
tk_token(const char *header, const char *payload, const struct tk_key *key)
{
	char *h = tk_b64(header, strlen(header));
	char *p = tk_b64(payload, strlen(payload));
	char *input = tk_fmt("%s.%s", h, p);
	char *s = must(strdup("")), *tok;
	uint8_t *sig;
	size_t n;

	if (key != NULL) {
		free(s);
		sig = tk_sign(key, input, strlen(input), &n);
		s = tk_b64(sig, n);
		free(sig);
	}
	tok = tk_fmt("%s.%s", input, s);
	free(h);
	free(p);
	free(input);
	free(s);
	return tok;
}

char *
tk_bearer(const char *token)
{
	return tk_fmt("Bearer %s", token);
}

void
tk_list(struct es_strlist *l, const char *words)
{
	char *copy = must(strdup(words)), *save = NULL;

	for (char *w = strtok_r(copy, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save))
		l->items[l->count++] = must(strdup(w));
	free(copy);
}

static void
list_free(struct es_strlist *l)
{
	for (unsigned i = 0; i < l->count; i++)
		free(l->items[i]);
	l->count = 0;
}

static void
keyref_free(struct es_keyref *k)
{
	free(k->kid);
	free(k->alg);
	free(k->file.path);
}

void
tk_config_free(struct es_config *cfg)
{
	for (unsigned i = 0; i < cfg->issuer_count; i++) {
		struct es_issuer_conf *ic = &cfg->issuers[i];

		free(ic->name);
		free(ic->issuer);
		free(ic->jwks_file.path);
		free(ic->jwks_url);
		free(ic->subject_claim);
		for (unsigned j = 0; j < ic->pem_key_count; j++)
			keyref_free(&ic->pem_keys[j]);
		for (unsigned j = 0; j < ic->hmac_key_count; j++)
			keyref_free(&ic->hmac_keys[j]);
		list_free(&ic->audiences);
		list_free(&ic->algorithms);
		list_free(&ic->token_types);
		list_free(&ic->forward_claims);
	}
	free(cfg->file);
	free(cfg->seal_keyset.path);
	free(cfg->seal_signing_kid);
	free(cfg->seal_issuer);
	free(cfg->seal_audience);
	memset(cfg, 0, sizeof(*cfg));
}
