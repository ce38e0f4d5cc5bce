/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * log: the line logger of log.h. Each event is formatted into one buffer
 * and written with one write(2), so lines from sender threads never
 * interleave mid-line.
 *
 * Logged values come from strangers (a bounce's recipient, a URL path,
 * a row the website wrote), so the event is escaped before it is
 * written: a terminal or a log viewer must never see their bytes raw.
 */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_level_current = LOG_LEVEL_INFO;
static bool log_journal;

static const char *const log_names[] = {
	[LOG_LEVEL_CRIT] = "crit",
	[LOG_LEVEL_ERR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(int level)
{
	log_level_current = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

int
log_level_parse(const char *name)
{
	int i;

	if (strcmp(name, "warn") == 0)
		return LOG_LEVEL_WARNING;
	if (strcmp(name, "err") == 0)
		return LOG_LEVEL_ERR;
	for (i = LOG_LEVEL_CRIT; i <= LOG_LEVEL_DEBUG; i++)
		if (strcmp(name, log_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < LOG_LEVEL_CRIT || level > LOG_LEVEL_DEBUG)
		return "unknown";
	return log_names[level];
}

/* The length of the UTF-8 sequence at s (at most n bytes) that a log may
 * show as it is, or 0 when it must be escaped: invalid UTF-8 (a stray or
 * missing continuation byte, an overlong form, a surrogate, beyond
 * U+10FFFF), a C0 or C1 control, DEL, or a character that reorders or
 * breaks the line (bidirectional overrides, U+2028, U+2029). */
static size_t
log_printable(const unsigned char *s, size_t n)
{
	unsigned cp, min;
	size_t len, i;

	if (s[0] < 0x20 || s[0] == 0x7f)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x200e || cp == 0x200f || cp == 0x061c)
		return 0;
	return len;
}

/* Copies in[0..n) to out from *pos (out has size bytes), with what
 * log_printable() refuses written as \n, \r, \t or \xHH. Stops
 * before a piece that would not fit. */
static void
log_escape(char *out, size_t size, size_t *pos, const char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, k;

	while (i < n) {
		k = log_printable(s + i, n - i);
		if (k > 0) {
			if (*pos + k > size)
				return;
			memcpy(out + *pos, s + i, k);
			*pos += k;
			i += k;
			continue;
		}
		if (*pos + 4 > size)
			return;
		out[(*pos)++] = '\\';
		switch (s[i]) {
		case '\n':
			out[(*pos)++] = 'n';
			break;
		case '\r':
			out[(*pos)++] = 'r';
			break;
		case '\t':
			out[(*pos)++] = 't';
			break;
		default:
			out[(*pos)++] = 'x';
			out[(*pos)++] = hex[s[i] >> 4];
			out[(*pos)++] = hex[s[i] & 0xf];
		}
		i++;
	}
}

void
log_write(int level, bool with_errno, const char *fmt, ...)
{
	/* The event as formatted, then the line as written: escaping can
	 * make the event up to four times longer. */
	char event[2048], line[4096];
	size_t n = 0, len = 0;
	int saved = errno, r;
	va_list ap;

	if (log_journal) {
		r = snprintf(line, sizeof(line), "<%d>", level);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		r = snprintf(line, sizeof(line),
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		    log_level_name(level));
	}
	if (r > 0)
		n = (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(event, sizeof(event), fmt, ap);
	va_end(ap);
	if (r > 0)
		len = (size_t)r < sizeof(event) ? (size_t)r : sizeof(event) - 1;
	if (with_errno) {
		r = snprintf(
		    event + len, sizeof(event) - len, ": %s", strerror(saved));
		if (r > 0)
			len += (size_t)r;
		if (len > sizeof(event) - 1)
			len = sizeof(event) - 1;
	}
	/* One event, one line: a value logged from a record can neither
	 * forge a second line nor reach the reader's terminal raw. */
	log_escape(line, sizeof(line) - 1, &n, event, len);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) == -1) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}
