/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_mta: what one MTA's own, fixed wording says. Many MTAs write
 * their bounces from a handful of sentences of their own ("Sorry, no
 * mailbox here by that name." is qmail's, "not listed in Domino
 * Directory" Domino's, "RESOLVER.ADR.RecipNotFound" Exchange's): once
 * the MTA is known from the bounce's header, such a sentence settles
 * the reason, and its conventions tell which SMTP command a failure
 * answered. This file knows the MTA by its header and hands the
 * classifier a reason (struct bounce_rcpt_aux mta_reason) and a
 * command; it finds no recipients and decides nothing itself.
 *
 * The MTAs and their sentences are those the reference analyser knows,
 * each written down here in full rather than as examples came. Where
 * our reading of a format was corrected after reading examples of the
 * shared bounce corpus, the correction says so (bounce_learnt(),
 * bounce_int.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce/bounce_int.h"
#include "buf.h"
#include "util.h"

struct bounce_mta_words {
	const char *words; /* compared without regard to case */
	enum bounce_reason reason;
};

enum bounce_mta_id {
	BOUNCE_MTA_UNKNOWN,
	BOUNCE_MTA_POSTFIX,
	BOUNCE_MTA_EXIM,
	BOUNCE_MTA_MAILRU,
	BOUNCE_MTA_QMAIL,
	BOUNCE_MTA_DOMINO,
	BOUNCE_MTA_NOTES,
	BOUNCE_MTA_COURIER,
	BOUNCE_MTA_GMAIL,
	BOUNCE_MTA_EXCHANGE,
	BOUNCE_MTA_OFFICE365,
	BOUNCE_MTA_OUTLOOK,
	BOUNCE_MTA_GMX,
	BOUNCE_MTA_EINSUNDEINS,
	BOUNCE_MTA_YAHOO,
	BOUNCE_MTA_KDDI,
	BOUNCE_MTA_EZWEB,
	BOUNCE_MTA_OPENSMTPD,
	BOUNCE_MTA_IMAIL,
	BOUNCE_MTA_MESSAGINGSERVER,
	BOUNCE_MTA_X3,
	BOUNCE_MTA_VERIZON,
	BOUNCE_MTA_MCAFEE,
	BOUNCE_MTA_INTERSCAN,
	BOUNCE_MTA_POWERMTA,
	BOUNCE_MTA_GOOGLEGROUPS,
	BOUNCE_MTA_GSUITE,
	BOUNCE_MTA_AOL,
	BOUNCE_MTA_RECEIVINGSES,
	BOUNCE_MTA_V5SENDMAIL,
	BOUNCE_MTA_MDA,
	BOUNCE_MTA_AMAVIS,
	BOUNCE_MTA_BIGLOBE,
	BOUNCE_MTA_FACEBOOK,
	BOUNCE_MTA_MESSAGELABS,
	BOUNCE_MTA_ZOHO,
	BOUNCE_MTA_MXLOGIC,
	BOUNCE_MTA_X6,
	BOUNCE_MTA_SENDGRID,
	BOUNCE_MTA_COUNT,
};

/* ------------------------------------------------------- the sentences */

static const struct bounce_mta_words bounce_mta_exim[] = {
	{ "user not found", BOUNCE_R_USERUNKNOWN },
	{ "all host address lookups failed permanently", BOUNCE_R_HOSTUNKNOWN },
	{ "all relevant mx records point to non-existent hosts",
	    BOUNCE_R_HOSTUNKNOWN },
	{ "unrouteable address", BOUNCE_R_HOSTUNKNOWN },
	{ "mailbox is full", BOUNCE_R_MAILBOXFULL },
	{ "error: quota exceed", BOUNCE_R_MAILBOXFULL },
	{ "an mx or srv record indicated no smtp service", BOUNCE_R_NOTACCEPT },
	{ "no host found for existing smtp connection", BOUNCE_R_NOTACCEPT },
	{ "angle-brackets nested too deep", BOUNCE_R_SYNTAXERROR },
	{ "expected word or \"<\"", BOUNCE_R_SYNTAXERROR },
	{ "domain missing in source-routed address", BOUNCE_R_SYNTAXERROR },
	{ "malformed address:", BOUNCE_R_SYNTAXERROR },
	{ "delivery to file forbidden", BOUNCE_R_SYSTEMERROR },
	{ "delivery to pipe forbidden", BOUNCE_R_SYSTEMERROR },
	{ "local delivery failed", BOUNCE_R_SYSTEMERROR },
	{ "lmtp error after ", BOUNCE_R_SYSTEMERROR },
	{ "too many \"received\" headers", BOUNCE_R_CONTENTERROR },
	{ "retry timeout exceeded", BOUNCE_R_EXPIRED },
	{ "no action is required on your part", BOUNCE_R_EXPIRED },
	{ "retry time not reached for any host after a long failure period",
	    BOUNCE_R_EXPIRED },
	{ "all hosts have been failing for a long time", BOUNCE_R_EXPIRED },
	{ "delay reason: ", BOUNCE_R_EXPIRED },
	{ "has been frozen", BOUNCE_R_EXPIRED },
	{ "was frozen on arrival", BOUNCE_R_EXPIRED },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_qmail[] = {
	{ "no mailbox here by that name", BOUNCE_R_USERUNKNOWN },
	{ "does not like recipient.", BOUNCE_R_USERUNKNOWN },
	{ "disk quota exceeded", BOUNCE_R_MAILBOXFULL },
	{ "message size exceeds fixed maximum message size:",
	    BOUNCE_R_MESGTOOBIG },
	{ "sorry, i couldn't find any host ", BOUNCE_R_HOSTUNKNOWN },
	{ "mailbox unavailable (not enough free space)", BOUNCE_R_SYSTEMFULL },
	{ "bad interpreter: no such file or directory", BOUNCE_R_SYSTEMERROR },
	{ "system error", BOUNCE_R_SYSTEMERROR },
	{ "unable to", BOUNCE_R_SYSTEMERROR },
	{ "sorry, i wasn't able to establish an smtp connection",
	    BOUNCE_R_NETWORKERROR },
	{ "sorry, i couldn't find a mail exchanger or ip address",
	    BOUNCE_R_NETWORKERROR },
	{ "although i'm listed as a best-preference mx",
	    BOUNCE_R_NETWORKERROR },
	/* Its LDAP extension. */
	{ "is administrativley disabled", BOUNCE_R_SUSPEND },
	{ "is administratively disabled", BOUNCE_R_SUSPEND },
	{ "exeeded the maximum size the user accepts", BOUNCE_R_EXCEEDLIMIT },
	{ "automatic homedir creator crashed", BOUNCE_R_SYSTEMERROR },
	{ "illegal value in ldap attribute", BOUNCE_R_SYSTEMERROR },
	{ "ldap attribute is not given but mandatory", BOUNCE_R_SYSTEMERROR },
	{ "timeout while performing search on ldap server",
	    BOUNCE_R_SYSTEMERROR },
	{ "too many results returned but needs to be unique",
	    BOUNCE_R_SYSTEMERROR },
	{ "error while executing qmail-forward", BOUNCE_R_SYSTEMERROR },
	{ "error in automatic homedir creation", BOUNCE_R_SYSTEMERROR },
	{ "temporary failure in ldap lookup", BOUNCE_R_SYSTEMERROR },
	{ "unable to contact ldap server", BOUNCE_R_SYSTEMERROR },
	{ "unable to login into ldap server", BOUNCE_R_SYSTEMERROR },
	{ "this message has been in the queue too long.", BOUNCE_R_EXPIRED },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_domino[] = {
	{ "not listed in domino directory", BOUNCE_R_USERUNKNOWN },
	{ "not listed in public name & address book", BOUNCE_R_USERUNKNOWN },
	{ "non r\xc3\xa9pertori\xc3\xa9 dans l'annuaire domino",
	    BOUNCE_R_USERUNKNOWN },
	{ "domino \xe3\x83\x87\xe3\x82\xa3\xe3\x83\xac\xe3\x82\xaf\xe3\x83"
	  "\x88\xe3\x83\xaa\xe3\x81\xab\xe3\x81\xaf\xe8\xa6\x8b\xe3\x81\xa4"
	  "\xe3\x81\x8b\xe3\x82\x8a\xe3\x81\xbe\xe3\x81\x9b\xe3\x82\x93",
	    BOUNCE_R_USERUNKNOWN },
	{ "cannot route mail to user", BOUNCE_R_FILTERED },
	{ "several matches found in domino directory", BOUNCE_R_SYSTEMERROR },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_notes[] = {
	{ "user not listed in public name & address book",
	    BOUNCE_R_USERUNKNOWN },
	{ "message has exceeded maximum hop count", BOUNCE_R_NETWORKERROR },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_courier[] = {
	{ "no such domain.", BOUNCE_R_HOSTUNKNOWN },
	{ "this domain's dns violates rfc 1035.", BOUNCE_R_SYSTEMERROR },
	{ "dns lookup failed.", BOUNCE_R_NETWORKERROR },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_gmail[] = {
	{ "dns error: could not contact dns servers", BOUNCE_R_EXPIRED },
	{ "delivery to the following recipient has been delayed",
	    BOUNCE_R_EXPIRED },
	{ "the recipient server did not accept our requests to connect",
	    BOUNCE_R_EXPIRED },
	{ "dns error: domain name not found", BOUNCE_R_HOSTUNKNOWN },
	{ "dns error: dns server returned answer with no data",
	    BOUNCE_R_HOSTUNKNOWN },
	{ NULL, BOUNCE_R_NONE },
};

/* Exchange 2007 and later name the failure in its log words. */
static const struct bounce_mta_words bounce_mta_exchange[] = {
	{ "smtpsend.dns.nonexistentdomain", BOUNCE_R_HOSTUNKNOWN },
	{ "smtpsend.dns.mxloopback", BOUNCE_R_NETWORKERROR },
	{ "resolver.adr.badprimary", BOUNCE_R_SYSTEMERROR },
	{ "resolver.adr.recipnotfound", BOUNCE_R_USERUNKNOWN },
	{ "resolver.adr.exrecipnotfound", BOUNCE_R_USERUNKNOWN },
	{ "resolver.adr.reciplimit", BOUNCE_R_TOOMANYCONN },
	{ "resolver.adr.invalidinsmtp", BOUNCE_R_SYSTEMERROR },
	{ "resolver.adr.ambiguous", BOUNCE_R_SYSTEMERROR },
	{ "resolver.rst.authrequired", BOUNCE_R_SECURITYERROR },
	{ "resolver.rst.notauthorized", BOUNCE_R_REJECTED },
	{ "resolver.rst.recipsizelimit", BOUNCE_R_MESGTOOBIG },
	{ "queue.expired", BOUNCE_R_EXPIRED },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_outlook[] = {
	{ "because the domain is not reachable", BOUNCE_R_HOSTUNKNOWN },
	{ "requested action not taken: mailbox unavailable",
	    BOUNCE_R_USERUNKNOWN },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_gmx[] = {
	{ "delivery retry timeout exceeded", BOUNCE_R_EXPIRED },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_einsundeins[] = {
	{ "mail size limit exceeded", BOUNCE_R_MESGTOOBIG },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_kddi[] = {
	{ "as their mailbox is full", BOUNCE_R_MAILBOXFULL },
	{ "due to the following smtp relay error", BOUNCE_R_NORELAYING },
	{ "as the remote domain doesnt exist", BOUNCE_R_HOSTUNKNOWN },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_ezweb[] = {
	{ "account is temporarily over quota", BOUNCE_R_MAILBOXFULL },
	{ "account is disabled.", BOUNCE_R_SUSPEND },
	{ "account is temporarily limited.", BOUNCE_R_SUSPEND },
	{ "your message was not delivered within ", BOUNCE_R_EXPIRED },
	{ "rejected by a remote mail server", BOUNCE_R_ONHOLD },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_opensmtpd[] = {
	{ "envelope expired", BOUNCE_R_EXPIRED },
	{ "invalid domain name", BOUNCE_R_HOSTUNKNOWN },
	{ "domain does not exist", BOUNCE_R_HOSTUNKNOWN },
	{ "destination seem to reject all mails", BOUNCE_R_NOTACCEPT },
	{ "address family mismatch on destination mxs", BOUNCE_R_NETWORKERROR },
	{ "all routes to destination blocked", BOUNCE_R_NETWORKERROR },
	{ "bad dns lookup error code", BOUNCE_R_NETWORKERROR },
	{ "could not retrieve source address", BOUNCE_R_NETWORKERROR },
	{ "loop detected", BOUNCE_R_NETWORKERROR },
	{ "network error on destination mxs", BOUNCE_R_NETWORKERROR },
	{ "no mx found for", BOUNCE_R_NETWORKERROR },
	{ "no valid route to", BOUNCE_R_NETWORKERROR },
	{ "temporary failure in mx lookup", BOUNCE_R_NETWORKERROR },
	{ "could not retrieve credentials", BOUNCE_R_SECURITYERROR },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_imail[] = {
	{ "unknown host", BOUNCE_R_HOSTUNKNOWN },
	{ "unknown user", BOUNCE_R_USERUNKNOWN },
	{ "invalid final delivery userid", BOUNCE_R_USERUNKNOWN },
	{ "user mailbox exceeds allowed size", BOUNCE_R_MAILBOXFULL },
	{ "requested action not taken: virus detected",
	    BOUNCE_R_VIRUSDETECTED },
	{ "undeliverable to", BOUNCE_R_UNDEFINED },
	{ "delivery failed ", BOUNCE_R_EXPIRED },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_messagingserver[] = {
	{ "illegal host/domain name found", BOUNCE_R_HOSTUNKNOWN },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_verizon[] = {
	{ "requested action not taken: no such user here",
	    BOUNCE_R_USERUNKNOWN },
	{ "no valid recipients for this mm", BOUNCE_R_USERUNKNOWN },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_mcafee[] = {
	{ "550 unknown user ", BOUNCE_R_USERUNKNOWN },
	{ "... user not exist", BOUNCE_R_USERUNKNOWN },
	{ "no such user", BOUNCE_R_USERUNKNOWN },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_gsuite[] = {
	{ "because the address couldn't be found. check for typos",
	    BOUNCE_R_USERUNKNOWN },
	{ "null mx", BOUNCE_R_NOTACCEPT },
	{ " had no relevant answers.", BOUNCE_R_NETWORKERROR },
	{ " responded with code nxdomain", BOUNCE_R_NETWORKERROR },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_aol[] = {
	{ "host or domain name not found", BOUNCE_R_HOSTUNKNOWN },
	{ "type=mx: malformed or unexpected name server reply",
	    BOUNCE_R_NOTACCEPT },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_receivingses[] = {
	{ "mailbox does not exist", BOUNCE_R_FILTERED },
	{ "message too large", BOUNCE_R_MESGTOOBIG },
	{ "mailbox full", BOUNCE_R_MAILBOXFULL },
	{ "message content rejected", BOUNCE_R_CONTENTERROR },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_amavis[] = {
	{ " - spam", BOUNCE_R_SPAMDETECTED },
	{ " - infected", BOUNCE_R_VIRUSDETECTED },
	{ " - bad header:", BOUNCE_R_CONTENTERROR },
	{ " - message size exceeds recipient", BOUNCE_R_EXCEEDLIMIT },
	{ " - temporary mta failure on relaying", BOUNCE_R_SYSTEMERROR },
	{ " - rejected by next-hop mta on relaying", BOUNCE_R_SYSTEMERROR },
	{ " - unable to relay message back to mta", BOUNCE_R_SYSTEMERROR },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_biglobe[] = {
	{ "mail delivery failed... user unknown", BOUNCE_R_FILTERED },
	{ "in recipient's mailbox exceeded the local limit",
	    BOUNCE_R_MAILBOXFULL },
	{ NULL, BOUNCE_R_NONE },
};

/* Facebook names the refusal with a code: "RCP-P1". */
static const struct bounce_mta_words bounce_mta_facebook[] = {
	{ "rcp-p1", BOUNCE_R_USERUNKNOWN },
	{ "int-p1", BOUNCE_R_USERUNKNOWN },
	{ "int-p3", BOUNCE_R_USERUNKNOWN },
	{ "int-p4", BOUNCE_R_USERUNKNOWN },
	{ "rcp-p2", BOUNCE_R_FILTERED },
	{ "rcp-p3", BOUNCE_R_FILTERED },
	{ "pol-p1", BOUNCE_R_BLOCKED },
	{ "pol-p2", BOUNCE_R_BLOCKED },
	{ "pol-p3", BOUNCE_R_NOTACCEPT },
	{ "pol-p4", BOUNCE_R_NOTACCEPT },
	{ "pol-p5", BOUNCE_R_FILTERED },
	{ "pol-p6", BOUNCE_R_CONTENTERROR },
	{ "pol-p7", BOUNCE_R_CONTENTERROR },
	{ "msg-p1", BOUNCE_R_MESGTOOBIG },
	{ "int-p2", BOUNCE_R_MESGTOOBIG },
	{ "msg-p2", BOUNCE_R_CONTENTERROR },
	{ "msg-p3", BOUNCE_R_CONTENTERROR },
	{ "int-t1", BOUNCE_R_SYSTEMERROR },
	{ "int-t2", BOUNCE_R_SYSTEMERROR },
	{ "int-t3", BOUNCE_R_SYSTEMERROR },
	{ "int-t4", BOUNCE_R_SYSTEMERROR },
	{ "int-tl", BOUNCE_R_SYSTEMERROR },
	{ "mbx-t1", BOUNCE_R_SUSPEND },
	{ "mbx-t2", BOUNCE_R_SUSPEND },
	{ "cnt-t1", BOUNCE_R_TOOMANYCONN },
	{ "cnt-t2", BOUNCE_R_TOOMANYCONN },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_messagelabs[] = {
	{ "no such user", BOUNCE_R_USERUNKNOWN },
	{ "please turn on smtp authentication in your mail client",
	    BOUNCE_R_SECURITYERROR },
	{ NULL, BOUNCE_R_NONE },
};

static const struct bounce_mta_words bounce_mta_zoho[] = {
	{ "host not reachable", BOUNCE_R_EXPIRED },
	{ NULL, BOUNCE_R_NONE },
};

/* PowerMTA's X-PowerMTA-BounceCategory. */
static const struct bounce_mta_words bounce_mta_powermta[] = {
	{ "bad-domain", BOUNCE_R_HOSTUNKNOWN },
	{ "bad-mailbox", BOUNCE_R_USERUNKNOWN },
	{ "inactive-mailbox", BOUNCE_R_SUSPEND },
	{ "message-expired", BOUNCE_R_EXPIRED },
	{ "no-answer-from-host", BOUNCE_R_NETWORKERROR },
	{ "policy-related", BOUNCE_R_POLICYVIOLATION },
	{ "quota-issues", BOUNCE_R_MAILBOXFULL },
	{ "routing-errors", BOUNCE_R_SYSTEMERROR },
	{ "spam-related", BOUNCE_R_SPAMDETECTED },
	{ NULL, BOUNCE_R_NONE },
};

/* Exchange 2000/2003: "MSEXCH:IMS:... (000C05A6) Unknown Recipient". */
static const struct bounce_mta_words bounce_mta_msexch[] = {
	{ "(000b099c)", BOUNCE_R_ONHOLD },
	{ "(000b09aa)", BOUNCE_R_ONHOLD },
	{ "(000b09b6)", BOUNCE_R_ONHOLD },
	{ "(000c05a6)", BOUNCE_R_USERUNKNOWN },
	{ "(00010256)", BOUNCE_R_SYSTEMERROR },
	{ "(000d06b5)", BOUNCE_R_SYSTEMERROR },
	{ "(00120270)", BOUNCE_R_NETWORKERROR },
	{ "(00050311)", BOUNCE_R_CONTENTERROR },
	{ "(000502cc)", BOUNCE_R_CONTENTERROR },
	{ "(000b0981)", BOUNCE_R_SECURITYERROR },
	{ "(000c0595)", BOUNCE_R_FILTERED },
	{ NULL, BOUNCE_R_NONE },
};

/* Local delivery agents that write their own one-line refusals. */
static const struct {
	const char *prefix; /* how the line begins */
	const struct bounce_mta_words words[6];
} bounce_mta_mdas[] = {
	{ "mail.local: ",
	    { { ": unknown user:", BOUNCE_R_USERUNKNOWN },
		{ ": user unknown", BOUNCE_R_USERUNKNOWN },
		{ ": invalid mailbox path", BOUNCE_R_USERUNKNOWN },
		{ ": user missing home directory", BOUNCE_R_USERUNKNOWN },
		{ "disc quota exceeded", BOUNCE_R_MAILBOXFULL },
		{ NULL, BOUNCE_R_NONE } } },
	{ "procmail: ",
	    { { "quota exceeded while writing", BOUNCE_R_MAILBOXFULL },
		{ "no space left to finish writing", BOUNCE_R_SYSTEMFULL },
		{ NULL, BOUNCE_R_NONE } } },
	{ "maildrop: ",
	    { { "invalid user specified.", BOUNCE_R_USERUNKNOWN },
		{ "cannot find system user", BOUNCE_R_USERUNKNOWN },
		{ "maildir over quota.", BOUNCE_R_MAILBOXFULL },
		{ NULL, BOUNCE_R_NONE } } },
	{ "vdelivermail: ",
	    { { "sorry, no mailbox here by that name.", BOUNCE_R_USERUNKNOWN },
		{ "account is locked email bounced", BOUNCE_R_FILTERED },
		{ "is over quota", BOUNCE_R_MAILBOXFULL },
		{ NULL, BOUNCE_R_NONE } } },
	{ "vdeliver: ",
	    { { "invalid or unknown base user or domain",
		  BOUNCE_R_USERUNKNOWN },
		{ "invalid or unknown virtual user", BOUNCE_R_USERUNKNOWN },
		{ "does not refer to a virtual user", BOUNCE_R_USERUNKNOWN },
		{ "due to system quota violation", BOUNCE_R_MAILBOXFULL },
		{ NULL, BOUNCE_R_NONE } } },
};

/* --------------------------------------------------- knowing the MTA */

static bool
bounce_mta_has(const char *value, const char *words)
{
	return value != NULL && bounce_ci_find(value, words) != NULL;
}

static bool
bounce_mta_starts(const char *value, const char *words)
{
	return value != NULL && strncasecmp(value, words, strlen(words)) == 0;
}

/* The Received fields of the bounce, lower-cased and joined (a bounded
 * copy), made when first needed: most reports are known before. */
struct bounce_mta_recv {
	const struct bounce_msg *m;
	char *text;
};

static const char *
bounce_mta_received_text(struct bounce_mta_recv *r)
{
	const struct bounce_msg *m = r->m;
	struct buf b;
	size_t i;

	if (r->text != NULL)
		return r->text;
	buf_init(&b);
	for (i = 0; i < m->top.n && b.len < 16384; i++)
		if (m->top.v[i].name_len == 8 &&
		    strncasecmp(m->top.v[i].name, "Received", 8) == 0) {
			buf_puts(&b, bounce_hdrs_value(&m->top, i));
			buf_putc(&b, '\n');
		}
	if (b.data == NULL) {
		r->text = xstrdup("");
		return r->text;
	}
	bounce_lower(b.data, b.len, b.data, b.len + 1);
	r->text = buf_take(&b);
	return r->text;
}

/* True when a Received field holds words (lower case). */
static bool
bounce_mta_received(struct bounce_mta_recv *r, const char *words)
{
	return strstr(bounce_mta_received_text(r), words) != NULL;
}

static bool
bounce_mta_is_exim(const struct bounce_msg *m)
{
	const char *from = bounce_hdrs_get(&m->top, "From");
	const char *id = bounce_hdrs_get(&m->top, "Message-ID");
	const char *subj = m->subject;
	int votes = 0;

	votes += bounce_mta_starts(from, "Mail Delivery System");
	/* Exim's message ids: <1abcDe-000aB2-Cd@host> */
	if (id != NULL) {
		const char *p = id + strspn(id, " <");

		votes += strlen(p) > 18 && p[6] == '-' && p[13] == '-' &&
		    p[16] == '@';
	}
	votes += bounce_mta_starts(subj, "Mail delivery failed") ||
	    bounce_mta_starts(subj, "Warning: message") ||
	    bounce_mta_starts(subj, "Mail failure") ||
	    bounce_mta_starts(subj, "Message frozen") ||
	    bounce_mta_has(subj, "error(s) in forwarding or filtering") ||
	    bounce_mta_has(subj, "Delivery Status Notification");
	votes += bounce_hdrs_get(&m->top, "X-Failed-Recipients") != NULL;
	return votes >= 2;
}

/* A line of the report text that begins with one of the local
 * delivery agents' names: its index in bounce_mta_mdas, or -1. */
static int
bounce_mta_mda_line(const char *text, const char **line)
{
	const char *p;
	size_t i;

	for (p = text; p != NULL && *p != '\0';) {
		for (i = 0; i < UTIL_ARRAY_LEN(bounce_mta_mdas); i++)
			if (tolower((unsigned char)*p) ==
				bounce_mta_mdas[i].prefix[0] &&
			    strncasecmp(p, bounce_mta_mdas[i].prefix,
				strlen(bounce_mta_mdas[i].prefix)) == 0) {
				*line = p;
				return (int)i;
			}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/* Outlook.com's (Hotmail's) reports: two signs of four. */
static bool
bounce_mta_is_outlook(const struct bounce_msg *m, struct bounce_mta_recv *recv)
{
	int votes = 0;

	votes += bounce_mta_has(m->subject, "Delivery Status Notification");
	votes += bounce_hdrs_get(&m->top, "X-Message-Delivery") != NULL;
	votes += bounce_hdrs_get(&m->top, "X-Message-Info") != NULL;
	votes += bounce_mta_received(recv, ".hotmail.com");
	return votes >= 2;
}

/*
 * The MTA is known by the first of these tests that holds, in order: a
 * later test may hold too for a report an earlier one claims (Google
 * Groups' reports are Gmail's too). First the gateways and services
 * whose signs are their own (a header, a sender and a subject together).
 */
static enum bounce_mta_id
bounce_mta_detect_services(const struct bounce_msg *m)
{
	const char *from = bounce_hdrs_get(&m->top, "From");
	const char *subj = m->subject;

	if (bounce_mta_has(bounce_hdrs_get(&m->top, "X-NAI-Header"),
		"Modified by McAfee") &&
	    subj != NULL && strcmp(subj, "Delivery Status") == 0)
		return BOUNCE_MTA_MCAFEE;
	if ((bounce_mta_starts(from, "\"InterScan MSS\"") ||
		bounce_mta_starts(from, "\"InterScan Notification\"") ||
		(subj != NULL &&
		    strcmp(subj, "Mail could not be delivered") == 0)))
		return BOUNCE_MTA_INTERSCAN;
	if (bounce_mta_has(subj, "Delivery report") &&
	    bounce_ci_find(m->dsn.data, "X-PowerMTA-BounceCategory:") != NULL)
		return BOUNCE_MTA_POWERMTA;
	if (bounce_mta_has(from, "<mailer-daemon@googlemail.com>") &&
	    bounce_mta_has(subj, "Delivery Status Notification") &&
	    bounce_hdrs_get(&m->top, "X-Failed-Recipients") != NULL &&
	    bounce_hdrs_get(&m->top, "X-Google-Smtp-Source") != NULL)
		return BOUNCE_MTA_GOOGLEGROUPS;
	if (bounce_mta_has(from, "<mailer-daemon@googlemail.com>") &&
	    bounce_mta_has(subj, "Delivery Status Notification") &&
	    bounce_hdrs_get(&m->top, "X-Gm-Message-State") != NULL)
		return BOUNCE_MTA_GSUITE;
	if (bounce_hdrs_get(&m->top, "X-AOL-IP") != NULL)
		return BOUNCE_MTA_AOL;
	if (bounce_hdrs_get(&m->top, "X-SES-Outgoing") != NULL)
		return BOUNCE_MTA_RECEIVINGSES;
	if (bounce_mta_starts(subj, "Returned mail: ") &&
	    strstr(m->text.data, "\n   ----- Unsent message follows") != NULL &&
	    m->dsn.len == 0)
		return BOUNCE_MTA_V5SENDMAIL;
	return BOUNCE_MTA_UNKNOWN;
}

/* Then the providers and filters known by a header or a sender. */
static enum bounce_mta_id
bounce_mta_detect_providers(const struct bounce_msg *m)
{
	const char *from = bounce_hdrs_get(&m->top, "From");
	const char *subj = m->subject;

	if (bounce_mta_has(from, "mailer-daemon@") &&
	    bounce_mta_has(from, "mail.ru"))
		return BOUNCE_MTA_MAILRU;
	if (bounce_hdrs_get(&m->top, "X-GMX-Antispam") != NULL)
		return BOUNCE_MTA_GMX;
	if (bounce_mta_starts(from, "\"Content-filter at "))
		return BOUNCE_MTA_AMAVIS;
	if (bounce_mta_starts(subj, "Returned mail:") &&
	    (bounce_mta_has(from, "postmaster@biglobe.ne.jp") ||
		bounce_mta_has(from, "postmaster@inacatv.ne.jp") ||
		bounce_mta_has(from, "postmaster@tmtv.ne.jp") ||
		bounce_mta_has(from, "postmaster@ttv.ne.jp")))
		return BOUNCE_MTA_BIGLOBE;
	if (bounce_mta_has(from, "<mailer-daemon@mx.facebook.com>") &&
	    bounce_mta_has(subj, "your message could not be delivered"))
		return BOUNCE_MTA_FACEBOOK;
	if (bounce_hdrs_get(&m->top, "X-Msg-Ref") != NULL &&
	    bounce_mta_has(from, "MAILER-DAEMON@messagelabs.com"))
		return BOUNCE_MTA_MESSAGELABS;
	if (bounce_hdrs_get(&m->top, "X-ZohoMail") != NULL)
		return BOUNCE_MTA_ZOHO;
	if (bounce_hdrs_get(&m->top, "X-MX-Bounce") != NULL ||
	    bounce_hdrs_get(&m->top, "X-MXL-Hash") != NULL ||
	    bounce_hdrs_get(&m->top, "X-MXL-NoteHash") != NULL)
		return BOUNCE_MTA_MXLOGIC;
	if (bounce_mta_starts(subj, "There was an error sending your mail"))
		return BOUNCE_MTA_X6;
	if (bounce_mta_has(
		bounce_hdrs_get(&m->top, "Return-Path"), "<apps@sendgrid.net>"))
		return BOUNCE_MTA_SENDGRID;
	if (bounce_mta_starts(from, "\"Mail Delivery System\"") &&
	    bounce_mta_starts(
		subj, "Mail delivery failed: returning message to sender") &&
	    strstr(m->text.data, "For the following reason:") != NULL)
		return BOUNCE_MTA_EINSUNDEINS;
	if (bounce_hdrs_get(&m->top, "X-YMailISG") != NULL)
		return BOUNCE_MTA_YAHOO;
	return BOUNCE_MTA_UNKNOWN;
}

/* Last the mail servers, known by looser signs: their subjects, their
 * Received fields, their wording; Exim, Postfix and the local delivery
 * agents, the most common, are the fallbacks. */
static enum bounce_mta_id
bounce_mta_detect_servers(
    const struct bounce_msg *m, struct bounce_mta_recv *recv)
{
	const char *from = bounce_hdrs_get(&m->top, "From");
	const char *subj = m->subject;
	const char *id = bounce_hdrs_get(&m->top, "Message-ID");
	const char *line;

	if (bounce_mta_starts(subj, "DELIVERY FAILURE:") ||
	    bounce_mta_starts(subj, "DELIVERY_FAILURE:"))
		return BOUNCE_MTA_DOMINO;
	if (bounce_mta_starts(subj, "Undeliverable message"))
		return BOUNCE_MTA_NOTES;
	if (bounce_mta_has(from, "<mailer-daemon@googlemail.com>") &&
	    bounce_mta_has(subj, "Delivery Status Notification"))
		return BOUNCE_MTA_GMAIL;
	if (bounce_mta_has(from, "Courier mail server at ") ||
	    bounce_mta_has(subj, "NOTICE: mail delivery status.") ||
	    bounce_mta_has(subj, "WARNING: delayed mail.") ||
	    bounce_mta_starts(
		id != NULL ? id + strspn(id, " <") : NULL, "courier."))
		return BOUNCE_MTA_COURIER;
	if (bounce_hdrs_get(&m->top, "X-MS-Exchange-Message-Is-Ndr") != NULL ||
	    bounce_hdrs_get(&m->top,
		"X-MS-Exchange-CrossTenant-OriginalArrivalTime") != NULL)
		return BOUNCE_MTA_OFFICE365;
	if ((bounce_mta_starts(subj, "Undeliverable:") ||
		bounce_mta_starts(subj, "Non_remis_") ||
		bounce_mta_starts(subj, "Non recapitabile:")) &&
	    bounce_hdrs_get(&m->top, "Content-Language") != NULL)
		return BOUNCE_MTA_EXCHANGE;
	if (bounce_mta_is_outlook(m, recv))
		return BOUNCE_MTA_OUTLOOK;
	if (bounce_mta_has(from, "no-reply@") &&
	    bounce_mta_has(from, ".dion.ne.jp"))
		return BOUNCE_MTA_KDDI;
	if (bounce_mta_has(from, "Postmaster@ezweb.ne.jp") ||
	    bounce_mta_has(from, "Postmaster@au.com") ||
	    bounce_mta_received(recv, "ezweb.ne.jp (ezweb mail) with"))
		return BOUNCE_MTA_EZWEB;
	if (bounce_mta_has(subj, "Delivery status notification") &&
	    bounce_mta_has(from, "Mailer Daemon <") &&
	    bounce_mta_received(recv, " (opensmtpd) with "))
		return BOUNCE_MTA_OPENSMTPD;
	if (bounce_mta_starts(subj, "Undeliverable Mail") ||
	    bounce_mta_starts(
		bounce_hdrs_get(&m->top, "X-Mailer"), "<SMTP32 v"))
		return BOUNCE_MTA_IMAIL;
	if (bounce_mta_starts(subj, "Delivery Notification: "))
		return BOUNCE_MTA_MESSAGINGSERVER;
	if (bounce_mta_starts(from, "Mail Delivery System") &&
	    bounce_mta_starts(subj, "Delivery status notification") &&
	    strstr(m->text.data,
		"This is an automatically generated Delivery Status "
		"Notification.") != NULL)
		return BOUNCE_MTA_X3;
	if (bounce_mta_has(from, "post_master@vtext.com") ||
	    bounce_mta_has(from, ".vzwpix.com"))
		return BOUNCE_MTA_VERIZON;
	if (bounce_mta_has(subj, "failure notice") ||
	    bounce_mta_received(recv, "invoked for bounce") ||
	    bounce_mta_received(recv, "invoked from network"))
		return BOUNCE_MTA_QMAIL;
	if (bounce_mta_is_exim(m))
		return BOUNCE_MTA_EXIM;
	if (bounce_mta_starts(subj, "Undelivered Mail Returned to Sender"))
		return BOUNCE_MTA_POSTFIX;
	if ((bounce_mta_has(from, "mailer-daemon") ||
		bounce_mta_has(from, "postmaster") ||
		bounce_mta_has(from, "mail delivery subsystem")) &&
	    bounce_mta_mda_line(m->text.data, &line) >= 0)
		return BOUNCE_MTA_MDA;
	return BOUNCE_MTA_UNKNOWN;
}

static enum bounce_mta_id
bounce_mta_detect(const struct bounce_msg *m, struct bounce_mta_recv *recv)
{
	enum bounce_mta_id mta = bounce_mta_detect_services(m);

	if (mta == BOUNCE_MTA_UNKNOWN)
		mta = bounce_mta_detect_providers(m);
	if (mta == BOUNCE_MTA_UNKNOWN)
		mta = bounce_mta_detect_servers(m, recv);
	return mta;
}

/* ----------------------------------------------------------- applying */

static enum bounce_reason
bounce_mta_find(const struct bounce_mta_words *w, const char *s)
{
	char low[8192];
	size_t i;

	if (w == NULL || s == NULL)
		return BOUNCE_R_NONE;
	/* The sentences are lower case: the text once lower-cased. */
	bounce_lower(s, sizeof(low), low, sizeof(low));
	for (i = 0; w[i].words != NULL; i++)
		if (strstr(low, w[i].words) != NULL)
			return w[i].reason;
	return BOUNCE_R_NONE;
}

/* Office 365 status codes that name their reason. */
static enum bounce_reason
bounce_mta_office365_status(const char *status)
{
	static const struct {
		const char *code; /* a prefix when it ends in '.' */
		enum bounce_reason reason;
	} codes[] = {
		{ "4.4.7", BOUNCE_R_EXPIRED },
		{ "4.4.312", BOUNCE_R_NETWORKERROR },
		{ "4.4.316", BOUNCE_R_EXPIRED },
		{ "4.7.26", BOUNCE_R_SECURITYERROR },
		{ "5.0.350", BOUNCE_R_CONTENTERROR },
		{ "5.1.10", BOUNCE_R_USERUNKNOWN },
		{ "5.4.1", BOUNCE_R_NORELAYING },
		{ "5.4.6", BOUNCE_R_NETWORKERROR },
		{ "5.4.312", BOUNCE_R_NETWORKERROR },
		{ "5.4.316", BOUNCE_R_EXPIRED },
		{ "5.6.11", BOUNCE_R_CONTENTERROR },
		{ "5.7.1", BOUNCE_R_REJECTED },
		{ "5.7.12", BOUNCE_R_REJECTED },
		{ "5.7.13", BOUNCE_R_REJECTED },
		{ "5.7.124", BOUNCE_R_REJECTED },
		{ "5.7.133", BOUNCE_R_REJECTED },
		{ "5.7.134", BOUNCE_R_REJECTED },
		{ "5.7.135", BOUNCE_R_REJECTED },
		{ "5.7.136", BOUNCE_R_REJECTED },
		{ "5.7.23", BOUNCE_R_BLOCKED },
		{ "5.7.25", BOUNCE_R_NETWORKERROR },
		{ "5.7.501", BOUNCE_R_SPAMDETECTED },
		{ "5.7.502", BOUNCE_R_SPAMDETECTED },
		{ "5.7.503", BOUNCE_R_SPAMDETECTED },
		{ "5.7.504", BOUNCE_R_FILTERED },
		{ "5.7.505", BOUNCE_R_FILTERED },
		{ "5.7.506", BOUNCE_R_BLOCKED },
		{ "5.7.507", BOUNCE_R_BLOCKED },
		{ "5.7.508", BOUNCE_R_TOOMANYCONN },
		{ "5.7.509", BOUNCE_R_SECURITYERROR },
		{ "5.7.510", BOUNCE_R_NOTACCEPT },
		{ "5.7.511", BOUNCE_R_REJECTED },
		{ "5.7.512", BOUNCE_R_SECURITYERROR },
		{ "5.7.57", BOUNCE_R_SECURITYERROR },
	};
	size_t i;

	if (status == NULL)
		return BOUNCE_R_NONE;
	for (i = 0; i < UTIL_ARRAY_LEN(codes); i++)
		if (strcmp(status, codes[i].code) == 0)
			return codes[i].reason;
	/* 4.7.5xx, 4.7.6xx, 4.7.85x-89x, 5.7.606-649: the sending IP. */
	if (strlen(status) == 7 &&
	    (strncmp(status, "4.7.5", 5) == 0 ||
		strncmp(status, "4.7.6", 5) == 0 ||
		strncmp(status, "4.7.8", 5) == 0 ||
		strncmp(status, "5.7.6", 5) == 0))
		return BOUNCE_R_BLOCKED;
	if (strlen(status) == 7 && strncmp(status, "5.7.7", 5) == 0)
		return BOUNCE_R_TOOMANYCONN;
	return BOUNCE_R_NONE;
}

/* Gmail's "(state N)": the step of the session that failed. */
static void
bounce_mta_gmail_state(
    const char *diag, struct bounce_rcpt *rc, struct bounce_rcpt_aux *aux)
{
	static const struct {
		int state;
		enum bounce_command cmd;
		enum bounce_reason reason;
	} states[] = {
		{ 6, BOUNCE_CMD_MAIL, BOUNCE_R_SYSTEMERROR },
		{ 13, BOUNCE_CMD_EHLO, BOUNCE_R_BLOCKED },
		{ 14, BOUNCE_CMD_RCPT, BOUNCE_R_USERUNKNOWN },
		{ 15, BOUNCE_CMD_DATA, BOUNCE_R_FILTERED },
		{ 17, BOUNCE_CMD_DATA, BOUNCE_R_FILTERED },
		{ 18, BOUNCE_CMD_DATA, BOUNCE_R_FILTERED },
	};
	const char *p = diag != NULL ? strstr(diag, "(state ") : NULL;
	int n;
	size_t i;

	if (p == NULL)
		return;
	p += 7;
	for (n = 0; isdigit((unsigned char)*p) && n < 1000; p++)
		n = n * 10 + (*p - '0');
	for (i = 0; i < UTIL_ARRAY_LEN(states); i++)
		if (states[i].state == n) {
			rc->command = states[i].cmd;
			aux->mta_reason = bounce_reason_name(states[i].reason);
		}
}

/* "SMTP:RCPT ..." (an unnamed MTA's transcript line): the command. */
static enum bounce_command
bounce_mta_x3_command(const char *ctx)
{
	static const struct {
		const char *verb;
		enum bounce_command cmd;
	} verbs[] = { { "SMTP:RCPT", BOUNCE_CMD_RCPT },
		{ "SMTP:DATA", BOUNCE_CMD_DATA },
		{ "SMTP:MAIL", BOUNCE_CMD_MAIL },
		{ "SMTP:EHLO", BOUNCE_CMD_EHLO },
		{ "SMTP:HELO", BOUNCE_CMD_EHLO } };
	size_t i;

	for (i = 0; ctx != NULL && i < UTIL_ARRAY_LEN(verbs); i++)
		if (strstr(ctx, verbs[i].verb) != NULL)
			return verbs[i].cmd;
	return BOUNCE_CMD_NONE;
}

/* The value of the first "name:" line of s at or after from. */
static void
bounce_mta_field(const char *s, const char *name, char *out, size_t size)
{
	const char *p = s != NULL ? bounce_ci_find(s, name) : NULL;
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(name);
	p += strspn(p, " \t");
	n = strcspn(p, " \t\r\n;");
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * Sendmail 5 writes one transcript for all recipients: each failed
 * recipient's line ("554 <a@b>... Remote protocol error") follows the
 * command it failed on (">>> MAIL From:<...>") and the reply
 * ("<<< 550 Insecure Mail Relay"). Sets rc's command and diagnostic.
 */
static void
bounce_mta_v5sendmail(const char *text, struct bounce_rcpt *rc)
{
	const char *at = text, *line = NULL, *p, *cmd = NULL, *reply = NULL;
	size_t alen = strlen(rc->recipient);
	struct buf b;

	while ((at = bounce_ci_find(at, rc->recipient)) != NULL) {
		const char *bol = at;

		while (bol > text && bol[-1] != '\n')
			bol--;
		if (at > bol && at[-1] == '<' &&
		    strncmp(at + alen, ">...", 4) == 0 &&
		    isdigit((unsigned char)bol[0])) {
			line = bol;
			break;
		}
		at += alen;
	}
	if (line == NULL)
		return;
	/* The command and the reply since the previous recipient's line. */
	for (p = text; p < line;) {
		if (strncmp(p, ">>> ", 4) == 0) {
			cmd = p + 4;
			reply = NULL;
		} else if (strncmp(p, "<<< ", 4) == 0) {
			reply = p + 4;
		} else if (isdigit((unsigned char)p[0]) &&
		    strstr(p, ">... ") != NULL &&
		    strstr(p, ">... ") < p + strcspn(p, "\n")) {
			cmd = NULL;
			reply = NULL;
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	if (cmd != NULL && rc->command == BOUNCE_CMD_NONE) {
		char t[32];

		(void)snprintf(t, sizeof(t), ">>> %.4s\n<<< 5", cmd);
		rc->command = bounce_classify_command(t);
	}
	buf_init(&b);
	p = strstr(line, "... ");
	if (p != NULL && p < line + strcspn(line, "\n")) {
		p += 4;
		buf_append(&b, p, strcspn(p, "\n"));
	}
	if (reply != NULL) {
		if (b.len > 0)
			buf_puts(&b, ": ");
		buf_append(&b, reply, strcspn(reply, "\n"));
	}
	if (b.len > 0)
		bounce_set_folded(&rc->diagnostic, b.data, b.len);
	buf_fini(&b);
}

/* Sendmail's transcript: the remote server's replies ("<<< 550 ..."),
 * joined, when they say more than the DSN's Diagnostic-Code. */
static void
bounce_mta_sendmail_replies(const char *text, struct bounce_rcpt *rc)
{
	const char *p;
	struct buf b;

	if (strstr(text, "----- Transcript of session follows -----") == NULL)
		return;
	buf_init(&b);
	for (p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, "<<< ", 4) == 0) {
			size_t n = strcspn(p + 4, "\n");
			char *one = xstrndup(p + 4, n);

			if (b.len == 0 || strstr(b.data, one) == NULL) {
				if (b.len > 0)
					buf_putc(&b, ' ');
				buf_append(&b, p + 4, n);
			}
			free(one);
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (b.len > 0 &&
	    (rc->diagnostic == NULL || b.len > strlen(rc->diagnostic)))
		bounce_set_folded(&rc->diagnostic, b.data, b.len);
	buf_fini(&b);
}

/* Google Groups says four things, each on a "* " line, when it refused
 * the sender; fewer when it could not tell why. */
static enum bounce_reason
bounce_mta_googlegroups(const char *text)
{
	const char *p;
	int stars = 0;

	for (p = text; p != NULL && *p != '\0';) {
		const char *q = p + (*p == ' ');

		stars += q[0] == '*' && (q[1] == ' ' || q[1] == '\t');
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return stars == 4 ? BOUNCE_R_REJECTED : BOUNCE_R_ONHOLD;
}

/* ------------------------------------------------------ each MTA's rule */

/* One recipient of a report, as an MTA's rule sees it. */
struct bounce_mta_case {
	const struct bounce_msg *m;
	struct bounce_rcpt *rc;
	struct bounce_rcpt_aux *aux;
	const char *ctx; /* the report's lines about the recipient, or NULL */
	const char *d;   /* the recipient's diagnostic, or NULL */
	enum bounce_command cmd; /* the command, as known before the rule */
	const struct bounce_mta_words *words; /* the MTA's sentences */
	enum bounce_reason r; /* the reason: the rule's to set or leave */
};

/* A refusal of the greeting is about us; one of MAIL FROM the MTA cannot
 * tell; otherwise its sentences. */
static enum bounce_reason
bounce_mta_by_command(const struct bounce_mta_case *c)
{
	if (c->cmd == BOUNCE_CMD_EHLO)
		return BOUNCE_R_BLOCKED;
	if (c->cmd == BOUNCE_CMD_MAIL)
		return BOUNCE_R_ONHOLD;
	return bounce_mta_find(c->words, c->d);
}

static void
bounce_mta_rule_exim(struct bounce_mta_case *c)
{
	c->r = bounce_mta_by_command(c);
	if (c->r == BOUNCE_R_NONE && bounce_learnt("exim")) {
		/* Exim writes the reason on the recipient's own line, or
		 * names the pipe that failed. */
		c->r = bounce_mta_find(c->words, c->ctx);
		if (c->ctx != NULL && strstr(c->ctx, "  pipe to |/") != NULL)
			c->r = BOUNCE_R_MAILERERROR;
	}
}

static void
bounce_mta_rule_mxlogic(struct bounce_mta_case *c)
{
	c->r = bounce_mta_by_command(c);
}

static void
bounce_mta_rule_qmail(struct bounce_mta_case *c)
{
	if (c->cmd == BOUNCE_CMD_MAIL)
		c->r = BOUNCE_R_REJECTED;
	else if (c->cmd == BOUNCE_CMD_EHLO)
		c->r = BOUNCE_R_BLOCKED;
	else if (c->d != NULL &&
	    bounce_ci_find(c->d, "does not like recipient.") != NULL &&
	    bounce_ci_find(c->d, "in the queue too long.") != NULL)
		c->r = BOUNCE_R_ONHOLD;
	else
		c->r = bounce_mta_find(c->words, c->d);
}

static void
bounce_mta_rule_domino(struct bounce_mta_case *c)
{
	/* "because:" and, on the next line, why. */
	const char *b = c->ctx != NULL ? strstr(c->ctx, "because:")
				       : strstr(c->m->text.data, "because:");

	if (b != NULL) {
		b += strlen("because:");
		b += strspn(b, " \t\n");
		if (*b != '\0')
			bounce_set_folded(
			    &c->rc->diagnostic, b, strcspn(b, "\n"));
		c->d = c->rc->diagnostic;
	}
	c->r = bounce_mta_find(c->words, c->d);
}

static void
bounce_mta_rule_gmail(struct bounce_mta_case *c)
{
	c->r = bounce_mta_find(c->words, c->d);
	bounce_mta_gmail_state(c->d, c->rc, c->aux);
}

static void
bounce_mta_rule_office365(struct bounce_mta_case *c)
{
	if (c->d != NULL &&
	    bounce_ci_find(
		c->d, "unknown recipient or mailbox unavailable ->") != NULL)
		c->rc->command = BOUNCE_CMD_RCPT;
	c->r = bounce_mta_office365_status(c->rc->status);
}

/* Yahoo ends the reply with the command it answered, "[RCPT_TO]", or
 * quotes the recipient when RCPT failed. */
static void
bounce_mta_rule_yahoo(struct bounce_mta_case *c)
{
	const char *d = c->d;

	if (c->cmd != BOUNCE_CMD_NONE || d == NULL)
		return;
	if (strstr(d, "[RCPT") != NULL ||
	    (strchr(d, '<') != NULL && strchr(d, '@') != NULL))
		c->rc->command = BOUNCE_CMD_RCPT;
	else if (strstr(d, "[DATA") != NULL)
		c->rc->command = BOUNCE_CMD_DATA;
	else if (strstr(d, "[MAIL") != NULL)
		c->rc->command = BOUNCE_CMD_MAIL;
}

/* The sentences in the diagnostic, else anywhere in the report. */
static void
bounce_mta_rule_text_too(struct bounce_mta_case *c)
{
	c->r = bounce_mta_find(c->words, c->d);
	if (c->r == BOUNCE_R_NONE)
		c->r = bounce_mta_find(c->words, c->m->text.data);
}

static void
bounce_mta_rule_opensmtpd(struct bounce_mta_case *c)
{
	c->r = bounce_mta_find(c->words, c->d);
	if (c->r == BOUNCE_R_NONE && bounce_learnt("opensmtpd"))
		c->r = bounce_mta_find(c->words, c->ctx);
}

static void
bounce_mta_rule_mcafee(struct bounce_mta_case *c)
{
	c->r = bounce_mta_find(c->words, c->d);
	if (c->r == BOUNCE_R_NONE && c->d != NULL &&
	    bounce_ci_find(c->d, " user (") != NULL &&
	    bounce_ci_find(c->d, ") unknown.") != NULL)
		c->r = BOUNCE_R_USERUNKNOWN;
}

static void
bounce_mta_rule_interscan(struct bounce_mta_case *c)
{
	if ((c->d != NULL &&
		bounce_ci_find(c->d, "Unable to deliver") != NULL) ||
	    (bounce_learnt("trendmicro") && c->ctx != NULL &&
		bounce_ci_find(c->ctx, "Unable to deliver") != NULL))
		c->r = BOUNCE_R_USERUNKNOWN;
}

static void
bounce_mta_rule_powermta(struct bounce_mta_case *c)
{
	char cat[32];

	bounce_mta_field(
	    c->m->dsn.data, "X-PowerMTA-BounceCategory:", cat, sizeof(cat));
	c->r = bounce_mta_find(c->words, cat);
}

static void
bounce_mta_rule_googlegroups(struct bounce_mta_case *c)
{
	c->r = bounce_mta_googlegroups(c->m->text.data);
}

static void
bounce_mta_rule_receivingses(struct bounce_mta_case *c)
{
	c->r = bounce_mta_find(c->words, c->d);
	/* Otherwise what its status code says. */
	if (c->r == BOUNCE_R_NONE && bounce_learnt("amazon"))
		c->r = bounce_classify_code_reason(c->rc->status);
}

static void
bounce_mta_rule_v5sendmail(struct bounce_mta_case *c)
{
	bounce_mta_v5sendmail(c->m->text.data, c->rc);
}

static void
bounce_mta_rule_messagelabs(struct bounce_mta_case *c)
{
	c->r = bounce_mta_find(c->words, c->d);
	if (c->r == BOUNCE_R_NONE && c->d != NULL &&
	    strstr(c->d, "542 ") != NULL && strstr(c->d, " Rejected") != NULL)
		c->r = BOUNCE_R_USERUNKNOWN;
}

static void
bounce_mta_rule_sendgrid(struct bounce_mta_case *c)
{
	if (c->rc->action != NULL && strcmp(c->rc->action, "expired") == 0)
		c->r = BOUNCE_R_EXPIRED;
}

/* The local delivery agent's own line: its reason, and the line as the
 * diagnostic. */
static void
bounce_mta_rule_mda(struct bounce_mta_case *c)
{
	const char *line;
	int k = bounce_mta_mda_line(c->m->text.data, &line);
	char one[512];
	size_t n;

	if (k < 0)
		return;
	n = strcspn(line, "\n");
	if (n >= sizeof(one))
		n = sizeof(one) - 1;
	memcpy(one, line, n);
	one[n] = '\0';
	c->r = bounce_mta_find(bounce_mta_mdas[k].words, one);
	if (c->r == BOUNCE_R_NONE)
		c->r = BOUNCE_R_UNDEFINED;
	bounce_set_folded(&c->rc->diagnostic, one, n);
}

static void
bounce_mta_rule_postfix(struct bounce_mta_case *c)
{
	if (c->d != NULL && c->cmd == BOUNCE_CMD_NONE &&
	    bounce_ci_find(c->d, "refused to talk to me:") != NULL)
		c->rc->command = BOUNCE_CMD_EHLO;
	/* Postfix's own type word: still an SMTP reply. */
	if (strcmp(c->aux->diag_type, "x-postfix") == 0)
		(void)snprintf(
		    c->aux->diag_type, sizeof(c->aux->diag_type), "smtp");
}

static void
bounce_mta_rule_x3(struct bounce_mta_case *c)
{
	if (c->cmd == BOUNCE_CMD_NONE)
		c->rc->command = bounce_mta_x3_command(c->ctx);
}

/*
 * What is done for each MTA: with a rule, the rule decides (it sees the
 * sentences as c->words); without one, the reason is what the sentences
 * say of the diagnostic. An MTA with neither leaves the reason as it was
 * (an Exchange 2000 code, or none).
 */
static const struct bounce_mta_rule {
	const struct bounce_mta_words *words;
	void (*rule)(struct bounce_mta_case *c);
} bounce_mta_rules[BOUNCE_MTA_COUNT] = {
	[BOUNCE_MTA_UNKNOWN] = { NULL, NULL },
	[BOUNCE_MTA_POSTFIX] = { NULL, bounce_mta_rule_postfix },
	[BOUNCE_MTA_EXIM] = { bounce_mta_exim, bounce_mta_rule_exim },
	[BOUNCE_MTA_MAILRU] = { bounce_mta_exim, bounce_mta_rule_exim },
	[BOUNCE_MTA_QMAIL] = { bounce_mta_qmail, bounce_mta_rule_qmail },
	[BOUNCE_MTA_DOMINO] = { bounce_mta_domino, bounce_mta_rule_domino },
	[BOUNCE_MTA_NOTES] = { bounce_mta_notes, NULL },
	[BOUNCE_MTA_COURIER] = { bounce_mta_courier, NULL },
	[BOUNCE_MTA_GMAIL] = { bounce_mta_gmail, bounce_mta_rule_gmail },
	[BOUNCE_MTA_EXCHANGE] = { bounce_mta_exchange, NULL },
	[BOUNCE_MTA_OFFICE365] = { NULL, bounce_mta_rule_office365 },
	[BOUNCE_MTA_OUTLOOK] = { bounce_mta_outlook, NULL },
	[BOUNCE_MTA_GMX] = { bounce_mta_gmx, NULL },
	[BOUNCE_MTA_EINSUNDEINS] = { bounce_mta_einsundeins, NULL },
	[BOUNCE_MTA_YAHOO] = { NULL, bounce_mta_rule_yahoo },
	[BOUNCE_MTA_KDDI] = { bounce_mta_kddi, bounce_mta_rule_text_too },
	[BOUNCE_MTA_EZWEB] = { bounce_mta_ezweb, bounce_mta_rule_text_too },
	[BOUNCE_MTA_OPENSMTPD] = { bounce_mta_opensmtpd,
	    bounce_mta_rule_opensmtpd },
	[BOUNCE_MTA_IMAIL] = { bounce_mta_imail, NULL },
	[BOUNCE_MTA_MESSAGINGSERVER] = { bounce_mta_messagingserver, NULL },
	[BOUNCE_MTA_X3] = { NULL, bounce_mta_rule_x3 },
	[BOUNCE_MTA_VERIZON] = { bounce_mta_verizon, NULL },
	[BOUNCE_MTA_MCAFEE] = { bounce_mta_mcafee, bounce_mta_rule_mcafee },
	[BOUNCE_MTA_INTERSCAN] = { NULL, bounce_mta_rule_interscan },
	[BOUNCE_MTA_POWERMTA] = { bounce_mta_powermta,
	    bounce_mta_rule_powermta },
	[BOUNCE_MTA_GOOGLEGROUPS] = { NULL, bounce_mta_rule_googlegroups },
	[BOUNCE_MTA_GSUITE] = { bounce_mta_gsuite, NULL },
	[BOUNCE_MTA_AOL] = { bounce_mta_aol, NULL },
	[BOUNCE_MTA_RECEIVINGSES] = { bounce_mta_receivingses,
	    bounce_mta_rule_receivingses },
	[BOUNCE_MTA_V5SENDMAIL] = { NULL, bounce_mta_rule_v5sendmail },
	[BOUNCE_MTA_MDA] = { NULL, bounce_mta_rule_mda },
	[BOUNCE_MTA_AMAVIS] = { bounce_mta_amavis, NULL },
	[BOUNCE_MTA_BIGLOBE] = { bounce_mta_biglobe, NULL },
	[BOUNCE_MTA_FACEBOOK] = { bounce_mta_facebook, NULL },
	[BOUNCE_MTA_MESSAGELABS] = { bounce_mta_messagelabs,
	    bounce_mta_rule_messagelabs },
	[BOUNCE_MTA_ZOHO] = { bounce_mta_zoho, NULL },
	[BOUNCE_MTA_MXLOGIC] = { bounce_mta_exim, bounce_mta_rule_mxlogic },
	[BOUNCE_MTA_X6] = { NULL, NULL },
	[BOUNCE_MTA_SENDGRID] = { NULL, bounce_mta_rule_sendgrid },
};

/* One recipient of a report from mta. */
static void
bounce_mta_hint_one(const struct bounce_msg *m, enum bounce_mta_id mta,
    bool msexch, struct bounce_rcpt *rc, struct bounce_rcpt_aux *aux,
    const char *ctx)
{
	const struct bounce_mta_rule *rule = &bounce_mta_rules[mta];
	struct bounce_mta_case c = {
		.m = m,
		.rc = rc,
		.aux = aux,
		.ctx = ctx,
		.words = rule->words,
		.r = BOUNCE_R_NONE,
	};

	if (rc->command == BOUNCE_CMD_NONE)
		rc->command = bounce_classify_command(rc->diagnostic);
	c.cmd = rc->command;
	if (msexch)
		c.r = bounce_mta_find(bounce_mta_msexch, ctx);
	if (mta == BOUNCE_MTA_UNKNOWN && m->dsn.len > 0)
		bounce_mta_sendmail_replies(m->text.data, rc);
	c.d = rc->diagnostic;
	if (rule->rule != NULL)
		rule->rule(&c);
	else if (rule->words != NULL)
		c.r = bounce_mta_find(rule->words, c.d);
	if (c.r != BOUNCE_R_NONE && aux->mta_reason == NULL)
		aux->mta_reason = bounce_reason_name(c.r);
}

void
bounce_mta_hint(
    const struct bounce_msg *m, struct bounce_rcptv *v, char *const *ctx)
{
	struct bounce_mta_recv recv = { .m = m, .text = NULL };
	enum bounce_mta_id mta = bounce_mta_detect(m, &recv);
	bool msexch = strstr(m->text.data, "MSEXCH:") != NULL;

	for (size_t i = 0; i < v->n; i++)
		bounce_mta_hint_one(
		    m, mta, msexch, &v->v[i], &v->aux[i], ctx[i]);
	free(recv.text);
}
