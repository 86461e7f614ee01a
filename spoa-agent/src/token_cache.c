/*
 * token_cache.c: a set-associative cache of validated tokens over lock
 * stripes. The key is a SHA-256, so its bytes are already uniform and
 * serve directly as stripe and slot index.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "token_cache.h"

#define STRIPES 64
#define WAYS 4

struct slot {
	uint8_t key[ES_CACHE_KEY_LEN];
	struct es_cache_rec *rec;	/* NULL: free */
};

/* Aligned so two stripes never share a cache line's lock. */
struct stripe {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t nslots;
	uint64_t hits;
	uint64_t misses;
} __attribute__((aligned(64)));

struct es_cache {
	struct stripe stripes[STRIPES];
};

static char *
put_str(char **at, const char *s, size_t len)
{
	char *start = *at;

	if (len)
		memcpy(start, s, len);
	start[len] = '\0';
	*at += len + 1;
	return start;
}

struct es_cache_rec *
es_cache_rec_new(unsigned issuer, const struct es_times *times,
		 const char *sub, size_t sub_len, const char *kid,
		 size_t kid_len, const char *seal, size_t seal_len,
		 const char *claims, size_t claims_len, int64_t seal_exp)
{
	struct es_cache_rec *rec;
	char *at;

	if (claims == NULL)
		claims_len = 0;
	rec = malloc(sizeof(*rec) + sub_len + kid_len + seal_len +
		     claims_len + 4);
	if (rec == NULL)
		return NULL;
	atomic_init(&rec->refs, 1);
	rec->issuer = issuer;
	rec->times = *times;
	rec->seal_exp = seal_exp;

	at = rec->data;
	rec->sub = put_str(&at, sub, sub_len);
	rec->kid = put_str(&at, kid, kid_len);
	rec->seal = put_str(&at, seal, seal_len);
	rec->claims = put_str(&at, claims, claims_len);
	rec->sub_len = sub_len;
	rec->kid_len = kid_len;
	rec->seal_len = seal_len;
	rec->claims_len = claims_len;
	return rec;
}

void
es_cache_rec_release(struct es_cache_rec *rec)
{
	if (rec != NULL && atomic_fetch_sub(&rec->refs, 1) == 1)
		free(rec);
}

struct es_cache *
es_cache_new(unsigned entries)
{
	struct es_cache *c;
	size_t per;

	if (entries == 0)
		return NULL;
	c = aligned_alloc(64, sizeof(*c));
	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));

	/* At least one set of WAYS slots per stripe. */
	per = (entries + STRIPES - 1) / STRIPES;
	if (per < WAYS)
		per = WAYS;
	for (int i = 0; i < STRIPES; i++) {
		pthread_mutex_init(&c->stripes[i].lock, NULL);
		c->stripes[i].nslots = per;
		c->stripes[i].slots = calloc(per, sizeof(struct slot));
		if (c->stripes[i].slots == NULL) {
			es_cache_free(c);
			return NULL;
		}
	}
	return c;
}

void
es_cache_free(struct es_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < STRIPES; i++) {
		struct stripe *st = &c->stripes[i];

		for (size_t j = 0; st->slots != NULL && j < st->nslots; j++)
			es_cache_rec_release(st->slots[j].rec);
		free(st->slots);
		pthread_mutex_destroy(&st->lock);
	}
	free(c);
}

static struct stripe *
stripe_of(struct es_cache *c, const uint8_t *key)
{
	return &c->stripes[key[0] % STRIPES];
}

/* First slot of the key's set; the set is WAYS slots from there, wrapping. */
static size_t
set_of(const struct stripe *st, const uint8_t *key)
{
	uint64_t h;

	memcpy(&h, key + 8, sizeof(h));
	return (size_t)(h % st->nslots);
}

/* The slot holding key, or NULL. Called with the stripe locked. */
static struct slot *
find(struct stripe *st, const uint8_t *key)
{
	size_t base = set_of(st, key);

	for (size_t w = 0; w < WAYS; w++) {
		struct slot *s = &st->slots[(base + w) % st->nslots];

		if (s->rec != NULL &&
		    memcmp(s->key, key, ES_CACHE_KEY_LEN) == 0)
			return s;
	}
	return NULL;
}

/* Where to store key: its own slot, a free one, or the soonest to expire. */
static struct slot *
victim(struct stripe *st, const uint8_t *key)
{
	size_t base = set_of(st, key);
	struct slot *best = find(st, key);

	if (best != NULL)
		return best;
	for (size_t w = 0; w < WAYS; w++) {
		struct slot *s = &st->slots[(base + w) % st->nslots];

		if (s->rec == NULL)
			return s;
		if (best == NULL || s->rec->times.exp < best->rec->times.exp)
			best = s;
	}
	return best;
}

struct es_cache_rec *
es_cache_get(struct es_cache *c, const uint8_t key[ES_CACHE_KEY_LEN])
{
	struct stripe *st;
	struct slot *s;
	struct es_cache_rec *rec = NULL;

	if (c == NULL)
		return NULL;
	st = stripe_of(c, key);
	pthread_mutex_lock(&st->lock);
	s = find(st, key);
	if (s != NULL) {
		rec = s->rec;
		atomic_fetch_add(&rec->refs, 1);
		st->hits++;
	} else {
		st->misses++;
	}
	pthread_mutex_unlock(&st->lock);
	return rec;
}

void
es_cache_put(struct es_cache *c, const uint8_t key[ES_CACHE_KEY_LEN],
	     struct es_cache_rec *rec)
{
	struct stripe *st;
	struct slot *s;
	struct es_cache_rec *old;

	if (c == NULL || rec == NULL)
		return;
	st = stripe_of(c, key);
	atomic_fetch_add(&rec->refs, 1);
	pthread_mutex_lock(&st->lock);
	s = victim(st, key);
	old = s->rec;
	memcpy(s->key, key, ES_CACHE_KEY_LEN);
	s->rec = rec;
	pthread_mutex_unlock(&st->lock);

	/* The last reference may be freed outside the lock. */
	es_cache_rec_release(old);
}

void
es_cache_drop(struct es_cache *c, const uint8_t key[ES_CACHE_KEY_LEN])
{
	struct stripe *st;
	struct slot *s;
	struct es_cache_rec *old = NULL;

	if (c == NULL)
		return;
	st = stripe_of(c, key);
	pthread_mutex_lock(&st->lock);
	s = find(st, key);
	if (s != NULL) {
		old = s->rec;
		s->rec = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	es_cache_rec_release(old);
}

void
es_cache_stats(struct es_cache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = *misses = 0;
	for (int i = 0; c != NULL && i < STRIPES; i++) {
		pthread_mutex_lock(&c->stripes[i].lock);
		*hits += c->stripes[i].hits;
		*misses += c->stripes[i].misses;
		pthread_mutex_unlock(&c->stripes[i].lock);
	}
}
