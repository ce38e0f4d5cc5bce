/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_provider: rules of the few providers whose replies say more
 * than their words or codes say elsewhere: Google (Gmail, Workspace),
 * Microsoft (Exchange Online, Outlook.com), Orange and La Poste (French
 * error numbers such as "OFR_416"), KDDI/au and NTT docomo (Japanese
 * carriers, whose "User unknown" may be a filter). A provider is known
 * by the host that refused, else by the recipient's domain; also
 * GoDaddy, Mimecast, Spectrum (Charter) and Tencent QQ, whose error
 * numbers say what their words do not.
 *
 * bounce_classify.c asks here first; BOUNCE_R_NONE lets the general
 * rules decide.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce/bounce_int.h"
#include "util.h"

/* One reply of a provider: words that must occur (lower case) and, when
 * set, the status code it comes with (a prefix when it ends in '.'). */
struct bounce_provider_reply {
	const char *status;
	const char *words;
	enum bounce_reason reason;
};

static const struct bounce_provider_reply bounce_provider_google[] = {
	{ "5.1.1", "account that you tried to reach does not exist",
	    BOUNCE_R_USERUNKNOWN },
	{ "5.1.2", "able to find the recipient domain", BOUNCE_R_USERUNKNOWN },
	{ "5.2.1", "account that you tried to reach is disabled",
	    BOUNCE_R_SUSPEND },
	{ NULL, "tried to reach is over quota", BOUNCE_R_MAILBOXFULL },
	{ NULL, "email quota exceeded", BOUNCE_R_MAILBOXFULL },
	{ NULL, "exceeded google's message size limits", BOUNCE_R_EXCEEDLIMIT },
	{ NULL, "receiving mail at a rate that prevents",
	    BOUNCE_R_TOOMANYCONN },
	{ NULL, "receiving mail too quickly", BOUNCE_R_TOOMANYCONN },
	{ NULL, "has too many recipients", BOUNCE_R_TOOMANYCONN },
	{ NULL, "relay limit exceeded", BOUNCE_R_TOOMANYCONN },
	{ NULL, "daily sending quota exceeded", BOUNCE_R_TOOMANYCONN },
	{ NULL, "unusual rate of unsolicited mail", BOUNCE_R_BLOCKED },
	{ NULL, "not authorized to send email directly to our servers",
	    BOUNCE_R_BLOCKED },
	{ NULL, "does not have a ptr record", BOUNCE_R_BLOCKED },
	{ NULL, "very low reputation of the sending ip", BOUNCE_R_BLOCKED },
	{ NULL, "ip not in whitelist for rcpt domain", BOUNCE_R_BLOCKED },
	{ NULL, "helo/ehlo argument is invalid", BOUNCE_R_BLOCKED },
	{ NULL, "fails to pass authentication checks", BOUNCE_R_AUTHFAILURE },
	{ NULL, "fails to pass spf checks", BOUNCE_R_AUTHFAILURE },
	{ NULL, "domain's dmarc policy", BOUNCE_R_AUTHFAILURE },
	{ NULL, "likely unsolicited mail", BOUNCE_R_SPAMDETECTED },
	{ NULL, "multiple addresses in from: header",
	    BOUNCE_R_POLICYVIOLATION },
	{ NULL, "has a policy that prohibited", BOUNCE_R_POLICYVIOLATION },
	{ NULL, "an illegal attachment", BOUNCE_R_POLICYVIOLATION },
	{ NULL, "content presents a potential security issue",
	    BOUNCE_R_POLICYVIOLATION },
	{ NULL, "mail relay denied", BOUNCE_R_NORELAYING },
	{ NULL, "mail sending denied", BOUNCE_R_REJECTED },
	{ NULL, "unauthenticated email is not accepted", BOUNCE_R_REJECTED },
	{ NULL, "tls required for rcpt domain", BOUNCE_R_SECURITYERROR },
	{ NULL, "username and password not accepted", BOUNCE_R_SECURITYERROR },
	{ NULL, "application-specific password required",
	    BOUNCE_R_SECURITYERROR },
	{ NULL, "mail message is malformed", BOUNCE_R_CONTENTERROR },
	{ NULL, "exceeded 50 hops", BOUNCE_R_NETWORKERROR },
	{ NULL, "timeout - closing connection", BOUNCE_R_EXPIRED },
	{ NULL, "temporary system problem", BOUNCE_R_SYSTEMERROR },
	{ NULL, "server busy", BOUNCE_R_SYSTEMERROR },
	{ NULL, "temporarily rejected message", BOUNCE_R_SYSTEMERROR },
	{ NULL, "smtp protocol violation", BOUNCE_R_SYNTAXERROR },
	{ NULL, "unrecognized command", BOUNCE_R_SYNTAXERROR },
	{ NULL, "syntax error", BOUNCE_R_SYNTAXERROR },
	{ NULL, NULL, BOUNCE_R_NONE },
};

static const struct bounce_provider_reply bounce_provider_microsoft[] = {
	{ "5.1.1", "recipnotfound", BOUNCE_R_USERUNKNOWN },
	{ "5.1.1", "user unknown", BOUNCE_R_USERUNKNOWN },
	{ "5.1.1", "bad destination mailbox address", BOUNCE_R_USERUNKNOWN },
	{ "5.1.10", "recipient not found", BOUNCE_R_USERUNKNOWN },
	{ "5.4.1", "recipient address rejected: access denied",
	    BOUNCE_R_USERUNKNOWN },
	{ "5.1.3", "invalid recipient address", BOUNCE_R_USERUNKNOWN },
	{ "5.5.0", "mailbox unavailable", BOUNCE_R_USERUNKNOWN },
	{ "5.7.504", "recipient address rejected: access denied",
	    BOUNCE_R_SUSPEND },
	{ "5.7.505", "banned recipient", BOUNCE_R_SUSPEND },
	{ "5.2.1", "mailbox cannot be accessed", BOUNCE_R_SUSPEND },
	{ "5.2.2", "mailbox full", BOUNCE_R_MAILBOXFULL },
	{ "5.2.2", "submission quota exceeded", BOUNCE_R_TOOMANYCONN },
	{ "5.2.3", "message too large for this recipient",
	    BOUNCE_R_EXCEEDLIMIT },
	{ "5.3.4", "message too big", BOUNCE_R_MESGTOOBIG },
	{ "5.3.4", "message size exceeds", BOUNCE_R_MESGTOOBIG },
	{ "5.4.1", "relay access denied", BOUNCE_R_NORELAYING },
	{ "5.7.1", "unable to relay", BOUNCE_R_NORELAYING },
	{ "5.7.64", "relay access denied", BOUNCE_R_NORELAYING },
	{ "5.7.1", "client was not authenticated", BOUNCE_R_SECURITYERROR },
	{ "5.7.57", "client was not authenticated", BOUNCE_R_SECURITYERROR },
	{ "5.7.3", "not authorized", BOUNCE_R_SECURITYERROR },
	{ "5.7.23", "sender policy framework violation", BOUNCE_R_AUTHFAILURE },
	{ "5.7.509", "does not pass dmarc verification", BOUNCE_R_AUTHFAILURE },
	{ "5.7.25", "reverse dns record", BOUNCE_R_BLOCKED },
	{ "5.7.1", "part of their network is on our block list",
	    BOUNCE_R_BLOCKED },
	{ "5.7.", "banned sending ip", BOUNCE_R_BLOCKED },
	{ "5.7.506", "bad helo", BOUNCE_R_BLOCKED },
	{ "5.7.511", "banned sender", BOUNCE_R_BLOCKED },
	{ "4.7.", "access denied, please try again later", BOUNCE_R_BLOCKED },
	{ NULL, "temporarily rate limited due to ip reputation",
	    BOUNCE_R_BLOCKED },
	{ "5.1.7", "invalid address", BOUNCE_R_REJECTED },
	{ "5.1.7", "unknown sender address", BOUNCE_R_REJECTED },
	{ "5.1.8", "bad outbound sender", BOUNCE_R_REJECTED },
	{ "5.7.1", "delivery not authorized", BOUNCE_R_REJECTED },
	{ "5.7.", "sender was not authenticated", BOUNCE_R_REJECTED },
	{ "5.7.124", "not in allowed-senders list", BOUNCE_R_REJECTED },
	{ "5.7.", "spam abuse detected", BOUNCE_R_REJECTED },
	{ "5.2.1", "content filter agent quarantined", BOUNCE_R_SPAMDETECTED },
	{ "5.5.3", "too many recipients", BOUNCE_R_TOOMANYCONN },
	{ "4.5.3", "too many recipients", BOUNCE_R_TOOMANYCONN },
	{ "5.2.12", "receive limit", BOUNCE_R_TOOMANYCONN },
	{ "5.7.508", "exceeded permitted limits", BOUNCE_R_TOOMANYCONN },
	{ "5.7.", "tenant has exceeded threshold", BOUNCE_R_TOOMANYCONN },
	{ "4.4.7", "message expired", BOUNCE_R_EXPIRED },
	{ "4.4.7", "message delayed", BOUNCE_R_EXPIRED },
	{ "4.4.1", "connection timed out", BOUNCE_R_EXPIRED },
	{ "5.4.6", "hop count exceeded", BOUNCE_R_NETWORKERROR },
	{ "5.4.", "routing loop detected", BOUNCE_R_NETWORKERROR },
	{ "5.4.4", "nonexistent domain", BOUNCE_R_NETWORKERROR },
	{ "4.3.1", "insufficient system resources", BOUNCE_R_SYSTEMFULL },
	{ "5.3.5", "system incorrectly configured", BOUNCE_R_SYSTEMERROR },
	{ "5.2.4", "mailing list expansion problem", BOUNCE_R_SYSTEMERROR },
	{ "4.3.2", "service not available", BOUNCE_R_SYSTEMERROR },
	{ "5.6.11", "invalid characters", BOUNCE_R_CONTENTERROR },
	{ "5.5.6", "invalid message content", BOUNCE_R_CONTENTERROR },
	{ NULL, NULL, BOUNCE_R_NONE },
};

static const struct bounce_provider_reply bounce_provider_kddi[] = {
	/* "550 : User unknown" names nobody: au's filter; with the
	 * address ("<a@b>: User unknown") it is the address. */
	{ NULL, "550 : user unknown", BOUNCE_R_FILTERED },
	{ NULL, ">: user unknown", BOUNCE_R_USERUNKNOWN },
	{ NULL, NULL, BOUNCE_R_NONE },
};

static const struct bounce_provider_reply bounce_provider_docomo[] = {
	{ "5.1.1", "", BOUNCE_R_USERUNKNOWN },
	{ "5.2.0", "", BOUNCE_R_FILTERED },
	{ NULL, "552 too much mail data", BOUNCE_R_MAILBOXFULL },
	{ NULL, "552 too many recipients", BOUNCE_R_TOOMANYCONN },
	{ NULL, "503 bad sequence of commands", BOUNCE_R_SYNTAXERROR },
	{ NULL, "504 command parameter not implemented", BOUNCE_R_SYNTAXERROR },
	{ NULL, NULL, BOUNCE_R_NONE },
};

static const struct bounce_provider_reply bounce_provider_mimecast[] = {
	{ NULL, "sender address blocked", BOUNCE_R_BLOCKED },
	{ NULL, "ip temporarily blacklisted", BOUNCE_R_BLOCKED },
	{ NULL, "local ct ip reputation", BOUNCE_R_BLOCKED },
	{ NULL, "sender invalid - envelope rejected", BOUNCE_R_AUTHFAILURE },
	{ NULL, "maximum email size exceeded", BOUNCE_R_MESGTOOBIG },
	{ NULL, "mail loop detected", BOUNCE_R_NETWORKERROR },
	{ NULL, "open relay not allowed", BOUNCE_R_NORELAYING },
	{ NULL, "account inbounds disabled", BOUNCE_R_NOTACCEPT },
	{ NULL, "anti-spoofing policy", BOUNCE_R_POLICYVIOLATION },
	{ NULL, "content examination policy", BOUNCE_R_POLICYVIOLATION },
	{ NULL, "host network not allowed", BOUNCE_R_POLICYVIOLATION },
	{ NULL, "envelope blocked", BOUNCE_R_REJECTED },
	{ NULL, "blocked senders", BOUNCE_R_REJECTED },
	{ NULL, "block policy for envelope from", BOUNCE_R_REJECTED },
	{ NULL, "this route requires", BOUNCE_R_SECURITYERROR },
	{ NULL, "incorrect authentication data", BOUNCE_R_SECURITYERROR },
	{ NULL, "too many recipients", BOUNCE_R_TOOMANYCONN },
	{ NULL, "outbound thread limit", BOUNCE_R_TOOMANYCONN },
	{ NULL, "invalid recipient", BOUNCE_R_USERUNKNOWN },
	{ NULL, "user unknown", BOUNCE_R_USERUNKNOWN },
	{ NULL, NULL, BOUNCE_R_NONE },
};

static const struct bounce_provider_reply bounce_provider_tencent[] = {
	{ NULL, "dmarc check failed", BOUNCE_R_AUTHFAILURE },
	{ NULL, "spf check failed", BOUNCE_R_AUTHFAILURE },
	{ NULL, "suspected spam ip", BOUNCE_R_BLOCKED },
	{ NULL, "mail is rejected by recipients", BOUNCE_R_FILTERED },
	{ NULL, "message too large", BOUNCE_R_MESGTOOBIG },
	{ NULL, "mail content denied", BOUNCE_R_SPAMDETECTED },
	{ NULL, "spam is embedded in the email", BOUNCE_R_SPAMDETECTED },
	{ NULL, "suspected spam", BOUNCE_R_SPAMDETECTED },
	{ NULL, "bad address syntax", BOUNCE_R_SYNTAXERROR },
	{ NULL, "frequency limited", BOUNCE_R_TOOMANYCONN },
	{ NULL, "connection denied", BOUNCE_R_TOOMANYCONN },
	{ NULL, "mailbox unavailable or access denied", BOUNCE_R_TOOMANYCONN },
	{ NULL, "mailbox not found", BOUNCE_R_USERUNKNOWN },
	{ NULL, NULL, BOUNCE_R_NONE },
};

static bool
bounce_provider_status_is(const char *want, const char *status)
{
	size_t n;

	if (want == NULL)
		return true;
	if (status == NULL)
		return false;
	n = strlen(want);
	if (want[n - 1] == '.')
		return strncmp(status, want, n) == 0;
	return strcmp(status, want) == 0;
}

static enum bounce_reason
bounce_provider_replies(const struct bounce_provider_reply *t,
    const char *status, const char *lower)
{
	size_t i;

	for (i = 0; t[i].words != NULL; i++)
		if (bounce_provider_status_is(t[i].status, status) &&
		    strstr(lower, t[i].words) != NULL)
			return t[i].reason;
	return BOUNCE_R_NONE;
}

static const struct bounce_provider_reply bounce_provider_cox[] = {
	{ NULL, "aup#cxbl", BOUNCE_R_BLOCKED },
	{ NULL, "aup#cdrbl", BOUNCE_R_BLOCKED },
	{ NULL, "aup#cxdns", BOUNCE_R_BLOCKED },
	{ NULL, "aup#ipbl", BOUNCE_R_BLOCKED },
	{ NULL, "aup#cxthrt", BOUNCE_R_SECURITYERROR },
	{ NULL, "aup#cxmj", BOUNCE_R_SECURITYERROR },
	{ NULL, "aup#cxsndr", BOUNCE_R_REJECTED },
	{ NULL, "aup#cxsmtp", BOUNCE_R_REJECTED },
	{ NULL, "aup#cxcnct", BOUNCE_R_TOOMANYCONN },
	{ NULL, "aup#cxmxrt", BOUNCE_R_TOOMANYCONN },
	{ NULL, "aup#urlbl", BOUNCE_R_SPAMDETECTED },
	{ NULL, "rejected - no rdns", BOUNCE_R_BLOCKED },
	{ NULL, "too many bad commands from", BOUNCE_R_BLOCKED },
	{ NULL, "dns check failure - try again later", BOUNCE_R_BLOCKED },
	{ NULL, "too many invalid recipients", BOUNCE_R_BLOCKED },
	{ NULL, "esmtp server temporarily not available", BOUNCE_R_NOTACCEPT },
	{ NULL, "esmtp no data before greeting", BOUNCE_R_POLICYVIOLATION },
	{ NULL, "attachment extension is forbidden", BOUNCE_R_POLICYVIOLATION },
	{ NULL, "sender rejected", BOUNCE_R_REJECTED },
	{ NULL, "too many sessions from", BOUNCE_R_TOOMANYCONN },
	{ NULL, "requested action aborted: try again later",
	    BOUNCE_R_TOOMANYCONN },
	{ NULL, "message threshold exceeded", BOUNCE_R_TOOMANYCONN },
	{ NULL, "recipient rejected", BOUNCE_R_USERUNKNOWN },
	{ NULL, NULL, BOUNCE_R_NONE },
};

/* i.ua numbers its refusals in a link: ".i.ua/err/2". */
static enum bounce_reason
bounce_provider_iua(const char *lower)
{
	static const enum bounce_reason codes[] = {
		BOUNCE_R_NONE,
		BOUNCE_R_NORELAYING,
		BOUNCE_R_USERUNKNOWN,
		BOUNCE_R_SUSPEND,
		BOUNCE_R_MAILBOXFULL,
		BOUNCE_R_TOOMANYCONN,
		BOUNCE_R_NORELAYING,
		BOUNCE_R_BLOCKED,
		BOUNCE_R_REJECTED,
		BOUNCE_R_BLOCKED,
		BOUNCE_R_FILTERED,
	};
	const char *p = strstr(lower, ".i.ua/err/");
	int n = 0;

	if (p == NULL)
		return BOUNCE_R_NONE;
	for (p += 10; isdigit((unsigned char)*p) && n < 100; p++)
		n = n * 10 + (*p - '0');
	return n > 0 && (size_t)n < UTIL_ARRAY_LEN(codes) ? codes[n]
							  : BOUNCE_R_NONE;
}

/* GoDaddy's relays end a refusal with a code: " IB607". */
static enum bounce_reason
bounce_provider_godaddy(const char *lower)
{
	static const struct {
		int code;
		enum bounce_reason reason;
	} codes[] = {
		{ 7, BOUNCE_R_TOOMANYCONN },
		{ 101, BOUNCE_R_EXPIRED },
		{ 103, BOUNCE_R_BLOCKED },
		{ 104, BOUNCE_R_BLOCKED },
		{ 105, BOUNCE_R_BLOCKED },
		{ 106, BOUNCE_R_BLOCKED },
		{ 108, BOUNCE_R_BLOCKED },
		{ 110, BOUNCE_R_BLOCKED },
		{ 111, BOUNCE_R_BLOCKED },
		{ 112, BOUNCE_R_BLOCKED },
		{ 113, BOUNCE_R_BLOCKED },
		{ 212, BOUNCE_R_SPAMDETECTED },
		{ 401, BOUNCE_R_SECURITYERROR },
		{ 501, BOUNCE_R_REJECTED },
		{ 502, BOUNCE_R_REJECTED },
		{ 504, BOUNCE_R_TOOMANYCONN },
		{ 506, BOUNCE_R_REJECTED },
		{ 508, BOUNCE_R_REJECTED },
		{ 510, BOUNCE_R_TOOMANYCONN },
		{ 607, BOUNCE_R_TOOMANYCONN },
		{ 705, BOUNCE_R_VIRUSDETECTED },
	};
	static const struct bounce_provider_reply words[] = {
		{ NULL, "spamhaus.org/query/bl?ip=", BOUNCE_R_BLOCKED },
		{ NULL, "554 rbl reject.", BOUNCE_R_BLOCKED },
		{ NULL, "delivery timeout", BOUNCE_R_EXPIRED },
		{ NULL, "account disabled", BOUNCE_R_SUSPEND },
		{ NULL, "account storage limit", BOUNCE_R_MAILBOXFULL },
		{ NULL, "account does not exist", BOUNCE_R_USERUNKNOWN },
		{ NULL, "550 recipient not found.", BOUNCE_R_USERUNKNOWN },
		{ NULL, NULL, BOUNCE_R_NONE },
	};
	const char *p;
	size_t i;

	for (p = strstr(lower, " ib"); p != NULL; p = strstr(p + 1, " ib")) {
		int code;

		if (strspn(p + 3, "0123456789") != 3 ||
		    isalnum((unsigned char)p[6]))
			continue;
		code = (p[3] - '0') * 100 + (p[4] - '0') * 10 + (p[5] - '0');
		for (i = 0; i < UTIL_ARRAY_LEN(codes); i++)
			if (codes[i].code == code)
				return codes[i].reason;
		return BOUNCE_R_NONE;
	}
	return bounce_provider_replies(words, NULL, lower);
}

/* Spectrum (Charter) numbers its refusals "AUP#In-1310". */
static enum bounce_reason
bounce_provider_spectrum(const char *lower)
{
	static const struct {
		int from, to;
		enum bounce_reason reason;
	} ranges[] = {
		{ 1000, 1000, BOUNCE_R_BLOCKED },
		{ 1010, 1080, BOUNCE_R_REJECTED },
		{ 1090, 1090, BOUNCE_R_SYSTEMERROR },
		{ 1100, 1150, BOUNCE_R_BLOCKED },
		{ 1160, 1190, BOUNCE_R_POLICYVIOLATION },
		{ 1200, 1250, BOUNCE_R_BLOCKED },
		{ 1260, 1260, BOUNCE_R_NETWORKERROR },
		{ 1300, 1490, BOUNCE_R_TOOMANYCONN },
		{ 1500, 1520, BOUNCE_R_REJECTED },
		{ 1530, 1530, BOUNCE_R_MESGTOOBIG },
		{ 1540, 1550, BOUNCE_R_TOOMANYCONN },
		{ 1560, 1560, BOUNCE_R_POLICYVIOLATION },
	};
	const char *p = strstr(lower, "aup#");
	int code = 0;
	size_t i;

	if (p == NULL)
		return BOUNCE_R_NONE;
	p += 4;
	while (isalpha((unsigned char)*p) || *p == '-')
		p++;
	if (strspn(p, "0123456789") != 4)
		return BOUNCE_R_NONE;
	for (i = 0; i < 4; i++)
		code = code * 10 + (p[i] - '0');
	for (i = 0; i < UTIL_ARRAY_LEN(ranges); i++)
		if (code >= ranges[i].from && code <= ranges[i].to)
			return ranges[i].reason;
	return BOUNCE_R_NONE;
}

/* Orange, Wanadoo and La Poste end their replies with an error number
 * ("OFR_416", "LPN007_510", "OUK_513"): its last three digits say why. */
static enum bounce_reason
bounce_provider_france(const char *lower)
{
	static const struct {
		int code;
		enum bounce_reason reason;
	} codes[] = {
		{ 101, BOUNCE_R_BLOCKED },
		{ 102, BOUNCE_R_BLOCKED },
		{ 103, BOUNCE_R_BLOCKED },
		{ 104, BOUNCE_R_TOOMANYCONN },
		{ 305, BOUNCE_R_SECURITYERROR },
		{ 401, BOUNCE_R_BLOCKED },
		{ 402, BOUNCE_R_SECURITYERROR },
		{ 403, BOUNCE_R_REJECTED },
		{ 405, BOUNCE_R_REJECTED },
		{ 415, BOUNCE_R_REJECTED },
		{ 416, BOUNCE_R_USERUNKNOWN },
		{ 417, BOUNCE_R_MAILBOXFULL },
		{ 418, BOUNCE_R_USERUNKNOWN },
		{ 420, BOUNCE_R_SUSPEND },
		{ 421, BOUNCE_R_REJECTED },
		{ 426, BOUNCE_R_SUSPEND },
		{ 505, BOUNCE_R_SYSTEMERROR },
		{ 506, BOUNCE_R_SPAMDETECTED },
		{ 510, BOUNCE_R_BLOCKED },
		{ 514, BOUNCE_R_MESGTOOBIG },
		{ 517, BOUNCE_R_POLICYVIOLATION },
		{ 630, BOUNCE_R_POLICYVIOLATION },
		{ 999, BOUNCE_R_BLOCKED },
	};
	static const char *const tags[] = { "lpnaaa", "lpn", "ofr", "ouk" };
	size_t i, t;

	for (t = 0; t < UTIL_ARRAY_LEN(tags); t++) {
		const char *p;

		for (p = strstr(lower, tags[t]); p != NULL;
		     p = strstr(p + 1, tags[t])) {
			const char *q = p + strlen(tags[t]);
			size_t digits;
			int code;

			if (p > lower && isalnum((unsigned char)p[-1]))
				continue;
			if (*q == '_')
				q++;
			digits = strspn(q, "0123456789");
			if (digits == 3 && (q[3] == '_' || q[3] == '-')) {
				q += 4;
				digits = strspn(q, "0123456789");
			}
			if (digits != 3)
				continue;
			code = (q[0] - '0') * 100 + (q[1] - '0') * 10 +
			    (q[2] - '0');
			for (i = 0; i < UTIL_ARRAY_LEN(codes); i++)
				if (codes[i].code == code)
					return codes[i].reason;
			return BOUNCE_R_UNDEFINED;
		}
	}
	return BOUNCE_R_NONE;
}

/* True when host (lower case or not) is name or ends in ".name". */
static bool
bounce_provider_host_is(const char *host, const char *name)
{
	size_t h, n = strlen(name);

	if (host == NULL)
		return false;
	h = strlen(host);
	while (h > 0 &&
	    (host[h - 1] == '.' || host[h - 1] == ']' || host[h - 1] == ' '))
		h--;
	if (h < n || strncasecmp(host + h - n, name, n) != 0)
		return false;
	return h == n || host[h - n - 1] == '.' || host[h - n - 1] == ' ' ||
	    host[h - n - 1] == ';' || host[h - n - 1] == '[';
}

enum bounce_provider {
	BOUNCE_PROVIDER_NONE,
	BOUNCE_PROVIDER_GOOGLE,
	BOUNCE_PROVIDER_MICROSOFT,
	BOUNCE_PROVIDER_FRANCE,
	BOUNCE_PROVIDER_KDDI,
	BOUNCE_PROVIDER_DOCOMO,
	BOUNCE_PROVIDER_GODADDY,
	BOUNCE_PROVIDER_MIMECAST,
	BOUNCE_PROVIDER_SPECTRUM,
	BOUNCE_PROVIDER_TENCENT,
	BOUNCE_PROVIDER_COX,
	BOUNCE_PROVIDER_IUA
};

static enum bounce_provider
bounce_provider_of(const char *host)
{
	static const struct {
		const char *name;
		enum bounce_provider p;
	} hosts[] = {
		{ "aspmx.l.google.com", BOUNCE_PROVIDER_GOOGLE },
		{ "gmail-smtp-in.l.google.com", BOUNCE_PROVIDER_GOOGLE },
		{ "prod.outlook.com", BOUNCE_PROVIDER_MICROSOFT },
		{ "protection.outlook.com", BOUNCE_PROVIDER_MICROSOFT },
		{ "orange.fr", BOUNCE_PROVIDER_FRANCE },
		{ "wanadoo.fr", BOUNCE_PROVIDER_FRANCE },
		{ "laposte.net", BOUNCE_PROVIDER_FRANCE },
		{ "ezweb.ne.jp", BOUNCE_PROVIDER_KDDI },
		{ "au.com", BOUNCE_PROVIDER_KDDI },
		{ "mfsmax.docomo.ne.jp", BOUNCE_PROVIDER_DOCOMO },
		{ "smtp.secureserver.net", BOUNCE_PROVIDER_GODADDY },
		{ "mailstore1.secureserver.net", BOUNCE_PROVIDER_GODADDY },
		{ "mimecast.com", BOUNCE_PROVIDER_MIMECAST },
		{ "charter.net", BOUNCE_PROVIDER_SPECTRUM },
		{ "cox.net", BOUNCE_PROVIDER_COX },
		{ "email.ua", BOUNCE_PROVIDER_IUA },
	};
	size_t i;

	for (i = 0; host != NULL && i < UTIL_ARRAY_LEN(hosts); i++)
		if (bounce_provider_host_is(host, hosts[i].name))
			return hosts[i].p;
	/* Tencent's mx1.qq.com, mx3.qq.com, ... */
	if (host != NULL && strncasecmp(host, "mx", 2) == 0 &&
	    isdigit((unsigned char)host[2]) &&
	    strcasecmp(host + 2 + strspn(host + 2, "0123456789"), ".qq.com") ==
		0)
		return BOUNCE_PROVIDER_TENCENT;
	return BOUNCE_PROVIDER_NONE;
}

enum bounce_reason
bounce_provider_reason(
    const struct bounce_facts *f, const char *status, const char *lower)
{
	enum bounce_provider p = bounce_provider_of(f->remote_host);
	const char *at;

	if (p == BOUNCE_PROVIDER_NONE && f->recipient != NULL) {
		at = strrchr(f->recipient, '@');
		if (at != NULL)
			p = bounce_provider_of(at + 1);
	}
	switch (p) {
	case BOUNCE_PROVIDER_GOOGLE:
		if (status == NULL || f->reply_code == 0 || lower[0] == '\0')
			return BOUNCE_R_NONE;
		return bounce_provider_replies(
		    bounce_provider_google, status, lower);
	case BOUNCE_PROVIDER_MICROSOFT:
		if (status == NULL || lower[0] == '\0')
			return BOUNCE_R_NONE;
		return bounce_provider_replies(
		    bounce_provider_microsoft, status, lower);
	case BOUNCE_PROVIDER_FRANCE:
		return bounce_provider_france(lower);
	case BOUNCE_PROVIDER_KDDI:
		return bounce_provider_replies(
		    bounce_provider_kddi, status, lower);
	case BOUNCE_PROVIDER_DOCOMO: {
		enum bounce_reason r = bounce_provider_replies(
		    bounce_provider_docomo, status, lower);

		if (r == BOUNCE_R_NONE && status != NULL &&
		    strcmp(status, "5.0.0") == 0) {
			if (f->command == BOUNCE_CMD_RCPT)
				r = BOUNCE_R_USERUNKNOWN;
			else if (f->command == BOUNCE_CMD_DATA)
				r = BOUNCE_R_REJECTED;
		}
		return r;
	}
	case BOUNCE_PROVIDER_GODADDY:
		return bounce_provider_godaddy(lower);
	case BOUNCE_PROVIDER_MIMECAST:
		if (f->reply_code == 0 || lower[0] == '\0')
			return BOUNCE_R_NONE;
		return bounce_provider_replies(
		    bounce_provider_mimecast, NULL, lower);
	case BOUNCE_PROVIDER_SPECTRUM:
		return bounce_provider_spectrum(lower);
	case BOUNCE_PROVIDER_TENCENT:
		return bounce_provider_replies(
		    bounce_provider_tencent, NULL, lower);
	case BOUNCE_PROVIDER_COX:
		return bounce_provider_replies(
		    bounce_provider_cox, NULL, lower);
	case BOUNCE_PROVIDER_IUA:
		return bounce_provider_iua(lower);
	case BOUNCE_PROVIDER_NONE:
		break;
	}
	return BOUNCE_R_NONE;
}
