/*
 * log.c: event log lines in logfmt or JSON; see log.h.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static volatile int cur_level = ES_LOG_INFO;
static volatile int cur_format = ES_LOG_LOGFMT;
static volatile bool cur_syslog;

static const char *const level_names[] = {
	"error", "warn", "info", "debug",
};

void
es_log_init(enum es_log_level level, enum es_log_format format,
	    bool use_syslog)
{
	if (use_syslog && !cur_syslog)
		openlog("edgeseal-spoa", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	cur_level = level;
	cur_format = format;
	cur_syslog = use_syslog;
}

bool
es_log_enabled(enum es_log_level level)
{
	return (int)level <= cur_level;
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

static void
field(struct es_logline *l, const char *key, const void *val, size_t n,
      bool raw)
{
	const unsigned char *v = val;
	bool json = cur_format == ES_LOG_JSON;

	if (!l->enabled)
		return;
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
	l->enabled = es_log_enabled(level);
	if (!l->enabled)
		return;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%06ldZ", now.tv_nsec / 1000);

	if (cur_format == ES_LOG_JSON)
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

void
es_log_uint(struct es_logline *l, const char *key, uint64_t val)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)val);

	field(l, key, tmp, (size_t)n, true);
}

void
es_log_int(struct es_logline *l, const char *key, int64_t val)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)val);

	field(l, key, tmp, (size_t)n, true);
}

void
es_log_end(struct es_logline *l)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
				    LOG_DEBUG };
	ssize_t rc;

	if (!l->enabled)
		return;
	if (cur_format == ES_LOG_JSON)
		append(l, "}", 1);
	if (cur_syslog) {
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
