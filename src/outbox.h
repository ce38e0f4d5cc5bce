/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * outbox: the messages table, a durable queue with one row per message
 * to one recipient, keyed by a unique dedupe key so that a job may
 * enqueue the same work any number of times and one message exists.
 *
 * The state machine (enum names match the database values):
 *
 *   queued -> sending -> sent
 *                     -> queued      (deferred: next_attempt_at later)
 *                     -> failed | suppressed | cancelled
 *   queued -> cancelled | suppressed
 *   sending -> queued                (at start: left by a crash)
 *   failed -> queued                 (an administrator's retry)
 *
 * outbox_transition() is the only writer of the state. The outbox does
 * not render or send; sender.c does, and jobs only enqueue.
 *
 * Lanes: mail about a booking (every kind that is not bulk, kind.h) and
 * list mail (the bulk kinds) are due and claimed each on its own, so
 * that a confirmation is never queued behind a digest.
 */
#ifndef FM_OUTBOX_H
#define FM_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

enum outbox_state {
	OUTBOX_QUEUED,
	OUTBOX_SENDING,
	OUTBOX_SENT,
	OUTBOX_FAILED,
	OUTBOX_SUPPRESSED,
	OUTBOX_CANCELLED,
};

enum outbox_lane {
	OUTBOX_LANE_BOOKING,
	OUTBOX_LANE_BULK,
};
#define OUTBOX_LANES 2

const char *outbox_state_name(enum outbox_state s);
/* "booking" or "bulk". */
const char *outbox_lane_name(enum outbox_lane lane);
/* The lane of a message of kind (bulk for a bulk kind, else booking,
 * also for a kind unknown to the kind table). */
enum outbox_lane outbox_lane_of(const char *kind);
/* Returns the state named s, or -EINVAL. */
int outbox_state_parse(const char *s);

/* A new message as a job describes it. Ids of 0 mean "none". */
struct outbox_entry {
	const char *dedupe_key;
	const char *kind;
	const char *recipient;
	int64_t booking_id;
	int64_t course_id;
	int64_t subscriber_id;
	const char *detail; /* reminder offset, digest period, or NULL */
	time_t not_before;  /* 0: due now */
};

/* A claimed message, owned by the caller (outbox_item_free()). */
struct outbox_item {
	int64_t id;
	char *kind;
	char *recipient;
	int64_t booking_id;
	int64_t course_id;
	int64_t subscriber_id;
	char *detail;
	char *verp_token;
	char *message_id; /* the Message-ID given at an earlier try, or NULL */
	int attempts;     /* including this one */
	time_t created_at;
	enum outbox_lane lane;
};

/* What a transition records besides the state; NULL/0 fields leave the
 * column as it was, except error which is always written. */
struct outbox_update {
	time_t next_attempt_at;
	int smtp_code;
	const char *smtp_reply;
	const char *error;
	const char *message_id;
	const char *recipient; /* the address it went to, when the record's
				  changed since it was queued */
	const char *relay;     /* the relay that took it, or NULL */
	/* sending -> queued: it was not tried (no relay could take it), so
	 * the claim's attempt does not count. */
	bool untried;
};

struct outbox;

/* Prepares the outbox's statements on db (which must be migrated).
 * NULL on failure (logged). outbox_free(NULL) does nothing. */
struct outbox *outbox_new(sqlite3 *db);
void outbox_free(struct outbox *o);

/* Inserts e unless its dedupe key exists; *created tells which (may be
 * NULL). 0 or a negative errno. */
int outbox_enqueue(
    struct outbox *o, const struct outbox_entry *e, time_t now, bool *created);

/*
 * Moves message id from state from to state to, recording u (may be
 * NULL). -ESTALE when the message was not in state from (someone else
 * moved it), -EINVAL for a transition the machine does not have.
 */
int outbox_transition(struct outbox *o, int64_t id, enum outbox_state from,
    enum outbox_state to, time_t now, const struct outbox_update *u);

/*
 * Claims up to limit messages of lane due at now (queued,
 * next_attempt_at <= now, oldest first), moving each to sending. The
 * caller wraps it in a transaction. *items is a new array of *n items
 * (free each with outbox_item_free() and the array with free()).
 */
int outbox_claim(struct outbox *o, time_t now, enum outbox_lane lane,
    size_t limit, struct outbox_item ***items, size_t *n);
void outbox_item_free(struct outbox_item *it);

/* Returns every sending message to queued (at start, after a crash).
 * Returns how many, or a negative errno. */
int outbox_requeue_sending(struct outbox *o, time_t now);

/* The earliest next_attempt_at of a queued message of lane: 0 and
 * *when, or -ENOENT when nothing is queued in it. */
int outbox_next_due(struct outbox *o, enum outbox_lane lane, time_t *when);

/* The expression, over a row of messages, that is 1 for the bulk lane
 * and 0 for the booking lane: the first column of the index of due
 * messages (migrate.c), which only serves a query that spells it the
 * same. */
#define OUTBOX_BULK_SQL "(kind = 'blog_digest')"

#endif
