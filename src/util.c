/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * util: the allocation wrappers and the growing buffer of util.h.
 */
#include "config.h"

#include "util.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"

static void
util_oom(size_t n)
{
	fprintf(stderr, "familymail: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		util_oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		util_oom(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);

	if (q == NULL)
		util_oom(n);
	return q;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		util_oom(SIZE_MAX);
	return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_take(&b);
}

int
util_read_file(const char *path, size_t max, struct buf *b)
{
	char chunk[8192];
	size_t start = b->len;
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	/* Room for the whole file and the read that finds its end: a file
	 * is then read in place, without copies. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uintmax_t)st.st_size <= max)
		buf_reserve(b, (size_t)st.st_size + 1);
	for (;;) {
		bool direct = b->cap > b->len + 1;

		if (direct)
			n = read(fd, b->data + b->len, b->cap - b->len - 1);
		else
			n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		if (b->len - start + (size_t)n > max) {
			ret = -EFBIG;
			break;
		}
		if (direct) {
			b->len += (size_t)n;
			b->data[b->len] = '\0';
		} else {
			buf_append(b, chunk, (size_t)n);
		}
	}
	close(fd);
	if (ret != 0) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
	}
	return ret;
}

int
util_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

bool
util_strcaseprefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool
util_link_is_safe(const char *url)
{
	static const char *const schemes[] = { "https://", "http://",
		"mailto:" };

	/* The scheme must come first: browsers skip leading blanks and
	 * controls, and would find "javascript:" behind them. What
	 * follows a good scheme cannot change it. */
	if (url == NULL)
		return false;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(schemes); i++)
		if (util_strcaseprefix(url, schemes[i]))
			return url[strlen(schemes[i])] != '\0';
	return false;
}

int
util_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t
util_utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
util_utf8_repair(const char *s, struct buf *b)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		n = util_utf8_len(p);
		if (n == 0) {
			buf_puts(b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		buf_append(b, p, n);
		p += n;
	}
}
