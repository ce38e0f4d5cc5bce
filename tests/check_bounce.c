/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_bounce: the bounce parser (bounce.c and its helpers) on messages
 * crafted for these tests (tests/data/bounce/), one per format it must
 * read, and on input it must refuse or survive; and the parse-bounce
 * command that prints what it found.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "bounce/bounce.h"
#include "buf.h"
#include "testutil.h"
#include "util.h"

static char *
data_path(const char *name)
{
	return xasprintf("%s/tests/data/bounce/%s", tu_srcdir(), name);
}

static char *
data_read(const char *name, size_t *len)
{
	char *path = data_path(name);
	char *s = tu_read_file(path, len);

	ck_assert_msg(s != NULL, "cannot read %s", path);
	free(path);
	return s;
}

/* Parses a test message, failing the test unless it parses. */
static struct bounce_report *
parse_file(const char *name)
{
	struct bounce_report *r = NULL;
	size_t len;
	char *s = data_read(name, &len);

	ck_assert_int_eq(bounce_parse(s, len, &r), 0);
	ck_assert_ptr_nonnull(r);
	free(s);
	return r;
}

/* The report's entry for addr, failing the test when there is none. */
static const struct bounce_rcpt *
rcpt_of(const struct bounce_report *r, const char *addr)
{
	size_t i;

	for (i = 0; i < r->n_rcpts; i++)
		if (strcmp(r->rcpts[i].recipient, addr) == 0)
			return &r->rcpts[i];
	ck_abort_msg("no recipient %s among %zu", addr, r->n_rcpts);
	return NULL;
}

START_TEST(test_bounce_reads_postfix_dsn_as_hard_user_unknown)
{
	struct bounce_report *r = parse_file("postfix-dsn.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
	ck_assert_uint_eq(r->n_rcpts, 1);
	rc = rcpt_of(r, "nobody-here@example.net");
	ck_assert_str_eq(rc->status, "5.1.1");
	ck_assert_str_eq(rc->action, "failed");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_HARD);
	ck_assert_str_eq(rc->reason, "userunknown");
	ck_assert_int_eq(rc->reply_code, 550);
	ck_assert_str_eq(rc->remote_mta, "mail.example.net");
	/* Folded onto one line, the "smtp;" type word gone. */
	ck_assert_str_eq(rc->diagnostic,
	    "550 5.1.1 <nobody-here@example.net>: Recipient address "
	    "rejected: User unknown in virtual mailbox table");
	ck_assert_str_eq(r->verp_token, "a1B2c3D4");
	ck_assert_str_eq(r->orig_message_id, "confirm.1042@example.org");
	bounce_report_free(r);
}
END_TEST

/* The same message with other line ends must say the same. */
static char *
with_line_ends(const char *s, const char *eol)
{
	struct buf b;

	buf_init(&b);
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			buf_puts(&b, eol);
		else
			buf_putc(&b, *s);
	}
	return buf_take(&b);
}

START_TEST(test_bounce_reads_crlf_and_bare_cr_like_bare_lf)
{
	static const char *const eols[] = { "\r\n", "\r", "\n" };
	size_t len, i;
	char *lf = data_read("postfix-dsn.eml", &len);

	for (i = 0; i < UTIL_ARRAY_LEN(eols); i++) {
		char *s = with_line_ends(lf, eols[i]);
		struct bounce_report *r = NULL;
		const struct bounce_rcpt *rc;

		ck_assert_int_eq(bounce_parse(s, strlen(s), &r), 0);
		ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
		ck_assert_uint_eq(r->n_rcpts, 1);
		rc = rcpt_of(r, "nobody-here@example.net");
		ck_assert_str_eq(rc->status, "5.1.1");
		ck_assert_int_eq(rc->cls, BOUNCE_CLASS_HARD);
		ck_assert_str_eq(rc->diagnostic,
		    "550 5.1.1 <nobody-here@example.net>: Recipient address "
		    "rejected: User unknown in virtual mailbox table");
		ck_assert_str_eq(r->verp_token, "a1B2c3D4");
		bounce_report_free(r);
		free(s);
	}
	free(lf);
}
END_TEST

START_TEST(test_bounce_reads_exim_mailbox_full_522_as_soft)
{
	struct bounce_report *r = parse_file("exim-mailbox-full.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
	ck_assert_uint_eq(r->n_rcpts, 1);
	rc = rcpt_of(r, "full-parent@example.com");
	ck_assert_str_eq(rc->status, "5.2.2");
	ck_assert_str_eq(rc->reason, "mailboxfull");
	/* A 5.x.x code, yet the address is good: soft. */
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_SOFT);
	ck_assert_int_eq(rc->reply_code, 552);
	ck_assert_ptr_nonnull(strstr(rc->diagnostic, "Mailbox full"));
	ck_assert_str_eq(r->verp_token, "Q9w8E7r6");
	ck_assert_str_eq(r->orig_message_id, "remind.77.1d@example.org");
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_reads_qmail_spam_block_571_as_soft)
{
	struct bounce_report *r = parse_file("qmail-spam-block.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
	ck_assert_uint_eq(r->n_rcpts, 1);
	rc = rcpt_of(r, "reader@example.com");
	ck_assert_str_eq(rc->status, "5.7.1");
	ck_assert_str_eq(rc->reason, "spamdetected");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_SOFT);
	ck_assert_int_eq(rc->reply_code, 550);
	ck_assert_str_eq(r->verp_token, "Zz9Yy8");
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_reads_exchange_unknown_recipient_as_hard)
{
	struct bounce_report *r = parse_file("exchange-text.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
	/* The sender named in "To:" of the summary is not a recipient. */
	ck_assert_uint_eq(r->n_rcpts, 1);
	rc = rcpt_of(r, "left-the-school@example.com");
	ck_assert_str_eq(rc->reason, "userunknown");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_HARD);
	ck_assert_ptr_nonnull(
	    strstr(rc->diagnostic, "recipient name is not recognized"));
	ck_assert_str_eq(r->verp_token, "Ex4ch");
	ck_assert_str_eq(r->orig_message_id, "confirm.2001@example.org");
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_reads_gmail_no_such_user_as_hard)
{
	struct bounce_report *r = parse_file("gmail-text.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
	ck_assert_uint_eq(r->n_rcpts, 1);
	rc = rcpt_of(r, "gone.away@example.net");
	ck_assert_str_eq(rc->status, "5.1.1");
	ck_assert_str_eq(rc->reason, "userunknown");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_HARD);
	ck_assert_str_eq(r->verp_token, "Gm41l");
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_reads_amazon_ses_notification_per_recipient)
{
	struct bounce_report *r = parse_file("amazon-ses.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
	ck_assert_uint_eq(r->n_rcpts, 2);
	rc = rcpt_of(r, "ses-unknown@example.com");
	ck_assert_str_eq(rc->status, "5.1.1");
	ck_assert_str_eq(rc->action, "failed");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_HARD);
	ck_assert_str_eq(rc->diagnostic, "550 5.1.1 user unknown");
	rc = rcpt_of(r, "ses-full@example.com");
	ck_assert_str_eq(rc->reason, "mailboxfull");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_SOFT);
	ck_assert_str_eq(r->verp_token, "SeS1");
	bounce_report_free(r);
}
END_TEST

/* Its recipients carry no action: this once crashed the reader. */
START_TEST(test_bounce_reads_amazon_ses_complaint_as_feedback)
{
	struct bounce_report *r = parse_file("amazon-ses-complaint.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_FEEDBACK);
	ck_assert_str_eq(r->feedback_type, "abuse");
	ck_assert_uint_eq(r->n_rcpts, 1);
	rc = rcpt_of(r, "ses-annoyed@example.com");
	ck_assert_ptr_null(rc->action);
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_NONE);
	ck_assert_str_eq(rc->reason, "feedback");
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_reads_arf_abuse_report_as_feedback)
{
	struct bounce_report *r = parse_file("arf-abuse.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_FEEDBACK);
	ck_assert_str_eq(r->feedback_type, "abuse");
	ck_assert_uint_eq(r->n_rcpts, 1);
	rc = rcpt_of(r, "annoyed.reader@isp.example.net");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_NONE);
	ck_assert_str_eq(rc->reason, "feedback");
	ck_assert_str_eq(r->verp_token, "Arf77");
	ck_assert_str_eq(r->orig_message_id, "digest.2026-12.9@example.org");
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_reads_rfc3834_auto_reply_never_as_bounce)
{
	struct bounce_report *r = parse_file("autoreply.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_AUTOREPLY);
	ck_assert_uint_eq(r->n_rcpts, 1);
	rc = rcpt_of(r, "helen@school.example.com");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_NONE);
	ck_assert_str_eq(rc->reason, "vacation");
	ck_assert_ptr_null(rc->status);
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_reads_human_reply_as_other_mail)
{
	struct bounce_report *r = parse_file("human-reply.eml");

	ck_assert_int_eq(r->kind, BOUNCE_KIND_OTHER);
	/* The colleague named in the text is nobody's bounce. */
	ck_assert_uint_eq(r->n_rcpts, 0);
	ck_assert_ptr_null(r->verp_token);
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_finds_verp_token_when_dsn_part_is_missing)
{
	struct bounce_report *r = parse_file("verp-only.eml");

	ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
	ck_assert_uint_eq(r->n_rcpts, 0);
	ck_assert_str_eq(r->verp_token, "Vp0nLy9");
	bounce_report_free(r);
}
END_TEST

START_TEST(test_bounce_reads_success_dsn_as_delivered)
{
	struct bounce_report *r = parse_file("delivered-dsn.eml");
	const struct bounce_rcpt *rc;

	ck_assert_int_eq(r->kind, BOUNCE_KIND_DELIVERED);
	rc = rcpt_of(r, "happy@example.net");
	ck_assert_str_eq(rc->action, "delivered");
	ck_assert_int_eq(rc->cls, BOUNCE_CLASS_NONE);
	ck_assert_str_eq(rc->reason, "delivered");
	ck_assert_str_eq(r->verp_token, "D3l1v");
	bounce_report_free(r);
}
END_TEST

/* A DSN with one recipient, for classification tests. */
static struct bounce_report *
parse_dsn(const char *status, const char *diag)
{
	struct bounce_report *r = NULL;
	char *s = xasprintf("From: MAILER-DAEMON@mx.example.net\n"
			    "To: bounces+T1@bounces.example.org\n"
			    "Subject: Undelivered Mail Returned to Sender\n"
			    "MIME-Version: 1.0\n"
			    "Content-Type: multipart/report; "
			    "report-type=delivery-status; boundary=\"B\"\n"
			    "\n"
			    "--B\n"
			    "Content-Type: text/plain\n"
			    "\n"
			    "Your message could not be delivered.\n"
			    "--B\n"
			    "Content-Type: message/delivery-status\n"
			    "\n"
			    "Reporting-MTA: dns; mx.example.net\n"
			    "\n"
			    "Final-Recipient: rfc822; x@example.com\n"
			    "Action: failed\n"
			    "Status: %s\n"
			    "Diagnostic-Code: smtp; %s\n"
			    "--B--\n",
	    status, diag);

	ck_assert_int_eq(bounce_parse(s, strlen(s), &r), 0);
	ck_assert_uint_eq(r->n_rcpts, 1);
	free(s);
	return r;
}

START_TEST(test_bounce_classifies_by_reason_not_by_first_digit)
{
	static const struct {
		const char *status, *diag, *reason;
		enum bounce_class cls;
	} cases[] = {
		{ "5.7.1",
		    "554 5.7.1 Service unavailable; client [192.0.2.1] "
		    "blocked using dnsbl.example.org",
		    "blocked", BOUNCE_CLASS_SOFT },
		{ "5.1.2", "550 5.1.2 Host unknown", "hostunknown",
		    BOUNCE_CLASS_HARD },
		{ "5.0.0",
		    "550 Requested action not taken: mailbox "
		    "unavailable, user unknown (in reply to RCPT TO command)",
		    "userunknown", BOUNCE_CLASS_HARD },
		{ "5.1.6", "551 User has moved; please try elsewhere",
		    "hasmoved", BOUNCE_CLASS_HARD },
		{ "5.1.10", "556 5.1.10 Recipient address has null MX",
		    "notaccept", BOUNCE_CLASS_HARD },
		{ "5.3.4", "552 5.3.4 Message too big for system", "mesgtoobig",
		    BOUNCE_CLASS_SOFT },
		{ "5.4.7", "Delivery time expired", "expired",
		    BOUNCE_CLASS_SOFT },
		{ "5.7.1", "554 5.7.1 <x@example.com>: Relay access denied",
		    "norelaying", BOUNCE_CLASS_SOFT },
		/* The code says "bad address"; words that say otherwise
		 * outright win: a full mailbox, not an unknown user. */
		{ "5.1.1", "550 5.1.1 <x@example.com>: Mailbox is full",
		    "mailboxfull", BOUNCE_CLASS_SOFT },
		/* User unknown after the data: the content was refused. */
		{ "5.0.0",
		    "550 <x@example.com>: User unknown (in reply to "
		    "end of DATA command)",
		    "filtered", BOUNCE_CLASS_SOFT },
	};
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct bounce_report *r =
		    parse_dsn(cases[i].status, cases[i].diag);

		ck_assert_msg(strcmp(r->rcpts[0].reason, cases[i].reason) == 0,
		    "case %zu: reason %s, expected %s", i, r->rcpts[0].reason,
		    cases[i].reason);
		ck_assert_int_eq(r->rcpts[0].cls, cases[i].cls);
		bounce_report_free(r);
	}
}
END_TEST

/* One synthetic message per MTA or provider format (tests/data/bounce,
 * named by the format): the recipient, the reason, hard or soft, the
 * command the refusal answered, and whether it is about the sender. */
START_TEST(test_bounce_reads_each_mta_and_provider_format)
{
	static const struct {
		const char *file, *rcpt, *reason;
		enum bounce_class cls;
		enum bounce_command cmd;
		bool sender_side;
	} cases[] = {
		{ "domino.eml", "parent.one@notes.example.com", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "exim-rcpt-user-unknown.eml", "no.such.parent@example.net",
		    "userunknown", BOUNCE_CLASS_HARD, BOUNCE_CMD_RCPT, false },
		{ "exim-data-user-unknown.eml", "filtered.parent@example.net",
		    "filtered", BOUNCE_CLASS_SOFT, BOUNCE_CMD_DATA, false },
		{ "exim-mailbox-full.eml", "full-parent@example.com",
		    "mailboxfull", BOUNCE_CLASS_SOFT, BOUNCE_CMD_RCPT, false },
		{ "qmail-no-mailbox.eml", "gone@example.net", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "qmail-spam-block.eml", "reader@example.com", "spamdetected",
		    BOUNCE_CLASS_SOFT, BOUNCE_CMD_DATA, false },
		{ "mailru.eml", "missing.reader@mail.ru", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "x3.eml", "kodomo@example.jp", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_RCPT, false },
		{ "office365.eml", "left.the.trust@example.org.uk",
		    "userunknown", BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "outlook-com.eml", "mum@hotmail.example.com", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "exchange2007.eml", "governor@school.example.com",
		    "userunknown", BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "exchange-text.eml", "left-the-school@example.com",
		    "userunknown", BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "gmail-text.eml", "gone.away@example.net", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "gmail-dmarc.eml", "reader@gmail.example", "authfailure",
		    BOUNCE_CLASS_SOFT, BOUNCE_CMD_DATA, true },
		{ "yahoo.eml", "nobody.here@yahoo.example.com", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_RCPT, false },
		{ "sendgrid.eml", "full.inbox@example.com", "mailboxfull",
		    BOUNCE_CLASS_SOFT, BOUNCE_CMD_NONE, false },
		{ "postfix-dsn.eml", "nobody-here@example.net", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_RCPT, false },
		{ "postfix-data-filtered.eml", "guarded@example.net",
		    "filtered", BOUNCE_CLASS_SOFT, BOUNCE_CMD_DATA, false },
		{ "sendmail.eml", "nobody@example.edu", "userunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_RCPT, false },
		{ "courier.eml", "typo@no-such-domain.example", "hostunknown",
		    BOUNCE_CLASS_HARD, BOUNCE_CMD_NONE, false },
		{ "gmx.eml", "away@example.de", "expired", BOUNCE_CLASS_SOFT,
		    BOUNCE_CMD_NONE, false },
		{ "webde.eml", "small.box@web.example", "mesgtoobig",
		    BOUNCE_CLASS_SOFT, BOUNCE_CMD_NONE, false },
		{ "orange-fr.eml", "maman@orange.fr", "mailboxfull",
		    BOUNCE_CLASS_SOFT, BOUNCE_CMD_RCPT, false },
		{ "free-fr.eml", "papa@free.fr", "blocked", BOUNCE_CLASS_SOFT,
		    BOUNCE_CMD_RCPT, true },
		{ "yandex.eml", "babushka@yandex.example", "mailboxfull",
		    BOUNCE_CLASS_SOFT, BOUNCE_CMD_RCPT, false },
		{ "kddi-au.eml", "keitai.parent@ezweb.ne.jp", "mailboxfull",
		    BOUNCE_CLASS_SOFT, BOUNCE_CMD_NONE, false },
		{ "docomo.eml", "okaasan@docomo.ne.jp", "filtered",
		    BOUNCE_CLASS_SOFT, BOUNCE_CMD_DATA, false },
	};
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct bounce_report *r = parse_file(cases[i].file);
		const struct bounce_rcpt *rc;

		ck_assert_msg(r->kind == BOUNCE_KIND_BOUNCE, "%s: kind %s",
		    cases[i].file, bounce_kind_name(r->kind));
		ck_assert_msg(r->n_rcpts == 1, "%s: %zu recipients",
		    cases[i].file, r->n_rcpts);
		rc = rcpt_of(r, cases[i].rcpt);
		ck_assert_msg(strcmp(rc->reason, cases[i].reason) == 0,
		    "%s: reason %s, expected %s", cases[i].file, rc->reason,
		    cases[i].reason);
		ck_assert_msg(rc->cls == cases[i].cls, "%s: class %s",
		    cases[i].file, bounce_class_name(rc->cls));
		ck_assert_msg(rc->command == cases[i].cmd, "%s: command %s",
		    cases[i].file,
		    bounce_command_name(rc->command) != NULL
			? bounce_command_name(rc->command)
			: "none");
		ck_assert_msg(rc->sender_side == cases[i].sender_side,
		    "%s: sender_side %d", cases[i].file, rc->sender_side);
		/* Each names our message, so that it can act. */
		ck_assert_msg(
		    r->verp_token != NULL, "%s: no VERP token", cases[i].file);
		bounce_report_free(r);
	}
}
END_TEST

static void
classify(const char *status, int reply, enum bounce_command cmd,
    const char *diag, struct bounce_verdict *v)
{
	struct bounce_facts f = { 0 };

	f.status = status;
	f.reply_code = reply;
	f.command = cmd;
	f.action = "failed";
	f.diagnostic = diag;
	bounce_classify(&f, v);
}

/* The same words, "user unknown", are a bad address when they answer
 * RCPT and a filter speaking as a mailbox after the data; with a code
 * that names the address (x.1.1), the code decides. */
START_TEST(test_bounce_classify_reads_user_unknown_by_the_command)
{
	static const char words[] = "550 <x@example.com>... User unknown";
	struct bounce_verdict v;

	classify(NULL, 550, BOUNCE_CMD_RCPT, words, &v);
	ck_assert_str_eq(v.reason, "userunknown");
	ck_assert_int_eq(v.cls, BOUNCE_CLASS_HARD);
	classify(NULL, 550, BOUNCE_CMD_DATA, words, &v);
	ck_assert_str_eq(v.reason, "filtered");
	ck_assert_int_eq(v.cls, BOUNCE_CLASS_SOFT);
	/* Not known what it answered: not enough to suppress anybody. */
	classify(NULL, 550, BOUNCE_CMD_NONE, words, &v);
	ck_assert_str_eq(v.reason, "filtered");
	ck_assert_int_eq(v.cls, BOUNCE_CLASS_SOFT);
	classify("5.1.1", 550, BOUNCE_CMD_DATA,
	    "550 5.1.1 <x@example.com>... User unknown", &v);
	ck_assert_str_eq(v.reason, "userunknown");
	ck_assert_int_eq(v.cls, BOUNCE_CLASS_HARD);
	/* The code before the words: a full mailbox, whatever the words
	 * say about the user. */
	classify("5.2.2", 552, BOUNCE_CMD_RCPT,
	    "552 5.2.2 <x@example.com>: user unknown or mailbox full", &v);
	ck_assert_str_eq(v.reason, "mailboxfull");
	ck_assert_int_eq(v.cls, BOUNCE_CLASS_SOFT);
	/* A greeting refused: the client was blocked, not the address. */
	classify(NULL, 554, BOUNCE_CMD_CONN, "554 Go away", &v);
	ck_assert_str_eq(v.reason, "blocked");
	ck_assert(v.sender_side);
}
END_TEST

/* Sisimai's vocabulary, each reason from a failure that means it; the
 * ones about the sender are marked as such and never hard. */
START_TEST(test_bounce_classify_speaks_the_whole_vocabulary)
{
	static const struct {
		const char *status;
		int reply;
		enum bounce_command cmd;
		const char *diag, *reason;
		bool sender_side;
	} cases[] = {
		{ "5.7.26", 550, BOUNCE_CMD_DATA,
		    "550 5.7.26 Unauthenticated email from example.org is "
		    "not accepted due to domain's DMARC policy",
		    "authfailure", true },
		{ "5.7.1", 554, BOUNCE_CMD_RCPT,
		    "554 5.7.1 Service unavailable; Client host [192.0.2.1] "
		    "blocked using zen.spamhaus.org",
		    "blocked", true },
		{ "5.7.1", 554, BOUNCE_CMD_RCPT,
		    "554 5.7.1 <x@example.com>: Relay access denied",
		    "norelaying", true },
		{ "5.7.0", 530, BOUNCE_CMD_MAIL,
		    "530 5.7.0 Must issue a STARTTLS command first",
		    "securityerror", true },
		{ "5.1.8", 553, BOUNCE_CMD_MAIL,
		    "553 5.1.8 <bounces+a@bounces.example.org>: Sender "
		    "address rejected: Domain not found",
		    "rejected", true },
		{ "5.7.1", 550, BOUNCE_CMD_DATA,
		    "550 5.7.1 Email rejected per local policy violation",
		    "policyviolation", true },
		{ "4.7.1", 451, BOUNCE_CMD_RCPT,
		    "451 4.7.1 <mx.example.jp>: Please try again slower",
		    "speeding", true },
		{ "4.7.0", 421, BOUNCE_CMD_CONN,
		    "421 4.7.0 Too many concurrent SMTP connections",
		    "toomanyconn", true },
		{ "5.2.1", 550, BOUNCE_CMD_RCPT,
		    "550 5.2.1 The email account that you tried to reach is "
		    "disabled",
		    "suspend", false },
		{ "4.4.7", 0, BOUNCE_CMD_NONE,
		    "Message expired after sitting in queue for 5 days",
		    "expired", false },
		{ "5.3.4", 552, BOUNCE_CMD_DATA,
		    "552 5.3.4 Message size exceeds fixed maximum message size",
		    "mesgtoobig", false },
		{ "5.2.3", 552, BOUNCE_CMD_DATA,
		    "552 5.2.3 Message length exceeds administrative limit",
		    "exceedlimit", false },
		{ NULL, 501, BOUNCE_CMD_NONE, "501 Syntax error in parameters",
		    "syntaxerror", false },
		{ "5.6.0", 554, BOUNCE_CMD_DATA,
		    "554 5.6.0 Improper use of 8-bit data in message header",
		    "contenterror", false },
		{ NULL, 554, BOUNCE_CMD_DATA,
		    "554 Virus detected: Eicar-Test-Signature", "virusdetected",
		    false },
		{ "5.7.1", 550, BOUNCE_CMD_DATA,
		    "550 5.7.1 Message rejected as spam by Content Filtering",
		    "spamdetected", false },
		{ "4.4.1", 0, BOUNCE_CMD_NONE, "No route to host",
		    "networkerror", false },
		{ "5.3.0", 554, BOUNCE_CMD_DATA,
		    "554 5.3.0 Local configuration error", "systemerror",
		    false },
		{ "4.3.1", 452, BOUNCE_CMD_RCPT,
		    "452 4.3.1 Insufficient system storage", "systemfull",
		    false },
		{ "5.2.2", 552, BOUNCE_CMD_RCPT, "552 5.2.2 Mailbox full",
		    "mailboxfull", false },
		{ "5.1.2", 550, BOUNCE_CMD_RCPT, "550 5.1.2 Host unknown",
		    "hostunknown", false },
		{ NULL, 550, BOUNCE_CMD_NONE,
		    "550 We could not say what went wrong", "onhold", false },
		{ NULL, 0, BOUNCE_CMD_NONE, NULL, "undefined", false },
		{ "2.1.5", 250, BOUNCE_CMD_RCPT, "250 2.1.5 Ok", "delivered",
		    false },
	};
	struct bounce_verdict v;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		classify(cases[i].status, cases[i].reply, cases[i].cmd,
		    cases[i].diag, &v);
		ck_assert_msg(strcmp(v.reason, cases[i].reason) == 0,
		    "case %zu: %s, expected %s", i, v.reason, cases[i].reason);
		ck_assert_msg(v.sender_side == cases[i].sender_side,
		    "case %zu (%s): sender_side %d", i, v.reason,
		    v.sender_side);
		ck_assert_msg(!v.sender_side || v.cls == BOUNCE_CLASS_SOFT,
		    "case %zu: a sender-side failure is soft", i);
		ck_assert(
		    bounce_reason_is_sender_side(v.reason) == v.sender_side);
	}
}
END_TEST

/* A DSN that names 600 recipients: 500 are read, and the rest are
 * counted and said, by the parser and by parse-bounce. */
START_TEST(test_bounce_report_cut_at_500_recipients_says_so)
{
	struct bounce_report *r = NULL;
	struct buf b;
	char *dir = tu_mkdtemp(), *path, *log, *out;
	char *bin = xasprintf("%s/src/familymail", tu_builddir());
	char *argv[4];
	int i;

	buf_init(&b);
	buf_puts(&b,
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+m4ny@bounces.example.org\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; "
	    "report-type=delivery-status; boundary=\"B\"\n\n"
	    "--B\nContent-Type: text/plain\n\nFailed.\n"
	    "--B\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.net\n\n");
	for (i = 0; i < 600; i++) {
		char *g = xasprintf("Final-Recipient: rfc822; r%d@example.com\n"
				    "Action: failed\nStatus: 5.1.1\n\n",
		    i);

		buf_puts(&b, g);
		free(g);
	}
	buf_puts(&b, "--B--\n");
	ck_assert_int_eq(bounce_parse(b.data, b.len, &r), 0);
	ck_assert_uint_eq(r->n_rcpts, BOUNCE_MAX_RCPTS);
	ck_assert_uint_eq(r->n_dropped, 100);
	bounce_report_free(r);

	path = tu_write_file(dir, "many.eml", b.data);
	log = xasprintf("%s/out.log", dir);
	argv[0] = bin;
	argv[1] = "parse-bounce";
	argv[2] = path;
	argv[3] = NULL;
	ck_assert_int_eq(tu_run_cmd(argv, log, 30000), 0);
	out = tu_read_file(log, NULL);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(strstr(out, "\"dropped\":100"));
	ck_assert_ptr_nonnull(strstr(out,
	    "names 100 recipients more than "
	    "the 500 read"));
	free(out);
	free(log);
	free(path);
	free(bin);
	buf_fini(&b);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_bounce_survives_every_truncation_of_a_dsn)
{
	size_t len, cut;
	char *s = data_read("postfix-dsn.eml", &len);
	const char *dsn_end = strstr(s, "Content-Description: Undelivered");

	ck_assert_ptr_nonnull(dsn_end);
	for (cut = 1; cut < len; cut += 7) {
		struct bounce_report *r = NULL;
		char *copy = xstrndup(s, cut);
		int ret = bounce_parse(copy, cut, &r);

		ck_assert_msg(
		    ret == 0 || ret == -EINVAL, "cut %zu: %d", cut, ret);
		ck_assert((ret == 0) == (r != NULL));
		/* Cut after the DSN part: the recipient is still there. */
		if (cut > (size_t)(dsn_end - s)) {
			ck_assert_uint_eq(r->n_rcpts, 1);
			ck_assert_int_eq(r->rcpts[0].cls, BOUNCE_CLASS_HARD);
		}
		bounce_report_free(r);
		free(copy);
	}
	free(s);
}
END_TEST

START_TEST(test_bounce_refuses_garbage_that_is_no_mail)
{
	static const char *const inputs[] = { "hello world, no header here",
		"\n\n\n", ": starts with a colon\n\nbody", "\x01\x02\xff\xfe" };
	struct bounce_report *r = (struct bounce_report *)1;
	unsigned char noise[4096];
	unsigned int seed = 12345;
	size_t i;

	ck_assert_int_eq(bounce_parse("", 0, &r), -EINVAL);
	ck_assert_ptr_null(r);
	for (i = 0; i < UTIL_ARRAY_LEN(inputs); i++) {
		ck_assert_int_eq(
		    bounce_parse(inputs[i], strlen(inputs[i]), &r), -EINVAL);
		ck_assert_ptr_null(r);
	}
	for (i = 0; i < sizeof(noise); i++) {
		seed = seed * 1103515245u + 12345u;
		noise[i] = (unsigned char)(seed >> 16);
	}
	noise[0] = 0xff; /* not a header name */
	ck_assert_int_eq(
	    bounce_parse((const char *)noise, sizeof(noise), &r), -EINVAL);
	ck_assert_ptr_null(r);
}
END_TEST

START_TEST(test_bounce_survives_header_then_binary_noise)
{
	struct buf b;
	struct bounce_report *r = NULL;
	unsigned int seed = 99;
	size_t i;

	buf_init(&b);
	buf_puts(&b,
	    "From: MAILER-DAEMON@example.net\n"
	    "Subject: Returned mail\n"
	    "Content-Type: multipart/report; boundary=x\n\n--x\n");
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		buf_putc(&b, (char)(seed >> 16));
	}
	ck_assert_int_eq(bounce_parse(b.data, b.len, &r), 0);
	/* Whatever was found is printable as JSON text. */
	for (i = 0; i < r->n_rcpts; i++)
		if (r->rcpts[i].diagnostic != NULL) {
			json_t *j = json_string(r->rcpts[i].diagnostic);

			ck_assert_ptr_nonnull(j);
			json_decref(j);
		}
	bounce_report_free(r);
	buf_fini(&b);
}
END_TEST

START_TEST(test_bounce_survives_deeply_nested_mime)
{
	struct buf b;
	struct bounce_report *r = NULL;
	int i;

	buf_init(&b);
	buf_puts(&b,
	    "From: MAILER-DAEMON@example.net\n"
	    "Subject: Undeliverable\n");
	for (i = 0; i < 3000; i++)
		buf_printf(&b,
		    "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n",
		    i, i);
	buf_puts(&b,
	    "Content-Type: text/plain\n\n550 5.1.1 <deep@example.com>"
	    " User unknown\n");
	ck_assert_int_eq(bounce_parse(b.data, b.len, &r), 0);
	ck_assert_int_eq(r->kind, BOUNCE_KIND_BOUNCE);
	bounce_report_free(r);
	buf_fini(&b);
}
END_TEST

START_TEST(test_bounce_refuses_oversized_input)
{
	static const char hdr[] = "From: x@example.org\n\n";
	size_t len = BOUNCE_MAX_SIZE + 1;
	char *big = xmalloc(len);
	struct bounce_report *r = (struct bounce_report *)1;

	memset(big, 'a', len);
	memcpy(big, hdr, sizeof(hdr) - 1);
	ck_assert_int_eq(bounce_parse(big, len, &r), -EMSGSIZE);
	ck_assert_ptr_null(r);
	/* One byte less is read (and is no bounce). */
	ck_assert_int_eq(bounce_parse(big, len - 1, &r), 0);
	ck_assert_int_eq(r->kind, BOUNCE_KIND_OTHER);
	bounce_report_free(r);
	free(big);
}
END_TEST

START_TEST(test_bounce_names_kinds_and_classes)
{
	ck_assert_str_eq(bounce_kind_name(BOUNCE_KIND_BOUNCE), "bounce");
	ck_assert_str_eq(bounce_kind_name(BOUNCE_KIND_FEEDBACK), "feedback");
	ck_assert_str_eq(bounce_kind_name(BOUNCE_KIND_AUTOREPLY), "autoreply");
	ck_assert_str_eq(bounce_kind_name(BOUNCE_KIND_DELIVERED), "delivered");
	ck_assert_str_eq(bounce_kind_name(BOUNCE_KIND_OTHER), "other");
	ck_assert_str_eq(bounce_class_name(BOUNCE_CLASS_HARD), "hard");
	ck_assert_str_eq(bounce_class_name(BOUNCE_CLASS_SOFT), "soft");
	ck_assert_ptr_null(bounce_class_name(BOUNCE_CLASS_NONE));
	bounce_report_free(NULL);
}
END_TEST

START_TEST(test_parse_bounce_prints_json_lines_and_fails_on_bad_file)
{
	char *dir = tu_mkdtemp();
	char *log = xasprintf("%s/out.log", dir);
	char *bin = xasprintf("%s/src/familymail", tu_builddir());
	char *dsn = data_path("postfix-dsn.eml");
	char *human = data_path("human-reply.eml");
	char *missing = xasprintf("%s/missing.eml", dir);
	char *argv[] = { bin, "parse-bounce", dsn, missing, human, NULL };
	char *out, *line, *next;
	int lines = 0;

	ck_assert_int_eq(tu_run_cmd(argv, log, 30000), 1);
	out = tu_read_file(log, NULL);
	ck_assert_ptr_nonnull(out);
	/* The unreadable file is named, and the others still printed. */
	ck_assert_ptr_nonnull(strstr(out, missing));
	for (line = out; line != NULL; line = next) {
		json_t *j;
		const char *file;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] != '{')
			continue;
		j = json_loads(line, 0, NULL);
		ck_assert_ptr_nonnull(j);
		file = json_string_value(json_object_get(j, "file"));
		if (strcmp(file, dsn) == 0) {
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "recipient")),
			    "nobody-here@example.net");
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "class")),
			    "hard");
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "status")),
			    "5.1.1");
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "kind")),
			    "bounce");
		} else {
			ck_assert_str_eq(file, human);
			/* No recipient: one line all the same. */
			ck_assert(
			    json_is_null(json_object_get(j, "recipient")));
			ck_assert(json_is_null(json_object_get(j, "class")));
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "kind")),
			    "other");
		}
		ck_assert_ptr_nonnull(json_object_get(j, "diagnostic"));
		ck_assert_ptr_nonnull(json_object_get(j, "action"));
		ck_assert_ptr_nonnull(json_object_get(j, "reason"));
		json_decref(j);
		lines++;
	}
	ck_assert_int_eq(lines, 2);
	free(out);
	tu_rmtree(dir);
	free(dir);
	free(log);
	free(bin);
	free(dsn);
	free(human);
	free(missing);
}
END_TEST

static Suite *
bounce_suite(void)
{
	Suite *s = suite_create("bounce");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_bounce_reads_postfix_dsn_as_hard_user_unknown);
	tcase_add_test(tc, test_bounce_reads_crlf_and_bare_cr_like_bare_lf);
	tcase_add_test(tc, test_bounce_reads_exim_mailbox_full_522_as_soft);
	tcase_add_test(tc, test_bounce_reads_qmail_spam_block_571_as_soft);
	tcase_add_test(
	    tc, test_bounce_reads_exchange_unknown_recipient_as_hard);
	tcase_add_test(tc, test_bounce_reads_gmail_no_such_user_as_hard);
	tcase_add_test(
	    tc, test_bounce_reads_amazon_ses_notification_per_recipient);
	tcase_add_test(tc, test_bounce_reads_amazon_ses_complaint_as_feedback);
	tcase_add_test(tc, test_bounce_reads_arf_abuse_report_as_feedback);
	tcase_add_test(
	    tc, test_bounce_reads_rfc3834_auto_reply_never_as_bounce);
	tcase_add_test(tc, test_bounce_reads_human_reply_as_other_mail);
	tcase_add_test(
	    tc, test_bounce_finds_verp_token_when_dsn_part_is_missing);
	tcase_add_test(tc, test_bounce_reads_success_dsn_as_delivered);
	tcase_add_test(tc, test_bounce_classifies_by_reason_not_by_first_digit);
	tcase_add_test(tc, test_bounce_survives_every_truncation_of_a_dsn);
	tcase_add_test(tc, test_bounce_refuses_garbage_that_is_no_mail);
	tcase_add_test(tc, test_bounce_survives_header_then_binary_noise);
	tcase_add_test(tc, test_bounce_survives_deeply_nested_mime);
	tcase_add_test(tc, test_bounce_refuses_oversized_input);
	tcase_add_test(tc, test_bounce_names_kinds_and_classes);
	tcase_add_test(tc, test_bounce_reads_each_mta_and_provider_format);
	tcase_add_test(
	    tc, test_bounce_classify_reads_user_unknown_by_the_command);
	tcase_add_test(tc, test_bounce_classify_speaks_the_whole_vocabulary);
	suite_add_tcase(s, tc);

	tc = tcase_create("command");
	tcase_add_test(
	    tc, test_parse_bounce_prints_json_lines_and_fails_on_bad_file);
	tcase_add_test(tc, test_bounce_report_cut_at_500_recipients_says_so);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(bounce_suite());
}
