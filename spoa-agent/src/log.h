/*
 * log.h: one line per event, logfmt or JSON, to stderr or syslog.
 *
 * A line is built with a struct es_logline on the caller's stack: the
 * event word and the connection id first, then key=value fields, then
 * es_log_end() writes it in one call. Values are escaped; never pass a
 * token or a secret, pass edgeseal_fingerprint() instead.
 *
 * Warnings and errors are rate limited: at most ES_LOG_BURST lines a
 * second for one (event, reason/status/msg) key; the rest are counted and
 * reported by one line with the same event and "suppressed=K", written
 * when the key logs again in a later second or by es_log_flush_suppressed.
 */
#ifndef ES_LOG_H
#define ES_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ES_LOGLINE_MAX 1024
#define ES_LOG_BURST 10

struct es_logline {
	enum es_log_level level;
	bool enabled;
	bool json;		/* the format when the line began */
	const char *event;
	uint32_t key;		/* event + reason/status/msg: rate limit */
	char what[64];		/* first reason or msg, for the summary */
	size_t len;
	char buf[ES_LOGLINE_MAX];
};

/*
 * Set the level, the format and the sink (syslog when use_syslog, else
 * stderr). May be called again on reload; safe against concurrent logging
 * since each field is a single word-sized store.
 */
void es_log_init(enum es_log_level level, enum es_log_format format,
		 bool use_syslog);

bool es_log_enabled(enum es_log_level level);

/* Start a line: ts, level, event, and conn when conn_id is not 0. */
void es_log_begin(struct es_logline *l, enum es_log_level level,
		  const char *event, uint64_t conn_id);
void es_log_str(struct es_logline *l, const char *key, const char *val);
void es_log_mem(struct es_logline *l, const char *key, const void *val,
		size_t len);
void es_log_uint(struct es_logline *l, const char *key, uint64_t val);
void es_log_int(struct es_logline *l, const char *key, int64_t val);
/* Write the line (one write() or one syslog() call). */
void es_log_end(struct es_logline *l);

/*
 * Write the "suppressed=K" line of every key whose second has passed
 * with lines held back. Call about once a second (the main loop does).
 */
void es_log_flush_suppressed(void);

/* Shortcut: an event with a single "msg" field. */
void es_log_msg(enum es_log_level level, const char *event, uint64_t conn_id,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
