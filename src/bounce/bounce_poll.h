/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_poll: one poll of the bounce mailbox, driven from the loop.
 * The mailbox is read and every message parsed in the thread pool
 * (bounce_source); the reports come back to the loop thread, which
 * records them and applies their effects (bounce_apply); the processed
 * messages are then marked or deleted in the thread pool again, on the
 * same connection, so a message is never marked before it is recorded.
 *
 * It remembers, for the life of the daemon, the messages it left alone
 * (replies, auto-replies, unreadable mail) and those it processed, so
 * the next poll does not download them again. It owns no timer: the
 * daemon decides when to poll.
 */
#ifndef FM_BOUNCE_POLL_H
#define FM_BOUNCE_POLL_H

#include <stdbool.h>

#include <sqlite3.h>
#include <uv.h>

struct cfg;
struct bounce_poll;

/* Most messages fetched by one poll; the rest wait for the next one. */
#define BOUNCE_POLL_BATCH 500

typedef void bounce_poll_done_fn(void *arg);

/* A poller on loop that records into db (the loop thread's
 * connection). Never NULL. */
struct bounce_poll *bounce_poll_new(uv_loop_t *loop, sqlite3 *db);

/*
 * Starts one poll of cfg's [bounces] source (cfg and secret, the
 * [unsubscribe] secret or NULL, are copied from: they may be freed once
 * this returns). done(arg) is called on the loop when the
 * poll ended, whatever its outcome (which is logged). Returns 0,
 * -EBUSY if a poll is running, -EINVAL when cfg has no source, or
 * uv_queue_work()'s error.
 */
int bounce_poll_start(struct bounce_poll *p, const struct cfg *cfg,
    const char *secret, bounce_poll_done_fn *done, void *arg);

bool bounce_poll_busy(const struct bounce_poll *p);

/* Frees p; must not be busy. NULL does nothing. */
void bounce_poll_free(struct bounce_poll *p);

#endif
