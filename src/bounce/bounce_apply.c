/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_apply: see bounce_apply.h. Runs on the loop thread with the
 * daemon's connection: a report is a few indexed statements.
 */
#include "config.h"

#include "bounce/bounce_apply.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/bounce.h"
#include "clock.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "subscriber.h"
#include "suppress.h"
#include "util.h"
#include "verp.h"

/* The message a report answers. */
struct bounce_apply_msg {
	int64_t id; /* 0: none found */
	char *recipient;
};

static void
bounce_apply_msg_fini(struct bounce_apply_msg *m)
{
	free(m->recipient);
	m->id = 0;
	m->recipient = NULL;
}

/* Runs a lookup of (id, recipient) bound to one text; 0 found, -ENOENT
 * or another negative errno. */
static int
bounce_apply_lookup(
    sqlite3 *db, const char *sql, const char *arg, struct bounce_apply_msg *m)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (arg == NULL || arg[0] == '\0')
		return -ENOENT;
	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		m->id = sqlite3_column_int64(st, 0);
		m->recipient =
		    xstrdup((const char *)sqlite3_column_text(st, 1));
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	}
	sqlite3_finalize(st);
	return ret;
}

/* The VERP token that begins one of our Message-IDs ("TOKEN.RANDOM@
 * domain", mime.h) into token; false if msgid is not of that form. */
static bool
bounce_apply_msgid_token(const char *msgid, char *token, size_t size)
{
	size_t n = msgid != NULL ? strspn(msgid,
				       "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789")
				 : 0;

	if (n == 0 || n >= size || msgid[n] != '.' ||
	    strchr(msgid + n, '@') == NULL)
		return false;
	memcpy(token, msgid, n);
	token[n] = '\0';
	return true;
}

/* The VERP token is the surest (it was made for this; tokens are made
 * in lower case, mail may change it), then the token that begins the
 * returned message's Message-ID, then the recipient's last message.
 * Each is one look-up in an index: a bounce for mail that is not ours
 * costs no more than one that is. */
static int
bounce_apply_find(sqlite3 *db, const struct bounce_report *r, const char *rcpt,
    struct bounce_apply_msg *m)
{
	static const char by_token[] =
	    "SELECT id, recipient FROM messages WHERE verp_token = lower(?1)";
	char token[VERP_TOKEN_MAX + 1];
	int ret;

	ret = bounce_apply_lookup(db, by_token, r->verp_token, m);
	if (ret == -ENOENT &&
	    bounce_apply_msgid_token(r->orig_message_id, token, sizeof(token)))
		ret = bounce_apply_lookup(db, by_token, token, m);
	if (ret == -ENOENT)
		ret = bounce_apply_lookup(db,
		    "SELECT id, recipient FROM messages WHERE recipient = ?1"
		    " AND state = 'sent' ORDER BY id DESC LIMIT 1",
		    rcpt, m);
	return ret == -ENOENT ? 0 : ret;
}

static bool
bounce_apply_seen(sqlite3 *db, const char *source, int *err)
{
	sqlite3_stmt *st;
	int rc;

	*err = 0;
	if (source == NULL)
		return false;
	*err = db_prepare(
	    db, "SELECT 1 FROM bounces WHERE source = ?1 LIMIT 1", &st);
	if (*err != 0)
		return false;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		*err = db_errno(rc);
	return rc == SQLITE_ROW;
}

static int
bounce_apply_insert(sqlite3 *db, const struct bounce_report *r,
    const struct bounce_rcpt *rc, const char *addr, int64_t msg_id,
    const char *source, const char *now_iso)
{
	sqlite3_stmt *st;
	int ret, res;

	ret = db_prepare(db,
	    "INSERT INTO bounces (message_id, recipient, status, action,"
	    " class, reason, kind, diagnostic, source, received_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	    &st);
	if (ret != 0)
		return ret;
	if (msg_id != 0)
		sqlite3_bind_int64(st, 1, msg_id);
	sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
	if (rc != NULL) {
		sqlite3_bind_text(st, 3, rc->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, rc->action, -1, SQLITE_STATIC);
		sqlite3_bind_text(
		    st, 5, bounce_class_name(rc->cls), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, rc->reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, rc->diagnostic, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_text(st, 6, "undefined", -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 7, bounce_kind_name(r->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, now_iso, -1, SQLITE_STATIC);
	res = sqlite3_step(st);
	sqlite3_finalize(st);
	return res == SQLITE_DONE ? 0 : db_errno(res);
}

/* Soft failures of addr recorded since since_iso, delays left out. */
static int
bounce_apply_soft_count(
    sqlite3 *db, const char *addr, const char *since_iso, int *count)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db,
	    "SELECT count(*) FROM bounces WHERE recipient = ?1"
	    " AND received_at >= ?2 AND class = 'soft'"
	    " AND coalesce(action, '') <> 'delayed'",
	    &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, since_iso, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*count = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_errno(rc);
}

static int
bounce_apply_suppress(sqlite3 *db, const char *addr, enum suppress_reason why,
    const struct bounce_rcpt *rc, const char *source, time_t now,
    struct bounce_apply_stats *st)
{
	char *detail;
	int ret;

	detail = xasprintf("%s %s%s%s%s%s%s", rc->reason,
	    rc->status != NULL ? rc->status : "-",
	    rc->diagnostic != NULL ? " " : "",
	    rc->diagnostic != NULL ? rc->diagnostic : "",
	    source != NULL ? " (report " : "", source != NULL ? source : "",
	    source != NULL ? ")" : "");
	ret = suppress_add(db, addr, why, detail, now);
	free(detail);
	if (ret == -EEXIST || ret == -EINVAL)
		return 0;
	if (ret == 0) {
		st->suppressed++;
		log_info("bounce suppressed rcpt=%s reason=%s", addr,
		    suppress_reason_name(why));
	}
	return ret;
}

/* An abuse report stops the newsletter to the complainer; other
 * feedback (not-spam, virus) does not. */
static int
bounce_apply_unsubscribe(sqlite3 *db, const struct bounce_report *r,
    const char *addr, time_t now, struct bounce_apply_stats *st)
{
	sqlite3_stmt *s;
	int ret, rc;

	if (r->feedback_type != NULL &&
	    strcmp(r->feedback_type, "abuse") != 0 &&
	    strcmp(r->feedback_type, "fraud") != 0)
		return 0;
	ret = db_prepare(db,
	    "UPDATE subscribers SET status = 'unsubscribed'"
	    " WHERE email = ?1 AND status <> 'unsubscribed'",
	    &s);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(s, 1, addr, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	if (sqlite3_changes(db) > 0) {
		st->unsubscribed++;
		log_info("bounce unsubscribed rcpt=%s feedback=%s", addr,
		    r->feedback_type != NULL ? r->feedback_type : "abuse");
		return events_add(db, now, EVENTS_UNSUBSCRIBED, addr, 0,
		    "complaint",
		    r->feedback_type != NULL ? r->feedback_type : "abuse");
	}
	return 0;
}

/* The report in the history of the address: what it said, and which
 * report it was. */
static int
bounce_apply_event(sqlite3 *db, const struct bounce_report *r,
    const struct bounce_rcpt *rc, const char *addr, int64_t msg_id,
    const char *source, time_t now)
{
	enum events_type type = r->kind == BOUNCE_KIND_FEEDBACK
	    ? EVENTS_COMPLAINED
	    : r->kind == BOUNCE_KIND_DELIVERED ? EVENTS_DELIVERED
					       : EVENTS_BOUNCED;
	char *detail;
	int ret;

	if (type == EVENTS_COMPLAINED)
		detail = xasprintf("%s complaint%s%s%s",
		    r->feedback_type != NULL ? r->feedback_type : "abuse",
		    source != NULL ? " (report " : "",
		    source != NULL ? source : "", source != NULL ? ")" : "");
	else
		detail = xasprintf("%s %s %s%s%s%s%s%s",
		    rc != NULL && rc->cls != BOUNCE_CLASS_NONE
			? bounce_class_name(rc->cls)
			: "-",
		    rc != NULL && rc->reason != NULL ? rc->reason : "undefined",
		    rc != NULL && rc->status != NULL ? rc->status : "-",
		    rc != NULL && rc->diagnostic != NULL ? " " : "",
		    rc != NULL && rc->diagnostic != NULL ? rc->diagnostic : "",
		    source != NULL ? " (report " : "",
		    source != NULL ? source : "", source != NULL ? ")" : "");
	ret = msg_id != 0
	    ? events_add_message(db, now, type, msg_id, "report", detail)
	    : events_add(db, now, type, addr, 0, "report", detail);
	free(detail);
	return ret;
}

/* One recipient of a report: its row and its effects. */
static int
bounce_apply_rcpt(sqlite3 *db, const struct bounce_report *r,
    const struct bounce_rcpt *rc, const char *source,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_apply_stats *st)
{
	struct bounce_apply_msg m = { 0 };
	char now_iso[CLOCK_ISO_LEN], since_iso[CLOCK_ISO_LEN];
	const char *addr;
	int ret, count;

	ret = bounce_apply_find(db, r, rc != NULL ? rc->recipient : NULL, &m);
	if (ret != 0)
		return ret;
	/* The address we mailed is the one to act on, even when the
	 * report names where it was forwarded. */
	addr = m.recipient != NULL ? m.recipient
	    : rc != NULL           ? rc->recipient
				   : NULL;
	clock_format_iso(now, now_iso);
	ret = bounce_apply_insert(db, r, rc, addr, m.id, source, now_iso);
	if (ret != 0)
		goto out;
	st->recorded++;
	log_info("bounce recorded message=%lld rcpt=%s kind=%s class=%s "
		 "reason=%s status=%s",
	    (long long)m.id, addr != NULL ? addr : "-",
	    bounce_kind_name(r->kind),
	    rc != NULL && rc->cls != BOUNCE_CLASS_NONE
		? bounce_class_name(rc->cls)
		: "-",
	    rc != NULL ? rc->reason : "undefined",
	    rc != NULL && rc->status != NULL ? rc->status : "-");
	if (addr != NULL)
		ret = bounce_apply_event(db, r, rc, addr, m.id, source, now);
	if (ret != 0 || addr == NULL || rc == NULL)
		goto out;
	if (r->kind == BOUNCE_KIND_FEEDBACK) {
		ret = bounce_apply_unsubscribe(db, r, addr, now, st);
	} else if (r->kind == BOUNCE_KIND_BOUNCE &&
	    rc->cls == BOUNCE_CLASS_HARD) {
		ret = bounce_apply_suppress(
		    db, addr, SUPPRESS_HARD_BOUNCE, rc, source, now, st);
	} else if (r->kind == BOUNCE_KIND_BOUNCE &&
	    rc->cls == BOUNCE_CLASS_SOFT &&
	    (rc->action == NULL || strcmp(rc->action, "delayed") != 0)) {
		clock_format_iso(now - rules->soft_window, since_iso);
		ret = bounce_apply_soft_count(db, addr, since_iso, &count);
		if (ret == 0 && count >= rules->soft_limit)
			ret = bounce_apply_suppress(db, addr,
			    SUPPRESS_SOFT_BOUNCES, rc, source, now, st);
	}
out:
	bounce_apply_msg_fini(&m);
	return ret;
}

int
bounce_apply(sqlite3 *db, const struct bounce_report *r, const char *source,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_apply_stats *st)
{
	struct bounce_apply_stats dummy = { 0 };
	size_t i;
	int ret;

	if (st == NULL)
		st = &dummy;
	if (r->kind == BOUNCE_KIND_OTHER && r->unsubscribe_token != NULL &&
	    rules->secret != NULL) {
		/* Mail to [unsubscribe] mailto. A token that does not verify
		 * leaves the message where it is, for a person to read. */
		ret = subscriber_unsubscribe_token(db, rules->secret,
		    rules->secret_len, r->unsubscribe_token, "mailto");
		if (ret == -EINVAL || ret == -ENOENT)
			return 0;
		if (ret < 0)
			return ret;
		st->unsubscribed += ret;
		return 1;
	}
	if (r->kind != BOUNCE_KIND_BOUNCE && r->kind != BOUNCE_KIND_FEEDBACK &&
	    r->kind != BOUNCE_KIND_DELIVERED)
		return 0;
	ret = db_begin(db);
	if (ret != 0)
		return ret;
	if (bounce_apply_seen(db, source, &ret)) {
		st->duplicates++;
		db_rollback(db);
		return 1;
	}
	if (ret == 0 && r->n_rcpts == 0)
		ret = bounce_apply_rcpt(db, r, NULL, source, rules, now, st);
	for (i = 0; ret == 0 && i < r->n_rcpts; i++)
		ret = bounce_apply_rcpt(
		    db, r, &r->rcpts[i], source, rules, now, st);
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0) {
		db_rollback(db);
		return ret;
	}
	return 1;
}
