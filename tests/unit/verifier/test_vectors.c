/*
 * test_vectors.c: every vector of tests/vectors/seal-vectors.json through
 * libedgeseal. The vectors are made by an independent Python generator.
 *
 * Usage: test_vectors PATH/seal-vectors.json
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "edgeseal.h"

static const char *vectors_path;

static struct edgeseal_verifier *
verifier_for(json_t *doc, json_t *vec)
{
	json_t *opts = json_object_get(vec, "options");
	const char *name = json_string_value(json_object_get(vec, "keyset"));
	json_t *jwks = json_object_get(json_object_get(doc, "keysets"), name);
	struct edgeseal_verifier_opts o = {
		.issuer = json_string_value(json_object_get(opts, "issuer")),
		.audience = json_string_value(json_object_get(opts,
							      "audience")),
		.leeway = (unsigned)json_integer_value(
			json_object_get(opts, "leeway")),
		.max_lifetime = (unsigned)json_integer_value(
			json_object_get(opts, "max_lifetime")),
	};
	struct edgeseal_keyset *ks;
	char *text = json_dumps(jwks, 0), err[256];

	assert_non_null(text);
	ks = edgeseal_keyset_parse(text, strlen(text), err, sizeof(err));
	free(text);
	if (ks == NULL)
		fail_msg("key set %s: %s", name, err);
	return edgeseal_verifier_new(&o, ks);
}

/* The first value of a header list and its count. */
static const char *
header(json_t *req, const char *name, unsigned *count)
{
	json_t *list = json_object_get(req, name);

	*count = (unsigned)json_array_size(list);
	return json_string_value(json_array_get(list, 0));
}

static enum edgeseal_reason
run_one(struct edgeseal_verifier *v, json_t *vec,
	struct edgeseal_identity **id)
{
	json_t *req = json_object_get(vec, "request");
	const char *seal = json_string_value(json_object_get(vec, "seal"));
	int64_t now = json_integer_value(json_object_get(vec, "now"));
	struct edgeseal_request r;

	if (req == NULL)
		return edgeseal_verify(v, seal, strlen(seal), now, id);
	r.user_id = header(req, "X-User-Id", &r.user_id_count);
	r.internal_call = header(req, "X-Internal-Call",
				 &r.internal_call_count);
	r.seal = header(req, "X-Edge-Seal", &r.seal_count);
	return edgeseal_verify_request(v, &r, now, id);
}

static void
check_identity(json_t *vec, const struct edgeseal_identity *id)
{
	const char *act = json_string_value(json_object_get(vec, "act"));

	assert_string_equal(edgeseal_identity_sub(id),
		json_string_value(json_object_get(vec, "sub")));
	assert_string_equal(edgeseal_identity_claims_json(id),
		json_string_value(json_object_get(vec, "claims_json")));
	if (act != NULL)
		assert_string_equal(edgeseal_identity_act(id), act);
	else
		assert_null(edgeseal_identity_act(id));
}

static void
test_all_vectors(void **state)
{
	json_error_t jerr;
	json_t *doc, *vec;
	size_t i, failed = 0;

	(void)state;
	doc = json_load_file(vectors_path, 0, &jerr);
	if (doc == NULL)
		fail_msg("%s: %s", vectors_path, jerr.text);
	assert_true(json_array_size(json_object_get(doc, "vectors")) >= 78);

	json_array_foreach(json_object_get(doc, "vectors"), i, vec) {
		struct edgeseal_verifier *v = verifier_for(doc, vec);
		struct edgeseal_identity *id = NULL;
		const char *want = json_string_value(json_object_get(vec,
								     "reason"));
		enum edgeseal_reason rc = run_one(v, vec, &id);

		if (strcmp(edgeseal_reason_str(rc), want) != 0) {
			print_error("vector \"%s\": got %s, want %s\n",
				json_string_value(json_object_get(vec, "name")),
				edgeseal_reason_str(rc), want);
			failed++;
		} else if (rc == EDGESEAL_OK) {
			check_identity(vec, id);
		}
		edgeseal_identity_free(id);
		edgeseal_verifier_free(v);
	}
	json_decref(doc);
	assert_int_equal(failed, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_vectors),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_vectors seal-vectors.json\n");
		return 2;
	}
	vectors_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
