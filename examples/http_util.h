/*
 * http_util.h: the plumbing the example services and the job share, so
 * each program's own file shows only what edgeseal asks of a service:
 * collect the three headers, verify, answer, forward.
 *
 * Nothing here is part of libedgeseal; it is example code, prefixed ex_.
 */
#ifndef EX_HTTP_UTIL_H
#define EX_HTTP_UTIL_H

#include <netinet/in.h>
#include <stddef.h>

#include <microhttpd.h>

#include <edgeseal.h>

/* The header names a service reads and forwards (compared without case). */
#define EX_HDR_USER_ID "X-User-Id"
#define EX_HDR_INTERNAL "X-Internal-Call"
#define EX_HDR_SEAL "X-Edge-Seal"

/*
 * Parse "IPv4:PORT" (e.g. 127.0.0.1:8081) into out. Returns 0, or -1 when
 * the address or the port is not valid.
 */
int ex_parse_listen(const char *spec, struct sockaddr_in *out);

/* Parse a decimal number in [0, max] into out. Returns 0 or -1. */
int ex_parse_uint(const char *s, unsigned int max, unsigned int *out);

/*
 * Fill req from the request's headers: every occurrence of each of the
 * three names is counted, whatever its case, so a duplicate is seen and
 * refused. The values point into MHD's memory, valid for this request.
 */
void ex_collect_headers(struct MHD_Connection *conn,
			struct edgeseal_request *req);

/*
 * MHD calls a handler first when the headers are in, then for each piece
 * of body, then once more at the end. Returns 1 when the handler should
 * answer now (the request is complete, its body, if any, thrown away), 0
 * when it should just return MHD_YES. Answering on the first call would
 * make MHD close the connection after the response.
 */
int ex_request_complete(void **req_cls, size_t *upload_size);

/* Queue a response with a JSON body (copied) and the given status. */
enum MHD_Result ex_reply_json(struct MHD_Connection *conn,
			      unsigned int status, const char *json);

/*
 * Queue the 401 for a refused request: {"error":"<reason>"} and an RFC 6750
 * challenge naming the reason (a bare one when no seal was sent).
 */
enum MHD_Result ex_reply_refused(struct MHD_Connection *conn,
				 enum edgeseal_reason reason);

/*
 * One log line per request on stderr. The seal only appears as its
 * fingerprint; id may be NULL (refused request), seal may be NULL.
 */
void ex_log_request(const char *prog, const char *method, const char *url,
		    unsigned int status, enum edgeseal_reason reason,
		    const struct edgeseal_identity *id, const char *seal);

/*
 * Write base + path into out, dropping trailing '/' from base so that
 * "http://h:1/" and "http://h:1" both work. Returns 0, or -1 if too long.
 */
int ex_join_url(const char *base, const char *path, char *out,
		size_t outlen);

/*
 * GET url sending the three headers of hdrs (each once, values as given).
 * On success returns 0, sets *status and *body (NUL-terminated, the caller
 * frees it). On a transport failure returns -1 and says why in err.
 */
int ex_get_sealed(const char *url, const struct edgeseal_request *hdrs,
		  long *status, char **body, char *err, size_t errlen);

/*
 * What users and orders share: where they listen and the key set they
 * verify seals with.
 */
struct ex_service {
	const char *name;		/* "users", "orders": the log prefix */
	const char *keyset_path;
	struct sockaddr_in addr;
	struct edgeseal_verifier_opts opts;
	struct edgeseal_verifier *verifier;	/* set by ex_service_run */
};

/*
 * Parse --listen IP:PORT --keyset FILE [--iss I] [--aud A] [--leeway S]
 * into svc (leeway defaults to 5 s), and when extra is not NULL one more
 * required option --<extra> URL (the address of another service) whose
 * value is stored in *extra_value.
 * Returns 0, or -1 after printing the usage.
 */
int ex_service_parse(struct ex_service *svc, int argc, char **argv,
		     const char *extra, const char **extra_value);

/*
 * Load the key set and serve: handler(cls, ...) answers each request from
 * a small pool of threads, until SIGINT or SIGTERM. SIGHUP reloads the key
 * set; a file that does not load keeps the old keys. Returns the exit
 * status for main().
 */
int ex_service_run(struct ex_service *svc, MHD_AccessHandlerCallback handler,
		   void *cls);

/*
 * Call at the start of each request: reloads the key set when its file
 * changed (one stat(); a rotated key set needs no signal). A file that does
 * not load keeps the old keys and is logged.
 */
void ex_follow_keyset(const struct ex_service *svc);

#endif
