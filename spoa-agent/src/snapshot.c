/*
 * snapshot.c: reference-counted configuration snapshots; see snapshot.h.
 *
 * The current pointer is read and its count raised under one mutex, so a
 * reload can never free a snapshot between a reader's load and its
 * increment. The critical sections are a few instructions long.
 */
#include <pthread.h>
#include <stdlib.h>

#include "snapshot.h"

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static struct es_snapshot *current;
static unsigned long next_generation = 1;

struct es_snapshot *
es_snapshot_wrap(struct es_config *cfg, struct es_validator *v)
{
	struct es_snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		es_validator_free(v);
		es_config_free(cfg);
		return NULL;
	}
	s->cfg = cfg;
	s->validator = v;
	s->refs = 1;
	return s;
}

struct es_snapshot *
es_snapshot_build(const char *path, char *err, size_t errlen)
{
	struct es_config *cfg;
	struct es_validator *v;

	cfg = es_config_parse(path, err, errlen);
	if (cfg == NULL)
		return NULL;
	v = es_validator_new(cfg, err, errlen);
	if (v == NULL) {
		es_config_free(cfg);
		return NULL;
	}
	return es_snapshot_wrap(cfg, v);
}

void
es_snapshot_publish(struct es_snapshot *snap)
{
	struct es_snapshot *old;

	pthread_mutex_lock(&cur_lock);
	snap->generation = next_generation++;
	old = current;
	current = snap;
	pthread_mutex_unlock(&cur_lock);

	es_snapshot_release(old);
}

struct es_snapshot *
es_snapshot_acquire(void)
{
	struct es_snapshot *s;

	pthread_mutex_lock(&cur_lock);
	s = current;
	if (s != NULL)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cur_lock);
	return s;
}

void
es_snapshot_release(struct es_snapshot *snap)
{
	if (snap == NULL)
		return;
	if (__atomic_sub_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	es_validator_free(snap->validator);
	es_config_free(snap->cfg);
	free(snap);
}

void
es_snapshot_shutdown(void)
{
	struct es_snapshot *old;

	pthread_mutex_lock(&cur_lock);
	old = current;
	current = NULL;
	pthread_mutex_unlock(&cur_lock);
	es_snapshot_release(old);
}
