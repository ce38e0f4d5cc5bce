/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * buf: a growing byte buffer, the way every module builds text and
 * messages. Growth aborts on out of memory, as the x*() allocators of
 * util.h do.
 */
#ifndef FM_BUF_H
#define FM_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growing buffer, always NUL-terminated after buf_* calls so that
 * data can be used as a C string when it holds text. Embed it and
 * buf_init() it; buf_fini() frees the storage. buf_take() hands the
 * storage to the caller (who frees it) and leaves the buffer empty.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_fini(struct buf *b);
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
char *buf_take(struct buf *b);

#endif
