/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_apply: see bounce_apply.h. Runs on the loop thread with the
 * daemon's connection: a report is a few indexed statements.
 */
#include "config.h"

#include "bounce/bounce_apply.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce/bounce.h"
#include "bounce/bounce_int.h"
#include "clock.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "subscriber.h"
#include "suppress.h"
#include "util.h"
#include "verp.h"

/* Addresses of an unmatched report recorded at most: enough for a
 * person to see what it was, not a way to fill the table. */
#define BOUNCE_APPLY_MAX_UNMATCHED 20

/* The message a report answers. */
struct bounce_apply_msg {
	int64_t id; /* 0: none found */
	char *recipient;
};

/* One failure as it is recorded: the report's fields for it, or a
 * refusal's. Strings are borrowed. */
struct bounce_apply_row {
	int64_t message_id; /* 0: unmatched */
	const char *recipient;
	const char *status;
	const char *action;
	const char *reason;
	enum bounce_class cls;
	bool sender_side;
	enum bounce_command command;
	const char *diagnostic;
	const char *kind;
	const char *source;
	const char *feedback_type; /* an ARF report's, or NULL */
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

/* The message r answers: by its VERP token (made for this; tokens are
 * made in lower case, mail may change it), else by the token that
 * begins the returned message's Message-ID. Each is one look-up in an
 * index. Nothing else: an address named in a report proves nothing.
 * 0 with m->id 0 when neither names one of our messages. */
static int
bounce_apply_find(
    sqlite3 *db, const struct bounce_report *r, struct bounce_apply_msg *m)
{
	static const char by_token[] =
	    "SELECT id, recipient FROM messages WHERE verp_token = lower(?1)";
	char token[VERP_TOKEN_MAX + 1];
	int ret;

	ret = bounce_apply_lookup(db, by_token, r->verp_token, m);
	if (ret == -ENOENT &&
	    bounce_apply_msgid_token(r->orig_message_id, token, sizeof(token)))
		ret = bounce_apply_lookup(db, by_token, token, m);
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
bounce_apply_insert(
    sqlite3 *db, const struct bounce_apply_row *b, const char *now_iso)
{
	sqlite3_stmt *st;
	int ret, res;

	ret = db_prepare(db,
	    "INSERT INTO bounces (message_id, recipient, status, action,"
	    " class, reason, kind, diagnostic, source, received_at,"
	    " sender_side, command)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	    &st);
	if (ret != 0)
		return ret;
	if (b->message_id != 0)
		sqlite3_bind_int64(st, 1, b->message_id);
	sqlite3_bind_text(st, 2, b->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, b->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, b->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, bounce_class_name(b->cls), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, b->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, b->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, b->diagnostic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, b->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, now_iso, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 11, b->sender_side ? 1 : 0);
	sqlite3_bind_text(
	    st, 12, bounce_command_name(b->command), -1, SQLITE_STATIC);
	res = sqlite3_step(st);
	sqlite3_finalize(st);
	return res == SQLITE_DONE ? 0 : db_errno(res);
}

static bool
bounce_apply_is_delay(const char *action)
{
	return action != NULL && strcmp(action, "delayed") == 0;
}

/* The one soft-bounce count: soft failures of addr since since_iso that
 * answer one of our messages, leaving out delays and failures about the
 * sender. */
static int
bounce_apply_soft_count(
    sqlite3 *db, const char *addr, const char *since_iso, int *count)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = db_prepare(db,
	    "SELECT count(*) FROM bounces WHERE recipient = ?1"
	    " AND received_at >= ?2 AND class = 'soft'"
	    " AND sender_side = 0 AND message_id IS NOT NULL"
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

/* " (report SOURCE)" for a row from the bounce mailbox, naming the
 * message it came from; "" for a refusal at send time. Static
 * storage: one use per expression. */
static const char *
bounce_apply_report_of(const struct bounce_apply_row *b)
{
	static _Thread_local char text[300];

	if (b->source == NULL || strcmp(b->source, "smtp") == 0)
		return "";
	(void)snprintf(text, sizeof(text), " (report %s)", b->source);
	return text;
}

/* The row in the history of the address of the message it answers:
 * what it said, and where it came from (the relay at send time, or a
 * report in the bounce mailbox). */
static int
bounce_apply_event(sqlite3 *db, const struct bounce_apply_row *b, time_t now)
{
	enum events_type type = strcmp(b->kind, "feedback") == 0
	    ? EVENTS_COMPLAINED
	    : strcmp(b->kind, "delivered") == 0 ? EVENTS_DELIVERED
						: EVENTS_BOUNCED;
	bool relay = b->source != NULL && strcmp(b->source, "smtp") == 0;
	char *detail;
	int ret;

	if (type == EVENTS_COMPLAINED)
		detail = xasprintf("%s complaint%s",
		    b->feedback_type != NULL ? b->feedback_type : "abuse",
		    bounce_apply_report_of(b));
	else
		detail = xasprintf("%s %s %s%s%s%s%s",
		    b->cls != BOUNCE_CLASS_NONE ? bounce_class_name(b->cls)
						: "-",
		    b->reason, b->status != NULL ? b->status : "-",
		    b->sender_side ? " (about the sender, not the address)"
				   : "",
		    b->diagnostic != NULL ? " " : "",
		    b->diagnostic != NULL ? b->diagnostic : "",
		    bounce_apply_report_of(b));
	ret = events_add_message(
	    db, now, type, b->message_id, relay ? "relay" : "report", detail);
	free(detail);
	return ret;
}

static int
bounce_apply_suppress(sqlite3 *db, const struct bounce_apply_row *b,
    enum suppress_reason why, time_t now, struct bounce_apply_stats *st)
{
	char *detail;
	int ret;

	detail = xasprintf("%s %s%s%s%s", b->reason,
	    b->status != NULL ? b->status : "-",
	    b->diagnostic != NULL ? " " : "",
	    b->diagnostic != NULL ? b->diagnostic : "",
	    bounce_apply_report_of(b));
	ret = suppress_add(db, b->recipient, why, detail, now);
	free(detail);
	if (ret == -EEXIST || ret == -EINVAL)
		return 0;
	if (ret == 0) {
		st->suppressed++;
		log_info("bounce suppressed message=%lld rcpt=%s reason=%s",
		    (long long)b->message_id, b->recipient,
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

/*
 * Records one failure and applies what it changes: the single place
 * where a bounce, from the mailbox or at send time, leads to
 * suppression. Unmatched rows (message_id 0) and rows that are no
 * failure (delivered, feedback) change nothing here.
 */
static int
bounce_apply_row(sqlite3 *db, const struct bounce_apply_row *b,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_apply_stats *st)
{
	char now_iso[CLOCK_ISO_LEN], since_iso[CLOCK_ISO_LEN];
	int ret, count;

	clock_format_iso(now, now_iso);
	ret = bounce_apply_insert(db, b, now_iso);
	if (ret != 0)
		return ret;
	st->recorded++;
	log_info("bounce recorded message=%lld rcpt=%s kind=%s class=%s "
		 "reason=%s status=%s%s%s",
	    (long long)b->message_id, b->recipient != NULL ? b->recipient : "-",
	    b->kind,
	    b->cls != BOUNCE_CLASS_NONE ? bounce_class_name(b->cls) : "-",
	    b->reason, b->status != NULL ? b->status : "-",
	    b->sender_side ? " side=sender" : "",
	    b->message_id == 0 ? " unmatched" : "");
	/* An unmatched report is recorded, but is in nobody's history: it
	 * answers none of our messages, and acts on nobody. */
	if (b->message_id == 0)
		return 0;
	ret = bounce_apply_event(db, b, now);
	if (ret != 0 || b->recipient == NULL || strcmp(b->kind, "bounce") != 0)
		return ret;
	if (b->cls == BOUNCE_CLASS_HARD)
		return bounce_apply_suppress(
		    db, b, SUPPRESS_HARD_BOUNCE, now, st);
	if (b->cls != BOUNCE_CLASS_SOFT || b->sender_side ||
	    bounce_apply_is_delay(b->action))
		return 0;
	clock_format_iso(now - rules->soft_window, since_iso);
	ret = bounce_apply_soft_count(db, b->recipient, since_iso, &count);
	if (ret == 0 && count >= rules->soft_limit)
		ret = bounce_apply_suppress(
		    db, b, SUPPRESS_SOFT_BOUNCES, now, st);
	return ret;
}

static void
bounce_apply_row_of(struct bounce_apply_row *b, const struct bounce_report *r,
    const struct bounce_rcpt *rc, const char *source)
{
	memset(b, 0, sizeof(*b));
	b->kind = bounce_kind_name(r->kind);
	b->source = source;
	b->feedback_type = r->feedback_type;
	b->reason = "undefined";
	if (rc == NULL)
		return;
	b->recipient = rc->recipient;
	b->status = rc->status;
	b->action = rc->action;
	b->reason = rc->reason;
	b->cls = rc->cls;
	b->sender_side = rc->sender_side;
	b->command = rc->command;
	b->diagnostic = rc->diagnostic;
}

/* The entry of r that speaks of our message's recipient addr: the one
 * that names it, else the only one (a report may name where the
 * message was forwarded), else none. */
static const struct bounce_rcpt *
bounce_apply_rcpt_for(const struct bounce_report *r, const char *addr)
{
	size_t i;

	for (i = 0; i < r->n_rcpts; i++)
		if (strcasecmp(r->rcpts[i].recipient, addr) == 0)
			return &r->rcpts[i];
	return r->n_rcpts == 1 ? &r->rcpts[0] : NULL;
}

/* Records report r, which answers none of our messages: a few of the
 * addresses it names, acting on none. */
static int
bounce_apply_unmatched(sqlite3 *db, const struct bounce_report *r,
    const struct bounce_rcpt *skip, const char *source,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_apply_stats *st)
{
	struct bounce_apply_row b;
	size_t i, done = 0;
	int ret = 0;

	for (i = 0; ret == 0 && i < r->n_rcpts; i++) {
		if (&r->rcpts[i] == skip)
			continue;
		if (done++ >= BOUNCE_APPLY_MAX_UNMATCHED)
			break;
		bounce_apply_row_of(&b, r, &r->rcpts[i], source);
		ret = bounce_apply_row(db, &b, rules, now, st);
	}
	if (ret == 0 && done == 0 && skip == NULL) {
		bounce_apply_row_of(&b, r, NULL, source);
		ret = bounce_apply_row(db, &b, rules, now, st);
	}
	return ret;
}

/* Records report r and applies it, in the caller's transaction. */
static int
bounce_apply_report(sqlite3 *db, const struct bounce_report *r,
    const char *source, const struct bounce_apply_rules *rules, time_t now,
    struct bounce_apply_stats *st)
{
	struct bounce_apply_msg m = { 0 };
	const struct bounce_rcpt *rc = NULL;
	struct bounce_apply_row b;
	int ret;

	if (r->n_dropped > 0)
		log_warnx("bounce report cut source=%s read=%zu dropped=%zu: "
			  "it names more recipients than are read",
		    source != NULL ? source : "-", r->n_rcpts, r->n_dropped);
	ret = bounce_apply_find(db, r, &m);
	if (ret != 0)
		return ret;
	if (m.id == 0) {
		st->unmatched++;
		log_warnx("bounce unmatched source=%s kind=%s rcpts=%zu "
			  "token=%s: answers none of our messages; acts on "
			  "nobody",
		    source != NULL ? source : "-", bounce_kind_name(r->kind),
		    r->n_rcpts + r->n_dropped,
		    r->verp_token != NULL ? r->verp_token : "-");
		return bounce_apply_unmatched(
		    db, r, NULL, source, rules, now, st);
	}
	/* The address we mailed is the one to act on, whatever the
	 * report names; other addresses it names change nothing. */
	rc = bounce_apply_rcpt_for(r, m.recipient);
	if (rc != NULL || r->kind == BOUNCE_KIND_FEEDBACK || r->n_rcpts == 0) {
		bounce_apply_row_of(&b, r, rc, source);
		b.message_id = m.id;
		b.recipient = m.recipient;
		ret = bounce_apply_row(db, &b, rules, now, st);
		if (ret == 0 && r->kind == BOUNCE_KIND_FEEDBACK)
			ret = bounce_apply_unsubscribe(
			    db, r, m.recipient, now, st);
	}
	if (ret == 0 && r->n_rcpts > (rc != NULL ? 1u : 0u)) {
		if (r->kind != BOUNCE_KIND_FEEDBACK)
			log_warnx("bounce message=%lld source=%s names %zu "
				  "other addresses than its recipient; they "
				  "are recorded as unmatched",
			    (long long)m.id, source != NULL ? source : "-",
			    r->n_rcpts + r->n_dropped - (rc != NULL));
		ret = bounce_apply_unmatched(db, r, rc, source, rules, now, st);
	}
	bounce_apply_msg_fini(&m);
	return ret;
}

int
bounce_apply(sqlite3 *db, const struct bounce_report *r, const char *source,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_apply_stats *st)
{
	struct bounce_apply_stats dummy = { 0 };
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
	if (ret == 0)
		ret = bounce_apply_report(db, r, source, rules, now, st);
	if (ret == 0)
		ret = db_commit(db);
	if (ret != 0) {
		db_rollback(db);
		return ret;
	}
	return 1;
}

/* Whether message id already has a sender-side refusal for reason. */
static bool
bounce_apply_said(sqlite3 *db, int64_t id, const char *reason)
{
	sqlite3_stmt *st;
	bool found;

	if (db_prepare(db,
		"SELECT 1 FROM bounces WHERE message_id = ?1"
		" AND sender_side = 1 AND reason = ?2 LIMIT 1",
		&st) != 0)
		return false;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* The facts of refusal f, status being room for its enhanced code. */
static void
bounce_apply_refusal_facts(
    const struct bounce_refusal *f, struct bounce_facts *facts, char status[16])
{
	bool has_status;

	/* "550 5.1.1 <a@b>: ...": the enhanced code that follows the
	 * reply code, if the relay gives one. */
	has_status = f->reply != NULL &&
	    bounce_classify_find_status(f->reply, status, 16) &&
	    status[0] != '2';
	memset(facts, 0, sizeof(*facts));
	facts->status = has_status ? status : NULL;
	facts->reply_code = f->reply_code;
	facts->command = f->command;
	facts->action = "failed";
	facts->diagnostic = f->reply;
	facts->recipient = f->recipient;
}

void
bounce_classify_refusal(
    const struct bounce_refusal *f, struct bounce_verdict *v)
{
	struct bounce_facts facts;
	char status[16];

	bounce_apply_refusal_facts(f, &facts, status);
	bounce_classify(&facts, v);
}

int
bounce_apply_refusal(sqlite3 *db, const struct bounce_refusal *f,
    const struct bounce_apply_rules *rules, time_t now,
    struct bounce_verdict *v, struct bounce_apply_stats *st)
{
	struct bounce_apply_stats dummy = { 0 };
	struct bounce_facts facts;
	struct bounce_verdict vd;
	struct bounce_apply_row b;
	char status[16];

	if (st == NULL)
		st = &dummy;
	bounce_apply_refusal_facts(f, &facts, status);
	bounce_classify(&facts, &vd);
	if (v != NULL)
		*v = vd;
	memset(&b, 0, sizeof(b));
	b.message_id = f->message_id;
	b.recipient = f->recipient;
	b.status = facts.status;
	b.action = "failed";
	b.reason = vd.reason;
	b.cls = vd.cls;
	b.sender_side = vd.sender_side;
	b.command = f->command;
	b.diagnostic = f->reply;
	b.kind = "bounce";
	b.source = "smtp";
	/* A refusal about our side is said once for its message: the
	 * relay says it again to every probe of a paused lane. */
	if (vd.sender_side && bounce_apply_said(db, f->message_id, vd.reason)) {
		st->duplicates++;
		return 0;
	}
	return bounce_apply_row(db, &b, rules, now, st);
}
