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
 * A changed key set file is reloaded at the next request, and SIGHUP
 * reloads it too (a bad file keeps the old keys); SIGINT or SIGTERM stops
 * the service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "http_util.h"

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
	const struct ex_service *svc = cls;
	struct edgeseal_request req;
	struct edgeseal_identity *id = NULL;
	enum edgeseal_reason reason;
	unsigned int status;
	char *body = NULL;
	enum MHD_Result ret;

	if (!ex_request_complete(req_cls, upload_size))
		return MHD_YES;

	/* Every request proves its caller first, before any routing. */
	ex_follow_keyset(svc);
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
	ex_log_request(svc->name, method, url, status, reason, id, req.seal);
	free(body);
	edgeseal_identity_free(id);
	return ret;
}

int
main(int argc, char **argv)
{
	struct ex_service svc = { .name = "users" };

	if (ex_service_parse(&svc, argc, argv, NULL, NULL) != 0)
		return 2;
	return ex_service_run(&svc, handle, &svc);
}
