/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_bounce_apply: what a bounce changes (rows, suppressions,
 * unsubscribes) and, from the outside, familymaild --once reading a
 * Maildir bounce source: bounces processed and marked or deleted, human
 * replies and auto-replies left exactly where they were.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sqlite3.h>

#include "bounce/bounce.h"
#include "bounce/bounce_apply.h"
#include "buf.h"
#include "db.h"
#include "testutil.h"
#include "token.h"
#include "util.h"

#define NOW "2026-11-23T09:00:00Z"
#define T0  1795338000 /* 2026-11-23T09:00:00Z */
#define DAY 86400

static char *dir;
static sqlite3 *db;
static const struct bounce_apply_rules rules = { .soft_limit = 3,
	.soft_window = 30 * DAY };

static struct bounce_report *
parse_data(const char *name)
{
	char *path = xasprintf("%s/tests/data/bounce/%s", tu_srcdir(), name);
	struct bounce_report *r = NULL;
	size_t len;
	char *s = tu_read_file(path, &len);

	ck_assert_msg(s != NULL, "cannot read %s", path);
	ck_assert_int_eq(bounce_parse(s, len, &r), 0);
	free(s);
	free(path);
	return r;
}

/* A message we sent to rcpt with envelope bounces+token@. */
static void
add_sent(int id, const char *rcpt, const char *token)
{
	char *sql = xasprintf(
	    "INSERT INTO messages (id, dedupe_key, kind, recipient, state,"
	    " verp_token, created_at, next_attempt_at, updated_at, sent_at)"
	    " VALUES (%d, 'test:%d', 'booking_confirmation', '%s', 'sent',"
	    " '%s', '" NOW "', '" NOW "', '" NOW "', '" NOW "')",
	    id, id, rcpt, token);

	tu_sql(db, sql);
	free(sql);
}

static void
setup(void)
{
	dir = tu_mkdtemp();
	db = tu_db_new(dir);
}

static void
teardown(void)
{
	db_close(db);
	tu_rmtree(dir);
	free(dir);
}

static long long
count(const char *sql)
{
	return tu_sql_int(db, sql);
}

START_TEST(test_bounce_apply_hard_bounce_suppresses_at_once)
{
	struct bounce_report *r = parse_data("postfix-dsn.eml");
	struct bounce_apply_stats st = { 0 };
	char *s;

	add_sent(7, "nobody-here@example.net", "a1b2c3d4");
	ck_assert_int_eq(bounce_apply(db, r, "src k1", &rules, T0, &st), 1);
	ck_assert_int_eq(st.recorded, 1);
	ck_assert_int_eq(st.suppressed, 1);
	s = tu_sql_text(db,
	    "SELECT message_id || ' ' || recipient || ' ' ||"
	    " class || ' ' || reason || ' ' || status FROM bounces");
	ck_assert_str_eq(s, "7 nobody-here@example.net hard userunknown 5.1.1");
	free(s);
	s = tu_sql_text(db,
	    "SELECT reason FROM suppressions"
	    " WHERE email = 'NOBODY-HERE@example.net'");
	ck_assert_str_eq(s, "hard_bounce");
	free(s);
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_apply_finds_message_by_verp_when_dsn_is_missing)
{
	struct bounce_report *r = parse_data("verp-only.eml");

	add_sent(9, "lost@example.com", "vp0nly9");
	ck_assert_int_eq(bounce_apply(db, r, "src v", &rules, T0, NULL), 1);
	ck_assert_int_eq(
	    count("SELECT count(*) FROM bounces WHERE"
		  " message_id = 9 AND recipient = 'lost@example.com'"),
	    1);
	bounce_report_free(r);
}
END_TEST

/* No VERP token in the envelope, a recipient the outbox does not know
 * (an alias): the token that begins our Message-ID, quoted in the
 * returned headers, still names the message. */
START_TEST(test_bounce_apply_finds_message_by_token_in_message_id)
{
	struct bounce_report *r = parse_data("msgid-only.eml");

	ck_assert_ptr_null(r->verp_token);
	add_sent(11, "real@example.com", "q7t0k3n2");
	add_sent(12, "other@example.com", "q7t0k3n3");
	ck_assert_int_eq(bounce_apply(db, r, "src m", &rules, T0, NULL), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " message_id = 11 AND class = 'hard'"),
	    1);
	ck_assert_int_eq(
	    count("SELECT count(*) FROM bounces WHERE message_id = 12"), 0);
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_apply_soft_bounces_suppress_after_limit_in_window)
{
	struct bounce_report *r = parse_data("exim-mailbox-full.eml");
	struct bounce_apply_stats st = { 0 };

	add_sent(3, "full-parent@example.com", "q9w8e7r6");
	ck_assert_int_eq(bounce_apply(db, r, "src a", &rules, T0, &st), 1);
	ck_assert_int_eq(
	    bounce_apply(db, r, "src b", &rules, T0 + DAY, &st), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
	ck_assert_int_eq(
	    bounce_apply(db, r, "src c", &rules, T0 + 2 * DAY, &st), 1);
	ck_assert_int_eq(st.recorded, 3);
	ck_assert_int_eq(st.suppressed, 1);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions WHERE"
			       " email = 'full-parent@example.com'"
			       " AND reason = 'soft_bounces'"),
	    1);
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_apply_soft_bounces_spread_beyond_window_never_suppress)
{
	struct bounce_report *r = parse_data("exim-mailbox-full.eml");

	add_sent(3, "full-parent@example.com", "q9w8e7r6");
	ck_assert_int_eq(bounce_apply(db, r, "src a", &rules, T0, NULL), 1);
	ck_assert_int_eq(
	    bounce_apply(db, r, "src b", &rules, T0 + 20 * DAY, NULL), 1);
	ck_assert_int_eq(
	    bounce_apply(db, r, "src c", &rules, T0 + 40 * DAY, NULL), 1);
	ck_assert_int_eq(
	    bounce_apply(db, r, "src d", &rules, T0 + 60 * DAY, NULL), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces"), 4);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_apply_abuse_report_unsubscribes_the_subscriber)
{
	struct bounce_report *r = parse_data("arf-abuse.eml");
	struct bounce_apply_stats st = { 0 };
	char *s;

	tu_sql(db,
	    "INSERT INTO subscribers (id, email, status, created_at)"
	    " VALUES (1, 'annoyed.reader@isp.example.net', 'active', '" NOW
	    "'), (2, 'happy@example.net', 'active', '" NOW "')");
	/* The digest it complains about, sent with envelope
	 * bounces+Arf77@. */
	add_sent(21, "annoyed.reader@isp.example.net", "arf77");
	ck_assert_int_eq(bounce_apply(db, r, "src f", &rules, T0, &st), 1);
	ck_assert_int_eq(st.unsubscribed, 1);
	s = tu_sql_text(db,
	    "SELECT group_concat(status, ',') FROM"
	    " (SELECT status FROM subscribers ORDER BY id)");
	ck_assert_str_eq(s, "unsubscribed,active");
	free(s);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " kind = 'feedback'"),
	    1);
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_apply_leaves_replies_and_auto_replies_alone)
{
	const char *names[] = { "human-reply.eml", "autoreply.eml" };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct bounce_report *r = parse_data(names[i]);

		ck_assert_int_eq(
		    bounce_apply(db, r, names[i], &rules, T0, NULL), 0);
		bounce_report_free(r);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM bounces"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
}
END_TEST

/* Mail to [unsubscribe] mailto, as a List-Unsubscribe mailto link
 * writes it: "unsubscribe TOKEN" unsubscribes that subscriber only; a
 * forged token changes nothing and the message is left for a person. */
START_TEST(test_bounce_apply_unsubscribe_mail_with_a_good_token_only)
{
	static const char secret[] = "0123456789abcdef0123456789abcdef";
	struct bounce_apply_rules with = rules;
	struct bounce_report *r;
	struct bounce_apply_stats st = { 0 };
	struct buf tok;
	char *mail, *s;

	with.secret = secret;
	with.secret_len = strlen(secret);
	tu_sql(db,
	    "INSERT INTO subscribers (id, email, status, created_at)"
	    " VALUES (1, 'sam@example.org', 'active', '" NOW "'),"
	    " (2, 'kim@example.org', 'active', '" NOW "')");
	buf_init(&tok);
	ck_assert_int_eq(token_make(secret, strlen(secret), "unsubscribe", 1,
			     "sam@example.org", &tok),
	    0);
	/* The token for subscriber 1, its last character changed. */
	mail = xasprintf("From: Sam <sam@example.org>\r\n"
			 "To: unsubscribe@example.org\r\n"
			 "Subject: unsubscribe %.*s%c\r\n"
			 "\r\n"
			 "\r\n",
	    (int)tok.len - 1, tok.data,
	    tok.data[tok.len - 1] == 'A' ? 'B' : 'A');
	ck_assert_int_eq(bounce_parse(mail, strlen(mail), &r), 0);
	ck_assert_ptr_nonnull(r->unsubscribe_token);
	ck_assert_int_eq(bounce_apply(db, r, "src forged", &with, T0, &st), 0);
	bounce_report_free(r);
	free(mail);
	mail = xasprintf("From: Sam <sam@example.org>\r\n"
			 "To: unsubscribe@example.org\r\n"
			 "Subject: unsubscribe %s\r\n"
			 "\r\n",
	    tok.data);
	ck_assert_int_eq(bounce_parse(mail, strlen(mail), &r), 0);
	/* Without the secret the daemon cannot check it: left alone. */
	ck_assert_int_eq(
	    bounce_apply(db, r, "src nosecret", &rules, T0, &st), 0);
	s = tu_sql_text(db,
	    "SELECT group_concat(status, ',') FROM"
	    " (SELECT status FROM subscribers ORDER BY id)");
	ck_assert_str_eq(s, "active,active");
	free(s);
	ck_assert_int_eq(bounce_apply(db, r, "src good", &with, T0, &st), 1);
	ck_assert_int_eq(st.unsubscribed, 1);
	/* Sent twice (a client retrying): still processed, no change. */
	ck_assert_int_eq(bounce_apply(db, r, "src again", &with, T0, &st), 1);
	ck_assert_int_eq(st.unsubscribed, 1);
	s = tu_sql_text(db,
	    "SELECT group_concat(status, ',') FROM"
	    " (SELECT status FROM subscribers ORDER BY id)");
	ck_assert_str_eq(s, "unsubscribed,active");
	free(s);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
	bounce_report_free(r);
	free(mail);
	buf_fini(&tok);
}
END_TEST

START_TEST(test_bounce_apply_records_a_message_once_per_source_key)
{
	struct bounce_report *r = parse_data("exim-mailbox-full.eml");
	struct bounce_apply_stats st = { 0 };
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(bounce_apply(db, r, "pop3s://x@h uidl-1",
				     &rules, T0 + i, &st),
		    1);
	ck_assert_int_eq(st.recorded, 1);
	ck_assert_int_eq(st.duplicates, 3);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
	bounce_report_free(r);
}
END_TEST

/* ------------------------------------------------- forged reports */

/* A DSN that answers none of our messages, naming an address we did
 * mail (and that is a subscriber) with 5.1.1: recorded as unmatched,
 * and nobody is suppressed. */
START_TEST(test_bounce_apply_forged_dsn_suppresses_nobody)
{
	struct bounce_report *r = parse_data("dsn-forged.eml");
	struct bounce_apply_stats st = { 0 };

	add_sent(31, "sarah.jones@example.org", "s4r4hr34l");
	ck_assert_str_eq(r->rcpts[0].reason, "userunknown");
	ck_assert_int_eq(bounce_apply(db, r, "src forged", &rules, T0, &st), 1);
	ck_assert_int_eq(st.unmatched, 1);
	ck_assert_int_eq(st.suppressed, 0);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " message_id IS NULL AND recipient ="
			       " 'sarah.jones@example.org' AND class = 'hard'"),
	    1);
	ck_assert_int_eq(
	    count("SELECT count(*) FROM bounces WHERE message_id = 31"), 0);
	bounce_report_free(r);
}
END_TEST

/* A forged abuse report naming a subscriber: nobody unsubscribed. */
START_TEST(test_bounce_apply_forged_arf_unsubscribes_nobody)
{
	struct bounce_report *r = parse_data("arf-forged.eml");
	struct bounce_apply_stats st = { 0 };

	tu_sql(db,
	    "INSERT INTO subscribers (id, email, status, created_at)"
	    " VALUES (1, 'annoyed.reader@isp.example.net', 'active', '" NOW
	    "')");
	add_sent(32, "annoyed.reader@isp.example.net", "d1g3st32");
	ck_assert_int_eq(r->kind, BOUNCE_KIND_FEEDBACK);
	ck_assert_int_eq(bounce_apply(db, r, "src arf", &rules, T0, &st), 1);
	ck_assert_int_eq(st.unsubscribed, 0);
	ck_assert_int_eq(st.unmatched, 1);
	ck_assert_int_eq(count("SELECT count(*) FROM subscribers WHERE"
			       " status = 'active'"),
	    1);
	bounce_report_free(r);
}
END_TEST

/* A DSN as a forger writes it: n recipients with 5.1.1, and the
 * envelope token given (NULL: none). */
static char *
many_rcpts_dsn(int n, const char *token, const char *first)
{
	struct buf b;
	int i;

	buf_init(&b);
	buf_puts(&b, "From: MAILER-DAEMON@mx.attacker.example\n");
	if (token != NULL) {
		buf_puts(&b, "To: bounces+");
		buf_puts(&b, token);
		buf_puts(&b, "@bounces.example.org\n");
	} else {
		buf_puts(&b, "To: bounces@bounces.example.org\n");
	}
	buf_puts(&b,
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; "
	    "report-type=delivery-status; boundary=\"B\"\n\n"
	    "--B\nContent-Type: text/plain\n\nFailed.\n"
	    "--B\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.attacker.example\n\n");
	for (i = 0; i < n; i++) {
		char *g =
		    xasprintf("Final-Recipient: rfc822; %s%d@example.com\n"
			      "Action: failed\nStatus: 5.1.1\n"
			      "Diagnostic-Code: smtp; 550 5.1.1 User "
			      "unknown\n\n",
			i == 0 && first != NULL ? first : "made.up.", i);

		buf_puts(&b, g);
		free(g);
	}
	buf_puts(&b, "--B--\n");
	return buf_take(&b);
}

/* 10,000 made-up recipients: nobody suppressed, a few recorded, the
 * cut said. */
START_TEST(test_bounce_apply_dsn_with_10000_recipients_acts_on_nobody)
{
	char *mail = many_rcpts_dsn(10000, NULL, NULL);
	struct bounce_report *r = NULL;
	struct bounce_apply_stats st = { 0 };

	add_sent(33, "made.up.5@example.com", "m4d3up5");
	ck_assert_int_eq(bounce_parse(mail, strlen(mail), &r), 0);
	ck_assert_uint_eq(r->n_rcpts, BOUNCE_MAX_RCPTS);
	/* Counted as far as the report was read (its text is capped). */
	ck_assert_uint_gt(r->n_dropped, 5000);
	ck_assert_int_eq(bounce_apply(db, r, "src many", &rules, T0, &st), 1);
	ck_assert_int_eq(st.suppressed, 0);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
	ck_assert_int_le(count("SELECT count(*) FROM bounces"), 20);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " message_id IS NOT NULL"),
	    0);
	bounce_report_free(r);
	free(mail);
}
END_TEST

/* A genuine report (our VERP token) that also names other addresses
 * acts on its message's recipient only. */
START_TEST(test_bounce_apply_genuine_report_acts_on_its_recipient_only)
{
	char *mail = many_rcpts_dsn(50, "r34lt0k", "its.recipient");
	struct bounce_report *r = NULL;
	struct bounce_apply_stats st = { 0 };
	char *s;

	add_sent(34, "its.recipient0@example.com", "r34lt0k");
	add_sent(35, "made.up.7@example.com", "0th3r7");
	ck_assert_int_eq(bounce_parse(mail, strlen(mail), &r), 0);
	ck_assert_int_eq(bounce_apply(db, r, "src real", &rules, T0, &st), 1);
	ck_assert_int_eq(st.suppressed, 1);
	s = tu_sql_text(db, "SELECT group_concat(email) FROM suppressions");
	ck_assert_str_eq(s, "its.recipient0@example.com");
	free(s);
	ck_assert_int_eq(
	    count("SELECT count(*) FROM bounces WHERE message_id = 34"), 1);
	bounce_report_free(r);
	free(mail);
}
END_TEST

/* ---------------------------------- one count, sender-side reasons */

/* A report from the mailbox for message id (token) to rcpt. */
static struct bounce_report *
report_for(const char *token, const char *rcpt, const char *status,
    const char *diag, const char *action)
{
	struct bounce_report *r = NULL;
	char *mail = xasprintf(
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+%s@bounces.example.org\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;"
	    " boundary=\"B\"\n\n"
	    "--B\nContent-Type: text/plain\n\nFailed.\n"
	    "--B\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.net\n\n"
	    "Final-Recipient: rfc822; %s\nAction: %s\nStatus: %s\n"
	    "Diagnostic-Code: smtp; %s\n\n--B--\n",
	    token, rcpt, action, status, diag);

	ck_assert_int_eq(bounce_parse(mail, strlen(mail), &r), 0);
	free(mail);
	return r;
}

/* Failures about the sender (our IP blocklisted, our DMARC) and delays
 * never count towards suppressing the recipient, however many; real
 * soft failures do. */
START_TEST(test_bounce_apply_sender_side_and_delays_never_count)
{
	struct bounce_apply_stats st = { 0 };
	char *src;
	int i;

	add_sent(41, "parent@example.net", "p4r3nt41");
	for (i = 0; i < 5; i++) {
		struct bounce_report *r = report_for("p4r3nt41",
		    "parent@example.net", "5.7.1",
		    "554 5.7.1 Service unavailable; Client host [192.0.2.1] "
		    "blocked using zen.spamhaus.org",
		    "failed");
		struct bounce_report *d =
		    report_for("p4r3nt41", "parent@example.net", "4.2.2",
			"452 4.2.2 Mailbox full", "delayed");

		ck_assert(r->rcpts[0].sender_side);
		src = xasprintf("src blocked %d", i);
		ck_assert_int_eq(
		    bounce_apply(db, r, src, &rules, T0 + i, &st), 1);
		free(src);
		src = xasprintf("src delayed %d", i);
		ck_assert_int_eq(
		    bounce_apply(db, d, src, &rules, T0 + i, &st), 1);
		free(src);
		bounce_report_free(r);
		bounce_report_free(d);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " sender_side = 1"),
	    5);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
	for (i = 0; i < 3; i++) {
		struct bounce_report *r =
		    report_for("p4r3nt41", "parent@example.net", "5.2.2",
			"552 5.2.2 Mailbox full", "failed");

		src = xasprintf("src full %d", i);
		ck_assert_int_eq(
		    bounce_apply(db, r, src, &rules, T0 + 10 + i, &st), 1);
		free(src);
		bounce_report_free(r);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions WHERE"
			       " email = 'parent@example.net' AND"
			       " reason = 'soft_bounces'"),
	    1);
}
END_TEST

/* Refusals at send time go through the same classifier and the same
 * count: relaying refused by our relay counts against nobody; a full
 * mailbox refused at RCPT counts with the full-mailbox reports that
 * came back by mail; an unknown user is suppressed at once. */
START_TEST(test_bounce_apply_refusal_shares_the_rules_of_reports)
{
	struct bounce_apply_stats st = { 0 };
	struct bounce_verdict v;
	struct bounce_refusal f = { 0 };
	int i;

	add_sent(51, "kept@example.net", "k3pt51");
	f.message_id = 51;
	f.recipient = "kept@example.net";
	f.command = BOUNCE_CMD_RCPT;
	f.reply_code = 554;
	f.reply = "554 5.7.1 <kept@example.net>: Relay access denied";
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(
		    bounce_apply_refusal(db, &f, &rules, T0 + i, &v, &st), 0);
		ck_assert_str_eq(v.reason, "norelaying");
		ck_assert(v.sender_side);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
	/* Said once for its message, however often the relay says it
	 * (each probe of a paused lane). */
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " message_id = 51 AND reason = 'norelaying'"),
	    1);

	/* One refusal and two reports: three soft bounces. */
	f.reply_code = 552;
	f.reply = "552 5.2.2 <kept@example.net>: Mailbox full";
	ck_assert_int_eq(
	    bounce_apply_refusal(db, &f, &rules, T0 + 10, &v, &st), 0);
	ck_assert_str_eq(v.reason, "mailboxfull");
	ck_assert(!v.sender_side);
	for (i = 0; i < 2; i++) {
		struct bounce_report *r =
		    report_for("k3pt51", "kept@example.net", "5.2.2",
			"552 5.2.2 Mailbox full", "failed");
		char *src = xasprintf("src k %d", i);

		ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 0);
		ck_assert_int_eq(
		    bounce_apply(db, r, src, &rules, T0 + 11 + i, &st), 1);
		free(src);
		bounce_report_free(r);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions WHERE"
			       " email = 'kept@example.net' AND"
			       " reason = 'soft_bounces'"),
	    1);

	add_sent(52, "gone@example.net", "g0n352");
	f.message_id = 52;
	f.recipient = "gone@example.net";
	f.reply_code = 550;
	f.reply = "550 5.1.1 <gone@example.net>: Recipient address rejected: "
		  "User unknown";
	ck_assert_int_eq(bounce_apply_refusal(db, &f, &rules, T0, &v, &st), 0);
	ck_assert_str_eq(v.reason, "userunknown");
	ck_assert_int_eq(v.cls, BOUNCE_CLASS_HARD);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions WHERE"
			       " email = 'gone@example.net' AND"
			       " reason = 'hard_bounce'"),
	    1);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " source = 'smtp' AND command = 'rcpt'"),
	    3);
}
END_TEST

/* ------------------------------------------------- familymaild --once */

static char *conf, *log_path;

static void
write_conf(const char *extra)
{
	char *sections =
	    xasprintf("[bounces]\nsource = maildir:Bounces\n%s", extra);
	struct tu_config c = { .timezone = "",
		.reply_to = "",
		.maildir = "Outbox",
		.sections = sections };

	free(conf);
	conf = tu_write_config(dir, "familymail.conf", &c);
	free(sections);
}

/* Delivers a test message into dir/Bounces/new as name. */
static void
deliver(const char *name, const char *data_name)
{
	char *src =
	    xasprintf("%s/tests/data/bounce/%s", tu_srcdir(), data_name);
	char *s = tu_read_file(src, NULL);
	char *sub = xasprintf("%s/Bounces/new", dir);

	ck_assert_ptr_nonnull(s);
	free(tu_write_file(sub, name, s));
	free(sub);
	free(src);
	free(s);
}

static void
setup_daemon(void)
{
	const char *subs[] = { "Bounces", "Bounces/new", "Bounces/cur",
		"Bounces/tmp" };
	size_t i;

	setup();
	for (i = 0; i < 4; i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);

		ck_assert_int_eq(mkdir(p, 0700), 0);
		free(p);
	}
	log_path = xasprintf("%s/daemon.log", dir);
	add_sent(7, "nobody-here@example.net", "a1b2c3d4");
	deliver("1795330000.M1P1.test", "postfix-dsn.eml");
	deliver("1795330001.M2P1.test", "human-reply.eml");
	deliver("1795330002.M3P1.test", "autoreply.eml");
}

static void
teardown_daemon(void)
{
	free(conf);
	conf = NULL;
	free(log_path);
	teardown();
}

static int
run_once(void)
{
	int ret = tu_daemon_once(conf, NOW, log_path, 20000);

	if (ret != 0) {
		char *log = tu_read_file(log_path, NULL);

		printf("familymaild --once exited %d:\n%s\n", ret,
		    log != NULL ? log : "(no log)");
		(void)fflush(stdout);
		free(log);
	}
	return ret;
}

static bool
exists(const char *sub, const char *name)
{
	char *p = xasprintf("%s/Bounces/%s/%s", dir, sub, name);
	struct stat sb;
	bool ok = stat(p, &sb) == 0;

	free(p);
	return ok;
}

START_TEST(test_daemon_once_marks_maildir_bounce_and_leaves_other_mail)
{
	char *log, *outbox;

	write_conf("");
	ck_assert_int_eq(run_once(), 0);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(exists("cur", "1795330000.M1P1.test:2,S"), "%s", log);
	ck_assert(!exists("new", "1795330000.M1P1.test"));
	ck_assert_msg(exists("new", "1795330001.M2P1.test"), "%s", log);
	ck_assert(exists("new", "1795330002.M3P1.test"));
	free(log);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " message_id = 7 AND class = 'hard'"),
	    1);
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions WHERE"
			       " email = 'nobody-here@example.net'"
			       " AND reason = 'hard_bounce'"),
	    1);

	/* A second run reads nothing new and records nothing twice. */
	ck_assert_int_eq(run_once(), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces"), 1);
	ck_assert(exists("new", "1795330001.M2P1.test"));

	/* A job for the suppressed address leaves its message suppressed,
	 * not sent. */
	tu_sql(db,
	    "INSERT INTO courses (id, title, starts_at, venue, status)"
	    " VALUES (1, 'Course', '2026-12-03T09:30:00Z', 'Cardiff',"
	    " 'scheduled');"
	    "INSERT INTO delegates (id, email, first_name) VALUES"
	    " (1, 'nobody-here@example.net', 'Nobody');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " status, created_at) VALUES (1, 1, 1, 'FC-9001', 'confirmed',"
	    " '2026-11-22T09:00:00Z')");
	ck_assert_int_eq(run_once(), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM messages WHERE"
			       " booking_id = 1 AND state = 'suppressed'"),
	    1);
	outbox = xasprintf("%s/Outbox/new", dir);
	ck_assert_int_le(tu_count_files(outbox), 0);
	free(outbox);
}
END_TEST

START_TEST(test_daemon_once_deletes_maildir_bounce_when_configured)
{
	write_conf("delete = yes\n");
	ck_assert_int_eq(run_once(), 0);
	ck_assert(!exists("new", "1795330000.M1P1.test"));
	ck_assert(!exists("cur", "1795330000.M1P1.test:2,S"));
	ck_assert(exists("new", "1795330001.M2P1.test"));
	ck_assert(exists("new", "1795330002.M3P1.test"));
	ck_assert_int_eq(count("SELECT count(*) FROM suppressions"), 1);
}
END_TEST

/*
 * The attacks, from the outside: a forged DSN naming Sarah with 5.1.1,
 * a forged abuse report naming a subscriber, and one DSN listing 10,000
 * made-up recipients, delivered to the Maildir bounce source beside a
 * genuine DSN (our VERP token) and read by a real familymaild --once.
 * Nobody is suppressed or unsubscribed but the genuine one's recipient,
 * and Sarah's next booking confirmation goes out.
 */
START_TEST(test_daemon_once_forged_reports_act_on_nobody)
{
	char *many = many_rcpts_dsn(10000, NULL, NULL);
	char *sub = xasprintf("%s/Bounces/new", dir);
	char *log, *s;

	write_conf("");
	tu_sql(db,
	    "INSERT INTO subscribers (id, email, status, created_at) VALUES"
	    " (1, 'annoyed.reader@isp.example.net', 'active', '" NOW "'),"
	    " (2, 'sarah.jones@example.org', 'active', '" NOW "')");
	add_sent(8, "sarah.jones@example.org", "s4r4hs3nt");
	add_sent(9, "annoyed.reader@isp.example.net", "d1g3stsent");
	deliver("1795330003.M4P1.test", "dsn-forged.eml");
	deliver("1795330004.M5P1.test", "arf-forged.eml");
	free(tu_write_file(sub, "1795330005.M6P1.test", many));
	ck_assert_int_eq(run_once(), 0);

	s = tu_sql_text(db, "SELECT group_concat(email) FROM suppressions");
	ck_assert_str_eq(s, "nobody-here@example.net");
	free(s);
	ck_assert_int_eq(count("SELECT count(*) FROM subscribers WHERE"
			       " status = 'active'"),
	    2);
	/* Recorded, as unmatched, and taken out of the mailbox. */
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " recipient = 'sarah.jones@example.org'"
			       " AND message_id IS NULL"),
	    1);
	ck_assert_int_eq(count("SELECT count(*) FROM bounces WHERE"
			       " message_id IS NOT NULL"),
	    1);
	ck_assert(exists("cur", "1795330003.M4P1.test:2,S"));
	ck_assert(exists("cur", "1795330004.M5P1.test:2,S"));
	ck_assert(exists("cur", "1795330005.M6P1.test:2,S"));
	log = tu_read_file(log_path, NULL);
	ck_assert_ptr_nonnull(strstr(log, "bounce unmatched"));
	ck_assert_ptr_nonnull(strstr(log, "bounce report cut"));
	ck_assert_ptr_nonnull(strstr(log, "unmatched=3"));
	free(log);

	/* Sarah books: her confirmation is sent, not withheld. */
	tu_sql(db,
	    "INSERT INTO courses (id, title, starts_at, venue, status)"
	    " VALUES (1, 'Course', '2026-12-03T09:30:00Z', 'Cardiff',"
	    " 'scheduled');"
	    "INSERT INTO delegates (id, email, first_name) VALUES"
	    " (1, 'sarah.jones@example.org', 'Sarah');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " status, created_at) VALUES (1, 1, 1, 'FC-9002', 'confirmed',"
	    " '2026-11-22T09:00:00Z')");
	ck_assert_int_eq(run_once(), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM messages WHERE"
			       " booking_id = 1 AND state = 'sent'"),
	    1);
	free(sub);
	free(many);
}
END_TEST

static Suite *
bounce_apply_suite(void)
{
	Suite *s = suite_create("bounce_apply");
	TCase *tc = tcase_create("apply");
	TCase *td = tcase_create("daemon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bounce_apply_hard_bounce_suppresses_at_once);
	tcase_add_test(
	    tc, test_bounce_apply_unsubscribe_mail_with_a_good_token_only);
	tcase_add_test(
	    tc, test_bounce_apply_finds_message_by_verp_when_dsn_is_missing);
	tcase_add_test(
	    tc, test_bounce_apply_finds_message_by_token_in_message_id);
	tcase_add_test(
	    tc, test_bounce_apply_soft_bounces_suppress_after_limit_in_window);
	tcase_add_test(tc,
	    test_bounce_apply_soft_bounces_spread_beyond_window_never_suppress);
	tcase_add_test(
	    tc, test_bounce_apply_abuse_report_unsubscribes_the_subscriber);
	tcase_add_test(
	    tc, test_bounce_apply_leaves_replies_and_auto_replies_alone);
	tcase_add_test(
	    tc, test_bounce_apply_records_a_message_once_per_source_key);
	tcase_add_test(tc, test_bounce_apply_forged_dsn_suppresses_nobody);
	tcase_add_test(tc, test_bounce_apply_forged_arf_unsubscribes_nobody);
	tcase_add_test(
	    tc, test_bounce_apply_dsn_with_10000_recipients_acts_on_nobody);
	tcase_add_test(
	    tc, test_bounce_apply_genuine_report_acts_on_its_recipient_only);
	tcase_add_test(
	    tc, test_bounce_apply_sender_side_and_delays_never_count);
	tcase_add_test(
	    tc, test_bounce_apply_refusal_shares_the_rules_of_reports);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(td, setup_daemon, teardown_daemon);
	tcase_add_test(
	    td, test_daemon_once_marks_maildir_bounce_and_leaves_other_mail);
	tcase_add_test(
	    td, test_daemon_once_deletes_maildir_bounce_when_configured);
	tcase_add_test(td, test_daemon_once_forged_reports_act_on_nobody);
	suite_add_tcase(s, td);
	return s;
}

int
main(void)
{
	return tu_run(bounce_apply_suite());
}
