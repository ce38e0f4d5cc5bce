/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_classify: why a recipient failed, in the vocabulary of the
 * Sisimai bounce analyser (userunknown, mailboxfull, blocked, ...), and
 * whether that makes the bounce hard or soft.
 *
 * The reason comes from the words of the remote server first (they are
 * more specific than the code: "550 5.1.1 ... sent to too many recipients"
 * is a rate limit, not a bad address), then from the enhanced status
 * code (RFC 3463), then from the text around the recipient. Only a bad
 * address is hard: userunknown, hostunknown, hasmoved, and notaccept with
 * a permanent code; everything else is soft even with a 5.x.x code,
 * because retrying may work once the sender or the day has changed.
 * The pattern tables are ours, written from RFC 3463 and the wording of
 * common MTAs.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce/bounce_int.h"
#include "util.h"

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

/* ---------------------------------------------------------- the words */

struct bounce_classify_rule {
	const char *reason;
	const char *const *needles; /* lower case, NULL-terminated */
};

static const char *const bounce_classify_w_mailererror[] = { "pipe to |",
	"procmail:", "command died", "mailer error", "x-unix;",
	"command output:", "delivery to a pipe", NULL };
static const char *const bounce_classify_w_hasmoved[] = { "has been moved",
	"address has changed", "user has moved", "mailbox has moved",
	"has moved to", NULL };
static const char *const bounce_classify_w_notaccept[] = {
	"does not accept mail", "doesn't accept mail", "not accept any mail",
	"doesn't receive email", "does not receive email", "accepts no mail",
	"null mx", "does not accept e-mail", NULL
};
static const char *const bounce_classify_w_virus[] = { "virus", "malware",
	"infected", NULL };
static const char *const bounce_classify_w_norelaying[] = {
	"relay access denied", "relaying denied", "relay not permitted",
	"not configured to relay", "unable to relay", "relaying not allowed",
	"insecure mail relay", "we do not relay", "relay denied",
	"not permitted to relay", "no relaying", "relay prohibited",
	"relaying mail to", NULL
};
static const char *const bounce_classify_w_systemfull[] = {
	"insufficient disk space", "insufficient system storage", "system full",
	"disk full", "out of disk", "no space left", NULL
};
static const char *const bounce_classify_w_mailboxfull[] = { "mailbox full",
	"mailbox is full", "quota exceeded", "over quota", "overquota",
	"exceeded storage", "storage quota", "mailbox exceeds",
	"exceeds allowed size", "exceeded its quota", "exceeds its quota",
	"mailbox size limit", "disk quota", "user is over", "full mailbox",
	"mailbox has exceeded", "quota full", "mailbox is over",
	"out of storage", "insufficient storage", "mailfolder is full",
	"exceeded the storage", "quota violation", NULL };
static const char *const bounce_classify_w_mesgtoobig[] = { "message too large",
	"message is too large", "message too big", "message is too big",
	"recipsizelimit", "too large for", "message size exceeds maximum",
	"size of the message exceeds", NULL };
static const char *const bounce_classify_w_exceedlimit[] = {
	"exceeds fixed maximum", "size exceeds the limit",
	"message length exceeds", NULL
};
static const char *const bounce_classify_w_securityerror[] = {
	"authentication required", "authrequired", "sender is unauthenticated",
	"must issue a starttls", "tls required", "encryption required",
	"requires encryption", "starttls is required", NULL
};
static const char *const bounce_classify_w_toomanyconn[] = {
	"too many connections", "too many recipients", "frequency limited",
	"rate that prevents", "receiving mail at a rate", "too many messages",
	"rate limit", "too many concurrent", "too many smtp sessions",
	"too many sessions", "sending rate", "unexpected volume", NULL
};
static const char *const bounce_classify_w_spamurl[] = { "blacklisted url",
	"uribl", "surbl", NULL };
static const char *const bounce_classify_w_networkerror[] = { "lost connection",
	"no mx found", "no route to host", "network is unreachable",
	"dns error", "too many hops", "mail loop", "loop detected",
	"routing loop", "loops back to myself", "hop count exceeded", NULL };
static const char *const bounce_classify_w_blocked[] = { "blocked using",
	"dnsbl", " rbl", "spamhaus", "spamcop", "sorbs", "blacklisted",
	"blacklist", "black list", "blocklist", "block list", "reverse dns",
	"ptr record", "rdns", "client host rejected", "client host blocked",
	"adresse ip", "refused to talk to me", "service refused",
	"no access from", "open relay", "server access", "mismatches client ip",
	"reputation", "spf record", "pass spf", "bad spf", "spf check", "dmarc",
	"unauthenticated email", "authentication checks",
	"authentication information", "requires that", "blocked by", "your ip",
	"ip address", "not allowed to connect", "connection refused",
	"listed at", "listed on", "listed in", "poor reputation", NULL };
static const char *const bounce_classify_w_spamdetected[] = { "spam",
	"junk mail", "unsolicited", "bulk mail", "uce ", NULL };
static const char *const bounce_classify_w_suspend[] = { "account is disabled",
	"account has been disabled", "account disabled", "account is locked",
	"temporary locked", "temporarily locked", "account is inactive",
	"is inactive", "account has been suspended", "account suspended",
	"mailbox suspended", "is suspended", "user suspended",
	"recipient account is blocked", "discontinued", "deactivated",
	"mailbox disabled", "mailbox is disabled", "is disabled",
	"account expired", "account is blocked", NULL };
static const char *const bounce_classify_w_rejected[] = {
	"sender address rejected", "sender rejected", "sender was rejected",
	"domain of sender address", "sender verify failed",
	"sender verification failed", "mail from rejected",
	"address is not verified", "not a registered gateway user",
	"access denied", "sender domain", "invalid sender",
	"sender not allowed", NULL
};
static const char *const bounce_classify_w_expired[] = { "message expired",
	"envelope expired", "retry timeout exceeded", "delivery time expired",
	"queue too long", "after multiple retries", "has been delayed",
	"will be retried", "delivery expired", "timed out",
	"did not accept our requests to connect",
	"could not be delivered within", "giving up on it", "attempts",
	"retry time exceeded", "too long in the queue", "maximum time in queue",
	NULL };
static const char *const bounce_classify_w_hostunknown[] = { "host unknown",
	"unknown host", "domain does not exist", "domain not found",
	"no such domain", "host not found", "domain name not found",
	"unrouteable mail domain", "unroutable domain", "invalid domain",
	"domain is not reachable", "unknown domain",
	"domain could not be found", "illegal host",
	"name or service not known", "no such host",
	"host or domain name not found", "domain is not valid",
	"mx lookup failed", NULL };
static const char *const bounce_classify_w_userunknown[] = { "user unknown",
	"unknown user", "no such user", "no such mailbox", "no mailbox here",
	"mailbox not found", "mailbox unavailable", "mailbox does not exist",
	"does not exist", "doesn't exist", "address rejected",
	"unknown recipient", "recipient unknown", "recipient not found",
	"recipientnotfound", "name is not recognized", "not a valid recipient",
	"invalid recipient", "invalid address", "address not found",
	"address unknown", "addressee unknown", "invalid final delivery",
	"doesn't have a", "no such recipient", "bad recipient",
	"unrouteable address", "unroutable address", "no such person",
	"unknown local part", "unknown mailbox", "user not found",
	"couldn't be found", "could not be found", "unknown address",
	"no longer", "no mailbox", "user invalid", "recipient invalid",
	"not a known user", "mailbox is unavailable", "no account",
	"unknown account", "rejected recipient", "recipient address rejected",
	NULL };
static const char *const bounce_classify_w_filtered[] = { "filtered",
	"content filter", "rejected by filter", NULL };
static const char *const bounce_classify_w_policy[] = { "policy",
	"multiple addresses in from", "security issue", "not allowed",
	"prohibited", NULL };
static const char *const bounce_classify_w_contenterror[] = { "header error",
	"invalid header", "content error", "8-bit", "8bit", "malformed mime",
	NULL };
static const char *const bounce_classify_w_systemerror[] = { "system error",
	"transaction failed", "service currently unavailable", "internal error",
	"local error", "server error", "configuration error", "system problem",
	"mail system problem", "try again later", NULL };
static const char *const bounce_classify_w_syntaxerror[] = { "syntax error",
	"improper sequence", "bad sequence", "malformed address",
	"unrecognized command", "command not recognized", NULL };

/* First match wins: the specific before the general. */
static const struct bounce_classify_rule bounce_classify_rules[] = {
	{ "mailererror", bounce_classify_w_mailererror },
	{ "hasmoved", bounce_classify_w_hasmoved },
	{ "notaccept", bounce_classify_w_notaccept },
	{ "virusdetected", bounce_classify_w_virus },
	{ "norelaying", bounce_classify_w_norelaying },
	{ "systemfull", bounce_classify_w_systemfull },
	{ "mailboxfull", bounce_classify_w_mailboxfull },
	{ "exceedlimit", bounce_classify_w_exceedlimit },
	{ "mesgtoobig", bounce_classify_w_mesgtoobig },
	{ "securityerror", bounce_classify_w_securityerror },
	{ "toomanyconn", bounce_classify_w_toomanyconn },
	{ "spamdetected", bounce_classify_w_spamurl },
	{ "networkerror", bounce_classify_w_networkerror },
	{ "suspend", bounce_classify_w_suspend },
	{ "blocked", bounce_classify_w_blocked },
	{ "spamdetected", bounce_classify_w_spamdetected },
	{ "rejected", bounce_classify_w_rejected },
	{ "hostunknown", bounce_classify_w_hostunknown },
	{ "userunknown", bounce_classify_w_userunknown },
	{ "expired", bounce_classify_w_expired },
	{ "filtered", bounce_classify_w_filtered },
	{ "policyviolation", bounce_classify_w_policy },
	{ "contenterror", bounce_classify_w_contenterror },
	{ "syntaxerror", bounce_classify_w_syntaxerror },
	{ "systemerror", bounce_classify_w_systemerror },
};

static const char *
bounce_classify_words(const char *text)
{
	size_t i, j;

	if (text == NULL || *text == '\0')
		return NULL;
	for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_rules); i++) {
		const char *const *w = bounce_classify_rules[i].needles;

		for (j = 0; w[j] != NULL; j++)
			if (strcasestr(text, w[j]) != NULL)
				return bounce_classify_rules[i].reason;
	}
	return NULL;
}

/* ----------------------------------------------------------- the code */

struct bounce_classify_code {
	const char *code; /* subject.detail, without the class */
	const char *reason;
};

/* RFC 3463 (and RFC 7505 for null MX) subject.detail codes. */
static const struct bounce_classify_code bounce_classify_codes[] = {
	{ "1.1", "userunknown" },
	{ "1.2", "hostunknown" },
	{ "1.3", "userunknown" },
	{ "1.4", "userunknown" },
	{ "1.6", "hasmoved" },
	{ "1.7", "rejected" },
	{ "1.8", "rejected" },
	{ "1.10", "notaccept" },
	{ "2.0", "filtered" },
	{ "2.1", "filtered" },
	{ "2.2", "mailboxfull" },
	{ "2.3", "exceedlimit" },
	{ "2.4", "systemerror" },
	{ "3.0", "systemerror" },
	{ "3.1", "systemfull" },
	{ "3.2", "systemerror" },
	{ "3.3", "systemerror" },
	{ "3.4", "mesgtoobig" },
	{ "3.5", "systemerror" },
	{ "4.0", "networkerror" },
	{ "4.1", "networkerror" },
	{ "4.2", "networkerror" },
	{ "4.3", "networkerror" },
	{ "4.4", "hostunknown" },
	{ "4.5", "networkerror" },
	{ "4.6", "networkerror" },
	{ "4.7", "expired" },
	{ "4.14", "networkerror" },
	{ "5.0", "syntaxerror" },
	{ "5.1", "syntaxerror" },
	{ "5.2", "syntaxerror" },
	{ "5.3", "syntaxerror" },
	{ "5.4", "syntaxerror" },
	{ "5.5", "syntaxerror" },
	{ "6.0", "contenterror" },
	{ "6.1", "contenterror" },
	{ "6.2", "contenterror" },
	{ "6.3", "contenterror" },
	{ "6.4", "contenterror" },
	{ "6.5", "contenterror" },
	{ "7.0", "policyviolation" },
	{ "7.1", "blocked" },
	{ "7.2", "policyviolation" },
	{ "7.3", "securityerror" },
	{ "7.4", "securityerror" },
	{ "7.5", "securityerror" },
	{ "7.6", "securityerror" },
	{ "7.7", "securityerror" },
	{ "7.8", "securityerror" },
	{ "7.9", "policyviolation" },
	{ "7.13", "suspend" },
	{ "7.14", "securityerror" },
	{ "7.15", "securityerror" },
	{ "7.16", "securityerror" },
	{ "7.17", "suspend" },
	{ "7.18", "suspend" },
	{ "7.20", "securityerror" },
	{ "7.21", "securityerror" },
	{ "7.22", "securityerror" },
	{ "7.23", "securityerror" },
	{ "7.24", "securityerror" },
	{ "7.25", "blocked" },
	{ "7.26", "blocked" },
	{ "7.27", "notaccept" },
};

static const char *
bounce_classify_by_code(const char *status)
{
	size_t i;

	if (status == NULL || strlen(status) < 5 || status[0] == '2')
		return NULL;
	for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_codes); i++)
		if (strcmp(status + 2, bounce_classify_codes[i].code) == 0)
			return bounce_classify_codes[i].reason;
	return NULL;
}

/* The SMTP command a quoted reply answered, as far as the text tells. */
enum bounce_classify_cmd {
	BOUNCE_CLASSIFY_CMD_UNKNOWN,
	BOUNCE_CLASSIFY_CMD_CONN,
	BOUNCE_CLASSIFY_CMD_HELO,
	BOUNCE_CLASSIFY_CMD_MAIL,
	BOUNCE_CLASSIFY_CMD_RCPT,
	BOUNCE_CLASSIFY_CMD_DATA
};

static const struct {
	const char *words;
	enum bounce_classify_cmd cmd;
} bounce_classify_cmd_words[] = {
	{ "end of data", BOUNCE_CLASSIFY_CMD_DATA },
	{ "after data", BOUNCE_CLASSIFY_CMD_DATA },
	{ "final data", BOUNCE_CLASSIFY_CMD_DATA },
	{ "in reply to data", BOUNCE_CLASSIFY_CMD_DATA },
	{ "during data", BOUNCE_CLASSIFY_CMD_DATA },
	{ "after i sent the message", BOUNCE_CLASSIFY_CMD_DATA },
	{ "in reply to rcpt", BOUNCE_CLASSIFY_CMD_RCPT },
	{ "after rcpt", BOUNCE_CLASSIFY_CMD_RCPT },
	{ "our rcpt", BOUNCE_CLASSIFY_CMD_RCPT },
	{ "does not like recipient", BOUNCE_CLASSIFY_CMD_RCPT },
	{ "in reply to mail", BOUNCE_CLASSIFY_CMD_MAIL },
	{ "after mail from", BOUNCE_CLASSIFY_CMD_MAIL },
	{ "sender was rejected", BOUNCE_CLASSIFY_CMD_MAIL },
	{ "after ehlo", BOUNCE_CLASSIFY_CMD_HELO },
	{ "after helo", BOUNCE_CLASSIFY_CMD_HELO },
	{ "in reply to ehlo", BOUNCE_CLASSIFY_CMD_HELO },
	{ "in reply to helo", BOUNCE_CLASSIFY_CMD_HELO },
	{ "after initial connection", BOUNCE_CLASSIFY_CMD_CONN },
	{ "refused to talk to me", BOUNCE_CLASSIFY_CMD_CONN },
	{ "initial greeting", BOUNCE_CLASSIFY_CMD_CONN },
};

static enum bounce_classify_cmd
bounce_classify_cmd_of(const char *s)
{
	static const struct {
		const char *verb;
		enum bounce_classify_cmd cmd;
	} verbs[] = { { "DATA", BOUNCE_CLASSIFY_CMD_DATA },
		{ ".", BOUNCE_CLASSIFY_CMD_DATA },
		{ "RCPT", BOUNCE_CLASSIFY_CMD_RCPT },
		{ "MAIL", BOUNCE_CLASSIFY_CMD_MAIL },
		{ "EHLO", BOUNCE_CLASSIFY_CMD_HELO },
		{ "HELO", BOUNCE_CLASSIFY_CMD_HELO } };
	const char *p, *last = NULL;
	size_t i;

	if (s == NULL)
		return BOUNCE_CLASSIFY_CMD_UNKNOWN;
	for (i = 0; i < UTIL_ARRAY_LEN(bounce_classify_cmd_words); i++)
		if (strcasestr(s, bounce_classify_cmd_words[i].words) != NULL)
			return bounce_classify_cmd_words[i].cmd;
	/* A Sendmail transcript: the command before the first error. */
	for (p = s; p != NULL && *p != '\0';) {
		const char *q = p + strspn(p, " \t");

		if (strncmp(q, ">>> ", 4) == 0) {
			last = q + 4;
		} else if (strncmp(q, "<<< ", 4) == 0 &&
		    (q[4] == '4' || q[4] == '5') && last != NULL) {
			for (i = 0; i < UTIL_ARRAY_LEN(verbs); i++)
				if (strncasecmp(last, verbs[i].verb,
					strlen(verbs[i].verb)) == 0)
					return verbs[i].cmd;
			break;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return BOUNCE_CLASSIFY_CMD_UNKNOWN;
}

const char *
bounce_classify_reason(const char *status, const char *action,
    const char *diagnostic, const char *context)
{
	const char *r, *c;

	if (action != NULL && strcmp(action, "delayed") == 0)
		return "expired";
	r = bounce_classify_words(diagnostic);
	c = bounce_classify_by_code(status);
	/* Mailbox (x.2.x) and mail system (x.3.x) status codes say the
	 * address exists; the words "user unknown" beside them are loose. */
	if (r != NULL && strcmp(r, "userunknown") == 0 && c != NULL &&
	    (status[2] == '2' || status[2] == '3') &&
	    bounce_classify_cmd_of(diagnostic) != BOUNCE_CLASSIFY_CMD_RCPT)
		r = c;
	if (r == NULL)
		r = c;
	if (r == NULL)
		r = bounce_classify_words(context);
	/*
	 * "User unknown" is believed when an address status code (x.1.x)
	 * or the RCPT command backs it. Refused after the data, or at an
	 * unknown step, the content more likely than the user was refused
	 * (Sisimai's "filtered"): soft, so that one odd reply does not
	 * suppress a good address.
	 */
	if (r != NULL && strcmp(r, "userunknown") == 0 &&
	    (status == NULL || strncmp(status + 1, ".1.", 3) != 0)) {
		enum bounce_classify_cmd cmd =
		    bounce_classify_cmd_of(diagnostic);

		if (cmd == BOUNCE_CLASSIFY_CMD_UNKNOWN)
			cmd = bounce_classify_cmd_of(context);
		if (cmd == BOUNCE_CLASSIFY_CMD_DATA)
			return "filtered";
	}
	if (r != NULL)
		return r;
	if (status != NULL && status[0] == '4')
		return "expired";
	return diagnostic != NULL || status != NULL ? "onhold" : "undefined";
}

enum bounce_class
bounce_classify_class(const char *reason, const char *status)
{
	if (strcmp(reason, "userunknown") == 0 ||
	    strcmp(reason, "hostunknown") == 0 ||
	    strcmp(reason, "hasmoved") == 0)
		return BOUNCE_CLASS_HARD;
	if (strcmp(reason, "notaccept") == 0 &&
	    (status == NULL || status[0] == '5'))
		return BOUNCE_CLASS_HARD;
	if (strcmp(reason, "feedback") == 0 ||
	    strcmp(reason, "vacation") == 0 || strcmp(reason, "delivered") == 0)
		return BOUNCE_CLASS_NONE;
	return BOUNCE_CLASS_SOFT;
}
