/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sender: moves due messages from the outbox to the transport and
 * records what became of them. On the loop thread it claims a batch
 * (queued -> sending), hands it to compose jobs in the thread pool (each
 * on a read-only connection of the sender's own), submits what they
 * built, and commits the outcomes of finished messages in the same small
 * transactions: never one fsync per message, never more than a batch in
 * memory.
 *
 * Outcomes: sent; deferred with exponential backoff and jitter (up to
 * [smtp] give_up after the message was queued, then failed); failed;
 * cancelled or suppressed when compose says so.
 */
#ifndef FM_SENDER_H
#define FM_SENDER_H

#include <stdint.h>

#include <uv.h>

struct compose_env;
struct outbox;

struct sender_stats {
	uint64_t sent;
	uint64_t deferred;
	uint64_t failed;
	uint64_t cancelled;
	uint64_t suppressed;
};

struct sender;

/* Creates the sender, its compose connections and the transport
 * env->cfg names. env and outbox stay the caller's and must outlive the
 * sender. NULL with *err (the caller frees) when the database cannot be
 * opened again or the transport cannot be set up. */
struct sender *sender_new(uv_loop_t *loop, const struct compose_env *env,
    struct outbox *outbox, char **err);

/* Looks for due messages soon (coalesced: many kicks, one pass). */
void sender_kick(struct sender *s);

/* idle(arg) runs whenever nothing is due now, nothing is in flight and
 * every outcome is committed (--once uses it to exit). */
void sender_set_idle_cb(struct sender *s, void (*idle)(void *), void *arg);

const struct sender_stats *sender_stats(const struct sender *s);

/*
 * The wait, in seconds, before a message deferred at its attempts-th
 * attempt (1 for the first) is tried again: initial ([smtp]
 * retry_initial; 60 when 0 or less) doubled for each attempt after the
 * first, up to max (retry_max; never below initial), then moved by up to
 * a quarter of itself either way so that a relay's recovery is not met
 * by every deferred message at once: by r % (2 * q + 1) - q seconds,
 * where q is the doubled delay / 4 (rounded down), r a random number.
 * At least 1. Pure: the same arguments give the same wait.
 */
int64_t sender_backoff_delay(
    int64_t initial, int64_t max, int attempts, uint64_t r);

/* Stops claiming, closes the transport (in-flight messages finish or
 * come back deferred), commits every outcome, frees the sender, then
 * calls stopped(arg). */
void sender_stop(struct sender *s, void (*stopped)(void *), void *arg);

#endif
