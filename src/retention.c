/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * retention: see retention.h.
 */
#include "config.h"

#include "retention.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "util.h"

#define RETENTION_DAY   86400
#define RETENTION_BATCH 500
#define RETENTION_JOB   "retention"

/*
 * A table swept by id: select gives, for the rows after ?1 in id order,
 * the id, whether the row is older than the cutoff ?2 (a Unix time; a
 * time that does not parse counts as old), and whether it may go (?3:
 * now). The first row that is not old ends the sweep.
 */
struct retention_table {
	const char *select;
	const char *delete;
	int64_t cfg_secs; /* filled from the config */
};

static const char retention_messages_sql[] =
    "SELECT m.id, coalesce(unixepoch(m.created_at), 0) < ?2,"
    " m.state IN ('sent', 'failed', 'suppressed', 'cancelled')"
    " AND NOT EXISTS (SELECT 1 FROM bounces b WHERE b.message_id = m.id)"
    " AND NOT EXISTS (SELECT 1 FROM courses c WHERE c.id = m.course_id"
    "   AND unixepoch(c.starts_at) > ?3)"
    " AND NOT (m.kind = 'subscription_confirm' AND EXISTS (SELECT 1"
    "   FROM subscribers s WHERE s.id = m.subscriber_id"
    "   AND s.status = 'pending'))"
    " FROM messages m WHERE m.id > ?1 ORDER BY m.id LIMIT ?4";
static const char retention_bounces_sql[] =
    "SELECT id, coalesce(unixepoch(received_at), 0) < ?2, 1 FROM bounces"
    " WHERE id > ?1 ORDER BY id LIMIT ?4";
static const char retention_events_sql[] =
    "SELECT id, coalesce(unixepoch(at), 0) < ?2, 1 FROM events"
    " WHERE id > ?1 ORDER BY id LIMIT ?4";

/* One batch: the ids to delete into ids (*n of them), the last id seen
 * into *cursor; *done when a young row or the end was reached. */
static int
retention_batch(sqlite3 *db, const char *sql, int64_t cutoff, time_t now,
    int64_t *cursor, int64_t *ids, size_t *n, bool *done)
{
	sqlite3_stmt *st;
	int ret, rc, rows = 0;

	*n = 0;
	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, *cursor);
	sqlite3_bind_int64(st, 2, cutoff);
	sqlite3_bind_int64(st, 3, (int64_t)now);
	sqlite3_bind_int(st, 4, RETENTION_BATCH);
	*done = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		if (sqlite3_column_int(st, 1) == 0) {
			*done = true;
			break;
		}
		*cursor = sqlite3_column_int64(st, 0);
		if (sqlite3_column_int(st, 2) != 0)
			ids[(*n)++] = *cursor;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_errno(rc);
	if (rows < RETENTION_BATCH)
		*done = true;
	return 0;
}

/* Deletes the rows of one table older than keep seconds; adds to *count. */
static int
retention_sweep(sqlite3 *db, const char *select, const char *table,
    int64_t keep, time_t now, int64_t *count)
{
	int64_t ids[RETENTION_BATCH], cursor = 0;
	char *sql = xasprintf("DELETE FROM %s WHERE id = ?1", table);
	sqlite3_stmt *del = NULL;
	bool done = false;
	size_t n;
	int ret = 0, rc;

	if (keep <= 0) {
		free(sql);
		return 0;
	}
	while (ret == 0 && !done) {
		ret = retention_batch(db, select, (int64_t)now - keep, now,
		    &cursor, ids, &n, &done);
		if (ret != 0 || n == 0)
			continue;
		ret = db_begin(db);
		if (ret == 0)
			ret = db_prepare(db, sql, &del);
		for (size_t i = 0; ret == 0 && i < n; i++) {
			sqlite3_bind_int64(del, 1, ids[i]);
			rc = sqlite3_step(del);
			sqlite3_reset(del);
			if (rc != SQLITE_DONE)
				ret = db_errno(rc);
			else
				*count += sqlite3_changes(db);
		}
		sqlite3_finalize(del);
		del = NULL;
		if (ret == 0)
			ret = db_commit(db);
		if (ret != 0)
			db_rollback(db);
	}
	free(sql);
	return ret;
}

int
retention_purge(
    sqlite3 *db, const struct cfg *cfg, time_t now, struct retention_stats *st)
{
	int ret;

	/* Bounces first: a message goes once no kept bounce names it. */
	ret = retention_sweep(db, retention_bounces_sql, "bounces",
	    cfg->retain_messages, now, &st->bounces);
	if (ret == 0)
		ret = retention_sweep(db, retention_messages_sql, "messages",
		    cfg->retain_messages, now, &st->messages);
	if (ret == 0)
		ret = retention_sweep(db, retention_events_sql, "events",
		    cfg->retain_events, now, &st->events);
	return ret;
}

/* "400d", "6y" (as the config has them), or "for ever" for 0. */
static void
retention_format(int64_t secs, char *out, size_t size)
{
	if (secs <= 0)
		(void)snprintf(out, size, "for ever");
	else if (secs % (365 * RETENTION_DAY) == 0)
		(void)snprintf(out, size, "%lldy",
		    (long long)(secs / (365 * RETENTION_DAY)));
	else
		cfg_format_duration(secs, out, size);
}

int
retention_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	struct retention_stats st = { 0 };
	char keep_m[16], keep_e[16], *detail;
	time_t last;
	int ret;

	if (cfg->retain_messages <= 0 && cfg->retain_events <= 0)
		return 0;
	/* A run recorded in the future was one with --now: not a reason
	 * to wait. */
	if (job_last_run(db, RETENTION_JOB, &last) == 0 && last <= now &&
	    now - last < RETENTION_DAY)
		return 0;
	ret = retention_purge(db, cfg, now, &st);
	if (ret != 0) {
		log_warnx("retention failed: %s; retrying at the next pass",
		    strerror(-ret));
		return ret;
	}
	log_info("retention purged messages=%lld bounces=%lld events=%lld",
	    (long long)st.messages, (long long)st.bounces,
	    (long long)st.events);
	retention_format(cfg->retain_messages, keep_m, sizeof(keep_m));
	retention_format(cfg->retain_events, keep_e, sizeof(keep_e));
	detail = xasprintf("purged %lld messages, %lld bounces, %lld events; "
			   "keeps messages %s, events %s",
	    (long long)st.messages, (long long)st.bounces, (long long)st.events,
	    keep_m, keep_e);
	ret =
	    job_record_run(db, RETENTION_JOB, now, now + RETENTION_DAY, detail);
	free(detail);
	return ret < 0 ? ret : 0;
}

int
retention_next_due(sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when)
{
	time_t last;
	int ret;

	if (cfg->retain_messages <= 0 && cfg->retain_events <= 0)
		return -ENOENT;
	ret = job_last_run(db, RETENTION_JOB, &last);
	if (ret != 0)
		return ret;
	*when = last <= now && last + RETENTION_DAY > now ? last + RETENTION_DAY
							  : now + 60;
	return 0;
}
