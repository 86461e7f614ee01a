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
#include <signal.h>
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
 * Load the key set at path and wrap it in a verifier with opts. Returns the
 * verifier, or NULL after printing why on stderr.
 */
struct edgeseal_verifier *
ex_verifier_open(const char *prog, const char *path,
		 const struct edgeseal_verifier_opts *opts);

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
 * Start an HTTP server on addr calling handler(cls, ...) for each request,
 * from a small pool of threads. Returns NULL after printing why.
 */
struct MHD_Daemon *ex_http_start(const char *prog,
				 const struct sockaddr_in *addr,
				 MHD_AccessHandlerCallback handler, void *cls);

/*
 * Block SIGHUP, SIGINT and SIGTERM in the calling thread, and so in every
 * thread it starts afterwards; call before ex_http_start. The set is
 * written to set for ex_wait_signals.
 */
void ex_block_signals(sigset_t *set);

/*
 * Wait for the signals in set: call on_hup(ctx) for each SIGHUP, return on
 * SIGINT or SIGTERM. Signals are taken synchronously with sigwait(), so
 * on_hup runs as ordinary code, not inside a signal handler.
 */
void ex_wait_signals(const sigset_t *set, void (*on_hup)(void *ctx),
		     void *ctx);

#endif
