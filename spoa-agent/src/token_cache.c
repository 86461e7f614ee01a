/*
 * token_cache.c: a set-associative cache of validated tokens over lock
 * stripes. The key is a SHA-256, so its bytes are already uniform and
 * serve directly as stripe index, set index and slot tag.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "token_cache.h"

#define STRIPES 64
#define WAYS 16
/* Slots per entry asked for, as a fraction: 3/2. */
#define HEADROOM_NUM 3
#define HEADROOM_DEN 2

/*
 * 16 bytes: the record holds the whole key, the slot 8 of its bytes, so a
 * probe touches a record only when those match.
 */
struct slot {
	uint64_t tag;
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
	unsigned nstripes;	/* a power of two, at most STRIPES */
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
es_cache_rec_new(const uint8_t key[ES_CACHE_KEY_LEN], unsigned issuer,
		 const struct es_times *times, const struct es_cache_text *t,
		 int64_t seal_exp)
{
	size_t sub_len = t->sub ? t->sub_len : 0;
	size_t kid_len = t->kid ? t->kid_len : 0;
	size_t claims_len = t->claims ? t->claims_len : 0;
	size_t seal_len = t->seal ? t->seal_len : 0;
	struct es_cache_rec *rec;
	char *at;

	if (sub_len > UINT16_MAX || kid_len > UINT16_MAX ||
	    claims_len > UINT16_MAX || seal_len > UINT16_MAX ||
	    issuer > UINT16_MAX)
		return NULL;
	rec = malloc(sizeof(*rec) + sub_len + kid_len + claims_len +
		     seal_len + 4);
	if (rec == NULL)
		return NULL;
	atomic_init(&rec->refs, 1);
	memcpy(rec->key, key, ES_CACHE_KEY_LEN);
	rec->issuer = (uint16_t)issuer;
	rec->times = *times;
	rec->seal_exp = seal_exp;
	rec->sub_len = (uint16_t)sub_len;
	rec->kid_len = (uint16_t)kid_len;
	rec->claims_len = (uint16_t)claims_len;
	rec->seal_len = (uint16_t)seal_len;

	/* The order the accessors in token_cache.h read them back. */
	at = rec->data;
	put_str(&at, t->sub, sub_len);
	put_str(&at, t->kid, kid_len);
	put_str(&at, t->claims, claims_len);
	put_str(&at, t->seal, seal_len);
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
	size_t total, per;

	if (entries == 0)
		return NULL;
	c = aligned_alloc(64, sizeof(*c));
	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));

	/*
	 * Headroom; as many stripes as keep a whole set of WAYS slots in
	 * each, so a small cache is not rounded up to 64 sets.
	 */
	total = (size_t)entries * HEADROOM_NUM / HEADROOM_DEN;
	c->nstripes = STRIPES;
	while (c->nstripes > 1 && total / c->nstripes < WAYS)
		c->nstripes /= 2;
	per = (total + c->nstripes - 1) / c->nstripes;
	if (per < WAYS)
		per = WAYS;
	for (unsigned i = 0; i < c->nstripes; i++) {
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
	for (unsigned i = 0; i < c->nstripes; i++) {
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
	return &c->stripes[key[0] % c->nstripes];
}

/* First slot of the key's set; the set is WAYS slots from there, wrapping. */
static size_t
set_of(const struct stripe *st, const uint8_t *key)
{
	uint64_t h;

	memcpy(&h, key + 8, sizeof(h));
	return (size_t)(h % st->nslots);
}

/* Bytes of the key the stripe and the set index did not use. */
static uint64_t
tag_of(const uint8_t *key)
{
	uint64_t t;

	memcpy(&t, key + 16, sizeof(t));
	return t;
}

static struct slot *
slot_at(struct stripe *st, size_t base, size_t way)
{
	return &st->slots[(base + way) % st->nslots];
}

/* The slot holding key, or NULL. Called with the stripe locked. */
static struct slot *
find(struct stripe *st, const uint8_t *key)
{
	size_t base = set_of(st, key);
	uint64_t tag = tag_of(key);

	for (size_t w = 0; w < WAYS; w++) {
		struct slot *s = slot_at(st, base, w);

		if (s->rec != NULL && s->tag == tag &&
		    memcmp(s->rec->key, key, ES_CACHE_KEY_LEN) == 0)
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
		struct slot *s = slot_at(st, base, w);

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
es_cache_put(struct es_cache *c, struct es_cache_rec *rec)
{
	struct stripe *st;
	struct slot *s;
	struct es_cache_rec *old;

	if (c == NULL || rec == NULL)
		return;
	st = stripe_of(c, rec->key);
	atomic_fetch_add(&rec->refs, 1);
	pthread_mutex_lock(&st->lock);
	s = victim(st, rec->key);
	old = s->rec;
	s->tag = tag_of(rec->key);
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
	for (unsigned i = 0; c != NULL && i < c->nstripes; i++) {
		pthread_mutex_lock(&c->stripes[i].lock);
		*hits += c->stripes[i].hits;
		*misses += c->stripes[i].misses;
		pthread_mutex_unlock(&c->stripes[i].lock);
	}
}

size_t
es_cache_count(struct es_cache *c)
{
	size_t n = 0;

	for (unsigned i = 0; c != NULL && i < c->nstripes; i++) {
		struct stripe *st = &c->stripes[i];

		pthread_mutex_lock(&st->lock);
		for (size_t j = 0; j < st->nslots; j++)
			n += st->slots[j].rec != NULL;
		pthread_mutex_unlock(&st->lock);
	}
	return n;
}
