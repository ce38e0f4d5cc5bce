/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job: the table of jobs. A job looks at the records and enqueues the
 * messages that are due (job_confirm.c, job_remind.c, ...); it never
 * renders or sends. Every job is idempotent (the outbox's dedupe key),
 * so running one again costs a query, never a duplicate. The daemon
 * runs them all after every change to the database and when a
 * time-based job falls due (job_poll.h runs them off the loop); status
 * shows them. Which kinds each job enqueues is in kind.h.
 */
#ifndef FM_JOB_H
#define FM_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <sqlite3.h>

struct cfg;

struct job {
	const char *name; /* "confirmations", as status shows it */
	/* Enqueues what is due at now: how many, or a negative errno. */
	int (*run)(sqlite3 *db, const struct cfg *cfg, time_t now);
	/* When it next has work that no change to the database brings (a
	 * reminder's time): 0 and *when, or -ENOENT. NULL: the job only
	 * acts on changes. */
	int (*next_due)(
	    sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when);
	/* The latest time at or before now when it fell due; NULL for a
	 * job without a schedule. A job that reads posts wants the feed
	 * polled since then (see job_wants_feed()). */
	time_t (*last_due)(const struct cfg *cfg, time_t now);
	/* It mails subscribers: off without working unsubscribe links
	 * ([unsubscribe] url and the token secret). */
	bool subscribers;
	bool reads_posts;
};

/* How soon a pass of the jobs that one failed in is tried again. */
#define JOB_RETRY_SECS 5

/* The i-th job, for i < job_count(), in the order they run. */
const struct job *job_at(size_t i);
size_t job_count(void);
const struct job *job_find(const char *name);

/* NULL when j runs under cfg; else why not, for status ("off: ..."). */
const char *job_off(const struct job *j, const struct cfg *cfg, bool secret);

/*
 * Runs every job that is on, in the table's order; with posts false,
 * not the jobs that read posts. A failing job (the website holding the
 * lock, say) is logged and the others still run. Returns how many
 * messages were enqueued, or the negative errno of a failed job when
 * any failed, so that the caller tries again soon.
 */
int job_run_all(
    sqlite3 *db, const struct cfg *cfg, bool secret, bool posts, time_t now);

/* The earliest next_due() of the jobs that are on: 0 and *when, or
 * -ENOENT when none has a time ahead. */
int job_next_due(
    sqlite3 *db, const struct cfg *cfg, bool secret, time_t now, time_t *when);

/*
 * The bookkeeping of a job or a poller in the table job_runs, which
 * status shows: when it last ran (last), when it runs next (next; 0:
 * not known) and a note (detail, may be NULL). One statement. 0 or a
 * negative errno.
 */
int job_record_run(sqlite3 *db, const char *name, time_t last, time_t next,
    const char *detail);
/* When name last ran, as job_record_run() recorded it: 0 and *last, or
 * -ENOENT (never), or another negative errno. */
int job_last_run(sqlite3 *db, const char *name, time_t *last);

/* Whether a job that reads posts fell due since polled, the start of
 * the last finished feed poll: the feed should be polled first. */
bool job_wants_feed(
    const struct cfg *cfg, bool secret, time_t now, time_t polled);

#endif
