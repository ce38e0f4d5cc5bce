/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * job_poll: one pass of the jobs (job.h), driven from the loop and run
 * in the thread pool on a connection of the poller's own: a job's
 * INSERT ... SELECT over a big import, or a digest over 100,000
 * subscribers, takes longer than a loop callback may, and a write may
 * wait for the website's lock. A start while a pass runs asks for one
 * more pass after it, so no change to the database goes unseen. It owns
 * no timer: the daemon decides when to run and arms its timer from
 * job_poll_next_due().
 *
 * It has the shape of bounce_poll.h and feed_poll.h.
 */
#ifndef FM_JOB_POLL_H
#define FM_JOB_POLL_H

#include <stdbool.h>
#include <time.h>

#include <sqlite3.h>
#include <uv.h>

struct cfg;
struct job_poll;

/* Called on the loop after each pass; enqueued is how many messages it
 * enqueued (negative: every job failed, logged). */
typedef void job_poll_done_fn(void *arg, int enqueued);

/* A poller on loop whose passes run on db, which nothing else uses
 * while a pass runs. Never NULL. */
struct job_poll *job_poll_new(uv_loop_t *loop, sqlite3 *db);

/*
 * Runs the jobs that are on under cfg (secret: whether the token secret
 * is loaded) at now; with posts false, the jobs that read posts wait
 * (the feed is being polled first). cfg is read by the worker: it must
 * stay until the pass is done (job_poll_busy()). A start during a pass
 * runs one more pass when it ends, with the later now and the union of
 * what was asked. done(arg, n) is called on the loop after each pass.
 * Returns 0, or uv_queue_work()'s error.
 */
int job_poll_start(struct job_poll *p, const struct cfg *cfg, bool secret,
    time_t now, bool posts, job_poll_done_fn *done, void *arg);

bool job_poll_busy(const struct job_poll *p);

/* After a pass: when a time-based job next falls due, 0 and *when, or
 * -ENOENT (none ahead, or no pass yet). */
int job_poll_next_due(const struct job_poll *p, time_t *when);

/* Frees p; must not be busy. NULL does nothing. */
void job_poll_free(struct job_poll *p);

#endif
