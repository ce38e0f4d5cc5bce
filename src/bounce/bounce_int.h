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
#include <stdint.h>
#include <string.h>

#include "bounce/bounce.h"
#include "buf.h"

/* Limits on what one message can make us hold or do. */
#define BOUNCE_MAX_HEADERS   1000  /* header fields kept per header block */
#define BOUNCE_MAX_LINE      16384 /* longer lines are broken */
#define BOUNCE_MAX_DEPTH     24    /* MIME nesting walked */
#define BOUNCE_MAX_COMPOSITE 200   /* multipart/message parts, else refused */
#define BOUNCE_MAX_PARTS     500   /* leaf parts read */
#define BOUNCE_MAX_TEXT      (1024 * 1024) /* report text kept */
#define BOUNCE_MAX_DIAG      1000 /* bytes of diagnostic text per recipient */

/* A header field. Its value is folded when first asked for
 * (bounce_hdrs_value()): most fields are never read. */
struct bounce_hdr {
	const char *name; /* as written, name_len bytes, no NUL after */
	size_t name_len;
	const char *raw; /* the value as written, raw_len bytes */
	size_t raw_len;
	char *value; /* unfolded, trimmed; NULL until asked for */
};

/* Where folded values are kept. */
struct bounce_hdrs_pool;

struct bounce_hdrs {
	struct bounce_hdr *v;
	size_t n;
	size_t cap;
	struct bounce_hdrs_pool *pool;
	/* A bit per hash of the names there (bounce.c): most names looked
	 * for are absent, and told so without a comparison. */
	uint64_t names[4];
};

/* The message taken apart by bounce.c; text buffers are NUL-terminated,
 * LF line ends, no NUL bytes inside. */
struct bounce_msg {
	struct bounce_hdrs top;  /* the bounce's own header */
	struct bounce_hdrs orig; /* header of the returned message, if any */
	bool has_orig;
	struct buf text; /* human-readable parts, in order */
	struct buf dsn;  /* message/delivery-status bodies */
	struct buf arf;  /* message/feedback-report body */
	/* Where a copy of the returned message starts in text
	 * (bounce_text_orig_start()), or NULL. */
	const char *text_cut;
	/* Plain text of the returned message, read only when asked for
	 * (bounce_msg_origtext()): most reports never need it. */
	struct buf origtext;
	const char *orig_msg; /* the returned message in the normalised */
	size_t orig_msg_len;  /* input, or NULL */
	bool origtext_read;
	char *report_type; /* report-type= of multipart/report, lower case */
	char *subject;     /* the bounce's Subject, RFC 2047 decoded */
};

/* What the readers learn about a recipient for the classifier, beside
 * what struct bounce_rcpt shows. */
struct bounce_rcpt_aux {
	char diag_type[16];     /* Diagnostic-Code type, lower case, or "" */
	const char *mta_reason; /* static, from the MTA's own words, or NULL */
};

/* A growing array of recipients (owned strings, see bounce.h), with
 * aux[i] beside v[i]. Recipients beyond BOUNCE_MAX_RCPTS are counted in
 * dropped. */
struct bounce_rcptv {
	struct bounce_rcpt *v;
	struct bounce_rcpt_aux *aux;
	size_t n;
	size_t cap;
	size_t dropped;
};

/* bounce.c */
/* Reads the plain text of the returned message into m->origtext, once. */
void bounce_msg_origtext(struct bounce_msg *m);
/* The first place in hay where needle occurs without
 * regard to case, or NULL: strcasestr() without its set-up cost, for
 * the many short searches of a bounce. */
const char *bounce_ci_find(const char *hay, const char *needle);
/* Copies at most size - 1 bytes of s, lower-cased, into buf; returns
 * buf. */
char *bounce_lower(const char *s, size_t n, char *buf, size_t size);
/* The unfolded value of the first field called name (n bytes), or
 * NULL. */
const char *bounce_hdrs_get_n(
    const struct bounce_hdrs *h, const char *name, size_t n);
/* The same for a NUL-terminated name: the length of a constant is then
 * known at compile time. */
static inline const char *
bounce_hdrs_get(const struct bounce_hdrs *h, const char *name)
{
	return bounce_hdrs_get_n(h, name, strlen(name));
}
/* The unfolded value of field i of h. */
const char *bounce_hdrs_value(const struct bounce_hdrs *h, size_t i);
/* Reads header fields from the start of s (LF or CRLF line ends) into h,
 * at most BOUNCE_MAX_HEADERS. h refers to s, which must outlive it,
 * unless bounce_hdrs_keep() is called before s goes. */
void bounce_hdrs_parse(struct bounce_hdrs *h, const char *s, size_t len);
/* Copies into h what it refers to in the text it was read from. */
void bounce_hdrs_keep(struct bounce_hdrs *h);
void bounce_hdrs_fini(struct bounce_hdrs *h);
/* Adds a recipient (copied) unless one with the same address is there
 * (case-insensitive) or the list is full (then counted in v->dropped);
 * returns the entry or NULL. */
struct bounce_rcpt *bounce_rcptv_add(
    struct bounce_rcptv *v, const char *addr, size_t len);
/* The entry for addr, or NULL. */
struct bounce_rcpt *bounce_rcptv_find(
    struct bounce_rcptv *v, const char *addr, size_t len);
/* Writes the n bytes at s into out with white space folded: each run
 * made one space between words, none at either end; a NUL byte ends
 * the text, and at most cap bytes are written (out has room for them
 * and a NUL). Other bytes are kept as they are. Returns the length
 * written. */
size_t bounce_fold_text(char *out, const char *s, size_t n, size_t cap);
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
 * Returns a new array of v->n entries (one at least), entry i a newly
 * allocated text around recipient i, for the classifier, or NULL; the
 * caller frees the entries and the array.
 */
char **bounce_text_scan(const struct bounce_msg *m, struct bounce_rcptv *v);

/* SMTP error lines (a reply code first) near the first mention of addr
 * in the returned message's text, or NULL; the caller frees. */
char *bounce_text_quoted_errors(const struct bounce_msg *m, const char *addr);

/* bounce_learnt.c */
/*
 * Rules written after looking at examples of the shared bounce corpus
 * (tests/check_bounce_corpus.c) say which MTA families of that corpus
 * they were learnt from: a rule runs when bounce_learnt("postfix,exim")
 * is true. The corpus test holds out one fold of families at a time
 * (bounce_learnt_hold_out()) and scores it with the rules learnt from
 * it switched off, so that its figures are those of mail the rules were
 * not written against. Nothing is ever held out elsewhere:
 * bounce_learnt() is then always true.
 */
bool bounce_learnt(const char *families);
/* Holds out the comma-separated families (NULL: none). Not thread-safe:
 * for the single-threaded corpus test only. */
void bounce_learnt_hold_out(const char *families);

/* bounce_mta.c */
/*
 * Knows the MTA that wrote the bounce by its header and, for each
 * recipient of v, sets what that MTA's conventions say: the command a
 * failure answered (when not already known) and, where the MTA's own
 * fixed wording names one, aux->mta_reason. ctx[i] is the report's
 * text around recipient i, or NULL.
 */
void bounce_mta_hint(
    const struct bounce_msg *m, struct bounce_rcptv *v, char *const *ctx);

/* bounce_classify.c, bounce_words.c, bounce_provider.c */

/* The reasons, in the order of their names (bounce_classify.c). */
enum bounce_reason {
	BOUNCE_R_NONE,
	BOUNCE_R_AUTHFAILURE,
	BOUNCE_R_BLOCKED,
	BOUNCE_R_CONTENTERROR,
	BOUNCE_R_DELIVERED,
	BOUNCE_R_EXCEEDLIMIT,
	BOUNCE_R_EXPIRED,
	BOUNCE_R_FEEDBACK,
	BOUNCE_R_FILTERED,
	BOUNCE_R_HASMOVED,
	BOUNCE_R_HOSTUNKNOWN,
	BOUNCE_R_MAILBOXFULL,
	BOUNCE_R_MAILERERROR,
	BOUNCE_R_MESGTOOBIG,
	BOUNCE_R_NETWORKERROR,
	BOUNCE_R_NORELAYING,
	BOUNCE_R_NOTACCEPT,
	BOUNCE_R_ONHOLD,
	BOUNCE_R_POLICYVIOLATION,
	BOUNCE_R_REJECTED,
	BOUNCE_R_SECURITYERROR,
	BOUNCE_R_SPAMDETECTED,
	BOUNCE_R_SPEEDING,
	BOUNCE_R_SUSPEND,
	BOUNCE_R_SYNTAXERROR,
	BOUNCE_R_SYSTEMERROR,
	BOUNCE_R_SYSTEMFULL,
	BOUNCE_R_TOOMANYCONN,
	BOUNCE_R_UNDEFINED,
	BOUNCE_R_USERUNKNOWN,
	BOUNCE_R_VACATION,
	BOUNCE_R_VIRUSDETECTED,
	BOUNCE_R_COUNT
};

/* "userunknown", ...; "undefined" for BOUNCE_R_NONE. */
const char *bounce_reason_name(enum bounce_reason r);
/* The reason called name, or BOUNCE_R_NONE. */
enum bounce_reason bounce_reason_parse(const char *name);

/* Copies the first enhanced status code (class 2, 4 or 5) in s into out
 * (at least 16 bytes); false if none. */
bool bounce_classify_find_status(const char *s, char *out, size_t outlen);
/* The first SMTP reply code in s, or 0. */
int bounce_classify_find_reply(const char *s);
/* What the enhanced status code status says on its own (RFC 3463), or
 * BOUNCE_R_NONE. */
enum bounce_reason bounce_classify_code_reason(const char *status);
/* The SMTP command that text (a diagnostic, or the report's words
 * around a recipient) says a refusal answered, or BOUNCE_CMD_NONE. */
enum bounce_command bounce_classify_command(const char *text);

/* A diagnostic, lower-cased, with the pairs of characters that occur in
 * it (hashed), so that most patterns are ruled out without a search. */
struct bounce_words_text {
	const char *lower;
	unsigned char pairs[512]; /* a bit per hash of two characters */
};

/* Prepares t for lower (which t borrows). */
void bounce_words_text_init(struct bounce_words_text *t, const char *lower);

/* True when one of the patterns of reason's list occurs in t. */
bool bounce_words_match(
    enum bounce_reason reason, const struct bounce_words_text *t);

/*
 * The reason a provider's own rules give for a failure at one of its
 * hosts (f->remote_host, else the domain of f->recipient), or
 * BOUNCE_R_NONE when no provider's rules apply or they say nothing.
 * lower is the diagnostic, lower-cased, and status the status code.
 */
enum bounce_reason bounce_provider_reason(
    const struct bounce_facts *f, const char *status, const char *lower);

#endif
