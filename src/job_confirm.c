/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_confirm: see job_confirm.h. One INSERT ... SELECT does the whole
 * job in the database: the unique dedupe key makes it idempotent, and
 * only bookings of courses yet to start are looked at, so the cost
 * follows the courses to come, not the whole history. A big import is
 * enqueued JOB_CONFIRM_CHUNK bookings at a time, each its own short
 * write, so the website's writes are not held up behind one long one.
 */
#include "config.h"

#include "job_confirm.h"

#include "clock.h"
#include "db.h"
#include "log.h"

#define JOB_CONFIRM_CHUNK 1000

static const char job_confirm_sql[] =
    "INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
    " course_id, created_at, next_attempt_at, updated_at)"
    " SELECT 'confirm:booking:' || b.id, 'booking_confirmation', d.email,"
    " b.id, b.course_id, ?1, ?1, ?1"
    " FROM bookings b"
    " JOIN courses c ON c.id = b.course_id"
    " JOIN delegates d ON d.id = b.delegate_id"
    " WHERE b.status = 'confirmed' AND c.status = 'scheduled'"
    " AND unixepoch(c.starts_at) > unixepoch(?1)"
    " AND NOT EXISTS (SELECT 1 FROM unusable_rows u"
    "   WHERE u.tbl = 'courses' AND u.row_id = c.id)"
    " AND NOT EXISTS (SELECT 1 FROM messages m"
    "   WHERE m.dedupe_key = 'confirm:booking:' || b.id)"
    " ORDER BY b.id LIMIT ?2"
    " ON CONFLICT (dedupe_key) DO NOTHING";

int
job_confirm_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	char now_s[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int ret, rc, n, total = 0;

	(void)cfg; /* the shape every job has (job.h) */
	ret = db_prepare(db, job_confirm_sql, &st);
	if (ret != 0)
		return ret;
	clock_format_iso(now, now_s);
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, JOB_CONFIRM_CHUNK);
	do {
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			log_warnx(
			    "job confirm error=\"%s\"", sqlite3_errmsg(db));
			sqlite3_finalize(st);
			return total > 0 ? total : db_errno(rc);
		}
		n = sqlite3_changes(db);
		total += n;
		sqlite3_reset(st);
	} while (n == JOB_CONFIRM_CHUNK);
	sqlite3_finalize(st);
	if (total > 0)
		log_info("job confirm enqueued=%d", total);
	return total;
}
