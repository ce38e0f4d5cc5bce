/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_cancel: the cancellation notices. A delegate who was sent a
 * confirmation gets a booking_cancelled notice when the booking is now
 * cancelled (dedupe "cancel:booking:ID"), or a course_cancelled notice
 * when the course is (dedupe "cancel:course:COURSE:booking:ID"); when
 * both are cancelled only the course notice goes, since that is what
 * happened. A confirmation that never went out needs no notice: it is
 * itself cancelled at send time.
 */
#ifndef FM_JOB_CANCEL_H
#define FM_JOB_CANCEL_H

#include <time.h>

#include <sqlite3.h>

struct cfg;

/* Enqueues the notices missing at now; the number enqueued, or a
 * negative errno. */
int job_cancel_run(sqlite3 *db, const struct cfg *cfg, time_t now);

#endif
