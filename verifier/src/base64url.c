/*
 * base64url.c: strict base64url without padding (RFC 4648 section 5).
 *
 * Only the canonical encoding is accepted, so one byte string has exactly
 * one text form and a MAC cannot be "re-spelled" (RFC 7515 section 2).
 */
#include "base64url.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of each character plus one; 0 for anything outside the alphabet. */
static const uint8_t values[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27,
	['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62,
	['-'] = 63, ['_'] = 64,
};

size_t
edgeseal__b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
edgeseal__b64url_decoded_max(size_t n)
{
	return n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0);
}

size_t
edgeseal__b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}

	/* One or two bytes left: two or three characters, no padding. */
	if (n - i == 1) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = alphabet[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';
	return o;
}

/* The 6-bit value of c, or -1 outside the alphabet. */
static inline int
sextet(unsigned char c)
{
	return (int)values[c] - 1;
}

int
edgeseal__b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap,
			size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, tail = n % 4;
	int a, b, c, d;
	uint32_t v;

	if (tail == 1 || edgeseal__b64url_decoded_max(n) > cap)
		return -1;

	for (; i + 4 <= n; i += 4) {
		a = sextet(p[i]);
		b = sextet(p[i + 1]);
		c = sextet(p[i + 2]);
		d = sextet(p[i + 3]);
		if ((a | b | c | d) < 0)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    (uint32_t)d;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}

	/*
	 * The last two or three characters carry 12 or 18 bits for one or
	 * two bytes; the bits left over must be zero to be canonical.
	 */
	if (tail != 0) {
		a = sextet(p[i]);
		b = sextet(p[i + 1]);
		c = tail == 3 ? sextet(p[i + 2]) : 0;
		if ((a | b | c) < 0)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		if ((tail == 2 && (v & 0xffff) != 0) ||
		    (tail == 3 && (v & 0xff) != 0))
			return -1;
		out[o++] = (uint8_t)(v >> 16);
		if (tail == 3)
			out[o++] = (uint8_t)(v >> 8);
	}
	*out_len = o;
	return 0;
}
