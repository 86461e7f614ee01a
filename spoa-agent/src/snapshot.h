/*
 * snapshot.h: the {configuration, validator} pair requests are served
 * with, and its atomic replacement on reload.
 *
 * A snapshot is immutable and reference counted. Each NOTIFY acquires the
 * current one and releases it when answered; a reload builds a complete
 * new snapshot first (parse + load every key) and only then publishes it,
 * so a failed reload leaves the old one serving. The old snapshot is freed
 * by whoever drops its last reference.
 */
#ifndef ES_SNAPSHOT_H
#define ES_SNAPSHOT_H

#include <stddef.h>

#include "config.h"
#include "validator.h"

struct es_snapshot {
	struct es_config *cfg;
	struct es_validator *validator;
	unsigned long generation;	/* 1 for the first, +1 per reload */
	int refs;			/* atomic */
};

/*
 * Parse path and build its validator. Returns a snapshot holding one
 * reference, or NULL with "file:line: message" in err.
 */
struct es_snapshot *es_snapshot_build(const char *path, char *err,
				      size_t errlen);

/* Wrap an existing pair (takes ownership of both); used by tests. */
struct es_snapshot *es_snapshot_wrap(struct es_config *cfg,
				     struct es_validator *v);

/* Make snap current (the caller's reference moves to the global slot). */
void es_snapshot_publish(struct es_snapshot *snap);

/* The current snapshot with one more reference, or NULL if none. */
struct es_snapshot *es_snapshot_acquire(void);

/* Drop a reference; frees the pair with the last one. Accepts NULL. */
void es_snapshot_release(struct es_snapshot *snap);

/* Drop the global reference (at exit). */
void es_snapshot_shutdown(void);

#endif
