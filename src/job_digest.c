/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_digest: see job_digest.h.
 */
#include "config.h"

#include "job_digest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "util.h"

struct job_digest_freq {
	const char *name;
	time_t (*last)(time_t, int, int);
	time_t (*next)(time_t, int, int);
	void (*period_id)(time_t, char *, size_t);
};

static const struct job_digest_freq job_digest_freqs[] = {
	{ "weekly", clock_last_weekly, clock_next_weekly, clock_week_id },
	{ "monthly", clock_last_monthly, clock_next_monthly, clock_month_id },
};

static void
job_digest_schedule(const struct cfg *cfg, size_t i, int *day, int *minute)
{
	if (i == 0) {
		*day = cfg->weekly_wday;
		*minute = cfg->weekly_minute;
	} else {
		*day = cfg->monthly_mday;
		*minute = cfg->monthly_minute;
	}
}

int
job_digest_next_due(
    sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when)
{
	time_t best = 0, t;
	int day, minute;

	(void)db;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_digest_freqs); i++) {
		job_digest_schedule(cfg, i, &day, &minute);
		t = job_digest_freqs[i].next(now, day, minute);
		if (best == 0 || t < best)
			best = t;
	}
	*when = best;
	return 0;
}

time_t
job_digest_last_due(const struct cfg *cfg, time_t now)
{
	time_t best = 0, t;
	int day, minute;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_digest_freqs); i++) {
		job_digest_schedule(cfg, i, &day, &minute);
		t = job_digest_freqs[i].last(now, day, minute);
		if (t > best)
			best = t;
	}
	return best;
}

/* Runs a statement bound to text parameters, for its side effect or one
 * integer result (*out may be NULL). */
static int
job_digest_exec(sqlite3 *db, const char *sql, int64_t *out, int n, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc, ret;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	va_start(ap, n);
	for (int i = 1; i <= n; i++) {
		const char *v = va_arg(ap, const char *);

		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out != NULL)
		*out = sqlite3_column_type(st, 0) == SQLITE_NULL
		    ? -1
		    : sqlite3_column_int64(st, 0);
	else if (out != NULL)
		*out = -1;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("job digest error=\"%s\"", sqlite3_errmsg(db));
		return db_errno(rc);
	}
	return 0;
}

/* The previous digest of frequency: its until, since and last_post_id
 * (NULL when it has none), newly allocated; all NULL when there is no
 * previous digest. */
static int
job_digest_previous(sqlite3 *db, const char *frequency, char **until,
    char **since, char **last_post_id)
{
	sqlite3_stmt *st;
	int rc, ret;

	*until = *since = *last_post_id = NULL;
	ret = db_prepare(db,
	    "SELECT until, since, last_post_id FROM digests"
	    " WHERE frequency = ?1 ORDER BY scheduled_at DESC LIMIT 1",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, frequency, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*until = xstrdup((const char *)sqlite3_column_text(st, 0));
		*since = xstrdup((const char *)sqlite3_column_text(st, 1));
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			*last_post_id =
			    xstrdup((const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("job digest error=\"%s\"", sqlite3_errmsg(db));
		return db_errno(rc);
	}
	return 0;
}

/*
 * Adds the row of the period of frequency i scheduled at at, unless it
 * exists, in the caller's transaction: the row records the highest post
 * id it considered, and its posts are those of the view digest_posts
 * (see migrate.c): the ones published since the previous digest, and
 * the ones added after the previous digest was opened but published
 * before it (late arrivals). Its period goes into period, the posts it
 * holds into *posts (-1 when the row existed).
 */
static int
job_digest_insert(sqlite3 *db, const struct cfg *cfg, size_t i, time_t at,
    time_t now, char *period, size_t size, int64_t *posts)
{
	const struct job_digest_freq *f = &job_digest_freqs[i];
	char at_s[CLOCK_ISO_LEN], since_s[CLOCK_ISO_LEN], now_s[CLOCK_ISO_LEN];
	char *prev_until = NULL, *prev_since = NULL, *prev_post = NULL;
	int day, minute, ret;
	int64_t exists;
	time_t since;

	*posts = -1;
	job_digest_schedule(cfg, i, &day, &minute);
	f->period_id(at, period, size);
	ret = job_digest_exec(db,
	    "SELECT count(*) FROM digests WHERE frequency = ?1 AND period = ?2",
	    &exists, 2, f->name, period);
	if (ret != 0 || exists > 0)
		return ret;
	/* Since the previous digest of this frequency, or one period. */
	ret = job_digest_previous(
	    db, f->name, &prev_until, &prev_since, &prev_post);
	if (ret != 0)
		return ret;
	if (prev_until == NULL || clock_parse_iso(prev_until, &since) != 0)
		since = f->last(at - 1, day, minute);
	clock_format_iso(at, at_s);
	clock_format_iso(since, since_s);
	clock_format_iso(now, now_s);
	ret = job_digest_exec(db,
	    "INSERT INTO digests (frequency, period, scheduled_at, since,"
	    " until, post_count, state, created_at, last_post_id,"
	    " prev_post_id, late_since) VALUES (?1, ?2, ?3, ?4, ?3, 0,"
	    " 'enqueuing', ?5, (SELECT coalesce(max(id), 0) FROM posts),"
	    " CAST(?6 AS INTEGER), ?7)",
	    NULL, 7, f->name, period, at_s, since_s, now_s, prev_post,
	    prev_since);
	if (ret == 0)
		ret = job_digest_exec(db,
		    "UPDATE digests SET post_count = (SELECT count(*) FROM"
		    " digest_posts WHERE digest_id = digests.id)"
		    " WHERE frequency = ?1 AND period = ?2"
		    " RETURNING post_count",
		    posts, 2, f->name, period);
	if (ret == 0 && *posts <= 0)
		ret = job_digest_exec(db,
		    "UPDATE digests SET state = 'empty'"
		    " WHERE frequency = ?1 AND period = ?2",
		    NULL, 2, f->name, period);
	free(prev_until);
	free(prev_since);
	free(prev_post);
	return ret;
}

/* Opens the period of the latest occurrence if it has no row yet, in
 * one transaction. */
static int
job_digest_open(sqlite3 *db, const struct cfg *cfg, size_t i, time_t now)
{
	const struct job_digest_freq *f = &job_digest_freqs[i];
	char period[16];
	int day, minute, ret;
	int64_t posts, exists;
	time_t at;

	job_digest_schedule(cfg, i, &day, &minute);
	at = f->last(now, day, minute);
	/* Most passes find the period open: no write lock for them. */
	f->period_id(at, period, sizeof(period));
	ret = job_digest_exec(db,
	    "SELECT count(*) FROM digests WHERE frequency = ?1 AND period = ?2",
	    &exists, 2, f->name, period);
	if (ret != 0 || exists > 0)
		return ret;
	ret = db_begin(db);
	if (ret == 0)
		ret = job_digest_insert(
		    db, cfg, i, at, now, period, sizeof(period), &posts);
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0) {
		db_rollback(db);
		return ret;
	}
	if (posts >= 0)
		log_info(
		    "job digest opened frequency=%s period=%s posts=%lld%s",
		    f->name, period, (long long)posts,
		    posts > 0 ? "" : " (nothing to send)");
	return 0;
}

int
job_digest_open_next(sqlite3 *db, const struct cfg *cfg, const char *frequency,
    time_t now, char *detail, size_t size, time_t *at, int64_t *posts)
{
	char period[16];
	int day, minute, ret;
	int64_t exists;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_digest_freqs); i++) {
		const struct job_digest_freq *f = &job_digest_freqs[i];

		if (strcmp(f->name, frequency) != 0)
			continue;
		job_digest_schedule(cfg, i, &day, &minute);
		/* A period that fell due while no daemon ran is opened at
		 * its next pass; when it holds posts, it is the next digest. */
		*at = f->last(now, day, minute);
		f->period_id(*at, period, sizeof(period));
		ret = job_digest_exec(db,
		    "SELECT count(*) FROM digests WHERE frequency = ?1"
		    " AND period = ?2",
		    &exists, 2, f->name, period);
		if (ret == 0 && exists == 0)
			ret = job_digest_insert(db, cfg, i, *at, now, period,
			    sizeof(period), posts);
		if (ret == 0 && (exists > 0 || *posts <= 0)) {
			*at = f->next(now, day, minute);
			ret = job_digest_insert(db, cfg, i, *at, now, period,
			    sizeof(period), posts);
		}
		if (ret != 0)
			return ret;
		(void)snprintf(detail, size, "%s:%s", f->name, period);
		return ret;
	}
	return -EINVAL;
}

/* Enqueues the next chunk of an open digest, adding to *added. Returns
 * 1 while there is more, 0 when it is complete, or a negative errno. */
static int
job_digest_chunk(sqlite3 *db, int64_t digest_id, time_t now, int *added_total)
{
	static const char sql[] =
	    "INSERT INTO messages (dedupe_key, kind, recipient,"
	    " subscriber_id, detail, created_at, next_attempt_at, updated_at,"
	    " verp_token)"
	    " SELECT 'digest:' || g.frequency || ':' || g.period ||"
	    " ':subscriber:' || s.id, 'blog_digest', s.email, s.id,"
	    " g.frequency || ':' || g.period, ?2, ?2, ?2,"
	    " ?4 || lower(hex(randomblob(8)))"
	    " FROM digests g JOIN subscribers s ON s.frequency = g.frequency"
	    " WHERE g.id = ?1 AND s.status = 'active' AND s.id > g.cursor"
	    " AND s.id <= ?3"
	    " ORDER BY s.id"
	    " ON CONFLICT (dedupe_key) DO NOTHING";
	char now_s[CLOCK_ISO_LEN], verp_prefix[24];
	sqlite3_stmt *st;
	int64_t upper = -1, next_id = -1;
	int rc, ret, added = 0;

	clock_format_iso(now, now_s);
	ret = db_begin(db);
	if (ret != 0)
		return ret;
	/*
	 * VERP tokens: the chunk's prefix, then 64 random bits. Entirely
	 * random tokens land all over the index, so each chunk dirtied
	 * (and its commit wrote) most of the index's pages: half the time
	 * of a big digest. With a prefix that grows (the next message id,
	 * in hex), a chunk's tokens fill a few adjacent pages. The random
	 * part keeps a token unguessable: knowing one's own does not give
	 * a neighbour's.
	 */
	ret = job_digest_exec(
	    db, "SELECT coalesce(max(id), 0) + 1 FROM messages", &next_id, 0);
	if (ret == 0 && next_id < 0)
		ret = -EIO;
	(void)snprintf(verp_prefix, sizeof(verp_prefix), "%08llx",
	    (unsigned long long)next_id);
	/* The chunk ends at the CHUNK-th subscriber after the cursor. */
	if (ret == 0)
		ret = db_prepare(db,
		    "SELECT max(id) FROM (SELECT s.id FROM digests g"
		    " JOIN subscribers s ON s.frequency = g.frequency"
		    " WHERE g.id = ?1 AND s.status = 'active'"
		    " AND s.id > g.cursor ORDER BY s.id LIMIT ?2)",
		    &st);
	if (ret == 0) {
		sqlite3_bind_int64(st, 1, digest_id);
		sqlite3_bind_int(st, 2, JOB_DIGEST_CHUNK);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL)
			upper = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (ret == 0 && upper >= 0) {
		ret = db_prepare(db, sql, &st);
		if (ret == 0) {
			sqlite3_bind_int64(st, 1, digest_id);
			sqlite3_bind_text(st, 2, now_s, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, upper);
			sqlite3_bind_text(
			    st, 4, verp_prefix, -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			added = sqlite3_changes(db);
			sqlite3_finalize(st);
			if (rc != SQLITE_DONE)
				ret = db_errno(rc);
		}
	}
	if (ret == 0) {
		ret = db_prepare(db,
		    upper >= 0 ? "UPDATE digests SET cursor = ?2,"
				 " recipients = recipients + ?3 WHERE id = ?1"
			       : "UPDATE digests SET state = 'enqueued',"
				 " finished_at = ?4 WHERE id = ?1",
		    &st);
		if (ret == 0) {
			sqlite3_bind_int64(st, 1, digest_id);
			sqlite3_bind_int64(st, 2, upper);
			sqlite3_bind_int(st, 3, added);
			sqlite3_bind_text(st, 4, now_s, -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
			if (rc != SQLITE_DONE)
				ret = db_errno(rc);
		}
	}
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0) {
		db_rollback(db);
		log_warnx("job digest chunk failed digest=%lld",
		    (long long)digest_id);
		return ret;
	}
	*added_total += added;
	return upper >= 0 ? 1 : 0;
}

int
job_digest_run(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	sqlite3_stmt *st;
	int64_t ids[8];
	int n = 0, ret, total = 0;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(job_digest_freqs); i++) {
		ret = job_digest_open(db, cfg, i, now);
		if (ret != 0)
			return ret;
	}
	ret = db_prepare(db,
	    "SELECT id FROM digests WHERE state = 'enqueuing' ORDER BY id"
	    " LIMIT 8",
	    &st);
	if (ret != 0)
		return ret;
	while (n < 8 && sqlite3_step(st) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (n == 0)
		return 0;
	/* Every chunk dirties pages all over the outbox's indexes: with
	 * the automatic checkpoint, each commit past its threshold copies
	 * them back to the database again (a quarter of the time for a big
	 * list). One checkpoint at the end instead, here in the worker, so
	 * the loop's next commit does not inherit it. */
	sqlite3_wal_autocheckpoint(db, 0);
	for (int i = 0; i < n; i++) {
		while ((ret = job_digest_chunk(db, ids[i], now, &total)) > 0)
			;
		if (ret < 0)
			break;
		log_info("job digest enqueued digest=%lld", (long long)ids[i]);
	}
	sqlite3_wal_autocheckpoint(db, 1000); /* SQLite's default */
	sqlite3_wal_checkpoint_v2(
	    db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return ret < 0 ? ret : total;
}
