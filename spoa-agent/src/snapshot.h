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

#include <ev.h>

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

/* ------------------------------------------------------------------ */
/* Reloading when a configured file changes                            */
/* ------------------------------------------------------------------ */

/*
 * The watcher puts an inotify watch on the directory of every file the
 * current configuration names (the configuration itself, JWKS files, PEM
 * and HMAC keys, the seal key set, JWKS cache files). Watching directories
 * rather than files is what survives editors that write a new file and
 * rename it over the old one, and the Kubernetes secret volume, which
 * swaps a "..data" symlink. Events are debounced; when they settle the
 * watcher raises SIGHUP inside the loop, so a file change and `kill -HUP`
 * take the one reload path. After every reload (an ev_check watcher
 * compares generations) the watch set follows the new configuration.
 */
/* At most this many distinct watched file names. */
#define ES_WATCH_MAX_FILES (4 + ES_MAX_ISSUERS * (2 + 2 * \
			    ES_MAX_KEYS_PER_ISSUER))

/* Quiet time after the last event before the reload, in seconds. */
#define ES_WATCH_DEBOUNCE 0.2

struct es_file_watch;

/*
 * Every file cfg names, config_path first, as pointers into cfg (and
 * config_path): duplicates are kept. Returns how many were stored in
 * paths[0..max).
 */
size_t es_watch_paths(const struct es_config *cfg, const char *config_path,
		      const char **paths, size_t max);

/*
 * Does an event for the entry called name, in a directory holding the
 * watched files whose base names are bases[0..n), call for a reload?
 * It does for one of those names and for "..data" (the Kubernetes swap).
 */
int es_watch_name_matters(const char *name, const char *const *bases,
			  size_t n);

/*
 * Start watching on loop (the loop that handles SIGHUP). Returns NULL
 * after logging why (inotify unavailable): the agent then reloads on
 * SIGHUP only.
 */
struct es_file_watch *es_file_watch_start(struct ev_loop *loop,
					  const char *config_path);

/* Stop and free. Accepts NULL. */
void es_file_watch_stop(struct es_file_watch *w);

#endif
