/*
 * snapshot.c: reference-counted configuration snapshots; see snapshot.h.
 *
 * The current pointer is read and its count raised under one mutex, so a
 * reload can never free a snapshot between a reader's load and its
 * increment. The critical sections are a few instructions long.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "log.h"
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

/* ------------------------------------------------------------------ */
/* Watching the configured files (main thread only)                    */
/* ------------------------------------------------------------------ */

/*
 * jwks_fetch.c belongs to the validating half of the agent; the transport
 * is also linked without it (tests/unit/agent), where there is no fetcher
 * to start. A weak reference lets one snapshot.c serve both.
 */
extern int es_jwks_start(void (*notify)(void *arg), void *arg)
	__attribute__((weak));

/* Each file may add the folder of its symbolic link's final target. */
#define WATCH_MAX_ENTRIES (2 * ES_WATCH_MAX_FILES)

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
		    IN_CREATE | IN_DELETE | IN_ATTRIB)

/* One watched file: the watch of its directory and its base name. */
struct entry {
	int wd;
	char *dir;
	char *base;
};

struct es_file_watch {
	struct ev_loop *loop;
	char *config_path;
	int fd;
	ev_io io;
	ev_timer debounce;
	ev_check check;
	ev_async jwks_changed;
	unsigned long armed_generation;
	struct entry entries[WATCH_MAX_ENTRIES];
	size_t count;
};

static size_t
add_path(const char **paths, size_t n, size_t max, const char *p)
{
	if (p != NULL && n < max)
		paths[n++] = p;
	return n;
}

size_t
es_watch_paths(const struct es_config *cfg, const char *config_path,
	       const char **paths, size_t max)
{
	size_t n = add_path(paths, 0, max, config_path);

	if (cfg == NULL)
		return n;
	n = add_path(paths, n, max, cfg->seal_keyset.path);
	for (unsigned i = 0; i < cfg->issuer_count; i++) {
		const struct es_issuer_conf *is = &cfg->issuers[i];

		n = add_path(paths, n, max, is->jwks_file.path);
		for (unsigned k = 0; k < is->pem_key_count; k++)
			n = add_path(paths, n, max, is->pem_keys[k].file.path);
		for (unsigned k = 0; k < is->hmac_key_count; k++)
			n = add_path(paths, n, max,
				     is->hmac_keys[k].file.path);
	}
	return n;
}

int
es_watch_name_matters(const char *name, const char *const *bases, size_t n)
{
	/* Kubernetes publishes a secret by renaming a new "..data" symlink
	 * over the old one; the file names themselves never change. */
	if (strcmp(name, "..data") == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, bases[i]) == 0)
			return 1;
	return 0;
}

/* Split path into a new directory string and a new base name string. */
static int
split_path(const char *path, char **dir, char **base)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		*dir = strdup(".");
		*base = strdup(path);
	} else if (slash == path) {
		*dir = strdup("/");
		*base = strdup(slash + 1);
	} else {
		*dir = strndup(path, (size_t)(slash - path));
		*base = strdup(slash + 1);
	}
	return *dir != NULL && *base != NULL ? 0 : -1;
}

/* Is wd used by one of entries[0..n)? */
static int
wd_used(const struct entry *entries, size_t n, int wd)
{
	for (size_t i = 0; i < n; i++)
		if (entries[i].wd == wd)
			return 1;
	return 0;
}

/*
 * Replace the entries with fresh[0..n), removing the watches no fresh
 * entry uses. Watches still in use keep their wd, so events already
 * queued for them still match after the swap.
 */
static void
replace_entries(struct es_file_watch *w, struct entry *fresh, size_t n)
{
	for (size_t i = 0; i < w->count; i++) {
		int wd = w->entries[i].wd;

		if (wd >= 0 && !wd_used(fresh, n, wd) &&
		    !wd_used(w->entries, i, wd))
			(void)inotify_rm_watch(w->fd, wd);
		free(w->entries[i].dir);
		free(w->entries[i].base);
	}
	if (n != 0)
		memcpy(w->entries, fresh, n * sizeof(*fresh));
	w->count = n;
}

/* One entry for path; the same directory twice gives back the same wd. */
static int
arm_one(struct es_file_watch *w, const char *path, struct entry *e)
{
	if (split_path(path, &e->dir, &e->base) != 0) {
		free(e->dir);
		free(e->base);
		return -1;
	}
	e->wd = inotify_add_watch(w->fd, e->dir, WATCH_MASK);
	if (e->wd < 0)
		es_log_msg(ES_LOG_WARN, "watch_failed", 0, "%s: %s", e->dir,
			   strerror(errno));
	return 0;
}

/*
 * Entries for path and, when it is a symbolic link, for its final target
 * as resolved now: a file replaced in the target's folder changes what
 * the link reads without any event in the link's folder. Returns how
 * many entries were added to fresh.
 */
static size_t
arm_path(struct es_file_watch *w, const char *path, struct entry *fresh)
{
	char target[PATH_MAX];
	size_t count = 0;

	if (arm_one(w, path, &fresh[count]) == 0)
		count++;
	if (realpath(path, target) != NULL && strcmp(target, path) != 0 &&
	    arm_one(w, target, &fresh[count]) == 0)
		count++;
	return count;
}

/*
 * Watch what the current snapshot's configuration names. Link targets are
 * resolved again after each reload, which a target's move triggers.
 */
static void
arm(struct es_file_watch *w)
{
	const char *paths[ES_WATCH_MAX_FILES];
	struct entry fresh[WATCH_MAX_ENTRIES];
	struct es_snapshot *s = es_snapshot_acquire();
	size_t n, count = 0;

	n = es_watch_paths(s != NULL ? s->cfg : NULL, w->config_path, paths,
			   ES_WATCH_MAX_FILES);
	for (size_t i = 0; i < n; i++)
		count += arm_path(w, paths[i], &fresh[count]);
	replace_entries(w, fresh, count);
	w->armed_generation = s != NULL ? s->generation : 0;
	es_snapshot_release(s);
	es_log_msg(ES_LOG_DEBUG, "watch", 0, "%zu files", w->count);
}

/* Log which entry moved, and whether any event asks for a reload. */
static int
event_matters(struct es_file_watch *w, const struct inotify_event *ev)
{
	const char *bases[WATCH_MAX_ENTRIES];
	const char *dir = NULL;
	size_t n = 0;

	if (ev->mask & IN_Q_OVERFLOW)
		return 1;
	if (ev->len == 0)
		return 0;
	for (size_t i = 0; i < w->count; i++) {
		if (w->entries[i].wd == ev->wd) {
			bases[n++] = w->entries[i].base;
			dir = w->entries[i].dir;
		}
	}
	if (!es_watch_name_matters(ev->name, bases, n))
		return 0;
	es_log_msg(ES_LOG_INFO, "file_changed", 0, "%s/%s", dir ? dir : "?",
		   ev->name);
	return 1;
}

static void
on_inotify(struct ev_loop *loop, ev_io *io, int revents)
{
	struct es_file_watch *w = io->data;
	char buf[4096] __attribute__((aligned(__alignof__(
		struct inotify_event))));
	int hit = 0;
	ssize_t got;

	while ((got = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + got;) {
			const struct inotify_event *ev = (void *)p;

			hit |= event_matters(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}

	/* Restart the quiet period: a rename burst reloads once. */
	if (hit) {
		ev_timer_stop(loop, &w->debounce);
		ev_timer_set(&w->debounce, ES_WATCH_DEBOUNCE, 0.);
		ev_timer_start(loop, &w->debounce);
	}
}

static void
on_settled(struct ev_loop *loop, ev_timer *t, int revents)
{
	/* The SIGHUP handler is the one reload path. */
	ev_feed_signal_event(loop, SIGHUP);
}

/* From the JWKS fetcher thread: new or expired keys need a reload. */
static void
jwks_notify(void *arg)
{
	struct es_file_watch *w = arg;

	ev_async_send(w->loop, &w->jwks_changed);
}

static void
on_jwks_changed(struct ev_loop *loop, ev_async *as, int revents)
{
	ev_feed_signal_event(loop, SIGHUP);
}

static void
on_check(struct ev_loop *loop, ev_check *c, int revents)
{
	struct es_file_watch *w = c->data;
	struct es_snapshot *s = es_snapshot_acquire();
	unsigned long gen = s != NULL ? s->generation : 0;

	es_snapshot_release(s);
	if (gen != w->armed_generation)
		arm(w);
}

struct es_file_watch *
es_file_watch_start(struct ev_loop *loop, const char *config_path)
{
	struct es_file_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		goto fail;
	w->loop = loop;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->config_path = strdup(config_path);
	if (w->fd < 0 || w->config_path == NULL)
		goto fail;
	arm(w);

	ev_io_init(&w->io, on_inotify, w->fd, EV_READ);
	ev_timer_init(&w->debounce, on_settled, ES_WATCH_DEBOUNCE, 0.);
	ev_check_init(&w->check, on_check);
	w->io.data = w->debounce.data = w->check.data = w;
	ev_io_start(loop, &w->io);
	ev_check_start(loop, &w->check);

	ev_async_init(&w->jwks_changed, on_jwks_changed);
	ev_async_start(loop, &w->jwks_changed);
	if (es_jwks_start != NULL && es_jwks_start(jwks_notify, w) != 0)
		es_log_msg(ES_LOG_ERROR, "jwks_thread", 0, "cannot start the "
			   "JWKS fetcher: jwks_url keys will not refresh");
	return w;
fail:
	es_log_msg(ES_LOG_WARN, "watch_failed", 0, "no file watching (%s); "
		   "reload with SIGHUP", strerror(errno));
	if (w != NULL && w->fd >= 0)
		close(w->fd);
	if (w != NULL)
		free(w->config_path);
	free(w);
	return NULL;
}

void
es_file_watch_stop(struct es_file_watch *w)
{
	if (w == NULL)
		return;
	if (es_jwks_start != NULL)	/* no more notifications to w */
		(void)es_jwks_start(NULL, NULL);
	ev_async_stop(w->loop, &w->jwks_changed);
	ev_check_stop(w->loop, &w->check);
	ev_io_stop(w->loop, &w->io);
	ev_timer_stop(w->loop, &w->debounce);
	replace_entries(w, NULL, 0);
	close(w->fd);
	free(w->config_path);
	free(w);
}
