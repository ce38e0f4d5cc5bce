/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * outbox: see outbox.h. Statements are prepared once per connection and
 * reset after each use.
 */
#include "config.h"

#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "events.h"
#include "kind.h"
#include "log.h"
#include "util.h"

static const char *const outbox_lane_names[] = {
	[OUTBOX_LANE_BOOKING] = "booking",
	[OUTBOX_LANE_BULK] = "bulk",
};

static const char *const outbox_names[] = {
	[OUTBOX_QUEUED] = "queued",
	[OUTBOX_SENDING] = "sending",
	[OUTBOX_SENT] = "sent",
	[OUTBOX_FAILED] = "failed",
	[OUTBOX_SUPPRESSED] = "suppressed",
	[OUTBOX_CANCELLED] = "cancelled",
};

/* outbox_allowed[from] is the set of states reachable from it. */
#define OUTBOX_BIT(s) (1u << (s))
static const unsigned outbox_allowed[] = {
	[OUTBOX_QUEUED] = OUTBOX_BIT(OUTBOX_SENDING) |
	    OUTBOX_BIT(OUTBOX_CANCELLED) | OUTBOX_BIT(OUTBOX_SUPPRESSED),
	[OUTBOX_SENDING] = OUTBOX_BIT(OUTBOX_SENT) | OUTBOX_BIT(OUTBOX_QUEUED) |
	    OUTBOX_BIT(OUTBOX_FAILED) | OUTBOX_BIT(OUTBOX_SUPPRESSED) |
	    OUTBOX_BIT(OUTBOX_CANCELLED),
	[OUTBOX_SENT] = 0,
	[OUTBOX_FAILED] = OUTBOX_BIT(OUTBOX_QUEUED),
	[OUTBOX_SUPPRESSED] = OUTBOX_BIT(OUTBOX_QUEUED),
	[OUTBOX_CANCELLED] = 0,
};

enum {
	OUTBOX_ST_ENQUEUE,
	OUTBOX_ST_TRANSITION,
	OUTBOX_ST_CLAIM,
	OUTBOX_ST_STALE,
	OUTBOX_ST_NEXT_DUE,
	OUTBOX_ST_COUNT,
};

static const char *const outbox_sql[] = {
	[OUTBOX_ST_ENQUEUE] =
	    "INSERT INTO messages (dedupe_key, kind, recipient, booking_id,"
	    " course_id, subscriber_id, detail, created_at, next_attempt_at,"
	    " updated_at)"
	    " VALUES (?1, ?2, ?3, nullif(?4, 0), nullif(?5, 0),"
	    " nullif(?6, 0), ?7, ?8, ?9, ?8)"
	    " ON CONFLICT (dedupe_key) DO NOTHING",
	[OUTBOX_ST_TRANSITION] =
	    "UPDATE messages SET state = ?3, updated_at = ?4,"
	    " attempts = max(0, attempts + (?3 = 'sending') - ?12),"
	    " relay = coalesce(?11, relay),"
	    " next_attempt_at = coalesce(?5, next_attempt_at),"
	    " smtp_code = coalesce(?6, smtp_code),"
	    " smtp_reply = coalesce(?7, smtp_reply),"
	    " last_error = ?8,"
	    " message_id = coalesce(?9, message_id),"
	    " recipient = coalesce(?10, recipient),"
	    " sent_at = CASE WHEN ?3 = 'sent' THEN ?4 ELSE sent_at END"
	    " WHERE id = ?1 AND state = ?2",
	/* The claim moves the rows to 'sending' as the transition would
	 * (an attempt counted, the last error cleared) in one statement,
	 * not one a row. RETURNING gives them in no set order. */
	[OUTBOX_ST_CLAIM] =
	    "UPDATE messages SET state = 'sending', updated_at = ?4,"
	    " attempts = attempts + 1, last_error = NULL"
	    " WHERE id IN (SELECT id"
	    /* Left to itself the planner may take another index and sort
	     * every queued row at each claim: quadratic in the queue. */
	    " FROM messages INDEXED BY messages_due"
	    " WHERE state = 'queued' AND " OUTBOX_BULK_SQL " = ?3"
	    " AND next_attempt_at <= ?1"
	    " ORDER BY next_attempt_at, id LIMIT ?2)"
	    " RETURNING id, kind, recipient, coalesce(booking_id, 0),"
	    " coalesce(course_id, 0), coalesce(subscriber_id, 0), detail,"
	    " verp_token, attempts, created_at, message_id,"
	    " next_attempt_at",
	[OUTBOX_ST_STALE] = "SELECT id FROM messages WHERE state = 'sending'",
	[OUTBOX_ST_NEXT_DUE] = "SELECT min(next_attempt_at)"
			       " FROM messages INDEXED BY messages_due"
			       " WHERE state = 'queued'"
			       " AND " OUTBOX_BULK_SQL " = ?1",
};

struct outbox {
	sqlite3 *db;
	sqlite3_stmt *st[OUTBOX_ST_COUNT];
	sqlite3_stmt *event_st; /* events_add_message_cached()'s */
};

const char *
outbox_state_name(enum outbox_state s)
{
	if ((size_t)s >= UTIL_ARRAY_LEN(outbox_names))
		return "unknown";
	return outbox_names[s];
}

const char *
outbox_lane_name(enum outbox_lane lane)
{
	if ((size_t)lane >= UTIL_ARRAY_LEN(outbox_lane_names))
		return "unknown";
	return outbox_lane_names[lane];
}

enum outbox_lane
outbox_lane_of(const char *kind)
{
	const struct kind *k = kind != NULL ? kind_find(kind) : NULL;

	return k != NULL && k->bulk ? OUTBOX_LANE_BULK : OUTBOX_LANE_BOOKING;
}

int
outbox_state_parse(const char *s)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(outbox_names); i++)
		if (strcmp(s, outbox_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

struct outbox *
outbox_new(sqlite3 *db)
{
	struct outbox *o = xcalloc(1, sizeof(*o));

	o->db = db;
	for (int i = 0; i < OUTBOX_ST_COUNT; i++) {
		if (sqlite3_prepare_v3(db, outbox_sql[i], -1,
			SQLITE_PREPARE_PERSISTENT, &o->st[i],
			NULL) != SQLITE_OK) {
			log_warnx(
			    "outbox prepare error=\"%s\"", sqlite3_errmsg(db));
			outbox_free(o);
			return NULL;
		}
	}
	return o;
}

void
outbox_free(struct outbox *o)
{
	if (o == NULL)
		return;
	for (int i = 0; i < OUTBOX_ST_COUNT; i++)
		sqlite3_finalize(o->st[i]);
	sqlite3_finalize(o->event_st);
	free(o);
}

static int
outbox_step_done(struct outbox *o, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		log_warnx("outbox step error=\"%s\"", sqlite3_errmsg(o->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int
outbox_enqueue(
    struct outbox *o, const struct outbox_entry *e, time_t now, bool *created)
{
	sqlite3_stmt *st = o->st[OUTBOX_ST_ENQUEUE];
	char now_s[CLOCK_ISO_LEN], due_s[CLOCK_ISO_LEN];
	int ret;

	clock_format_iso(now, now_s);
	clock_format_iso(e->not_before > now ? e->not_before : now, due_s);
	sqlite3_bind_text(st, 1, e->dedupe_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, e->booking_id);
	sqlite3_bind_int64(st, 5, e->course_id);
	sqlite3_bind_int64(st, 6, e->subscriber_id);
	sqlite3_bind_text(st, 7, e->detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now_s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, due_s, -1, SQLITE_STATIC);
	ret = outbox_step_done(o, st);
	if (ret == 0 && created != NULL)
		*created = sqlite3_changes(o->db) > 0;
	return ret;
}

/* The message's history: every transition but the claim, which the
 * outcome follows at once. Out of failed or suppressed it is an
 * administrator's retry. */
static int
outbox_record_event(struct outbox *o, int64_t id, enum outbox_state from,
    enum outbox_state to, time_t now, const struct outbox_update *u)
{
	static const enum events_type types[] = {
		[OUTBOX_QUEUED] = EVENTS_DEFERRED,
		[OUTBOX_SENT] = EVENTS_SENT,
		[OUTBOX_FAILED] = EVENTS_FAILED,
		[OUTBOX_SUPPRESSED] = EVENTS_SUPPRESSED,
		[OUTBOX_CANCELLED] = EVENTS_CANCELLED,
	};
	bool retry = to == OUTBOX_QUEUED && from != OUTBOX_SENDING;
	const char *what = u == NULL ? NULL
	    : to == OUTBOX_SENT      ? u->smtp_reply
				     : u->error;
	char next[CLOCK_ISO_LEN], *detail = NULL;
	int ret;

	if (to == OUTBOX_SENDING)
		return 0;
	if (to == OUTBOX_QUEUED && !retry && u != NULL &&
	    u->next_attempt_at > now) {
		clock_format_iso(u->next_attempt_at, next);
		detail = xasprintf(
		    "%s; next try %s", what != NULL ? what : "deferred", next);
		what = detail;
	}
	ret = events_add_message_cached(o->db, &o->event_st, now,
	    retry ? EVENTS_RETRIED : types[to], id, retry ? "admin" : "daemon",
	    what);
	free(detail);
	return ret;
}

int
outbox_transition(struct outbox *o, int64_t id, enum outbox_state from,
    enum outbox_state to, time_t now, const struct outbox_update *u)
{
	sqlite3_stmt *st = o->st[OUTBOX_ST_TRANSITION];
	char now_s[CLOCK_ISO_LEN], next_s[CLOCK_ISO_LEN];
	bool untried;
	int ret;

	if ((size_t)from >= UTIL_ARRAY_LEN(outbox_allowed) ||
	    (outbox_allowed[from] & OUTBOX_BIT(to)) == 0) {
		log_warnx("outbox refused id=%lld %s -> %s", (long long)id,
		    outbox_state_name(from), outbox_state_name(to));
		return -EINVAL;
	}
	clock_format_iso(now, now_s);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, outbox_names[from], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, outbox_names[to], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now_s, -1, SQLITE_STATIC);
	if (u != NULL && u->next_attempt_at != 0) {
		clock_format_iso(u->next_attempt_at, next_s);
		sqlite3_bind_text(st, 5, next_s, -1, SQLITE_STATIC);
	} else if (to == OUTBOX_QUEUED) {
		sqlite3_bind_text(st, 5, now_s, -1, SQLITE_STATIC);
	}
	if (u != NULL) {
		if (u->smtp_code != 0)
			sqlite3_bind_int(st, 6, u->smtp_code);
		sqlite3_bind_text(st, 7, u->smtp_reply, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, u->error, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, u->message_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, u->recipient, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 11, u->relay, -1, SQLITE_STATIC);
	}
	untried = u != NULL && u->untried && from == OUTBOX_SENDING &&
	    to == OUTBOX_QUEUED;
	sqlite3_bind_int(st, 12, untried ? 1 : 0);
	ret = outbox_step_done(o, st);
	if (ret != 0)
		return ret;
	if (sqlite3_changes(o->db) == 0)
		return -ESTALE;
	log_debug("outbox id=%lld %s -> %s", (long long)id,
	    outbox_state_name(from), outbox_state_name(to));
	return outbox_record_event(o, id, from, to, now, u);
}

static char *
outbox_column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? xstrdup((const char *)s) : NULL;
}

void
outbox_item_free(struct outbox_item *it)
{
	if (it == NULL)
		return;
	free(it->kind);
	free(it->recipient);
	free(it->detail);
	free(it->verp_token);
	free(it->message_id);
	free(it);
}

/* A claimed item with the time it was due, for the order. */
struct outbox_claimed {
	struct outbox_item *it;
	char due[CLOCK_ISO_LEN];
};

static int
outbox_claimed_cmp(const void *a, const void *b)
{
	const struct outbox_claimed *x = a, *y = b;
	int c = strcmp(x->due, y->due);

	if (c != 0)
		return c;
	return x->it->id < y->it->id ? -1 : x->it->id > y->it->id;
}

int
outbox_claim(struct outbox *o, time_t now, enum outbox_lane lane, size_t limit,
    struct outbox_item ***items, size_t *n)
{
	sqlite3_stmt *st = o->st[OUTBOX_ST_CLAIM];
	struct outbox_claimed *c;
	struct outbox_item **v = NULL, *it;
	char now_s[CLOCK_ISO_LEN];
	const char *due;
	size_t count = 0;
	int rc, ret = 0;

	clock_format_iso(now, now_s);
	sqlite3_bind_text(st, 1, now_s, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	sqlite3_bind_int(st, 3, lane == OUTBOX_LANE_BULK ? 1 : 0);
	sqlite3_bind_text(st, 4, now_s, -1, SQLITE_STATIC);
	c = xcalloc(limit == 0 ? 1 : limit, sizeof(*c));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == limit)
			continue; /* cannot be: the subquery's LIMIT */
		it = xcalloc(1, sizeof(*it));
		it->id = sqlite3_column_int64(st, 0);
		it->kind = outbox_column_dup(st, 1);
		it->recipient = outbox_column_dup(st, 2);
		it->booking_id = sqlite3_column_int64(st, 3);
		it->course_id = sqlite3_column_int64(st, 4);
		it->subscriber_id = sqlite3_column_int64(st, 5);
		it->detail = outbox_column_dup(st, 6);
		it->verp_token = outbox_column_dup(st, 7);
		it->attempts = sqlite3_column_int(st, 8);
		if (clock_parse_iso((const char *)sqlite3_column_text(st, 9),
			&it->created_at) != 0)
			it->created_at = now;
		it->message_id = outbox_column_dup(st, 10);
		it->lane = lane;
		due = (const char *)sqlite3_column_text(st, 11);
		(void)snprintf(c[count].due, sizeof(c[count].due), "%s",
		    due != NULL ? due : "");
		c[count++].it = it;
		log_debug(
		    "outbox id=%lld queued -> sending", (long long)it->id);
	}
	if (rc != SQLITE_DONE) {
		log_warnx("outbox claim error=\"%s\"", sqlite3_errmsg(o->db));
		ret = db_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (ret != 0) {
		for (size_t i = 0; i < count; i++)
			outbox_item_free(c[i].it);
		free(c);
		return ret;
	}
	qsort(c, count, sizeof(*c), outbox_claimed_cmp);
	v = xcalloc(count == 0 ? 1 : count, sizeof(struct outbox_item *));
	for (size_t i = 0; i < count; i++)
		v[i] = c[i].it;
	free(c);
	*items = v;
	*n = count;
	return 0;
}

int
outbox_requeue_sending(struct outbox *o, time_t now)
{
	sqlite3_stmt *st = o->st[OUTBOX_ST_STALE];
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			ids = xreallocarray(ids, cap, sizeof(*ids));
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE)
		ret = db_errno(rc);
	sqlite3_reset(st);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		const struct outbox_update u = {
			.error = "interrupted while sending",
		};

		ret = outbox_transition(
		    o, ids[i], OUTBOX_SENDING, OUTBOX_QUEUED, now, &u);
		if (ret == 0)
			log_notice("outbox requeued id=%lld reason=restart",
			    (long long)ids[i]);
	}
	free(ids);
	return ret == 0 ? (int)n : ret;
}

int
outbox_next_due(struct outbox *o, enum outbox_lane lane, time_t *when)
{
	sqlite3_stmt *st = o->st[OUTBOX_ST_NEXT_DUE];
	int ret = -ENOENT;

	sqlite3_bind_int(st, 1, lane == OUTBOX_LANE_BULK ? 1 : 0);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    clock_parse_iso((const char *)sqlite3_column_text(st, 0), when) ==
		0)
		ret = 0;
	sqlite3_reset(st);
	return ret;
}
