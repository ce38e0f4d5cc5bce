/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mime: builds one outgoing message (RFC 5322 and MIME) from rendered
 * parts: headers encoded with RFC 2047 and folded, a text/plain part
 * and, when there is HTML, a multipart/alternative with text then HTML,
 * in UTF-8 with quoted-printable or base64, CRLF line ends; with a
 * calendar entry, that as an alternative too and as an attachment. The MIME
 * tree is written by libetpan; its structures stay inside mime.c.
 *
 * It is the one place where header injection is stopped: a header
 * value with CR or LF is refused, never cleaned, and an address must be
 * exactly one addr-spec, so a value can never add a header or a
 * recipient. It does not render templates, choose recipients or send.
 */
#ifndef FM_MIME_H
#define FM_MIME_H

#include <stdbool.h>
#include <time.h>

struct buf;

/* Longest header value (bytes, before encoding) and body accepted. */
#define MIME_HEADER_MAX 2048
#define MIME_BODY_MAX   (16 * 1024 * 1024)

/*
 * What goes into a message. Strings are UTF-8 and borrowed. Names may
 * be NULL or "" (then the bare address is written). reply_to is an
 * address or "Name <address>", may be NULL. text is required, html may
 * be NULL (then the message is a single text/plain part). The List-*
 * fields are written only when set: List-Id as "<list_id>" (list_id
 * without angle brackets), List-Unsubscribe from the mailto value (an
 * address with an optional "?query") and the http(s) URL, and
 * List-Unsubscribe-Post (RFC 8058), which needs the URL. auto_submitted
 * writes "Auto-Submitted: auto-generated" (RFC 3834) and
 * "X-Auto-Response-Suppress: OOF, AutoReply" (Exchange's own way to ask
 * for no out-of-office replies; delivery reports still come). bulk
 * writes "Precedence: bulk"; feedback_id, letters, digits and "._-"
 * in up to four fields joined by ':', a Feedback-ID (Gmail's feedback
 * loop). extra_headers is a NULL-terminated list of "Name: value"
 * lines; it cannot replace the headers set here (From, To, Subject,
 * Content-*, ...).
 */
struct mime_msg {
	const char *from_name, *from_addr;
	const char *reply_to;
	const char *to_name, *to_addr;
	const char *subject;
	const char *text;
	const char *html;
	time_t date;
	const char *msgid_domain;
	/* Letters and digits (the message's VERP token) that begin the
	 * Message-ID, "PREFIX.RANDOM@domain", so that a bounce that quotes
	 * only the Message-ID still names its message; NULL for none. */
	const char *msgid_prefix;
	/* The whole Message-ID, without angle brackets, when the message
	 * has one already (it keeps it from try to try): letters, digits,
	 * '.', '-' and '_', '@' and a domain. NULL: a new one, as above. */
	const char *msgid;
	bool auto_submitted; /* Auto-Submitted: auto-generated (RFC 3834) */
	/* Content-Language (RFC 3282): "cy", or "cy, en" for a bilingual
	 * message; NULL for none. Letters, digits, '-', ',' and ' '. */
	const char *content_language;
	bool bulk; /* Precedence: bulk */
	const char *feedback_id;
	const char *list_id;
	const char *list_unsubscribe_mailto;
	const char *list_unsubscribe_url;
	bool list_unsubscribe_post;
	const char *const *extra_headers;
	/* An iCalendar object (send/calendar.h), or NULL. With one, the
	 * message is multipart/mixed: first the multipart/alternative of
	 * text, HTML and the object as text/calendar with
	 * method=calendar_method ("REQUEST", "CANCEL": letters only), which
	 * mail apps show as an invitation; then the object again as an
	 * application/ics attachment named calendar_filename (letters,
	 * digits and ".-_", ending ".ics", 64 characters at most). Both in
	 * base64. */
	const char *calendar;
	const char *calendar_method;
	const char *calendar_filename;
};

/*
 * Appends the whole message to out and sets *message_id to its
 * Message-ID (m->msgid, or a new one), without angle brackets (newly
 * allocated; the caller frees it). No line of the message begins with
 * a dot (quoted-printable writes a leading one as =2E), so SMTP sends it
 * as it is, without dot-stuffing. Bodies are sent with CRLF line ends: a body decodes back to its
 * input with each lone LF or CR made CRLF. Returns 0, or -EINVAL for a
 * header value with CR, LF or another control that cannot be sent, a
 * bad address, domain, URL, extra header, calendar method or file
 * name; -EILSEQ for text that is
 * not UTF-8; -EMSGSIZE for a value over MIME_HEADER_MAX or a body over
 * MIME_BODY_MAX; -ENOMEM or -EIO if libetpan fails. On error out is
 * left as it was and *message_id is NULL.
 */
int mime_build(const struct mime_msg *m, struct buf *out, char **message_id);

/* When mime_build() refused m: which of its fields is the problem, in
 * words for a log line ("the recipient's name"), or NULL when none of
 * them is (then it was the system: random bytes). */
const char *mime_build_problem(const struct mime_msg *m);

/*
 * Appends the header "name: value\r\n" to out, with value (unstructured
 * UTF-8 text, such as a subject) encoded as RFC 2047 encoded-words when
 * it is not plain printable ASCII, no encoded-word over 75 characters,
 * and folded so that lines stay under 78 characters. Returns 0, or
 * -EINVAL (a name that is not letters, digits and '-', a value with CR
 * or LF), -EILSEQ (not UTF-8) or -EMSGSIZE (over MIME_HEADER_MAX); out
 * is unchanged then.
 */
int mime_encode_header(const char *name, const char *value, struct buf *out);
#endif
