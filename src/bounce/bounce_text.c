/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_text: the prose side of bounces. Many MTAs (qmail, Exim, older
 * Sendmail and Postfix, Exchange, webmail providers) send no
 * message/delivery-status part, only a text that names the failed
 * addresses and quotes the remote server. This file finds addresses in
 * such text, tells bounces and auto-replies from other mail by their
 * headers and wording, and cuts out the words around each recipient as
 * its diagnostic.
 *
 * It works on struct bounce_msg (already decoded, LF line ends); it knows
 * no MIME and does not classify reasons.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce/bounce_int.h"
#include "buf.h"
#include "util.h"

#define BOUNCE_TEXT_MAX_LINES   20000
#define BOUNCE_TEXT_BLOCK_LINES 16

/* ----------------------------------------------------------- addresses */

static bool
bounce_text_is_local(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-.", c));
}

static bool
bounce_text_is_domain(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.';
}

bool
bounce_text_addr_at(
    const char *s, const char *at, const char **start, const char **end)
{
	const char *l = at, *r = at + 1;

	if (at > s && at[-1] == '"') {
		/* A quoted local part: "neko....nyaan"@example.org */
		l = at - 1;
		while (l > s && at - l < 130 && l[-1] != '"' && l[-1] != '\n')
			l--;
		if (l == s || l[-1] != '"' || l == at - 1)
			return false;
		l--;
	} else {
		while (l > s && at - l < 130 &&
		    bounce_text_is_local((unsigned char)l[-1]))
			l--;
		while (l < at && (*l == '.' || *l == '\''))
			l++;
		if (l == at)
			return false;
	}
	if (!isalnum((unsigned char)*r))
		return false;
	while (bounce_text_is_domain((unsigned char)*r) && r - at < 256)
		r++;
	while (r > at + 1 && (r[-1] == '.' || r[-1] == '-'))
		r--;
	*start = l;
	*end = r;
	return true;
}

const char *
bounce_text_next_addr(const char *s, const char *p, size_t *len)
{
	const char *at;

	while ((at = strchr(p, '@')) != NULL) {
		const char *start, *end;

		if (bounce_text_addr_at(s, at, &start, &end) && start >= p) {
			*len = (size_t)(end - start);
			return start;
		}
		p = at + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------- helpers */

static bool
bounce_text_has_any(const char *s, const char *const *needles, size_t n)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (bounce_ci_find(s, needles[i]) != NULL)
			return true;
	return false;
}

static bool
bounce_text_starts_any(const char *s, const char *const *needles, size_t n)
{
	size_t i;

	if (s == NULL)
		return false;
	/* The first byte, compared before the library is asked. */
	for (i = 0; i < n; i++)
		if (tolower((unsigned char)s[0]) ==
			tolower((unsigned char)needles[i][0]) &&
		    strncasecmp(s, needles[i], strlen(needles[i])) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------ original cut */

/* Phrases with their lengths, for the many lines compared with them. */
struct bounce_text_phrase {
	const char *s;
	size_t n;
};

#define BOUNCE_TEXT_PHRASE(s)    \
	{                        \
		s, sizeof(s) - 1 \
	}

static const struct bounce_text_phrase bounce_text_cut_plain[] = {
	BOUNCE_TEXT_PHRASE("this is a copy of the message"),
	BOUNCE_TEXT_PHRASE("enclosed is a copy of the message"),
	BOUNCE_TEXT_PHRASE("below this line is a copy of the message"),
	BOUNCE_TEXT_PHRASE("original message follows"),
	BOUNCE_TEXT_PHRASE("message headers follow"),
	BOUNCE_TEXT_PHRASE("unsent message below"),
	BOUNCE_TEXT_PHRASE("the original message headers"),
	BOUNCE_TEXT_PHRASE("original message headers"),
	BOUNCE_TEXT_PHRASE("headers of the original message"),
	BOUNCE_TEXT_PHRASE("the header of the original message"),
	BOUNCE_TEXT_PHRASE("here is a copy of the first part of the message"),
	BOUNCE_TEXT_PHRASE("content of the original message"),
};

/* True when c, in either case, begins one of bounce_text_cut_plain. */
static bool
bounce_text_cut_initial(char c)
{
	switch (c | 0x20) {
	case 'b':
	case 'c':
	case 'e':
	case 'h':
	case 'm':
	case 'o':
	case 't':
	case 'u':
		return true;
	default:
		return false;
	}
}

static const char *const bounce_text_cut_ruled[] = {
	"original message",
	"copy of the message",
	"message follows",
	"headers follow",
	"header follows",
	"header of the original",
	"unsent message",
	"returned message",
};

const char *
bounce_text_orig_start(const char *text)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		const char *q = p;
		bool ruled = false;
		size_t n, i;
		char line[160];

		while (*q == ' ' || *q == '\t' || *q == '-' || *q == '=' ||
		    *q == '*' || *q == '_' || *q == '>') {
			if (*q == '-' || *q == '=' || *q == '*' || *q == '_')
				ruled = true;
			q++;
		}
		n = eol != NULL ? (size_t)(eol - q) : strlen(q);
		/* Only lines that could begin a phrase are looked at. */
		if (!ruled && (n < 20 || !bounce_text_cut_initial(*q))) {
			p = eol != NULL ? eol + 1 : NULL;
			continue;
		}
		bounce_lower(q, n, line, sizeof(line));
		for (i = 0; i < UTIL_ARRAY_LEN(bounce_text_cut_plain); i++)
			if (line[0] == bounce_text_cut_plain[i].s[0] &&
			    strncmp(line, bounce_text_cut_plain[i].s,
				bounce_text_cut_plain[i].n) == 0)
				return eol != NULL ? eol + 1 : p + strlen(p);
		for (i = 0; ruled && n < 80 &&
		     i < UTIL_ARRAY_LEN(bounce_text_cut_ruled);
		     i++)
			if (strstr(line, bounce_text_cut_ruled[i]) != NULL)
				return eol != NULL ? eol + 1 : p + strlen(p);
		p = eol != NULL ? eol + 1 : NULL;
	}
	return NULL;
}

/* ------------------------------------------------------------ is what */

static const char *const bounce_text_daemons[] = {
	"mailer-daemon",
	"mailer_daemon",
	"mailerdaemon",
	"postmaster",
	"post_master",
	"mail delivery",
	"maildelivery",
	"mail administrator",
	"mail system",
	"mailsystem",
	"mail-daemon",
	"mdaemon",
	"mail.delivery",
	"bounce",
	"nobody@",
	"mailer@",
	"mta@",
	"<>",
};

static const char *const bounce_text_subjects[] = {
	"undeliver",
	"undelivered",
	"delivery status notification",
	"delivery notification",
	"delivery failure",
	"delivery failed",
	"failed delivery",
	"failure notice",
	"failure delivery",
	"mail failure",
	"returned mail",
	"returning message",
	"mail delivery",
	"non-delivery",
	"nondeliver",
	"non delivery",
	"not delivered",
	"could not be delivered",
	"couldn't be delivered",
	"delivery problem",
	"mail system error",
	"delivery has failed",
	"delivery delayed",
	"delayed mail",
	"warning: could not send",
	"message not delivered",
	"unzustellbar",
	"non remis",
	"notice of delivery",
	"permanent error",
	"error sending message",
	"delivery report",
	"mail could not",
	"rejected",
	"returned to sender",
	"nicht zustellbar",
};

static const char *const bounce_text_markers[] = {
	"could not be delivered",
	"couldn't be delivered",
	"could not deliver",
	"undeliverable",
	"delivery has failed",
	"not be delivered",
	"permanent error",
	"permanent failure",
	"permanently",
	"able to deliver",
	"was not delivered",
	"wasn't delivered",
	"delivery failed",
	"delivery failure",
	"failed to deliver",
	"address(es) failed",
	"did not reach the following",
	"could not be reached",
	"unable to deliver",
	"transcript of session",
	"user unknown",
	"unknown user",
	"returned to sender",
	"delivery to the following",
	"error delivering",
	"has been delayed",
	"delivery attempts",
	"not delivered",
	"does not like recipient",
	"was rejected",
	"were rejected",
	"error occurred",
	"delivery status notification",
	"following recipient",
	"following address",
	"mailbox is full",
	"no such user",
	"message could not",
	"non-delivery",
};

bool
bounce_text_is_bounce(const struct bounce_msg *m)
{
	const char *from = bounce_hdrs_get(&m->top, "From");
	const char *rp = bounce_hdrs_get(&m->top, "Return-Path");
	bool daemon, subject, body;

	if (bounce_hdrs_get(&m->top, "X-Failed-Recipients") != NULL)
		return true;
	daemon = bounce_text_has_any(
	    from, bounce_text_daemons, UTIL_ARRAY_LEN(bounce_text_daemons));
	subject = m->subject != NULL &&
	    strncasecmp(m->subject, "re:", 3) != 0 &&
	    bounce_text_has_any(m->subject, bounce_text_subjects,
		UTIL_ARRAY_LEN(bounce_text_subjects));
	{
		/* The markers are lower case: the text lower-cased once,
		 * as far as a report's own words go. */
		size_t n = m->text.len < 65536 ? m->text.len : 65536;
		char *low = xmalloc(n + 1);
		size_t i;

		bounce_lower(m->text.data, n, low, n + 1);
		body = false;
		for (i = 0; !body && i < UTIL_ARRAY_LEN(bounce_text_markers);
		     i++)
			body = strstr(low, bounce_text_markers[i]) != NULL;
		free(low);
	}
	if (subject && (daemon || body))
		return true;
	if (daemon && body)
		return true;
	return rp != NULL && strstr(rp, "<>") != NULL && body &&
	    !bounce_text_is_autoreply(m);
}

static const char *const bounce_text_auto_subjects[] = {
	"auto:",
	"automatic reply",
	"auto-reply",
	"autoreply",
	"auto reply",
	"auto response",
	"autoresponse",
	"auto-response",
	"out of office",
	"out of the office",
	"vacation",
	"away from",
	"away until",
	"abwesenheit",
	"absence",
	"on leave",
	"i am away",
	"i'm away",
	"automatische antwort",
	"r\xc3\xa9ponse automatique",
	"respuesta autom\xc3\xa1tica",
	"risposta automatica",
};

bool
bounce_text_is_autoreply(const struct bounce_msg *m)
{
	static const char *const flags[] = { "X-Autoreply", "X-Autorespond",
		"X-Auto-Reply", "X-Autoresponder", "X-Vacation",
		"X-Mail-Autoreply" };
	const char *v;
	size_t i;

	v = bounce_hdrs_get(&m->top, "Auto-Submitted");
	if (v != NULL && strncasecmp(v, "auto-replied", 12) == 0)
		return true;
	for (i = 0; i < UTIL_ARRAY_LEN(flags); i++)
		if (bounce_hdrs_get(&m->top, flags[i]) != NULL)
			return true;
	v = bounce_hdrs_get(&m->top, "Precedence");
	if (v != NULL && strncasecmp(v, "auto_reply", 10) == 0)
		return true;
	return bounce_text_starts_any(m->subject, bounce_text_auto_subjects,
	    UTIL_ARRAY_LEN(bounce_text_auto_subjects));
}

/* --------------------------------------------------------------- scan */

/* Addresses that are never the failed recipient: the sender's and ours. */
struct bounce_text_excl {
	char *v[64];
	size_t n;
};

static void
bounce_text_excl_add(struct bounce_text_excl *x, const char *value)
{
	const char *p = value, *a;
	size_t n;

	if (value == NULL)
		return;
	while (x->n < UTIL_ARRAY_LEN(x->v) &&
	    (a = bounce_text_next_addr(value, p, &n)) != NULL) {
		x->v[x->n++] = xstrndup(a, n);
		p = a + n;
	}
}

static bool
bounce_text_excluded(const struct bounce_text_excl *x, const char *a, size_t n)
{
	static const char *const locals[] = { "mailer-daemon@",
		"mailer_daemon@", "postmaster@", "mailerdaemon@", "bounces+",
		"abuse@", "noreply@", "no-reply@" };
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(locals); i++)
		if (strncasecmp(a, locals[i], strlen(locals[i])) == 0)
			return true;
	for (i = 0; i < x->n; i++)
		if (strlen(x->v[i]) == n && strncasecmp(x->v[i], a, n) == 0)
			return true;
	return false;
}

/* Lines that carry headers of some message, not the report's words. */
static const char *const bounce_text_skip_lines[] = {
	"from:",
	"sender:",
	"reply-to:",
	"return-path:",
	"message-id:",
	"in-reply-to:",
	"references:",
	"received:",
	"subject:",
	"date:",
	"x-",
	"envelope-from",
	"(envelope-from",
	"mail from",
	"original-envelope-id",
	"reporting-mta",
	"dkim-signature",
	"list-",
	"errors-to:",
	"by ",
	"for <",
	"id ",
	"with ",
};

/* Words around an address that make it a sender, a link or a message
 * id rather than a recipient. */
static bool
bounce_text_sender_context(const char *line, const char *a)
{
	char before[24];
	size_t n = (size_t)(a - line);

	if (n > sizeof(before) - 1) {
		line = a - (sizeof(before) - 1);
		n = sizeof(before) - 1;
	}
	memcpy(before, line, n);
	before[n] = '\0';
	if (n > 0 && (before[n - 1] == '/' || before[n - 1] == '='))
		return true;
	return bounce_ci_find(before, "from") != NULL ||
	    bounce_ci_find(before, "sender") != NULL ||
	    bounce_ci_find(before, "mailto:") != NULL ||
	    bounce_ci_find(before, "message-id") != NULL;
}

/* Error-looking words that make a line part of the diagnostic. */
static const struct bounce_text_phrase bounce_text_errwords[] = {
	BOUNCE_TEXT_PHRASE("unknown"),
	BOUNCE_TEXT_PHRASE("no such"),
	BOUNCE_TEXT_PHRASE("not exist"),
	BOUNCE_TEXT_PHRASE("n't exist"),
	BOUNCE_TEXT_PHRASE("quota"),
	BOUNCE_TEXT_PHRASE("full"),
	BOUNCE_TEXT_PHRASE("reject"),
	BOUNCE_TEXT_PHRASE("denied"),
	BOUNCE_TEXT_PHRASE("block"),
	BOUNCE_TEXT_PHRASE("error"),
	BOUNCE_TEXT_PHRASE("fail"),
	BOUNCE_TEXT_PHRASE("refused"),
	BOUNCE_TEXT_PHRASE("timed out"),
	BOUNCE_TEXT_PHRASE("not found"),
	BOUNCE_TEXT_PHRASE("invalid"),
	BOUNCE_TEXT_PHRASE("disabled"),
	BOUNCE_TEXT_PHRASE("said:"),
	BOUNCE_TEXT_PHRASE("not accept"),
	BOUNCE_TEXT_PHRASE("unavailable"),
	BOUNCE_TEXT_PHRASE("expired"),
	BOUNCE_TEXT_PHRASE("too "),
	BOUNCE_TEXT_PHRASE("not allowed"),
	BOUNCE_TEXT_PHRASE("policy"),
	BOUNCE_TEXT_PHRASE("spam"),
	BOUNCE_TEXT_PHRASE("relay"),
	BOUNCE_TEXT_PHRASE("suspend"),
	BOUNCE_TEXT_PHRASE("inactive"),
	BOUNCE_TEXT_PHRASE("locked"),
	BOUNCE_TEXT_PHRASE("unable"),
	BOUNCE_TEXT_PHRASE("could not"),
	BOUNCE_TEXT_PHRASE("couldn't"),
	BOUNCE_TEXT_PHRASE("not recognized"),
	BOUNCE_TEXT_PHRASE("doesn't have"),
	BOUNCE_TEXT_PHRASE("retry"),
	BOUNCE_TEXT_PHRASE("giving up"),
	BOUNCE_TEXT_PHRASE("exceed"),
	BOUNCE_TEXT_PHRASE("problem"),
	BOUNCE_TEXT_PHRASE("delayed"),
	BOUNCE_TEXT_PHRASE("virus"),
};

static bool
bounce_text_code_at(const char *s)
{
	return (s[0] == '4' || s[0] == '5') && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) &&
	    (s[3] == ' ' || s[3] == '-' || s[3] == '\0' || s[3] == '\n' ||
		s[3] == ':');
}

/* A field of a delivery-status part ("Status: 4.0.0"), read as text
 * when a broken MIME boundary hid the part: not the server's words. */
static bool
bounce_text_dsn_field(const char *line)
{
	static const char *const fields[] = { "action:", "status:",
		"final-recipient:", "original-recipient:", "diagnostic-code:",
		"remote-mta:", "reporting-mta:", "last-attempt-date:",
		"arrival-date:", "received-from-mta:", "will-retry-until:" };

	/* Only lines that begin as those fields do. */
	if (line[0] == '\0' ||
	    strchr("asfodrlw", tolower((unsigned char)line[0])) == NULL)
		return false;
	return bounce_learnt("rfc3464") &&
	    bounce_text_starts_any(line, fields, UTIL_ARRAY_LEN(fields));
}

/* A hash of two characters side by side, for the words' filter. */
static unsigned int
bounce_text_pair(unsigned char a, unsigned char b)
{
	return ((unsigned int)a * 31u + b) & 511u;
}

/* True when the pair of characters at w occurs in the line whose pairs
 * are noted in pairs. */
static bool
bounce_text_has_pair(const unsigned char *pairs, const char *w)
{
	unsigned int h =
	    bounce_text_pair((unsigned char)w[0], (unsigned char)w[1]);

	return (pairs[h >> 3] & (1u << (h & 7))) != 0;
}

static bool
bounce_text_errline(const char *line, size_t n)
{
	unsigned char pairs[64] = { 0 };
	char buf[512];
	const char *p;
	char code[16];
	size_t i;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* Lower-cased, noting which pairs of characters occur: most words
	 * are then ruled out by their first and last two letters without
	 * a search. */
	n = strnlen(line, n);
	bounce_lower(line, n, buf, n + 1);
	for (i = 1; i < n; i++) {
		unsigned int h = bounce_text_pair(
		    (unsigned char)buf[i - 1], (unsigned char)buf[i]);

		pairs[h >> 3] |= (unsigned char)(1u << (h & 7));
	}
	if (bounce_text_dsn_field(buf))
		return false;
	p = buf + strspn(buf, " \t<>#(");
	if (bounce_text_code_at(p) ||
	    bounce_classify_find_status(buf, code, sizeof(code)))
		return true;
	for (i = 0; i < UTIL_ARRAY_LEN(bounce_text_errwords); i++) {
		const char *w = bounce_text_errwords[i].s;

		if (bounce_text_has_pair(pairs, w) &&
		    bounce_text_has_pair(
			pairs, w + bounce_text_errwords[i].n - 2) &&
		    strstr(buf, w) != NULL)
			return true;
	}
	return false;
}

struct bounce_text_lines {
	const char **v; /* line starts */
	size_t *len;    /* without the LF */
	size_t n;
	/* Whether line i is an error line: 0 not known yet, 1 no, 2 yes
	 * (the lines of a block are asked about for each recipient). */
	unsigned char *err;
};

static bool
bounce_text_is_errline(const struct bounce_text_lines *l, size_t i)
{
	if (l->err[i] == 0)
		l->err[i] = bounce_text_errline(l->v[i], l->len[i]) ? 2 : 1;
	return l->err[i] == 2;
}

static void
bounce_text_split(const char *s, const char *end, struct bounce_text_lines *l)
{
	size_t cap = 0;

	l->v = NULL;
	l->len = NULL;
	l->n = 0;
	while (s < end && l->n < BOUNCE_TEXT_MAX_LINES) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		size_t n = eol != NULL ? (size_t)(eol - s) : (size_t)(end - s);

		if (l->n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			l->v = xreallocarray(l->v, cap, sizeof(*l->v));
			l->len = xreallocarray(l->len, cap, sizeof(*l->len));
		}
		l->v[l->n] = s;
		l->len[l->n] = n;
		l->n++;
		s += n + 1;
	}
	l->err = xcalloc(l->n + 1, 1);
}

/* The first line that mentions addr, or l->n. */
static size_t
bounce_text_line_of(const struct bounce_text_lines *l, const char *addr)
{
	const char *p;
	size_t lo = 0, hi = l->n;

	if (l->n == 0)
		return l->n;
	/* The lines are one text: search it once (an address holds no
	 * line end), then find the line by halves. */
	p = bounce_ci_find(l->v[0], addr);
	if (p == NULL || p + strlen(addr) > l->v[l->n - 1] + l->len[l->n - 1])
		return l->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->v[mid] <= p)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Candidate recipients from the lines of the report text. */
static void
bounce_text_collect(const struct bounce_text_lines *l,
    const struct bounce_text_excl *x, struct bounce_rcptv *v)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		char line[BOUNCE_MAX_LINE + 1];
		const char *p, *a, *q;
		size_t n = l->len[i];

		if (n > BOUNCE_MAX_LINE)
			n = BOUNCE_MAX_LINE;
		memcpy(line, l->v[i], n);
		line[n] = '\0';
		q = line + strspn(line, " \t>");
		if (bounce_text_starts_any(q, bounce_text_skip_lines,
			UTIL_ARRAY_LEN(bounce_text_skip_lines)))
			continue;
		p = line;
		while ((a = bounce_text_next_addr(line, p, &n)) != NULL) {
			p = a + n;
			if (bounce_text_excluded(x, a, n) ||
			    bounce_text_sender_context(line, a))
				continue;
			bounce_rcptv_add(v, a, n);
		}
	}
}

/* Diagnostic and context for one recipient whose first mention is line
 * `first`, up to line `stop` (exclusive); with `whole`, the rest of the
 * text may supply the diagnostic too. */
static void
bounce_text_around(const struct bounce_text_lines *l, size_t first, size_t stop,
    bool whole, struct bounce_rcpt *r, char **ctx)
{
	struct buf diag, all;
	size_t i, taken = 0, need = 0;
	/* With a diagnostic already (from its DSN), only the context is
	 * wanted. */
	bool want = r->diagnostic == NULL;

	buf_init(&diag);
	buf_init(&all);
	if (stop > first + BOUNCE_TEXT_BLOCK_LINES)
		stop = first + BOUNCE_TEXT_BLOCK_LINES;
	/* The context's room at once. */
	for (i = first; i < stop && i < l->n; i++)
		need += l->len[i] + 1;
	if (need > 0)
		buf_reserve(&all, need);
	for (i = first; i < stop && i < l->n; i++) {
		buf_append(&all, l->v[i], l->len[i]);
		buf_putc(&all, '\n');
		if (want && taken < 8 && bounce_text_is_errline(l, i)) {
			buf_append(&diag, l->v[i], l->len[i]);
			buf_putc(&diag, ' ');
			taken++;
		}
	}
	if (!want)
		goto out;
	if (taken == 0 && whole) {
		/* The only recipient: the error may come before its name. */
		for (i = 0; i < l->n && taken < 8; i++)
			if (bounce_text_is_errline(l, i)) {
				buf_append(&diag, l->v[i], l->len[i]);
				buf_putc(&diag, ' ');
				taken++;
			}
	}
	if (taken == 0) {
		/* No error words: the lines that follow the address. */
		for (i = first + 1; i < stop && i < l->n && taken < 3; i++) {
			if (l->len[i] == 0 && taken > 0)
				break;
			if (bounce_text_dsn_field(l->v[i]))
				continue;
			buf_append(&diag, l->v[i], l->len[i]);
			buf_putc(&diag, ' ');
			if (l->len[i] > 0)
				taken++;
		}
	}
	/* A recipient of a DSN that gives its status but no server words:
	 * prose without a reply or status code in it is the reporting
	 * MTA's own summary, not a diagnostic. */
	if (r->diagnostic == NULL && diag.len > 0 && r->status != NULL &&
	    bounce_learnt("sendmail")) {
		char code[16];
		const char *p;
		bool coded =
		    bounce_classify_find_status(diag.data, code, sizeof(code));

		for (p = diag.data; !coded && *p != '\0'; p++)
			coded =
			    (p == diag.data || p[-1] == ' ' || p[-1] == '<') &&
			    bounce_text_code_at(p);
		if (!coded)
			buf_reset(&diag);
	}
	if (r->diagnostic == NULL && diag.len > 0)
		bounce_set_folded(&r->diagnostic, diag.data, diag.len);
out:
	if (all.len > 0 && *ctx == NULL)
		*ctx = buf_take(&all);
	buf_fini(&all);
	buf_fini(&diag);
}

char **
bounce_text_scan(const struct bounce_msg *m, struct bounce_rcptv *v)
{
	static const char *const excl_top[] = { "From", "To", "Cc", "Reply-To",
		"Sender", "Return-Path", "Delivered-To", "Envelope-To",
		"Errors-To" };
	static const char *const excl_orig[] = { "From", "Sender",
		"Return-Path", "Reply-To" };
	struct bounce_text_excl x = { .n = 0 };
	struct bounce_text_lines l;
	const char *text = m->text.data, *end, *xf;
	bool add = v->n == 0;
	size_t i, *first;
	char **ctx;

	end = m->text_cut;
	if (end == NULL)
		end = text + strlen(text);
	bounce_text_split(text, end, &l);
	for (i = 0; i < UTIL_ARRAY_LEN(excl_top); i++)
		bounce_text_excl_add(&x, bounce_hdrs_get(&m->top, excl_top[i]));
	for (i = 0; i < UTIL_ARRAY_LEN(excl_orig); i++)
		bounce_text_excl_add(
		    &x, bounce_hdrs_get(&m->orig, excl_orig[i]));

	xf = bounce_hdrs_get(&m->top, "X-Failed-Recipients");
	if (add && xf != NULL) {
		const char *p = xf, *a;
		size_t n;

		while ((a = bounce_text_next_addr(xf, p, &n)) != NULL) {
			bounce_rcptv_add(v, a, n);
			p = a + n;
		}
	}
	if (add && v->n == 0)
		bounce_text_collect(&l, &x, v);
	if (add && v->n == 0) {
		const char *to = bounce_hdrs_get(&m->orig, "To"), *a;
		size_t n;

		a = to != NULL ? bounce_text_next_addr(to, to, &n) : NULL;
		if (a != NULL && !bounce_text_excluded(&x, a, n))
			bounce_rcptv_add(v, a, n);
	}

	ctx = xcalloc(v->n + 1, sizeof(*ctx));
	first = xcalloc(v->n + 1, sizeof(*first));
	for (i = 0; i < v->n; i++)
		first[i] = bounce_text_line_of(&l, v->v[i].recipient);
	for (i = 0; i < v->n && i < BOUNCE_MAX_RCPTS; i++) {
		size_t j, stop = l.n;

		if (first[i] == l.n) {
			/* Not named in the text: the whole text is context. */
			if (v->n == 1 || add)
				bounce_text_around(
				    &l, 0, l.n, true, &v->v[i], &ctx[i]);
			continue;
		}
		for (j = 0; j < v->n; j++)
			if (first[j] > first[i] && first[j] < stop)
				stop = first[j];
		bounce_text_around(
		    &l, first[i], stop, v->n == 1, &v->v[i], &ctx[i]);
	}
	free(first);
	for (i = 0; i < x.n; i++)
		free(x.v[i]);
	free(l.v);
	free(l.len);
	free(l.err);
	return ctx;
}

char *
bounce_text_quoted_errors(const struct bounce_msg *m, const char *addr)
{
	struct bounce_text_lines l;
	struct buf b;
	size_t i, first;

	bounce_text_split(
	    m->origtext.data, m->origtext.data + m->origtext.len, &l);
	first = bounce_text_line_of(&l, addr);
	buf_init(&b);
	for (i = first; i < l.n && i < first + BOUNCE_TEXT_BLOCK_LINES; i++) {
		const char *p = l.v[i] + strspn(l.v[i], " \t<");

		if ((size_t)(p - l.v[i]) < l.len[i] && bounce_text_code_at(p)) {
			buf_append(&b, l.v[i], l.len[i]);
			buf_putc(&b, '\n');
		}
	}
	free(l.v);
	free(l.len);
	free(l.err);
	return b.len > 0 ? buf_take(&b) : (buf_fini(&b), NULL);
}
