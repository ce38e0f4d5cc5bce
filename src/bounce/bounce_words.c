/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_words: the words by which mail servers say why they refused a
 * message, one list per reason of Sisimai's vocabulary, and the matcher
 * that looks for them in a diagnostic. The lists were written for
 * familymail from the meaning of each reason (as the reference
 * analyser's documentation defines it), RFC 3463 and RFC 5321, and the
 * wording of common MTAs and providers; which list wins when several
 * match is bounce_classify.c's business, not this file's.
 *
 * A pattern is lower-case text that must occur in the (lower-cased)
 * diagnostic; '*' in a pattern stands for one word (one or more
 * characters other than a space), so "user * does not exist" matches
 * "user kijitora does not exist". A pattern that begins with '^' must
 * begin the text.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "bounce/bounce_int.h"
#include "util.h"

static const char *const bounce_words_authfailure[] = {
	"spf check: fail",
	"spf check failed",
	"spf validation",
	"spf authentication fail",
	"failed spf",
	"fails to pass spf",
	"spf fail",
	"spf: fail",
	"spf=fail",
	"spf record with a hard fail",
	"dkim check failed",
	"dkim validation",
	"dkim signature",
	"dkim=fail",
	"failed dkim",
	"dmarc policy",
	"dmarc check",
	"dmarc validation",
	"dmarc=fail",
	"due to dmarc",
	"per dmarc",
	"dmarc reject",
	"fails to pass authentication checks",
	"fail authentication checks",
	"failed authentication checks",
	"not pass authentication checks",
	"sender authentication failed",
	NULL,
};

static const char *const bounce_words_blocked[] = {
	"blocked using ",
	"blocked - see http",
	"refused - see http",
	"blacklisted by",
	"is listed on the",
	"listed at spamhaus",
	"spamhaus.org",
	"spamcop.net/bl",
	"barracudacentral",
	"abuseat.org",
	"sorbs.net",
	"dnsbl",
	" rbl ",
	"block list",
	"blocklist",
	"black list",
	"client host * blocked",
	"client host rejected: cannot find your hostname",
	"client host rejected: may not be mail exchanger",
	"client host rejected: was not authenticated",
	"client host rejected: abus",
	"cannot find your hostname",
	"cannot resolve your address",
	"reverse dns",
	"reverse lookup",
	"ptr record",
	"ptr-record",
	"no ptr ",
	"rdns",
	"hostname lookup failed",
	"ip name lookup failed",
	"dynamic ip",
	"dynamic/zombied",
	"dial-up",
	"dialup",
	"residential ip",
	"mismatches client ip",
	"not allowed to send mail from",
	"sender ip address rejected",
	"sender ip reverse lookup",
	"bad sender ip",
	"banned sending ip",
	"your ip address",
	"from your ip",
	"access from ip address",
	"ip address * blocked",
	"ip * is blocked",
	"connections not accepted from",
	"connection refused by",
	"connection dropped",
	"connection reset by peer",
	"refused to talk to me",
	"not currently accepting mail from your ip",
	"poor reputation",
	"bad reputation",
	"low reputation",
	"reputation of the sending",
	"ip/domain reputation",
	"ip reputation",
	"helo command rejected",
	"rejecting open proxy",
	"go away",
	"mail server at * is blocked",
	"mail from * refused",
	"rejected based on blacklist",
	"was blocked by ",
	"please use the smtp server of your isp",
	"smtp error from remote mail server after initial connection",
	"too many spams from your ip",
	"have been sent from the following ip",
	"esmtp not accepting connections",
	"service not available, closing transmission channel",
	"host network not allowed",
	"extreme bad ip profile",
	"is in a black list",
	"your network is temporary blacklisted",
	"confirm this mail server",
	"your server requires confirmation",
	"temporarily deferred due to user complaints",
	"service refused, please try later",
	"unresolvable relay host name",
	NULL,
};

static const char *const bounce_words_contenterror[] = {
	"improper use of 8-bit data",
	"8-bit data in message header",
	"invalid mime",
	"malformed mime",
	"mime complexity",
	"improperly-formatted",
	"unnecessary base64",
	"header size exceeds",
	"recipient list, exceeds",
	"too many \"received\" headers",
	"too many received: headers",
	"message is malformed",
	"mail message is malformed",
	"bare lf",
	"bare linefeed",
	NULL,
};

static const char *const bounce_words_exceedlimit[] = {
	"message too large",
	"message header size exceeds",
	"exceeds size limit",
	NULL,
};

static const char *const bounce_words_expired[] = {
	"connection timed out",
	"message timed out",
	"delivery time expired",
	"message expired",
	"expired after sitting in queue",
	"in the queue too long",
	"too long in the queue",
	"queue too long",
	"retry timeout exceeded",
	"retry time not reached",
	"failing for a long time",
	"have been failing",
	"has been delayed",
	"delivery attempts will continue",
	"will be retried",
	"giving up on",
	"gave up on",
	"could not be delivered for more than",
	"could not be delivered within",
	"after multiple retries",
	"within the allowed queue period",
	"not been collected after",
	"server did not respond",
	"did not accept our requests to connect",
	"could not find a gateway for",
	"failed to deliver to domain ",
	NULL,
};

static const char *const bounce_words_filtered[] = {
	"only accepting mail from specific",
	"bounced address",
	"new mail is not currently being accepted for this mailbox",
	"has restricted sms e-mail",
	"is not accepting any mail",
	"rejected due to user rules",
	"not found recipient account",
	"refused due to recipient preferences",
	"resolver.rst.notauthorized",
	"this account is protected by",
	"user not found",
	"user reject",
	"refuse to receive mail",
	"blocked by the recipient",
	"recipient has blocked",
	NULL,
};

static const char *const bounce_words_hasmoved[] = {
	" has been replaced by ",
	NULL,
};

static const char *const bounce_words_hostunknown[] = {
	"domain does not exist",
	"domain is not reachable",
	"domain must exist",
	"host or domain name not found",
	"host unknown",
	"unknown host",
	"host unreachable",
	"domain mentioned in email address is unknown",
	"name or service not known",
	"no such domain",
	"unknown domain name",
	"the account or domain may not exist",
	"unroutable address",
	"unrouteable address",
	"553 * does not exist",
	"all host address lookups failed permanently",
	"mx records point to non-existent hosts",
	"couldn't find any host named",
	"could not find any host named",
	"weren't able to find the recipient domain",
	NULL,
};

static const char *const bounce_words_mailboxfull[] = {
	"mailbox full",
	"mailbox is full",
	"mailbox is over quota",
	"mailbox over quota",
	"mailbox quota",
	"mailbox size limit",
	"mailbox has exceeded",
	"mailbox exceeded",
	"mailbox would exceed",
	"mailfolder is full",
	"maildir over quota",
	"maildir delivery failed: userdisk quota",
	"maildir delivery failed: domaindisk quota",
	"full mailbox",
	"over quota",
	"over the quota",
	"over the allowed quota",
	"overquota",
	"quota exceeded",
	"quota exceed",
	"quota violation",
	"exceeding their quota",
	"exceeding its mailbox quota",
	"exceeded its quota",
	"exceeded quota",
	"disk quota",
	"disc quota",
	"reached disk quota",
	"exceeded storage allocation",
	"not enough storage space",
	"not have enough space",
	"space has been used up",
	"too many messages on the server",
	"too much mail data",
	"mail file size exceeds",
	"receiving limits",
	"boite du destinataire pleine",
	"postfach voll",
	NULL,
};

static const char *const bounce_words_mailererror[] = {
	"^procmail: ",
	"bin/procmail",
	"bin/maildrop",
	"command failed: ",
	"command died with status",
	"command output:",
	"mailer error",
	"pipe to |/",
	"x-unix; ",
	NULL,
};

static const char *const bounce_words_mesgtoobig[] = {
	"message too big",
	"message file too big",
	"message is too big",
	"message is too large",
	"message too large for this",
	"message size exceeds",
	"message length exceeds",
	"max message size exceeded",
	"maximum inbound message size",
	"exceeds the maximum message size",
	"line limit exceeded",
	"size limit",
	"size exceeds the limit",
	"message exceeded * message size limits",
	"taille limite du message",
	NULL,
};

static const char *const bounce_words_networkerror[] = {
	"could not connect and send the mail",
	"dns records for the destination computer could not be found",
	"hop count exceeded",
	"too many hops",
	"exceeded 50 hops",
	"host is unreachable",
	"no route to host",
	"network is unreachable",
	"host name lookup failure",
	"host not found, try again",
	"mail forwarding loop",
	"forwarding loop count exceeded",
	"message looping",
	"routing loop",
	"malformed name server reply",
	"malformed or unexpected name server reply",
	"unable to resolve route",
	"unrouteable mail domain",
	"lost connection with",
	NULL,
};

static const char *const bounce_words_norelaying[] = {
	"as a relay",
	"insecure mail relay",
	"not permitted to relay",
	"requires authentication when attempting to send to a non-local",
	"not a gateway",
	"not allowed to relay",
	"not an open relay",
	"not local host",
	"relay access denied",
	"relay denied",
	"relaying denied",
	"relaying mail to ",
	"relay not permitted",
	"relaying not allowed",
	"isn't in my list of allowed rcpthost",
	"not configured to relay",
	"unable to relay",
	"we don't handle mail for",
	"we do not relay",
	"mail relay denied",
	NULL,
};

static const char *const bounce_words_notaccept[] = {
	"does not accept mail",
	"doesn't accept mail",
	"accepts no mail",
	"null mx",
	"nullmx",
	"name server: .: host not found",
	"no mx record found for domain=",
	"no route for current request",
	"indicated no smtp service",
	"no host found for existing smtp connection",
	NULL,
};

static const char *const bounce_words_policyviolation[] = {
	"an illegal attachment",
	"not accepting mail with ",
	"non-member to a members-only list",
	"closed mailing list",
	"denied by policy",
	"for policy reasons",
	"due to security policies",
	"header are not accepted",
	"header error",
	"local policy violation",
	"due to organizational settings",
	"organization policy",
	"message given low priority",
	"due to local policy",
	"messages with multiple addresses",
	"multiple addresses in from",
	"protocol violation",
	"not subscribed to this group",
	"content presents a potential",
	"containing images or other attachments",
	"allowable number of posts",
	"policy that prohibited",
	"violates our policy",
	"policy violation",
	NULL,
};

static const char *const bounce_words_rejected[] = {
	"access denied (in reply to mail from command)",
	"access denied (sender blacklisted)",
	"address rejected",
	"administrative prohibition",
	"batv ",
	"backscatter protection",
	"sender's list of senders to accept mail from",
	"isn't on the recipient's list of senders",
	"bogus mail from",
	"without a valid sender domain",
	"denied [bouncedeny]",
	"valid-address-filter",
	"delivery not authorized, message refused",
	"does not exist e2110",
	"domain of sender address ",
	"senderfilterconfig",
	"emetteur invalide",
	"empty envelope senders not allowed",
	"null sender is not allowed",
	"no third-party dsns",
	"from: domain is invalid",
	"fully qualified email address required",
	"invalid domain, see <url:",
	"invalid sender",
	"not a registered gateway user",
	"mail from not owned by user",
	"email address is not verified",
	"mx records for ",
	"recipient addresses rejected : access denied",
	"returned mail not accepted here",
	"recursive cname records",
	"rule imposed mailbox access for",
	"sender address has been blacklisted",
	"sender email address rejected",
	"sender is in my black list",
	"sender is spammer",
	"sender not pre-approved",
	"sender rejected",
	"sender domain is empty",
	"sender verify failed",
	"sender verification failed",
	"empty email address",
	"rejected by batv",
	"this server does not accept mail from",
	"unsigned dsn for",
	"unroutable sender address",
	"not allowed to post to this mailing list",
	"sending to/from an address that has been blacklisted",
	"access to submit messages to this e-mail system has been rejected",
	"mail sending denied",
	"unauthenticated email is not accepted from this domain",
	NULL,
};

/* Rejected words that speak of the recipient, not the sender. */
static const char *const bounce_words_rejected_not[] = {
	"5.1.0 address rejected",
	"recipient address rejected",
	"sender ip address rejected",
	NULL,
};

static const char *const bounce_words_securityerror[] = {
	"account not subscribed to ses",
	"authentication credentials invalid",
	"authentication failure",
	"authentication failed",
	"authentication required",
	"authentication is required",
	"authentication turned on in your email client",
	"authentification requise",
	"authentification invalide",
	"is a dead domain",
	"executable files are not allowed in compressed files",
	"recipient address rejected: access denied",
	"you don't authenticate",
	"you dont authenticate",
	"tls required but not supported",
	"tls required for rcpt domain",
	"must issue a starttls command first",
	"unauthenticated senders not allowed",
	"not authorized to perform ses:sendrawemail",
	"not authorized to send mail",
	"verification failure",
	"username and password not accepted",
	"invalid credentials for relay",
	"application-specific password required",
	NULL,
};

static const char *const bounce_words_spamdetected[] = {
	"detected your message as spam",
	"appears to be unsolicited",
	"blacklisted url in message",
	"uribl",
	"surbl",
	"block for spam",
	"no spam please",
	"by spamassassin",
	"spamassassin score",
	"att.net/blocks",
	"bulk email",
	"bulk mail",
	"unsolicited bulk e-mail",
	"content filter rejection",
	"denied due to spam list",
	"greylisted",
	"probability of spam",
	"probability of being spam",
	"mail content denied",
	"may consider spam",
	"considered as spam",
	"considered spam",
	"contains spam",
	"detected as spam",
	"message filtered",
	"looks like spam",
	"look like spam",
	"spamprofiler",
	"rejected as spam",
	"unacceptable content",
	"suspected spam",
	"email server thinks this email is spam",
	"likely unsolicited mail",
	"probable spam",
	"reject bulk.advertising",
	"rejected due to spam",
	"(spam)",
	"rejecting banned content",
	"rejecting mail content",
	"spam-like",
	"is blacklisted on",
	"sender domain listed at",
	"due to spam filter",
	"spam exceeded",
	"spam blocked",
	"spam check",
	"spam content",
	"spam detected",
	"spam email",
	"spam message",
	"spam not accepted",
	"spam refused",
	"spam rejection",
	"spam reporting address",
	"spam score",
	"identified spam",
	"identified as spam",
	"spamming not allowed",
	"too much spam",
	"classified as spam",
	"classification as bulk mail",
	"spam filtering engine",
	"looked like spam",
	"scored as spam",
	"spam points",
	"recurrent pattern detection",
	"spam message not queued",
	"dont accept spam",
	"don't accept spam",
	"using a mass mailer",
	"similar to spam",
	"uribl policy",
	"is probably spam",
	"triggered a spam block",
	"spam contents",
	"antispam checks",
	"temporarily blocked by our filter",
	NULL,
};

static const char *const bounce_words_speeding[] = {
	"please try again slower",
	"receiving mail at a rate that prevents",
	"receiving mail too quickly",
	"temporarily rate limited",
	"rate limited due to",
	"sending rate exceeded",
	"maximum sending rate",
	NULL,
};

static const char *const bounce_words_suspend[] = {
	" is currently suspended",
	" temporary locked",
	" temporarily locked",
	"boite du destinataire archivee",
	"account that you tried to reach is disabled",
	"has been suspended",
	"invalid/inactive user",
	"is a deactivated mailbox",
	"mailbox currently suspended",
	"mailbox is frozen",
	"mailbox unavailable or access denied",
	"temporarily inactive",
	"recipient suspend the service",
	"has been disabled or discontinued",
	"mailbox is disabled",
	"account is disabled",
	"account has been disabled",
	"user suspended",
	"account is locked",
	"administratively disabled",
	"administrativly disabled",
	NULL,
};

static const char *const bounce_words_systemerror[] = {
	"forwarding loop broken",
	"can't create user output file",
	"could not load drd for domain",
	"internal error reading data",
	"internal server error",
	"interrupted system call",
	"error while being processed",
	"would create a mail loop",
	"local configuration error",
	"local error in processing",
	"loop was found in the mail exchanger",
	"loops back to myself",
	"queue file write error",
	"configuration error",
	"remote server is misconfigured",
	"system config error",
	"temporary local problem",
	"timeout waiting for input",
	"transaction failed",
	"service currently unavailable",
	"temporary system problem",
	"delivery to file forbidden",
	"delivery to pipe forbidden",
	"local delivery failed",
	"bad interpreter",
	NULL,
};

static const char *const bounce_words_systemfull[] = {
	"mail system full",
	"exceeded storage allocation",
	"not enough free space",
	"insufficient system storage",
	NULL,
};

static const char *const bounce_words_toomanyconn[] = {
	"at maximum connection limit",
	"connection rate limit",
	"per-domain connection limit",
	"max emails per hour",
	"daily message quota exceeded",
	"too many connections",
	"too many concurrent",
	"too many errors from your ip",
	"too many recipients",
	"too many smtp sessions",
	"trop de connexions",
	"numerous attempts to deliver this message",
	"daily sending quota exceeded",
	"relay limit exceeded",
	NULL,
};

static const char *const bounce_words_userunknown[] = {
	"#5.1.1 bad address",
	"<*> not found",
	"<*@*>... blocked by ",
	"550 address invalid",
	"5.1.0 address rejected.",
	"does not exist at the organization",
	"invalid recipient.",
	"address does not exist",
	"address not present in directory",
	"address unknown",
	"archived recipient",
	"bad recipient",
	"bad_recipient",
	"can't accept user",
	"does not exist.",
	"destination addresses were unknown",
	"destination server rejected recipients",
	"email address does not exist",
	"email address could not be found",
	"invalid address",
	"invalid mailbox",
	"invalid recipient",
	"is not a known user",
	"is not a valid mailbox",
	"not an active address at this host",
	"mailbox * does not exist",
	"mailbox *@* unavailable",
	"mailbox does not exist",
	"mailbox invalid",
	"mailbox is inactive",
	"mailbox is unavailable",
	"mailbox not present",
	"mailbox not found",
	"mailbox unavailable",
	"nessun utente simile",
	"in name directory",
	"no account by that name",
	"no existe dicha persona",
	"no existe ese usuario",
	"no mail box available for this user",
	"no mailbox by that name",
	"no mailbox found",
	"no mailbox here by that name",
	"no matches to nameserver query",
	"no such address",
	"no such mailbox",
	"no such person",
	"no such recipient",
	"no such user",
	"account unavailable:",
	"nonexistent user",
	"non-existent user",
	"non existent user",
	"not a valid recipient",
	"not a valid user",
	"not a local address",
	"not email addresses",
	"rcpt <*> does not exist",
	"recipient address rejected. (in reply to rcpt to command)",
	"was not found in",
	"recipient address rejected: access denied",
	"recipient address rejected: invalid user",
	"recipient address rejected: invalid-recipient",
	"recipient address rejected: user * does not exist",
	"recipient address rejected: user unknown",
	"recipient address rejected: unknown user",
	"recipient does not exist",
	"recipient is not local",
	"recipient not exist",
	"recipient not found",
	"recipient not ok",
	"refuses to accept your mail",
	"recipient unknown",
	"requested action not taken: mailbox unavailable",
	"resolver.adr.recipnotfound",
	"resolver.adr.recipientnotfound",
	"user unknown ",
	"sorry, user unknown",
	"badrcptto",
	"envelope recipient has been denied",
	"isn't in my list of allowed rcpthosts",
	"account that you tried to reach does not exist",
	"following recipients was undeliverable",
	"email name is not found",
	"there is no one at this address",
	"no longer accepts mail",
	"wrong or no longer valid",
	"in my badrecipientto list",
	"not in my validrcptto list",
	"spectator does not exist",
	"doesn't have a * account",
	"doesnt have a * account",
	"unknown e-mail address",
	"unknown email address",
	"unknown local part",
	"unknown local-part",
	"unknown mailbox",
	"unknown recipient",
	"unknown user",
	"user * was not found",
	"user * does not exist",
	"user does not exist",
	"missing home directory",
	"user not active",
	"user not exist",
	"user not found",
	"user not known",
	"user unknown",
	"utilisateur inconnu",
	"invalid or unknown virtual user",
	"not listed in domino directory",
	"not listed in public name & address book",
	NULL,
};

static const char *const bounce_words_vacation[] = {
	"i am away on vacation",
	"i am away until",
	"i am out of the office",
	"i will be traveling for work on",
	NULL,
};

static const char *const bounce_words_virusdetected[] = {
	"potentially executable attachment",
	"prohibited virus",
	"used by recent viruses",
	"virus detected",
	"infected with a virus",
	"contains a virus",
	"virus found",
	NULL,
};

/*
 * Patterns corrected or added after reading examples of the shared
 * bounce corpus, each with the families of the examples
 * (bounce_learnt()). With those families held out, a correction gives
 * way to the pattern it replaced (was), if any.
 */
static const struct {
	enum bounce_reason reason;
	const char *pattern;
	const char *was;
	const char *families;
} bounce_words_learnt[] = {
	{ BOUNCE_R_USERUNKNOWN, "no valid recipients, bye",
	    "no valid recipients", "sendmail" },
	{ BOUNCE_R_AUTHFAILURE, "spf record", NULL, "exim" },
	{ BOUNCE_R_BLOCKED, "no access from mail server", NULL, "sendmail" },
};

static const char *const *const bounce_words_lists[BOUNCE_R_COUNT] = {
	[BOUNCE_R_AUTHFAILURE] = bounce_words_authfailure,
	[BOUNCE_R_BLOCKED] = bounce_words_blocked,
	[BOUNCE_R_CONTENTERROR] = bounce_words_contenterror,
	[BOUNCE_R_EXCEEDLIMIT] = bounce_words_exceedlimit,
	[BOUNCE_R_EXPIRED] = bounce_words_expired,
	[BOUNCE_R_FILTERED] = bounce_words_filtered,
	[BOUNCE_R_HASMOVED] = bounce_words_hasmoved,
	[BOUNCE_R_HOSTUNKNOWN] = bounce_words_hostunknown,
	[BOUNCE_R_MAILBOXFULL] = bounce_words_mailboxfull,
	[BOUNCE_R_MAILERERROR] = bounce_words_mailererror,
	[BOUNCE_R_MESGTOOBIG] = bounce_words_mesgtoobig,
	[BOUNCE_R_NETWORKERROR] = bounce_words_networkerror,
	[BOUNCE_R_NORELAYING] = bounce_words_norelaying,
	[BOUNCE_R_NOTACCEPT] = bounce_words_notaccept,
	[BOUNCE_R_POLICYVIOLATION] = bounce_words_policyviolation,
	[BOUNCE_R_REJECTED] = bounce_words_rejected,
	[BOUNCE_R_SECURITYERROR] = bounce_words_securityerror,
	[BOUNCE_R_SPAMDETECTED] = bounce_words_spamdetected,
	[BOUNCE_R_SPEEDING] = bounce_words_speeding,
	[BOUNCE_R_SUSPEND] = bounce_words_suspend,
	[BOUNCE_R_SYSTEMERROR] = bounce_words_systemerror,
	[BOUNCE_R_SYSTEMFULL] = bounce_words_systemfull,
	[BOUNCE_R_TOOMANYCONN] = bounce_words_toomanyconn,
	[BOUNCE_R_USERUNKNOWN] = bounce_words_userunknown,
	[BOUNCE_R_VACATION] = bounce_words_vacation,
	[BOUNCE_R_VIRUSDETECTED] = bounce_words_virusdetected,
};

/* True when pattern p, from its start, matches s from its start. */
static bool
bounce_words_match_at(const char *s, const char *p)
{
	size_t lit = strcspn(p, "*");
	const char *e;

	if (strncmp(s, p, lit) != 0)
		return false;
	s += lit;
	p += lit;
	if (*p == '\0')
		return true;
	/* '*': one word of any length, then the rest of the pattern. */
	p++;
	if (*s == '\0' || *s == ' ')
		return false;
	for (e = s + 1;; e++) {
		if (bounce_words_match_at(e, p))
			return true;
		if (*e == '\0' || *e == ' ')
			return false;
	}
}

static unsigned int
bounce_words_pair(unsigned char a, unsigned char b)
{
	return ((unsigned int)a * 31u + b) & 4095u;
}

void
bounce_words_text_init(struct bounce_words_text *t, const char *lower)
{
	const unsigned char *p = (const unsigned char *)lower;

	t->lower = lower;
	memset(t->pairs, 0, sizeof(t->pairs));
	for (; p[0] != '\0' && p[1] != '\0'; p++) {
		unsigned int h = bounce_words_pair(p[0], p[1]);

		t->pairs[h >> 3] |= (unsigned char)(1u << (h & 7));
	}
}

/* The pairs of characters at 0, 2, 4, ... 14 of a pattern's first
 * literal (as far as it goes): unless all occur in a text, the pattern
 * does not. Worked out once for a pattern tested against many texts. */
struct bounce_words_key {
	unsigned short h[8];
	unsigned char n;
};

/* False when the pattern of k cannot occur in t. */
static bool
bounce_words_key_may_match(
    const struct bounce_words_text *t, const struct bounce_words_key *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if ((t->pairs[k->h[i] >> 3] & (1u << (k->h[i] & 7))) == 0)
			return false;
	return true;
}

static void
bounce_words_key_init(struct bounce_words_key *k, const char *p)
{
	size_t i;

	k->n = 0;
	if (p[0] == '^')
		p++;
	for (i = 0; i < 2 * UTIL_ARRAY_LEN(k->h); i += 2) {
		if (p[i] == '\0' || p[i] == '*' || p[i + 1] == '\0' ||
		    p[i + 1] == '*')
			break;
		k->h[k->n++] = (unsigned short)bounce_words_pair(
		    (unsigned char)p[i], (unsigned char)p[i + 1]);
	}
}

/* False when one of the first pairs of characters of pattern p (see
 * struct bounce_words_key) does not occur in t: then p cannot occur.
 * The same test as bounce_words_key_may_match(), for patterns without
 * a key. */
static bool
bounce_words_may_match(const struct bounce_words_text *t, const char *p)
{
	struct bounce_words_key k;

	bounce_words_key_init(&k, p);
	return bounce_words_key_may_match(t, &k);
}

/*
 * The keys of the patterns of bounce_words_lists, worked out once: most
 * patterns are ruled out by their keys, and a classification asks about
 * hundreds of them. A list that would not fit has none (its patterns
 * are then keyed as they are tested).
 */
#define BOUNCE_WORDS_KEYS 1024

static pthread_once_t bounce_words_once = PTHREAD_ONCE_INIT;
static struct bounce_words_key bounce_words_keys[BOUNCE_WORDS_KEYS];
static const struct bounce_words_key *bounce_words_list_keys[BOUNCE_R_COUNT];
static struct bounce_words_key
    bounce_words_rejected_not_keys[UTIL_ARRAY_LEN(bounce_words_rejected_not)];

static void
bounce_words_index(void)
{
	size_t r, i, used = 0;

	for (r = 0; r < BOUNCE_R_COUNT; r++) {
		const char *const *w = bounce_words_lists[r];
		size_t n = 0;

		if (w == NULL)
			continue;
		while (w[n] != NULL)
			n++;
		if (n > BOUNCE_WORDS_KEYS - used)
			continue;
		for (i = 0; i < n; i++)
			bounce_words_key_init(
			    &bounce_words_keys[used + i], w[i]);
		bounce_words_list_keys[r] = &bounce_words_keys[used];
		used += n;
	}
	for (i = 0; bounce_words_rejected_not[i] != NULL; i++)
		bounce_words_key_init(&bounce_words_rejected_not_keys[i],
		    bounce_words_rejected_not[i]);
}

/* True when pattern p (see the top of the file) occurs in s. */
static bool
bounce_words_match_one(const char *s, const char *p)
{
	size_t head;
	char lit[64];

	if (p[0] == '^')
		return bounce_words_match_at(s, p + 1);
	head = strcspn(p, "*");
	if (p[head] == '\0')
		return strstr(s, p) != NULL;
	if (head == 0 || head >= sizeof(lit))
		return false;
	memcpy(lit, p, head);
	lit[head] = '\0';
	for (s = strstr(s, lit); s != NULL; s = strstr(s + 1, lit))
		if (bounce_words_match_at(s, p))
			return true;
	return false;
}

bool
bounce_words_match(enum bounce_reason reason, const struct bounce_words_text *t)
{
	const char *lower = t->lower;
	const struct bounce_words_key *k;
	const char *const *w;
	size_t i;

	if (lower == NULL || (size_t)reason >= BOUNCE_R_COUNT)
		return false;
	w = bounce_words_lists[reason];
	if (w == NULL)
		return false;
	(void)pthread_once(&bounce_words_once, bounce_words_index);
	k = bounce_words_list_keys[reason];
	if (reason == BOUNCE_R_REJECTED)
		for (i = 0; bounce_words_rejected_not[i] != NULL; i++)
			if (bounce_words_key_may_match(
				t, &bounce_words_rejected_not_keys[i]) &&
			    strstr(lower, bounce_words_rejected_not[i]) != NULL)
				return false;
	for (i = 0; w[i] != NULL; i++)
		if ((k != NULL ? bounce_words_key_may_match(t, &k[i])
			       : bounce_words_may_match(t, w[i])) &&
		    bounce_words_match_one(lower, w[i]))
			return true;
	for (i = 0; i < UTIL_ARRAY_LEN(bounce_words_learnt); i++) {
		const char *pat = bounce_words_learnt[i].pattern;

		if (bounce_words_learnt[i].reason != reason)
			continue;
		if (!bounce_learnt(bounce_words_learnt[i].families))
			pat = bounce_words_learnt[i].was;
		if (pat != NULL && bounce_words_may_match(t, pat) &&
		    bounce_words_match_one(lower, pat))
			return true;
	}
	return false;
}
