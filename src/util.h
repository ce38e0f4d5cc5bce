/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * util: allocation that aborts on failure, and small helpers (files,
 * numbers, UTF-8, links). The growing byte buffer is buf.h.
 *
 * Out of memory is not recoverable in a daemon whose outbox is durable:
 * x*() print a message and abort(), so callers never test for NULL.
 *
 * The conventions every module follows for errors: a function
 * returns 0 or a negative errno; a predicate returns bool; a
 * constructor returns a pointer or NULL. When a failure has words for a
 * person, they come back through a last argument char **why (named err
 * in a few start-up functions): on failure a newly allocated sentence,
 * which the caller frees, that names what failed; on success it is left
 * untouched. No function hands back a borrowed or static string for
 * that.
 */
#ifndef FM_UTIL_H
#define FM_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define UTIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct buf;

/* Reads a whole file into b (appending). Refuses files over max bytes
 * with -EFBIG. Returns 0 or a negative errno. */
int util_read_file(const char *path, size_t max, struct buf *b);

/* Checked number parsing: the whole string must be a number in range. */
int util_parse_long(const char *s, long min, long max, long *out);

/* The value of the hexadecimal digit c, or -1. */
int util_hex_digit(char c);

/* Case-insensitive ASCII comparison helpers. */
bool util_strcaseprefix(const char *s, const char *prefix);

/* Appends s to b with each byte that does not start a valid UTF-8
 * sequence (overlong forms, surrogates and code points past U+10FFFF
 * included) replaced by U+FFFD: a bad byte in a record costs one
 * character, not the message. */
void util_utf8_repair(const char *s, struct buf *b);

/*
 * Whether url may be the target of a link in a message: it starts with
 * http://, https:// or mailto: (in any case) and has more after it.
 * Everything else (javascript:, data:, vbscript:, relative or
 * protocol-relative links, a scheme behind leading blanks or control
 * characters) is refused; so is NULL. The caller still escapes it.
 */
bool util_link_is_safe(const char *url);

#endif
