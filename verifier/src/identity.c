/*
 * identity.c: what a verified seal says, as one immutable block.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

/* The strings live in the same allocation, right after the struct. */
struct edgeseal_identity {
	const char *sub, *iss, *aud, *act, *jti, *kid, *claims_json;
	int64_t iat, exp;
	char strings[];
};

static size_t
size_of(struct edgeseal__text t)
{
	return t.s != NULL ? t.len + 1 : 0;
}

/* Copy t to *at, NUL-terminated, and move *at past it; absent stays NULL. */
static const char *
copy_to(char **at, struct edgeseal__text t)
{
	char *dst = *at;

	if (t.s == NULL)
		return NULL;
	memcpy(dst, t.s, t.len);
	dst[t.len] = '\0';
	*at += t.len + 1;
	return dst;
}

struct edgeseal_identity *
edgeseal__identity_new(const struct edgeseal__identity_fields *f)
{
	struct edgeseal_identity *id;
	size_t total;
	char *at;

	total = size_of(f->sub) + size_of(f->iss) + size_of(f->aud) +
		size_of(f->act) + size_of(f->jti) + size_of(f->kid) +
		size_of(f->claims_json);
	id = malloc(sizeof(*id) + total);
	if (id == NULL)
		return NULL;

	at = id->strings;
	id->sub = copy_to(&at, f->sub);
	id->iss = copy_to(&at, f->iss);
	id->aud = copy_to(&at, f->aud);
	id->act = copy_to(&at, f->act);
	id->jti = copy_to(&at, f->jti);
	id->kid = copy_to(&at, f->kid);
	id->claims_json = copy_to(&at, f->claims_json);
	id->iat = f->iat;
	id->exp = f->exp;
	return id;
}

void
edgeseal_identity_free(struct edgeseal_identity *id)
{
	free(id);
}

const char *
edgeseal_identity_sub(const struct edgeseal_identity *id)
{
	return id != NULL ? id->sub : NULL;
}

const char *
edgeseal_identity_iss(const struct edgeseal_identity *id)
{
	return id != NULL ? id->iss : NULL;
}

const char *
edgeseal_identity_aud(const struct edgeseal_identity *id)
{
	return id != NULL ? id->aud : NULL;
}

const char *
edgeseal_identity_act(const struct edgeseal_identity *id)
{
	return id != NULL ? id->act : NULL;
}

const char *
edgeseal_identity_jti(const struct edgeseal_identity *id)
{
	return id != NULL ? id->jti : NULL;
}

const char *
edgeseal_identity_kid(const struct edgeseal_identity *id)
{
	return id != NULL ? id->kid : NULL;
}

int64_t
edgeseal_identity_iat(const struct edgeseal_identity *id)
{
	return id != NULL ? id->iat : 0;
}

int64_t
edgeseal_identity_exp(const struct edgeseal_identity *id)
{
	return id != NULL ? id->exp : 0;
}

const char *
edgeseal_identity_claims_json(const struct edgeseal_identity *id)
{
	return id != NULL ? id->claims_json : NULL;
}

char *
edgeseal_identity_to_json(const struct edgeseal_identity *id)
{
	json_t *obj, *claims;
	char *text = NULL;

	if (id == NULL)
		return NULL;
	claims = json_loads(id->claims_json, 0, NULL);
	obj = json_pack("{s:s, s:s, s:s*, s:s*, s:s, s:s, s:I, s:I, s:o*}",
			"sub", id->sub, "iss", id->iss, "aud", id->aud,
			"act", id->act, "jti", id->jti, "kid", id->kid,
			"iat", (json_int_t)id->iat, "exp", (json_int_t)id->exp,
			"claims", claims);
	if (obj != NULL)
		text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return text;
}
