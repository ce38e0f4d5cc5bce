/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_change: see job_change.h. One pass reads the records of the
 * courses to come and decides for each, then writes what it decided, in
 * one transaction, so that a record and the notice made from it are
 * written together or not at all. Whether a course changed is asked of
 * kind_course_differs() with the values made valid UTF-8, exactly as
 * compose.c asks it when the notice is sent: a difference the notice
 * would not show never makes one.
 */
#include "config.h"

#include "job_change.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "kind.h"
#include "log.h"
#include "send/calendar.h"
#include "util.h"

/* A notice that was cancelled at send time (the edit had been undone)
 * told nothing: the delegate still knows its previous details. */
static const char job_change_undo_sql[] =
    "UPDATE booking_told AS t SET"
    " starts_at = coalesce(json_extract(n.detail, '$.starts_at'),"
    "   t.starts_at),"
    " ends_at = json_extract(n.detail, '$.ends_at'),"
    " venue = json_extract(n.detail, '$.venue'),"
    " address = json_extract(n.detail, '$.address'),"
    " joining_url = json_extract(n.detail, '$.joining_url'),"
    " notice_id = NULL"
    " FROM messages n WHERE n.id = t.notice_id AND n.state = 'cancelled'"
    " AND json_valid(n.detail)";

static const char job_change_new_sql[] =
    "SELECT b.id, b.reference, c.starts_at, c.ends_at, c.venue, c.address,"
    " c.joining_url"
    " FROM bookings b JOIN courses c ON c.id = b.course_id"
    " WHERE b.status = 'confirmed' AND c.status = 'scheduled'"
    " AND unixepoch(c.starts_at) > unixepoch(?1)"
    " AND NOT EXISTS (SELECT 1 FROM booking_told t"
    "   WHERE t.booking_id = b.id)"
    " ORDER BY b.id";

static const char job_change_insert_sql[] =
    "INSERT INTO booking_told (booking_id, uid, starts_at, ends_at, venue,"
    " address, joining_url, told_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/* Every record of a course yet to start (as it is, or as the delegate
 * knows it), with its course and what the rules need. */
static const char job_change_scan_sql[] =
    "SELECT t.booking_id, t.sequence, t.changed_at,"
    " t.starts_at, t.ends_at, t.venue, t.address, t.joining_url,"
    " c.starts_at, c.ends_at, c.venue, c.address, c.joining_url,"
    " b.status = 'confirmed' AND c.status = 'scheduled'"
    "   AND unixepoch(t.starts_at) > unixepoch(?1)"
    "   AND unixepoch(c.starts_at) > unixepoch(?1),"
    /* The confirmation is on its way or sent: from then on the
     * record is what the delegate was told. */
    " EXISTS (SELECT 1 FROM messages m"
    "   WHERE m.dedupe_key = 'confirm:booking:' || t.booking_id"
    "   AND m.state IN ('sending', 'sent')),"
    /* A change notice still waits in the queue. */
    " EXISTS (SELECT 1 FROM messages n"
    "   WHERE n.id = t.notice_id AND n.state = 'queued'),"
    " d.email, c.id"
    " FROM booking_told t JOIN bookings b ON b.id = t.booking_id"
    " JOIN courses c ON c.id = b.course_id"
    " JOIN delegates d ON d.id = b.delegate_id"
    " WHERE unixepoch(t.starts_at) > unixepoch(?1)"
    " OR unixepoch(c.starts_at) > unixepoch(?1)"
    " ORDER BY t.booking_id";

/* The record follows the course (?1 booking, ?2 now). */
static const char job_change_follow_sql[] =
    "UPDATE booking_told AS t SET starts_at = c.starts_at,"
    " ends_at = c.ends_at, venue = c.venue, address = c.address,"
    " joining_url = c.joining_url, told_at = ?2, changed_at = NULL"
    " FROM bookings b JOIN courses c ON c.id = b.course_id"
    " WHERE b.id = t.booking_id AND t.booking_id = ?1";

/* ?1 booking, ?2 the window's start or NULL. */
static const char job_change_window_sql[] =
    "UPDATE booking_told SET changed_at = ?2 WHERE booking_id = ?1";

static const char job_change_notice_sql[] =
    "INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
    " course_id, detail, created_at, next_attempt_at, updated_at)"
    " VALUES ('change:booking:' || ?1 || ':' || ?2, 'course_changed', ?3,"
    " ?1, ?4, ?5, ?6, ?6, ?6)"
    " ON CONFLICT (dedupe_key) DO NOTHING";

/* The record takes what the notice will tell. */
static const char job_change_told_sql[] =
    "UPDATE booking_told AS t SET starts_at = c.starts_at,"
    " ends_at = c.ends_at, venue = c.venue, address = c.address,"
    " joining_url = c.joining_url, sequence = ?2, told_at = ?3,"
    " changed_at = NULL,"
    " notice_id = (SELECT id FROM messages"
    "   WHERE dedupe_key = 'change:booking:' || ?1 || ':' || ?2)"
    " FROM bookings b JOIN courses c ON c.id = b.course_id"
    " WHERE b.id = t.booking_id AND t.booking_id = ?1";

static const char job_change_next_sql[] =
    "SELECT min(unixepoch(changed_at)) + ?2 FROM booking_told"
    " WHERE changed_at IS NOT NULL"
    " AND unixepoch(changed_at) + ?2 > unixepoch(?1)";

enum job_change_act {
	JOB_CHANGE_NONE,
	JOB_CHANGE_FOLLOW, /* the record takes the course as it is */
	JOB_CHANGE_OPEN,   /* the window opens */
	JOB_CHANGE_CLOSE,  /* no notice to wait for any more */
	JOB_CHANGE_NOTIFY, /* the window closed: the notice */
};

/* What to do for one record, read by the scan and done after it. */
struct job_change_row {
	int64_t booking_id, course_id;
	long sequence;
	enum job_change_act act;
	char *email;
	char *previous; /* JOB_CHANGE_NOTIFY: what the delegate knew */
};

static int
job_change_step_error(sqlite3 *db, sqlite3_stmt *st, int rc)
{
	log_warnx("job change error=\"%s\"", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return db_errno(rc);
}

static const char *
job_change_col(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* Runs sql with ?1 now. */
static int
job_change_exec(sqlite3 *db, const char *sql, const char *now_s)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return job_change_step_error(db, st, rc);
	sqlite3_finalize(st);
	return 0;
}

/* Gives each confirmed booking of a course to come its record. */
static int
job_change_new_records(sqlite3 *db, const struct cfg *cfg, const char *now_s)
{
	const char *domain = strchr(cfg->from_addr, '@');
	sqlite3_stmt *st, *ins;
	int ret, rc;
	char *uid;

	ret = db_prepare(db, job_change_new_sql, &st);
	if (ret != 0)
		return ret;
	ret = db_prepare(db, job_change_insert_sql, &ins);
	if (ret != 0) {
		sqlite3_finalize(st);
		return ret;
	}
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uid = calendar_booking_uid(sqlite3_column_int64(st, 0),
		    job_change_col(st, 1), domain != NULL ? domain + 1 : NULL);
		sqlite3_bind_int64(ins, 1, sqlite3_column_int64(st, 0));
		sqlite3_bind_text(ins, 2, uid, -1, SQLITE_TRANSIENT);
		for (int i = 2; i <= 6; i++)
			sqlite3_bind_value(
			    ins, i + 1, sqlite3_column_value(st, i));
		sqlite3_bind_text(ins, 8, now_s, -1, SQLITE_STATIC);
		free(uid);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (rc != SQLITE_DONE)
			break;
	}
	if (rc != SQLITE_DONE) {
		sqlite3_finalize(ins);
		return job_change_step_error(db, st, rc);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(st);
	return 0;
}

/* Columns from..from+4 as a course, each made valid UTF-8 into s[] as
 * compose.c makes the values it compares. */
static void
job_change_course(
    sqlite3_stmt *st, int from, struct buf s[5], struct kind_course *c)
{
	const char **f[5] = { &c->starts_at, &c->ends_at, &c->venue,
		&c->address, &c->joining_url };

	for (int i = 0; i < 5; i++) {
		const char *v = job_change_col(st, from + i);

		buf_reset(&s[i]);
		*f[i] = NULL;
		if (v == NULL)
			continue;
		util_utf8_repair(v, &s[i]);
		buf_putc(&s[i], '\0');
		*f[i] = s[i].data;
	}
}

/* What the delegate knew, for the notice's detail (JSON). */
static char *
job_change_previous(const struct kind_course *c)
{
	json_t *j = json_object();
	const char *keys[] = { "starts_at", "ends_at", "venue", "address",
		"joining_url" };
	const char *vals[] = { c->starts_at, c->ends_at, c->venue, c->address,
		c->joining_url };
	char *s;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		json_object_set_new(j, keys[i],
		    vals[i] != NULL ? json_string(vals[i]) : json_null());
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* The rules for one record (see job_change.h). */
static enum job_change_act
job_change_decide(sqlite3_stmt *st, bool differs, time_t now, int64_t window)
{
	const char *opened = job_change_col(st, 2);
	bool eligible = sqlite3_column_int(st, 13) != 0;
	bool told = sqlite3_column_int(st, 14) != 0;
	bool pending = sqlite3_column_int(st, 15) != 0;
	time_t since;

	if (!told || pending)
		return differs || opened != NULL ? JOB_CHANGE_FOLLOW
						 : JOB_CHANGE_NONE;
	if (!eligible || !differs)
		return opened != NULL ? JOB_CHANGE_CLOSE : JOB_CHANGE_NONE;
	if (opened == NULL || clock_parse_iso(opened, &since) != 0)
		since = now;
	if (since + window <= now)
		return JOB_CHANGE_NOTIFY;
	return opened == NULL ? JOB_CHANGE_OPEN : JOB_CHANGE_NONE;
}

static void
job_change_rows_free(struct job_change_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].email);
		free(rows[i].previous);
	}
	free(rows);
}

/* Reads every record of a course to come and decides what to do. */
static int
job_change_scan(sqlite3 *db, const char *now_s, time_t now, int64_t window,
    struct job_change_row **out, size_t *n_out)
{
	struct job_change_row *rows = NULL, *r;
	struct kind_course was, is;
	struct buf bw[5], bi[5];
	size_t n = 0, cap = 0;
	enum job_change_act act;
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db, job_change_scan_sql, &st);
	if (ret != 0)
		return ret;
	for (int i = 0; i < 5; i++) {
		buf_init(&bw[i]);
		buf_init(&bi[i]);
	}
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		job_change_course(st, 3, bw, &was);
		job_change_course(st, 8, bi, &is);
		act = job_change_decide(st,
		    kind_course_differs(&was, &is, NULL, NULL, NULL), now,
		    window);
		if (act == JOB_CHANGE_NONE)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			rows = xreallocarray(rows, cap, sizeof(*rows));
		}
		r = &rows[n++];
		memset(r, 0, sizeof(*r));
		r->booking_id = sqlite3_column_int64(st, 0);
		r->sequence = (long)sqlite3_column_int64(st, 1);
		r->act = act;
		r->course_id = sqlite3_column_int64(st, 17);
		if (act == JOB_CHANGE_NOTIFY) {
			r->email = xstrdup(job_change_col(st, 16) != NULL
				? job_change_col(st, 16)
				: "");
			r->previous = job_change_previous(&was);
		}
	}
	for (int i = 0; i < 5; i++) {
		buf_fini(&bw[i]);
		buf_fini(&bi[i]);
	}
	if (rc != SQLITE_DONE) {
		job_change_rows_free(rows, n);
		return job_change_step_error(db, st, rc);
	}
	sqlite3_finalize(st);
	*out = rows;
	*n_out = n;
	return 0;
}

/* Enqueues the notice of one record and moves the record on. */
static int
job_change_notify(
    sqlite3 *db, const struct job_change_row *r, const char *now_s, int *made)
{
	sqlite3_stmt *st;
	long seq = r->sequence + 1;
	int ret, rc;

	ret = db_prepare(db, job_change_notice_sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, r->booking_id);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, r->email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->course_id);
	sqlite3_bind_text(st, 5, r->previous, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now_s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return job_change_step_error(db, st, rc);
	*made += sqlite3_changes(db);
	sqlite3_finalize(st);
	ret = db_prepare(db, job_change_told_sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, r->booking_id);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, now_s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return job_change_step_error(db, st, rc);
	sqlite3_finalize(st);
	log_info("job change booking id=%lld notice enqueued sequence=%ld",
	    (long long)r->booking_id, seq);
	return 0;
}

/* Does what the scan decided for r. */
static int
job_change_apply(sqlite3 *db, const struct job_change_row *r, const char *now_s,
    time_t now, int64_t window, int *made)
{
	char due[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int ret, rc;

	if (r->act == JOB_CHANGE_NOTIFY)
		return job_change_notify(db, r, now_s, made);
	ret = db_prepare(db,
	    r->act == JOB_CHANGE_FOLLOW ? job_change_follow_sql
					: job_change_window_sql,
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, r->booking_id);
	if (r->act != JOB_CHANGE_CLOSE)
		sqlite3_bind_text(st, 2, now_s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return job_change_step_error(db, st, rc);
	sqlite3_finalize(st);
	if (r->act == JOB_CHANGE_OPEN) {
		clock_format_iso(now + window, due);
		log_info("job change booking id=%lld course changed, notice "
			 "due=%s",
		    (long long)r->booking_id, due);
	} else if (r->act == JOB_CHANGE_CLOSE) {
		log_info("job change booking id=%lld course as the delegate "
			 "knows it again, or no notice can go: none",
		    (long long)r->booking_id);
	}
	return 0;
}

int
job_change_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	char now_s[CLOCK_ISO_LEN];
	struct job_change_row *rows = NULL;
	size_t n = 0;
	int ret, made = 0;

	clock_format_iso(now, now_s);
	ret = db_begin(db);
	if (ret == 0)
		ret = job_change_exec(db, job_change_undo_sql, now_s);
	if (ret == 0)
		ret = job_change_new_records(db, cfg, now_s);
	if (ret == 0)
		ret = job_change_scan(
		    db, now_s, now, cfg->change_window, &rows, &n);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = job_change_apply(
		    db, &rows[i], now_s, now, cfg->change_window, &made);
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0)
		db_rollback(db);
	job_change_rows_free(rows, n);
	if (ret != 0)
		return ret;
	if (made > 0)
		log_info("job change enqueued=%d", made);
	return made;
}

int
job_change_next_due(
    sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when)
{
	char now_s[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int ret;

	ret = db_prepare(db, job_change_next_sql, &st);
	if (ret != 0)
		return ret;
	clock_format_iso(now, now_s);
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cfg->change_window);
	ret = -ENOENT;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*when = (time_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}
