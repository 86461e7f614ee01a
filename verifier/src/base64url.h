/*
 * base64url.h: strict base64url (RFC 4648 section 5, no padding), shared
 * inside edgeseal: the library uses it for seals and keys, the agent for
 * user tokens. Helpers shared between components carry the edgeseal__
 * prefix and are not part of the public API.
 */
#ifndef EDGESEAL_BASE64URL_H
#define EDGESEAL_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes (no padding, no NUL). */
size_t edgeseal__b64url_encoded_len(size_t n);

/* Largest number of bytes n base64url characters can decode to. */
size_t edgeseal__b64url_decoded_max(size_t n);

/*
 * Encode n bytes into out, which must hold encoded_len(n) + 1 bytes; out is
 * NUL-terminated. Returns the number of characters written (without NUL).
 */
size_t edgeseal__b64url_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decode exactly n characters. Only the canonical form is accepted: the
 * alphabet A-Z a-z 0-9 - _, no padding, no whitespace, n % 4 != 1, and the
 * unused low bits of the last character zero. Returns 0 and sets *out_len,
 * or -1 (nothing meaningful in out) when the input is not canonical or cap
 * is too small.
 */
int edgeseal__b64url_decode(const char *in, size_t n, uint8_t *out,
			    size_t cap, size_t *out_len);

#endif
