/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_remind: see job_remind.h. Offsets are visited from the nearest to
 * the course outwards; an offset is skipped for a booking that already
 * has a reminder at that offset or a nearer one, which is what makes
 * "only the nearest" hold after downtime.
 */
#include "config.h"

#include "job_remind.h"

#include <errno.h>
#include <stdio.h>

#include <jansson.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "util.h"

/* ?1 now, ?2 offset text, ?3 offset in seconds, ?4 JSON array of the
 * offsets at or nearer than this one. Times compare as whole seconds. */
static const char job_remind_sql[] =
    "INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
    " course_id, detail, created_at, next_attempt_at, updated_at)"
    " SELECT 'remind:booking:' || b.id || ':' || ?2, 'course_reminder',"
    " d.email, b.id, c.id, ?2, ?1, ?1, ?1"
    " FROM courses c"
    " JOIN bookings b ON b.course_id = c.id"
    " JOIN delegates d ON d.id = b.delegate_id"
    " WHERE c.status = 'scheduled' AND b.status = 'confirmed'"
    " AND unixepoch(c.starts_at) > unixepoch(?1)"
    " AND NOT EXISTS (SELECT 1 FROM unusable_rows u"
    "   WHERE u.tbl = 'courses' AND u.row_id = c.id)"
    " AND unixepoch(c.starts_at) - ?3 <= unixepoch(?1)"
    " AND unixepoch(b.created_at) < unixepoch(c.starts_at) - ?3"
    " AND NOT EXISTS (SELECT 1 FROM messages m"
    "   WHERE m.booking_id = b.id AND m.kind = 'course_reminder'"
    "   AND m.detail IN (SELECT value FROM json_each(?4)))"
    " ORDER BY b.id"
    " ON CONFLICT (dedupe_key) DO NOTHING";

/* The earliest due time after now over every offset: ?1 now, ?2 the
 * offset in seconds. */
static const char job_remind_next_sql[] =
    "SELECT min(unixepoch(c.starts_at) - ?2) FROM courses c"
    " WHERE c.status = 'scheduled'"
    " AND unixepoch(c.starts_at) - ?2 > unixepoch(?1)"
    " AND NOT EXISTS (SELECT 1 FROM unusable_rows u"
    "   WHERE u.tbl = 'courses' AND u.row_id = c.id)"
    " AND EXISTS (SELECT 1 FROM bookings b WHERE b.course_id = c.id"
    "   AND b.status = 'confirmed')";

int
job_remind_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	char now_s[CLOCK_ISO_LEN], *nearer;
	json_t *seen = json_array();
	sqlite3_stmt *st;
	int ret, rc, total = 0;

	ret = db_prepare(db, job_remind_sql, &st);
	if (ret != 0) {
		json_decref(seen);
		return ret;
	}
	clock_format_iso(now, now_s);
	/* cfg->offsets is sorted largest first: walk it backwards. */
	for (int i = cfg->n_offsets - 1; i >= 0; i--) {
		const struct cfg_reminder_offset *o = &cfg->offsets[i];

		json_array_append_new(seen, json_string(o->text));
		nearer = json_dumps(seen, JSON_COMPACT);
		sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, o->text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, o->secs);
		sqlite3_bind_text(st, 4, nearer, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		free(nearer);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			log_warnx(
			    "job remind error=\"%s\"", sqlite3_errmsg(db));
			total = db_errno(rc);
			break;
		}
		total += sqlite3_changes(db);
	}
	sqlite3_finalize(st);
	json_decref(seen);
	if (total > 0)
		log_info("job remind enqueued=%d", total);
	return total;
}

int
job_remind_next_due(
    sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when)
{
	char now_s[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int64_t best = -1, t;
	int ret;

	ret = db_prepare(db, job_remind_next_sql, &st);
	if (ret != 0)
		return ret;
	clock_format_iso(now, now_s);
	for (int i = 0; i < cfg->n_offsets; i++) {
		sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, cfg->offsets[i].secs);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL) {
			t = sqlite3_column_int64(st, 0);
			if (best == -1 || t < best)
				best = t;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (best == -1)
		return -ENOENT;
	*when = (time_t)best;
	return 0;
}
