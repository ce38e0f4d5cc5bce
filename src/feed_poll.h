/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * feed_poll: one poll of the blog feed, driven from the loop. The feed
 * is fetched on the loop with libcurl's multi interface (fetch.h), then
 * parsed and stored in the thread pool on a connection of its own (a
 * big feed takes longer to parse than a loop callback may); the outcome
 * is logged. It owns no timer: the daemon decides when to poll.
 *
 * It is the feed's counterpart of bounce_poll.h, and has its shape.
 */
#ifndef FM_FEED_POLL_H
#define FM_FEED_POLL_H

#include <stdbool.h>
#include <time.h>

#include <uv.h>

struct cfg;
struct feed_poll;

/* Called on the loop when a poll ended, whatever its outcome;
 * new_posts tells whether it stored any post not seen before. */
typedef void feed_poll_done_fn(void *arg, bool new_posts);

/* A poller on loop. Never NULL. */
struct feed_poll *feed_poll_new(uv_loop_t *loop);

/*
 * Starts one poll of cfg's [feed] url into cfg's database (both are
 * copied: cfg may be freed once this returns). done(arg, new_posts) is
 * called on the loop when it ends. Returns 0, -EBUSY if a poll is
 * running, -EINVAL when cfg has no feed, or the fetch's error.
 */
int feed_poll_start(struct feed_poll *p, const struct cfg *cfg,
    feed_poll_done_fn *done, void *arg);

bool feed_poll_busy(const struct feed_poll *p);

/* When the last finished poll began (0: none yet): posts published
 * before then are in the table, if the feed had them. */
time_t feed_poll_polled(const struct feed_poll *p);

/*
 * Drops a fetch in flight, whose done callback is then never called
 * (the next start polls again). A poll already parsing or storing in
 * the thread pool is left to finish: feed_poll_busy() tells when.
 */
void feed_poll_stop(struct feed_poll *p);

/* Frees p; must not be busy. NULL does nothing. */
void feed_poll_free(struct feed_poll *p);

#endif
