/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * subscriber: see subscriber.h. Every change is one UPDATE guarded by
 * the state it leaves, so a repeated click changes nothing and says so.
 */
#include "config.h"

#include "subscriber.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "token.h"
#include "util.h"

void
subscriber_fini(struct subscriber *s)
{
	if (s == NULL)
		return;
	free(s->email);
	free(s->name);
	s->email = NULL;
	s->name = NULL;
}

static void
subscriber_copy(char *dst, size_t size, const unsigned char *src)
{
	(void)snprintf(dst, size, "%s", src != NULL ? (const char *)src : "");
}

int
subscriber_from_token(sqlite3 *db, const void *secret, size_t secret_len,
    const char *purpose, const char *token, struct subscriber *out)
{
	sqlite3_stmt *st;
	int64_t id;
	int ret, rc;

	memset(out, 0, sizeof(*out));
	if (token_subscriber_id(token, &id) != 0)
		return -EINVAL;
	ret = db_prepare(db,
	    "SELECT email, name, status, frequency, language FROM subscribers"
	    " WHERE id = ?1",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 1);

		out->id = id;
		out->email = xstrdup((const char *)sqlite3_column_text(st, 0));
		out->name = name != NULL ? xstrdup((const char *)name) : NULL;
		subscriber_copy(out->status, sizeof(out->status),
		    sqlite3_column_text(st, 2));
		subscriber_copy(out->frequency, sizeof(out->frequency),
		    sqlite3_column_text(st, 3));
		subscriber_copy(out->language, sizeof(out->language),
		    sqlite3_column_text(st, 4));
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	}
	sqlite3_finalize(st);
	if (ret != 0)
		return ret;
	if (!token_verify(secret, secret_len, purpose, id, out->email, token)) {
		subscriber_fini(out);
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	return 0;
}

/* Runs an UPDATE of one subscriber (?1 = id, ?2 = text or unbound);
 * returns the number of rows changed or a negative errno. */
static int
subscriber_update(sqlite3 *db, const char *sql, int64_t id, const char *arg)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	if (arg != NULL)
		sqlite3_bind_text(st, 2, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	return sqlite3_changes(db);
}

/* The status of subscriber id, into out; 0 or -ENOENT or an errno. */
static int
subscriber_status(sqlite3 *db, int64_t id, char *out, size_t size)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret =
	    db_prepare(db, "SELECT status FROM subscribers WHERE id = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		subscriber_copy(out, size, sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
}

/* Records a change of subscriber id in the history of its address. 0
 * or the database's error. */
static int
subscriber_record(sqlite3 *db, int64_t id, enum events_type type,
    const char *source, const char *detail)
{
	sqlite3_stmt *st;
	int err;

	err =
	    db_prepare(db, "SELECT email FROM subscribers WHERE id = ?1", &st);
	if (err != 0)
		return err;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		err = events_add(db, clock_now(), type,
		    (const char *)sqlite3_column_text(st, 0), 0, source,
		    detail);
	sqlite3_finalize(st);
	return err;
}

/* Runs a guarded UPDATE of subscriber id (see subscriber_update()) and
 * records it as type, as one change: 1 when it changed, 0 when it did
 * not, or a negative errno (and nothing changed). */
static int
subscriber_change(sqlite3 *db, const char *sql, int64_t id, const char *arg,
    enum events_type type, const char *source, const char *detail)
{
	int ret, n;

	ret = db_savepoint(db);
	if (ret != 0)
		return ret;
	n = subscriber_update(db, sql, id, arg);
	if (n > 0) {
		ret = subscriber_record(db, id, type, source, detail);
		n = ret != 0 ? ret : 1;
	}
	ret = db_release(db, n < 0 ? n : 0);
	return ret != 0 ? ret : n;
}

int
subscriber_unsubscribe(sqlite3 *db, int64_t id, const char *source)
{
	char status[16];
	int n;

	n = subscriber_change(db,
	    "UPDATE subscribers SET status = 'unsubscribed'"
	    " WHERE id = ?1 AND status <> 'unsubscribed'",
	    id, NULL, EVENTS_UNSUBSCRIBED, source, NULL);
	if (n != 0)
		return n;
	return subscriber_status(db, id, status, sizeof(status));
}

int
subscriber_confirm(sqlite3 *db, int64_t id, const char *source)
{
	char status[16];
	int n, ret;

	n = subscriber_change(db,
	    "UPDATE subscribers SET status = 'active'"
	    " WHERE id = ?1 AND status = 'pending'",
	    id, NULL, EVENTS_CONFIRMED, source, NULL);
	if (n != 0)
		return n;
	ret = subscriber_status(db, id, status, sizeof(status));
	if (ret != 0)
		return ret;
	return strcmp(status, "unsubscribed") == 0 ? -EPERM : 0;
}

int
subscriber_set_frequency(
    sqlite3 *db, int64_t id, const char *frequency, const char *source)
{
	char status[16];
	int n;

	if (frequency == NULL ||
	    (strcmp(frequency, "weekly") != 0 &&
		strcmp(frequency, "monthly") != 0))
		return -EINVAL;
	n = subscriber_change(db,
	    "UPDATE subscribers SET frequency = ?2"
	    " WHERE id = ?1 AND frequency <> ?2",
	    id, frequency, EVENTS_PREFERENCE_CHANGED, source, frequency);
	if (n != 0)
		return n;
	return subscriber_status(db, id, status, sizeof(status));
}

int
subscriber_unsubscribe_token(sqlite3 *db, const void *secret, size_t secret_len,
    const char *token, const char *source)
{
	struct subscriber s;
	int ret;

	ret = subscriber_from_token(
	    db, secret, secret_len, "unsubscribe", token, &s);
	if (ret != 0) {
		log_notice("subscriber unsubscribe refused source=%s "
			   "reason=%s",
		    source,
		    ret == -EINVAL       ? "malformed-token"
			: ret == -ENOENT ? "unknown-token"
					 : "database");
		return ret;
	}
	ret = subscriber_unsubscribe(db, s.id, source);
	if (ret == 1)
		log_info("subscriber unsubscribed id=%lld source=%s",
		    (long long)s.id, source);
	else if (ret == 0)
		log_info("subscriber already unsubscribed id=%lld source=%s",
		    (long long)s.id, source);
	subscriber_fini(&s);
	return ret;
}

void
subscriber_mask_email(const char *email, struct buf *out)
{
	const char *at = strrchr(email, '@');

	if (at == NULL || at == email) {
		buf_puts(out, "****");
		return;
	}
	buf_putc(out, email[0]);
	buf_puts(out, "****");
	buf_puts(out, at);
}
