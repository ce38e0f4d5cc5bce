/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_change: course change notices, and the record of what each
 * delegate was last told about their course (the booking_told table:
 * time, place, joining link, and the booking's calendar UID and
 * SEQUENCE).
 *
 * A confirmed booking on a scheduled course yet to start gets its
 * record when first seen, with the course as it is; until its
 * confirmation is on its way (sending or sent), the record follows the
 * course, since the confirmation will carry the course as it is then.
 * After that, when the course's starts_at, ends_at, venue, address or
 * joining_url differs from the record (notes do not count), the first
 * sight of the difference opens a window of [courses] change_window;
 * when it closes and the course still differs, one course_changed
 * notice is enqueued (dedupe "change:booking:ID:SEQUENCE", its detail
 * the details the delegate knew, as JSON) and the record takes the new
 * details and SEQUENCE + 1. Edits within the window make one notice;
 * an edit undone within it makes none; a course that has started, a
 * cancelled booking or course, gets none. While a notice waits in the
 * queue, further edits go into it (it renders the course when it is
 * sent) rather than into a second notice; a notice that went out
 * cancelled (the edit was undone after all) leaves the record at what
 * the delegate knew before it.
 */
#ifndef FM_JOB_CHANGE_H
#define FM_JOB_CHANGE_H

#include <time.h>

#include <sqlite3.h>

struct cfg;

/* Brings the records up to date at now and enqueues the notices due;
 * returns the number of notices, or a negative errno. */
int job_change_run(sqlite3 *db, const struct cfg *cfg, time_t now);

/* When the next window closes after now: 0 and *when, or -ENOENT. */
int job_change_next_due(
    sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when);

#endif
