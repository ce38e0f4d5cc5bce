/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * testutil: what every Check program needs: temporary folders, the paths
 * of the source, build and shared-data trees, small file helpers, and a
 * main() body that runs one suite and prints Check's summary line.
 */
#ifndef FM_TESTUTIL_H
#define FM_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <check.h>

/* A fresh folder under $TMPDIR (or /tmp); the caller frees the string
 * and may remove the tree with tu_rmtree(). */
char *tu_mkdtemp(void);
void tu_rmtree(const char *path);

/* Absolute paths of the trees, from the test environment (Makefile.am),
 * with fallbacks for a test run by hand from the build folder. */
const char *tu_srcdir(void);
const char *tu_builddir(void);
const char *tu_shared_dir(void);

/* Writes s to dir/name (creating it); returns the path (caller frees). */
char *tu_write_file(const char *dir, const char *name, const char *s);
/* Reads a whole file; NULL if it cannot be read. Caller frees. */
char *tu_read_file(const char *path, size_t *len);
/* Counts the regular files in a folder; -1 if it cannot be opened. */
int tu_count_files(const char *dir);

/* A new, migrated database at dir/familymail.db; aborts on failure. */
struct sqlite3;
struct sqlite3 *tu_db_new(const char *dir);
/* Runs SQL (several statements allowed) and fails the test on error. */
void tu_sql(struct sqlite3 *db, const char *sql);
/* The first column of the first row of a query, as text ("" for none);
 * newly allocated. */
char *tu_sql_text(struct sqlite3 *db, const char *sql);
long long tu_sql_int(struct sqlite3 *db, const char *sql);
/* The same on the database file at path, opened for the one query (as
 * another process would see it). */
char *tu_db_text(const char *path, const char *sql);
long long tu_db_int(const char *path, const char *sql);

/* The name of the account the tests run as (the effective user), for
 * "[daemon] user": the daemon refuses to start as root without it, and
 * run as anyone else it is that user already. */
const char *tu_user(void);

/* A test's familymail.conf: the config the tests share, with what one
 * test changes. A NULL field takes the value shown; "" leaves its line
 * out. The text is, each section after a blank line:
 *
 *   [daemon]     database, templates, timezone, log_level, the lines
 *                daemon_extra holds, user
 *   [sender]     from, reply_to, bounce_domain
 *   [transport]  type = transport
 *   [maildir]    path = maildir, for the maildir transport only
 *   sections     as they are (further sections, a blank line between)
 */
struct tu_config {
	const char *database;      /* familymail.db */
	const char *templates;     /* the source tree's templates/ */
	const char *timezone;      /* Europe/London */
	const char *log_level;     /* debug */
	const char *daemon_extra;  /* none */
	const char *user;          /* tu_user() */
	const char *from;          /* Family Courses <courses@example.org> */
	const char *reply_to;      /* bookings@example.org */
	const char *bounce_domain; /* bounces.example.org */
	const char *transport;     /* maildir */
	const char *maildir;       /* Maildir */
	const char *sections;      /* none */
};

/* The text of c (NULL: the shared config as it is); newly allocated. */
char *tu_config_text(const struct tu_config *c);
/* Writes tu_config_text(c) to dir/name; returns the path (caller
 * frees). */
char *tu_write_config(
    const char *dir, const char *name, const struct tu_config *c);

/* Execs argv[0] (a path), in a child: when FM_VALGRIND is set and the
 * program is familymaild or familymail, under that command instead
 * (its words split on spaces, e.g. "valgrind --error-exitcode=99"), so
 * that `make check-valgrind` checks every run of them. Returns only
 * when the exec failed. */
void tu_execv(char *const argv[]);
/* ms scaled by CK_TIMEOUT_MULTIPLIER (the factor Check applies to test
 * timeouts; at least 1): every wait of a test for a program goes
 * through it, so the tests also pass with the programs under valgrind. */
int tu_timeout_ms(int ms);

/* Starts argv[0] (a path, through tu_execv) with stdout and stderr sent
 * to log_path (or inherited when NULL). Returns the pid; aborts on
 * failure. */
int tu_spawn(char *const argv[], const char *log_path);
/* Waits up to tu_timeout_ms(timeout_ms) for pid; returns its exit
 * status, 128+signal if it was killed by one, or -1 on timeout (then it
 * is killed). */
int tu_wait(int pid, int timeout_ms);
/* Runs argv to completion (timeout_ms) and returns tu_wait()'s value. */
int tu_run_cmd(char *const argv[], const char *log_path, int timeout_ms);
/* Runs the built `familymaild -c conf --once --now now` (its output to
 * log_path) and returns its exit status as tu_wait() does. */
int tu_daemon_once(
    const char *conf, const char *now, const char *log_path, int timeout_ms);
/* A port on 127.0.0.1 that was free a moment ago for both TCP and UDP,
 * for a server a test starts. */
int tu_free_port(void);
/* Sleeps ms milliseconds. */
void tu_sleep_ms(int ms);
/* Whether something accepts a TCP connection on port of 127.0.0.1. */
bool tu_port_open(int port);
/* Waits up to ms (tu_timeout_ms()) for the server started as *pid to
 * accept connections on port: true once it does; false if it ended
 * (*pid is then 0) or never listened. */
bool tu_wait_listening(int port, int *pid, int ms);

/* Whether one line of text holds every one of words (NULL-ended), in
 * their order. */
bool tu_has_line(const char *text, const char *const *words);
#define TU_HAS_LINE(text, ...)                                               \
	ck_assert_msg(                                                       \
	    tu_has_line((text), (const char *const[]){ __VA_ARGS__, NULL }), \
	    "no line with %s in:\n%s", #__VA_ARGS__, (text))

/* The first python3 (from $PYTHON3, /usr/bin/python3, then PATH) that
 * runs `python3 -c code` successfully, e.g. "import dkim": newly
 * allocated, or NULL when none does. */
char *tu_find_python(const char *code);

/* Runs the suite with CK_NORMAL output; returns the exit status. */
int tu_run(Suite *s);

#endif
