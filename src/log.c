/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * log: the line logger of log.h. Each event is formatted into one buffer
 * and written with one write(2), so lines from sender threads never
 * interleave mid-line.
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

void
log_write(int level, bool with_errno, const char *fmt, ...)
{
	char line[2048];
	size_t n = 0;
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
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (with_errno) {
		r = snprintf(
		    line + n, sizeof(line) - n, ": %s", strerror(saved));
		if (r > 0)
			n += (size_t)r;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	/* A value logged from a record must not forge a second log line. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) == -1) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}
