/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce: reads one message that came back to the bounce mailbox and says
 * what it is: a bounce (with one entry per failed or delayed recipient),
 * an abuse/feedback report (RFC 5965), an auto-reply (RFC 3834), a success
 * DSN, or other mail; and, for each recipient, the status code, the
 * diagnostic text and a reason in Sisimai's vocabulary, from which the
 * hard/soft decision follows.
 *
 * It reads standard DSNs (RFC 3464 message/delivery-status), the text of
 * MTAs that send none (qmail, Exim, older Sendmail and Postfix, Exchange,
 * ...) and the VERP token of our envelope sender (bounces+TOKEN@domain).
 * It is not a mailbox reader (bsource_*), does not touch the database and
 * does not decide suppression: that is suppress.c's job.
 */
#ifndef FM_BOUNCE_H
#define FM_BOUNCE_H

#include <stddef.h>

/* Inputs larger than this are refused with -EMSGSIZE. */
#define BOUNCE_MAX_SIZE (10 * 1024 * 1024)

enum bounce_kind {
	BOUNCE_KIND_BOUNCE,
	BOUNCE_KIND_FEEDBACK,
	BOUNCE_KIND_AUTOREPLY,
	BOUNCE_KIND_DELIVERED,
	BOUNCE_KIND_OTHER
};

enum bounce_class {
	BOUNCE_CLASS_NONE, /* not a failure: feedback, auto-reply, delivered */
	BOUNCE_CLASS_HARD, /* the address itself is bad: suppress at once */
	BOUNCE_CLASS_SOFT  /* anything else, even with a 5.x.x code */
};

/*
 * One recipient of a report. Strings are NUL-terminated UTF-8 or raw
 * 8-bit text as found (never containing CR or LF), owned by the report;
 * any may be NULL when the message does not say.
 */
struct bounce_rcpt {
	char *recipient; /* addr-spec, e.g. "kijitora@example.org" */
	char *status;    /* enhanced status code, "5.1.1" */
	char *action;    /* DSN Action, lower case: "failed", "delayed" */
	enum bounce_class cls;
	const char *reason; /* static: "userunknown", "mailboxfull", ...,
			     * "feedback", "vacation", "delivered"; never NULL */
	char *diagnostic;   /* the remote server's words, folded to one line */
	char *remote_mta;   /* host that refused, when known */
	int reply_code;     /* SMTP reply code (550) or 0 */
};

struct bounce_report {
	enum bounce_kind kind;
	/* TOKEN of bounces+TOKEN@... found in the bounce's envelope or To
	 * headers, or in the returned message's Return-Path; or NULL. */
	char *verp_token;
	char *orig_message_id; /* Message-ID of the returned message, no <> */
	char *feedback_type;   /* ARF Feedback-Type, lower case, or NULL */
	/* TOKEN of a message that is no bounce with the Subject
	 * "unsubscribe TOKEN": a List-Unsubscribe mailto request. */
	char *unsubscribe_token;
	struct bounce_rcpt *rcpts;
	size_t n_rcpts;
};

/*
 * Parses one raw message of len bytes (CR, LF or CRLF line endings, any
 * mixture; NUL bytes allowed). On success sets *out to a new report that
 * the caller frees with bounce_report_free() and returns 0; a message that
 * is no bounce still gives a report (kind other, no recipients).
 * Returns -EMSGSIZE when len exceeds BOUNCE_MAX_SIZE and -EINVAL when the
 * input is not a mail message at all (no header); *out is then NULL.
 * Pure: no I/O, no global state, safe to call from worker threads.
 */
int bounce_parse(const char *data, size_t len, struct bounce_report **out);

/* Frees a report and everything it holds; NULL does nothing. */
void bounce_report_free(struct bounce_report *r);

/* "bounce", "feedback", "autoreply", "delivered", "other". */
const char *bounce_kind_name(enum bounce_kind kind);
/* "hard", "soft", or NULL for BOUNCE_CLASS_NONE. */
const char *bounce_class_name(enum bounce_class cls);

#endif
