/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_digest: the weekly and monthly blog digests. At each scheduled
 * time of [digest] weekly / monthly (local time), a digest period is
 * opened with the posts published since the frequency's previous digest
 * (the first: the last week or month), plus the posts added after the
 * previous digest was opened but dated within its period (late or
 * backdated: the view digest_posts of migrate.c says which); when there
 * are none the period is recorded as empty and nothing is sent. Otherwise every active
 * subscriber of that frequency gets one message, dedupe
 * "digest:FREQ:PERIOD:subscriber:ID", enqueued in chunks that each
 * commit, so the writer lock is held briefly and an interrupted digest
 * resumes where it stopped. Which posts go in is fixed when the period
 * is opened (the highest post id it considered is recorded, so a post
 * added later waits for the next digest); the message itself is
 * rendered when sent.
 *
 * job_digest_run() does blocking database work: the daemon calls it in
 * libuv's thread pool on a connection of its own.
 */
#ifndef FM_JOB_DIGEST_H
#define FM_JOB_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct cfg;

#define JOB_DIGEST_CHUNK 2000

/* Opens due periods and enqueues their recipients. Returns the number of
 * messages enqueued, or a negative errno. */
int job_digest_run(sqlite3 *db, const struct cfg *cfg, time_t now);

/*
 * The digest of frequency ("weekly", "monthly") that goes out next after
 * now, opened as the job will open it then, with the posts published so
 * far: for a preview, in the caller's transaction, which the caller
 * rolls back. Its detail ("weekly:2026-W49") into detail, its time into
 * *at, its posts into *posts (-1 when its row existed already). 0,
 * -EINVAL for another frequency, or a negative errno.
 */
int job_digest_open_next(sqlite3 *db, const struct cfg *cfg,
    const char *frequency, time_t now, char *detail, size_t size, time_t *at,
    int64_t *posts);

/* The next scheduled digest time after now, over both frequencies, in
 * *when; always 0 (the shape of job.h's next_due; db is not read). */
int job_digest_next_due(
    sqlite3 *db, const struct cfg *cfg, time_t now, time_t *when);
/* The latest scheduled digest time at or before now, over both
 * frequencies: a feed polled before it may lack posts that digest
 * should hold. */
time_t job_digest_last_due(const struct cfg *cfg, time_t now);

#endif
