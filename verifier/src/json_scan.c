/*
 * json_scan.c: a strict, allocation-free reader for the one JSON shape a
 * seal's claims take: an object whose members are read once, in place.
 *
 * It accepts exactly RFC 8259 JSON: UTF-8 only, no control characters in
 * strings, no \u0000, no lone surrogates, no trailing text, and it refuses
 * a name that appears twice in any object at any depth. Integers must fit
 * in 64 bits. Where Jansson (used for the rest of the library) would say
 * the same, so does this; it exists because parsing the claims with
 * Jansson cost five times the HMAC (see bench/seal_bench.c).
 */
#include <string.h>

#include "internal.h"

#define SCAN_MAX_DEPTH 32
#define DBL_MAX_EXP10 308	/* a real above 1e308 would overflow a double */

struct scan {
	const unsigned char *p, *end;
	char *arena;		/* decoded names and strings */
	size_t used, cap;
	int depth;
	int dup;		/* set when a duplicate name was the failure */
};

static void
skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
				 *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
hex4(const unsigned char *p, const unsigned char *end, uint32_t *out)
{
	uint32_t v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* Encode code point cp as UTF-8 into out; returns its length. */
static size_t
put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The code point of the \u escape at p (just after "\u"); moves *p. */
static int
unicode_escape(const unsigned char **p, const unsigned char *end,
	       uint32_t *cp)
{
	uint32_t lo;

	if (hex4(*p, end, cp) != 0)
		return -1;
	*p += 4;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return -1;
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		/* A high surrogate must be followed by an escaped low one. */
		if (end - *p < 6 || (*p)[0] != '\\' || (*p)[1] != 'u' ||
		    hex4(*p + 2, end, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
			return -1;
		*p += 6;
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return *cp == 0 ? -1 : 0;
}

/* The character an escape letter stands for, or -1. */
static int
simple_escape(unsigned char c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	}
	return -1;
}

/*
 * The string at s->p (its opening quote), decoded into out when out is
 * not NULL (out has room for the raw length: decoding never grows).
 */
static int
scan_string(struct scan *s, char *out, size_t *out_len)
{
	const unsigned char *p = s->p + 1;
	size_t n = 0, step;
	uint32_t cp;
	char tmp[4];

	while (p < s->end && *p != '"') {
		if (*p < 0x20)
			return -1;
		if (*p != '\\') {
			step = edgeseal__utf8_seq_len(p, (size_t)(s->end - p));
			if (step == 0)
				return -1;
			if (out != NULL)
				memcpy(out + n, p, step);
			n += step;
			p += step;
			continue;
		}
		if (++p >= s->end)
			return -1;
		if (*p == 'u') {
			p++;
			if (unicode_escape(&p, s->end, &cp) != 0)
				return -1;
		} else if (simple_escape(*p) >= 0) {
			cp = (uint32_t)simple_escape(*p++);
		} else {
			return -1;
		}
		step = put_utf8(cp, out != NULL ? out + n : tmp);
		n += step;
	}
	if (p >= s->end)
		return -1;
	s->p = p + 1;
	*out_len = n;
	return 0;
}

static int
is_digit(const unsigned char *p, const unsigned char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* A number; integers (no fraction or exponent) must fit int64_t. */
static int
scan_number(struct scan *s, struct edgeseal__jvalue *v)
{
	const unsigned char *p = s->p;
	uint64_t mag = 0, limit = INT64_MAX;
	int neg = *p == '-', real = 0;
	long digits = 0, exp10 = 0, exp_sign = 1;

	p += neg;
	if (!is_digit(p, s->end))
		return -1;
	if (*p == '0' && is_digit(p + 1, s->end))
		return -1;
	for (; is_digit(p, s->end); p++, digits++) {
		if (mag > (limit + (uint64_t)neg - (uint64_t)(*p - '0')) / 10)
			real = 2;	/* too big for an integer */
		mag = mag * 10 + (uint64_t)(*p - '0');
	}

	if (p < s->end && *p == '.') {
		real = real ? real : 1;
		if (!is_digit(++p, s->end))
			return -1;
		while (is_digit(p, s->end))
			p++;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		real = real ? real : 1;
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			exp_sign = *p++ == '-' ? -1 : 1;
		if (!is_digit(p, s->end))
			return -1;
		for (; is_digit(p, s->end); p++)
			if (exp10 < 100000)
				exp10 = exp10 * 10 + (*p - '0');
	}

	/*
	 * An integer past int64_t, or a real past a double's range, is an
	 * error as Jansson makes it. The real check estimates the decimal
	 * exponent from the integer digits, so it is approximate right at
	 * the limit (1.8e308); no seal claim comes near it.
	 */
	if (real == 2 && p == s->p + neg + digits)
		return -1;
	if (real && digits - 1 + exp_sign * exp10 > DBL_MAX_EXP10 &&
	    mag != 0)
		return -1;

	if (v != NULL) {
		v->type = real ? ES_JREAL : ES_JINT;
		v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	}
	s->p = p;
	return 0;
}

static int
scan_literal(struct scan *s, const char *word, enum edgeseal__jtype type,
	     struct edgeseal__jvalue *v)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -1;
	s->p += n;
	if (v != NULL)
		v->type = type;
	return 0;
}

static int scan_value(struct scan *s, struct edgeseal__jvalue *v);

/* Length of the name stored at arena offset at (behind its prefix). */
static size_t
stored_len(const struct scan *s, size_t at)
{
	return (size_t)((unsigned char)s->arena[at] << 8 |
			(unsigned char)s->arena[at + 1]);
}

/*
 * Read a member name of a nested object into the arena, behind a two-byte
 * length, and refuse it when the object (names from start on) has it.
 */
static int
nested_name(struct scan *s, size_t start)
{
	char *name = s->arena + s->used + 2;
	size_t len;

	if (s->p >= s->end || *s->p != '"' || s->cap - s->used < 2 ||
	    scan_string(s, name, &len) != 0 || len > 0xffff)
		return -1;
	for (size_t at = start; at < s->used; at += 2 + stored_len(s, at))
		if (stored_len(s, at) == len &&
		    memcmp(s->arena + at + 2, name, len) == 0) {
			s->dup = 1;
			return -1;
		}
	s->arena[s->used] = (char)(len >> 8);
	s->arena[s->used + 1] = (char)len;
	s->used += 2 + len;
	return 0;
}

/*
 * A nested object. Its names stay in the arena only until it closes,
 * long enough to find duplicates.
 */
static int
scan_object(struct scan *s)
{
	size_t start = s->used;

	if (++s->depth > SCAN_MAX_DEPTH)
		return -1;
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		s->depth--;
		return 0;
	}

	for (;;) {
		skip_ws(s);
		if (nested_name(s, start) != 0)
			return -1;
		skip_ws(s);
		if (s->p >= s->end || *s->p++ != ':' || scan_value(s, NULL))
			return -1;
		skip_ws(s);
		if (s->p >= s->end || (*s->p != ',' && *s->p != '}'))
			return -1;
		if (*s->p++ == '}')
			break;
	}
	s->used = start;
	s->depth--;
	return 0;
}

static int
scan_array(struct scan *s)
{
	if (++s->depth > SCAN_MAX_DEPTH)
		return -1;
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		s->depth--;
		return 0;
	}
	for (;;) {
		if (scan_value(s, NULL) != 0)
			return -1;
		skip_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == ']')
			break;
		return -1;
	}
	s->p++;
	s->depth--;
	return 0;
}

/* One value; v (when not NULL) receives its type, text and contents. */
static int
scan_value(struct scan *s, struct edgeseal__jvalue *v)
{
	const unsigned char *start;
	size_t len;
	int rc;

	skip_ws(s);
	if (s->p >= s->end)
		return -1;
	start = s->p;
	switch (*s->p) {
	case '"':
		/* Only a member's own value is kept; nested strings are checked. */
		rc = scan_string(s, v != NULL ? s->arena + s->used : NULL,
				 &len);
		if (rc == 0 && v != NULL) {
			v->type = ES_JSTRING;
			v->str = s->arena + s->used;
			v->str_len = len;
			s->used += len;
		}
		break;
	case '{':
		rc = scan_object(s);
		if (v != NULL)
			v->type = ES_JOBJECT;
		break;
	case '[':
		rc = scan_array(s);
		if (v != NULL)
			v->type = ES_JARRAY;
		break;
	case 't':
		rc = scan_literal(s, "true", ES_JTRUE, v);
		break;
	case 'f':
		rc = scan_literal(s, "false", ES_JFALSE, v);
		break;
	case 'n':
		rc = scan_literal(s, "null", ES_JNULL, v);
		break;
	default:
		rc = *s->p == '-' || (*s->p >= '0' && *s->p <= '9')
			     ? scan_number(s, v) : -1;
	}
	if (rc == 0 && v != NULL) {
		v->raw = (const char *)start;
		v->raw_len = (size_t)(s->p - start);
	}
	return rc;
}

/* 1 when the name of member m was already seen among the first n. */
static int
seen(const struct edgeseal__jmember *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].name_len == m[n].name_len &&
		    memcmp(m[i].name, m[n].name, m[n].name_len) == 0)
			return 1;
	return 0;
}

/* One top-level member into m: name, then ':' and the value. */
static int
scan_member(struct scan *s, struct edgeseal__jmember *m)
{
	const unsigned char *name_start;

	skip_ws(s);
	if (s->p >= s->end || *s->p != '"')
		return -1;
	name_start = s->p;
	m->name = s->arena + s->used;
	if (scan_string(s, s->arena + s->used, &m->name_len) != 0)
		return -1;
	s->used += m->name_len;
	m->name_raw = (const char *)name_start;
	m->name_raw_len = (size_t)(s->p - name_start);

	skip_ws(s);
	if (s->p >= s->end || *s->p++ != ':')
		return -1;
	return scan_value(s, &m->value);
}

/* The members up to the closing brace; *n counts them. */
static enum edgeseal__jscan
scan_members(struct scan *s, struct edgeseal__jmember *members, size_t max,
	     size_t *n)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return ES_JSCAN_OK;
	}

	for (;;) {
		if (*n == max)
			return ES_JSCAN_FULL;
		if (scan_member(s, &members[*n]) != 0)
			return s->dup ? ES_JSCAN_DUP : ES_JSCAN_BAD;
		if (seen(members, *n))
			return ES_JSCAN_DUP;
		(*n)++;
		skip_ws(s);
		if (s->p >= s->end || (*s->p != ',' && *s->p != '}'))
			return ES_JSCAN_BAD;
		if (*s->p++ == '}')
			return ES_JSCAN_OK;
	}
}

enum edgeseal__jscan
edgeseal__json_scan_object(const char *text, size_t len,
			   struct edgeseal__jmember *members, size_t max,
			   char *arena, size_t arena_cap, size_t *count)
{
	struct scan s = {
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.arena = arena, .cap = arena_cap,
	};
	enum edgeseal__jscan rc;
	size_t n = 0;

	/* Decoding never grows a string, so len bytes of arena suffice. */
	if (arena_cap < len)
		return ES_JSCAN_BAD;
	skip_ws(&s);
	if (s.p >= s.end || *s.p++ != '{')
		return ES_JSCAN_BAD;
	rc = scan_members(&s, members, max, &n);
	if (rc != ES_JSCAN_OK)
		return rc;

	skip_ws(&s);
	if (s.p != s.end)
		return ES_JSCAN_BAD;
	*count = n;
	return ES_JSCAN_OK;
}

const struct edgeseal__jmember *
edgeseal__json_member(const struct edgeseal__jmember *members, size_t count,
		      const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < count; i++)
		if (members[i].name_len == len &&
		    memcmp(members[i].name, name, len) == 0)
			return &members[i];
	return NULL;
}
