/*
 * text.c: the string rules of the seal format: UTF-8, subjects, and JSON
 * string quoting for the minting path (which builds its JSON by hand).
 */
#include <string.h>

#include "internal.h"

size_t
edgeseal__utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return s[0] != 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;

	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}

	/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int
edgeseal__utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, step;

	while (i < n) {
		step = edgeseal__utf8_seq_len(p + i, n - i);
		if (step == 0)
			return 0;
		i += step;
	}
	return 1;
}

/* The code point of the well-formed UTF-8 sequence of len bytes at s. */
static uint32_t
code_point(const unsigned char *s, size_t len)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = s[0] & lead_mask[len];

	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

/*
 * What a trim may take off the end of a string: Unicode White_Space
 * (Python's strip(), .NET's Trim()) and the invisible zero-width marks.
 */
static int
trimmable(uint32_t cp)
{
	return cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200d) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x2060 ||
	       cp == 0x3000 || cp == 0xfeff;
}

/*
 * The non-ASCII code points a subject may not hold anywhere. C1 controls
 * (NEL among them) and the line and paragraph separators break lines in
 * some parsers and in JavaScript; the bidirectional marks and overrides,
 * and the invisible format characters (soft hyphen, zero-width space,
 * word joiner and the invisible operators, BOM, tags), make a log line or
 * an admin page show "alice" for a different user id. The zero-width
 * (non-)joiners stay: Persian and Indic names need them.
 */
static int
never_in_subject(uint32_t cp)
{
	return cp <= 0x9f || cp == 0xad || cp == 0x61c || cp == 0x180e ||
	       cp == 0x200b ||
	       cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2064) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff ||
	       (cp >= 0xe0000 && cp <= 0xe007f);
}

int
edgeseal__subject_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t first, last;

	if (n == 0 || n > ES_SUB_MAX || !edgeseal__utf8_ok(s, n))
		return 0;

	/*
	 * Commas and control characters (C0, DEL and C1) would let a subject
	 * split or fold when a proxy joins repeated X-User-Id headers into
	 * one line, or a parser breaks lines at NEL.
	 */
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == ',')
			return 0;
		if (p[i] >= 0xc2 && /* a lead byte: the string is valid UTF-8 */
		    never_in_subject(code_point(p + i,
				edgeseal__utf8_seq_len(p + i, n - i))))
			return 0;
	}

	/*
	 * HTTP parsers strip spaces around a header value, so " admin" would
	 * reach a service as X-User-Id "admin" while its seal says " admin";
	 * a service that trims Unicode space would do the same with a
	 * no-break or ideographic space.
	 */
	first = edgeseal__utf8_seq_len(p, n);
	for (last = n - 1; last > 0 && (p[last] & 0xc0) == 0x80; last--)
		;
	return !trimmable(code_point(p, first)) &&
	       !trimmable(code_point(p + last, n - last));
}

int
edgeseal__kid_ok(const char *kid, size_t len)
{
	if (len == 0 || len > ES_KID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (kid[i] <= ' ' || kid[i] > '~' || kid[i] == '"' ||
		    kid[i] == '\\')
			return 0;
	return 1;
}

/* Write the JSON form of byte c into esc; returns its length (1..6). */
static size_t
escape_byte(unsigned char c, char esc[6])
{
	static const char hex[] = "0123456789abcdef";
	const char *two = NULL;

	switch (c) {
	case '"': two = "\\\""; break;
	case '\\': two = "\\\\"; break;
	case '\n': two = "\\n"; break;
	case '\r': two = "\\r"; break;
	case '\t': two = "\\t"; break;
	}
	if (two != NULL) {
		memcpy(esc, two, 2);
		return 2;
	}

	if (c < 0x20 || c == 0x7f) {
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		return 6;
	}
	esc[0] = (char)c;
	return 1;
}

int
edgeseal__json_quote(char *buf, size_t cap, size_t *pos, const char *s,
		     size_t n)
{
	size_t at = *pos, len;
	char esc[6];

	if (!edgeseal__utf8_ok(s, n) || at >= cap)
		return -1;

	buf[at++] = '"';
	for (size_t i = 0; i < n; i++) {
		len = escape_byte((unsigned char)s[i], esc);
		if (cap - at < len)
			return -1;
		memcpy(buf + at, esc, len);
		at += len;
	}
	if (cap - at < 1)
		return -1;
	buf[at++] = '"';
	*pos = at;
	return 0;
}
