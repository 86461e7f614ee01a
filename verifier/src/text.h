/*
 * text.h: the text rules shared inside edgeseal. The library checks
 * subjects in seals it mints and verifies, the agent in user tokens, with
 * the same rule, so the user id in X-User-Id and in the seal always agree.
 * Helpers shared between components carry the edgeseal__ prefix and are
 * not part of the public API.
 */
#ifndef EDGESEAL_TEXT_H
#define EDGESEAL_TEXT_H

#include <stddef.h>

/* 1 when the n bytes are well-formed UTF-8 without NUL. */
int edgeseal__utf8_ok(const char *s, size_t n);

/*
 * 1 when s (n bytes) is an acceptable subject: 1..256 bytes of UTF-8 with
 * no control character (C0, DEL, C1), line separator, bidirectional
 * control, invisible format character (ZWNJ and ZWJ aside), comma or NUL,
 * and no space of any kind (Unicode White_Space,
 * zero-width marks, BOM) at either end: an HTTP parser or a trim would
 * strip it from the header but not from the seal.
 */
int edgeseal__subject_ok(const char *s, size_t n);

#endif
