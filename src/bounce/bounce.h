/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce: reads one message that came back to the bounce mailbox and says
 * what it is: a bounce (with one entry per failed or delayed recipient),
 * an abuse/feedback report (RFC 5965), an auto-reply (RFC 3834), a success
 * DSN, or other mail; and, for each recipient, the status code, the
 * diagnostic text, the SMTP command the refusal answered and a reason in
 * Sisimai's vocabulary, from which the hard/soft decision follows.
 *
 * It reads standard DSNs (RFC 3464 message/delivery-status), the text of
 * MTAs that send none (qmail, Exim, older Sendmail and Postfix, Exchange,
 * Domino, ...) and the VERP token of our envelope sender
 * (bounces+TOKEN@domain).
 *
 * bounce_classify() is the one classifier of familymail: the parser
 * calls it for every recipient of a report, and the sender calls it
 * (through bounce_apply_refusal(), bounce_apply.h) for a recipient
 * refused at send time. What a verdict changes in the database
 * (recording, counting soft bounces, suppression, unsubscribing) is
 * decided in one place too: bounce_apply.c. This module is not a
 * mailbox reader (bounce_source*.c) and touches no database.
 */
#ifndef FM_BOUNCE_H
#define FM_BOUNCE_H

#include <stdbool.h>
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

/* The SMTP command a refusal answered, as far as is known. */
enum bounce_command {
	BOUNCE_CMD_NONE, /* not known */
	BOUNCE_CMD_CONN, /* the greeting, before any command */
	BOUNCE_CMD_EHLO, /* EHLO or HELO */
	BOUNCE_CMD_MAIL, /* MAIL FROM */
	BOUNCE_CMD_RCPT, /* RCPT TO */
	BOUNCE_CMD_DATA  /* DATA, or the end of the data */
};

/*
 * What is known about one failed recipient, whichever way it came: a
 * report from the bounce mailbox or a refusal at send time. Every field
 * may be NULL (0, BOUNCE_CMD_NONE) when unknown; strings are the
 * caller's.
 */
struct bounce_facts {
	const char *status; /* enhanced status code, "5.1.1" */
	int reply_code;     /* SMTP reply code, 550 */
	enum bounce_command command;
	const char *action; /* DSN Action, lower case: "failed", "delayed" */
	const char *diagnostic;  /* the remote server's words */
	const char *diag_type;   /* type of Diagnostic-Code: "smtp", "x-unix" */
	const char *remote_host; /* host that refused: selects provider rules */
	const char *recipient;   /* its domain selects provider rules too */
	/* A reason the reader of one MTA's format already found in that
	 * MTA's own fixed wording (qmail, Exim, Domino, ...), or NULL. */
	const char *mta_reason;
};

/*
 * The verdict on one failure.
 *
 * sender_side: the refusal is about the sender, not about the
 * recipient's address: our authentication (SPF, DKIM, DMARC:
 * authfailure; STARTTLS or AUTH required: securityerror), our sending
 * IP or host on a blocklist or without reverse DNS (blocked), our
 * envelope sender refused (rejected), relaying refused (norelaying),
 * the relay's or the receiver's policy or rate limits (policyviolation,
 * speeding, toomanyconn). Such a failure never counts towards
 * suppressing the recipient (bounce_apply.c); at send time the delivery
 * code may pause the relay instead. sender_side implies soft.
 */
struct bounce_verdict {
	const char *reason; /* static: Sisimai's name, never NULL */
	enum bounce_class cls;
	bool sender_side;
};

/*
 * Classifies one failure: the reason in Sisimai's vocabulary (blocked,
 * contenterror, exceedlimit, expired, filtered, hasmoved, hostunknown,
 * mailboxfull, mailererror, mesgtoobig, networkerror, norelaying,
 * notaccept, onhold, policyviolation, rejected, securityerror,
 * spamdetected, suspend, syntaxerror, systemerror, systemfull,
 * toomanyconn, undefined, userunknown, virusdetected, and the newer
 * authfailure and speeding; delivered and vacation when f says so),
 * whether that makes the failure hard (only a bad address: userunknown,
 * hostunknown, hasmoved, and notaccept with a permanent code) or soft,
 * and whether it is about the sender. The enhanced status code is read
 * before the text where both are present, and the command decides
 * between readings of the same words: "user unknown" answering RCPT is
 * a bad address (userunknown, hard), answering the end of DATA it is a
 * content filter speaking as a mailbox (filtered, soft).
 * Pure and thread-safe.
 */
void bounce_classify(const struct bounce_facts *f, struct bounce_verdict *v);

/* True for reasons that are about the sender (see struct
 * bounce_verdict); false for unknown names. */
bool bounce_reason_is_sender_side(const char *reason);

/* "conn", "ehlo", "mail", "rcpt", "data", or NULL for BOUNCE_CMD_NONE. */
const char *bounce_command_name(enum bounce_command cmd);

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
	enum bounce_command command; /* what the refusal answered */
	bool sender_side;            /* see struct bounce_verdict */
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
	/* Recipients the report names beyond BOUNCE_MAX_RCPTS, not read
	 * (0 when it was read whole). */
	size_t n_dropped;
};

/* Recipients read from one report at most; the rest are counted in
 * n_dropped. */
#define BOUNCE_MAX_RCPTS 500

/*
 * Parses one raw message of len bytes (CR, LF or CRLF line endings, any
 * mixture; NUL bytes allowed). On success sets *out to a new report that
 * the caller frees with bounce_report_free() and returns 0; a message that
 * is no bounce still gives a report (kind other, no recipients).
 * Returns -EMSGSIZE when len exceeds BOUNCE_MAX_SIZE and -EINVAL when the
 * input is not a mail message at all (no header); *out is then NULL.
 * Pure: no I/O and no global state but a cache of the character set
 * converters it has used (kept open, up to a few, so that their modules
 * stay loaded); safe to call from worker threads.
 */
int bounce_parse(const char *data, size_t len, struct bounce_report **out);

/* Frees a report and everything it holds; NULL does nothing. */
void bounce_report_free(struct bounce_report *r);

/* "bounce", "feedback", "autoreply", "delivered", "other". */
const char *bounce_kind_name(enum bounce_kind kind);
/* "hard", "soft", or NULL for BOUNCE_CLASS_NONE. */
const char *bounce_class_name(enum bounce_class cls);

#endif
