/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * events: see events.h. Each call prepares its statement: an event is
 * one row beside a change that costs more (a commit, a send), and the
 * callers hold connections of their own on different threads; the
 * sender, which records one with each outcome, keeps its own.
 */
#include "config.h"

#include "events.h"

#include <stdbool.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "util.h"

static const char *const events_names[] = {
	[EVENTS_QUEUED] = "queued",
	[EVENTS_SENT] = "sent",
	[EVENTS_DEFERRED] = "deferred",
	[EVENTS_FAILED] = "failed",
	[EVENTS_SUPPRESSED] = "suppressed",
	[EVENTS_CANCELLED] = "cancelled",
	[EVENTS_RETRIED] = "retried",
	[EVENTS_BOUNCED] = "bounced",
	[EVENTS_COMPLAINED] = "complained",
	[EVENTS_DELIVERED] = "delivered",
	[EVENTS_UNSUBSCRIBED] = "unsubscribed",
	[EVENTS_SUBSCRIBED] = "subscribed",
	[EVENTS_CONFIRMED] = "confirmed",
	[EVENTS_PREFERENCE_CHANGED] = "preference_changed",
	[EVENTS_UNSUPPRESSED] = "unsuppressed",
	[EVENTS_RESENT] = "resent",
	[EVENTS_EXPORTED] = "exported",
	[EVENTS_ERASED] = "erased",
};

const char *
events_name(enum events_type type)
{
	if ((size_t)type >= UTIL_ARRAY_LEN(events_names))
		return "unknown";
	return events_names[type];
}

/* Binds ?1 at, ?2 the event, ?5 source, ?6 detail; runs st, then
 * resets it (keep) or finalizes it. */
static int
events_run(sqlite3 *db, sqlite3_stmt *st, bool keep, time_t at,
    enum events_type type, const char *source, const char *detail)
{
	char at_s[CLOCK_ISO_LEN];
	int rc;

	clock_format_iso(at, at_s);
	sqlite3_bind_text(st, 1, at_s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, events_name(type), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		log_warnx("events add event=%s error=\"%s\"", events_name(type),
		    sqlite3_errmsg(db));
	if (keep) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int
events_add(sqlite3 *db, time_t at, enum events_type type, const char *address,
    int64_t booking_id, const char *source, const char *detail)
{
	sqlite3_stmt *st;
	int ret;

	ret = db_prepare(db,
	    "INSERT INTO events (at, event, address, booking_id, source,"
	    " detail) VALUES (?1, ?2, ?3, nullif(?4, 0), ?5, ?6)",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 3, address, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, booking_id);
	return events_run(db, st, false, at, type, source, detail);
}

static const char events_message_sql[] =
    "INSERT INTO events (at, event, address, booking_id, message_id,"
    " kind, source, detail)"
    " SELECT ?1, ?2, recipient, booking_id, id, kind, ?5, ?6"
    " FROM messages WHERE id = ?3";

int
events_add_message(sqlite3 *db, time_t at, enum events_type type,
    int64_t message_id, const char *source, const char *detail)
{
	sqlite3_stmt *st;
	int ret;

	ret = db_prepare(db, events_message_sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 3, message_id);
	return events_run(db, st, false, at, type, source, detail);
}

int
events_add_message_cached(sqlite3 *db, sqlite3_stmt **cache, time_t at,
    enum events_type type, int64_t message_id, const char *source,
    const char *detail)
{
	int rc;

	if (*cache == NULL) {
		rc = sqlite3_prepare_v3(db, events_message_sql, -1,
		    SQLITE_PREPARE_PERSISTENT, cache, NULL);
		if (rc != SQLITE_OK) {
			log_warnx(
			    "events prepare error=\"%s\"", sqlite3_errmsg(db));
			return db_errno(rc);
		}
	}
	sqlite3_bind_int64(*cache, 3, message_id);
	return events_run(db, *cache, true, at, type, source, detail);
}
