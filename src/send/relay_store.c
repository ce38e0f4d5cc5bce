/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * relay_store: see relay_store.h. Times are UTC ISO-8601 text, as in
 * every table; relay_usage counts by the minute as unix time / 60.
 */
#include "config.h"

#include "send/relay_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "send/transport.h"
#include "util.h"

enum {
	RELAY_STORE_CLEAR,
	RELAY_STORE_PUT,
	RELAY_STORE_USAGE,
	RELAY_STORE_PURGE,
	RELAY_STORE_COUNT,
};

static const char *const relay_store_sql[] = {
	[RELAY_STORE_CLEAR] = "DELETE FROM relays",
	[RELAY_STORE_PUT] =
	    "INSERT INTO relays (name, position, state, lanes, cause, since,"
	    " next_try_at, quota, quota_window, quota_left, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?10)"
	    " ON CONFLICT (name) DO UPDATE SET position = excluded.position,"
	    " state = excluded.state, lanes = excluded.lanes,"
	    " cause = excluded.cause, since = excluded.since,"
	    " next_try_at = excluded.next_try_at, quota = excluded.quota,"
	    " quota_window = excluded.quota_window,"
	    " quota_left = excluded.quota_left,"
	    " updated_at = excluded.updated_at",
	[RELAY_STORE_USAGE] =
	    "INSERT INTO relay_usage (relay, minute, sent) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (relay, minute) DO UPDATE"
	    " SET sent = sent + excluded.sent",
	[RELAY_STORE_PURGE] = "DELETE FROM relay_usage WHERE minute < ?1",
};

struct relay_store {
	sqlite3 *db;
	sqlite3_stmt *st[RELAY_STORE_COUNT];
};

struct relay_store *
relay_store_new(sqlite3 *db)
{
	struct relay_store *rs = xcalloc(1, sizeof(*rs));

	rs->db = db;
	for (int i = 0; i < RELAY_STORE_COUNT; i++) {
		if (sqlite3_prepare_v3(db, relay_store_sql[i], -1,
			SQLITE_PREPARE_PERSISTENT, &rs->st[i],
			NULL) != SQLITE_OK) {
			log_warnx("relay_store prepare error=\"%s\"",
			    sqlite3_errmsg(db));
			relay_store_free(rs);
			return NULL;
		}
	}
	return rs;
}

void
relay_store_free(struct relay_store *rs)
{
	if (rs == NULL)
		return;
	for (int i = 0; i < RELAY_STORE_COUNT; i++)
		sqlite3_finalize(rs->st[i]);
	free(rs);
}

static int
relay_store_step(struct relay_store *rs, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		log_warnx(
		    "relay_store step error=\"%s\"", sqlite3_errmsg(rs->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int
relay_store_clear(struct relay_store *rs)
{
	return relay_store_step(rs, rs->st[RELAY_STORE_CLEAR]);
}

int
relay_store_put(
    struct relay_store *rs, const struct transport_relay *r, time_t now)
{
	sqlite3_stmt *st = rs->st[RELAY_STORE_PUT];
	char now_s[CLOCK_ISO_LEN], since_s[CLOCK_ISO_LEN],
	    next_s[CLOCK_ISO_LEN];
	const char *lanes = r->paused[0] && r->paused[1] ? "booking,bulk"
	    : r->paused[0]                               ? "booking"
	    : r->paused[1]                               ? "bulk"
							 : NULL;

	clock_format_iso(now, now_s);
	clock_format_iso(r->since > 0 ? r->since : now, since_s);
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)r->position);
	sqlite3_bind_text(st, 3, r->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, lanes, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->cause, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, since_s, -1, SQLITE_STATIC);
	if (r->next_try > 0) {
		clock_format_iso(r->next_try, next_s);
		sqlite3_bind_text(st, 7, next_s, -1, SQLITE_STATIC);
	}
	if (r->quota >= 0) {
		sqlite3_bind_int64(st, 8, r->quota);
		sqlite3_bind_int64(st, 9, r->quota_window);
		sqlite3_bind_int64(st, 11, r->quota_left);
	}
	sqlite3_bind_text(st, 10, now_s, -1, SQLITE_STATIC);
	return relay_store_step(rs, st);
}

int
relay_store_add_usage(
    struct relay_store *rs, const char *relay, time_t minute, unsigned n)
{
	sqlite3_stmt *st = rs->st[RELAY_STORE_USAGE];

	sqlite3_bind_text(st, 1, relay, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(minute / 60));
	sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
	return relay_store_step(rs, st);
}

int
relay_store_purge_usage(struct relay_store *rs, time_t before)
{
	sqlite3_stmt *st = rs->st[RELAY_STORE_PURGE];

	sqlite3_bind_int64(st, 1, (sqlite3_int64)(before / 60));
	return relay_store_step(rs, st);
}

int
relay_store_load_usage(sqlite3 *db, time_t since,
    void (*fn)(const char *relay, time_t minute, unsigned n, void *arg),
    void *arg)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db,
	    "SELECT relay, minute, sent FROM relay_usage"
	    " WHERE minute >= ?1 ORDER BY minute",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(since / 60));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0),
		    (time_t)sqlite3_column_int64(st, 1) * 60,
		    (unsigned)sqlite3_column_int64(st, 2), arg);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

static char *
relay_store_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	return v != NULL ? xstrdup((const char *)v) : NULL;
}

static time_t
relay_store_time(sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	time_t t;

	if (v == NULL || clock_parse_iso((const char *)v, &t) != 0)
		return 0;
	return t;
}

int
relay_store_read(
    sqlite3 *db, time_t now, struct relay_store_row **rows, size_t *n)
{
	static const char sql[] =
	    "SELECT name, position, state, lanes, cause, since, next_try_at,"
	    " coalesce(quota, -1), updated_at, coalesce(quota_left, -1)"
	    " FROM relays ORDER BY position, name";
	struct relay_store_row *v = NULL, *r;
	size_t count = 0, cap = 0;
	sqlite3_stmt *st;
	int ret, rc;

	*rows = NULL;
	*n = 0;
	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	(void)now;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		r = &v[count++];
		memset(r, 0, sizeof(*r));
		r->name = relay_store_dup(st, 0);
		r->position = sqlite3_column_int(st, 1);
		r->state = relay_store_dup(st, 2);
		r->lanes = relay_store_dup(st, 3);
		r->cause = relay_store_dup(st, 4);
		r->since = relay_store_time(st, 5);
		r->next_try = relay_store_time(st, 6);
		r->quota = sqlite3_column_int64(st, 7);
		r->updated_at = relay_store_time(st, 8);
		r->quota_left = sqlite3_column_int64(st, 9);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		relay_store_rows_free(v, count);
		return db_errno(rc);
	}
	*rows = v;
	*n = count;
	return 0;
}

void
relay_store_rows_free(struct relay_store_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].state);
		free(rows[i].lanes);
		free(rows[i].cause);
	}
	free(rows);
}

/* A label value with \, " and newline escaped (the text format). */
static void
relay_store_label(struct buf *b, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

int
relay_store_metrics(sqlite3 *db, time_t now, struct buf *out)
{
	static const char *const states[] = { "up", "down", "throttled",
		"paused", "quota" };
	struct relay_store_row *rows;
	size_t n;
	int ret;

	ret = relay_store_read(db, now, &rows, &n);
	if (ret != 0)
		return ret;
	buf_puts(out,
	    "# HELP familymail_relay_up Whether the relay takes "
	    "mail (1), as the daemon last knew.\n"
	    "# TYPE familymail_relay_up gauge\n");
	for (size_t i = 0; i < n; i++) {
		buf_puts(out, "familymail_relay_up{relay=\"");
		relay_store_label(out, rows[i].name);
		buf_printf(out, "\"} %d\n", strcmp(rows[i].state, "up") == 0);
	}
	buf_puts(out,
	    "# HELP familymail_relay_state The relay's state: up, "
	    "down, throttled, paused or quota (spent).\n"
	    "# TYPE familymail_relay_state gauge\n");
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < UTIL_ARRAY_LEN(states); k++) {
			buf_puts(out, "familymail_relay_state{relay=\"");
			relay_store_label(out, rows[i].name);
			buf_printf(out, "\",state=\"%s\"} %d\n", states[k],
			    strcmp(rows[i].state, states[k]) == 0);
		}
	}
	buf_puts(out,
	    "# HELP familymail_relay_paused A lane of the relay "
	    "paused by a refusal about the sender, and why.\n"
	    "# TYPE familymail_relay_paused gauge\n");
	for (size_t i = 0; i < n; i++) {
		static const char *const lanes[] = { "booking", "bulk" };

		for (size_t k = 0; k < UTIL_ARRAY_LEN(lanes); k++) {
			bool on = rows[i].lanes != NULL &&
			    strstr(rows[i].lanes, lanes[k]) != NULL;

			buf_puts(out, "familymail_relay_paused{relay=\"");
			relay_store_label(out, rows[i].name);
			buf_printf(out, "\",lane=\"%s\",cause=\"", lanes[k]);
			relay_store_label(out, on ? rows[i].cause : "");
			buf_printf(out, "\"} %d\n", on);
		}
	}
	buf_puts(out,
	    "# HELP familymail_relay_quota_left Messages the relay "
	    "may still take in its quota window.\n"
	    "# TYPE familymail_relay_quota_left gauge\n");
	for (size_t i = 0; i < n; i++) {
		if (rows[i].quota < 0)
			continue;
		buf_puts(out, "familymail_relay_quota_left{relay=\"");
		relay_store_label(out, rows[i].name);
		buf_printf(out, "\"} %lld\n", (long long)rows[i].quota_left);
	}
	relay_store_rows_free(rows, n);
	return 0;
}
