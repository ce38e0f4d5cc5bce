/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * subscriber_queue: the subscriber changes asked for over HTTP
 * (unsubscribe, confirm, a new frequency), applied off the loop and
 * never lost.
 *
 * The booking website may hold the database's write lock for many
 * seconds; a write on the loop would stall every page and /healthz, and
 * a one-click unsubscribe that fails is not sent again. So a change is
 * applied in the thread pool, on a connection of its own with a short
 * busy timeout (250 ms). When the lock is free it is applied at once
 * (SUBSCRIBER_QUEUE_APPLIED). When it is not, the change is appended to
 * a journal beside the database (DATABASE-changes, synced), the caller
 * is told SUBSCRIBER_QUEUE_QUEUED, and the queue tries again every half
 * second until the lock is free; the log says why, in SQLite's words.
 * At the next start a journal left by a stop or a crash is applied
 * first. Changes are applied in the order asked, each guarded by the
 * state it leaves (subscriber.h), so applying one twice changes nothing.
 *
 * It renders nothing and checks no token: the pages do that first.
 */
#ifndef FM_SUBSCRIBER_QUEUE_H
#define FM_SUBSCRIBER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

enum subscriber_change {
	SUBSCRIBER_CHANGE_UNSUBSCRIBE,
	SUBSCRIBER_CHANGE_CONFIRM,
	SUBSCRIBER_CHANGE_FREQUENCY,
};

enum subscriber_queue_outcome {
	SUBSCRIBER_QUEUE_APPLIED, /* in the database; see result */
	SUBSCRIBER_QUEUE_QUEUED,  /* in the journal: applied later */
	SUBSCRIBER_QUEUE_FAILED,  /* neither (the disk failed too) */
};

/*
 * The outcome of one change, on the loop. result is, when APPLIED, what
 * subscriber_unsubscribe(), subscriber_confirm() or
 * subscriber_set_frequency() returned (1 changed, 0 already so,
 * -EPERM, -ENOENT), else 0.
 */
typedef void (*subscriber_queue_cb)(
    void *arg, enum subscriber_queue_outcome outcome, int result);

struct subscriber_queue;

/* A queue for the database at path, on loop; reads the journal a
 * previous run left and starts applying it. Never NULL. */
struct subscriber_queue *subscriber_queue_new(
    uv_loop_t *loop, const char *database);

/*
 * Stops q at a stop of the daemon: no new job starts and the retry timer
 * is closed; callers waiting are told SUBSCRIBER_QUEUE_QUEUED (now, or
 * when the job under way ends), and what was not applied is journaled
 * by subscriber_queue_free(). subscriber_queue_stop(NULL) does nothing.
 */
void subscriber_queue_stop(struct subscriber_queue *q);

/*
 * Frees q once the loop has finished (after uv_run() returned): changes
 * not yet in the journal are written to it, for the next start.
 * subscriber_queue_free(NULL) does nothing.
 */
void subscriber_queue_free(struct subscriber_queue *q);

/*
 * Asks for a change of subscriber id: frequency ("weekly" or
 * "monthly") for SUBSCRIBER_CHANGE_FREQUENCY, else NULL; source names
 * who asked, for the log ("http", "preferences"). cb is called exactly
 * once, later, on the loop.
 */
void subscriber_queue_submit(struct subscriber_queue *q,
    enum subscriber_change change, int64_t id, const char *frequency,
    const char *source, subscriber_queue_cb cb, void *arg);

/* True if a change of this kind for id waits in the queue (asked for,
 * not yet in the database). */
bool subscriber_queue_has(const struct subscriber_queue *q,
    enum subscriber_change change, int64_t id);

/* How many changes wait (for the metrics). */
size_t subscriber_queue_waiting(const struct subscriber_queue *q);

#endif
