/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_classify: why a recipient failed, in the vocabulary of the
 * Sisimai bounce analyser, whether that makes the failure hard or soft,
 * and whether it is about the sender rather than the recipient (see
 * bounce.h). The one classifier of familymail: reports read from the
 * bounce mailbox and refusals at send time both come here.
 *
 * The order of the checks follows the meaning of the reasons: first the
 * reasons that words and code together settle (a full mailbox, a
 * message too big, a suspended account, a moved address, relaying
 * refused, an unknown user, a filter, a refused sender, an unknown
 * host, spam, rate limits, a blocked client), each read from the
 * enhanced status code first and from the words only where the code
 * does not decide; then the status code alone; then the words of the
 * remaining reasons; then the code's class (x.6.x content, x.7.x
 * security), the type of the diagnostic, the reply code and the
 * command. The SMTP command decides between readings of the same words:
 * "user unknown" refused at RCPT is a bad address, after the data it is
 * a content filter speaking as a mailbox.
 *
 * The words live in bounce_words.c, provider-specific rules in
 * bounce_provider.c. Nothing here touches the database.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce/bounce_int.h"
#include "util.h"

static const char *const bounce_reason_names[BOUNCE_R_COUNT] = {
	[BOUNCE_R_NONE] = "undefined",
	[BOUNCE_R_AUTHFAILURE] = "authfailure",
	[BOUNCE_R_BLOCKED] = "blocked",
	[BOUNCE_R_CONTENTERROR] = "contenterror",
	[BOUNCE_R_DELIVERED] = "delivered",
	[BOUNCE_R_EXCEEDLIMIT] = "exceedlimit",
	[BOUNCE_R_EXPIRED] = "expired",
	[BOUNCE_R_FEEDBACK] = "feedback",
	[BOUNCE_R_FILTERED] = "filtered",
	[BOUNCE_R_HASMOVED] = "hasmoved",
	[BOUNCE_R_HOSTUNKNOWN] = "hostunknown",
	[BOUNCE_R_MAILBOXFULL] = "mailboxfull",
	[BOUNCE_R_MAILERERROR] = "mailererror",
	[BOUNCE_R_MESGTOOBIG] = "mesgtoobig",
	[BOUNCE_R_NETWORKERROR] = "networkerror",
	[BOUNCE_R_NORELAYING] = "norelaying",
	[BOUNCE_R_NOTACCEPT] = "notaccept",
	[BOUNCE_R_ONHOLD] = "onhold",
	[BOUNCE_R_POLICYVIOLATION] = "policyviolation",
	[BOUNCE_R_REJECTED] = "rejected",
	[BOUNCE_R_SECURITYERROR] = "securityerror",
	[BOUNCE_R_SPAMDETECTED] = "spamdetected",
	[BOUNCE_R_SPEEDING] = "speeding",
	[BOUNCE_R_SUSPEND] = "suspend",
	[BOUNCE_R_SYNTAXERROR] = "syntaxerror",
	[BOUNCE_R_SYSTEMERROR] = "systemerror",
	[BOUNCE_R_SYSTEMFULL] = "systemfull",
	[BOUNCE_R_TOOMANYCONN] = "toomanyconn",
	[BOUNCE_R_UNDEFINED] = "undefined",
	[BOUNCE_R_USERUNKNOWN] = "userunknown",
	[BOUNCE_R_VACATION] = "vacation",
	[BOUNCE_R_VIRUSDETECTED] = "virusdetected",
};

const char *
bounce_reason_name(enum bounce_reason r)
{
	if ((size_t)r >= BOUNCE_R_COUNT)
		return "undefined";
	return bounce_reason_names[r];
}

enum bounce_reason
bounce_reason_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return BOUNCE_R_NONE;
	for (i = 1; i < BOUNCE_R_COUNT; i++)
		if (name[0] == bounce_reason_names[i][0] &&
		    strcmp(name, bounce_reason_names[i]) == 0)
			return (enum bounce_reason)i;
	return BOUNCE_R_NONE;
}

/* See bounce_reason_is_sender_side(). */
static bool
bounce_classify_sender_side(enum bounce_reason r)
{
	switch (r) {
	case BOUNCE_R_AUTHFAILURE:
	case BOUNCE_R_BLOCKED:
	case BOUNCE_R_NORELAYING:
	case BOUNCE_R_POLICYVIOLATION:
	case BOUNCE_R_REJECTED:
	case BOUNCE_R_SECURITYERROR:
	case BOUNCE_R_SPEEDING:
	case BOUNCE_R_TOOMANYCONN:
		return true;
	default:
		return false;
	}
}

bool
bounce_reason_is_sender_side(const char *reason)
{
	return bounce_classify_sender_side(bounce_reason_parse(reason));
}

static const char *const bounce_command_names[] = {
	[BOUNCE_CMD_NONE] = NULL,
	[BOUNCE_CMD_CONN] = "conn",
	[BOUNCE_CMD_EHLO] = "ehlo",
	[BOUNCE_CMD_MAIL] = "mail",
	[BOUNCE_CMD_RCPT] = "rcpt",
	[BOUNCE_CMD_DATA] = "data",
};

const char *
bounce_command_name(enum bounce_command cmd)
{
	if ((size_t)cmd >= UTIL_ARRAY_LEN(bounce_command_names))
		return NULL;
	return bounce_command_names[cmd];
}

/* --------------------------------------------------------------- codes */

bool
bounce_classify_find_status(const char *s, char *out, size_t outlen)
{
	const char *p;

	if (s == NULL)
		return false;
	for (p = s; *p != '\0'; p++) {
		const char *q = p + 1;
		size_t a = 0, b = 0;

		if (*p != '2' && *p != '4' && *p != '5')
			continue;
		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		if (*q++ != '.')
			continue;
		while (a < 4 && isdigit((unsigned char)q[a]))
			a++;
		if (a == 0 || a > 3 || q[a] != '.')
			continue;
		while (b < 4 && isdigit((unsigned char)q[a + 1 + b]))
			b++;
		if (b == 0 || b > 3)
			continue;
		if (q[a + 1 + b] == '.' || isalnum((unsigned char)q[a + 1 + b]))
			continue;
		(void)snprintf(
		    out, outlen, "%.*s", (int)(q + a + 1 + b - p), p);
		return true;
	}
	return false;
}

int
bounce_classify_find_reply(const char *s)
{
	const char *p;

	if (s == NULL)
		return 0;
	for (p = s; p[0] != '\0'; p++) {
		if ((p[0] != '2' && p[0] != '4' && p[0] != '5') ||
		    !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]))
			continue;
		if (p > s &&
		    (isalnum((unsigned char)p[-1]) || p[-1] == '.' ||
			p[-1] == ':' || p[-1] == '=' || p[-1] == '-' ||
			p[-1] == '_' || p[-1] == '/'))
			continue;
		if (p[3] != ' ' && p[3] != '-' && p[3] != '\0' &&
		    p[3] != '\'' && p[3] != ']' && p[3] != ')')
			continue;
		if (p[1] > '5')
			continue;
		return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	}
	return 0;
}

/* ------------------------------------------------------------ command */

/* Phrases of MTAs that name the command a reply answered. Longer
 * phrases first where one holds another. */
static const struct {
	const char *words; /* lower case */
	enum bounce_command cmd;
} bounce_classify_cmd_words[] = {
	{ "in reply to end of data", BOUNCE_CMD_DATA },
	{ "after end of data", BOUNCE_CMD_DATA },
	{ "after end of body", BOUNCE_CMD_DATA },
	{ "in reply to data", BOUNCE_CMD_DATA },
	{ "after data", BOUNCE_CMD_DATA },
	{ "failed on data command", BOUNCE_CMD_DATA },
	{ "failed after i sent the message", BOUNCE_CMD_DATA },
	{ "during data", BOUNCE_CMD_DATA },
	{ "in reply to rcpt", BOUNCE_CMD_RCPT },
	{ "after rcpt", BOUNCE_CMD_RCPT },
	{ "after pipelined rcpt", BOUNCE_CMD_RCPT },
	{ "does not like recipient", BOUNCE_CMD_RCPT },
	{ "in reply to mail", BOUNCE_CMD_MAIL },
	{ "after mail", BOUNCE_CMD_MAIL },
	{ "after pipelined mail", BOUNCE_CMD_MAIL },
	{ "but sender was rejected", BOUNCE_CMD_MAIL },
	{ "after ehlo", BOUNCE_CMD_EHLO },
	{ "after helo", BOUNCE_CMD_EHLO },
	{ "in reply to ehlo", BOUNCE_CMD_EHLO },
	{ "in reply to helo", BOUNCE_CMD_EHLO },
	{ "but my name was rejected", BOUNCE_CMD_EHLO },
	{ "refused to talk to me", BOUNCE_CMD_EHLO },
	{ "after initial connection", BOUNCE_CMD_CONN },
	{ "but greeting failed", BOUNCE_CMD_CONN },
	{ "most progress was rcpt", BOUNCE_CMD_RCPT },
	{ "most progress was mail", BOUNCE_CMD_MAIL },
	{ "most progress was data", BOUNCE_CMD_DATA },
};

/* Words one of which every phrase of bounce_classify_cmd_words holds
 * (checked once, bounce_classify_cmd_check()): a text with none of them
 * holds no phrase, and most texts hold none. */
static const char *const bounce_classify_cmd_anchors[] = { "reply to ",
	"after ", "data", "like recipient", "was rejected", "refused to talk",
	"greeting", "progress" };

static pthread_once_t bounce_classify_cmd_once = PTHREAD_ONCE_INIT;
static bool bounce_classify_cmd_anchored;

static void
bounce_classify_cmd_check(void)
{
	size_t i, j;

	for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_cmd_words); i++) {
		for (j = 0; j < UTIL_ARRAY_LEN(bounce_classify_cmd_anchors);
		     j++)
			if (strstr(bounce_classify_cmd_words[i].words,
				bounce_classify_cmd_anchors[j]) != NULL)
				break;
		if (j == UTIL_ARRAY_LEN(bounce_classify_cmd_anchors))
			return;
	}
	bounce_classify_cmd_anchored = true;
}

/* False when s cannot hold a phrase of bounce_classify_cmd_words. */
static bool
bounce_classify_cmd_may_hold(const char *s)
{
	size_t i;

	(void)pthread_once(
	    &bounce_classify_cmd_once, bounce_classify_cmd_check);
	if (!bounce_classify_cmd_anchored)
		return true;
	for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_cmd_anchors); i++)
		if (strstr(s, bounce_classify_cmd_anchors[i]) != NULL)
			return true;
	return false;
}

static enum bounce_command bounce_classify_command_in(const char *s);

enum bounce_command
bounce_classify_command(const char *s)
{
	char buf[4096];
	size_t n;

	if (s == NULL)
		return BOUNCE_CMD_NONE;
	/* The words may be broken over lines ("(in\n reply to RCPT TO
	 * command)"): white space folded, then lower case. */
	n = bounce_fold_text(buf, s, strlen(s), sizeof(buf) - 1);
	bounce_lower(buf, n, buf, n + 1);
	return bounce_classify_command_in(buf);
}

static enum bounce_command
bounce_classify_command_in(const char *s)
{
	static const struct {
		const char *verb;
		enum bounce_command cmd;
	} verbs[] = { { "DATA", BOUNCE_CMD_DATA }, { ".", BOUNCE_CMD_DATA },
		{ "RCPT", BOUNCE_CMD_RCPT }, { "MAIL", BOUNCE_CMD_MAIL },
		{ "EHLO", BOUNCE_CMD_EHLO }, { "HELO", BOUNCE_CMD_EHLO } };
	const char *p, *q, *last = NULL;
	size_t i;

	if (s == NULL)
		return BOUNCE_CMD_NONE;
	if (bounce_classify_cmd_may_hold(s))
		for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_cmd_words); i++)
			if (strstr(s, bounce_classify_cmd_words[i].words) !=
			    NULL)
				return bounce_classify_cmd_words[i].cmd;
	/* A Sendmail transcript (">>> RCPT TO:<a@b>", "<<< 550 ..."): the
	 * command sent last before the first error. */
	for (p = strstr(s, "<<< "); p != NULL; p = strstr(p + 4, "<<< "))
		if (p[4] == '4' || p[4] == '5')
			break;
	if (p == NULL)
		return BOUNCE_CMD_NONE;
	for (q = strstr(s, ">>> "); q != NULL && q < p;
	     q = strstr(q + 4, ">>> "))
		last = q + 4;
	for (i = 0; last != NULL && i < UTIL_ARRAY_LEN(verbs); i++)
		if (strncasecmp(last, verbs[i].verb, strlen(verbs[i].verb)) ==
		    0)
			return verbs[i].cmd;
	return BOUNCE_CMD_NONE;
}

/* ----------------------------------------------------------- the code */

struct bounce_classify_code {
	const char *code;
	enum bounce_reason reason;
};

/*
 * What an enhanced status code says on its own (RFC 3463, RFC 7505 for
 * null MX, RFC 7372 for the authentication codes). A temporary x.1.1
 * says nothing: a server that is not sure of the user.
 */
static const struct bounce_classify_code bounce_classify_codes[] = {
	{ "2.1.5", BOUNCE_R_DELIVERED },
	{ "4.1.6", BOUNCE_R_HASMOVED },
	{ "4.1.7", BOUNCE_R_REJECTED },
	{ "4.1.8", BOUNCE_R_REJECTED },
	{ "4.1.9", BOUNCE_R_SYSTEMERROR },
	{ "4.2.1", BOUNCE_R_SUSPEND },
	{ "4.2.2", BOUNCE_R_MAILBOXFULL },
	{ "4.2.3", BOUNCE_R_EXCEEDLIMIT },
	{ "4.2.4", BOUNCE_R_FILTERED },
	{ "4.3.1", BOUNCE_R_SYSTEMFULL },
	{ "4.3.2", BOUNCE_R_NOTACCEPT },
	{ "4.3.3", BOUNCE_R_SYSTEMERROR },
	{ "4.3.5", BOUNCE_R_SYSTEMERROR },
	{ "4.4.1", BOUNCE_R_EXPIRED },
	{ "4.4.2", BOUNCE_R_NETWORKERROR },
	{ "4.4.4", BOUNCE_R_NETWORKERROR },
	{ "4.4.5", BOUNCE_R_SYSTEMFULL },
	{ "4.4.6", BOUNCE_R_NETWORKERROR },
	{ "4.4.7", BOUNCE_R_EXPIRED },
	{ "4.5.3", BOUNCE_R_SYSTEMERROR },
	{ "4.5.5", BOUNCE_R_SYSTEMERROR },
	{ "4.6.0", BOUNCE_R_CONTENTERROR },
	{ "4.6.2", BOUNCE_R_CONTENTERROR },
	{ "4.6.5", BOUNCE_R_CONTENTERROR },
	{ "4.7.1", BOUNCE_R_BLOCKED },
	{ "4.7.2", BOUNCE_R_BLOCKED },
	{ "4.7.5", BOUNCE_R_SECURITYERROR },
	{ "4.7.6", BOUNCE_R_SECURITYERROR },
	{ "4.7.7", BOUNCE_R_SECURITYERROR },
	{ "4.7.12", BOUNCE_R_SECURITYERROR },
	{ "4.7.15", BOUNCE_R_SECURITYERROR },
	{ "4.7.16", BOUNCE_R_MESGTOOBIG },
	{ "4.7.24", BOUNCE_R_AUTHFAILURE },
	{ "4.7.25", BOUNCE_R_BLOCKED },
	{ "5.1.0", BOUNCE_R_USERUNKNOWN },
	{ "5.1.1", BOUNCE_R_USERUNKNOWN },
	{ "5.1.2", BOUNCE_R_HOSTUNKNOWN },
	{ "5.1.3", BOUNCE_R_USERUNKNOWN },
	{ "5.1.4", BOUNCE_R_FILTERED },
	{ "5.1.6", BOUNCE_R_HASMOVED },
	{ "5.1.7", BOUNCE_R_REJECTED },
	{ "5.1.8", BOUNCE_R_REJECTED },
	{ "5.1.9", BOUNCE_R_SYSTEMERROR },
	{ "5.1.10", BOUNCE_R_NOTACCEPT },
	{ "5.2.0", BOUNCE_R_FILTERED },
	{ "5.2.1", BOUNCE_R_FILTERED },
	{ "5.2.2", BOUNCE_R_MAILBOXFULL },
	{ "5.2.3", BOUNCE_R_EXCEEDLIMIT },
	{ "5.2.4", BOUNCE_R_FILTERED },
	{ "5.3.0", BOUNCE_R_SYSTEMERROR },
	{ "5.3.1", BOUNCE_R_SYSTEMFULL },
	{ "5.3.2", BOUNCE_R_NOTACCEPT },
	{ "5.3.3", BOUNCE_R_SYSTEMERROR },
	{ "5.3.4", BOUNCE_R_MESGTOOBIG },
	{ "5.3.5", BOUNCE_R_SYSTEMERROR },
	{ "5.4.0", BOUNCE_R_NETWORKERROR },
	{ "5.4.3", BOUNCE_R_SYSTEMERROR },
	{ "5.4.4", BOUNCE_R_HOSTUNKNOWN },
	{ "5.5.3", BOUNCE_R_TOOMANYCONN },
	{ "5.5.4", BOUNCE_R_SYSTEMERROR },
	{ "5.5.5", BOUNCE_R_SYSTEMERROR },
	{ "5.5.6", BOUNCE_R_SECURITYERROR },
	{ "5.6.0", BOUNCE_R_CONTENTERROR },
	{ "5.6.1", BOUNCE_R_CONTENTERROR },
	{ "5.6.2", BOUNCE_R_CONTENTERROR },
	{ "5.6.3", BOUNCE_R_CONTENTERROR },
	{ "5.6.5", BOUNCE_R_CONTENTERROR },
	{ "5.6.6", BOUNCE_R_CONTENTERROR },
	{ "5.6.7", BOUNCE_R_CONTENTERROR },
	{ "5.6.8", BOUNCE_R_CONTENTERROR },
	{ "5.6.9", BOUNCE_R_CONTENTERROR },
	{ "5.7.0", BOUNCE_R_SECURITYERROR },
	{ "5.7.1", BOUNCE_R_SECURITYERROR },
	{ "5.7.2", BOUNCE_R_SECURITYERROR },
	{ "5.7.3", BOUNCE_R_SECURITYERROR },
	{ "5.7.4", BOUNCE_R_SECURITYERROR },
	{ "5.7.5", BOUNCE_R_SECURITYERROR },
	{ "5.7.6", BOUNCE_R_SECURITYERROR },
	{ "5.7.7", BOUNCE_R_SECURITYERROR },
	{ "5.7.8", BOUNCE_R_SECURITYERROR },
	{ "5.7.9", BOUNCE_R_SECURITYERROR },
	{ "5.7.10", BOUNCE_R_SECURITYERROR },
	{ "5.7.11", BOUNCE_R_SECURITYERROR },
	{ "5.7.13", BOUNCE_R_SUSPEND },
	{ "5.7.14", BOUNCE_R_SECURITYERROR },
	{ "5.7.15", BOUNCE_R_SECURITYERROR },
	{ "5.7.16", BOUNCE_R_MESGTOOBIG },
	{ "5.7.17", BOUNCE_R_HASMOVED },
	{ "5.7.18", BOUNCE_R_HASMOVED },
	{ "5.7.19", BOUNCE_R_SECURITYERROR },
	{ "5.7.20", BOUNCE_R_AUTHFAILURE },
	{ "5.7.21", BOUNCE_R_AUTHFAILURE },
	{ "5.7.22", BOUNCE_R_AUTHFAILURE },
	{ "5.7.23", BOUNCE_R_AUTHFAILURE },
	{ "5.7.24", BOUNCE_R_AUTHFAILURE },
	{ "5.7.25", BOUNCE_R_BLOCKED },
	{ "5.7.26", BOUNCE_R_AUTHFAILURE },
	{ "5.7.27", BOUNCE_R_NOTACCEPT },
};

enum bounce_reason
bounce_classify_code_reason(const char *status)
{
	size_t i;

	if (status == NULL)
		return BOUNCE_R_NONE;
	/* The class and the subject compared first, one byte at a time
	 * (none beyond the end of a short status). */
	for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_codes); i++) {
		const char *c = bounce_classify_codes[i].code;

		if (status[0] == c[0] && status[1] == c[1] &&
		    status[2] == c[2] && strcmp(status, c) == 0)
			return bounce_classify_codes[i].reason;
	}
	return BOUNCE_R_NONE;
}

/* ----------------------------------------------------------- classify */

/* What one classification works on. */
struct bounce_classify_in {
	const struct bounce_facts *f;
	const char *status;      /* NULL when there is none */
	enum bounce_reason code; /* what the status code alone says */
	enum bounce_reason mta;  /* the format reader's reason */
	enum bounce_command cmd;
	const char *lower; /* the diagnostic, lower case, never NULL */
	struct bounce_words_text text; /* the same, ready for the words */
	bool smtp; /* the diagnostic is an SMTP reply (or untyped) */
	/* Whether the words of each reason occur: 0 not asked yet, 1 no,
	 * 2 yes (several checks ask about the same reason). */
	unsigned char words[BOUNCE_R_COUNT];
};

/* Reasons worth a second look when a reader or a code gave them: they
 * are often a default rather than a finding. */
static bool
bounce_classify_retry(enum bounce_reason r)
{
	return r == BOUNCE_R_NONE || r == BOUNCE_R_UNDEFINED ||
	    r == BOUNCE_R_ONHOLD || r == BOUNCE_R_SYSTEMERROR ||
	    r == BOUNCE_R_SECURITYERROR || r == BOUNCE_R_NETWORKERROR ||
	    r == BOUNCE_R_HOSTUNKNOWN || r == BOUNCE_R_USERUNKNOWN;
}

static bool
bounce_classify_words(struct bounce_classify_in *in, enum bounce_reason r)
{
	if (in->words[r] == 0)
		in->words[r] = bounce_words_match(r, &in->text) ? 2 : 1;
	return in->words[r] == 2;
}

/* The command is the connection, the greeting or the envelope: nothing
 * of the message was read yet. */
static bool
bounce_classify_before_data(enum bounce_command cmd)
{
	return cmd == BOUNCE_CMD_CONN || cmd == BOUNCE_CMD_EHLO ||
	    cmd == BOUNCE_CMD_MAIL || cmd == BOUNCE_CMD_RCPT;
}

/*
 * Is the failure r, by code and words together? The first pass: the
 * reasons whose words are specific enough to trust over a general code,
 * and those whose code is specific enough to trust over loose words.
 */
static bool
bounce_classify_is(struct bounce_classify_in *in, enum bounce_reason r)
{
	enum bounce_reason code = in->code;
	enum bounce_command cmd = in->cmd;

	if (in->mta == r)
		return true;
	switch (r) {
	case BOUNCE_R_MAILBOXFULL:
	case BOUNCE_R_EXCEEDLIMIT:
		return in->status != NULL &&
		    (code == r || bounce_classify_words(in, r));
	case BOUNCE_R_MESGTOOBIG:
		if (code == r)
			return true;
		if (code == BOUNCE_R_EXCEEDLIMIT)
			return false;
		return bounce_classify_words(in, r);
	case BOUNCE_R_SUSPEND:
		return in->status != NULL && bounce_classify_words(in, r);
	case BOUNCE_R_HASMOVED:
		return bounce_classify_words(in, r);
	case BOUNCE_R_NORELAYING:
		if (cmd == BOUNCE_CMD_CONN || cmd == BOUNCE_CMD_EHLO)
			return false;
		return bounce_classify_words(in, r);
	case BOUNCE_R_USERUNKNOWN:
		if (code == BOUNCE_R_SUSPEND)
			return false;
		if (code == BOUNCE_R_USERUNKNOWN) {
			/* The code says the address; believe it unless
			 * the words say something else outright. */
			static const enum bounce_reason other[] = {
				BOUNCE_R_NORELAYING, BOUNCE_R_BLOCKED,
				BOUNCE_R_MAILBOXFULL, BOUNCE_R_HASMOVED,
				BOUNCE_R_REJECTED, BOUNCE_R_NOTACCEPT
			};
			size_t i;

			for (i = 0; i < UTIL_ARRAY_LEN(other); i++)
				if (bounce_classify_words(in, other[i]))
					return false;
			return true;
		}
		/* Without the code, only the answer to RCPT speaks of the
		 * address. */
		return cmd == BOUNCE_CMD_RCPT && bounce_classify_words(in, r);
	case BOUNCE_R_FILTERED:
		if (code == BOUNCE_R_SUSPEND)
			return false;
		if (code == BOUNCE_R_FILTERED)
			return bounce_classify_words(
				   in, BOUNCE_R_USERUNKNOWN) ||
			    bounce_classify_words(in, r);
		/* "No such user" after the message was read: a filter
		 * speaking as a mailbox. */
		if (bounce_classify_before_data(cmd))
			return false;
		return bounce_classify_words(in, r) ||
		    bounce_classify_words(in, BOUNCE_R_USERUNKNOWN);
	case BOUNCE_R_REJECTED:
		if (code == BOUNCE_R_REJECTED)
			return true;
		if (cmd == BOUNCE_CMD_MAIL)
			return bounce_classify_words(in, r);
		if (cmd == BOUNCE_CMD_DATA)
			return code != BOUNCE_R_USERUNKNOWN &&
			    bounce_classify_words(in, r);
		if (code == BOUNCE_R_NONE || code == BOUNCE_R_ONHOLD ||
		    code == BOUNCE_R_SECURITYERROR ||
		    code == BOUNCE_R_SYSTEMERROR)
			return bounce_classify_words(in, r);
		return false;
	case BOUNCE_R_HOSTUNKNOWN:
		if (code == BOUNCE_R_HOSTUNKNOWN)
			return !bounce_classify_words(
			    in, BOUNCE_R_NETWORKERROR);
		return bounce_classify_words(in, r);
	case BOUNCE_R_SPAMDETECTED:
		if (in->status == NULL)
			return false;
		if (code == r)
			return true;
		if (bounce_classify_before_data(cmd))
			return false;
		return bounce_classify_words(in, r);
	case BOUNCE_R_AUTHFAILURE:
		return code == r || bounce_classify_words(in, r);
	case BOUNCE_R_SPEEDING:
		return in->status != NULL && bounce_classify_words(in, r);
	case BOUNCE_R_TOOMANYCONN:
	case BOUNCE_R_BLOCKED:
		return code == r || bounce_classify_words(in, r);
	default:
		return false;
	}
}

static const enum bounce_reason bounce_classify_first[] = {
	BOUNCE_R_MAILBOXFULL,
	BOUNCE_R_MESGTOOBIG,
	BOUNCE_R_EXCEEDLIMIT,
	BOUNCE_R_SUSPEND,
	BOUNCE_R_HASMOVED,
	BOUNCE_R_NORELAYING,
	BOUNCE_R_USERUNKNOWN,
	BOUNCE_R_FILTERED,
	BOUNCE_R_REJECTED,
	BOUNCE_R_HOSTUNKNOWN,
	BOUNCE_R_SPAMDETECTED,
	BOUNCE_R_AUTHFAILURE,
	BOUNCE_R_SPEEDING,
	BOUNCE_R_TOOMANYCONN,
	BOUNCE_R_BLOCKED,
};

/* Words alone, for what the first pass and the code left open. */
static const enum bounce_reason bounce_classify_then[] = {
	BOUNCE_R_MAILBOXFULL,
	BOUNCE_R_SPAMDETECTED,
	BOUNCE_R_POLICYVIOLATION,
	BOUNCE_R_VIRUSDETECTED,
	BOUNCE_R_NORELAYING,
	BOUNCE_R_SECURITYERROR,
	BOUNCE_R_SYSTEMERROR,
	BOUNCE_R_NETWORKERROR,
	BOUNCE_R_SUSPEND,
	BOUNCE_R_EXPIRED,
	BOUNCE_R_CONTENTERROR,
	BOUNCE_R_SYSTEMFULL,
	BOUNCE_R_NOTACCEPT,
	BOUNCE_R_MAILERERROR,
};

static bool
bounce_classify_delayed(const char *action)
{
	return action != NULL &&
	    (strncmp(action, "delayed", 7) == 0 ||
		strncmp(action, "expired", 7) == 0);
}

/* After the first pass found nothing: the code, then words alone, then
 * what the shape of the failure says. */
static enum bounce_reason
bounce_classify_rest(struct bounce_classify_in *in)
{
	const struct bounce_facts *f = in->f;
	enum bounce_reason r = in->code;
	size_t i;

	if (in->mta != BOUNCE_R_NONE)
		return in->mta;
	if (r != BOUNCE_R_NONE && r != BOUNCE_R_EXPIRED &&
	    !bounce_classify_retry(r) && in->smtp)
		return r;
	for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_then); i++)
		if (bounce_classify_words(in, bounce_classify_then[i]))
			return bounce_classify_then[i];
	if (r != BOUNCE_R_NONE)
		return r;
	if (in->status != NULL && in->status[2] == '6')
		return BOUNCE_R_CONTENTERROR;
	if (in->status != NULL && in->status[2] == '7')
		return BOUNCE_R_SECURITYERROR;
	if (f->diag_type != NULL &&
	    (strcasecmp(f->diag_type, "x-unix") == 0 ||
		strcasecmp(f->diag_type, "x-postfix") == 0))
		return BOUNCE_R_MAILERERROR;
	if (f->reply_code >= 500 && f->reply_code <= 507)
		return BOUNCE_R_SYNTAXERROR;
	if (f->reply_code >= 400 && f->reply_code <= 407 &&
	    f->reply_code != 400)
		return BOUNCE_R_SYNTAXERROR;
	if (bounce_classify_delayed(f->action))
		return BOUNCE_R_EXPIRED;
	if (in->cmd == BOUNCE_CMD_EHLO || in->cmd == BOUNCE_CMD_CONN)
		return BOUNCE_R_BLOCKED;
	return BOUNCE_R_NONE;
}

/* Hard, soft, or neither (not a failure). */
static enum bounce_class
bounce_classify_class(
    enum bounce_reason r, const struct bounce_facts *f, const char *status)
{
	switch (r) {
	case BOUNCE_R_USERUNKNOWN:
	case BOUNCE_R_HOSTUNKNOWN:
	case BOUNCE_R_HASMOVED:
		return BOUNCE_CLASS_HARD;
	case BOUNCE_R_NOTACCEPT:
		/* A domain that takes no mail is a bad address; a server
		 * that takes none today is not. */
		if (status != NULL)
			return status[0] == '4' ? BOUNCE_CLASS_SOFT
						: BOUNCE_CLASS_HARD;
		return f->reply_code >= 400 && f->reply_code < 500
		    ? BOUNCE_CLASS_SOFT
		    : BOUNCE_CLASS_HARD;
	case BOUNCE_R_DELIVERED:
	case BOUNCE_R_FEEDBACK:
	case BOUNCE_R_VACATION:
		return BOUNCE_CLASS_NONE;
	default:
		return BOUNCE_CLASS_SOFT;
	}
}

void
bounce_classify(const struct bounce_facts *f, struct bounce_verdict *v)
{
	struct bounce_classify_in in;
	enum bounce_reason r = BOUNCE_R_NONE;
	char lower[BOUNCE_MAX_DIAG * 2 + 1];
	size_t i;

	memset(&in, 0, sizeof(in));
	in.f = f;
	in.status =
	    f->status != NULL && f->status[0] != '\0' ? f->status : NULL;
	in.code = bounce_classify_code_reason(in.status);
	in.mta = bounce_reason_parse(f->mta_reason);
	in.cmd = f->command;
	if (f->diagnostic != NULL)
		bounce_lower(
		    f->diagnostic, sizeof(lower), lower, sizeof(lower));
	else
		lower[0] = '\0';
	in.lower = lower;
	bounce_words_text_init(&in.text, lower);
	in.smtp = f->diag_type == NULL || f->diag_type[0] == '\0' ||
	    strcasecmp(f->diag_type, "smtp") == 0;

	if (in.status != NULL && in.status[0] == '2') {
		r = BOUNCE_R_DELIVERED;
		goto done;
	}
	if (in.mta != BOUNCE_R_NONE && !bounce_classify_retry(in.mta)) {
		r = in.mta;
		goto done;
	}
	r = bounce_provider_reason(f, in.status, lower);
	if (r != BOUNCE_R_NONE)
		goto done;
	if (in.smtp)
		for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_first); i++)
			if (bounce_classify_is(&in, bounce_classify_first[i])) {
				r = bounce_classify_first[i];
				goto done;
			}
	r = bounce_classify_rest(&in);
	if (r != BOUNCE_R_NONE)
		goto done;
	if (bounce_classify_words(&in, BOUNCE_R_VACATION))
		r = BOUNCE_R_VACATION;
	else if (lower[0] != '\0')
		r = BOUNCE_R_ONHOLD;
	else
		r = BOUNCE_R_UNDEFINED;
done:
	v->reason = bounce_reason_name(r);
	v->cls = bounce_classify_class(r, f, in.status);
	v->sender_side = bounce_classify_sender_side(r);
}
