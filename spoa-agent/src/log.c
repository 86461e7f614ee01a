/*
 * log.c: event log lines in logfmt or JSON; see log.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Set by the main thread on reload, read by every worker: atomics. */
static int cur_level = ES_LOG_INFO;
static int cur_format = ES_LOG_LOGFMT;
static int cur_syslog;

static const char *const level_names[] = {
	"error", "warn", "info", "debug",
};

/*
 * Rate limit of warnings and errors, one slot per key hash (a collision
 * evicts the older key after writing its summary). A mutex is enough:
 * only warn/error lines get here, and each costs a write() anyway.
 */
#define RL_SLOTS 64

struct rl_slot {
	uint32_t key;
	int64_t sec;			/* the second being counted */
	unsigned count;			/* lines in that second */
	uint64_t suppressed;		/* held back, not yet reported */
	enum es_log_level level;
	char event[32];
	char what[64];
};

static struct rl_slot rl_slots[RL_SLOTS];
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

void
es_log_init(enum es_log_level level, enum es_log_format format,
	    bool use_syslog)
{
	if (use_syslog && !__atomic_load_n(&cur_syslog, __ATOMIC_ACQUIRE))
		openlog("edgeseal-spoa", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	__atomic_store_n(&cur_level, (int)level, __ATOMIC_RELAXED);
	__atomic_store_n(&cur_format, (int)format, __ATOMIC_RELAXED);
	__atomic_store_n(&cur_syslog, use_syslog ? 1 : 0, __ATOMIC_RELEASE);
}

bool
es_log_enabled(enum es_log_level level)
{
	return (int)level <= __atomic_load_n(&cur_level, __ATOMIC_RELAXED);
}

static void
append(struct es_logline *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len;

	/* Truncate rather than drop: the head of a line is the useful part. */
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void
append_escaped(struct es_logline *l, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char tmp[8];
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			append(l, tmp, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			append(l, tmp, strlen(tmp));
		} else {
			append(l, (const char *)&c, 1);
		}
	}
}

/* True when a logfmt value needs quotes. */
static bool
needs_quotes(const unsigned char *s, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == '"' || s[i] == '=' ||
		    s[i] == '\\' || s[i] >= 0x7f)
			return true;
	return false;
}

static uint32_t
mix(uint32_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

/* The fields that tell one repeated error from another form its key. */
static void
remember_key(struct es_logline *l, const char *key, const void *val,
	     size_t n)
{
	if (strcmp(key, "reason") != 0 && strcmp(key, "status") != 0 &&
	    strcmp(key, "msg") != 0)
		return;
	l->key = mix(mix(l->key, key, strlen(key)), val, n);
	if (l->what[0] == '\0' && strcmp(key, "status") != 0)
		snprintf(l->what, sizeof(l->what), "%.*s", (int)n,
			 (const char *)val);
}

static void
field(struct es_logline *l, const char *key, const void *val, size_t n,
      bool raw)
{
	const unsigned char *v = val;
	bool json = l->json;

	if (!l->enabled)
		return;
	if (l->level <= ES_LOG_WARN)
		remember_key(l, key, val, n);
	if (json) {
		append(l, l->len > 1 ? ",\"" : "\"", l->len > 1 ? 2 : 1);
		append(l, key, strlen(key));
		append(l, "\":", 2);
	} else {
		if (l->len > 0)
			append(l, " ", 1);
		append(l, key, strlen(key));
		append(l, "=", 1);
	}

	/* Numbers stay bare in both formats. */
	if (raw) {
		append(l, val, n);
	} else if (json || needs_quotes(v, n)) {
		append(l, "\"", 1);
		append_escaped(l, v, n);
		append(l, "\"", 1);
	} else {
		append(l, val, n);
	}
}

void
es_log_begin(struct es_logline *l, enum es_log_level level,
	     const char *event, uint64_t conn_id)
{
	char ts[40];
	struct timespec now;
	struct tm tm;
	size_t n;

	l->level = level;
	l->len = 0;
	l->buf[0] = '\0';
	l->event = event;
	l->key = mix(2166136261u, event, strlen(event));
	l->what[0] = '\0';
	l->json = __atomic_load_n(&cur_format, __ATOMIC_RELAXED) ==
		  ES_LOG_JSON;
	l->enabled = es_log_enabled(level);
	if (!l->enabled)
		return;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%06ldZ", now.tv_nsec / 1000);

	if (l->json)
		append(l, "{", 1);
	field(l, "ts", ts, strlen(ts), false);
	field(l, "level", level_names[level], strlen(level_names[level]),
	      false);
	field(l, "event", event, strlen(event), false);
	if (conn_id != 0)
		es_log_uint(l, "conn", conn_id);
}

void
es_log_str(struct es_logline *l, const char *key, const char *val)
{
	if (!l->enabled)
		return;
	if (val == NULL)
		val = "";
	field(l, key, val, strlen(val), false);
}

void
es_log_mem(struct es_logline *l, const char *key, const void *val,
	   size_t len)
{
	field(l, key, val, len, false);
}

/* Disabled lines cost no formatting: decisions build one per request. */
void
es_log_uint(struct es_logline *l, const char *key, uint64_t val)
{
	char tmp[24];
	int n;

	if (!l->enabled)
		return;
	n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)val);
	field(l, key, tmp, (size_t)n, true);
}

void
es_log_int(struct es_logline *l, const char *key, int64_t val)
{
	char tmp[24];
	int n;

	if (!l->enabled)
		return;
	n = snprintf(tmp, sizeof(tmp), "%lld", (long long)val);
	field(l, key, tmp, (size_t)n, true);
}

/* Write a finished line (one write() or one syslog() call). */
static void
emit(struct es_logline *l)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
				    LOG_DEBUG };
	ssize_t rc;

	if (l->json)
		append(l, "}", 1);
	if (__atomic_load_n(&cur_syslog, __ATOMIC_ACQUIRE)) {
		syslog(prio[l->level], "%s", l->buf);
		return;
	}

	/* One write so lines from several threads never interleave. */
	if (l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = '\n';
	else
		l->buf[l->len - 1] = '\n';
	rc = write(STDERR_FILENO, l->buf, l->len);
	(void)rc;
}

static int64_t
mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* The "suppressed=K" line for what a slot held back. */
static void
emit_summary(const struct rl_slot *s)
{
	struct es_logline l;

	es_log_begin(&l, s->level, s->event, 0);
	if (!l.enabled)
		return;
	es_log_str(&l, "repeated", s->what);
	es_log_uint(&l, "suppressed", s->suppressed);
	emit(&l);
}

/*
 * Count l against its key's budget for this second. Returns whether it
 * may be written; *pending gets a summary to write first, if one is due.
 */
static bool
rl_allow(const struct es_logline *l, int64_t now, struct rl_slot *pending)
{
	struct rl_slot *s = &rl_slots[l->key % RL_SLOTS];
	bool ok;

	pending->suppressed = 0;
	pthread_mutex_lock(&rl_lock);
	if (s->key != l->key || s->sec != now) {
		*pending = *s;
		if (s->key != l->key) {
			s->key = l->key;
			s->level = l->level;
			snprintf(s->event, sizeof(s->event), "%s", l->event);
			snprintf(s->what, sizeof(s->what), "%s", l->what);
		}
		s->sec = now;
		s->count = 0;
		s->suppressed = 0;
	}
	ok = ++s->count <= ES_LOG_BURST;
	if (!ok)
		s->suppressed++;
	pthread_mutex_unlock(&rl_lock);
	return ok;
}

void
es_log_end(struct es_logline *l)
{
	struct rl_slot pending;
	bool ok = true;

	if (!l->enabled)
		return;
	if (l->level <= ES_LOG_WARN) {
		ok = rl_allow(l, mono_sec(), &pending);
		if (pending.suppressed > 0)
			emit_summary(&pending);
	}
	if (ok)
		emit(l);
}

void
es_log_flush_suppressed(void)
{
	struct rl_slot due[RL_SLOTS];
	int64_t now = mono_sec();
	unsigned n = 0;

	pthread_mutex_lock(&rl_lock);
	for (unsigned i = 0; i < RL_SLOTS; i++) {
		struct rl_slot *s = &rl_slots[i];

		if (s->suppressed == 0 || s->sec == now)
			continue;
		due[n++] = *s;
		s->suppressed = 0;
	}
	pthread_mutex_unlock(&rl_lock);

	/* Written outside the lock: a write may block. */
	for (unsigned i = 0; i < n; i++)
		emit_summary(&due[i]);
}

void
es_log_msg(enum es_log_level level, const char *event, uint64_t conn_id,
	   const char *fmt, ...)
{
	struct es_logline l;
	char msg[512];
	va_list ap;

	if (!es_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	es_log_begin(&l, level, event, conn_id);
	es_log_str(&l, "msg", msg);
	es_log_end(&l);
}
