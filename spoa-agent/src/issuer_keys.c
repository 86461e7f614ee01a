/*
 * issuer_keys.c: load an issuer's verification keys into EVP_PKEY objects
 * and HMAC secrets, once, at configuration time.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "base64url.h"
#include "issuer_keys.h"
#include "signature.h"

static const struct es_alg_info alg_table[ES_ALG_COUNT] = {
	[ES_ALG_HS256] = { "HS256", ES_FAM_HMAC, "SHA256", 32, NULL, 0 },
	[ES_ALG_HS384] = { "HS384", ES_FAM_HMAC, "SHA384", 48, NULL, 0 },
	[ES_ALG_HS512] = { "HS512", ES_FAM_HMAC, "SHA512", 64, NULL, 0 },
	[ES_ALG_RS256] = { "RS256", ES_FAM_RSA, "SHA256", 32, NULL, 0 },
	[ES_ALG_RS384] = { "RS384", ES_FAM_RSA, "SHA384", 48, NULL, 0 },
	[ES_ALG_RS512] = { "RS512", ES_FAM_RSA, "SHA512", 64, NULL, 0 },
	[ES_ALG_PS256] = { "PS256", ES_FAM_PSS, "SHA256", 32, NULL, 0 },
	[ES_ALG_PS384] = { "PS384", ES_FAM_PSS, "SHA384", 48, NULL, 0 },
	[ES_ALG_PS512] = { "PS512", ES_FAM_PSS, "SHA512", 64, NULL, 0 },
	[ES_ALG_ES256] = { "ES256", ES_FAM_EC, "SHA256", 32, "P-256", 64 },
	[ES_ALG_ES384] = { "ES384", ES_FAM_EC, "SHA384", 48, "P-384", 96 },
	[ES_ALG_ES512] = { "ES512", ES_FAM_EC, "SHA512", 64, "P-521", 132 },
};

/* Largest JWK member we decode (an RSA-16384 modulus is 2 KiB). */
#define JWK_MEMBER_MAX 4096

int
es_alg_parse(const char *name, size_t len, enum es_alg *alg)
{
	for (int i = 0; i < ES_ALG_COUNT; i++) {
		if (strlen(alg_table[i].name) == len &&
		    memcmp(alg_table[i].name, name, len) == 0) {
			*alg = (enum es_alg)i;
			return 0;
		}
	}
	return -1;
}

const struct es_alg_info *
es_alg_info(enum es_alg alg)
{
	return &alg_table[alg];
}

static void __attribute__((format(printf, 4, 5)))
set_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errlen == 0)
		return;
	n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * May this open file be read as a key? A regular file nobody but root or
 * us can write; with secret set also ours and closed to group and others
 * (es_file_untrusted). Checked on the descriptor, so the check and the
 * read see the same file. Sets *size.
 */
static int
file_acceptable(int fd, const char *path, int secret, size_t *size,
		char *err, size_t errlen)
{
	char buf[PATH_MAX + 64];
	struct stat st;
	const char *why;

	if (fstat(fd, &st) != 0) {
		set_err(err, errlen, path, "%s", strerror(errno));
		return 0;
	}
	/* Public keys too: whoever can write one can add an IdP key. */
	why = es_file_untrusted(&st, geteuid(), secret);
	if (why == NULL)
		why = es_path_untrusted(path, geteuid(), buf, sizeof(buf));
	if (why != NULL) {
		set_err(err, errlen, path, "%s", why);
		return 0;
	}
	if (st.st_size > ES_KEY_FILE_MAX) {
		set_err(err, errlen, path, "larger than %d bytes",
			ES_KEY_FILE_MAX);
		return 0;
	}
	*size = (size_t)st.st_size;
	return 1;
}

/* Read a whole key file into a fresh buffer with a NUL after the bytes. */
static int
read_key_file(const char *path, int secret, uint8_t **buf, size_t *len,
	      char *err, size_t errlen)
{
	uint8_t *data = NULL;
	size_t size = 0, got = 0;
	ssize_t n;
	int fd, rc = -1;

	/* O_NONBLOCK: a FIFO must be refused below, not hang open(). */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, path, "%s", strerror(errno));
		goto out;
	}
	if (!file_acceptable(fd, path, secret, &size, err, errlen))
		goto out;

	/* One spare byte so text parsers get a NUL and empty files a buffer. */
	data = malloc(size + 1);
	if (data == NULL) {
		set_err(err, errlen, path, "out of memory");
		goto out;
	}
	while (got < size) {
		n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			set_err(err, errlen, path, "read failed");
			goto out;
		}
		got += (size_t)n;
	}
	data[got] = '\0';
	*buf = data;
	*len = got;
	data = NULL;
	rc = 0;
out:
	if (data != NULL) {
		OPENSSL_cleanse(data, size + 1);
		free(data);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static EVP_MD *
fetch_md(enum es_alg alg)
{
	return EVP_MD_fetch(NULL, es_alg_info(alg)->digest, NULL);
}

/* Room for one more key; the new slot is zeroed. */
static struct es_key *
keyring_slot(struct es_keyring *kr)
{
	struct es_key *keys;
	size_t cap;

	if (kr->count == kr->cap) {
		cap = kr->cap ? kr->cap * 2 : 4;
		keys = realloc(kr->keys, cap * sizeof(*keys));
		if (keys == NULL)
			return NULL;
		kr->keys = keys;
		kr->cap = cap;
	}
	memset(&kr->keys[kr->count], 0, sizeof(kr->keys[0]));
	return &kr->keys[kr->count];
}

static void
key_release(struct es_key *k)
{
	es_sig_release(k);
	EVP_MD_free(k->md);
	EVP_PKEY_free(k->pkey);
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->secret_len);
		free(k->secret);
	}
	memset(k, 0, sizeof(*k));
}

void
es_keyring_clear(struct es_keyring *kr)
{
	for (size_t i = 0; i < kr->count; i++)
		key_release(&kr->keys[i]);
	free(kr->keys);
	memset(kr, 0, sizeof(*kr));
}

const struct es_key *
es_keyring_find(const struct es_keyring *kr, const char *kid, size_t kid_len)
{
	for (size_t i = 0; i < kr->count; i++) {
		const struct es_key *k = &kr->keys[i];

		if (k->kid_len == kid_len && memcmp(k->kid, kid, kid_len) == 0)
			return k;
	}
	return NULL;
}

/* The kid must be printable, fit, and be new to this keyring. */
static int
kid_acceptable(const struct es_keyring *kr, const char *kid)
{
	size_t len = strlen(kid);

	if (len == 0 || len > ES_KID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)kid[i] < 0x20 || kid[i] == 0x7f)
			return 0;
	return es_keyring_find(kr, kid, len) == NULL;
}

/* Does pkey's curve equal the NIST-named curve? */
static int
curve_matches(EVP_PKEY *pkey, const char *nist)
{
	char name[64];
	int nid;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_group_name(pkey, name, sizeof(name), NULL))
		return 0;
	nid = EC_curve_nist2nid(name);
	if (nid == NID_undef)
		nid = OBJ_txt2nid(name);
	return nid != NID_undef && nid == EC_curve_nist2nid(nist);
}

/* Is pkey a sound public key of the right type and size for alg? */
static const char *
pkey_fits(EVP_PKEY *pkey, enum es_alg alg)
{
	const struct es_alg_info *ai = es_alg_info(alg);
	EVP_PKEY_CTX *ctx;
	int ok;

	if (ai->family == ES_FAM_EC) {
		if (!curve_matches(pkey, ai->curve))
			return "key is not on the curve the algorithm names";
	} else if (ai->family == ES_FAM_HMAC) {
		return "HMAC algorithm given for a public key";
	} else {
		int pss = EVP_PKEY_is_a(pkey, "RSA-PSS");

		if (!EVP_PKEY_is_a(pkey, "RSA") &&
		    !(ai->family == ES_FAM_PSS && pss))
			return "not an RSA key";
		if (EVP_PKEY_get_bits(pkey) < ES_RSA_MIN_BITS)
			return "RSA modulus shorter than 2048 bits";
		/* Checked before EVP_PKEY_public_check, whose cost grows
		 * with the modulus: a JWKS of huge keys would stall us. */
		if (EVP_PKEY_get_bits(pkey) > ES_RSA_MAX_BITS)
			return "RSA modulus longer than 8192 bits";
	}

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? NULL : "public key check failed";
}

/*
 * Name the key in slot k (its alg and material set), prepare its verify
 * context and count it in; on failure the slot is released and not
 * counted.
 */
static int
commit_key(struct es_keyring *kr, struct es_key *k, const char *kid,
	   const char *path, char *err, size_t errlen)
{
	k->kid_len = strlen(kid);
	memcpy(k->kid, kid, k->kid_len + 1);
	if (es_sig_prepare(k) != 0) {
		set_err(err, errlen, path, "kid %.64s: OpenSSL cannot verify "
			"with this key", kid);
		key_release(k);
		return -1;
	}
	kr->count++;
	return 0;
}

/* Append a public key; takes ownership of pkey in every case. */
static int
add_pkey(struct es_keyring *kr, const char *kid, enum es_alg alg,
	 EVP_PKEY *pkey, const char *path, char *err, size_t errlen)
{
	struct es_key *k;
	const char *why;

	if (!kid_acceptable(kr, kid)) {
		set_err(err, errlen, path, "kid \"%.64s\" empty, too long, "
			"not printable or used twice", kid);
		goto fail;
	}
	why = pkey_fits(pkey, alg);
	if (why != NULL) {
		set_err(err, errlen, path, "kid %.64s: %s", kid, why);
		goto fail;
	}
	k = keyring_slot(kr);
	if (k == NULL || (k->md = fetch_md(alg)) == NULL) {
		set_err(err, errlen, path, "out of memory");
		goto fail;
	}
	k->alg = alg;
	k->pkey = pkey;
	pkey = NULL;
	if (commit_key(kr, k, kid, path, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	EVP_PKEY_free(pkey);
	return -1;
}

int
es_keyring_add_pem_file(struct es_keyring *kr, const char *kid,
			const char *alg_name, const char *path, char *err,
			size_t errlen)
{
	enum es_alg alg;
	EVP_PKEY *pkey = NULL;
	uint8_t *pem = NULL;
	size_t len = 0;
	BIO *bio;

	if (es_alg_parse(alg_name, strlen(alg_name), &alg) != 0 ||
	    es_alg_info(alg)->family == ES_FAM_HMAC) {
		set_err(err, errlen, path, "unsupported public key "
			"algorithm \"%.32s\"", alg_name);
		return -1;
	}
	/* Read through the same checks as every key file, then parse. */
	if (read_key_file(path, 0, &pem, &len, err, errlen) != 0)
		return -1;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio != NULL)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	if (pkey == NULL) {
		set_err(err, errlen, path, "no PEM public key");
		return -1;
	}
	return add_pkey(kr, kid, alg, pkey, path, err, errlen);
}

int
es_keyring_add_hmac_file(struct es_keyring *kr, const char *kid,
			 const char *alg_name, const char *path, char *err,
			 size_t errlen)
{
	enum es_alg alg;
	struct es_key *k;
	uint8_t *secret = NULL;
	size_t len = 0;
	int rc = -1;

	if (es_alg_parse(alg_name, strlen(alg_name), &alg) != 0 ||
	    es_alg_info(alg)->family != ES_FAM_HMAC) {
		set_err(err, errlen, path, "hmac_key algorithm must be "
			"HS256, HS384 or HS512");
		goto out;
	}
	if (!kid_acceptable(kr, kid)) {
		set_err(err, errlen, path, "kid \"%.64s\" empty, too long, "
			"not printable or used twice", kid);
		goto out;
	}
	if (read_key_file(path, 1, &secret, &len, err, errlen) != 0)
		goto out;
	if (len < es_alg_info(alg)->hash_len) {
		set_err(err, errlen, path, "secret shorter than %zu bytes",
			es_alg_info(alg)->hash_len);
		goto out;
	}
	k = keyring_slot(kr);
	if (k == NULL || (k->md = fetch_md(alg)) == NULL) {
		set_err(err, errlen, path, "out of memory");
		goto out;
	}
	k->alg = alg;
	k->secret = secret;
	k->secret_len = len;
	secret = NULL;
	if (commit_key(kr, k, kid, path, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (secret != NULL) {
		OPENSSL_cleanse(secret, len);
		free(secret);
	}
	return rc;
}

/* Decode one base64url JWK member into a fresh buffer. */
static int
jwk_bytes(const json_t *jwk, const char *name, uint8_t **out, size_t *len)
{
	const json_t *v = json_object_get(jwk, name);
	const char *s;
	size_t n;
	uint8_t *buf;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > JWK_MEMBER_MAX)
		return -1;
	buf = malloc(edgeseal__b64url_decoded_max(n) + 1);
	if (buf == NULL)
		return -1;
	if (edgeseal__b64url_decode(s, n, buf, edgeseal__b64url_decoded_max(n),
				    len) != 0 || *len == 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/* Build an EVP_PKEY of type from params (a public key only). */
static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* RFC 7518 section 6.3.1: modulus n and exponent e, unsigned big-endian. */
static EVP_PKEY *
jwk_rsa(const json_t *jwk)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nlen, elen;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (jwk_bytes(jwk, "n", &n, &nlen) != 0 ||
	    jwk_bytes(jwk, "e", &e, &elen) != 0)
		goto out;
	bn_n = BN_bin2bn(n, (int)nlen, NULL);
	bn_e = BN_bin2bn(e, (int)elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn_n == NULL || bn_e == NULL || bld == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	pkey = pkey_from_params("RSA", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return pkey;
}

/*
 * RFC 7518 section 6.2.1 wants x and y at exactly the field size, but some
 * libraries (PyJWT before 2.8, Debian 12's among them) write them as
 * integers without leading zero bytes, so about one P-256 key in 128
 * comes out a byte short. The integer is the same either way: a shorter
 * coordinate is left-padded with zeros, a longer one refused, and OpenSSL
 * still checks the point is on the curve. The uncompressed point is
 * 0x04 || x || y of ec_sig_len + 1 bytes.
 */
static EVP_PKEY *
jwk_ec(const json_t *jwk, enum es_alg alg)
{
	const struct es_alg_info *ai = es_alg_info(alg);
	size_t field = ai->ec_sig_len / 2, xlen = 0, ylen = 0;
	uint8_t *x = NULL, *y = NULL, point[1 + 132];
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (jwk_bytes(jwk, "x", &x, &xlen) != 0 ||
	    jwk_bytes(jwk, "y", &y, &ylen) != 0 ||
	    xlen > field || ylen > field)
		goto out;
	memset(point, 0, sizeof(point));
	point[0] = 0x04;
	memcpy(point + 1 + field - xlen, x, xlen);
	memcpy(point + 1 + 2 * field - ylen, y, ylen);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     ai->curve, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
					      point, 1 + 2 * field))
		goto out;
	pkey = pkey_from_params("EC", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pkey;
}

/* The JWK's alg, or the documented default for its kty and crv. */
static int
jwk_alg(const json_t *jwk, const char *kty, enum es_alg *alg)
{
	const json_t *a = json_object_get(jwk, "alg");
	const char *crv = json_string_value(json_object_get(jwk, "crv"));

	if (a != NULL)
		return json_is_string(a) ? es_alg_parse(json_string_value(a),
				json_string_length(a), alg) : -1;
	if (strcmp(kty, "RSA") == 0) {
		*alg = ES_ALG_RS256;
		return 0;
	}
	for (int i = ES_ALG_ES256; i <= ES_ALG_ES512; i++) {
		if (crv != NULL && strcmp(crv, alg_table[i].curve) == 0) {
			*alg = (enum es_alg)i;
			return 0;
		}
	}
	return -1;
}

/* Add one JWK; 1 when skipped on purpose, 0 when added, -1 on error. */
static int
add_jwk(struct es_keyring *kr, const json_t *jwk, size_t idx,
	const char *path, char *err, size_t errlen)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *use = json_string_value(json_object_get(jwk, "use"));
	const char *kid = json_string_value(json_object_get(jwk, "kid"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	enum es_alg alg;
	EVP_PKEY *pkey;

	if (!json_is_object(jwk) || kty == NULL) {
		set_err(err, errlen, path, "key %zu: no kty", idx);
		return -1;
	}
	if ((use != NULL && strcmp(use, "sig") != 0) ||
	    (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
		return 1;
	if (kid == NULL || jwk_alg(jwk, kty, &alg) != 0) {
		set_err(err, errlen, path, "key %zu: missing kid or "
			"unsupported alg", idx);
		return -1;
	}

	if (strcmp(kty, "EC") == 0) {
		if (es_alg_info(alg)->family != ES_FAM_EC || crv == NULL ||
		    strcmp(crv, es_alg_info(alg)->curve) != 0) {
			set_err(err, errlen, path, "key %zu: crv and alg "
				"disagree", idx);
			return -1;
		}
		pkey = jwk_ec(jwk, alg);
	} else {
		pkey = jwk_rsa(jwk);
	}
	if (pkey == NULL) {
		set_err(err, errlen, path, "key %zu: bad key material", idx);
		return -1;
	}
	return add_pkey(kr, kid, alg, pkey, path, err, errlen);
}

int
es_keyring_add_jwks(struct es_keyring *kr, const char *json, size_t len,
		    const char *path, char *err, size_t errlen)
{
	size_t start = kr->count, added = 0;
	json_error_t jerr;
	json_t *doc, *keys;
	int rc = -1, r;

	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		set_err(err, errlen, path, "not a JSON Web Key Set");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(keys); i++) {
		r = add_jwk(kr, json_array_get(keys, i), i, path, err, errlen);
		if (r < 0)
			goto out;
		added += r == 0;
	}
	if (added == 0) {
		set_err(err, errlen, path, "no usable key");
		goto out;
	}
	rc = 0;
out:
	/* A failed load leaves the keyring as it was. */
	while (rc != 0 && kr->count > start)
		key_release(&kr->keys[--kr->count]);
	json_decref(doc);
	return rc;
}

int
es_keyring_add_jwks_file(struct es_keyring *kr, const char *path, char *err,
			 size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if (read_key_file(path, 0, &buf, &len, err, errlen) != 0)
		return -1;
	rc = es_keyring_add_jwks(kr, (const char *)buf, len, path, err,
				 errlen);
	free(buf);
	return rc;
}
