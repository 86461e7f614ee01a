/*
 * config.h: the agent's configuration as parsed from its INI file.
 *
 * es_config_parse() only reads and checks syntax and values; it opens no
 * key file. Loading keys is es_validator_new()'s job (validator.h), so a
 * configuration is plain data that can be built, checked and thrown away.
 * Every directive that names a file keeps the line it came from so later
 * errors can still say "file:line: message".
 */
#ifndef ES_CONFIG_H
#define ES_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define ES_MAX_LISTEN 16
#define ES_MAX_ISSUERS 32
#define ES_MAX_KEYS_PER_ISSUER 32
#define ES_MAX_LIST 16

enum es_log_level { ES_LOG_ERROR, ES_LOG_WARN, ES_LOG_INFO, ES_LOG_DEBUG };
enum es_log_format { ES_LOG_LOGFMT, ES_LOG_JSON };

/* A string list such as "audiences = api web". */
struct es_strlist {
	char *items[ES_MAX_LIST];
	unsigned count;
};

/* A file named by the configuration, with the line that named it. */
struct es_path {
	char *path;
	int line;
};

/* pem_key = KID ALG FILE and hmac_key = KID ALG FILE */
struct es_keyref {
	char *kid;
	char *alg;
	struct es_path file;
};

struct es_issuer_conf {
	char *name;		/* section name: [issuer NAME] */
	int line;		/* line of the section header */
	char *issuer;		/* exact iss value, required */
	struct es_strlist audiences;	/* empty: aud not checked */
	struct es_path jwks_file;	/* path NULL when unset */
	char *jwks_url;			/* NULL when unset */
	char *jwks_cache_file;		/* last-known-good copy; NULL: none */
	unsigned jwks_refresh_min;	/* seconds, default 60 */
	unsigned jwks_refresh_max;	/* seconds, default 3600 */
	unsigned jwks_max_stale;	/* seconds keys outlive a failing
					   jwks_url, default 86400 */
	struct es_keyref pem_keys[ES_MAX_KEYS_PER_ISSUER];
	unsigned pem_key_count;
	struct es_keyref hmac_keys[ES_MAX_KEYS_PER_ISSUER];
	unsigned hmac_key_count;
	struct es_strlist algorithms;	/* default: RS256 ES256 */
	struct es_strlist token_types;	/* typ allowed; default: JWT at+jwt
					   (an absent typ is always allowed) */
	unsigned leeway;		/* default 30 */
	unsigned max_lifetime;		/* default 86400 */
	size_t max_token_size;		/* default 8192 */
	char *subject_claim;		/* default "sub" */
	char *subject_prefix;		/* NULL: unset; "" set empty */
	struct es_strlist forward_claims;
};

struct es_config {
	char *file;		/* path of the configuration file */

	/* [agent] */
	char *listen[ES_MAX_LISTEN];	/* "host:port", "[v6]:port", "unix:path" */
	unsigned listen_count;
	unsigned threads;		/* default 2 */
	enum es_log_level log_level;	/* default info */
	enum es_log_format log_format;	/* default logfmt */
	char *metrics;			/* NULL when unset */
	char *user;			/* NULL when unset */
	uint32_t max_frame_size;	/* default 16380 */
	unsigned hello_timeout;		/* seconds to HELLO, default 5 */
	unsigned idle_timeout;		/* seconds without traffic, default 300 */
	unsigned max_connections;	/* all workers together, default 1000 */

	/* [issuer NAME] ... */
	struct es_issuer_conf issuers[ES_MAX_ISSUERS];
	unsigned issuer_count;

	/* [seal] */
	struct es_path seal_keyset;	/* required */
	char *seal_signing_kid;		/* NULL: the set's only key */
	unsigned seal_ttl;		/* default 60 */
	char *seal_issuer;		/* default "edgeseal" */
	char *seal_audience;		/* NULL when unset or empty */

	/* [cache] */
	unsigned cache_entries;		/* default 100000; 0 disables */
	unsigned cache_seals;		/* seals kept for reuse, default 4096 */
};

/*
 * Parse the file at path. Returns a new configuration, or NULL with
 * "file:line: message" in err.
 */
struct es_config *es_config_parse(const char *path, char *err, size_t errlen);

/* Parse from memory; name is used in messages as the file name. */
struct es_config *es_config_parse_string(const char *text, const char *name,
					 char *err, size_t errlen);

void es_config_free(struct es_config *cfg);

/*
 * The i-th thing in a valid configuration that is allowed but probably
 * not meant (an issuer without audiences), as one line in buf; 0 when
 * there is one, -1 past the last. Pure: -t prints them, the agent logs
 * them at start and on reload.
 */
int es_config_warning(const struct es_config *cfg, unsigned i, char *buf,
		      size_t len);

/*
 * 1 when next changes a setting that only a restart applies (listen,
 * threads, user, metrics), naming the first in *what.
 */
int es_config_needs_restart(const struct es_config *prev,
			    const struct es_config *next, const char **what);

/*
 * May a file described by st be trusted as configuration or key material
 * by a process running as self? Returns NULL when it may, or why not: not
 * a regular file, writable by group or others, owned by neither root nor
 * self; with secret also readable by group or others, or not owned by
 * self. Pure: the caller fstat()s the descriptor it will read.
 */
const char *es_file_untrusted(const struct stat *st, uid_t self, int secret);

/*
 * May the path to a trusted file be trusted? Walked as the kernel would:
 * every symbolic link met must belong to root or self, and every folder
 * passed through must belong to root or self and be writable by no one
 * else unless sticky (/tmp); otherwise another user could swap the file
 * or point a link elsewhere. Returns NULL, or why not (maybe in buf, of
 * len bytes).
 */
const char *es_path_untrusted(const char *path, uid_t self, char *buf,
			      size_t len);

#endif
