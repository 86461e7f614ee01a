/*
 * config.c: the INI configuration (config.h), parsed with libinih.
 *
 * The file is read into memory and fed to ini_parse_stream() through a
 * reader that hands out one line per call and counts lines, so the handler
 * (called right after its line was read) knows the line number for its
 * messages. Section headers are checked in the reader too, because inih
 * does not call the handler for a section without keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "listener.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

struct parse_ctx {
	const char *text;	/* whole file, NUL-terminated */
	size_t off;
	int line;
	const char *name;	/* file name for messages */
	struct es_config *cfg;
	struct es_issuer_conf *issuer;	/* section being parsed */
	unsigned seen[64];	/* scalar keys already set, see once() */
	char *err;
	size_t errlen;
	bool failed;
};

static void
fail(struct parse_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct parse_ctx *c, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	/* The first error is the one worth reporting. */
	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%d: %s", c->name, c->line, msg);
}

static char *
dup_or_fail(struct parse_ctx *c, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		fail(c, "out of memory");
	return d;
}

/* --- value parsers (pure) ----------------------------------------- */

static int
parse_uint(const char *s, unsigned long min, unsigned long max,
	   unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Split a space-separated value into a list. */
static int
parse_list(struct parse_ctx *c, const char *value, struct es_strlist *out)
{
	char *copy = dup_or_fail(c, value);
	char *save = NULL;
	int rc = -1;

	if (copy == NULL)
		goto out;
	for (unsigned i = 0; i < out->count; i++)
		free(out->items[i]);
	out->count = 0;

	for (char *t = strtok_r(copy, " \t,", &save); t != NULL;
	     t = strtok_r(NULL, " \t,", &save)) {
		if (out->count == ES_MAX_LIST) {
			fail(c, "more than %d items", ES_MAX_LIST);
			goto out;
		}
		out->items[out->count] = dup_or_fail(c, t);
		if (out->items[out->count] == NULL)
			goto out;
		out->count++;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* pem_key / hmac_key = KID ALG FILE */
static int
parse_keyref(struct parse_ctx *c, const char *value, struct es_keyref *out)
{
	char kid[256], alg[32], path[1024], extra[2];

	if (sscanf(value, "%255s %31s %1023s %1s", kid, alg, path,
		   extra) != 3) {
		fail(c, "expected: KID ALG FILE");
		return -1;
	}
	out->kid = dup_or_fail(c, kid);
	out->alg = dup_or_fail(c, alg);
	out->file.path = dup_or_fail(c, path);
	out->file.line = c->line;
	return c->failed ? -1 : 0;
}

/* --- handlers per section ------------------------------------------ */

/*
 * Scalar keys may appear once per section: a second value silently
 * replacing the first hides mistakes. Keys are numbered per section.
 */
static int
once(struct parse_ctx *c, unsigned id, const char *key)
{
	if (c->seen[id] != 0) {
		fail(c, "%s set twice (first on line %u)", key, c->seen[id]);
		return -1;
	}
	c->seen[id] = (unsigned)c->line;
	return 0;
}

/*
 * A string key. An empty value is refused: "issuer =" would make every
 * token fail, or accept "iss": "", and a templated value that came out
 * empty must not pass -t. subject_prefix, where empty means something,
 * calls set_str_or_empty.
 */
static int
set_str_or_empty(struct parse_ctx *c, unsigned id, const char *key,
		 const char *v, char **out)
{
	if (once(c, id, key) != 0)
		return -1;
	free(*out);
	*out = dup_or_fail(c, v);
	return *out == NULL ? -1 : 0;
}

static int
set_str(struct parse_ctx *c, unsigned id, const char *key, const char *v,
	char **out)
{
	if (*v == '\0') {
		fail(c, "%s: empty value", key);
		return -1;
	}
	return set_str_or_empty(c, id, key, v, out);
}

/* algorithms and token_types: empty would refuse every token. */
static int
set_nonempty_list(struct parse_ctx *c, unsigned id, const char *key,
		  const char *v, struct es_strlist *out)
{
	if (once(c, id, key) != 0 || parse_list(c, v, out) != 0)
		return -1;
	if (out->count == 0) {
		fail(c, "%s: empty list", key);
		return -1;
	}
	return 0;
}

static int
set_uint(struct parse_ctx *c, unsigned id, const char *key, const char *v,
	 unsigned long min, unsigned long max, unsigned long *out)
{
	if (once(c, id, key) != 0)
		return -1;
	if (parse_uint(v, min, max, out) != 0) {
		fail(c, "%s: expected an integer in [%lu, %lu]", key, min, max);
		return -1;
	}
	return 0;
}

/*
 * The connection limits (docs: edgeseal-spoa.conf(5)). Both timeouts are
 * whole seconds from 1: a zero would mean "never", which is the hole
 * these keys close.
 */
static int
agent_limit_key(struct parse_ctx *c, const char *k, const char *v)
{
	struct es_config *cfg = c->cfg;
	unsigned long n;

	if (strcmp(k, "hello_timeout") == 0) {
		if (set_uint(c, 50, k, v, 1, 3600, &n) != 0)
			return -1;
		cfg->hello_timeout = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "idle_timeout") == 0) {
		if (set_uint(c, 51, k, v, 1, 86400, &n) != 0)
			return -1;
		cfg->idle_timeout = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "max_connections") == 0) {
		if (set_uint(c, 52, k, v, 1, 1000000, &n) != 0)
			return -1;
		cfg->max_connections = (unsigned)n;
		return 0;
	}
	fail(c, "unknown key '%s' in [agent]", k);
	return -1;
}

/* listen and metrics: the form is checked here so -t catches it. */
static int
listen_address(struct parse_ctx *c, const char *v)
{
	char err[256];

	if (es_listener_check(v, err, sizeof(err)) != 0) {
		fail(c, "%s", err);
		return -1;
	}
	return 0;
}

static int
agent_key(struct parse_ctx *c, const char *k, const char *v)
{
	struct es_config *cfg = c->cfg;
	unsigned long n;

	if (strcmp(k, "listen") == 0) {
		if (cfg->listen_count == ES_MAX_LISTEN) {
			fail(c, "more than %d listen lines", ES_MAX_LISTEN);
			return -1;
		}
		if (listen_address(c, v) != 0)
			return -1;
		for (unsigned i = 0; i < cfg->listen_count; i++)
			if (strcmp(cfg->listen[i], v) == 0) {
				fail(c, "listen %s given twice", v);
				return -1;
			}
		cfg->listen[cfg->listen_count] = dup_or_fail(c, v);
		return cfg->listen[cfg->listen_count++] == NULL ? -1 : 0;
	}
	if (strcmp(k, "threads") == 0) {
		if (set_uint(c, 1, k, v, 1, 64, &n) != 0)
			return -1;
		cfg->threads = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "log_level") == 0) {
		static const char *const names[] = { "error", "warn", "info",
						     "debug" };

		if (once(c, 2, k) != 0)
			return -1;
		for (unsigned i = 0; i < 4; i++)
			if (strcmp(v, names[i]) == 0) {
				cfg->log_level = (enum es_log_level)i;
				return 0;
			}
		fail(c, "log_level: expected error, warn, info or debug");
		return -1;
	}
	if (strcmp(k, "log_format") == 0) {
		if (once(c, 3, k) != 0)
			return -1;
		if (strcmp(v, "logfmt") == 0 || strcmp(v, "json") == 0) {
			cfg->log_format = v[0] == 'j' ? ES_LOG_JSON :
				ES_LOG_LOGFMT;
			return 0;
		}
		fail(c, "log_format: expected logfmt or json");
		return -1;
	}
	if (strcmp(k, "metrics") == 0)
		return listen_address(c, v) != 0 ? -1 :
			set_str(c, 4, k, v, &cfg->metrics);
	if (strcmp(k, "user") == 0)
		return set_str(c, 5, k, v, &cfg->user);
	if (strcmp(k, "max_frame_size") == 0) {
		if (set_uint(c, 6, k, v, 256, 16777216, &n) != 0)
			return -1;
		cfg->max_frame_size = (uint32_t)n;
		return 0;
	}
	if (strstr(k, "_timeout") != NULL ||
	    strcmp(k, "max_connections") == 0)
		return agent_limit_key(c, k, v);
	fail(c, "unknown key '%s' in [agent]", k);
	return -1;
}

static int
issuer_file(struct parse_ctx *c, unsigned id, const char *k, const char *v,
	    struct es_path *out)
{
	if (set_str(c, id, k, v, &out->path) != 0)
		return -1;
	out->line = c->line;
	return 0;
}

static int
issuer_keyref(struct parse_ctx *c, const char *v, struct es_keyref *arr,
	      unsigned *count, const char *k)
{
	if (*count == ES_MAX_KEYS_PER_ISSUER) {
		fail(c, "more than %d %s lines", ES_MAX_KEYS_PER_ISSUER, k);
		return -1;
	}
	if (parse_keyref(c, v, &arr[*count]) != 0) {
		(*count)++;	/* so es_config_free releases what was set */
		return -1;
	}
	(*count)++;
	return 0;
}

/* The jwks_url companions (key-rotation.md): cache file and timings. */
static int
issuer_jwks_key(struct parse_ctx *c, const char *k, const char *v)
{
	struct es_issuer_conf *is = c->issuer;
	unsigned long n;

	if (strcmp(k, "jwks_cache_file") == 0)
		return set_str(c, 21, k, v, &is->jwks_cache_file);
	if (strcmp(k, "jwks_refresh_min") == 0) {
		if (set_uint(c, 22, k, v, 1, 86400, &n) != 0)
			return -1;
		is->jwks_refresh_min = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "jwks_refresh_max") == 0) {
		if (set_uint(c, 23, k, v, 1, 604800, &n) != 0)
			return -1;
		is->jwks_refresh_max = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "jwks_max_stale") == 0) {
		if (set_uint(c, 24, k, v, 0, 31536000, &n) != 0)
			return -1;
		is->jwks_max_stale = (unsigned)n;
		return 0;
	}
	fail(c, "unknown key '%s' in [issuer %s]", k, is->name);
	return -1;
}

static int
issuer_key(struct parse_ctx *c, const char *k, const char *v)
{
	struct es_issuer_conf *is = c->issuer;
	unsigned long n;

	if (strcmp(k, "issuer") == 0)
		return set_str(c, 10, k, v, &is->issuer);
	if (strcmp(k, "audiences") == 0)
		return once(c, 11, k) != 0 ? -1 :
			parse_list(c, v, &is->audiences);
	if (strcmp(k, "jwks_file") == 0)
		return issuer_file(c, 12, k, v, &is->jwks_file);
	if (strcmp(k, "jwks_url") == 0)
		return set_str(c, 13, k, v, &is->jwks_url);
	if (strcmp(k, "pem_key") == 0)
		return issuer_keyref(c, v, is->pem_keys, &is->pem_key_count,
				     k);
	if (strcmp(k, "hmac_key") == 0)
		return issuer_keyref(c, v, is->hmac_keys,
				     &is->hmac_key_count, k);
	if (strcmp(k, "algorithms") == 0)
		return set_nonempty_list(c, 14, k, v, &is->algorithms);
	if (strcmp(k, "token_types") == 0)
		return set_nonempty_list(c, 15, k, v, &is->token_types);
	if (strcmp(k, "forward_claims") == 0)
		return once(c, 16, k) != 0 ? -1 :
			parse_list(c, v, &is->forward_claims);
	if (strcmp(k, "subject_claim") == 0)
		return set_str(c, 17, k, v, &is->subject_claim);
	if (strcmp(k, "subject_prefix") == 0)
		return set_str_or_empty(c, 54, k, v, &is->subject_prefix);
	if (strcmp(k, "leeway") == 0) {
		if (set_uint(c, 18, k, v, 0, 3600, &n) != 0)
			return -1;
		is->leeway = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "max_lifetime") == 0) {
		if (set_uint(c, 19, k, v, 1, 31536000, &n) != 0)
			return -1;
		is->max_lifetime = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "max_token_size") == 0) {
		if (set_uint(c, 20, k, v, 64, 1048576, &n) != 0)
			return -1;
		is->max_token_size = n;
		return 0;
	}
	if (strncmp(k, "jwks_", 5) == 0)
		return issuer_jwks_key(c, k, v);
	fail(c, "unknown key '%s' in [issuer %s]", k, is->name);
	return -1;
}

static int
seal_key(struct parse_ctx *c, const char *k, const char *v)
{
	struct es_config *cfg = c->cfg;
	unsigned long n;

	if (strcmp(k, "keyset") == 0) {
		if (set_str(c, 30, k, v, &cfg->seal_keyset.path) != 0)
			return -1;
		cfg->seal_keyset.line = c->line;
		return 0;
	}
	if (strcmp(k, "signing_kid") == 0)
		return set_str(c, 31, k, v, &cfg->seal_signing_kid);
	if (strcmp(k, "ttl") == 0) {
		if (set_uint(c, 32, k, v, 1, 300, &n) != 0)
			return -1;
		cfg->seal_ttl = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "issuer") == 0)
		return set_str(c, 33, k, v, &cfg->seal_issuer);
	if (strcmp(k, "audience") == 0) {
		if (once(c, 34, k) != 0)
			return -1;
		free(cfg->seal_audience);
		cfg->seal_audience = NULL;
		if (*v == '\0')
			return 0;	/* "audience =" means none */
		cfg->seal_audience = dup_or_fail(c, v);
		return cfg->seal_audience == NULL ? -1 : 0;
	}
	fail(c, "unknown key '%s' in [seal]", k);
	return -1;
}

static int
cache_key(struct parse_ctx *c, const char *k, const char *v)
{
	unsigned long n;

	if (strcmp(k, "entries") == 0) {
		if (set_uint(c, 40, k, v, 0, 100000000, &n) != 0)
			return -1;
		c->cfg->cache_entries = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "seals") == 0) {
		if (set_uint(c, 53, k, v, 0, 100000000, &n) != 0)
			return -1;
		c->cfg->cache_seals = (unsigned)n;
		return 0;
	}
	fail(c, "unknown key '%s' in [cache]", k);
	return -1;
}

static int
handler(void *user, const char *section, const char *name,
	const char *value)
{
	struct parse_ctx *c = user;
	int rc = -1;

	if (c->failed)
		return 0;
	if (strcmp(section, "agent") == 0)
		rc = agent_key(c, name, value);
	else if (strcmp(section, "seal") == 0)
		rc = seal_key(c, name, value);
	else if (strcmp(section, "cache") == 0)
		rc = cache_key(c, name, value);
	else if (strncmp(section, "issuer ", 7) == 0 && c->issuer != NULL)
		rc = issuer_key(c, name, value);
	else
		fail(c, "key outside a known section");
	return rc == 0 ? 1 : 0;
}

/* --- section headers, seen by the reader -------------------------- */

static void
issuer_defaults(struct es_issuer_conf *is)
{
	is->leeway = 30;
	is->max_lifetime = 86400;
	is->max_token_size = 8192;
	is->jwks_refresh_min = 60;
	is->jwks_refresh_max = 3600;
	is->jwks_max_stale = 86400;
}

static void
new_issuer(struct parse_ctx *c, const char *name)
{
	struct es_config *cfg = c->cfg;
	struct es_issuer_conf *is;

	if (*name == '\0' || strchr(name, ' ') != NULL) {
		fail(c, "issuer section needs one name: [issuer NAME]");
		return;
	}
	for (unsigned i = 0; i < cfg->issuer_count; i++)
		if (strcmp(cfg->issuers[i].name, name) == 0) {
			fail(c, "issuer %s defined twice (line %d)", name,
			     cfg->issuers[i].line);
			return;
		}
	if (cfg->issuer_count == ES_MAX_ISSUERS) {
		fail(c, "more than %d issuers", ES_MAX_ISSUERS);
		return;
	}

	is = &cfg->issuers[cfg->issuer_count++];
	issuer_defaults(is);
	is->line = c->line;
	is->name = dup_or_fail(c, name);
	c->issuer = is;
}

/* line is the text between '[' and ']'. */
static void
section_header(struct parse_ctx *c, const char *line, size_t len)
{
	char name[256];

	/* Each section starts with its own set of keys seen. */
	memset(c->seen, 0, sizeof(c->seen));
	c->issuer = NULL;
	if (len >= sizeof(name)) {
		fail(c, "section name too long");
		return;
	}
	memcpy(name, line, len);
	name[len] = '\0';

	if (strcmp(name, "agent") == 0 || strcmp(name, "seal") == 0 ||
	    strcmp(name, "cache") == 0)
		return;
	if (strncmp(name, "issuer ", 7) == 0 || strcmp(name, "issuer") == 0) {
		new_issuer(c, name + (name[6] == ' ' ? 7 : 6));
		return;
	}
	fail(c, "unknown section [%s]", name);
}

static void
check_header(struct parse_ctx *c, const char *line, size_t len)
{
	const char *close;

	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len == 0 || *line != '[')
		return;
	close = memchr(line, ']', len);
	if (close == NULL)
		return;		/* inih reports it as a syntax error */
	section_header(c, line + 1, (size_t)(close - line - 1));
}

/* inih reader: one line per call, counted; overlong lines are errors. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	const char *p = c->text + c->off;
	const char *nl;
	size_t len, take;

	if (*p == '\0')
		return NULL;
	nl = strchr(p, '\n');
	len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
	c->off += len;
	c->line++;

	take = len;
	if (take > (size_t)num - 1) {
		fail(c, "line longer than %d characters", num - 3);
		take = (size_t)num - 1;
	}
	memcpy(str, p, take);
	str[take] = '\0';
	check_header(c, p, len);
	return str;
}

/* --- whole configuration ------------------------------------------ */

static void
set_defaults(struct es_config *cfg)
{
	cfg->threads = 2;
	cfg->log_level = ES_LOG_INFO;
	cfg->log_format = ES_LOG_LOGFMT;
	cfg->max_frame_size = 16380;
	cfg->hello_timeout = 5;
	cfg->idle_timeout = 300;
	cfg->max_connections = 1000;
	cfg->seal_ttl = 60;
	cfg->cache_entries = 100000;
	cfg->cache_seals = 4096;
}

/* Fill what is left unset and check what must be present. */
/*
 * A cache file holds one issuer's keys: two issuers naming the same one
 * would start from each other's keys when their IdP is down.
 */
static void
shared_cache_file(struct parse_ctx *c, unsigned i)
{
	const struct es_issuer_conf *is = &c->cfg->issuers[i];

	if (is->jwks_cache_file == NULL)
		return;
	for (unsigned j = 0; j < i; j++) {
		const char *other = c->cfg->issuers[j].jwks_cache_file;

		if (other != NULL && strcmp(other, is->jwks_cache_file) == 0)
			fail(c, "[issuer %s]: jwks_cache_file %s is also "
			     "[issuer %s]'s: each issuer needs its own",
			     is->name, is->jwks_cache_file,
			     c->cfg->issuers[j].name);
	}
}

/*
 * Two issuers can both vouch for a user named "alice", and services would
 * see one user. So at most one issuer may be without a prefix, unless
 * every issuer without one sets subject_prefix empty, which shares user
 * ids on purpose; the others set their own ("social:"). Non-empty
 * prefixes may not overlap ("s:" beside "s:x:" would let the first name
 * the second's users); validator.c also refuses an unprefixed issuer's
 * subject that starts with another's prefix.
 */
static void
subject_namespace(struct parse_ctx *c, unsigned i)
{
	const struct es_issuer_conf *is = &c->cfg->issuers[i];
	const char *p = is->subject_prefix;

	for (unsigned j = 0; j < i; j++) {
		const struct es_issuer_conf *o = &c->cfg->issuers[j];
		size_t n;

		/* Sharing is explicit: both set empty, not one left unset. */
		if ((p == NULL || p[0] == '\0') &&
		    (o->subject_prefix == NULL || o->subject_prefix[0] == '\0') &&
		    (p == NULL || o->subject_prefix == NULL)) {
			fail(c, "[issuer %s]: user ids would mix with [issuer "
			     "%s]'s: give one a subject_prefix (e.g. "
			     "\"%.32s:\"), or set subject_prefix empty on "
			     "both to share them on purpose", is->name,
			     o->name, is->name);
			return;
		}
		if (p == NULL || p[0] == '\0' || o->subject_prefix == NULL ||
		    o->subject_prefix[0] == '\0')
			continue;
		n = strlen(p) < strlen(o->subject_prefix) ?
		    strlen(p) : strlen(o->subject_prefix);
		if (strncmp(o->subject_prefix, p, n) == 0) {
			fail(c, "[issuer %s]: subject_prefix \"%s\" overlaps "
			     "[issuer %s]'s \"%s\"", is->name, p, o->name,
			     o->subject_prefix);
			return;
		}
	}
}

static int
finish(struct parse_ctx *c)
{
	struct es_config *cfg = c->cfg;

	if (cfg->listen_count == 0) {
		cfg->listen[0] = dup_or_fail(c, "127.0.0.1:12345");
		cfg->listen_count = 1;
	}
	for (unsigned i = 0; cfg->metrics != NULL && i < cfg->listen_count;
	     i++)
		if (cfg->listen[i] != NULL &&
		    strcmp(cfg->metrics, cfg->listen[i]) == 0)
			fail(c, "metrics %s is also a listen address",
			     cfg->metrics);
	if (cfg->seal_issuer == NULL)
		cfg->seal_issuer = dup_or_fail(c, "edgeseal");
	for (unsigned i = 0; i < cfg->issuer_count && !c->failed; i++) {
		struct es_issuer_conf *is = &cfg->issuers[i];

		c->line = is->line;
		if (is->issuer == NULL)
			fail(c, "[issuer %s]: issuer is required", is->name);
		if (is->subject_claim == NULL)
			is->subject_claim = dup_or_fail(c, "sub");
		if (is->algorithms.count == 0)
			parse_list(c, "RS256 ES256", &is->algorithms);
		if (is->token_types.count == 0)
			parse_list(c, "JWT at+jwt", &is->token_types);
		if (is->jwks_refresh_min > is->jwks_refresh_max)
			fail(c, "[issuer %s]: jwks_refresh_min is above "
			     "jwks_refresh_max", is->name);
		if (is->jwks_cache_file != NULL && is->jwks_url == NULL)
			fail(c, "[issuer %s]: jwks_cache_file needs jwks_url",
			     is->name);
		shared_cache_file(c, i);
		subject_namespace(c, i);
	}
	if (!c->failed && cfg->seal_keyset.path == NULL)
		fail(c, "[seal] keyset is required");
	if (!c->failed && cfg->issuer_count == 0)
		fail(c, "no [issuer NAME] section: every token would fail");
	return c->failed ? -1 : 0;
}

struct es_config *
es_config_parse_string(const char *text, const char *name, char *err,
		       size_t errlen)
{
	struct parse_ctx c = { 0 };
	struct es_config *cfg, *ret = NULL;
	int rc;

	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	set_defaults(cfg);
	c.text = text;
	c.name = name;
	c.cfg = cfg;
	c.err = err;
	c.errlen = errlen;

	/* Debian's inih exposes its options as globals: no continuation
	 * lines, so an indented key is never glued to the one above. */
	ini_allow_multiline = false;
	rc = ini_parse_stream(reader, &c, handler, &c);
	if (rc != 0 && !c.failed) {
		c.line = rc > 0 ? rc : c.line;
		fail(&c, rc > 0 ? "syntax error" : "cannot parse");
	}
	if (c.failed)
		goto out;

	cfg->file = strdup(name);
	if (cfg->file == NULL || finish(&c) != 0)
		goto out;
	ret = cfg;
	cfg = NULL;
out:
	if (ret == NULL && !c.failed)
		snprintf(err, errlen, "%s: out of memory", name);
	es_config_free(cfg);
	return ret;
}

const char *
es_file_untrusted(const struct stat *st, uid_t self, int secret)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (secret && (st->st_mode & 077) != 0)
		return "readable or writable by group or others";
	if ((st->st_mode & 022) != 0)
		return "writable by group or others";
	if (secret && st->st_uid != self)
		return "owned by another user";
	if (st->st_uid != 0 && st->st_uid != self)
		return "owned by neither root nor the agent's user";
	return NULL;
}

#define LINK_HOPS_MAX 40	/* as the kernel's ELOOP limit */

/* A folder on the way to a trusted file: root's or ours, and writable by
 * no one else unless sticky (/tmp). */
static const char *
folder_untrusted(const char *dir, uid_t self, char *buf, size_t len)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		snprintf(buf, len, "folder %s: %s", dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		snprintf(buf, len, "%s is not a folder", dir);
	else if (st.st_uid != 0 && st.st_uid != self)
		snprintf(buf, len, "folder %s belongs to another user", dir);
	else if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0)
		snprintf(buf, len, "folder %s is writable by group or others",
			 dir);
	else
		return NULL;
	return buf;
}

/* dst = a "/" b, or just b when it is absolute; -1 when too long. */
static int
join(char *dst, size_t cap, const char *a, const char *b)
{
	int n = b[0] == '/' ? snprintf(dst, cap, "%s", b)
	      : snprintf(dst, cap, "%s%s%s", a,
			 a[0] != '\0' && a[strlen(a) - 1] != '/' ? "/" : "",
			 b);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/*
 * Walk path as the kernel would, one name at a time: every folder passed
 * through is checked, and every symbolic link met (not only the last) must
 * be root's or ours, or its owner could point it elsewhere at any time.
 */
const char *
es_path_untrusted(const char *path, uid_t self, char *buf, size_t len)
{
	char done[PATH_MAX] = "/", todo[PATH_MAX], link[PATH_MAX];
	char name[PATH_MAX], next[PATH_MAX];
	unsigned hops = 0;
	struct stat st;

	if (path[0] != '/' && getcwd(link, sizeof(link)) == NULL)
		return "cannot name the current folder";
	if (join(todo, sizeof(todo), path[0] == '/' ? "" : link, path) != 0)
		return "path too long";
	if (folder_untrusted("/", self, buf, len) != NULL)
		return buf;

	while (todo[0] != '\0') {
		char *p = todo, *slash;
		ssize_t n;

		while (*p == '/')
			p++;
		slash = strchr(p, '/');
		if (slash != NULL) {
			*slash++ = '\0';
			while (*slash == '/')
				slash++;
		}
		snprintf(name, sizeof(name), "%s", p);
		memmove(todo, slash ? slash : "", strlen(slash ? slash : "") + 1);
		if (name[0] == '\0' || strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			char *last = strrchr(done, '/');

			last[last == done ? 1 : 0] = '\0';
			continue;
		}
		if (join(next, sizeof(next), done, name) != 0)
			return "path too long";
		if (lstat(next, &st) != 0) {
			snprintf(buf, len, "%s: %s", next, strerror(errno));
			return buf;
		}
		if (S_ISLNK(st.st_mode)) {
			if (st.st_uid != 0 && st.st_uid != self) {
				snprintf(buf, len, "symbolic link %s belongs to "
					 "another user", next);
				return buf;
			}
			n = readlink(next, link, sizeof(link) - 1);
			if (n < 0 || ++hops > LINK_HOPS_MAX)
				return "cannot follow its symbolic links";
			link[n] = '\0';
			if (link[0] == '/')
				strcpy(done, "/");
			if (join(name, sizeof(name), link, todo) != 0)
				return "path too long";
			strcpy(todo, name);
			continue;
		}
		/* More names to come: this one is a folder on the way. */
		strcpy(done, next);
		if (todo[0] != '\0' &&
		    folder_untrusted(done, self, buf, len) != NULL)
			return buf;
	}
	return NULL;
}

/*
 * Open the configuration for reading, refusing what anyone but root or us
 * could have written. O_NONBLOCK: a FIFO named by mistake must not hang
 * `-t` or a reload in open(); it is then refused as not a regular file.
 */
static int
open_trusted(const char *path, char *err, size_t errlen)
{
	struct stat st;
	const char *why;
	char buf[PATH_MAX + 64];
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s:0: %s", path, strerror(errno));
		return -1;
	}
	why = fstat(fd, &st) != 0 ? strerror(errno)
				  : es_file_untrusted(&st, geteuid(), 0);
	if (why == NULL)
		why = es_path_untrusted(path, geteuid(), buf, sizeof(buf));
	if (why != NULL) {
		snprintf(err, errlen, "%s:0: %s", path, why);
		close(fd);
		return -1;
	}
	return fd;
}

/* Read a whole file into a NUL-terminated buffer. */
static char *
read_file(const char *path, char *err, size_t errlen)
{
	int fd = open_trusted(path, err, errlen);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	char *buf = NULL, *ret = NULL;
	size_t n;

	if (f == NULL) {
		if (fd >= 0) {
			snprintf(err, errlen, "%s:0: %s", path,
				 strerror(errno));
			close(fd);
		}
		return NULL;
	}
	buf = malloc(CONFIG_MAX_BYTES + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "%s:0: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
	if (ferror(f) || n > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s:0: %s", path,
			 ferror(f) ? "read error" : "file larger than 1 MiB");
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		snprintf(err, errlen, "%s:0: NUL byte in file", path);
		goto out;
	}
	buf[n] = '\0';
	ret = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return ret;
}

/* Make *p relative to dir (dirlen bytes) unless it is absolute or NULL. */
static int
resolve_one(char **p, const char *prefix, const char *dir, size_t dirlen)
{
	size_t plen = strlen(prefix);
	const char *rel;
	char *abs;
	size_t len;

	if (*p == NULL || strncmp(*p, prefix, plen) != 0)
		return 0;
	rel = *p + plen;
	if (*rel == '/')
		return 0;
	len = plen + dirlen + 1 + strlen(rel) + 1;
	abs = malloc(len);
	if (abs == NULL)
		return -1;
	snprintf(abs, len, "%s%.*s/%s", prefix, (int)dirlen, dir, rel);
	free(*p);
	*p = abs;
	return 0;
}

static int
resolve_issuer(struct es_issuer_conf *is, const char *dir, size_t dirlen)
{
	int rc = resolve_one(&is->jwks_file.path, "", dir, dirlen);

	rc |= resolve_one(&is->jwks_cache_file, "", dir, dirlen);
	for (unsigned k = 0; k < is->pem_key_count; k++)
		rc |= resolve_one(&is->pem_keys[k].file.path, "", dir, dirlen);
	for (unsigned k = 0; k < is->hmac_key_count; k++)
		rc |= resolve_one(&is->hmac_keys[k].file.path, "", dir,
				  dirlen);
	return rc;
}

/*
 * Relative file names in the configuration are relative to the folder of
 * the configuration file, never to the working directory: daemon() moves
 * to /, and a reload must read the same files the start did.
 */
static int
resolve_paths(struct es_config *cfg, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen;
	int rc = 0;

	/* A bare file name: its folder is the working directory already. */
	if (slash == NULL)
		return 0;
	dirlen = (size_t)(slash - path);
	for (unsigned i = 0; i < cfg->listen_count; i++)
		rc |= resolve_one(&cfg->listen[i], "unix:", path, dirlen);
	for (unsigned i = 0; i < cfg->issuer_count; i++)
		rc |= resolve_issuer(&cfg->issuers[i], path, dirlen);
	rc |= resolve_one(&cfg->seal_keyset.path, "", path, dirlen);
	return rc;
}

int
es_config_warning(const struct es_config *cfg, unsigned i, char *buf,
		  size_t len)
{
	unsigned n = 0;

	for (unsigned k = 0; k < cfg->issuer_count; k++) {
		const struct es_issuer_conf *is = &cfg->issuers[k];

		if (is->audiences.count != 0 || n++ != i)
			continue;
		snprintf(buf, len, "[issuer %s]: no audiences: tokens %s "
			 "issued for any client are accepted", is->name,
			 is->issuer ? is->issuer : "");
		return 0;
	}
	return -1;
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
es_config_needs_restart(const struct es_config *prev,
			const struct es_config *next, const char **what)
{
	int same_listen = prev->listen_count == next->listen_count;

	for (unsigned i = 0; same_listen && i < next->listen_count; i++)
		same_listen = same_str(prev->listen[i], next->listen[i]);
	*what = !same_listen ? "listen"
		: prev->threads != next->threads ? "threads"
		: !same_str(prev->user, next->user) ? "user"
		: !same_str(prev->metrics, next->metrics) ? "metrics"
		: NULL;
	return *what != NULL;
}

struct es_config *
es_config_parse(const char *path, char *err, size_t errlen)
{
	char *text = read_file(path, err, errlen);
	struct es_config *cfg;

	if (text == NULL)
		return NULL;
	cfg = es_config_parse_string(text, path, err, errlen);
	free(text);
	if (cfg != NULL && resolve_paths(cfg, path) != 0) {
		snprintf(err, errlen, "%s:0: out of memory", path);
		es_config_free(cfg);
		cfg = NULL;
	}
	return cfg;
}

static void
free_list(struct es_strlist *l)
{
	for (unsigned i = 0; i < l->count; i++)
		free(l->items[i]);
}

static void
free_keyrefs(struct es_keyref *k, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(k[i].kid);
		free(k[i].alg);
		free(k[i].file.path);
	}
}

static void
free_issuer(struct es_issuer_conf *is)
{
	free(is->name);
	free(is->issuer);
	free_list(&is->audiences);
	free(is->jwks_file.path);
	free(is->jwks_url);
	free(is->jwks_cache_file);
	free_keyrefs(is->pem_keys, is->pem_key_count);
	free_keyrefs(is->hmac_keys, is->hmac_key_count);
	free_list(&is->algorithms);
	free_list(&is->token_types);
	free(is->subject_claim);
	free(is->subject_prefix);
	free_list(&is->forward_claims);
}

void
es_config_free(struct es_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->file);
	for (unsigned i = 0; i < cfg->listen_count; i++)
		free(cfg->listen[i]);
	free(cfg->metrics);
	free(cfg->user);
	for (unsigned i = 0; i < cfg->issuer_count; i++)
		free_issuer(&cfg->issuers[i]);
	free(cfg->seal_keyset.path);
	free(cfg->seal_signing_kid);
	free(cfg->seal_issuer);
	free(cfg->seal_audience);
	free(cfg);
}
