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
	suite_add_tcase(s, tc);

	tc = tcase_create("command");
	tcase_add_test(
	    tc, test_parse_bounce_prints_json_lines_and_fails_on_bad_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(bounce_suite());
}
