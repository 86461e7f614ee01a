/*
 * verifier.c: a verifier is the rules plus a key set that can be swapped
 * while other threads verify. Readers hold a read lock for one
 * verification; a swap takes the write lock, so a verification always ends
 * with the set it started with and the old set is freed after the last one.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct edgeseal_verifier {
	pthread_rwlock_t lock;
	struct edgeseal_keyset *ks;	/* guarded by lock */
	struct edgeseal__verify_rules rules;
	char *issuer;
	char *audience;
};

/* Copy the caller's options with every default applied. */
static int
set_rules(struct edgeseal_verifier *v, const struct edgeseal_verifier_opts *o)
{
	struct edgeseal__verify_rules *r = &v->rules;

	v->issuer = strdup(o->issuer != NULL ? o->issuer : ES_DEFAULT_ISSUER);
	if (o->audience != NULL)
		v->audience = strdup(o->audience);
	if (v->issuer == NULL || (o->audience != NULL && v->audience == NULL))
		return -1;

	r->issuer = v->issuer;
	r->issuer_len = strlen(v->issuer);
	r->audience = v->audience;
	r->audience_len = v->audience != NULL ? strlen(v->audience) : 0;
	r->leeway = o->leeway;
	r->max_lifetime = o->max_lifetime != 0 ? o->max_lifetime
					       : ES_DEFAULT_MAX_LIFETIME;
	r->max_size = o->max_size != 0 ? o->max_size : ES_DEFAULT_MAX_SIZE;
	return 0;
}

/* A lock that lets a waiting writer in even under a stream of readers. */
static int
init_lock(pthread_rwlock_t *lock)
{
	pthread_rwlockattr_t attr;
	int rc;

	if (pthread_rwlockattr_init(&attr) != 0)
		return -1;
	pthread_rwlockattr_setkind_np(&attr,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

struct edgeseal_verifier *
edgeseal_verifier_new(const struct edgeseal_verifier_opts *opts,
		      struct edgeseal_keyset *ks)
{
	static const struct edgeseal_verifier_opts defaults;
	struct edgeseal_verifier *v;

	v = calloc(1, sizeof(*v));
	if (v == NULL)
		goto fail;
	if (set_rules(v, opts != NULL ? opts : &defaults) != 0 ||
	    init_lock(&v->lock) != 0) {
		free(v->issuer);
		free(v->audience);
		free(v);
		goto fail;
	}
	v->ks = ks;
	return v;
fail:
	edgeseal_keyset_free(ks);
	return NULL;
}

void
edgeseal_verifier_free(struct edgeseal_verifier *v)
{
	if (v == NULL)
		return;
	pthread_rwlock_destroy(&v->lock);
	edgeseal_keyset_free(v->ks);
	free(v->issuer);
	free(v->audience);
	free(v);
}

void
edgeseal_verifier_set_keyset(struct edgeseal_verifier *v,
			     struct edgeseal_keyset *ks)
{
	struct edgeseal_keyset *old;

	if (v == NULL) {
		edgeseal_keyset_free(ks);
		return;
	}
	pthread_rwlock_wrlock(&v->lock);
	old = v->ks;
	v->ks = ks;
	pthread_rwlock_unlock(&v->lock);

	/* Freed outside the lock: wiping keys must not stall readers. */
	edgeseal_keyset_free(old);
}

enum edgeseal_reason
edgeseal_verifier_reload(struct edgeseal_verifier *v, const char *path,
			 char *err, size_t errlen)
{
	struct edgeseal_keyset *ks;

	if (v == NULL || path == NULL)
		return EDGESEAL_NO_KEY;
	ks = edgeseal_keyset_load(path, err, errlen);
	if (ks == NULL)
		return EDGESEAL_NO_KEY;
	edgeseal_verifier_set_keyset(v, ks);
	return EDGESEAL_OK;
}

enum edgeseal_reason
edgeseal_verify(const struct edgeseal_verifier *v, const char *seal,
		size_t seal_len, int64_t now, struct edgeseal_identity **out)
{
	/* The lock is not part of the verifier's logical value. */
	struct edgeseal_verifier *mv = (struct edgeseal_verifier *)v;
	enum edgeseal_reason rc;

	if (v == NULL)
		return EDGESEAL_INTERNAL_ERROR;
	if (pthread_rwlock_rdlock(&mv->lock) != 0)
		return EDGESEAL_INTERNAL_ERROR;
	rc = edgeseal__seal_verify(v->ks, &v->rules, seal, seal_len, now, out);
	pthread_rwlock_unlock(&mv->lock);
	return rc;
}

/* The header checks that come before the seal is even looked at. */
static enum edgeseal_reason
check_headers(const struct edgeseal_request *req)
{
	if (req->user_id_count > 1 || req->internal_call_count > 1 ||
	    req->seal_count > 1)
		return EDGESEAL_DUPLICATE_HEADER;
	if (req->seal_count == 0 || req->seal == NULL || req->seal[0] == '\0')
		return EDGESEAL_MISSING_TOKEN;
	if (req->internal_call_count == 0 || req->internal_call == NULL ||
	    strcmp(req->internal_call, "true") != 0)
		return EDGESEAL_MISSING_INTERNAL_CALL;
	return EDGESEAL_OK;
}

enum edgeseal_reason
edgeseal_verify_request(const struct edgeseal_verifier *v,
			const struct edgeseal_request *req, int64_t now,
			struct edgeseal_identity **out)
{
	struct edgeseal_identity *id = NULL;
	enum edgeseal_reason rc;

	if (v == NULL || req == NULL)
		return EDGESEAL_INTERNAL_ERROR;
	rc = check_headers(req);
	if (rc == EDGESEAL_OK)
		rc = edgeseal_verify(v, req->seal, strlen(req->seal), now, &id);

	/* A seal for someone else, or next to no X-User-Id, proves nothing. */
	if (rc == EDGESEAL_OK &&
	    (req->user_id_count == 0 || req->user_id == NULL ||
	     strcmp(req->user_id, edgeseal_identity_sub(id)) != 0))
		rc = EDGESEAL_SUBJECT_MISMATCH;

	if (rc == EDGESEAL_OK && out != NULL) {
		*out = id;
		id = NULL;
	}
	edgeseal_identity_free(id);
	return rc;
}
