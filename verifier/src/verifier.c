/*
 * verifier.c: a verifier is the rules plus a key set that can be swapped
 * while other threads verify. Readers hold a read lock for one
 * verification; a swap takes the write lock, so a verification always ends
 * with the set it started with and the old set is freed after the last one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* What stat() says about a key file; equal stamps mean "not changed". */
struct file_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

struct edgeseal_verifier {
	pthread_rwlock_t lock;
	struct edgeseal_keyset *ks;	/* guarded by lock */
	struct edgeseal__verify_rules rules;
	char *issuer;
	char *audience;

	/* edgeseal_verifier_reload_if_changed(): the last file looked at. */
	pthread_mutex_t stamp_lock;
	char *stamp_path;		/* guarded by stamp_lock */
	struct file_stamp stamp;	/* guarded by stamp_lock */
};

/* Copy the caller's options with every default applied. */
static int
set_rules(struct edgeseal_verifier *v, const struct edgeseal_verifier_opts *o)
{
	struct edgeseal__verify_rules *r = &v->rules;

	/* A leeway of hours would make every seal's exp meaningless. */
	if (o->leeway > ES_MAX_LEEWAY)
		return -1;
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
	pthread_mutex_init(&v->stamp_lock, NULL);
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
	pthread_mutex_destroy(&v->stamp_lock);
	free(v->stamp_path);
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

	/* Freed outside the lock: wiping keys must not stall readers. The
	 * set it already holds, handed in again, stays. */
	if (old != ks)
		edgeseal_keyset_free(old);
}

/* Load path into v; *transient as edgeseal__keyset_load() says. */
static enum edgeseal_reason
load_into(struct edgeseal_verifier *v, const char *path, int *transient,
	  char *err, size_t errlen)
{
	struct edgeseal_keyset *ks;

	ks = edgeseal__keyset_load(path, transient, err, errlen);
	if (ks == NULL)
		return EDGESEAL_NO_KEY;
	edgeseal_verifier_set_keyset(v, ks);
	return EDGESEAL_OK;
}

enum edgeseal_reason
edgeseal_verifier_reload(struct edgeseal_verifier *v, const char *path,
			 char *err, size_t errlen)
{
	int transient;

	if (v == NULL || path == NULL)
		return EDGESEAL_NO_KEY;
	return load_into(v, path, &transient, err, errlen);
}

/* ------------------------------------------------------------------ */
/* Reloading on change                                                 */
/* ------------------------------------------------------------------ */

static void
stamp_of(const struct stat *st, struct file_stamp *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->dev = st->st_dev;
	fs->ino = st->st_ino;
	fs->size = st->st_size;
	fs->mtime = st->st_mtim;
	fs->ctime = st->st_ctim;
}

/*
 * Size and both times as well as the inode: an editor that rewrites in
 * place keeps the inode, and a copy within one mtime tick keeps the size
 * only by luck; ctime moves on every write and chmod.
 */
static int
stamp_equal(const struct file_stamp *a, const struct file_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void
set_err(char *err, size_t errlen, const char *msg, const char *path)
{
	if (err != NULL && errlen != 0)
		snprintf(err, errlen, "%s: %s", path, msg);
}

/* Under stamp_lock: has path changed since the stamp, and note its new
 * stamp. Returns 1 changed, 0 not, -1 when it cannot be stat()ed. */
static int
note_change(struct edgeseal_verifier *v, const char *path, char *err,
	    size_t errlen)
{
	struct file_stamp now;
	struct stat st;
	int same_path = v->stamp_path != NULL &&
			strcmp(v->stamp_path, path) == 0;

	/* Stamped before the load: a write during the load is seen next
	 * time rather than lost. */
	if (stat(path, &st) != 0) {
		set_err(err, errlen, strerror(errno), path);
		return -1;
	}
	stamp_of(&st, &now);
	if (same_path && stamp_equal(&now, &v->stamp))
		return 0;
	if (!same_path) {
		free(v->stamp_path);
		v->stamp_path = strdup(path);
	}
	v->stamp = now;
	return 1;
}

int
edgeseal_verifier_reload_if_changed(struct edgeseal_verifier *v,
				    const char *path, char *err,
				    size_t errlen)
{
	int rc = 0, transient;

	if (err != NULL && errlen != 0)
		err[0] = '\0';
	if (v == NULL || path == NULL)
		return -1;

	/* Another thread is on it: keep serving with the current set. */
	if (pthread_mutex_trylock(&v->stamp_lock) != 0)
		return 0;
	rc = note_change(v, path, err, errlen);
	if (rc == 1 && load_into(v, path, &transient, err, errlen) !=
	    EDGESEAL_OK) {
		/* A bad file waits for its next change; a file that could
		 * not be read (EMFILE, ENOMEM) is tried again on the next
		 * call, or a rotation would be missed. */
		if (transient)
			memset(&v->stamp, 0, sizeof(v->stamp));
		rc = -1;
	}
	pthread_mutex_unlock(&v->stamp_lock);
	return rc;
}

/* The watch thread and what it needs; stop_fd ends it. */
struct edgeseal_watch {
	struct edgeseal_verifier *v;
	char *path;
	char *dir;
	const char *base;		/* inside path */
	void (*done)(void *arg, int rc, const char *err);
	void *arg;
	int ifd;			/* inotify, -1 without */
	int stop[2];			/* pipe: a byte asks to stop */
	pthread_t thread;
};

/* Does a batch of inotify events name our file or the "..data" link? */
static int
events_matter(const struct edgeseal_watch *w, const char *buf, ssize_t n)
{
	const char *p = buf;
	int hit = 0;

	while (p < buf + n) {
		const struct inotify_event *ev = (const void *)p;

		if (ev->len != 0 && (strcmp(ev->name, w->base) == 0 ||
				     strcmp(ev->name, "..data") == 0))
			hit = 1;
		p += sizeof(*ev) + ev->len;
	}
	return hit;
}

/* Drain the inotify descriptor; 1 when something relevant moved. */
static int
drain_events(const struct edgeseal_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(
		struct inotify_event))));
	ssize_t n;
	int hit = 0;

	while ((n = read(w->ifd, buf, sizeof(buf))) > 0)
		hit |= events_matter(w, buf, n);
	return hit;
}

static void
watch_check(struct edgeseal_watch *w)
{
	char err[512];
	int rc = edgeseal_verifier_reload_if_changed(w->v, w->path, err,
						     sizeof(err));

	if (rc != 0 && w->done != NULL)
		w->done(w->arg, rc, err);
}

/* Wait for an event, a stop byte or a second; then look at the file.
 * After an event, wait for a quiet 50 ms so a burst reloads once. */
static void *
watch_main(void *arg)
{
	struct edgeseal_watch *w = arg;
	struct pollfd pf[2] = {
		{ .fd = w->stop[0], .events = POLLIN },
		{ .fd = w->ifd, .events = POLLIN },
	};
	int timeout = 1000;

	for (;;) {
		int n = poll(pf, w->ifd >= 0 ? 2 : 1, timeout);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (pf[0].revents & POLLIN))
			break;
		if (n > 0 && (pf[1].revents & POLLIN)) {
			timeout = drain_events(w) ? 50 : timeout;
			continue;
		}
		watch_check(w);
		timeout = 1000;
	}
	return NULL;
}

static int
watch_dir(struct edgeseal_watch *w)
{
	char *slash = strrchr(w->path, '/');

	w->base = slash != NULL ? slash + 1 : w->path;
	if (slash == NULL)
		w->dir = strdup(".");
	else if (slash == w->path)
		w->dir = strdup("/");
	else
		w->dir = strndup(w->path, (size_t)(slash - w->path));
	return w->dir != NULL ? 0 : -1;
}

struct edgeseal_watch *
edgeseal_watch_new(struct edgeseal_verifier *v, const char *path,
		   void (*done)(void *arg, int rc, const char *err),
		   void *arg)
{
	struct edgeseal_watch *w;

	if (v == NULL || path == NULL)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->v = v;
	w->done = done;
	w->arg = arg;
	w->stop[0] = w->stop[1] = w->ifd = -1;
	w->path = strdup(path);
	if (w->path == NULL || watch_dir(w) != 0 ||
	    pipe2(w->stop, O_CLOEXEC) != 0)
		goto fail;

	/* Without inotify (limits reached) the once-a-second check alone
	 * still picks changes up. */
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd >= 0 && inotify_add_watch(w->ifd, w->dir, IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB) < 0) {
		close(w->ifd);
		w->ifd = -1;
	}
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0)
		goto fail;
	return w;
fail:
	if (w->stop[0] >= 0) {
		close(w->stop[0]);
		close(w->stop[1]);
	}
	if (w->ifd >= 0)
		close(w->ifd);
	free(w->dir);
	free(w->path);
	free(w);
	return NULL;
}

void
edgeseal_watch_free(struct edgeseal_watch *w)
{
	if (w == NULL)
		return;
	(void)!write(w->stop[1], "x", 1);
	pthread_join(w->thread, NULL);
	close(w->stop[0]);
	close(w->stop[1]);
	if (w->ifd >= 0)
		close(w->ifd);
	free(w->dir);
	free(w->path);
	free(w);
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
