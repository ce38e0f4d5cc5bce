/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * retention: [retention] applied once a day. Messages older than
 * `messages` are deleted with their outcomes (the relay's reply, the
 * last error) and their bounces; history older than `events` is
 * deleted (UK GDPR: kept no longer than needed). Deleted pages are
 * overwritten (db.c sets secure_delete).
 *
 * A message is kept, whatever its age, while deleting it could let a job
 * enqueue it again: one about a course that has not started yet (the
 * confirmation of a booking made long ahead), the opt-in message of a
 * subscriber still pending, one still queued or in flight, one a kept
 * bounce names. Digest periods are remembered in digests, which holds
 * no address.
 *
 * It is a job of job.h's table ("retention"): it runs off the loop with
 * the others, does its work when a day has passed since its last run
 * (job_runs), and reports it in the log and in `familymail status`.
 * It walks each table by id, which follows time, and stops at the first
 * row young enough to keep: a day's purge reads a day's rows.
 */
#ifndef FM_RETENTION_H
#define FM_RETENTION_H

#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct cfg;

struct retention_stats {
	int64_t messages;
	int64_t bounces;
	int64_t events;
};

/* The job: purges when a day has passed since the last purge, and
 * records the run. Returns 0 (it enqueues nothing) or a negative errno. */
int retention_run(sqlite3 *db, const struct cfg *cfg, time_t now);

/* A day after the last purge (job.h's next_due); -ENOENT before the
 * first. */
int retention_next_due(
    sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when);

/* The purge itself, at now, whatever the last run: adds to *st. Each
 * batch of rows is its own short transaction. 0 or a negative errno. */
int retention_purge(
    sqlite3 *db, const struct cfg *cfg, time_t now, struct retention_stats *st);

#endif
