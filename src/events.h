/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * events: the history of each address and booking, the table events,
 * appended to and never rewritten (only erasure and [retention] delete
 * from it). Every change familymail makes or observes about an address
 * or a booking is one row: when, what (the names below), the address,
 * the booking, the message and its kind when there is one, who or what
 * did it (the source: "daemon", "admin", "one-click", "report", ...)
 * and a detail in words (the relay's reply, a bounce's class and
 * reason, a suppression's reason). `familymail history` reads it.
 *
 * Each module appends its own events where it makes the change, in the
 * same transaction, with one call. A message's "queued" is recorded by
 * the schema itself (a trigger on messages, migrate.c): jobs enqueue
 * with INSERT ... SELECT, thousands of rows in one statement.
 *
 * It does not decide anything and does not read the history back.
 */
#ifndef FM_EVENTS_H
#define FM_EVENTS_H

#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

/* What happened; the names are the database values. */
enum events_type {
	EVENTS_QUEUED,
	EVENTS_SENT,
	EVENTS_DEFERRED,
	EVENTS_FAILED,
	EVENTS_SUPPRESSED, /* an address put on the list, or a message held */
	EVENTS_CANCELLED,
	EVENTS_RETRIED,
	EVENTS_BOUNCED,
	EVENTS_COMPLAINED,
	EVENTS_DELIVERED, /* a success DSN came back */
	EVENTS_UNSUBSCRIBED,
	EVENTS_SUBSCRIBED,
	EVENTS_CONFIRMED,
	EVENTS_PREFERENCE_CHANGED,
	EVENTS_UNSUPPRESSED,
	EVENTS_RESENT,
	EVENTS_EXPORTED,
	EVENTS_ERASED,
};

/* "queued", ...; "unknown" outside the enum. */
const char *events_name(enum events_type type);

/*
 * Appends an event at time at about address (may be NULL) and booking
 * (0: none), with source and detail (either may be NULL). One
 * statement: the caller may hold the transaction of the change it
 * records. 0 or a negative errno (logged).
 */
int events_add(sqlite3 *db, time_t at, enum events_type type,
    const char *address, int64_t booking_id, const char *source,
    const char *detail);

/* The same about message id: its recipient, booking and kind come from
 * its row in messages. */
int events_add_message(sqlite3 *db, time_t at, enum events_type type,
    int64_t message_id, const char *source, const char *detail);

/* As events_add_message(), with the statement kept in *cache (NULL the
 * first time) from call to call, for a caller that records an event
 * with each outcome of a send: the caller finalizes *cache when it is
 * done with db. */
int events_add_message_cached(sqlite3 *db, sqlite3_stmt **cache, time_t at,
    enum events_type type, int64_t message_id, const char *source,
    const char *detail);

#endif
