/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * db: see db.h.
 */
#include "config.h"

#include "db.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "log.h"

int
db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_IOERR:
		return -EIO;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EILSEQ;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EPROTO;
	}
}

const char *
db_strerror(int err)
{
	switch (err) {
	case -EBUSY:
		return "the database is locked by another writer";
	case -ENOMEM:
		return "out of memory";
	case -EACCES:
		return "the database is read-only or not ours to write";
	case -EIO:
		return "a disk input/output error";
	case -EILSEQ:
		return "the file is not a database, or is corrupt";
	case -ENOSPC:
		return "the disk is full";
	case -ENOENT:
		return "the database cannot be opened";
	case -EEXIST:
		return "a constraint failed";
	default:
		return "a database error";
	}
}

int
db_open(const char *path, bool create, sqlite3 **out)
{
	static const char *const pragmas =
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = ON;"
	    /* What is deleted (an erasure, retention) is overwritten, not
	     * left readable in free pages. */
	    "PRAGMA secure_delete = ON;"
	    /* Not mapped: every page of a mapped file read counts in the
	     * daemon's memory (99 MB while sending a digest of 100,000,
	     * against 32 MB without), and a file another connection grew
	     * is mapped again, at a TLB shootdown in every thread. Pages
	     * come from the kernel's cache with pread() instead, and
	     * sending got faster, not slower. */
	    "PRAGMA mmap_size = 0;";
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	sqlite3 *db = NULL;
	int rc, fd;

	*out = NULL;
	if (create) {
		/* Create it ourselves so that the mode is tight from the
		 * first byte; SQLite would honour the umask. */
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd == -1) {
			log_warn("db open path=%s", path);
			return -errno;
		}
		close(fd);
	}
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db open path=%s error=\"%s\"", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return db_errno(rc);
	}
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db, 1);
	rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db pragmas path=%s error=\"%s\"", path,
		    sqlite3_errmsg(db));
		sqlite3_close(db);
		return db_errno(rc);
	}
	*out = db;
	return 0;
}

int
db_copy(const char *src, const char *dst)
{
	sqlite3 *from = NULL, *to = NULL;
	sqlite3_backup *b;
	char *uri;
	int rc, fd;

	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("db copy path=%s", dst);
		return -errno;
	}
	close(fd);
	/* The URI form: mode=ro refuses every write, even a checkpoint. */
	uri = sqlite3_mprintf("file:%s?mode=ro", src);
	rc = uri != NULL ? sqlite3_open_v2(uri, &from,
			       SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL)
			 : SQLITE_NOMEM;
	sqlite3_free(uri);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(from, DB_BUSY_TIMEOUT_MS);
		rc = sqlite3_open_v2(dst, &to, SQLITE_OPEN_READWRITE, NULL);
	}
	if (rc == SQLITE_OK) {
		b = sqlite3_backup_init(to, "main", from, "main");
		if (b == NULL) {
			rc = sqlite3_errcode(to);
		} else {
			rc = sqlite3_backup_step(b, -1);
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
			(void)sqlite3_backup_finish(b);
		}
	}
	if (rc != SQLITE_OK)
		log_warnx("db copy from=%s error=\"%s\"", src,
		    to != NULL         ? sqlite3_errmsg(to)
			: from != NULL ? sqlite3_errmsg(from)
				       : sqlite3_errstr(rc));
	sqlite3_close(to);
	sqlite3_close(from);
	if (rc != SQLITE_OK)
		unlink(dst);
	return db_errno(rc);
}

void
db_close(sqlite3 *db)
{
	if (db != NULL)
		sqlite3_close_v2(db);
}

int
db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_warnx("db exec error=\"%s\"", msg != NULL ? msg : "?");
		sqlite3_free(msg);
	}
	return db_errno(rc);
}

int
db_begin(sqlite3 *db)
{
	/* IMMEDIATE: take the write lock now, so a busy website writer
	 * makes us wait at BEGIN (busy_timeout) rather than fail later. */
	return db_exec(db, "BEGIN IMMEDIATE");
}

int
db_commit(sqlite3 *db)
{
	return db_exec(db, "COMMIT");
}

void
db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int
db_savepoint(sqlite3 *db)
{
	return db_exec(db, "SAVEPOINT fm_change");
}

int
db_release(sqlite3 *db, int ret)
{
	int rel;

	if (ret != 0)
		sqlite3_exec(db, "ROLLBACK TO fm_change", NULL, NULL, NULL);
	rel = db_exec(db, "RELEASE fm_change");
	return ret != 0 ? ret : rel;
}

int
db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, stmt, NULL);

	if (rc != SQLITE_OK)
		log_warnx("db prepare error=\"%s\"", sqlite3_errmsg(db));
	return db_errno(rc);
}

int64_t
db_scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (db_prepare(db, sql, &st) != 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int64_t
db_data_version(sqlite3 *db)
{
	return db_scalar(db, "PRAGMA data_version");
}
