/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_change: see job_change.h. Each rule is one statement over the
 * records, in one transaction, so that a record and the notice made
 * from it are written together or not at all. Times compare as whole
 * seconds (the website may write them in other shapes) and texts once
 * trimmed, as compose.c compares them when the notice is sent.
 */
#include "config.h"

#include "job_change.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "send/calendar.h"
#include "util.h"

/* t is the record, b and c the booking and its course. */
#define JOB_CHANGE_WS "char(32, 9, 10, 11, 12, 13)"
#define JOB_CHANGE_TEXT_DIFFERS(col)                         \
	" trim(coalesce(c." col ", ''), " JOB_CHANGE_WS ")" \
	" IS NOT trim(coalesce(t." col ", ''), " JOB_CHANGE_WS ")"
#define JOB_CHANGE_DIFFERS                                      \
	" (unixepoch(c.starts_at) IS NOT unixepoch(t.starts_at)" \
	" OR unixepoch(c.ends_at) IS NOT unixepoch(t.ends_at)"   \
	" OR" JOB_CHANGE_TEXT_DIFFERS("venue")                   \
	" OR" JOB_CHANGE_TEXT_DIFFERS("address")                 \
	" OR" JOB_CHANGE_TEXT_DIFFERS("joining_url") ")"
/* The confirmation is on its way or sent: from then on the record is
 * what the delegate was told. */
#define JOB_CHANGE_TOLD                                            \
	" EXISTS (SELECT 1 FROM messages m"                        \
	"   WHERE m.dedupe_key = 'confirm:booking:' || t.booking_id" \
	"   AND m.state IN ('sending', 'sent'))"
/* A change notice still waits in the queue. */
#define JOB_CHANGE_PENDING           \
	" EXISTS (SELECT 1 FROM messages n" \
	"   WHERE n.id = t.notice_id AND n.state = 'queued')"
/* A notice may be made: ?1 is now. */
#define JOB_CHANGE_ELIGIBLE                                        \
	" b.status = 'confirmed' AND c.status = 'scheduled'"       \
	" AND unixepoch(t.starts_at) > unixepoch(?1)"              \
	" AND unixepoch(c.starts_at) > unixepoch(?1)"              \
	" AND" JOB_CHANGE_TOLD " AND NOT" JOB_CHANGE_PENDING
#define JOB_CHANGE_FROM                                  \
	" FROM bookings b JOIN courses c ON c.id = b.course_id" \
	" WHERE b.id = t.booking_id"

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

/* Before the confirmation goes, or while a notice waits, the record
 * follows the course: that message will carry the course as it is. */
static const char job_change_follow_sql[] =
    "UPDATE booking_told AS t SET starts_at = c.starts_at,"
    " ends_at = c.ends_at, venue = c.venue, address = c.address,"
    " joining_url = c.joining_url, told_at = ?1, changed_at = NULL"
    JOB_CHANGE_FROM " AND" JOB_CHANGE_DIFFERS
    " AND (NOT" JOB_CHANGE_TOLD " OR" JOB_CHANGE_PENDING ")";

/* Back as the delegate knows it, or no notice can be made any more. */
static const char job_change_clear_sql[] =
    "UPDATE booking_told AS t SET changed_at = NULL"
    JOB_CHANGE_FROM " AND t.changed_at IS NOT NULL"
    " AND NOT coalesce((" JOB_CHANGE_ELIGIBLE " AND" JOB_CHANGE_DIFFERS
    "), 0)"
    " RETURNING booking_id";

/* First seen to differ: the window opens. */
static const char job_change_mark_sql[] =
    "UPDATE booking_told AS t SET changed_at = ?1"
    JOB_CHANGE_FROM " AND t.changed_at IS NULL"
    " AND" JOB_CHANGE_ELIGIBLE " AND" JOB_CHANGE_DIFFERS
    " RETURNING booking_id";

/* Windows closed: ?2 is the window in seconds. */
static const char job_change_due_sql[] =
    "SELECT t.booking_id, d.email, c.id, t.sequence,"
    " json_object('starts_at', t.starts_at, 'ends_at', t.ends_at,"
    "   'venue', t.venue, 'address', t.address,"
    "   'joining_url', t.joining_url)"
    " FROM booking_told t JOIN bookings b ON b.id = t.booking_id"
    " JOIN courses c ON c.id = b.course_id"
    " JOIN delegates d ON d.id = b.delegate_id"
    " WHERE t.changed_at IS NOT NULL"
    " AND unixepoch(t.changed_at) + ?2 <= unixepoch(?1)"
    " AND" JOB_CHANGE_ELIGIBLE " AND" JOB_CHANGE_DIFFERS
    " ORDER BY t.booking_id";

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
    JOB_CHANGE_FROM " AND t.booking_id = ?1";

static const char job_change_next_sql[] =
    "SELECT min(unixepoch(changed_at)) + ?2 FROM booking_told"
    " WHERE changed_at IS NOT NULL"
    " AND unixepoch(changed_at) + ?2 > unixepoch(?1)";

struct job_change_due {
	int64_t booking_id, course_id;
	long sequence;
	char *email, *previous;
};

static int
job_change_step_error(sqlite3 *db, sqlite3_stmt *st, int rc)
{
	log_warnx("job change error=\"%s\"", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return db_errno(rc);
}

/* Runs sql with ?1 now (and ?2 the window when it names it), logging
 * each booking a RETURNING clause gives with what. */
static int
job_change_exec(sqlite3 *db, const char *sql, const char *now_s,
    int64_t window, const char *what)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, window);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		log_info("job change booking id=%lld %s",
		    (long long)sqlite3_column_int64(st, 0), what);
	if (rc != SQLITE_DONE)
		return job_change_step_error(db, st, rc);
	sqlite3_finalize(st);
	return 0;
}

static const char *
job_change_col(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
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
			sqlite3_bind_value(ins, i + 1, sqlite3_column_value(st, i));
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

static void
job_change_due_free(struct job_change_due *due, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(due[i].email);
		free(due[i].previous);
	}
	free(due);
}

/* The records whose window closed with the course still changed. */
static int
job_change_read_due(sqlite3 *db, const char *now_s, int64_t window,
    struct job_change_due **out, size_t *n_out)
{
	struct job_change_due *due = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db, job_change_due_sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, window);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 8 : 2 * cap;
			due = xreallocarray(due, cap, sizeof(*due));
		}
		due[n].booking_id = sqlite3_column_int64(st, 0);
		due[n].email = xstrdup(job_change_col(st, 1) != NULL
			? job_change_col(st, 1)
			: "");
		due[n].course_id = sqlite3_column_int64(st, 2);
		due[n].sequence = (long)sqlite3_column_int64(st, 3);
		due[n].previous = xstrdup(job_change_col(st, 4));
		n++;
	}
	if (rc != SQLITE_DONE) {
		job_change_due_free(due, n);
		return job_change_step_error(db, st, rc);
	}
	sqlite3_finalize(st);
	*out = due;
	*n_out = n;
	return 0;
}

/* Enqueues the notice of one record and moves the record on. */
static int
job_change_notify(
    sqlite3 *db, const struct job_change_due *d, const char *now_s, int *made)
{
	sqlite3_stmt *st;
	long seq = d->sequence + 1;
	int ret, rc;

	ret = db_prepare(db, job_change_notice_sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, d->booking_id);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, d->email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, d->course_id);
	sqlite3_bind_text(st, 5, d->previous, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now_s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return job_change_step_error(db, st, rc);
	*made += sqlite3_changes(db);
	sqlite3_finalize(st);
	ret = db_prepare(db, job_change_told_sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, d->booking_id);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, now_s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return job_change_step_error(db, st, rc);
	sqlite3_finalize(st);
	log_info("job change booking id=%lld notice enqueued sequence=%ld",
	    (long long)d->booking_id, seq);
	return 0;
}

int
job_change_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	char now_s[CLOCK_ISO_LEN], due_s[CLOCK_ISO_LEN], *marked;
	struct job_change_due *due = NULL;
	size_t n_due = 0;
	int ret, made = 0;

	clock_format_iso(now, now_s);
	clock_format_iso(now + cfg->change_window, due_s);
	marked = xasprintf("course changed, notice due=%s", due_s);
	ret = db_begin(db);
	if (ret == 0)
		ret = job_change_exec(db, job_change_undo_sql, now_s, 0, NULL);
	if (ret == 0)
		ret = job_change_new_records(db, cfg, now_s);
	if (ret == 0)
		ret = job_change_exec(db, job_change_follow_sql, now_s, 0, NULL);
	if (ret == 0)
		ret = job_change_exec(db, job_change_clear_sql, now_s, 0,
		    "course as the delegate knows it again, or past notice: "
		    "no notice");
	if (ret == 0)
		ret = job_change_exec(db, job_change_mark_sql, now_s, 0, marked);
	if (ret == 0)
		ret = job_change_read_due(
		    db, now_s, cfg->change_window, &due, &n_due);
	for (size_t i = 0; ret == 0 && i < n_due; i++)
		ret = job_change_notify(db, &due[i], now_s, &made);
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0)
		db_rollback(db);
	job_change_due_free(due, n_due);
	free(marked);
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
