/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_cancel: see job_cancel.h. Like the confirmation job, each rule is
 * one INSERT ... SELECT over courses yet to start.
 */
#include "config.h"

#include "job_cancel.h"

#include "clock.h"
#include "db.h"
#include "log.h"
#include "util.h"

static const char *const job_cancel_sql[] = {
	/* The booking was cancelled; the course still runs. */
	"INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
	" course_id, created_at, next_attempt_at, updated_at)"
	" SELECT 'cancel:booking:' || b.id, 'booking_cancelled', m.recipient,"
	" b.id, b.course_id, ?1, ?1, ?1"
	" FROM bookings b"
	" JOIN courses c ON c.id = b.course_id"
	" JOIN messages m ON m.dedupe_key = 'confirm:booking:' || b.id"
	" WHERE b.status = 'cancelled' AND c.status = 'scheduled'"
	" AND m.state = 'sent'"
	" AND unixepoch(c.starts_at) > unixepoch(?1)"
	" ORDER BY b.id"
	" ON CONFLICT (dedupe_key) DO NOTHING",
	/* The course was cancelled: everyone who was confirmed on it. */
	"INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
	" course_id, created_at, next_attempt_at, updated_at)"
	" SELECT 'cancel:course:' || c.id || ':booking:' || b.id,"
	" 'course_cancelled', m.recipient, b.id, c.id, ?1, ?1, ?1"
	" FROM courses c"
	" JOIN bookings b ON b.course_id = c.id"
	" JOIN messages m ON m.dedupe_key = 'confirm:booking:' || b.id"
	" WHERE c.status = 'cancelled' AND m.state = 'sent'"
	" AND unixepoch(c.starts_at) > unixepoch(?1)"
	" AND NOT EXISTS (SELECT 1 FROM messages x"
	"   WHERE x.dedupe_key = 'cancel:booking:' || b.id)"
	" ORDER BY b.id"
	" ON CONFLICT (dedupe_key) DO NOTHING",
};

int
job_cancel_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	char now_s[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int ret, rc, total = 0;

	(void)cfg; /* the shape every job has (job.h) */

	clock_format_iso(now, now_s);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_cancel_sql); i++) {
		ret = db_prepare(db, job_cancel_sql[i], &st);
		if (ret != 0)
			return ret;
		sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			log_warnx(
			    "job cancel error=\"%s\"", sqlite3_errmsg(db));
			return db_errno(rc);
		}
		total += sqlite3_changes(db);
	}
	if (total > 0)
		log_info("job cancel enqueued=%d", total);
	return total;
}
