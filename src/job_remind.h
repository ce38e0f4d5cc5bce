/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_remind: course reminders at the offsets of [reminders] offsets. A
 * reminder for offset O is due at starts_at - O; it is enqueued when due
 * if the booking is confirmed, was made before the due time, and the
 * course is scheduled and has not started. When several offsets fell due
 * while the daemon was down, only the nearest to the course is sent.
 * Dedupe "remind:booking:ID:O", so never twice.
 */
#ifndef FM_JOB_REMIND_H
#define FM_JOB_REMIND_H

#include <time.h>

#include <sqlite3.h>

struct cfg;

/* Enqueues the reminders due at now; the number, or a negative errno. */
int job_remind_run(sqlite3 *db, const struct cfg *cfg, time_t now);

/* When the next reminder falls due after now: 0 and *when, or -ENOENT
 * when no reminder is ahead. */
int job_remind_next_due(
    sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when);

#endif
