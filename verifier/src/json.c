/*
 * json.c: the strict JSON object reading that seals need, on Jansson.
 *
 * Jansson already refuses what RFC 8259 refuses (bad UTF-8, control
 * characters in strings, lone surrogates, trailing text, integers past
 * 64 bits, reals past a double) and, with the flags below, duplicate
 * names at any depth and \u0000. What is ours is the nesting limit.
 */
#include <jansson.h>

#include "internal.h"

json_t *
edgeseal__json_object_load(const char *text, size_t len,
			   enum edgeseal_reason *why)
{
	json_error_t jerr;
	json_t *obj;

	/* No JSON_ALLOW_NUL: a NUL in a name or value is never valid here. */
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL &&
	    json_error_code(&jerr) == json_error_duplicate_key) {
		*why = EDGESEAL_DUPLICATE_MEMBER;
		return NULL;
	}
	if (!json_is_object(obj)) {
		*why = EDGESEAL_MALFORMED_TOKEN;
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* 1 when no container inside v nests more than room levels deep. */
static int
depth_ok(const json_t *v, int room)
{
	const char *name;
	json_t *item;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return 1;
	if (room == 0)
		return 0;

	/* Jansson's iteration macros take non-const values; we only read. */
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, name, item)
			if (!depth_ok(item, room - 1))
				return 0;
		return 1;
	}
	json_array_foreach(v, i, item)
		if (!depth_ok(item, room - 1))
			return 0;
	return 1;
}

int
edgeseal__json_depth_ok(const json_t *obj, int max)
{
	const char *name;
	json_t *item;

	/* The object itself does not count: only what is nested in it. */
	json_object_foreach((json_t *)obj, name, item)
		if (!depth_ok(item, max))
			return 0;
	return 1;
}
