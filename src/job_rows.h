/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_rows: finds the rows of the website's tables that familymail
 * cannot use, reports each once (a log line, and the unusable_rows
 * table that status shows) by table, id and reason, and clears the
 * report when the row is fixed. The other jobs skip a course reported
 * here; a booking or post with a bad reference or time is skipped by
 * their queries anyway, and is no longer skipped in silence.
 *
 * Unusable: a course whose starts_at or ends_at is not a time, or
 * starts_at without a time of day (a date alone cannot be put in a
 * calendar or reminded of at the right hour, and "00:00" would be
 * wrong), or ends before it starts; a booking whose course or delegate
 * does not exist, or whose created_at is not a time; a post whose
 * published_at is not a time. A time is what clock_parse_iso() reads:
 * ISO-8601, in UTC or with an offset.
 *
 * Courses are few and all are looked at; bookings and posts grow, and
 * only the rows added since the last pass and those reported are.
 */
#ifndef FM_JOB_ROWS_H
#define FM_JOB_ROWS_H

#include <time.h>

#include <sqlite3.h>

struct cfg;

/* Checks the rows, at now. Returns 0 (it enqueues nothing), or a
 * negative errno. */
int job_rows_run(sqlite3 *db, const struct cfg *cfg, time_t now);

#endif
