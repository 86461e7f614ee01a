/*
 * http_util.c: shared plumbing for the example services (see http_util.h).
 */
#include "http_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define EX_THREADS 4
#define EX_MAX_BODY (64 * 1024)
#define EX_TIMEOUT_MS 5000L

int
ex_parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long n;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || n > max)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

int
ex_parse_listen(const char *spec, struct sockaddr_in *out)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(spec, ':');
	unsigned int port;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (ex_parse_uint(colon + 1, 65535, &port) != 0 || port == 0)
		return -1;

	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &out->sin_addr) != 1)
		return -1;
	return 0;
}

int
ex_join_url(const char *base, const char *path, char *out, size_t outlen)
{
	size_t n = strlen(base);
	int written;

	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n > INT_MAX)
		return -1;
	written = snprintf(out, outlen, "%.*s%s", (int)n, base, path);
	if (written < 0 || (size_t)written >= outlen)
		return -1;
	return 0;
}

/* Count one more occurrence of a header, keeping the first value. */
static void
count_header(const char *value, const char **slot, unsigned *count)
{
	if (*count == 0)
		*slot = value;
	(*count)++;
}

static enum MHD_Result
collect_one(void *cls, enum MHD_ValueKind kind, const char *key,
	    const char *value)
{
	struct edgeseal_request *req = cls;

	/* MHD keeps every header line, so a repeated name shows up twice. */
	if (strcasecmp(key, EX_HDR_USER_ID) == 0)
		count_header(value, &req->user_id, &req->user_id_count);
	else if (strcasecmp(key, EX_HDR_INTERNAL) == 0)
		count_header(value, &req->internal_call,
			     &req->internal_call_count);
	else if (strcasecmp(key, EX_HDR_SEAL) == 0)
		count_header(value, &req->seal, &req->seal_count);
	return MHD_YES;
}

void
ex_collect_headers(struct MHD_Connection *conn, struct edgeseal_request *req)
{
	memset(req, 0, sizeof(*req));
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_one, req);
}

int
ex_request_complete(void **req_cls, size_t *upload_size)
{
	static int started;

	if (*req_cls == NULL) {
		*req_cls = &started;
		return 0;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return 0;
	}
	return 1;
}

/* Queue body with status, adding extra header name/value when not NULL. */
static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned int status, const char *json,
      const char *name, const char *value)
{
	struct MHD_Response *resp;
	enum MHD_Result ret = MHD_NO;

	resp = MHD_create_response_from_buffer(strlen(json), (void *)json,
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		goto out;
	if (MHD_add_response_header(resp, "Content-Type",
				    "application/json") != MHD_YES)
		goto out;
	if (name != NULL &&
	    MHD_add_response_header(resp, name, value) != MHD_YES)
		goto out;

	ret = MHD_queue_response(conn, status, resp);
out:
	if (resp != NULL)
		MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result
ex_reply_json(struct MHD_Connection *conn, unsigned int status,
	      const char *json)
{
	return reply(conn, status, json, NULL, NULL);
}

enum MHD_Result
ex_reply_refused(struct MHD_Connection *conn, enum edgeseal_reason reason)
{
	const char *code = edgeseal_reason_str(reason);
	char body[128];
	char challenge[160];

	snprintf(body, sizeof(body), "{\"error\":\"%s\"}", code);

	/* RFC 6750 section 3.1: no error code when no credentials came. */
	if (reason == EDGESEAL_MISSING_TOKEN)
		snprintf(challenge, sizeof(challenge), "Bearer");
	else
		snprintf(challenge, sizeof(challenge),
			 "Bearer error=\"invalid_token\", "
			 "error_description=\"%s\"", code);

	return reply(conn, MHD_HTTP_UNAUTHORIZED, body, "WWW-Authenticate",
		     challenge);
}

/* Copy s into out, replacing what could forge a log line or field. */
static void
log_safe(const char *s, char *out, size_t outlen)
{
	size_t i;

	/* Bytes past 0x7f are negative chars here, so they become '?' too. */
	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++) {
		int printable = s[i] > ' ' && s[i] < 0x7f && s[i] != '"';

		out[i] = printable ? s[i] : '?';
	}
	out[i] = '\0';
}

void
ex_log_request(const char *prog, const char *method, const char *url,
	       unsigned int status, enum edgeseal_reason reason,
	       const struct edgeseal_identity *id, const char *seal)
{
	char path[128];
	char meth[16];
	char fp[9] = "-";
	const char *act = NULL;

	log_safe(method, meth, sizeof(meth));
	log_safe(url, path, sizeof(path));
	if (seal != NULL)
		edgeseal_fingerprint(seal, strlen(seal), fp);
	if (id != NULL)
		act = edgeseal_identity_act(id);

	fprintf(stderr,
		"%s request method=%s path=%s status=%u reason=%s sub=%s "
		"act=%s kid=%s seal=%s\n",
		prog, meth, path, status,
		reason == EDGESEAL_OK ? "ok" : edgeseal_reason_str(reason),
		id != NULL ? edgeseal_identity_sub(id) : "-",
		act != NULL ? act : "-",
		id != NULL ? edgeseal_identity_kid(id) : "-", fp);
}

/* A response body growing in memory, capped at EX_MAX_BODY. */
struct body_buf {
	char *data;
	size_t len;
};

static size_t
body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body_buf *b = userdata;
	size_t n = size * nmemb;
	char *grown;

	/* Returning less than n makes curl fail the transfer. */
	if (n > EX_MAX_BODY - b->len)
		return 0;
	grown = realloc(b->data, b->len + n + 1);
	if (grown == NULL)
		return 0;

	memcpy(grown + b->len, ptr, n);
	b->data = grown;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Append "name: value" to *list unless value is NULL. 0 or -1. */
static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[8192];
	struct curl_slist *next;

	if (value == NULL)
		return 0;
	if ((size_t)snprintf(line, sizeof(line), "%s: %s", name, value) >=
	    sizeof(line))
		return -1;

	/* curl keeps its own copy; ours may hold a seal, so wipe it. */
	next = curl_slist_append(*list, line);
	explicit_bzero(line, sizeof(line));
	if (next == NULL)
		return -1;
	*list = next;
	return 0;
}

int
ex_get_sealed(const char *url, const struct edgeseal_request *hdrs,
	      long *status, char **body, char *err, size_t errlen)
{
	struct body_buf buf = { NULL, 0 };
	struct curl_slist *list = NULL;
	CURL *curl = NULL;
	CURLcode rc;
	int ret = -1;

	snprintf(err, errlen, "out of memory");
	if (add_header(&list, EX_HDR_USER_ID, hdrs->user_id) != 0 ||
	    add_header(&list, EX_HDR_INTERNAL, hdrs->internal_call) != 0 ||
	    add_header(&list, EX_HDR_SEAL, hdrs->seal) != 0)
		goto out;
	curl = curl_easy_init();
	if (curl == NULL)
		goto out;

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, EX_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	/* A seal is a credential: never follow it to another host. */
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);

	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);

	*body = buf.data != NULL ? buf.data : strdup("");
	if (*body == NULL)
		goto out;
	buf.data = NULL;
	ret = 0;
out:
	free(buf.data);
	curl_easy_cleanup(curl);
	curl_slist_free_all(list);
	return ret;
}

/* Load svc's key set into a new verifier. 0, or -1 after a message. */
static int
verifier_open(struct ex_service *svc)
{
	char err[256] = "";
	struct edgeseal_keyset *ks;

	ks = edgeseal_keyset_load(svc->keyset_path, err, sizeof(err));
	if (ks == NULL) {
		fprintf(stderr, "%s: %s\n", svc->name, err);
		return -1;
	}

	/* The verifier owns ks from here, even when it fails. */
	svc->verifier = edgeseal_verifier_new(&svc->opts, ks);
	if (svc->verifier == NULL) {
		fprintf(stderr, "%s: cannot create the verifier\n", svc->name);
		return -1;
	}
	return 0;
}

static struct MHD_Daemon *
http_start(const struct ex_service *svc, MHD_AccessHandlerCallback handler,
	   void *cls)
{
	const struct sockaddr_in *addr = &svc->addr;
	struct MHD_Daemon *d;

	d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
			     ntohs(addr->sin_port), NULL, NULL, handler, cls,
			     MHD_OPTION_SOCK_ADDR,
			     (const struct sockaddr *)addr,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)EX_THREADS,
			     MHD_OPTION_END);
	if (d == NULL)
		fprintf(stderr, "%s: cannot listen on %s:%u\n", svc->name,
			inet_ntoa(addr->sin_addr), ntohs(addr->sin_port));
	return d;
}

/* SIGHUP: load the key set again; a broken file keeps the old one. */
static void
reload(const struct ex_service *svc)
{
	char err[256] = "";

	if (edgeseal_verifier_reload(svc->verifier, svc->keyset_path, err,
				     sizeof(err)) != EDGESEAL_OK) {
		fprintf(stderr, "%s reload failed error=\"%s\"\n", svc->name,
			err);
		return;
	}
	fprintf(stderr, "%s reload ok keyset=%s\n", svc->name,
		svc->keyset_path);
}

/*
 * Take SIGHUP, SIGINT and SIGTERM with sigwait() rather than a handler, so
 * a reload runs as ordinary code. Returns on SIGINT or SIGTERM.
 */
static void
wait_signals(const struct ex_service *svc, const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0 || sig != SIGHUP)
			return;
		reload(svc);
	}
}

static void
usage(const char *name, const char *extra)
{
	fprintf(stderr, "usage: edgeseal-example-%s --listen IP:PORT "
		"--keyset FILE%s%s%s [--iss ISS] [--aud AUD] [--leeway S]\n",
		name, extra != NULL ? " --" : "", extra != NULL ? extra : "",
		extra != NULL ? " URL" : "");
}

int
ex_service_parse(struct ex_service *svc, int argc, char **argv,
		 const char *extra, const char **extra_value)
{
	/* With extra NULL, its entry ends the table like the last one. */
	const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "keyset", required_argument, NULL, 'k' },
		{ "iss", required_argument, NULL, 'i' },
		{ "aud", required_argument, NULL, 'a' },
		{ "leeway", required_argument, NULL, 'w' },
		{ extra, required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL;
	int c;

	svc->opts.leeway = 5;
	if (extra != NULL)
		*extra_value = NULL;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'k': svc->keyset_path = optarg; break;
		case 'i': svc->opts.issuer = optarg; break;
		case 'a': svc->opts.audience = optarg; break;
		case 'x': *extra_value = optarg; break;
		case 'w':
			if (ex_parse_uint(optarg, 300, &svc->opts.leeway) != 0)
				goto bad;
			break;
		default: goto bad;
		}
	}

	if (optind != argc || listen == NULL || svc->keyset_path == NULL ||
	    (extra != NULL && *extra_value == NULL))
		goto bad;
	if (ex_parse_listen(listen, &svc->addr) != 0)
		goto bad;
	return 0;
bad:
	usage(svc->name, extra);
	return -1;
}

int
ex_service_run(struct ex_service *svc, MHD_AccessHandlerCallback handler,
	       void *cls)
{
	struct MHD_Daemon *daemon = NULL;
	sigset_t sigs;
	int ret = 1;

	if (verifier_open(svc) != 0)
		goto out;

	/* Blocked before the server's threads exist, so they inherit it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	daemon = http_start(svc, handler, cls);
	if (daemon == NULL)
		goto out;
	fprintf(stderr, "%s listening port=%u\n", svc->name,
		(unsigned)ntohs(svc->addr.sin_port));

	wait_signals(svc, &sigs);
	fprintf(stderr, "%s stopping\n", svc->name);
	ret = 0;
out:
	if (daemon != NULL)
		MHD_stop_daemon(daemon);
	edgeseal_verifier_free(svc->verifier);
	svc->verifier = NULL;
	return ret;
}

void
ex_follow_keyset(const struct ex_service *svc)
{
	char err[512];

	if (edgeseal_verifier_reload_if_changed(svc->verifier,
						svc->keyset_path, err,
						sizeof(err)) < 0)
		fprintf(stderr, "%s reload failed error=\"%s\"\n", svc->name,
			err);
}
