/*
 * orders.c: edgeseal-example-orders, an internal service that calls another.
 *
 * Any GET is verified exactly as users.c does it; then orders asks the
 * users service who the caller is, forwarding X-User-Id, X-Internal-Call
 * and X-Edge-Seal unchanged. The seal is short-lived, so forwarding works
 * while the user's request is being served, which is all it is for.
 *
 *   edgeseal-example-orders --listen 127.0.0.1:8082 --keyset FILE
 *                           --users http://127.0.0.1:8081
 *                           [--iss edgeseal] [--aud A] [--leeway 5]
 *
 * Answers 200 with {"service":"orders","identity":{...},"users":{...},
 * "users_status":200}, or 502 with the same shape when users refused or
 * could not be reached. SIGHUP reloads the key set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http_util.h"

struct orders {
	struct ex_service svc;
	char users_url[512];	/* the --users base URL + /users/me */
};

/*
 * Build the orders answer from the identity and what users said. A users
 * body that is not JSON (or absent) is reported as null. NULL on error.
 */
static char *
orders_body(const struct edgeseal_identity *id, long users_status,
	    const char *users_body)
{
	char *text;
	json_t *identity = NULL;
	json_t *users = NULL;
	json_t *obj = NULL;
	char *body = NULL;

	text = edgeseal_identity_to_json(id);
	if (text == NULL)
		goto out;
	identity = json_loads(text, 0, NULL);
	if (identity == NULL)
		goto out;

	if (users_body != NULL)
		users = json_loads(users_body, 0, NULL);
	if (users == NULL)
		users = json_null();

	obj = json_pack("{s:s, s:O, s:O, s:I}", "service", "orders",
			"identity", identity, "users", users,
			"users_status", (json_int_t)users_status);
	if (obj == NULL)
		goto out;
	body = json_dumps(obj, JSON_COMPACT);
out:
	json_decref(obj);
	json_decref(users);
	json_decref(identity);
	free(text);
	return body;
}

/* Call users with the caller's three headers; answer from its reply. */
static enum MHD_Result
answer(struct MHD_Connection *conn, const struct orders *o,
       const struct edgeseal_request *req,
       const struct edgeseal_identity *id, unsigned int *status)
{
	long users_status = 0;
	char *users_body = NULL;
	char *body;
	char err[CURL_ERROR_SIZE];
	enum MHD_Result ret;

	if (ex_get_sealed(o->users_url, req, &users_status, &users_body,
			  err, sizeof(err)) != 0)
		fprintf(stderr, "orders users-call failed error=\"%s\"\n", err);

	body = orders_body(id, users_status, users_body);
	if (body == NULL) {
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		ret = ex_reply_json(conn, *status,
				    "{\"error\":\"internal_error\"}");
		goto out;
	}

	*status = users_status == 200 ? MHD_HTTP_OK : MHD_HTTP_BAD_GATEWAY;
	ret = ex_reply_json(conn, *status, body);
out:
	free(body);
	free(users_body);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_size, void **req_cls)
{
	const struct orders *o = cls;
	struct edgeseal_request req;
	struct edgeseal_identity *id = NULL;
	enum edgeseal_reason reason;
	unsigned int status;
	enum MHD_Result ret;

	if (!ex_request_complete(req_cls, upload_size))
		return MHD_YES;

	ex_follow_keyset(&o->svc);
	ex_collect_headers(conn, &req);
	reason = edgeseal_verify_request(o->svc.verifier, &req, time(NULL),
					 &id);
	if (reason != EDGESEAL_OK) {
		status = MHD_HTTP_UNAUTHORIZED;
		ret = ex_reply_refused(conn, reason);
		goto out;
	}

	if (strcmp(method, "GET") != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		ret = ex_reply_json(conn, status,
				    "{\"error\":\"method_not_allowed\"}");
		goto out;
	}

	ret = answer(conn, o, &req, id, &status);
out:
	ex_log_request(o->svc.name, method, url, status, reason, id, req.seal);
	edgeseal_identity_free(id);
	return ret;
}

int
main(int argc, char **argv)
{
	struct orders o = { .svc = { .name = "orders" } };
	const char *users;
	int ret;

	if (ex_service_parse(&o.svc, argc, argv, "users", &users) != 0)
		return 2;
	if (ex_join_url(users, "/users/me", o.users_url,
			sizeof(o.users_url)) != 0) {
		fprintf(stderr, "orders: --users URL too long\n");
		return 2;
	}

	/* libcurl's global set-up is not thread-safe: once, before threads. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	ret = ex_service_run(&o.svc, handle, &o);
	curl_global_cleanup();
	return ret;
}
