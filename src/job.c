/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job: see job.h.
 */
#include "config.h"

#include "job.h"

#include <errno.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "job_cancel.h"
#include "job_change.h"
#include "job_confirm.h"
#include "job_digest.h"
#include "job_optin.h"
#include "job_remind.h"
#include "job_rows.h"
#include "log.h"
#include "retention.h"
#include "util.h"

static const struct job job_table[] = {
	/* First: the others skip what it reports. */
	{ .name = "row checks", .run = job_rows_run },
	{ .name = "confirmations", .run = job_confirm_run },
	{ .name = "cancellations", .run = job_cancel_run },
	{
	    .name = "changes",
	    .run = job_change_run,
	    .next_due = job_change_next_due,
	},
	{
	    .name = "reminders",
	    .run = job_remind_run,
	    .next_due = job_remind_next_due,
	},
	{ .name = "opt-in", .run = job_optin_run, .subscribers = true },
	{
	    .name = "digests",
	    .run = job_digest_run,
	    .next_due = job_digest_next_due,
	    .last_due = job_digest_last_due,
	    .subscribers = true,
	    .reads_posts = true,
	},
	{
	    .name = "retention",
	    .run = retention_run,
	    .next_due = retention_next_due,
	},
};

const struct job *
job_at(size_t i)
{
	return i < UTIL_ARRAY_LEN(job_table) ? &job_table[i] : NULL;
}

size_t
job_count(void)
{
	return UTIL_ARRAY_LEN(job_table);
}

const struct job *
job_find(const char *name)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_table); i++)
		if (strcmp(name, job_table[i].name) == 0)
			return &job_table[i];
	return NULL;
}

const char *
job_off(const struct job *j, const struct cfg *cfg, bool secret)
{
	/* Mail to subscribers needs working unsubscribe links. */
	if (j->subscribers && (cfg->unsubscribe_url == NULL || !secret))
		return "off: needs [unsubscribe] url and secret_file";
	return NULL;
}

int
job_run_all(
    sqlite3 *db, const struct cfg *cfg, bool secret, bool posts, time_t now)
{
	int ret, total = 0, failed = 0;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_table); i++) {
		const struct job *j = &job_table[i];

		if (job_off(j, cfg, secret) != NULL ||
		    (j->reads_posts && !posts))
			continue;
		ret = j->run(db, cfg, now);
		if (ret < 0) {
			log_warnx("job %s failed: %s; retrying in %ds", j->name,
			    db_strerror(ret), JOB_RETRY_SECS);
			failed = ret;
			continue;
		}
		total += ret;
	}
	return failed < 0 ? failed : total;
}

int
job_next_due(
    sqlite3 *db, const struct cfg *cfg, bool secret, time_t now, time_t *when)
{
	time_t t, best = 0;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_table); i++) {
		const struct job *j = &job_table[i];

		if (j->next_due == NULL || job_off(j, cfg, secret) != NULL ||
		    j->next_due(db, cfg, now, &t) != 0)
			continue;
		if (best == 0 || t < best)
			best = t;
	}
	if (best == 0)
		return -ENOENT;
	*when = best;
	return 0;
}

bool
job_wants_feed(const struct cfg *cfg, bool secret, time_t now, time_t polled)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_table); i++) {
		const struct job *j = &job_table[i];

		if (j->reads_posts && j->last_due != NULL &&
		    job_off(j, cfg, secret) == NULL &&
		    polled < j->last_due(cfg, now))
			return true;
	}
	return false;
}

int
job_record_run(
    sqlite3 *db, const char *name, time_t last, time_t next, const char *detail)
{
	char last_s[CLOCK_ISO_LEN], next_s[CLOCK_ISO_LEN];
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db,
	    "INSERT INTO job_runs (job, last_run_at, next_run_at, detail)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (job) DO UPDATE SET"
	    " last_run_at = ?2, next_run_at = ?3, detail = ?4",
	    &st);
	if (ret != 0)
		return ret;
	clock_format_iso(last, last_s);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, last_s, -1, SQLITE_STATIC);
	if (next > 0) {
		clock_format_iso(next, next_s);
		sqlite3_bind_text(st, 3, next_s, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		log_warnx("job %s cannot record its run: %s", name,
		    sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return db_errno(rc);
}

int
job_last_run(sqlite3 *db, const char *name, time_t *last)
{
	sqlite3_stmt *st;
	const char *s;
	int ret, rc;

	ret = db_prepare(
	    db, "SELECT last_run_at FROM job_runs WHERE job = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	if (ret == 0) {
		s = (const char *)sqlite3_column_text(st, 0);
		if (s == NULL || clock_parse_iso(s, last) != 0)
			ret = -ENOENT;
	}
	sqlite3_finalize(st);
	return ret;
}
