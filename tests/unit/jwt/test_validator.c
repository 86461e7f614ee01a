/*
 * test_validator.c: es_decide() end to end over a hand-built configuration
 * with keys generated here: one positive vector per algorithm, one negative
 * per reason, both sides of every time edge, the attacks the issue lists,
 * and each case judged identically by a cached validator (twice) and an
 * uncached one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "base64url.h"
#include "jwt_testlib.h"
#include "token_cache.h"
#include "validator.h"

/* Designated initializers override PL()'s defaults on purpose. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define T0 1800000000LL
#define ISS "\"https://idp.example.com/\""
#define RS_ISS "\"https://rs.example.com/\""
#define MULTI_ISS "\"https://multi.example.com/\""
#define EXP_S "1800000600"
#define IAT_S "1799999990"

/* Raw JSON values of a payload; NULL leaves a member out. */
struct pl {
	const char *iss, *sub, *aud, *exp, *nbf, *iat, *extra;
};
#define PL(...) payload((struct pl){ .iss = ISS, .sub = "\"user-1\"", \
	.aud = "\"api\"", .exp = EXP_S, .iat = IAT_S, __VA_ARGS__ })

struct tcase {
	char *name;
	char *auth;		/* NULL: header absent */
	int64_t now;
	enum edgeseal_reason want;
};

static struct {
	char *dir;
	char *rsa_pem;
	EVP_PKEY *rsa, *ec256, *ec384, *ec521, *other_rsa, *other_ec;
	uint8_t hs[64], multi_secret[32];
	struct es_config cfg;
	struct es_validator *cached, *uncached;
	struct tcase cases[400];
	size_t ncases;
	char *garbage[2000];
	size_t ngarbage;
} w;

/* Keys as the identity providers hold them. */
static struct tk_key k_rs256 = { .kid = "rsa-jwks", .alg = "RS256" };
static struct tk_key k_rs384 = { .kid = "rs384", .alg = "RS384" };
static struct tk_key k_rs512 = { .kid = "rs512", .alg = "RS512" };
static struct tk_key k_ps256 = { .kid = "ps256", .alg = "PS256" };
static struct tk_key k_ps384 = { .kid = "ps384", .alg = "PS384" };
static struct tk_key k_ps512 = { .kid = "ps512", .alg = "PS512" };
static struct tk_key k_es256 = { .kid = "ec256", .alg = "ES256" };
static struct tk_key k_es384 = { .kid = "ec384", .alg = "ES384" };
static struct tk_key k_es512 = { .kid = "ec521", .alg = "ES512" };
static struct tk_key k_espem = { .kid = "es-pem", .alg = "ES256" };
static struct tk_key k_hs256 = { .kid = "hs256", .alg = "HS256" };
static struct tk_key k_hs384 = { .kid = "hs384", .alg = "HS384" };
static struct tk_key k_hs512 = { .kid = "hs512", .alg = "HS512" };
static struct tk_key k_rs1 = { .kid = "rs1", .alg = "RS256" };
static struct tk_key k_m1 = { .kid = "m1", .alg = "HS256" };

/* Strings the cases build are kept here and freed at teardown. */
static char *
keep(char *s)
{
	assert_true(w.ngarbage < sizeof(w.garbage) / sizeof(*w.garbage));
	w.garbage[w.ngarbage++] = s;
	return s;
}

static const char *
payload(struct pl p)
{
	char *s = tk_fmt("{\"x\":0");
	const char *names[] = { "iss", "sub", "aud", "exp", "nbf", "iat" };
	const char *vals[] = { p.iss, p.sub, p.aud, p.exp, p.nbf, p.iat };

	for (size_t i = 0; i < 6; i++) {
		char *t;

		if (vals[i] == NULL)
			continue;
		t = tk_fmt("%s,\"%s\":%s", s, names[i], vals[i]);
		free(s);
		s = t;
	}
	keep(s);
	return keep(tk_fmt("%s%s%s}", s, p.extra ? "," : "",
			   p.extra ? p.extra : ""));
}

static const char *
hdr(const struct tk_key *k)
{
	return keep(tk_fmt("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
			   k->alg, k->kid));
}

static const char *
num(int64_t v)
{
	return keep(tk_fmt("%lld", (long long)v));
}

static void
add_auth(const char *name, char *auth, int64_t now, enum edgeseal_reason want)
{
	struct tcase *c = &w.cases[w.ncases++];

	assert_true(w.ncases <= sizeof(w.cases) / sizeof(*w.cases));
	c->name = strdup(name);
	c->auth = auth;
	c->now = now;
	c->want = want;
}

/* A case from a token text (Bearer prefix added). */
static void
add_raw(const char *name, const char *token, int64_t now,
	enum edgeseal_reason want)
{
	add_auth(name, tk_bearer(token), now, want);
}

static void
add_tok(const char *name, const char *h, const char *p,
	const struct tk_key *key, int64_t now, enum edgeseal_reason want)
{
	char *t = tk_token(h, p, key);

	add_raw(name, t, now, want);
	free(t);
}

/* Replace the signature segment of a signed token with b64 text. */
static char *
with_sig(const char *h, const char *p, const struct tk_key *key,
	 const char *sig_b64)
{
	char *t = tk_token(h, p, key);
	char *dot = strrchr(t, '.');
	char *r;

	dot[1] = '\0';
	r = tk_fmt("%s%s", t, sig_b64);
	free(t);
	return keep(r);
}

/* A signature of n bytes from key, shortened or mangled as asked. */
static char *
sig_b64(const struct tk_key *key, const char *h, const char *p, long delta,
	int flip)
{
	char *t = tk_token(h, p, NULL);
	size_t n;
	uint8_t *sig = tk_sign(key, t, strlen(t) - 1, &n);
	char *s;

	if (flip)
		sig[n / 2] ^= 0x01;
	s = tk_b64(sig, (size_t)((long)n + delta));
	free(sig);
	free(t);
	return keep(s);
}

/* An ES256 signature left in OpenSSL's DER form, as some libraries send. */
static char *
der_sig_b64(const char *h, const char *p)
{
	char *t = tk_token(h, p, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[128];
	size_t n = sizeof(der);

	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL,
					       w.ec256, NULL), 1);
	assert_int_equal(EVP_DigestSign(md, der, &n, (const uint8_t *)t,
					strlen(t) - 1), 1);
	EVP_MD_CTX_free(md);
	free(t);
	return keep(tk_b64(der, n));
}

/* ------------------------------------------------------------------ */
/* The world: keys, files, configuration                               */
/* ------------------------------------------------------------------ */

static void
add_keyref(struct es_keyref *r, const char *kid, const char *alg,
	   const char *path, int line)
{
	r->kid = strdup(kid);
	r->alg = strdup(alg);
	r->file.path = strdup(path);
	r->file.line = line;
}

static char *
write_jwks(void)
{
	char *a = tk_jwk(w.rsa, "rsa-jwks", NULL);
	char *b = tk_jwk(w.ec256, "ec256", "ES256");
	char *c = tk_jwk(w.ec384, "ec384", NULL);
	char *d = tk_jwk(w.ec521, "ec521", "ES512");
	char *json = tk_fmt("{\"keys\":[%s,%s,%s,%s,{\"kty\":\"oct\","
			    "\"kid\":\"skipped\",\"k\":\"AAAA\"}]}",
			    a, b, c, d);
	char *path = tk_write(w.dir, "corp.jwks", json, strlen(json), 0644);

	free(a);
	free(b);
	free(c);
	free(d);
	free(json);
	return path;
}

static void
conf_corp(struct es_issuer_conf *ic, const char *rsa_path,
	  const char *ec_path)
{
	const char *hs_alg[] = { "HS256", "HS384", "HS512" };
	const char *hs_kid[] = { "hs256", "hs384", "hs512" };
	const size_t hs_len[] = { 32, 48, 64 };
	const char *pem[][2] = { { "rs384", "RS384" }, { "rs512", "RS512" },
		{ "ps256", "PS256" }, { "ps384", "PS384" },
		{ "ps512", "PS512" }, { "rs256b", "RS256" } };

	ic->name = strdup("corp");
	ic->line = 10;
	ic->issuer = strdup("https://idp.example.com/");
	tk_list(&ic->audiences, "api web");
	ic->jwks_file.path = write_jwks();
	ic->jwks_file.line = 12;
	for (size_t i = 0; i < 6; i++)
		add_keyref(&ic->pem_keys[ic->pem_key_count++], pem[i][0],
			   pem[i][1], rsa_path, 13 + (int)i);
	add_keyref(&ic->pem_keys[ic->pem_key_count++], "es-pem", "ES256",
		   ec_path, 19);
	for (size_t i = 0; i < 3; i++) {
		char *name = tk_fmt("%s.key", hs_kid[i]);
		char *p = tk_write(w.dir, name, w.hs, hs_len[i], 0600);

		add_keyref(&ic->hmac_keys[ic->hmac_key_count++], hs_kid[i],
			   hs_alg[i], p, 20 + (int)i);
		free(name);
		free(p);
	}
	tk_list(&ic->algorithms, "RS256 RS384 RS512 PS256 PS384 PS512 "
		"ES256 ES384 ES512 HS256 HS384 HS512");
	ic->leeway = 30;
	ic->max_lifetime = 3600;
	ic->max_token_size = 8192;
	ic->subject_claim = strdup("sub");
	tk_list(&ic->forward_claims, "scope roles");
}

static void
conf_others(struct es_config *cfg, const char *rsa_path)
{
	struct es_issuer_conf *rs = &cfg->issuers[1], *m = &cfg->issuers[2];
	char *p;

	rs->name = strdup("rsonly");
	rs->line = 30;
	rs->issuer = strdup("https://rs.example.com/");
	add_keyref(&rs->pem_keys[rs->pem_key_count++], "rs1", "RS256",
		   rsa_path, 31);
	tk_list(&rs->algorithms, "RS256");
	rs->max_lifetime = 86400;
	rs->max_token_size = 16384;

	m->name = strdup("multi");
	m->line = 40;
	m->issuer = strdup("https://multi.example.com/");
	p = tk_write(w.dir, "m1.key", w.multi_secret, 32, 0600);
	add_keyref(&m->hmac_keys[m->hmac_key_count++], "m1", "HS256", p, 41);
	free(p);
	tk_list(&m->algorithms, "HS256 HS512");
	tk_list(&m->token_types, "JWT");
	m->leeway = 30;
	m->max_lifetime = 3600;
	m->max_token_size = 8192;
	cfg->issuer_count = 3;
}

static void
make_keys(void)
{
	struct tk_key *rsa_keys[] = { &k_rs256, &k_rs384, &k_rs512, &k_ps256,
		&k_ps384, &k_ps512, &k_rs1 };
	struct tk_key *hs_keys[] = { &k_hs256, &k_hs384, &k_hs512 };
	const size_t hs_len[] = { 32, 48, 64 };

	w.rsa = tk_rsa(2048);
	w.other_rsa = tk_rsa(2048);
	w.ec256 = tk_ec("P-256");
	w.ec384 = tk_ec("P-384");
	w.ec521 = tk_ec("P-521");
	w.other_ec = tk_ec("P-256");
	assert_int_equal(RAND_bytes(w.hs, sizeof(w.hs)), 1);
	assert_int_equal(RAND_bytes(w.multi_secret, 32), 1);
	for (size_t i = 0; i < 7; i++)
		rsa_keys[i]->pkey = w.rsa;
	k_es256.pkey = k_espem.pkey = w.ec256;
	k_es384.pkey = w.ec384;
	k_es512.pkey = w.ec521;
	for (size_t i = 0; i < 3; i++) {
		hs_keys[i]->secret = w.hs;
		hs_keys[i]->secret_len = hs_len[i];
	}
	k_m1.secret = w.multi_secret;
	k_m1.secret_len = 32;
}

static void
make_config(void)
{
	char *rsa_path, *ec_path, *ec_pem;

	w.rsa_pem = tk_pem(w.rsa);
	rsa_path = tk_write(w.dir, "rsa.pem", w.rsa_pem, strlen(w.rsa_pem),
			    0644);
	ec_pem = tk_pem(w.ec256);
	ec_path = tk_write(w.dir, "ec.pem", ec_pem, strlen(ec_pem), 0644);

	w.cfg.file = strdup("agent.conf");
	conf_corp(&w.cfg.issuers[0], rsa_path, ec_path);
	conf_others(&w.cfg, rsa_path);
	w.cfg.seal_keyset.path = tk_seal_keyset(w.dir);
	w.cfg.seal_keyset.line = 50;
	w.cfg.seal_signing_kid = strdup("seal1");
	w.cfg.seal_ttl = 60;
	w.cfg.cache_entries = 1000;
	w.cfg.cache_seals = 4096;
	free(rsa_path);
	free(ec_path);
	free(ec_pem);
}

static struct es_validator *
new_validator(unsigned entries)
{
	char err[512] = "";
	struct es_validator *v;

	w.cfg.cache_entries = entries;
	v = es_validator_new(&w.cfg, err, sizeof(err));
	if (v == NULL)
		fail_msg("es_validator_new: %s", err);
	return v;
}

/* ------------------------------------------------------------------ */
/* The cases                                                           */
/* ------------------------------------------------------------------ */

static void
cases_positive(void)
{
	struct tk_key *all[] = { &k_rs256, &k_rs384, &k_rs512, &k_ps256,
		&k_ps384, &k_ps512, &k_es256, &k_es384, &k_es512, &k_espem,
		&k_hs256, &k_hs384, &k_hs512 };

	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		add_tok(keep(tk_fmt("ok %s %s", all[i]->alg, all[i]->kid)),
			hdr(all[i]), PL(), all[i], T0, EDGESEAL_OK);

	add_tok("ok rsonly", hdr(&k_rs1), PL(.iss = RS_ISS, .aud = NULL),
		&k_rs1, T0, EDGESEAL_OK);
	add_tok("ok no kid, single key", "{\"alg\":\"RS256\"}",
		PL(.iss = RS_ISS), &k_rs1, T0, EDGESEAL_OK);
	add_tok("ok no kid, single ES384 key", "{\"alg\":\"ES384\"}", PL(),
		&k_es384, T0, EDGESEAL_OK);
	add_tok("ok multi no kid", "{\"alg\":\"HS256\"}",
		PL(.iss = MULTI_ISS), &k_m1, T0, EDGESEAL_OK);
	add_tok("ok typ at+jwt", "{\"alg\":\"HS256\",\"kid\":\"hs256\","
		"\"typ\":\"at+jwt\"}", PL(), &k_hs256, T0, EDGESEAL_OK);
	add_tok("ok typ lower case", "{\"alg\":\"HS256\",\"kid\":\"hs256\","
		"\"typ\":\"jwt\"}", PL(), &k_hs256, T0, EDGESEAL_OK);
	add_tok("ok no typ", "{\"alg\":\"HS256\",\"kid\":\"hs256\"}", PL(),
		&k_hs256, T0, EDGESEAL_OK);
	add_tok("ok aud array", hdr(&k_hs256), PL(.aud = "[\"x\",\"api\"]"),
		&k_hs256, T0, EDGESEAL_OK);
	add_tok("ok aud web", hdr(&k_hs256), PL(.aud = "\"web\""), &k_hs256,
		T0, EDGESEAL_OK);
	add_tok("ok forwarded claims", hdr(&k_hs256),
		PL(.extra = "\"scope\":\"read\",\"roles\":[\"a\",\"b\"]"),
		&k_hs256, T0, EDGESEAL_OK);
	add_auth("ok scheme upper case", tk_fmt("BEARER %s",
		 keep(tk_token(hdr(&k_hs256), PL(), &k_hs256))), T0,
		 EDGESEAL_OK);
}

static void
cases_bearer(void)
{
	char *good = keep(tk_token(hdr(&k_hs256), PL(), &k_hs256));

	add_auth("missing: absent", NULL, T0, EDGESEAL_MISSING_TOKEN);
	add_auth("missing: empty", strdup(""), T0, EDGESEAL_MISSING_TOKEN);
	add_auth("missing: Basic", strdup("Basic dXNlcjpwYXNz"), T0,
		 EDGESEAL_MISSING_TOKEN);
	add_auth("missing: Bearerx", tk_fmt("Bearerx%s", good), T0,
		 EDGESEAL_MISSING_TOKEN);
	add_auth("missing: tab", tk_fmt("Bearer\t%s", good), T0,
		 EDGESEAL_MISSING_TOKEN);
	add_auth("malformed: Bearer", strdup("Bearer"), T0,
		 EDGESEAL_MALFORMED_TOKEN);
	add_auth("malformed: Bearer SP", strdup("Bearer "), T0,
		 EDGESEAL_MALFORMED_TOKEN);
	add_auth("malformed: two spaces", tk_fmt("Bearer  %s", good), T0,
		 EDGESEAL_MALFORMED_TOKEN);
	add_auth("malformed: trailing space", tk_fmt("Bearer %s ", good), T0,
		 EDGESEAL_MALFORMED_TOKEN);
	add_raw("malformed: two segments", "eyJhIjoxfQ.eyJhIjoxfQ", T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("malformed: four segments", "eyJhIjoxfQ.e.e.e", T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("malformed: empty segments", "..", T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("jwe: five segments", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEy"
		"NTZHQ00ifQ.a.b.c.d", T0, EDGESEAL_UNSUPPORTED_TOKEN_TYPE);
}

/* Set unused low bits of the last base64url character. */
static char *
dirty_tail(const char *token)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789-_";
	char *t = keep(strdup(token));
	char *last = t + strlen(t) - 1;

	*last = abc[(strchr(abc, *last) - abc) | 1];
	return t;
}

static void
cases_base64(void)
{
	const char *h = hdr(&k_hs256), *p = PL();
	char *good = keep(tk_token(h, p, &k_hs256));
	char *rs = keep(tk_token(hdr(&k_rs256), p, &k_rs256));
	char *es = keep(tk_token(hdr(&k_es256), p, &k_es256));
	char *sig = strrchr(good, '.') + 1;

	add_raw("b64: padding", keep(tk_fmt("%s=", good)), T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("b64: std alphabet", keep(tk_fmt("%s+/", good)), T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("b64: HS unused bits", dirty_tail(good), T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("b64: RS unused bits", dirty_tail(rs), T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("b64: ES unused bits", dirty_tail(es), T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("b64: len %4 == 1",
		with_sig(h, p, &k_hs256, keep(strndup(sig, 41))), T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_raw("b64: header padded", keep(tk_fmt("%s=%s",
		keep(strndup(good, (size_t)(strchr(good, '.') - good))),
		strchr(good, '.'))), T0, EDGESEAL_MALFORMED_TOKEN);
	add_raw("b64: space inside", keep(tk_fmt("ey J%s", good + 2)), T0,
		EDGESEAL_MALFORMED_TOKEN);
}

static void
cases_json(void)
{
	char deep[64] = "", shallow[32] = "";

	for (int i = 0; i < 20; i++)
		strcat(deep, "[");
	for (int i = 0; i < 20; i++)
		strcat(deep, "]");
	for (int i = 0; i < 10; i++)
		strcat(shallow, i < 5 ? "[" : "]");

	add_tok("json: dup sub", hdr(&k_hs256),
		PL(.extra = "\"sub\":\"admin\""), &k_hs256, T0,
		EDGESEAL_DUPLICATE_MEMBER);
	add_tok("json: dup alg", "{\"alg\":\"HS256\",\"alg\":\"none\","
		"\"kid\":\"hs256\"}", PL(), &k_hs256, T0,
		EDGESEAL_DUPLICATE_MEMBER);
	add_tok("json: payload array", hdr(&k_hs256), "[1]", &k_hs256, T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_tok("json: header string", "\"x\"", PL(), &k_hs256, T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_tok("json: trailing bytes", hdr(&k_hs256),
		keep(tk_fmt("%s x", PL())), &k_hs256, T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_tok("json: NUL escape in sub", hdr(&k_hs256),
		PL(.sub = "\"a\\u0000b\""), &k_hs256, T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_tok("json: too deep", hdr(&k_hs256),
		PL(.extra = keep(tk_fmt("\"deep\":%s", deep))), &k_hs256, T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_tok("json: shallow nesting", hdr(&k_hs256),
		PL(.extra = keep(tk_fmt("\"deep\":%s", shallow))), &k_hs256,
		T0, EDGESEAL_OK);
}

static void
cases_alg(void)
{
	const char *names[] = { "none", "None", "NONE", "nOnE" };
	const char *p = PL();

	for (size_t i = 0; i < 4; i++) {
		const char *h = keep(tk_fmt("{\"alg\":\"%s\"}", names[i]));

		add_tok(keep(tk_fmt("alg %s unsigned", names[i])), h, p, NULL,
			T0, EDGESEAL_ALG_NOT_ALLOWED);
		add_raw(keep(tk_fmt("alg %s signed", names[i])),
			with_sig(h, p, NULL, sig_b64(&k_hs256, h, p, 0, 0)),
			T0, EDGESEAL_ALG_NOT_ALLOWED);
	}
	add_tok("alg missing", "{\"kid\":\"hs256\"}", p, &k_hs256, T0,
		EDGESEAL_MALFORMED_TOKEN);
	add_tok("alg number", "{\"alg\":256,\"kid\":\"hs256\"}", p, &k_hs256,
		T0, EDGESEAL_MALFORMED_TOKEN);
	add_tok("alg lower case", "{\"alg\":\"rs256\",\"kid\":\"rsa-jwks\"}",
		p, &k_rs256, T0, EDGESEAL_ALG_NOT_ALLOWED);
	add_tok("alg differs from key's", "{\"alg\":\"RS256\",\"kid\":"
		"\"rs384\"}", p, &k_rs256, T0, EDGESEAL_ALG_NOT_ALLOWED);
	add_tok("alg unknown", "{\"alg\":\"XS256\",\"kid\":\"hs256\"}", p,
		NULL, T0, EDGESEAL_ALG_NOT_ALLOWED);
}

/* HS256 MACed with the issuer's RSA public key PEM: the classic confusion. */
static void
cases_confusion(void)
{
	struct tk_key pem_as_secret = { .kid = "rs1", .alg = "HS256" };
	const char *rp = PL(.iss = RS_ISS), *cp = PL();

	pem_as_secret.secret = (const uint8_t *)w.rsa_pem;
	pem_as_secret.secret_len = strlen(w.rsa_pem);
	add_tok("HS256 with PEM, rsonly", "{\"alg\":\"HS256\",\"kid\":"
		"\"rs1\"}", rp, &pem_as_secret, T0, EDGESEAL_ALG_NOT_ALLOWED);
	add_tok("HS256 with PEM, rsonly, no kid", "{\"alg\":\"HS256\"}", rp,
		&pem_as_secret, T0, EDGESEAL_ALG_NOT_ALLOWED);
	add_tok("HS256 with PEM, corp", "{\"alg\":\"HS256\",\"kid\":"
		"\"rs384\"}", cp, &pem_as_secret, T0,
		EDGESEAL_ALG_NOT_ALLOWED);
	add_tok("HS256 with PEM, corp, RS256 kid", "{\"alg\":\"HS256\","
		"\"kid\":\"rsa-jwks\"}", cp, &pem_as_secret, T0,
		EDGESEAL_ALG_NOT_ALLOWED);
	add_tok("ES256 for RS256-only issuer", "{\"alg\":\"ES256\",\"kid\":"
		"\"rs1\"}", rp, &(struct tk_key){ .kid = "rs1", .alg = "ES256",
		.pkey = w.ec256 },
		T0, EDGESEAL_ALG_NOT_ALLOWED);
	add_tok("ES256 for RS256-only issuer, no kid", "{\"alg\":\"ES256\"}",
		rp, &k_es256, T0, EDGESEAL_ALG_NOT_ALLOWED);
}

static void
cases_kid(void)
{
	const char *p = PL();

	add_tok("kid path", "{\"alg\":\"HS256\",\"kid\":\"../../dev/null\"}",
		p, &(struct tk_key){ .kid = "x", .alg = "HS256",
				     .secret = (const uint8_t *)"" },
		T0, EDGESEAL_UNKNOWN_KID);
	add_tok("kid unknown", "{\"alg\":\"HS256\",\"kid\":\"nope\"}", p,
		&k_hs256, T0, EDGESEAL_UNKNOWN_KID);
	add_tok("kid empty", "{\"alg\":\"HS256\",\"kid\":\"\"}", p, &k_hs256,
		T0, EDGESEAL_UNKNOWN_KID);
	add_tok("kid of another issuer", "{\"alg\":\"HS256\",\"kid\":\"m1\"}",
		p, &k_m1, T0, EDGESEAL_UNKNOWN_KID);
	add_tok("kid number", "{\"alg\":\"HS256\",\"kid\":7}", p, &k_hs256,
		T0, EDGESEAL_MALFORMED_TOKEN);
	add_tok("no kid, two RS256 keys", "{\"alg\":\"RS256\"}", p, &k_rs256,
		T0, EDGESEAL_UNKNOWN_KID);
	add_tok("no kid, no HS512 key", "{\"alg\":\"HS512\"}",
		PL(.iss = MULTI_ISS), &(struct tk_key){ .kid = "m1",
		.alg = "HS512", .secret = w.hs, .secret_len = 64 }, T0,
		EDGESEAL_NO_KEY);
}

static void
cases_signature(void)
{
	const struct tk_key *fam[] = { &k_hs256, &k_rs256, &k_es256,
				       &k_ps256, &k_es512 };
	const char *p = PL();

	for (size_t i = 0; i < sizeof(fam) / sizeof(*fam); i++) {
		const struct tk_key *k = fam[i];
		const char *h = hdr(k);

		add_raw(keep(tk_fmt("sig %s empty", k->alg)),
			with_sig(h, p, k, ""), T0, EDGESEAL_BAD_SIGNATURE);
		add_raw(keep(tk_fmt("sig %s short", k->alg)),
			with_sig(h, p, k, sig_b64(k, h, p, -1, 0)), T0,
			EDGESEAL_BAD_SIGNATURE);
		add_raw(keep(tk_fmt("sig %s flipped", k->alg)),
			with_sig(h, p, k, sig_b64(k, h, p, 0, 1)), T0,
			EDGESEAL_BAD_SIGNATURE);
	}
	add_tok("sig HS256 other secret", hdr(&k_hs256), p, &(struct tk_key){
		.kid = "hs256", .alg = "HS256", .secret = w.multi_secret,
		.secret_len = 32 }, T0, EDGESEAL_BAD_SIGNATURE);
	add_tok("sig RS256 other key", hdr(&k_rs256), p, &(struct tk_key){
		.kid = "rsa-jwks", .alg = "RS256", .pkey = w.other_rsa }, T0,
		EDGESEAL_BAD_SIGNATURE);
	add_tok("sig ES256 other key", hdr(&k_es256), p, &(struct tk_key){
		.kid = "ec256", .alg = "ES256", .pkey = w.other_ec }, T0,
		EDGESEAL_BAD_SIGNATURE);
	add_tok("sig PS256 as RS256", hdr(&k_rs256), p, &(struct tk_key){
		.kid = "rsa-jwks", .alg = "PS256", .pkey = w.rsa }, T0,
		EDGESEAL_BAD_SIGNATURE);
	add_raw("sig ES256 in DER", with_sig(hdr(&k_es256), p, &k_es256,
		der_sig_b64(hdr(&k_es256), p)), T0, EDGESEAL_BAD_SIGNATURE);
	add_tok("ok RS256 other payload", hdr(&k_rs256),
		PL(.sub = "\"admin\""), &k_rs256, T0, EDGESEAL_OK);
}

static void
cases_headers(void)
{
	const char *p = PL();
	char *jwk = keep(tk_jwk(w.other_rsa, "mine", "RS256"));

	add_tok("crit", "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"crit\":"
		"[\"exp\"],\"exp\":1}", p, &k_hs256, T0,
		EDGESEAL_UNSUPPORTED_CRIT);
	add_tok("crit empty", "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"crit\":"
		"[]}", p, &k_hs256, T0, EDGESEAL_UNSUPPORTED_CRIT);
	add_tok("embedded jwk", keep(tk_fmt("{\"alg\":\"RS256\",\"jwk\":%s}",
		jwk)), p, &(struct tk_key){ .kid = "mine", .alg = "RS256",
		.pkey = w.other_rsa },
		T0, EDGESEAL_UNTRUSTED_KEY_HEADER);
	add_tok("x5c", "{\"alg\":\"RS256\",\"kid\":\"rsa-jwks\",\"x5c\":"
		"[\"MIIB\"]}", p, &k_rs256, T0, EDGESEAL_UNTRUSTED_KEY_HEADER);
	add_tok("jku", "{\"alg\":\"RS256\",\"kid\":\"rsa-jwks\",\"jku\":"
		"\"https://evil.example/keys\"}", p, &k_rs256, T0,
		EDGESEAL_UNTRUSTED_KEY_HEADER);
	add_tok("x5u", "{\"alg\":\"RS256\",\"kid\":\"rsa-jwks\",\"x5u\":"
		"\"https://evil.example/cert\"}", p, &k_rs256, T0,
		EDGESEAL_UNTRUSTED_KEY_HEADER);
	add_tok("typ JOSE", "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"typ\":"
		"\"JOSE\"}", p, &k_hs256, T0, EDGESEAL_UNSUPPORTED_TOKEN_TYPE);
	add_tok("typ number", "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"typ\":"
		"5}", p, &k_hs256, T0, EDGESEAL_UNSUPPORTED_TOKEN_TYPE);
	add_tok("typ at+jwt not allowed", "{\"alg\":\"HS256\",\"typ\":"
		"\"at+jwt\"}", PL(.iss = MULTI_ISS), &k_m1, T0,
		EDGESEAL_UNSUPPORTED_TOKEN_TYPE);
}

static void
cases_claim_types(void)
{
	const char *bad_exp[] = { "\"1800000600\"", "1800000600.0", "-5",
		"0", "9223372036854775807", "9007199254740992", "1e10", "true",
		"null" };
	const struct tk_key *k = &k_hs256;
	const char *h = hdr(k);

	for (size_t i = 0; i < sizeof(bad_exp) / sizeof(*bad_exp); i++)
		add_tok(keep(tk_fmt("exp %s", bad_exp[i])), h,
			PL(.exp = bad_exp[i]), k, T0,
			EDGESEAL_INVALID_CLAIM_TYPE);
	add_tok("exp 2^53 - 1", h, PL(.exp = "9007199254740991",
		.iat = NULL), k, T0, EDGESEAL_LIFETIME_TOO_LONG);
	add_tok("nbf string", h, PL(.nbf = "\"1\""), k, T0,
		EDGESEAL_INVALID_CLAIM_TYPE);
	add_tok("iat float", h, PL(.iat = "1799999990.5"), k, T0,
		EDGESEAL_INVALID_CLAIM_TYPE);
	add_tok("aud number", h, PL(.aud = "42"), k, T0,
		EDGESEAL_INVALID_CLAIM_TYPE);
	add_tok("aud array with number", h, PL(.aud = "[\"api\",1]"), k, T0,
		EDGESEAL_INVALID_CLAIM_TYPE);
	add_tok("iss number", h, PL(.iss = "7"), k, T0,
		EDGESEAL_INVALID_CLAIM_TYPE);
	add_tok("sub number", h, PL(.sub = "42"), k, T0,
		EDGESEAL_INVALID_CLAIM_TYPE);
	add_tok("exp missing", h, PL(.exp = NULL), k, T0,
		EDGESEAL_MISSING_CLAIM);
	add_tok("sub missing", h, PL(.sub = NULL), k, T0,
		EDGESEAL_MISSING_CLAIM);
	add_tok("aud missing", h, PL(.aud = NULL), k, T0,
		EDGESEAL_MISSING_CLAIM);
	add_tok("iss missing", h, PL(.iss = NULL), k, T0,
		EDGESEAL_MISSING_CLAIM);
}

static void
cases_time(void)
{
	const struct tk_key *k = &k_hs256;
	const char *h = hdr(k);
	const int64_t exp = 1800000600;

	add_tok("exp at leeway edge", h, PL(), k, exp + 30, EDGESEAL_OK);
	add_tok("exp past leeway", h, PL(), k, exp + 31, EDGESEAL_EXPIRED);
	add_tok("nbf at leeway edge", h, PL(.nbf = num(T0 + 30)), k, T0,
		EDGESEAL_OK);
	add_tok("nbf past leeway", h, PL(.nbf = num(T0 + 31)), k, T0,
		EDGESEAL_NOT_YET_VALID);
	add_tok("nbf an hour ahead", h, PL(.nbf = num(T0 + 3600)), k, T0,
		EDGESEAL_NOT_YET_VALID);
	add_tok("iat at leeway edge", h, PL(.iat = num(T0 + 30)), k, T0,
		EDGESEAL_OK);
	add_tok("iat past leeway", h, PL(.iat = num(T0 + 31)), k, T0,
		EDGESEAL_IAT_IN_FUTURE);
	add_tok("lifetime at max", h, PL(.iat = num(T0),
		.exp = num(T0 + 3600)), k, T0, EDGESEAL_OK);
	add_tok("lifetime over max", h, PL(.iat = num(T0),
		.exp = num(T0 + 3601)), k, T0, EDGESEAL_LIFETIME_TOO_LONG);
	add_tok("lifetime no iat at max", h, PL(.iat = NULL,
		.exp = num(T0 + 3600)), k, T0, EDGESEAL_OK);
	add_tok("lifetime no iat over max", h, PL(.iat = NULL,
		.exp = num(T0 + 3601)), k, T0, EDGESEAL_LIFETIME_TOO_LONG);
	add_tok("leeway 0 at exp", hdr(&k_rs1), PL(.iss = RS_ISS,
		.exp = num(T0)), &k_rs1, T0, EDGESEAL_OK);
	add_tok("leeway 0 past exp", hdr(&k_rs1), PL(.iss = RS_ISS,
		.exp = num(T0)), &k_rs1, T0 + 1, EDGESEAL_EXPIRED);
}

static void
cases_identity(void)
{
	const struct tk_key *k = &k_hs256;
	const char *h = hdr(k);
	char long_sub[300];

	memset(long_sub, 'a', sizeof(long_sub));
	long_sub[0] = '"';
	strcpy(long_sub + 257, "\"");	/* 256 bytes */

	add_tok("iss no trailing slash", h, PL(.iss =
		"\"https://idp.example.com\""), k, T0, EDGESEAL_BAD_ISSUER);
	add_tok("iss double slash", h, PL(.iss =
		"\"https://idp.example.com//\""), k, T0, EDGESEAL_BAD_ISSUER);
	add_tok("iss unknown", h, PL(.iss = "\"https://evil.example/\""), k,
		T0, EDGESEAL_BAD_ISSUER);
	add_tok("iss upper case", h, PL(.iss =
		"\"HTTPS://idp.example.com/\""), k, T0, EDGESEAL_BAD_ISSUER);
	add_tok("aud upper case", h, PL(.aud = "[\"API\"]"), k, T0,
		EDGESEAL_BAD_AUDIENCE);
	add_tok("aud empty array", h, PL(.aud = "[]"), k, T0,
		EDGESEAL_BAD_AUDIENCE);
	add_tok("aud other", h, PL(.aud = "\"other\""), k, T0,
		EDGESEAL_BAD_AUDIENCE);
	add_tok("sub CR LF", h, PL(.sub = "\"u\\r\\nX-Internal-Call: true\""),
		k, T0, EDGESEAL_INVALID_SUBJECT);
	add_tok("sub empty", h, PL(.sub = "\"\""), k, T0,
		EDGESEAL_INVALID_SUBJECT);
	add_tok("sub comma", h, PL(.sub = "\"a,b\""), k, T0,
		EDGESEAL_INVALID_SUBJECT);
	add_tok("sub DEL", h, PL(.sub = "\"a\\u007f\""), k, T0,
		EDGESEAL_INVALID_SUBJECT);
	/* An HTTP parser strips these spaces from X-User-Id, not the seal. */
	add_tok("sub leading space", h, PL(.sub = "\" admin\""), k, T0,
		EDGESEAL_INVALID_SUBJECT);
	add_tok("sub trailing space", h, PL(.sub = "\"admin \""), k, T0,
		EDGESEAL_INVALID_SUBJECT);
	add_tok("sub inner space", h, PL(.sub = "\"Ada Lovelace\""), k, T0,
		EDGESEAL_OK);
	add_tok("sub trailing no-break space", h,
		PL(.sub = "\"alice\\u00a0\""), k, T0, EDGESEAL_INVALID_SUBJECT);
	add_tok("sub leading ideographic space", h,
		PL(.sub = "\"\\u3000alice\""), k, T0, EDGESEAL_INVALID_SUBJECT);
	add_tok("sub NEL inside", h, PL(.sub = "\"a\\u0085b\""), k, T0,
		EDGESEAL_INVALID_SUBJECT);
	add_tok("sub 256 bytes", h, PL(.sub = keep(strdup(long_sub))), k, T0,
		EDGESEAL_OK);
	long_sub[257] = 'a';
	strcpy(long_sub + 258, "\"");
	add_tok("sub 257 bytes", h, PL(.sub = keep(strdup(long_sub))), k, T0,
		EDGESEAL_INVALID_SUBJECT);
}

/*
 * A token of exactly target bytes under header h, padded through an extra
 * claim; NULL when no padding fits. Signatures have a fixed length per
 * key, so only the match is signed.
 */
static char *
sized_with_header(const char *h, const char *base, const struct tk_key *k,
		  size_t target)
{
	char *signed_one = keep(tk_token(h, base, k));
	char *unsigned_one = keep(tk_token(h, base, NULL));
	size_t sig_len = strlen(signed_one) - strlen(unsigned_one), len;
	char *pad, *p;

	/* The padded payload is base + ,"pad":"ppp..." : 9 bytes + n. */
	for (size_t n = 0; n < target; n++) {
		len = edgeseal__b64url_encoded_len(strlen(h)) +
		      edgeseal__b64url_encoded_len(strlen(base) + 9 + n) + 2 +
		      sig_len;
		if (len > target)
			break;
		if (len < target)
			continue;
		pad = keep(calloc(1, n + 1));
		memset(pad, 'p', n);
		p = keep(tk_fmt("%.*s,\"pad\":\"%s\"}", (int)strlen(base) - 1,
				base, pad));
		return keep(tk_token(h, p, k));
	}
	return NULL;
}

/* A token of exactly target bytes for iss. */
static char *
sized_token(const char *iss, const struct tk_key *k, size_t target)
{
	const char *base = PL(.iss = iss);
	char *tok = NULL;

	/* Header spaces make up for lengths base64url cannot produce. */
	for (int hpad = 0; hpad < 3 && tok == NULL; hpad++) {
		char *h = keep(tk_fmt("{\"alg\":\"%s\",\"kid\":\"%s\"%*s}",
				      k->alg, k->kid, hpad, ""));

		tok = sized_with_header(h, base, k, target);
	}
	if (tok == NULL)
		fail_msg("no token of %zu bytes", target);
	return tok;
}

static void
cases_size(void)
{
	add_raw("size: corp cap", sized_token(ISS, &k_hs256, 8192), T0,
		EDGESEAL_OK);
	add_raw("size: corp cap + 1", sized_token(ISS, &k_hs256, 8193), T0,
		EDGESEAL_TOKEN_TOO_LARGE);
	add_raw("size: global cap", sized_token(RS_ISS, &k_rs1, 16384), T0,
		EDGESEAL_OK);
	add_raw("size: global cap + 1", sized_token(RS_ISS, &k_rs1, 16385),
		T0, EDGESEAL_TOKEN_TOO_LARGE);
}

static int
setup(void **state)
{
	w.dir = tk_tmpdir();
	make_keys();
	make_config();
	w.cached = new_validator(1000);
	w.uncached = new_validator(0);

	cases_positive();
	cases_bearer();
	cases_base64();
	cases_json();
	cases_alg();
	cases_confusion();
	cases_kid();
	cases_signature();
	cases_headers();
	cases_claim_types();
	cases_time();
	cases_identity();
	cases_size();
	return 0;
}

static int
teardown(void **state)
{
	es_validator_free(w.cached);
	es_validator_free(w.uncached);
	tk_config_free(&w.cfg);
	for (size_t i = 0; i < w.ncases; i++) {
		free(w.cases[i].name);
		free(w.cases[i].auth);
	}
	for (size_t i = 0; i < w.ngarbage; i++)
		free(w.garbage[i]);
	EVP_PKEY_free(w.rsa);
	EVP_PKEY_free(w.other_rsa);
	EVP_PKEY_free(w.ec256);
	EVP_PKEY_free(w.ec384);
	EVP_PKEY_free(w.ec521);
	EVP_PKEY_free(w.other_ec);
	free(w.rsa_pem);
	tk_rmdir(w.dir);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static enum edgeseal_reason
decide(struct es_validator *v, const struct tcase *c, struct es_decision *d)
{
	es_decide(v, c->auth, c->auth ? strlen(c->auth) : 0, c->now, d);
	return d->reason;
}

/* Every case: uncached once, cached twice, all three as expected. */
static void
test_cases(void **state)
{
	static struct es_decision d;
	unsigned failures = 0;

	for (size_t i = 0; i < w.ncases; i++) {
		const struct tcase *c = &w.cases[i];
		enum edgeseal_reason r[3];

		r[0] = decide(w.uncached, c, &d);
		r[1] = decide(w.cached, c, &d);
		r[2] = decide(w.cached, c, &d);
		if (c->want == EDGESEAL_OK && d.cache_hit != 1)
			r[2] = EDGESEAL_REASON_COUNT;
		for (int j = 0; j < 3; j++) {
			if (r[j] == c->want)
				continue;
			print_error("case \"%s\" run %d: got %s, want %s\n",
				    c->name, j, edgeseal_reason_str(r[j]),
				    edgeseal_reason_str(c->want));
			failures++;
		}
	}
	print_message("%zu cases, 3 runs each\n", w.ncases);
	assert_int_equal(failures, 0);
}

/* A success fills every field and its seal verifies with libedgeseal. */
static void
test_success_fields(void **state)
{
	static struct es_decision d;
	char *tok = tk_token(hdr(&k_rs256), PL(.extra = "\"scope\":\"read\","
			     "\"roles\":[\"a\"],\"other\":1"), &k_rs256);
	char *auth = tk_bearer(tok), fp[9], err[256];
	struct edgeseal_verifier *ver;
	struct edgeseal_identity *id = NULL;
	struct edgeseal_verifier_opts vo = { .leeway = 5 };

	es_decide(w.uncached, auth, strlen(auth), T0, &d);
	assert_int_equal(d.reason, EDGESEAL_OK);
	assert_string_equal(d.sub, "user-1");
	assert_int_equal(d.sub_len, 6);
	assert_string_equal(d.iss, "https://idp.example.com/");
	assert_string_equal(d.kid, "rsa-jwks");
	assert_int_equal(d.iat, 1799999990);
	assert_int_equal(d.cache_hit, 0);
	edgeseal_fingerprint(tok, strlen(tok), fp);
	assert_string_equal(d.token_fp, fp);
	assert_int_equal(strlen(d.seal), d.seal_len);

	ver = edgeseal_verifier_new(&vo, edgeseal_keyset_load(
		w.cfg.seal_keyset.path, err, sizeof(err)));
	assert_non_null(ver);
	assert_int_equal(edgeseal_verify(ver, d.seal, d.seal_len, T0 + 1, &id),
			 EDGESEAL_OK);
	assert_string_equal(edgeseal_identity_sub(id), "user-1");
	assert_string_equal(edgeseal_identity_kid(id), "seal1");
	assert_int_equal(edgeseal_identity_exp(id), T0 + 60);
	assert_string_equal(edgeseal_identity_claims_json(id),
			    "{\"scope\":\"read\",\"roles\":[\"a\"]}");
	edgeseal_identity_free(id);
	edgeseal_verifier_free(ver);
	free(tok);
	free(auth);
}

/* A hit re-checks time, reuses the seal within half its TTL, counts. */
static void
test_cache_time_and_seal(void **state)
{
	static struct es_decision a, b;
	struct es_validator *v = new_validator(100);
	char *tok = tk_token(hdr(&k_es256), PL(), &k_es256);
	char *auth = tk_bearer(tok);
	uint64_t hits, misses;

	es_decide(v, auth, strlen(auth), T0, &a);
	es_decide(v, auth, strlen(auth), T0 + 29, &b);
	assert_int_equal(b.reason, EDGESEAL_OK);
	assert_int_equal(b.cache_hit, 1);
	assert_string_equal(a.seal, b.seal);

	/* Half the TTL or less left: a new seal, still from the cache. */
	es_decide(v, auth, strlen(auth), T0 + 30, &b);
	assert_int_equal(b.cache_hit, 1);
	assert_string_not_equal(a.seal, b.seal);

	/* Past exp + leeway: expired, then gone from the cache. */
	es_decide(v, auth, strlen(auth), 1800000600 + 31, &b);
	assert_int_equal(b.reason, EDGESEAL_EXPIRED);
	assert_int_equal(b.cache_hit, 1);
	es_decide(v, auth, strlen(auth), 1800000600 + 31, &b);
	assert_int_equal(b.reason, EDGESEAL_EXPIRED);
	assert_int_equal(b.cache_hit, 0);

	/* Before nbf - leeway after a clock step back: refused from cache. */
	es_decide(v, auth, strlen(auth), T0, &b);
	es_decide(v, auth, strlen(auth), 1799999990 - 31, &b);
	assert_int_equal(b.reason, EDGESEAL_IAT_IN_FUTURE);
	assert_int_equal(b.cache_hit, 1);

	es_cache_stats(NULL, &hits, &misses);
	assert_int_equal(hits + misses, 0);
	es_validator_cache_stats(v, &hits, &misses);
	assert_int_equal(hits, 4);
	assert_int_equal(misses, 3);
	es_validator_free(v);

	/* A new validator (a reload) starts empty. */
	v = new_validator(100);
	es_decide(v, auth, strlen(auth), T0, &b);
	assert_int_equal(b.cache_hit, 0);
	es_validator_free(v);
	free(tok);
	free(auth);
}

/*
 * subject_prefix keeps issuers apart: the multi issuer's user-1 is
 * "m:user-1", and an unprefixed issuer cannot name a user inside "m:".
 */
static void
test_subject_prefix(void **state)
{
	static struct es_decision d;
	struct es_validator *v;
	char err[512] = "";
	char *ok = tk_token("{\"alg\":\"HS256\",\"kid\":\"m1\"}",
			    PL(.iss = MULTI_ISS), &k_m1);
	char *squat = tk_token(hdr(&k_hs256), PL(.sub = "\"m:user-1\""),
			       &k_hs256);
	char *a_ok = tk_bearer(ok), *a_squat = tk_bearer(squat);

	(void)state;
	w.cfg.issuers[2].subject_prefix = strdup("m:");
	v = new_validator(100);
	es_decide(v, a_ok, strlen(a_ok), T0, &d);
	assert_int_equal(d.reason, EDGESEAL_OK);
	assert_string_equal(d.sub, "m:user-1");
	assert_int_equal(d.sub_len, 8);
	es_decide(v, a_ok, strlen(a_ok), T0, &d);	/* from the cache */
	assert_int_equal(d.cache_hit, 1);
	assert_string_equal(d.sub, "m:user-1");
	es_decide(v, a_squat, strlen(a_squat), T0, &d);
	assert_int_equal(d.reason, EDGESEAL_INVALID_SUBJECT);
	es_validator_free(v);

	/* A prefix breaking the subject rule is refused at load. */
	free(w.cfg.issuers[2].subject_prefix);
	w.cfg.issuers[2].subject_prefix = strdup("m: ");
	assert_null(es_validator_new(&w.cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "subject_prefix"));

	free(w.cfg.issuers[2].subject_prefix);
	w.cfg.issuers[2].subject_prefix = NULL;
	free(ok);
	free(squat);
	free(a_ok);
	free(a_squat);
}

/*
 * Red team 6: job keys in the agent's key set. A user whose id falls in a
 * job key's edgeseal_sub_prefix would reach services as that job; and a
 * job key as signing_kid would refuse every user with key_restricted.
 */
static void
test_job_keys(void **state)
{
	static struct es_decision d;
	struct es_validator *v;
	uint8_t k1[32], k2[32];
	char err[512] = "";
	char *b1, *b2, *json, *path, *saved = w.cfg.seal_keyset.path;
	char *job = tk_token(hdr(&k_hs256), PL(.sub = "\"job:nightly\""),
			     &k_hs256);
	char *user = tk_token(hdr(&k_hs256), PL(.sub = "\"jobless\""),
			      &k_hs256);
	char *a_job = tk_bearer(job), *a_user = tk_bearer(user);

	(void)state;
	assert_int_equal(RAND_bytes(k1, sizeof(k1)), 1);
	assert_int_equal(RAND_bytes(k2, sizeof(k2)), 1);
	b1 = tk_b64(k1, sizeof(k1));
	b2 = tk_b64(k2, sizeof(k2));
	json = tk_fmt("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"seal1\","
		      "\"k\":\"%s\"},{\"kty\":\"oct\",\"kid\":\"job1\","
		      "\"k\":\"%s\",\"edgeseal_sub_prefix\":\"job:\","
		      "\"edgeseal_require_act\":true}]}", b1, b2);
	path = tk_write(w.dir, "jobs.jwks", json, strlen(json), 0600);
	w.cfg.seal_keyset.path = path;

	v = new_validator(100);
	es_decide(v, a_user, strlen(a_user), T0, &d);
	assert_int_equal(d.reason, EDGESEAL_OK);
	es_decide(v, a_job, strlen(a_job), T0, &d);
	assert_int_equal(d.reason, EDGESEAL_INVALID_SUBJECT);
	es_validator_free(v);

	free(w.cfg.seal_signing_kid);
	w.cfg.seal_signing_kid = strdup("job1");
	assert_null(es_validator_new(&w.cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "the signing key is a job key"));

	free(w.cfg.seal_signing_kid);
	w.cfg.seal_signing_kid = strdup("seal1");

	/* An issuer prefix inside the job namespace: every user refused,
	 * so it is refused at load (red team 7). */
	w.cfg.issuers[2].subject_prefix = strdup("job:idp:");
	assert_null(es_validator_new(&w.cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "is inside a job key's"));
	free(w.cfg.issuers[2].subject_prefix);
	w.cfg.issuers[2].subject_prefix = NULL;
	w.cfg.seal_keyset.path = saved;
	free(path);
	free(json);
	free(b1);
	free(b2);
	free(job);
	free(user);
	free(a_job);
	free(a_user);
}

/*
 * seals = 0 keeps verdicts but no seals: every hit is still a hit (no
 * signature check) and gets a seal of its own, valid for the same user.
 */
static void
test_cache_without_seals(void **state)
{
	static struct es_decision a, b;
	struct es_validator *v;
	char *tok = tk_token(hdr(&k_rs256), PL(.extra = "\"scope\":\"read\""),
			     &k_rs256);
	char *auth = tk_bearer(tok), err[256];
	struct edgeseal_verifier *ver;
	struct edgeseal_identity *id = NULL;
	struct edgeseal_verifier_opts vo = { .leeway = 5 };

	(void)state;
	w.cfg.cache_seals = 0;
	v = new_validator(100);
	w.cfg.cache_seals = 4096;

	es_decide(v, auth, strlen(auth), T0, &a);
	es_decide(v, auth, strlen(auth), T0 + 1, &b);
	assert_int_equal(b.reason, EDGESEAL_OK);
	assert_int_equal(b.cache_hit, 1);
	assert_string_equal(a.sub, b.sub);
	assert_string_not_equal(a.seal, b.seal);

	/* The seal minted on the hit carries the same identity and claims. */
	ver = edgeseal_verifier_new(&vo, edgeseal_keyset_load(
		w.cfg.seal_keyset.path, err, sizeof(err)));
	assert_non_null(ver);
	assert_int_equal(edgeseal_verify(ver, b.seal, b.seal_len, T0 + 1, &id),
			 EDGESEAL_OK);
	assert_string_equal(edgeseal_identity_sub(id), "user-1");
	assert_string_equal(edgeseal_identity_claims_json(id),
			    "{\"scope\":\"read\"}");
	edgeseal_identity_free(id);
	edgeseal_verifier_free(ver);
	es_validator_free(v);
	free(tok);
	free(auth);
}

/* More distinct tokens than slots: bounded, and still right. */
static void
test_cache_eviction(void **state)
{
	static struct es_decision d;
	struct es_validator *v = new_validator(1);
	char *auth[300];
	uint64_t hits, misses;

	for (int i = 0; i < 300; i++) {
		char *t = tk_token(hdr(&k_hs256), PL(.sub = keep(tk_fmt(
				   "\"u%d\"", i))), &k_hs256);

		auth[i] = tk_bearer(t);
		free(t);
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 300; i++) {
			es_decide(v, auth[i], strlen(auth[i]), T0, &d);
			assert_int_equal(d.reason, EDGESEAL_OK);
			assert_int_equal(atoi(d.sub + 1), i);
		}
	es_validator_cache_stats(v, &hits, &misses);
	assert_int_equal(hits + misses, 600);
	assert_true(hits <= 16);	/* one set of 16 slots */
	for (int i = 0; i < 300; i++)
		free(auth[i]);
	es_validator_free(v);
}

struct thread_arg {
	struct es_validator *v;
	unsigned offset;
	unsigned failures;
};

static void *
run_cases(void *p)
{
	struct thread_arg *a = p;
	struct es_decision *d = malloc(sizeof(*d));

	for (unsigned round = 0; round < 3; round++)
		for (size_t i = 0; i < w.ncases; i++) {
			const struct tcase *c =
				&w.cases[(i + a->offset) % w.ncases];

			if (decide(a->v, c, d) != c->want)
				a->failures++;
		}
	free(d);
	return NULL;
}

/* Two threads share one cached validator; every verdict stays right. */
static void
test_threads(void **state)
{
	struct es_validator *v = new_validator(64);
	struct thread_arg a[2] = { { v, 0, 0 }, { v, 7, 0 } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, run_cases, &a[i]),
				 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(a[0].failures + a[1].failures, 0);
	es_validator_free(v);
}

struct small_arg {
	const char *auth;
	size_t len;
	struct es_decision d;
};

static void *
decide_small(void *p)
{
	struct small_arg *a = p;

	es_decide(w.uncached, a->auth, a->len, T0, &a->d);
	return NULL;
}

/* On a 64 KiB stack: a 300 KB token, deep JSON, and real signatures. */
static void
test_small_stack(void **state)
{
	size_t big = 300 * 1024;
	char *huge = malloc(big + 8), *deep = malloc(8192);
	char *b64, *rs = tk_bearer(keep(tk_token(hdr(&k_rs256), PL(),
					&k_rs256)));
	char *es = tk_bearer(keep(tk_token(hdr(&k_es512), PL(), &k_es512)));
	struct { const char *auth; enum edgeseal_reason want; } runs[4];
	pthread_attr_t attr;
	pthread_t t;

	memcpy(huge, "Bearer ", 7);
	memset(huge + 7, 'A', big);
	huge[7 + 100] = huge[7 + 200] = '.';
	huge[7 + big] = '\0';
	memset(deep, '[', 6000);
	deep[6000] = '\0';
	b64 = tk_b64(deep, 6000);
	free(deep);
	deep = tk_fmt("Bearer eyJhbGciOiJIUzI1NiJ9.%s.AAAA", b64);
	free(b64);

	runs[0].auth = huge, runs[0].want = EDGESEAL_TOKEN_TOO_LARGE;
	runs[1].auth = deep, runs[1].want = EDGESEAL_MALFORMED_TOKEN;
	runs[2].auth = rs, runs[2].want = EDGESEAL_OK;
	runs[3].auth = es, runs[3].want = EDGESEAL_OK;
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
	for (int i = 0; i < 4; i++) {
		struct small_arg *a = calloc(1, sizeof(*a));

		a->auth = runs[i].auth;
		a->len = strlen(runs[i].auth);
		assert_int_equal(pthread_create(&t, &attr, decide_small, a), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(a->d.reason, runs[i].want);
		free(a);
	}
	pthread_attr_destroy(&attr);
	free(huge);
	free(deep);
	free(rs);
	free(es);
}

/*
 * jku and x5u pointing at a listener here: refused, and the listener
 * never sees a connection (es_decide is synchronous, so any connect would
 * already be queued when it returns).
 */
static void
test_no_fetch(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	static struct es_decision d;
	const char *members[] = { "jku", "x5u" };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);

	for (int i = 0; i < 2; i++) {
		char *h = tk_fmt("{\"alg\":\"RS256\",\"kid\":\"rsa-jwks\","
				 "\"%s\":\"http://127.0.0.1:%d/keys\"}",
				 members[i], ntohs(sa.sin_port));
		char *t = tk_token(h, PL(), &k_rs256);
		char *auth = tk_bearer(t);

		es_decide(w.uncached, auth, strlen(auth), T0, &d);
		assert_int_equal(d.reason, EDGESEAL_UNTRUSTED_KEY_HEADER);
		free(h);
		free(t);
		free(auth);
	}
	assert_int_equal(accept(fd, NULL, NULL), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(fd);
}

static void
test_describe(void **state)
{
	char buf[512];

	es_validator_describe(w.cached, buf, sizeof(buf));
	assert_non_null(strstr(buf, "issuer corp: 14 keys"));
	assert_non_null(strstr(buf, "issuer rsonly: 1 keys"));
	assert_non_null(strstr(buf, "signing kid seal1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_success_fields),
		cmocka_unit_test(test_cache_time_and_seal),
		cmocka_unit_test(test_cache_without_seals),
		cmocka_unit_test(test_subject_prefix),
		cmocka_unit_test(test_job_keys),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_small_stack),
		cmocka_unit_test(test_no_fetch),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
