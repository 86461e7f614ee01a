/*
 * users.c: edgeseal-example-users, an internal service that believes no
 * header on its own.
 *
 * GET /users/me says who the caller is, but only once libedgeseal has
 * checked the seal sent next to X-User-Id and X-Internal-Call: a request
 * that merely claims a user, from inside the network or not, gets a 401.
 *
 *   edgeseal-example-users --listen 127.0.0.1:8081 --keyset FILE
 *                          [--iss edgeseal] [--aud A] [--leeway 5]
 *
 * SIGHUP reloads the key set (a bad file keeps the old keys); SIGINT or
 * SIGTERM stops the service.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "http_util.h"

#define PROG "edgeseal-example-users"

struct users {
	const char *keyset_path;
	struct edgeseal_verifier *verifier;
};

/* The verified identity as JSON, plus "service":"users"; NULL on error. */
static char *
identity_body(const struct edgeseal_identity *id)
{
	char *identity;
	json_t *obj = NULL;
	char *body = NULL;

	identity = edgeseal_identity_to_json(id);
	if (identity == NULL)
		goto out;
	obj = json_loads(identity, 0, NULL);
	if (obj == NULL)
		goto out;

	if (json_object_set_new(obj, "service", json_string("users")) != 0)
		goto out;
	body = json_dumps(obj, JSON_COMPACT);
out:
	json_decref(obj);
	free(identity);
	return body;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_size, void **req_cls)
{
	struct users *svc = cls;
	struct edgeseal_request req;
	struct edgeseal_identity *id = NULL;
	enum edgeseal_reason reason;
	unsigned int status;
	char *body = NULL;
	enum MHD_Result ret;

	if (!ex_request_complete(req_cls, upload_size))
		return MHD_YES;

	/* Every request proves its caller first, before any routing. */
	ex_collect_headers(conn, &req);
	reason = edgeseal_verify_request(svc->verifier, &req, time(NULL), &id);
	if (reason != EDGESEAL_OK) {
		status = MHD_HTTP_UNAUTHORIZED;
		ret = ex_reply_refused(conn, reason);
		goto out;
	}

	if (strcmp(method, "GET") != 0 || strcmp(url, "/users/me") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		ret = ex_reply_json(conn, status, "{\"error\":\"not_found\"}");
		goto out;
	}

	body = identity_body(id);
	status = body != NULL ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR;
	ret = ex_reply_json(conn, status,
			    body != NULL ? body
					 : "{\"error\":\"internal_error\"}");
out:
	ex_log_request("users", method, url, status, reason, id, req.seal);
	free(body);
	edgeseal_identity_free(id);
	return ret;
}

/* SIGHUP: load the key set again; a broken file keeps the old one. */
static void
reload(void *ctx)
{
	struct users *svc = ctx;
	char err[256] = "";

	if (edgeseal_verifier_reload(svc->verifier, svc->keyset_path, err,
				     sizeof(err)) != EDGESEAL_OK) {
		fprintf(stderr, "users reload failed error=\"%s\"\n", err);
		return;
	}
	fprintf(stderr, "users reload ok keyset=%s\n", svc->keyset_path);
}

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " --listen IP:PORT --keyset FILE "
			"[--iss ISS] [--aud AUD] [--leeway S]\n");
}

/* Fill svc, opts and addr from argv. Returns 0, or -1 after a message. */
static int
parse_args(int argc, char **argv, struct users *svc,
	   struct edgeseal_verifier_opts *opts, struct sockaddr_in *addr)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "keyset", required_argument, NULL, 'k' },
		{ "iss", required_argument, NULL, 'i' },
		{ "aud", required_argument, NULL, 'a' },
		{ "leeway", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'k': svc->keyset_path = optarg; break;
		case 'i': opts->issuer = optarg; break;
		case 'a': opts->audience = optarg; break;
		case 'w':
			if (ex_parse_uint(optarg, 3600, &opts->leeway) != 0)
				goto bad;
			break;
		default: goto bad;
		}
	}

	if (optind != argc || listen == NULL || svc->keyset_path == NULL)
		goto bad;
	if (ex_parse_listen(listen, addr) != 0) {
		fprintf(stderr, PROG ": bad --listen %s\n", listen);
		return -1;
	}
	return 0;
bad:
	usage();
	return -1;
}

int
main(int argc, char **argv)
{
	struct edgeseal_verifier_opts opts = { .leeway = 5 };
	struct users svc = { 0 };
	struct sockaddr_in addr;
	struct MHD_Daemon *daemon = NULL;
	sigset_t sigs;
	int ret = 2;

	if (parse_args(argc, argv, &svc, &opts, &addr) != 0)
		goto out;

	ret = 1;
	svc.verifier = ex_verifier_open(PROG, svc.keyset_path, &opts);
	if (svc.verifier == NULL)
		goto out;

	/* Before the server's threads exist, so they inherit the mask. */
	ex_block_signals(&sigs);
	daemon = ex_http_start(PROG, &addr, handle, &svc);
	if (daemon == NULL)
		goto out;
	fprintf(stderr, "users listening port=%u\n",
		(unsigned)ntohs(addr.sin_port));

	ex_wait_signals(&sigs, reload, &svc);
	fprintf(stderr, "users stopping\n");
	ret = 0;
out:
	if (daemon != NULL)
		MHD_stop_daemon(daemon);
	edgeseal_verifier_free(svc.verifier);
	return ret;
}
