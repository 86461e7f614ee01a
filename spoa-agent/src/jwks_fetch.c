/*
 * jwks_fetch.c: JWKS URL sources and their fetcher thread; see
 * jwks_fetch.h and docs/key-rotation.md.
 *
 * One mutex guards the list of sources and every source's mutable fields;
 * it is never held across a network call. The fetcher thread wakes at least
 * once a second, fetches what is due or poked, and checks staleness.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "issuer_keys.h"
#include "jwks_fetch.h"
#include "log.h"
#include "metrics.h"

struct es_jwks_source {
	struct es_jwks_source *next;
	char *issuer;
	char *url;
	char *url_log;			/* url without secrets, for logs */
	char *cache_file;		/* NULL: none */

	/* Below: guarded by lock. */
	unsigned refresh_min, refresh_max, max_stale;
	char *doc;			/* the JWKS being served, or NULL */
	size_t doc_len;
	int64_t doc_time;		/* when doc was fetched */
	int64_t next_fetch;
	int64_t last_poke;
	bool poked;
	bool stale_reported;
	unsigned failures;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct es_jwks_source *sources;
static pthread_t fetcher;
static bool running, stopping, registered;
static void (*notify_fn)(void *);
static void *notify_arg;

/* One HTTP answer. */
struct response {
	char *body;
	size_t len;
	char cache_control[256];
	long status;
};

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Pure helpers                                                        */
/* ------------------------------------------------------------------ */

int
es_jwks_url_allowed(const char *url)
{
	return strncmp(url, "https://", 8) == 0 ||
	       strncmp(url, "http://", 7) == 0;
}

/*
 * scheme://host[:port]/path of url: a URL may carry credentials (user:pass@
 * or ?access_token=) that must never reach a log or a metric.
 */
void
es_jwks_url_redact(const char *url, char *out, size_t outlen)
{
	const char *host = strstr(url, "://");
	const char *end, *at;
	size_t scheme, path;

	if (outlen == 0)
		return;
	if (host == NULL) {
		snprintf(out, outlen, "(not a URL)");
		return;
	}
	scheme = (size_t)(host - url) + 3;
	host += 3;
	end = host + strcspn(host, "/?#");

	/* The userinfo ends at the authority's last '@'. */
	for (at = end; at > host && at[-1] != '@'; at--)
		;
	if (at > host)
		host = at;
	path = strcspn(end, "?#");
	snprintf(out, outlen, "%.*s%.*s%.*s", (int)scheme, url,
		 (int)(end - host), host, (int)path, end);
}

unsigned
es_jwks_refresh_delay(const char *cc, unsigned min, unsigned max)
{
	const char *p;
	unsigned long age;
	char *end;

	if (cc == NULL)
		return max;
	if (strcasestr(cc, "no-cache") != NULL ||
	    strcasestr(cc, "no-store") != NULL)
		return min;
	p = strcasestr(cc, "max-age=");
	if (p == NULL)
		return max;
	errno = 0;
	age = strtoul(p + 8, &end, 10);
	if (end == p + 8 || errno != 0)
		return max;
	if (age < min)
		return min;
	return age > max ? max : (unsigned)age;
}

/* delay plus or minus a tenth, so many agents do not fetch in step. */
static int64_t
jitter(unsigned delay)
{
	unsigned span = delay / 5;

	if (span == 0)
		return delay;
	return (int64_t)delay - span / 2 + (int64_t)(random() % (span + 1));
}

/* ------------------------------------------------------------------ */
/* Network and files                                                   */
/* ------------------------------------------------------------------ */

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;
	char *grown;

	/* Returning short makes curl fail the transfer: the size cap. */
	if (len > ES_JWKS_MAX_BODY - r->len)
		return 0;
	grown = realloc(r->body, r->len + len + 1);
	if (grown == NULL)
		return 0;
	r->body = grown;
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;
	size_t name = sizeof("cache-control:") - 1;

	if (len > name && strncasecmp(data, "cache-control:", name) == 0) {
		size_t v = len - name;

		if (v >= sizeof(r->cache_control))
			v = sizeof(r->cache_control) - 1;
		memcpy(r->cache_control, data + name, v);
		r->cache_control[v] = '\0';
	}
	return len;
}

/* GET url into r. 0, or -1 with the reason in err. */
static int
http_get(const char *url, struct response *r, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	CURLcode rc = CURLE_FAILED_INIT;

	if (c == NULL)
		goto out;
	/* http only when the URL says so; never follow a redirect, which
	 * could take us from https to http. */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
			 strncmp(url, "http://", 7) == 0 ? "http" : "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ES_JWKS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)ES_JWKS_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "edgeseal-spoa");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
out:
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		set_err(err, errlen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (r->status != 200) {
		set_err(err, errlen, "HTTP status %ld", r->status);
		return -1;
	}
	return 0;
}

/* Is doc a JWKS we could serve (same rules as a jwks_file)? */
static int
usable(const char *doc, size_t len, const char *url, char *err,
       size_t errlen)
{
	struct es_keyring kr = { 0 };
	int rc = es_keyring_add_jwks(&kr, doc, len, url, err, errlen);

	es_keyring_clear(&kr);
	return rc;
}

/*
 * Open path's temporary file: created by us now (O_EXCL after removing a
 * stale one, never through a link) and never waiting on a FIFO.
 */
static int
cache_tmp_open(const char *tmp)
{
	struct stat st;
	int fd;

	if (unlink(tmp) != 0 && errno != ENOENT)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK |
		  O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/*
 * Write doc to path atomically, mode 0600: a temporary file renamed.
 * Called without the lock: a slow disk must not stall the workers.
 */
static int
cache_write(const char *path, const char *doc, size_t len)
{
	char tmp[4096];
	int fd, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	fd = cache_tmp_open(tmp);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) == 0 && write(fd, doc, len) == (ssize_t)len &&
	    fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, path);
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

/*
 * SHA-256 of the full URL in hex: binds a cache file to its URL without
 * writing the URL's credentials into it (url_log is shown instead).
 */
static void
url_digest(const char *url, char hex[2 * SHA256_DIGEST_LENGTH + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)url, strlen(url), md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/*
 * The cache file's content: the JWKS wrapped with the issuer section and
 * URL it came from, so it is never served to another (see cache_unwrap).
 */
static char *
cache_wrap(const struct es_jwks_source *s, const char *doc, size_t len)
{
	json_t *jwks = json_loadb(doc, len, 0, NULL);
	char digest[2 * SHA256_DIGEST_LENGTH + 1];
	json_t *o = NULL;
	char *text = NULL;

	if (jwks == NULL)
		goto out;
	url_digest(s->url, digest);
	o = json_pack("{s:i, s:s, s:s, s:s, s:O}", "edgeseal_jwks_cache", 1,
		      "issuer", s->issuer, "url", s->url_log, "url_sha256",
		      digest, "jwks", jwks);
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	json_decref(jwks);
	return text;
}

/*
 * The JWKS inside a cache file written by cache_wrap for this very issuer
 * section and URL; NULL with the reason in why otherwise.
 */
static char *
cache_unwrap(const struct es_jwks_source *s, const char *text, size_t len,
	     char *why, size_t whylen)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	json_t *jwks = json_object_get(o, "jwks");
	const char *issuer = json_string_value(json_object_get(o, "issuer"));
	const char *url = json_string_value(json_object_get(o, "url_sha256"));
	char digest[2 * SHA256_DIGEST_LENGTH + 1];
	char *doc = NULL;

	if (json_integer_value(json_object_get(o, "edgeseal_jwks_cache")) !=
	    1 || !json_is_object(jwks) || issuer == NULL || url == NULL) {
		set_err(why, whylen, "not an edgeseal JWKS cache file");
		goto out;
	}
	url_digest(s->url, digest);
	if (strcmp(issuer, s->issuer) != 0 || strcmp(url, digest) != 0) {
		set_err(why, whylen, "written for another issuer or jwks_url");
		goto out;
	}
	doc = json_dumps(jwks, JSON_COMPACT);
	if (doc == NULL)
		set_err(why, whylen, "out of memory");
out:
	json_decref(o);
	return doc;
}

/*
 * Read the cache file: a regular file of ours that nobody else may write
 * (it decides which keys we trust). Its mtime is when it was fetched.
 */
static char *
cache_read(const char *path, size_t *len, int64_t *mtime)
{
	struct stat st;
	char *doc = NULL;
	/* O_NONBLOCK: a FIFO is refused below instead of hanging here. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) != 0 ||
	    st.st_size <= 0 || st.st_size > ES_JWKS_MAX_BODY) {
		es_log_msg(ES_LOG_WARN, "jwks_cache_refused", 0,
			   "%s: not a regular file of ours, writable by us "
			   "only, under 1 MiB", path);
		goto out;
	}
	doc = malloc((size_t)st.st_size + 1);
	if (doc != NULL &&
	    read(fd, doc, (size_t)st.st_size) != (ssize_t)st.st_size) {
		free(doc);
		doc = NULL;
	}
	if (doc != NULL) {
		doc[st.st_size] = '\0';
		*len = (size_t)st.st_size;
		*mtime = st.st_mtime;
	}
out:
	close(fd);
	return doc;
}

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

/* Under lock: serve doc from now on; 1 when it differs from before. */
static int
adopt(struct es_jwks_source *s, char *doc, size_t len, int64_t when)
{
	int changed = s->doc == NULL || s->doc_len != len ||
		      memcmp(s->doc, doc, len) != 0;

	free(s->doc);
	s->doc = doc;
	s->doc_len = len;
	s->doc_time = when;
	s->failures = 0;
	changed |= s->stale_reported;
	s->stale_reported = false;
	return changed;
}

/* Log a fetch outcome with the fields operators grep for. */
static void
log_fetch(const struct es_jwks_source *s, const char *event,
	  enum es_log_level level, const char *why, int64_t next)
{
	struct es_logline l;

	es_log_begin(&l, level, event, 0);
	es_log_str(&l, "issuer", s->issuer);
	es_log_str(&l, "url", s->url_log);
	if (why != NULL)
		es_log_str(&l, "reason", why);
	if (s->doc != NULL)
		es_log_int(&l, "keys_age", (int64_t)time(NULL) - s->doc_time);
	es_log_uint(&l, "failures", s->failures);
	es_log_int(&l, "next_in", next);
	es_log_end(&l);
}

/*
 * Fetch s once, without the lock, then record the outcome under it.
 * Returns 1 when the served document changed (a reload should follow).
 */
static int
refresh(struct es_jwks_source *s, const char *url)
{
	struct response r = { 0 };
	enum es_jwks_result result = ES_JWKS_OK;
	char why[512] = "";
	char *cached = NULL;
	int64_t now, delay;
	int ok, changed = 0;

	if (http_get(url, &r, why, sizeof(why)) != 0)
		result = r.status == 0 ? ES_JWKS_NETWORK_ERROR
				       : ES_JWKS_HTTP_ERROR;
	else if (usable(r.body, r.len, s->url_log, why, sizeof(why)) != 0)
		result = ES_JWKS_INVALID;
	ok = result == ES_JWKS_OK;
	now = time(NULL);

	/* The cache file name, issuer and URL never change: no lock. */
	if (ok && s->cache_file != NULL)
		cached = cache_wrap(s, r.body, r.len);

	pthread_mutex_lock(&lock);
	if (ok) {
		delay = jitter(es_jwks_refresh_delay(r.cache_control[0] ?
			       r.cache_control : NULL, s->refresh_min,
			       s->refresh_max));
		changed = adopt(s, r.body, r.len, now);
		r.body = NULL;
		log_fetch(s, changed ? "jwks_changed" : "jwks_fetched",
			  changed ? ES_LOG_INFO : ES_LOG_DEBUG, NULL, delay);
	} else {
		/* Last-known-good: what was served stays served. */
		s->failures++;
		delay = jitter(s->refresh_min);
		log_fetch(s, "jwks_fetch_failed", ES_LOG_WARN, why, delay);
	}
	s->next_fetch = now + delay;
	pthread_mutex_unlock(&lock);

	if (cached != NULL && cache_write(s->cache_file, cached,
					  strlen(cached)) != 0)
		es_log_msg(ES_LOG_WARN, "jwks_cache_failed", 0, "%s: %s",
			   s->cache_file, strerror(errno));
	free(cached);

	if (ok && !changed)
		result = ES_JWKS_NOT_MODIFIED;
	es_metrics_jwks_fetch(s->issuer, result);
	if (ok)
		es_metrics_keys_updated(s->issuer, now);

	free(r.body);
	return changed;
}

static void
source_free(struct es_jwks_source *s)
{
	free(s->issuer);
	free(s->url);
	free(s->url_log);
	free(s->cache_file);
	free(s->doc);
	free(s);
}

static void
settings(struct es_jwks_source *s, const struct es_issuer_conf *ic)
{
	s->refresh_min = ic->jwks_refresh_min ? ic->jwks_refresh_min : 60;
	s->refresh_max = ic->jwks_refresh_max ? ic->jwks_refresh_max : 3600;
	s->max_stale = ic->jwks_max_stale;
}

static struct es_jwks_source *
source_new(const struct es_issuer_conf *ic)
{
	struct es_jwks_source *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->issuer = strdup(ic->name ? ic->name : "");
	s->url = strdup(ic->jwks_url);
	s->url_log = malloc(strlen(ic->jwks_url) + 16);
	s->cache_file = ic->jwks_cache_file ? strdup(ic->jwks_cache_file)
					    : NULL;
	if (s->url_log != NULL)
		es_jwks_url_redact(ic->jwks_url, s->url_log,
				   strlen(ic->jwks_url) + 16);
	if (s->issuer == NULL || s->url == NULL || s->url_log == NULL ||
	    (ic->jwks_cache_file != NULL && s->cache_file == NULL)) {
		source_free(s);
		return NULL;
	}
	settings(s, ic);
	return s;
}

/* Start from the cache file when there is a usable one. */
static void
load_cache(struct es_jwks_source *s)
{
	char why[512];
	size_t len = 0;
	int64_t mtime = 0;
	char *text, *doc;

	if (s->cache_file == NULL)
		return;
	text = cache_read(s->cache_file, &len, &mtime);
	if (text == NULL)
		return;
	doc = cache_unwrap(s, text, len, why, sizeof(why));
	free(text);
	if (doc == NULL) {
		es_log_msg(ES_LOG_WARN, "jwks_cache_refused", 0, "%s: %s",
			   s->cache_file, why);
		return;
	}
	len = strlen(doc);
	if (usable(doc, len, s->cache_file, why, sizeof(why)) != 0) {
		es_log_msg(ES_LOG_WARN, "jwks_cache_refused", 0, "%s", why);
		free(doc);
		return;
	}
	adopt(s, doc, len, mtime);
	es_metrics_keys_updated(s->issuer, mtime);
	log_fetch(s, "jwks_cache_loaded", ES_LOG_INFO, NULL, 0);
}

static void
shutdown_at_exit(void)
{
	es_jwks_shutdown();
}

struct es_jwks_source *
es_jwks_source_get(const struct es_issuer_conf *ic, char *err,
		   size_t errlen)
{
	const char *issuer = ic->name ? ic->name : "";
	struct es_jwks_source *s;
	char shown[1024];

	es_jwks_url_redact(ic->jwks_url, shown, sizeof(shown));
	if (!es_jwks_url_allowed(ic->jwks_url)) {
		set_err(err, errlen, "jwks_url %s: only https:// (or a "
			"literal http://) is fetched", shown);
		return NULL;
	}

	/* One source per issuer section and URL: each section's refresh
	 * and max_stale limits apply to its own copy of the keys. */
	pthread_mutex_lock(&lock);
	for (s = sources; s != NULL; s = s->next)
		if (strcmp(s->url, ic->jwks_url) == 0 &&
		    strcmp(s->issuer, issuer) == 0)
			break;
	if (s != NULL)
		settings(s, ic);
	pthread_mutex_unlock(&lock);
	if (s != NULL)
		return s;

	/* New: built in this thread, published once it has what it can. */
	if (!registered) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		srandom((unsigned)time(NULL) ^ (unsigned)getpid());
		atexit(shutdown_at_exit);
		registered = true;
	}
	s = source_new(ic);
	if (s == NULL) {
		set_err(err, errlen, "%s: out of memory", shown);
		return NULL;
	}
	load_cache(s);
	(void)refresh(s, s->url);

	pthread_mutex_lock(&lock);
	s->next = sources;
	sources = s;
	pthread_mutex_unlock(&lock);
	return s;
}

char *
es_jwks_source_document(struct es_jwks_source *src, int64_t now,
			int64_t *age, char *err, size_t errlen)
{
	char *doc = NULL;

	pthread_mutex_lock(&lock);
	*age = src->doc != NULL ? now - src->doc_time : -1;
	if (src->doc == NULL)
		set_err(err, errlen, "%s: no keys fetched yet and no cache",
			src->url_log);
	else if (src->max_stale != 0 && *age > (int64_t)src->max_stale)
		set_err(err, errlen, "%s: keys older than jwks_max_stale",
			src->url_log);
	else if ((doc = malloc(src->doc_len + 1)) != NULL)
		memcpy(doc, src->doc, src->doc_len + 1);
	pthread_mutex_unlock(&lock);
	return doc;
}

void
es_jwks_source_poke(struct es_jwks_source *src)
{
	int64_t now = time(NULL);

	pthread_mutex_lock(&lock);
	if (!src->poked && now - src->last_poke >= (int64_t)src->refresh_min) {
		src->poked = true;
		src->last_poke = now;
		pthread_cond_signal(&wake);
	}
	pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------------ */
/* The fetcher thread                                                  */
/* ------------------------------------------------------------------ */

/* Under lock: a source due for a fetch, or NULL. */
static struct es_jwks_source *
due(int64_t now)
{
	for (struct es_jwks_source *s = sources; s != NULL; s = s->next)
		if (s->poked || now >= s->next_fetch)
			return s;
	return NULL;
}

/* Under lock: did a served document just pass max_stale? */
static int
newly_stale(int64_t now)
{
	int hit = 0;

	for (struct es_jwks_source *s = sources; s != NULL; s = s->next) {
		if (s->doc == NULL || s->max_stale == 0 || s->stale_reported ||
		    now - s->doc_time <= (int64_t)s->max_stale)
			continue;
		s->stale_reported = true;
		log_fetch(s, "jwks_stale", ES_LOG_ERROR, "keys older than "
			  "jwks_max_stale are no longer used", 0);
		hit = 1;
	}
	return hit;
}

static void
wait_a_second(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	pthread_cond_timedwait(&wake, &lock, &ts);
}

static void *
fetch_main(void *arg)
{
	struct es_jwks_source *s;
	int reload;

	pthread_mutex_lock(&lock);
	while (!stopping) {
		int64_t now = time(NULL);

		reload = newly_stale(now);
		s = due(now);
		if (s != NULL) {
			/* The URL never changes and the source is never
			 * freed while the thread runs: safe unlocked. */
			s->poked = false;
			pthread_mutex_unlock(&lock);
			reload |= refresh(s, s->url);
			pthread_mutex_lock(&lock);
		}
		if (reload && notify_fn != NULL) {
			pthread_mutex_unlock(&lock);
			notify_fn(notify_arg);
			pthread_mutex_lock(&lock);
		}
		if (s == NULL && !stopping)
			wait_a_second();
	}
	pthread_mutex_unlock(&lock);
	return arg;
}

int
es_jwks_start(void (*notify)(void *arg), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	notify_fn = notify;
	notify_arg = arg;
	if (!running) {
		stopping = false;
		rc = pthread_create(&fetcher, NULL, fetch_main, NULL) == 0
		     ? 0 : -1;
		running = rc == 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void
es_jwks_shutdown(void)
{
	struct es_jwks_source *s;
	bool join;

	pthread_mutex_lock(&lock);
	stopping = true;
	join = running;
	running = false;
	notify_fn = NULL;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	if (join)
		pthread_join(fetcher, NULL);

	pthread_mutex_lock(&lock);
	while ((s = sources) != NULL) {
		sources = s->next;
		source_free(s);
	}
	pthread_mutex_unlock(&lock);
}

void
es_jwks_foreach(void (*fn)(void *arg, const char *issuer, const char *url,
			   int64_t age, unsigned failures),
		void *arg, int64_t now)
{
	pthread_mutex_lock(&lock);
	for (struct es_jwks_source *s = sources; s != NULL; s = s->next)
		fn(arg, s->issuer, s->url_log,
		   s->doc != NULL ? now - s->doc_time : -1, s->failures);
	pthread_mutex_unlock(&lock);
}
