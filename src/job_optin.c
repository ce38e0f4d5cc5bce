/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_optin: see job_optin.h.
 */
#include "config.h"

#include "job_optin.h"

#include "clock.h"
#include "db.h"
#include "log.h"

static const char job_optin_sql[] =
    "INSERT INTO messages (dedupe_key, kind, recipient, subscriber_id,"
    " created_at, next_attempt_at, updated_at)"
    " SELECT 'optin:subscriber:' || s.id, 'subscription_confirm', s.email,"
    " s.id, ?1, ?1, ?1"
    " FROM subscribers s"
    " WHERE s.status = 'pending'"
    " AND NOT EXISTS (SELECT 1 FROM messages m"
    "   WHERE m.dedupe_key = 'optin:subscriber:' || s.id)"
    " ORDER BY s.id"
    " ON CONFLICT (dedupe_key) DO NOTHING";

int
job_optin_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	char now_s[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int ret, rc, n;

	(void)cfg; /* the shape every job has (job.h) */

	ret = db_prepare(db, job_optin_sql, &st);
	if (ret != 0)
		return ret;
	clock_format_iso(now, now_s);
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	n = sqlite3_changes(db);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("job optin error=\"%s\"", sqlite3_errmsg(db));
		return db_errno(rc);
	}
	if (n > 0)
		log_info("job optin enqueued=%d", n);
	return n;
}
