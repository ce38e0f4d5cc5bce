/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * log: one event per line on stderr, subsystem first, then key=value.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with a syslog
 * priority prefix ("<6>") that journald reads; otherwise lines carry a
 * UTC timestamp and the level. log_warn() appends strerror(errno),
 * log_warnx() does not. The level is tested before the arguments are
 * formatted, so a debug line costs nothing when debug is off.
 *
 * The event is escaped as it is written: control characters (C0, DEL,
 * C1), invalid UTF-8 and characters that reorder or break a line
 * (bidirectional controls, U+2028, U+2029) appear as \n, \r, \t or
 * \xHH (one per byte), so a value from a stranger never reaches a
 * terminal raw. Valid UTF-8 text is written as it is; a backslash is
 * not doubled.
 */
#ifndef FM_LOG_H
#define FM_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_CRIT = 2,
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

extern int log_level_current;

void log_init(int level);
/* Parses "debug", "info", "notice", "warning", "error"; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

void log_write(int level, bool with_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_at(lvl, errno_, ...)                                 \
	do {                                                     \
		if ((lvl) <= log_level_current)                  \
			log_write((lvl), (errno_), __VA_ARGS__); \
	} while (0)

#define log_debug(...)  log_at(LOG_LEVEL_DEBUG, false, __VA_ARGS__)
#define log_info(...)   log_at(LOG_LEVEL_INFO, false, __VA_ARGS__)
#define log_notice(...) log_at(LOG_LEVEL_NOTICE, false, __VA_ARGS__)
#define log_warnx(...)  log_at(LOG_LEVEL_WARNING, false, __VA_ARGS__)
#define log_warn(...)   log_at(LOG_LEVEL_WARNING, true, __VA_ARGS__)
#define log_errx(...)   log_at(LOG_LEVEL_ERR, false, __VA_ARGS__)
#define log_crit(...)   log_at(LOG_LEVEL_CRIT, false, __VA_ARGS__)

#endif
