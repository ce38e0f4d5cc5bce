/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_status: `familymail status [--json]`: the queue by state and kind,
 * the oldest queued message, the last and next run of each job, and the
 * most recent failures and bounces, read from the database the daemon
 * uses (safe while it runs: readers do not block it in WAL mode). It
 * changes nothing.
 *
 * The report is built once as JSON; --json prints it whole (a script's
 * health check), otherwise it is shown as aligned tables. Jobs leave
 * their traces in the tables they fill (messages, digests), so the last
 * run of a job is read from there; a row in job_runs, where a job keeps
 * its own bookkeeping, takes precedence. Next runs are computed from the
 * config as the daemon computes them. The relays are shown as the daemon
 * last knew them (the relays table), with their quota left counted now;
 * a configured relay the daemon has not told of yet is "unknown".
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "cmd/cmd.h"
#include "cmd/cmd_table.h"
#include "db.h"
#include "job.h"
#include "kind.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "send/relay_store.h"
#include "util.h"

#define CMD_STATUS_RECENT "10" /* failures and bounces shown */
/* Days of the deliverability report, today (UTC) included. */
#define CMD_STATUS_DAYS      14
#define CMD_STATUS_DAYS_TEXT "14"
/* Complaint rates, in percent: Gmail and Yahoo's limit for bulk
 * senders, and the rate they ask senders to stay under. */
#define CMD_STATUS_COMPLAINT_LIMIT 0.3
#define CMD_STATUS_COMPLAINT_WARN  0.1

/* How a column of the JSON report is shown on a terminal. */
struct cmd_status_col {
	struct cmd_table_column col;
	bool time; /* a UTC ISO-8601 time, shown local */
};

/* A cell as JSON: integers as numbers, NULL as null, text as a string
 * (invalid UTF-8, which jansson refuses, with '?' for each bad byte). */
static json_t *
cmd_status_value(sqlite3_stmt *st, int col)
{
	const char *s;
	json_t *j;
	char *copy;

	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer((json_int_t)sqlite3_column_int64(st, col));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, col));
	default:
		break;
	}
	s = (const char *)sqlite3_column_text(st, col);
	j = json_string(s != NULL ? s : "");
	if (j != NULL)
		return j;
	copy = xstrdup(s);
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j != NULL ? j : json_null();
}

/* The time of the report, ?2 of the statements that take it: a time
 * after it was written by a run with --now, and is not a "last run". */
static char cmd_status_now[CLOCK_ISO_LEN];

/* Runs sql (with ?1 bound to arg when arg is not NULL, and ?2 to the
 * time of the report) and returns its rows as an array of objects with
 * the given member names, or NULL when the database fails. */
static json_t *
cmd_status_rows(sqlite3 *db, const char *sql, const char *arg,
    const char *const *keys, size_t n)
{
	sqlite3_stmt *st;
	json_t *rows, *row;
	int rc;

	if (db_prepare(db, sql, &st) != 0)
		return NULL;
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_text(st, 2, cmd_status_now, -1, SQLITE_STATIC);
	rows = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row = json_object();
		for (size_t i = 0; i < n; i++)
			json_object_set_new(
			    row, keys[i], cmd_status_value(st, (int)i));
		json_array_append_new(rows, row);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(rows);
		return NULL;
	}
	return rows;
}

/* The one value of a one-row, one-column query as JSON (null when there
 * is no row); NULL when the database fails. */
static json_t *
cmd_status_scalar(sqlite3 *db, const char *sql, const char *arg)
{
	static const char *const key[] = { "v" };
	json_t *rows = cmd_status_rows(db, sql, arg, key, 1), *v;

	if (rows == NULL)
		return NULL;
	v = json_array_size(rows) > 0
	    ? json_incref(json_object_get(json_array_get(rows, 0), "v"))
	    : json_null();
	json_decref(rows);
	return v;
}

static json_t *
cmd_status_time(time_t t)
{
	char iso[CLOCK_ISO_LEN];

	if (t <= 0)
		return json_null();
	clock_format_iso(t, iso);
	return json_string(iso);
}

/* Appends a job: last (may be NULL: never) is taken over. */
static void
cmd_status_job(json_t *jobs, const char *name, json_t *last, json_t *next,
    const char *note)
{
	json_array_append_new(jobs,
	    json_pack("{s:s,s:o,s:o,s:s}", "job", name, "last_run",
		last != NULL ? last : json_null(), "next_run",
		next != NULL ? next : json_null(), "note", note));
}

/* The last digest of a frequency: its time, and a note on what it held. */
static int
cmd_status_digest(
    sqlite3 *db, json_t *jobs, const char *freq, time_t next, bool enabled)
{
	static const char *const keys[] = { "at", "period", "state", "posts",
		"recipients" };
	json_t *rows, *last = NULL;
	char *note, name[32];

	rows = cmd_status_rows(db,
	    "SELECT scheduled_at, period, state, post_count, recipients"
	    " FROM digests WHERE frequency = ?1"
	    " AND unixepoch(scheduled_at) <= unixepoch(?2)"
	    " ORDER BY scheduled_at DESC LIMIT 1",
	    freq, keys, UTIL_ARRAY_LEN(keys));
	if (rows == NULL)
		return -1;
	if (!enabled) {
		note = xstrdup("off: needs [unsubscribe] url and secret_file");
	} else if (json_array_size(rows) > 0) {
		json_t *r = json_array_get(rows, 0);

		last = json_incref(json_object_get(r, "at"));
		note = xasprintf("%s: %s, %lld post%s, %lld recipient%s",
		    json_string_value(json_object_get(r, "period")),
		    json_string_value(json_object_get(r, "state")),
		    (long long)json_integer_value(json_object_get(r, "posts")),
		    json_integer_value(json_object_get(r, "posts")) == 1 ? ""
									 : "s",
		    (long long)json_integer_value(
			json_object_get(r, "recipients")),
		    json_integer_value(json_object_get(r, "recipients")) == 1
			? ""
			: "s");
	} else {
		note = xstrdup("no digest yet");
	}
	(void)snprintf(name, sizeof(name), "digest %s", freq);
	cmd_status_job(
	    jobs, name, last, enabled ? cmd_status_time(next) : NULL, note);
	free(note);
	json_decref(rows);
	return 0;
}

static bool
cmd_status_is_poller(const char *job)
{
	return strcmp(job, "feed") == 0 || strcmp(job, "bounces") == 0;
}

/* Overrides or adds what job_runs records. */
static int
cmd_status_job_runs(sqlite3 *db, json_t *jobs)
{
	static const char *const keys[] = { "job", "last_run", "next_run",
		"detail" };
	json_t *rows, *row, *job = NULL;
	size_t i, k;

	rows = cmd_status_rows(db,
	    "SELECT job, CASE WHEN unixepoch(last_run_at) <= unixepoch(?2)"
	    " THEN last_run_at END, next_run_at, detail FROM job_runs"
	    " ORDER BY job",
	    NULL, keys, UTIL_ARRAY_LEN(keys));
	if (rows == NULL)
		return -1;
	json_array_foreach(rows, i, row)
	{
		const char *name =
		    json_string_value(json_object_get(row, "job"));
		json_t *detail = json_object_get(row, "detail");

		if (name == NULL)
			continue;
		json_array_foreach(jobs, k, job)
		{
			if (strcmp(
				json_string_value(json_object_get(job, "job")),
				name) == 0)
				break;
		}
		if (k == json_array_size(jobs)) {
			cmd_status_job(jobs, name, NULL, NULL, "");
			job = json_array_get(jobs, k);
		}
		if (!json_is_null(json_object_get(row, "last_run")))
			json_object_set(
			    job, "last_run", json_object_get(row, "last_run"));
		if (!json_is_null(json_object_get(row, "next_run")))
			json_object_set(
			    job, "next_run", json_object_get(row, "next_run"));
		if (json_is_string(detail) && cmd_status_is_poller(name) &&
		    json_string_length(json_object_get(job, "note")) > 0) {
			/* What it polls, then what the last poll found. */
			char *note = xasprintf("%s; last: %s",
			    json_string_value(json_object_get(job, "note")),
			    json_string_value(detail));

			json_object_set_new(job, "note", json_string(note));
			free(note);
		} else if (json_is_string(detail)) {
			json_object_set(job, "note", detail);
		}
	}
	json_decref(rows);
	return 0;
}

static json_t *
cmd_status_last_created(sqlite3 *db, const char *kinds)
{
	return cmd_status_scalar(db,
	    "SELECT max(created_at) FROM messages"
	    " WHERE instr(',' || ?1 || ',', ',' || kind || ',') > 0"
	    " AND unixepoch(created_at) <= unixepoch(?2)",
	    kinds);
}

/* The kinds job enqueues, "a,b", for cmd_status_last_created(). */
static char *
cmd_status_kinds_of(const struct job *job)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < kind_count(); i++) {
		const struct kind *k = kind_at(i);

		if (strcmp(k->job, job->name) != 0)
			continue;
		if (b.len > 0)
			buf_putc(&b, ',');
		buf_puts(&b, k->name);
	}
	return buf_take(&b);
}

/* A job of job.h's table: when it last enqueued and, for a time-based
 * one, when it next falls due. */
static int
cmd_status_table_job(sqlite3 *db, const struct cfg *cfg, time_t now,
    const struct job *job, json_t *jobs)
{
	char offsets[CFG_MAX_OFFSETS * 18] = "", *kinds, *note;
	const char *off = job_off(job, cfg, cfg->secret_file != NULL);
	json_t *last, *next = NULL;
	time_t when;

	kinds = cmd_status_kinds_of(job);
	if (kinds[0] == '\0') {
		/* It enqueues nothing (row checks: see unusable rows). */
		free(kinds);
		return 0;
	}
	last = cmd_status_last_created(db, kinds);
	free(kinds);
	if (last == NULL)
		return -1;
	if (job->next_due != NULL && off == NULL &&
	    job->next_due(db, cfg, now, &when) == 0)
		next = cmd_status_time(when);
	if (off != NULL) {
		note = xstrdup(off);
	} else if (strcmp(job->name, "reminders") == 0) {
		for (int i = 0; i < cfg->n_offsets; i++) {
			size_t len = strlen(offsets);

			(void)snprintf(offsets + len, sizeof(offsets) - len,
			    "%s%s", i > 0 ? ", " : "", cfg->offsets[i].text);
		}
		note = xasprintf("offsets %s%s", offsets,
		    next == NULL ? "; none ahead" : "");
	} else if (job->next_due == NULL) {
		note = xstrdup("at every change to the database");
	} else if (strcmp(job->name, "retention") == 0) {
		/* What its last run did comes from job_runs. */
		note =
		    xstrdup(cfg->retain_messages <= 0 && cfg->retain_events <= 0
			    ? "off: [retention] keeps everything"
			    : "once a day; not run yet");
	} else {
		note = xstrdup(next == NULL ? "none ahead" : "scheduled");
	}
	cmd_status_job(jobs, job->name, last, next, note);
	free(note);
	return 0;
}

static int
cmd_status_jobs(sqlite3 *db, const struct cfg *cfg, time_t now, json_t *jobs)
{
	bool subscribers =
	    cfg->unsubscribe_url != NULL && cfg->secret_file != NULL;
	json_t *next, *v;
	char *note;
	size_t k;

	for (size_t i = 0; i < job_count(); i++) {
		const struct job *job = job_at(i);

		/* One line per frequency, with what the last one held. */
		if (strcmp(job->name, "digests") == 0) {
			if (cmd_status_digest(db, jobs, "weekly",
				clock_next_weekly(
				    now, cfg->weekly_wday, cfg->weekly_minute),
				subscribers) != 0 ||
			    cmd_status_digest(db, jobs, "monthly",
				clock_next_monthly(now, cfg->monthly_mday,
				    cfg->monthly_minute),
				subscribers) != 0)
				return -1;
			continue;
		}
		if (cmd_status_table_job(db, cfg, now, job, jobs) != 0)
			return -1;
	}
	/* The pollers: their runs are in job_runs (cmd_status_job_runs()),
	 * which also carries what the last one found. */
	if (cfg->feed_url != NULL) {
		char every[16];

		cfg_format_duration(cfg->feed_every, every, sizeof(every));
		note = xasprintf("%s every %s", cfg->feed_url, every);
		cmd_status_job(jobs, "feed", NULL, NULL, note);
		free(note);
	}
	if (cfg->bounce_source != NULL) {
		char every[16];

		cfg_format_duration(cfg->bounce_every, every, sizeof(every));
		note = xasprintf("%s every %s", cfg->bounce_source, every);
		cmd_status_job(jobs, "bounces", NULL, NULL, note);
		free(note);
	}
	next = cmd_status_scalar(db,
	    "SELECT min(next_attempt_at) FROM messages"
	    " WHERE state = 'queued' AND attempts > 0",
	    NULL);
	if (next == NULL)
		return -1;
	cmd_status_job(jobs, "retries", NULL, next,
	    json_is_null(next) ? "nothing deferred" : "deferred messages");
	if (cmd_status_job_runs(db, jobs) != 0)
		return -1;
	json_array_foreach(jobs, k, v)
	{
		const char *name = json_string_value(json_object_get(v, "job"));

		if (name != NULL && cmd_status_is_poller(name) &&
		    json_is_null(json_object_get(v, "last_run"))) {
			note = xasprintf("%s; no poll recorded yet",
			    json_string_value(json_object_get(v, "note")));
			json_object_set_new(v, "note", json_string(note));
			free(note);
		}
	}
	return 0;
}

/* The warning for a complaint rate (percent) over the line, or NULL;
 * newly allocated. */
static char *
cmd_status_complaint_warning(const char *when, double rate)
{
	if (rate > CMD_STATUS_COMPLAINT_LIMIT)
		return xasprintf("%s: complaint rate %.2f%% is above Gmail's "
				 "%.1f%% limit: expect mail to go to spam or "
				 "be refused",
		    when, rate, CMD_STATUS_COMPLAINT_LIMIT);
	if (rate > CMD_STATUS_COMPLAINT_WARN)
		return xasprintf("%s: complaint rate %.2f%% is above %.1f%% "
				 "(Gmail's limit is %.1f%%)",
		    when, rate, CMD_STATUS_COMPLAINT_WARN,
		    CMD_STATUS_COMPLAINT_LIMIT);
	return NULL;
}

/* Per UTC day of the last CMD_STATUS_DAYS: messages sent (accepted by
 * the relay), bounces by class (delays left out: they are not
 * failures), and complaints (abuse reports that answer one of our
 * messages), with the complaint rate of the day's sends in percent. One
 * pass over each table. NULL when the database fails. */
static json_t *
cmd_status_deliverability(sqlite3 *db, time_t now)
{
	static const char *const keys[] = { "day", "sent", "hard_bounces",
		"soft_bounces", "complaints" };
	char since[CLOCK_ISO_LEN];
	json_t *out, *days, *day, *warnings;
	json_int_t sent = 0, complaints = 0, s, c;
	char *w;
	size_t i;

	clock_format_iso(
	    now - (now % 86400) - (CMD_STATUS_DAYS - 1) * 86400, since);
	days = cmd_status_rows(db,
	    "SELECT day, sum(sent), sum(hard), sum(soft), sum(complaint)"
	    " FROM (SELECT substr(sent_at, 1, 10) AS day, 1 AS sent,"
	    "   0 AS hard, 0 AS soft, 0 AS complaint"
	    "   FROM messages WHERE state = 'sent' AND sent_at >= ?1"
	    " UNION ALL SELECT substr(received_at, 1, 10), 0,"
	    "   kind = 'bounce' AND class = 'hard'"
	    "     AND coalesce(action, '') <> 'delayed',"
	    "   kind = 'bounce' AND class = 'soft'"
	    "     AND coalesce(action, '') <> 'delayed',"
	    "   kind = 'feedback' AND message_id IS NOT NULL"
	    "   FROM bounces WHERE received_at >= ?1)"
	    " GROUP BY day ORDER BY day DESC",
	    since, keys, UTIL_ARRAY_LEN(keys));
	if (days == NULL)
		return NULL;
	warnings = json_array();
	json_array_foreach(days, i, day)
	{
		s = json_integer_value(json_object_get(day, "sent"));
		c = json_integer_value(json_object_get(day, "complaints"));
		sent += s;
		complaints += c;
		json_object_set_new(day, "complaint_rate_percent",
		    s > 0 ? json_real(100.0 * (double)c / (double)s)
			  : json_null());
		/* Complaints come days after the mail: a day with some and
		 * no sends counts in the total below. */
		w = s > 0 ? cmd_status_complaint_warning(
				json_string_value(json_object_get(day, "day")),
				100.0 * (double)c / (double)s)
			  : NULL;
		if (w != NULL)
			json_array_append_new(warnings, json_string(w));
		free(w);
	}
	w = sent > 0
	    ? cmd_status_complaint_warning("last " CMD_STATUS_DAYS_TEXT " days",
		  100.0 * (double)complaints / (double)sent)
	    : NULL;
	if (w != NULL)
		json_array_append_new(warnings, json_string(w));
	free(w);
	out = json_object();
	json_object_set_new(out, "days", days);
	json_object_set_new(out, "sent", json_integer(sent));
	json_object_set_new(out, "complaints", json_integer(complaints));
	json_object_set_new(out, "complaint_rate_percent",
	    sent > 0 ? json_real(100.0 * (double)complaints / (double)sent)
		     : json_null());
	json_object_set_new(out, "warnings", warnings);
	return out;
}

/* The whole report, or NULL when the database fails. */
static json_t *
cmd_status_opt_time(time_t t)
{
	return t > 0 ? cmd_status_time(t) : json_null();
}

/* The configured relays, in order, each as the daemon last knew it. */
static json_t *
cmd_status_relays(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	struct relay_store_row *rows;
	struct cfg_relay relay;
	json_t *out, *o;
	size_t n;

	if (relay_store_read(db, now, &rows, &n) != 0)
		return NULL;
	out = json_array();
	for (size_t i = 0;
	     cfg->transport == CFG_TRANSPORT_SMTP && i < cfg_relay_count(cfg);
	     i++) {
		const struct relay_store_row *row = NULL;

		cfg_relay_get(cfg, i, &relay);
		for (size_t k = 0; k < n && row == NULL; k++)
			if (strcmp(rows[k].name, relay.name) == 0)
				row = &rows[k];
		o = json_object();
		json_object_set_new(o, "relay", json_string(relay.name));
		json_object_set_new(o, "url", json_string(relay.url));
		json_object_set_new(o, "state",
		    json_string(row != NULL ? row->state : "unknown"));
		json_object_set_new(o, "paused_lanes",
		    row != NULL && row->lanes != NULL ? json_string(row->lanes)
						      : json_null());
		json_object_set_new(o, "cause",
		    row != NULL && row->cause != NULL ? json_string(row->cause)
						      : json_null());
		json_object_set_new(o, "since",
		    row != NULL ? cmd_status_opt_time(row->since)
				: json_null());
		json_object_set_new(o, "next_try",
		    row != NULL ? cmd_status_opt_time(row->next_try)
				: json_null());
		if (relay.quota.count > 0) {
			json_object_set_new(o, "quota",
			    json_integer((json_int_t)relay.quota.count));
			json_object_set_new(o, "quota_window",
			    json_integer((json_int_t)relay.quota.per_sec));
			json_object_set_new(o, "quota_left",
			    row != NULL && row->quota >= 0
				? json_integer((json_int_t)row->quota_left)
				: json_integer((json_int_t)relay.quota.count));
		} else {
			json_object_set_new(o, "quota", json_null());
			json_object_set_new(o, "quota_window", json_null());
			json_object_set_new(o, "quota_left", json_null());
		}
		json_object_set_new(o, "updated_at",
		    row != NULL ? cmd_status_opt_time(row->updated_at)
				: json_null());
		json_array_append_new(out, o);
	}
	relay_store_rows_free(rows, n);
	return out;
}

static json_t *
cmd_status_build(sqlite3 *db, const struct cfg *cfg, time_t now)
{
	static const char *const queue_keys[] = { "state", "kind", "count" };
	static const char *const oldest_keys[] = { "id", "kind", "recipient",
		"created_at", "next_attempt_at", "attempts" };
	static const char *const fail_keys[] = { "id", "kind", "recipient",
		"at", "error" };
	static const char *const bounce_keys[] = { "id", "received_at",
		"recipient", "class", "reason", "status", "message_id",
		"diagnostic" };
	static const char *const unusable_keys[] = { "table", "id", "reason",
		"since" };
	json_t *out, *queue, *totals, *rows, *jobs, *v;
	size_t i;

	out = json_object();
	json_object_set_new(out, "database", json_string(cfg->database));
	json_object_set_new(
	    out, "schema_version", json_integer(migrate_version(db)));
	json_object_set_new(out, "generated_at", cmd_status_time(now));
	queue = cmd_status_rows(db,
	    "SELECT state, kind, count(*) FROM messages"
	    " GROUP BY state, kind ORDER BY state, kind",
	    NULL, queue_keys, UTIL_ARRAY_LEN(queue_keys));
	if (queue == NULL)
		goto fail;
	totals = json_object();
	for (int s = OUTBOX_QUEUED; s <= OUTBOX_CANCELLED; s++)
		json_object_set_new(
		    totals, outbox_state_name(s), json_integer(0));
	json_array_foreach(queue, i, v)
	{
		const char *s = json_string_value(json_object_get(v, "state"));
		json_t *t = s != NULL ? json_object_get(totals, s) : NULL;

		if (t != NULL)
			json_integer_set(t,
			    json_integer_value(t) +
				json_integer_value(
				    json_object_get(v, "count")));
	}
	json_object_set_new(out, "totals", totals);
	json_object_set_new(out, "queue", queue);
	rows = cmd_status_relays(db, cfg, now);
	if (rows == NULL)
		goto fail;
	json_object_set_new(out, "relays", rows);
	rows = cmd_status_rows(db,
	    "SELECT id, kind, recipient, created_at, next_attempt_at,"
	    " attempts FROM messages WHERE state = 'queued'"
	    " ORDER BY created_at, id LIMIT 1",
	    NULL, oldest_keys, UTIL_ARRAY_LEN(oldest_keys));
	if (rows == NULL)
		goto fail;
	json_object_set(out, "oldest_queued",
	    json_array_size(rows) > 0 ? json_array_get(rows, 0) : json_null());
	json_decref(rows);
	jobs = json_array();
	json_object_set_new(out, "jobs", jobs);
	if (cmd_status_jobs(db, cfg, now, jobs) != 0)
		goto fail;
	rows = cmd_status_rows(db,
	    "SELECT id, kind, recipient, updated_at,"
	    " coalesce(last_error, smtp_reply, '') FROM messages"
	    " WHERE state = 'failed' ORDER BY updated_at DESC, id DESC"
	    " LIMIT " CMD_STATUS_RECENT,
	    NULL, fail_keys, UTIL_ARRAY_LEN(fail_keys));
	if (rows == NULL)
		goto fail;
	json_object_set_new(out, "recent_failures", rows);
	rows = cmd_status_rows(db,
	    "SELECT id, received_at, recipient, class, reason, status,"
	    " message_id, diagnostic FROM bounces"
	    " ORDER BY received_at DESC, id DESC"
	    " LIMIT " CMD_STATUS_RECENT,
	    NULL, bounce_keys, UTIL_ARRAY_LEN(bounce_keys));
	if (rows == NULL)
		goto fail;
	json_object_set_new(out, "recent_bounces", rows);
	rows = cmd_status_rows(db,
	    "SELECT tbl, row_id, reason, first_seen FROM unusable_rows"
	    " ORDER BY tbl, row_id",
	    NULL, unusable_keys, UTIL_ARRAY_LEN(unusable_keys));
	if (rows == NULL)
		goto fail;
	json_object_set_new(out, "unusable_rows", rows);
	v = cmd_status_scalar(db, "SELECT count(*) FROM suppressions", NULL);
	if (v == NULL)
		goto fail;
	json_object_set_new(out, "suppressed_addresses", v);
	v = cmd_status_deliverability(db, now);
	if (v == NULL)
		goto fail;
	json_object_set_new(out, "deliverability", v);
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* Prints rows (an array of objects) as a table of the given columns. */
static int
cmd_status_table(json_t *rows, const struct cmd_status_col *cols, size_t n)
{
	struct cmd_table_column tc[16];
	struct cmd_table *t;
	json_t *row, *v;
	size_t i;
	int ret;

	for (size_t c = 0; c < n && c < UTIL_ARRAY_LEN(tc); c++)
		tc[c] = cols[c].col;
	t = cmd_table_new(tc, n);
	json_array_foreach(rows, i, row)
	{
		cmd_table_add_row(t);
		for (size_t c = 0; c < n; c++) {
			v = json_object_get(row, cols[c].col.key);
			if (json_is_integer(v))
				cmd_table_set_int(t, c, json_integer_value(v));
			else if (cols[c].time)
				cmd_table_set_time(t, c, json_string_value(v));
			else
				cmd_table_set_text(t, c, json_string_value(v));
		}
	}
	ret = cmd_table_print(t, stdout, false);
	cmd_table_free(t);
	return ret;
}

static void
cmd_status_local(const char *iso, char *out, size_t size)
{
	struct tm tm;
	time_t t;

	if (iso == NULL || clock_parse_iso(iso, &t) != 0 ||
	    localtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
		(void)snprintf(out, size, "%s", iso != NULL ? iso : "-");
}

/* The relays as a table, then a sentence for each that does not take
 * all mail, naming the cause. */
static int
cmd_status_print_relays(json_t *relays)
{
	static const struct cmd_status_col relay_cols[] = {
		{ { "relay", "RELAY", 0, false }, false },
		{ { "state", "STATE", 0, false }, false },
		{ { "since", "SINCE", 0, false }, true },
		{ { "next_try", "NEXT TRY", 0, false }, true },
		{ { "quota", "QUOTA LEFT", 0, false }, false },
	};
	json_t *rows = json_array(), *r, *row;
	char quota[64], since[32], next[32];
	int ret;
	size_t i;

	if (json_array_size(relays) == 0) {
		json_decref(rows);
		return 0;
	}
	json_array_foreach(relays, i, r)
	{
		json_t *left = json_object_get(r, "quota_left");

		if (json_is_integer(left))
			(void)snprintf(quota, sizeof(quota), "%lld of %lld/%s",
			    (long long)json_integer_value(left),
			    (long long)json_integer_value(
				json_object_get(r, "quota")),
			    json_integer_value(
				json_object_get(r, "quota_window")) == 3600
				? "h"
				: "d");
		else
			(void)snprintf(quota, sizeof(quota), "-");
		row = json_pack("{s:O,s:O,s:O,s:O,s:s}", "relay",
		    json_object_get(r, "relay"), "state",
		    json_object_get(r, "state"), "since",
		    json_object_get(r, "since"), "next_try",
		    json_object_get(r, "next_try"), "quota", quota);
		json_array_append_new(rows, row);
	}
	printf("\nrelays, as the daemon last knew them:\n");
	ret = cmd_status_table(rows, relay_cols, UTIL_ARRAY_LEN(relay_cols));
	json_decref(rows);
	json_array_foreach(relays, i, r)
	{
		const char *state =
		    json_string_value(json_object_get(r, "state"));
		const char *cause =
		    json_string_value(json_object_get(r, "cause"));
		const char *lanes =
		    json_string_value(json_object_get(r, "paused_lanes"));

		if (state == NULL || strcmp(state, "up") == 0 ||
		    strcmp(state, "unknown") == 0)
			continue;
		cmd_status_local(json_string_value(json_object_get(r, "since")),
		    since, sizeof(since));
		cmd_status_local(
		    json_string_value(json_object_get(r, "next_try")), next,
		    sizeof(next));
		if (strcmp(state, "paused") == 0)
			printf("relay %s paused for %s mail since %s: %s; "
			       "probed again %s; that mail waits, nothing "
			       "fails or counts against its recipients\n",
			    json_string_value(json_object_get(r, "relay")),
			    lanes != NULL && strcmp(lanes, "booking,bulk") == 0
				? "booking and bulk"
				: lanes != NULL ? lanes
						: "its",
			    since, cause != NULL ? cause : "?", next);
		else
			printf("relay %s %s since %s: %s; tried again %s\n",
			    json_string_value(json_object_get(r, "relay")),
			    state, since, cause != NULL ? cause : "?", next);
	}
	return ret;
}

/* The deliverability report as a table and its warnings. */
static int
cmd_status_print_deliverability(json_t *d)
{
	static const struct cmd_table_column cols[] = {
		{ "day", "DAY (UTC)", 0, false },
		{ "sent", "SENT", 0, true },
		{ "hard_bounces", "HARD", 0, true },
		{ "soft_bounces", "SOFT", 0, true },
		{ "complaints", "COMPLAINTS", 0, true },
		{ "rate", "RATE", 0, true },
	};
	json_t *days = json_object_get(d, "days"), *day, *rate, *w;
	struct cmd_table *t;
	char text[32];
	size_t i;
	int ret;

	if (json_array_size(days) == 0) {
		printf("\ndeliverability: nothing sent or bounced in the last "
		       "%d days\n",
		    CMD_STATUS_DAYS);
		return 0;
	}
	printf("\ndeliverability, last %d days (complaint rate against "
	       "Gmail's %.1f%% limit):\n",
	    CMD_STATUS_DAYS, CMD_STATUS_COMPLAINT_LIMIT);
	t = cmd_table_new(cols, UTIL_ARRAY_LEN(cols));
	json_array_foreach(days, i, day)
	{
		cmd_table_add_row(t);
		cmd_table_set_text(
		    t, 0, json_string_value(json_object_get(day, "day")));
		for (size_t c = 1; c < 5; c++)
			cmd_table_set_int(t, c,
			    json_integer_value(
				json_object_get(day, cols[c].key)));
		rate = json_object_get(day, "complaint_rate_percent");
		if (json_is_real(rate))
			(void)snprintf(text, sizeof(text), "%.2f%%",
			    json_real_value(rate));
		else
			(void)snprintf(text, sizeof(text), "-");
		cmd_table_set_text(t, 5, text);
	}
	ret = cmd_table_print(t, stdout, false);
	cmd_table_free(t);
	rate = json_object_get(d, "complaint_rate_percent");
	printf("in all: %lld sent, %lld complaint%s",
	    (long long)json_integer_value(json_object_get(d, "sent")),
	    (long long)json_integer_value(json_object_get(d, "complaints")),
	    json_integer_value(json_object_get(d, "complaints")) == 1 ? ""
								      : "s");
	if (json_is_real(rate))
		printf(" (%.2f%%)", json_real_value(rate));
	putchar('\n');
	json_array_foreach(json_object_get(d, "warnings"), i, w)
	    printf("warning: %s\n", json_string_value(w));
	return ret;
}

static int
cmd_status_print(json_t *out)
{
	static const struct cmd_status_col queue_cols[] = {
		{ { "state", "STATE", 0, false }, false },
		{ { "kind", "KIND", 0, false }, false },
		{ { "count", "COUNT", 0, true }, false },
	};
	static const struct cmd_status_col job_cols[] = {
		{ { "job", "JOB", 0, false }, false },
		{ { "last_run", "LAST RUN", 0, false }, true },
		{ { "next_run", "NEXT RUN", 0, false }, true },
		{ { "note", "NOTE", 0, false }, false },
	};
	static const struct cmd_status_col fail_cols[] = {
		{ { "id", "ID", 0, true }, false },
		{ { "at", "FAILED", 0, false }, true },
		{ { "kind", "KIND", 20, false }, false },
		{ { "recipient", "RECIPIENT", 32, false }, false },
		{ { "error", "ERROR", 0, false }, false },
	};
	static const struct cmd_status_col unusable_cols[] = {
		{ { "table", "TABLE", 0, false }, false },
		{ { "id", "ID", 0, true }, false },
		{ { "since", "SINCE", 0, false }, true },
		{ { "reason", "REASON", 0, false }, false },
	};
	static const struct cmd_status_col bounce_cols[] = {
		{ { "received_at", "RECEIVED", 0, false }, true },
		{ { "recipient", "RECIPIENT", 32, false }, false },
		{ { "class", "CLASS", 0, false }, false },
		{ { "reason", "REASON", 16, false }, false },
		{ { "status", "STATUS", 0, false }, false },
		{ { "diagnostic", "DIAGNOSTIC", 0, false }, false },
	};
	json_t *totals = json_object_get(out, "totals");
	json_t *oldest = json_object_get(out, "oldest_queued");
	json_t *v;
	const char *state;
	char when[32];
	int ret = 0;

	printf("database %s (schema %lld)\n\nqueue:",
	    json_string_value(json_object_get(out, "database")),
	    (long long)json_integer_value(
		json_object_get(out, "schema_version")));
	json_object_foreach(totals, state, v)
	    printf(" %s %lld", state, (long long)json_integer_value(v));
	putchar('\n');
	if (json_array_size(json_object_get(out, "queue")) > 0) {
		putchar('\n');
		ret |= cmd_status_table(json_object_get(out, "queue"),
		    queue_cols, UTIL_ARRAY_LEN(queue_cols));
	}
	if (json_is_object(oldest)) {
		cmd_status_local(
		    json_string_value(json_object_get(oldest, "created_at")),
		    when, sizeof(when));
		printf("\noldest queued: #%lld %s to %s, queued %s\n",
		    (long long)json_integer_value(
			json_object_get(oldest, "id")),
		    json_string_value(json_object_get(oldest, "kind")),
		    json_string_value(json_object_get(oldest, "recipient")),
		    when);
	} else {
		printf("\nnothing queued\n");
	}
	ret |= cmd_status_print_relays(json_object_get(out, "relays"));
	putchar('\n');
	ret |= cmd_status_table(
	    json_object_get(out, "jobs"), job_cols, UTIL_ARRAY_LEN(job_cols));
	if (json_array_size(json_object_get(out, "recent_failures")) > 0) {
		printf("\nrecent failures:\n");
		ret |= cmd_status_table(json_object_get(out, "recent_failures"),
		    fail_cols, UTIL_ARRAY_LEN(fail_cols));
	} else {
		printf("\nno failed messages\n");
	}
	if (json_array_size(json_object_get(out, "recent_bounces")) > 0) {
		printf("\nrecent bounces:\n");
		ret |= cmd_status_table(json_object_get(out, "recent_bounces"),
		    bounce_cols, UTIL_ARRAY_LEN(bounce_cols));
	} else {
		printf("\nno bounces\n");
	}
	if (json_array_size(json_object_get(out, "unusable_rows")) > 0) {
		printf("\nrows familymail cannot use (skipped until fixed):\n");
		ret |= cmd_status_table(json_object_get(out, "unusable_rows"),
		    unusable_cols, UTIL_ARRAY_LEN(unusable_cols));
	}
	printf("\nsuppressed addresses: %lld\n",
	    (long long)json_integer_value(
		json_object_get(out, "suppressed_addresses")));
	ret |= cmd_status_print_deliverability(
	    json_object_get(out, "deliverability"));
	return ret != 0 || fflush(stdout) != 0 ? -1 : 0;
}

int
cmd_status(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *out = NULL;
	struct cfg *cfg;
	sqlite3 *db = NULL;
	bool json = false;
	int ch, code = 1;

	while ((ch = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		if (ch != 'j') {
			fprintf(stderr, "usage: familymail status [--json]\n");
			return CMD_EX_USAGE;
		}
		json = true;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: familymail status [--json]\n");
		return CMD_EX_USAGE;
	}
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	log_init(LOG_LEVEL_WARNING);
	clock_set_timezone(cfg->timezone);
	if (db_open(cfg->database, false, &db) != 0 ||
	    migrate_version(db) != migrate_latest()) {
		fprintf(stderr,
		    "familymail: database %s is missing or not migrated "
		    "(run familymail migrate)\n",
		    cfg->database);
		goto out;
	}
	clock_format_iso(clock_now(), cmd_status_now);
	out = cmd_status_build(db, cfg, clock_now());
	if (out == NULL) {
		fprintf(stderr, "familymail: status: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (json) {
		if (json_dumpf(out, stdout,
			JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
		    putchar('\n') == EOF || fflush(stdout) != 0)
			goto out;
	} else if (cmd_status_print(out) != 0) {
		goto out;
	}
	code = 0;
out:
	json_decref(out);
	db_close(db);
	cfg_free(cfg);
	return code;
}
