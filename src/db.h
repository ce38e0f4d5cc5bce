/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * db: opening the SQLite database the way familymail always uses it (WAL,
 * foreign keys, a busy timeout), transactions, and the one mapping of
 * SQLite result codes to negative errno values. It holds no queries of
 * its own: each module prepares its statements with bound parameters.
 */
#ifndef FM_DB_H
#define FM_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#define DB_BUSY_TIMEOUT_MS 5000
/* The daemon's loop connection waits no longer than this for the lock:
 * its writes (the sender's commits, the jobs) are retried when they
 * fail, and a longer wait would stall every page and /healthz while the
 * website holds a long transaction. */
#define DB_LOOP_BUSY_TIMEOUT_MS 20

/*
 * Opens (creating it when create is true, mode 0600) the database at
 * path and sets its pragmas. Returns 0 and *out, or a negative errno
 * with the reason logged.
 */
int db_open(const char *path, bool create, sqlite3 **out);
void db_close(sqlite3 *db);

/*
 * Copies the database at src into the new file dst (mode 0600; it must
 * not exist) with SQLite's backup API, reading src on a read-only
 * connection: nothing of src is written, though SQLite may leave
 * beside it the empty -wal and -shm files a reader of a WAL database
 * needs. 0 or a negative errno (logged).
 */
int db_copy(const char *src, const char *dst);

/* Maps a SQLite result code to 0 or a negative errno. */
int db_errno(int rc);
/* What a negative errno from db_errno() means for the database, in
 * words for a log line ("the database is locked by another writer"). */
const char *db_strerror(int err);

int db_exec(sqlite3 *db, const char *sql);
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/* A change of several statements made whole, inside the caller's
 * transaction or on its own: db_savepoint() starts it, db_release()
 * keeps it when ret is 0 and undoes it otherwise; it returns ret, or
 * the error of keeping it. */
int db_savepoint(sqlite3 *db);
int db_release(sqlite3 *db, int ret);

/* Prepares a statement; logs the SQL error on failure. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt);

/* Runs a query that yields one integer (e.g. a COUNT); -1 on error. */
int64_t db_scalar(sqlite3 *db, const char *sql);

/* The PRAGMA data_version of this connection: it changes when another
 * connection commits, so polling it is a cheap "did the website write?" */
int64_t db_data_version(sqlite3 *db);

#endif
