/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bounce_int: what the files of the bounce module share and nobody else
 * sees: the message taken apart (headers, report text, DSN fields), the
 * growing list of recipients, and the entry points of the DSN reader
 * (bounce_dsn.c), the plain-text reader (bounce_text.c) and the reason
 * classifier (bounce_classify.c). Not a public interface: only bounce*.c
 * include it.
 */
#ifndef FM_BOUNCE_INT_H
#define FM_BOUNCE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "bounce/bounce.h"
#include "util.h"

/* Limits on what one message can make us hold or do. */
#define BOUNCE_MAX_HEADERS   1000  /* header fields kept per header block */
#define BOUNCE_MAX_LINE      16384 /* longer lines are broken */
#define BOUNCE_MAX_DEPTH     24    /* MIME nesting walked */
#define BOUNCE_MAX_COMPOSITE 200   /* multipart/message parts, else refused */
#define BOUNCE_MAX_PARTS     500   /* leaf parts read */
#define BOUNCE_MAX_TEXT      (1024 * 1024) /* report text kept */
#define BOUNCE_MAX_RCPTS     500           /* recipients per report */
#define BOUNCE_MAX_DIAG      1000 /* bytes of diagnostic text per recipient */

struct bounce_hdr {
	char *name;  /* as written */
	char *value; /* unfolded, trimmed */
};

struct bounce_hdrs {
	struct bounce_hdr *v;
	size_t n;
};

/* The message taken apart by bounce.c; text buffers are NUL-terminated,
 * LF line ends, no NUL bytes inside. */
struct bounce_msg {
	struct bounce_hdrs top;  /* the bounce's own header */
	struct bounce_hdrs orig; /* header of the returned message, if any */
	bool has_orig;
	struct buf text;     /* human-readable parts, in order */
	struct buf dsn;      /* message/delivery-status bodies */
	struct buf arf;      /* message/feedback-report body */
	struct buf origtext; /* plain text of the returned message */
	char *report_type;   /* report-type= of multipart/report, lower case */
	char *subject;       /* the bounce's Subject, RFC 2047 decoded */
};

/* A growing array of recipients (owned strings, see bounce.h). */
struct bounce_rcptv {
	struct bounce_rcpt *v;
	size_t n;
	size_t cap;
};

/* bounce.c */
/* The unfolded value of the first field called name, or NULL. */
const char *bounce_hdrs_get(const struct bounce_hdrs *h, const char *name);
/* Reads header fields from the start of s (LF or CRLF line ends) into h,
 * at most BOUNCE_MAX_HEADERS. */
void bounce_hdrs_parse(struct bounce_hdrs *h, const char *s, size_t len);
void bounce_hdrs_fini(struct bounce_hdrs *h);
/* Adds a recipient (copied) unless one with the same address is there
 * (case-insensitive) or the list is full; returns the entry or NULL. */
struct bounce_rcpt *bounce_rcptv_add(
    struct bounce_rcptv *v, const char *addr, size_t len);
/* The entry for addr, or NULL. */
struct bounce_rcpt *bounce_rcptv_find(
    struct bounce_rcptv *v, const char *addr, size_t len);
/* Replaces *dst by a copy of the n bytes at s with whitespace folded to
 * single spaces, trimmed and cut at BOUNCE_MAX_DIAG; NULL if empty. */
void bounce_set_folded(char **dst, const char *s, size_t n);

/* bounce_dsn.c */
/*
 * Reads the per-recipient fields of an RFC 3464 delivery-status body
 * (text, LF line ends) into v: recipient, action, status, diagnostic,
 * remote MTA, reply code. Returns the number of recipients found.
 */
size_t bounce_dsn_parse(const char *text, struct bounce_rcptv *v);
/*
 * Reads an Amazon SES notification (JSON, as SNS mails it) into v and sets
 * *kind (and *feedback_type, newly allocated, for complaints). Returns 0,
 * or -1 when text is not such a notification (v untouched).
 */
int bounce_dsn_parse_ses(const char *text, struct bounce_rcptv *v,
    enum bounce_kind *kind, char **feedback_type);

/* bounce_text.c */
/* Where the copy of the returned message starts inside report text (a
 * line such as "------ This is a copy of the message"), or NULL. */
const char *bounce_text_orig_start(const char *text);
/* True when the '@' at `at` (inside the string s) joins an addr-spec;
 * sets *start and *end around it. */
bool bounce_text_addr_at(
    const char *s, const char *at, const char **start, const char **end);
/* Finds the next addr-spec in s at or after p; sets *len. NULL if none. */
const char *bounce_text_next_addr(const char *s, const char *p, size_t *len);
/* True when the message looks like a non-delivery report. */
bool bounce_text_is_bounce(const struct bounce_msg *m);
/* True when the headers mark an automatic reply (RFC 3834, vacation). */
bool bounce_text_is_autoreply(const struct bounce_msg *m);
/*
 * Finds failed recipients in the report text and headers of a bounce
 * without a usable DSN and adds them to v with their diagnostic text;
 * for recipients already in v (from a DSN) fills a missing diagnostic.
 * ctx[i] is set to a newly allocated text around recipient i, for the
 * classifier (the caller frees; ctx has BOUNCE_MAX_RCPTS slots).
 */
void bounce_text_scan(
    const struct bounce_msg *m, struct bounce_rcptv *v, char **ctx);

/* SMTP error lines (a reply code first) near the first mention of addr
 * in the returned message's text, or NULL; the caller frees. */
char *bounce_text_quoted_errors(const struct bounce_msg *m, const char *addr);

/* bounce_classify.c */
/* Copies the first enhanced status code (class 2, 4 or 5) in s into out
 * (at least 16 bytes); false if none. */
bool bounce_classify_find_status(const char *s, char *out, size_t outlen);
/* The first SMTP reply code in s, or 0. */
int bounce_classify_find_reply(const char *s);
/* The reason for one recipient from its status code, action,
 * diagnostic and surrounding text (any may be NULL). Never NULL. */
const char *bounce_classify_reason(const char *status, const char *action,
    const char *diagnostic, const char *context);
/* Hard or soft for a failure reason (the Sisimai rule). */
enum bounce_class bounce_classify_class(const char *reason, const char *status);

#endif
