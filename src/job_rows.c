/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_rows: see job_rows.h. The checks read with SELECTs and write only
 * when a report appears or goes, so a pass over clean tables writes
 * nothing but the high-water marks; no transaction holds the website's
 * lock while they read.
 */
#include "config.h"

#include "job_rows.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "util.h"

struct job_rows {
	sqlite3 *db;
	char now[CLOCK_ISO_LEN];
	sqlite3_stmt *report;
	sqlite3_stmt *clear;
};

/* Whether s is a time familymail can use; *why says what is wrong. */
static bool
job_rows_time_ok(const char *s, bool need_time, const char **why)
{
	time_t t;

	if (s == NULL || clock_parse_iso(s, &t) != 0) {
		*why = "is not a time (expected ISO-8601 in UTC, such as "
		       "2026-12-07T09:30:00Z)";
		return false;
	}
	if (need_time && strpbrk(s, "Tt ") == NULL) {
		*why = "has no time of day";
		return false;
	}
	return true;
}

/* Reports row id of tbl with reason, logging it the first time. */
static int
job_rows_report(
    struct job_rows *r, const char *tbl, int64_t id, const char *reason)
{
	sqlite3_stmt *st = r->report;
	int rc;

	sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, r->now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	if (sqlite3_changes(r->db) > 0) {
		log_warnx("rows unusable table=%s id=%lld reason=\"%s\"; "
			  "skipped until it is fixed",
		    tbl, (long long)id, reason);
	}
	return 0;
}

static int
job_rows_clear(struct job_rows *r, const char *tbl, int64_t id)
{
	sqlite3_stmt *st = r->clear;
	int rc;

	sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	if (sqlite3_changes(r->db) > 0)
		log_info("rows fixed table=%s id=%lld", tbl, (long long)id);
	return 0;
}

/* Reports or clears one row, after a check that found reason (NULL:
 * fine). */
static int
job_rows_verdict(
    struct job_rows *r, const char *tbl, int64_t id, const char *reason)
{
	return reason != NULL ? job_rows_report(r, tbl, id, reason)
			      : job_rows_clear(r, tbl, id);
}

static const char *
job_rows_col(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static int
job_rows_courses(struct job_rows *r)
{
	char reason[200];
	const char *starts, *ends, *why;
	sqlite3_stmt *st;
	int ret, rc;
	time_t s, e;

	ret = db_prepare(
	    r->db, "SELECT id, starts_at, ends_at FROM courses", &st);
	if (ret != 0)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && ret == 0) {
		bool bad = true;

		starts = job_rows_col(st, 1);
		ends = job_rows_col(st, 2);
		if (!job_rows_time_ok(starts, true, &why))
			(void)snprintf(reason, sizeof(reason),
			    "starts_at '%.40s' %s",
			    starts != NULL ? starts : "", why);
		else if (ends != NULL && !job_rows_time_ok(ends, false, &why))
			(void)snprintf(reason, sizeof(reason),
			    "ends_at '%.40s' %s", ends, why);
		else if (ends != NULL && clock_parse_iso(starts, &s) == 0 &&
		    clock_parse_iso(ends, &e) == 0 && e < s)
			(void)snprintf(reason, sizeof(reason),
			    "ends_at '%.40s' is before starts_at", ends);
		else
			bad = false;
		ret = job_rows_verdict(r, "courses",
		    sqlite3_column_int64(st, 0), bad ? reason : NULL);
	}
	sqlite3_finalize(st);
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_errno(rc);
	return ret;
}

/* The rows of tbl added since the last pass, and those reported:
 * ?1 the high-water mark. */
static const char job_rows_bookings_sql[] =
    "SELECT b.id, b.created_at, b.course_id, c.id, b.delegate_id, d.id"
    " FROM bookings b"
    " LEFT JOIN courses c ON c.id = b.course_id"
    " LEFT JOIN delegates d ON d.id = b.delegate_id"
    " WHERE b.id > ?1 OR b.id IN (SELECT row_id FROM unusable_rows"
    "   WHERE tbl = 'bookings')"
    " ORDER BY b.id";

static const char job_rows_posts_sql[] =
    "SELECT id, published_at FROM posts"
    " WHERE id > ?1 OR id IN (SELECT row_id FROM unusable_rows"
    "   WHERE tbl = 'posts')"
    " ORDER BY id";

static int64_t
job_rows_checked(struct job_rows *r, const char *tbl)
{
	sqlite3_stmt *st;
	int64_t id = 0;

	if (db_prepare(r->db,
		"SELECT checked_id FROM row_checks WHERE tbl = ?1", &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static int
job_rows_set_checked(struct job_rows *r, const char *tbl, int64_t id)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(r->db,
	    "INSERT INTO row_checks (tbl, checked_id) VALUES (?1, ?2)"
	    " ON CONFLICT (tbl) DO UPDATE SET checked_id = excluded.checked_id"
	    " WHERE checked_id <> excluded.checked_id",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* One row of job_rows_bookings_sql: what is wrong with it, or NULL. */
static const char *
job_rows_booking_problem(sqlite3_stmt *st, char *reason, size_t size)
{
	const char *created = job_rows_col(st, 1), *why;

	if (sqlite3_column_type(st, 3) == SQLITE_NULL)
		(void)snprintf(reason, size, "course_id %lld names no course",
		    (long long)sqlite3_column_int64(st, 2));
	else if (sqlite3_column_type(st, 5) == SQLITE_NULL)
		(void)snprintf(reason, size,
		    "delegate_id %lld names no delegate",
		    (long long)sqlite3_column_int64(st, 4));
	else if (!job_rows_time_ok(created, false, &why))
		(void)snprintf(reason, size, "created_at '%.40s' %s",
		    created != NULL ? created : "", why);
	else
		return NULL;
	return reason;
}

/* Checks the new and the reported rows of bookings or posts. */
static int
job_rows_growing(struct job_rows *r, const char *tbl)
{
	bool bookings = strcmp(tbl, "bookings") == 0;
	int64_t checked = job_rows_checked(r, tbl), top = checked, id;
	const char *reason, *published, *why;
	char buf[200];
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(
	    r->db, bookings ? job_rows_bookings_sql : job_rows_posts_sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, checked);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && ret == 0) {
		id = sqlite3_column_int64(st, 0);
		if (bookings) {
			reason = job_rows_booking_problem(st, buf, sizeof(buf));
		} else {
			published = job_rows_col(st, 1);
			reason = NULL;
			if (!job_rows_time_ok(published, false, &why)) {
				(void)snprintf(buf, sizeof(buf),
				    "published_at '%.40s' %s",
				    published != NULL ? published : "", why);
				reason = buf;
			}
		}
		ret = job_rows_verdict(r, tbl, id, reason);
		if (id > top)
			top = id;
	}
	sqlite3_finalize(st);
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_errno(rc);
	if (ret == 0 && top > checked)
		ret = job_rows_set_checked(r, tbl, top);
	return ret;
}

int
job_rows_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	struct job_rows r = { .db = db };
	int ret;

	(void)cfg; /* the shape every job has (job.h) */
	clock_format_iso(now, r.now);
	ret = db_prepare(db,
	    "INSERT INTO unusable_rows (tbl, row_id, reason, first_seen)"
	    " VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (tbl, row_id) DO UPDATE SET reason = excluded.reason"
	    " WHERE reason <> excluded.reason",
	    &r.report);
	if (ret == 0)
		ret = db_prepare(db,
		    "DELETE FROM unusable_rows WHERE tbl = ?1 AND row_id = ?2",
		    &r.clear);
	if (ret == 0)
		ret = job_rows_courses(&r);
	if (ret == 0)
		ret = job_rows_growing(&r, "bookings");
	if (ret == 0)
		ret = job_rows_growing(&r, "posts");
	sqlite3_finalize(r.report);
	sqlite3_finalize(r.clear);
	if (ret != 0)
		log_warnx("job rows error=\"%s\"", sqlite3_errmsg(db));
	return ret;
}
